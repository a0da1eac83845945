"""A day of a swap-station network charging against the Guangdong time-of-use tariff.

Eight stations are sited on a synthetic city (p-median over 40 candidate service stores), each
built like a Choco-swap station (30 packs, 30 x 40 kW slots, 600 kW grid). The operations MILP
then decides, per 15-minute period, when each station charges its returned packs and when two
trucks move packs between stations, so that as few swaps as possible are lost and electricity is
bought cheaply. The figure shows price, network charging power and each station's charged packs.

Run: ``python examples/operations_day.py`` (writes ``out/operations_day.png``; about a minute).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import swapnet
from swapnet.operations import TruckFleet, demand_at_stations, plan_operations, stations_from_plan
from swapnet.optim import SolveOptions
from swapnet.siting import p_median


def main(out: Path = Path("out")) -> None:
    city = swapnet.city_grid(21, 21, spacing_km=1.0, seed=3)
    demand = swapnet.city_demand(city, total_swaps_per_day=1_400, seed=3)
    stores = swapnet.service_store_sites(city, 40, seed=3, demand=demand)
    siting = p_median(city, None, 8, demand=demand, candidates=stores).verify()
    node_of = dict(zip(stores.labels, stores.nodes, strict=True))
    nodes = [node_of[s] for s in siting.sites]
    design = swapnet.StationDesign.choco_swap()
    stations = stations_from_plan(siting, design, nodes=nodes)
    at_stations = demand_at_stations(siting, demand, nodes=nodes)
    tariff = swapnet.TouTariff.guangdong()
    plan = plan_operations(
        stations,
        at_stations,
        tariff,
        periods=96,
        trucks=TruckFleet(count=2, capacity=20, every=4),
        network=city,
        options=SolveOptions(mip_gap=0.01, time_limit=120),
    ).verify()
    print(siting.summary())
    print(plan.summary())
    print(f"model: {plan.details['rows']:,} rows, {plan.details['cols']:,} cols, {plan.details['nonzeros']:,} nonzeros")
    sch = plan.schedule
    by_station = sch.groupby("station")[["demand", "served", "lost", "starts"]].sum().round(1)
    print(by_station.to_string())
    energy = (sch["charging_kw"] * 0.25).groupby(sch["price"].round(4)).sum()
    print("energy bought by price (CNY/kWh -> kWh):", {float(k): round(float(v)) for k, v in energy.items()})
    if len(plan.trips):
        print(plan.trips.head(10).to_string(index=False))
    plot(plan, out / "operations_day.png")


def plot(plan: swapnet.operations.OperationsPlan, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sch = plan.schedule
    hours = np.sort(sch["hour"].unique())
    kw = sch.groupby("hour")["charging_kw"].sum().reindex(hours)
    price = sch.groupby("hour")["price"].first().reindex(hours)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    ax1.step(hours, kw.to_numpy(), where="post", color="tab:blue", label="network charging power")
    ax1.set_ylabel("charging power (kW)")
    axp = ax1.twinx()
    axp.step(hours, price.to_numpy(), where="post", color="tab:red", label="price")
    axp.set_ylabel("price (CNY/kWh)", color="tab:red")
    ax1.set_title("Charging against the Guangdong time-of-use price (15-minute periods)")
    charged = sch.pivot(index="hour", columns="station", values="charged")
    for col in charged.columns:
        ax2.step(hours, charged[col].to_numpy(), where="post", label=str(col), linewidth=1)
    ax2.set_ylabel("charged packs at end of period")
    ax2.set_xlabel("hour of day")
    ax2.legend(ncol=4, fontsize=8)
    ax2.set_xlim(0, 24)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
