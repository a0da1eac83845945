"""Benchmark: simulation throughput (>= 1,000,000 swap requests) and speed against a SimPy model.

Run with ``python benchmarks/simulation_throughput.py`` (needs ``simpy``, a benchmark-only dependency
in the ``bench`` extra). Two parts:

1. **Throughput.** A synthetic 30 x 30 km city, 100 Choco-swap-like stations at service stores, node
   demand (urban profile) routed to the nearest station, 30 days, one replication: at least 1,000,000
   requests. Target: <= 20 s including arrival generation and KPI computation.
2. **Against SimPy.** The same station system written the straightforward way in SimPy (a
   ``Container`` of charged packs, ``Resource`` bays and chargers, one process per driver and per
   charge) on a smaller instance, fed the *same* arrival times (common random numbers), so the KPIs
   must agree up to tie-breaking. Target: ``swapnet.simulation.simulate`` >= 5x faster, both timed
   end to end (arrival generation included on both sides).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

import swapnet
from swapnet import Station
from swapnet.simulation import SimulationOptions, simulate
from swapnet.simulation.engine import poisson_arrivals

PACK = swapnet.BatteryPack.catl_25_lfp()
DESIGN = swapnet.StationDesign.choco_swap()  # 1 bay of 100 s, 30 packs, 30 x 40 kW slots, 600 kW grid


def throughput() -> None:
    city = swapnet.city_grid(31, 31, spacing_km=1.0, arterial_every=5, seed=7)
    demand = swapnet.city_demand(city, total_swaps_per_day=35_000.0, seed=7)
    stores = swapnet.service_store_sites(city, 100, seed=7, demand=demand)
    # 1,200 kW connections (the top of the range seen) so that all 30 slots can charge at once
    stations = [
        Station.from_design(lab, node, DESIGN, grid_kw=1200.0)
        for lab, node in zip(stores.labels, stores.nodes, strict=True)
    ]
    tariff = swapnet.TouTariff.guangdong()
    t0 = time.perf_counter()
    res = simulate(
        stations,
        demand,
        pack=PACK,
        network=city,
        tariff=tariff,
        options=SimulationOptions(days=30, replications=1, seed=1, progress=True),
    )
    dt = time.perf_counter() - t0
    n = res.network_kpis().loc["requests", "mean"]
    print(f"throughput: {len(stations)} stations x 30 days, {n:,.0f} swap requests")
    print(
        f"  simulate() end to end     : {dt:7.2f} s  ({n / dt:,.0f} requests/s)   target <= 20 s: {'OK' if dt <= 20 else 'MISSED'}"
    )
    print(f"  network: {res.summary()}")


# ----------------------------------------------------------------------- SimPy
def simpy_station(arrivals: np.ndarray[Any, Any], st: Station, charge_h: float, horizon: float) -> dict[str, float]:
    """One station in SimPy: FIFO packs (Container), bays and chargers (Resource), zero patience."""
    import simpy

    env = simpy.Environment()
    charged = simpy.Container(env, capacity=st.batteries, init=st.charged_at_start)
    bays = simpy.Resource(env, capacity=st.bays)
    chargers = simpy.Resource(env, capacity=st.parallel_charging)
    swap_h = st.swap_minutes / 60.0
    waits: list[float] = []
    lost = [0]
    busy = [0.0]

    def charge() -> Any:
        with chargers.request() as req:
            yield req
            yield env.timeout(charge_h)
        yield charged.put(1)

    def driver(a: float) -> Any:
        if charged.level == 0:
            lost[0] += 1
            return
        yield charged.get(1)
        with bays.request() as req:
            yield req
            waits.append((env.now - a) * 60.0)
            yield env.timeout(swap_h)
            busy[0] += swap_h
        env.process(charge())

    def source() -> Any:
        for a in arrivals.tolist():
            yield env.timeout(a - env.now)
            env.process(driver(a))

    env.process(source())
    env.run()
    return {"requests": float(arrivals.size), "served": float(len(waits)), "lost": float(lost[0]),
            "wait_mean_min": float(np.mean(waits)) if waits else float("nan")}  # fmt: skip


def against_simpy() -> None:
    m, days = 20, 30
    stations = [Station.from_design(f"s{k}", f"s{k}", DESIGN) for k in range(m)]
    profile = swapnet.DailyProfile.urban().shares
    rates = np.outer(np.linspace(200.0, 400.0, m), profile)  # 200-400 swaps/day per station
    charge_h = stations[0].charge_hours(PACK)
    horizon = 24.0 * days

    def ours() -> Any:
        return simulate(
            stations, rates, pack=PACK, options=SimulationOptions(days=days, replications=1, seed=3, progress=False)
        )

    def baseline() -> list[dict[str, float]]:
        out = []
        for k, st in enumerate(stations):
            # the stream simulate() uses for station k, replication 0 (common random numbers)
            rng = np.random.default_rng(np.random.SeedSequence(3, spawn_key=(0, 0, k)))
            arr = poisson_arrivals(rng, rates[k], days)
            out.append(simpy_station(arr[arr < horizon], st, charge_h, horizon))
        return out

    t_ours, t_base = [], []
    res: Any = None
    base: list[dict[str, float]] = []
    for _ in range(3):
        t0 = time.perf_counter()
        res = ours()
        t_ours.append(time.perf_counter() - t0)
    for _ in range(2):
        t0 = time.perf_counter()
        base = baseline()
        t_base.append(time.perf_counter() - t0)
    k = res.replication_kpis
    n = int(k["requests"].sum())
    print(f"against SimPy: {m} stations x {days} days, {n:,} requests, identical arrival streams")
    agree = True
    for col in ("requests", "served", "lost", "wait_mean_min"):
        a = k[col].to_numpy(dtype=float)
        b = np.array([x[col] for x in base])
        if col == "wait_mean_min":
            ta = float((a * k["served"]).sum() / k["served"].sum())
            tb = float((b * np.array([x["served"] for x in base])).sum() / sum(x["served"] for x in base))
        else:
            ta, tb = float(a.sum()), float(b.sum())
        rel = abs(ta - tb) / max(abs(tb), 1e-9)
        agree &= rel <= 0.01
        print(f"  {col:<14}: swapnet {ta:12.4f}   simpy {tb:12.4f}   rel. diff {rel:.2e}")
    to, tb_ = statistics.median(t_ours), statistics.median(t_base)
    ratio = tb_ / to
    print(f"  swapnet simulate(): {to:7.2f} s (median of 3)")
    print(f"  SimPy model       : {tb_:7.2f} s (median of 2)")
    print(f"  speed-up          : {ratio:7.1f}x   target >= 5x: {'OK' if ratio >= 5 else 'MISSED'};"
          f" KPIs agree within 1 %: {'OK' if agree else 'NO'}")  # fmt: skip


def main() -> None:
    throughput()
    against_simpy()


if __name__ == "__main__":
    main()
