"""Benchmark: service-level sizing against mean-rate sizing on the national-car study.

Run with ``python benchmarks/service_level.py`` (from the project root; it reads
``examples/national_car/study.toml``). Two parts, each with the 1-minute load average beside it:

1. **Side by side.** ``size_stations`` as the study sizes it, with the mean-rate model (chargers at
   100 % in the busiest hour, 1 h of spare packs) and with ``service_level = 0.98`` (the queueing
   model of ``swapnet.siting.queueing``): stations, batteries, chargers, capex (sites + packs +
   chargers) and the simulated service -- over all demand (demand without a station counts as
   lost; mean and lower 95 % bound), at the stations (mean and lower bound) and the lowest station --
   with the plan's routing, 10 replications after a warm-up day, the same random numbers for both.
   Both use the study's ``service_km`` and ``fallback_km``.
2. **The loop's cost.** The study's ``[siting] service_level`` loop (simulate, resize the stations
   below target, repeat) at 0.98 and at a stricter 0.995: rounds, simulated requests and seconds.
"""

from __future__ import annotations

import os
import time
import tomllib
from pathlib import Path
from typing import Any

from swapnet.optim import SolveOptions
from swapnet.simulation import SimulationResult, simulate
from swapnet.siting import SitingPlan, size_stations
from swapnet.siting.sizing import CHARGER_CNY
from swapnet.study import Study
from swapnet.study.pipeline import build_inputs, site
from swapnet.study.service import close_service_loop, loop_options, network_service, station_service

STUDY = Path(__file__).resolve().parent.parent / "examples" / "national_car" / "study.toml"


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def capex(plan: SitingPlan, fixed: dict[object, float], pack_cny: float) -> float:
    t = plan.sized_stations
    assert t is not None
    return float(sum(fixed[s] for s in t["site"]) + pack_cny * t["batteries"].sum() + CHARGER_CNY * t["chargers"].sum())


def main() -> None:
    study = Study.from_toml(STUDY)
    inputs = build_inputs(study)
    assert inputs.demand is not None
    st = study.siting
    assert st.service_km is not None
    fixed = dict(zip(inputs.sites.labels, map(float, inputs.sites.fixed_cost), strict=True))
    opts = SolveOptions(time_limit=study.solver.time_limit, mip_gap=study.solver.mip_gap)
    sim_opts = loop_options(study)
    print(f"national-car study: {inputs.network.n_nodes} nodes, {inputs.demand.total:,.0f} swaps/day, "
          f"{len(inputs.sites)} candidate sites, service_km {st.service_km:g}, fallback_km {st.fallback_km}; "
          f"simulation {sim_opts.replications} replications x {sim_opts.days} day (+{sim_opts.warmup_days} warm-up), plan routing")  # fmt: skip
    print()
    print(f"{'sizing':<22}{'stations':>9}{'batteries':>10}{'chargers':>9}{'capex M CNY':>12}{'all dem.':>9}"
          f"{'low 95%':>9}{'at st.':>9}{'low 95%':>9}{'min st.':>9}{'lost/day':>9}{'size s':>8}{'sim s':>7}  load")  # fmt: skip
    for label, level in (("mean rate (1 h buffer)", None), ("service_level 0.98", 0.98)):
        t0 = time.perf_counter()
        plan = size_stations(
            inputs.network, inputs.demand, inputs.sites, inputs.design, inputs.pack, service_km=st.service_km,
            penalty_per_swap=st.penalty_per_swap, max_stations=st.max_stations, service_level=level,
            fallback_km=st.fallback_km, options=opts,
        ).verify()  # fmt: skip
        t1 = time.perf_counter()
        sim: SimulationResult = simulate(
            plan, inputs.demand, pack=inputs.pack, network=inputs.network, design=inputs.design,
            candidates=inputs.sites, tariff=inputs.tariff, options=sim_opts,
        )  # fmt: skip
        t2 = time.perf_counter()
        t = plan.sized_stations
        assert t is not None
        m, lo, _ = network_service(sim)
        am, alo, _ = network_service(sim, all_demand=True)
        per = station_service(sim)
        lost = float(sim.network_replication_kpis["lost_no_battery"].mean()) / sim.days
        print(f"{label:<22}{len(t):>9}{int(t['batteries'].sum()):>10}{int(t['chargers'].sum()):>9}"
              f"{capex(plan, fixed, inputs.pack.cost_cny) / 1e6:>12.1f}{am:>9.4f}{alo:>9.4f}{m:>9.4f}{lo:>9.4f}"
              f"{float(per['service'].min()):>9.4f}{lost:>9.1f}{t1 - t0:>8.1f}{t2 - t1:>7.1f}  {load()}")  # fmt: skip
    print()
    print(f"{'loop target':<12}{'rounds':>7}{'stopped':>52}{'requests':>11}{'seconds':>9}  load")
    for level in (0.98, 0.995):
        s = Study.from_dict({**_raw(study), "siting": {**_raw(study)["siting"], "service_level": level}})
        sited = site(s, inputs)
        t0 = time.perf_counter()
        loop = close_service_loop(s, inputs, sited)
        dt = time.perf_counter() - t0
        it = loop.iterations
        print(f"{level:<12g}{len(it):>7}{loop.stopped:>52}{it['simulated_requests'].sum():>11,.0f}{dt:>9.1f}  {load()}")
        print(it[["iteration", "below_target", "batteries", "chargers", "all_demand_service_low",
                  "network_service_low", "min_station_service", "min_station_service_low"]].to_string(index=False))  # fmt: skip


def _raw(study: Study) -> dict[str, Any]:
    assert study.source is not None
    return tomllib.loads(study.source.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
