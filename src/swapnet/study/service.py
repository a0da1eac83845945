"""The study's service-level loop: simulate the sized network, resize the stations below target, repeat.

``[siting] service_level = s`` sizes stations with the queueing model
(:func:`~swapnet.siting.size_stations` with ``service_level``), then :func:`close_service_loop`:

1. simulates the sized stations with the plan's own routing (``station_choice = "assignment"``), at
   least 10 replications after at least one warm-up day, with the study's seed -- every round uses
   the same random numbers (common random numbers), so rounds differ only by the sizes;
2. marks every station whose simulated service level (served / requests at that station), or the
   lower end of its 95 % interval, is below ``s``;
3. halves the model loss target of each marked station that is below its site limits and resizes it
   (:func:`~swapnet.siting.resize_stations`: only more packs or chargers);
4. repeats until no station is marked, every marked one is at its limits, or
   ``service_iterations`` rounds have run.

Demand the plan leaves unserved (no station within reach, or capacity) is not a station's service:
it is counted as ``lost_no_station`` by the simulation, shown in the report's ``unserved`` table, and
included in the network's service over all demand (``all_demand_service`` in the rounds' table).
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from swapnet.simulation import SimulationOptions, SimulationResult, kpi_interval, simulate
from swapnet.siting.sizing import resize_stations
from swapnet.stations import stations_from_plan
from swapnet.study.model import StudySpec
from swapnet.study.stages import Inputs, Sited

__all__ = ["ServiceLoop", "close_service_loop", "loop_options", "station_service"]

#: Fewest replications and warm-up days of a service-level round.
MIN_REPLICATIONS, MIN_WARMUP_DAYS = 10, 1


@dataclass(frozen=True, eq=False)
class ServiceLoop:
    """Outcome of the loop: the final sited network, its simulation and one table row per round."""

    sited: Sited
    simulation: SimulationResult
    iterations: pd.DataFrame
    met: bool
    stopped: str


def loop_options(study: StudySpec) -> SimulationOptions:
    """The simulation settings of a round (the study's, with at least 10 replications and 1 warm-up day)."""
    sm = study.simulation
    return SimulationOptions(
        days=sm.days,
        replications=max(MIN_REPLICATIONS, sm.replications),
        warmup_days=max(MIN_WARMUP_DAYS, sm.warmup_days),
        seed=sm.seed,
        charging_policy=sm.charging_policy,
        station_choice="assignment",
        progress=False,
    )


def station_service(sim: SimulationResult) -> pd.DataFrame:
    """Per station: service level mean, 95 % ``low``/``high`` (clipped to [0, 1]) and requests per day."""
    k = sim.station_kpis()
    return pd.DataFrame(
        {
            "service": k["service_level"],
            "low": k["service_level_low"].fillna(k["service_level"]),
            "high": k["service_level_high"].fillna(k["service_level"]),
            "requests_per_day": k["requests"] / sim.days,
        }
    )


def network_service(sim: SimulationResult, *, all_demand: bool = False) -> tuple[float, float, float]:
    """Simulated service level, mean and 95 % interval (low, high) over the replications.

    ``all_demand=False``: at the stations (served / requests routed to a station). ``True``: over all
    demand (served / all requests, so demand without a station counts as lost).
    """
    n = sim.network_replication_kpis
    req = n["requests"].to_numpy(dtype=np.float64)
    base = req if all_demand else req - n["lost_no_station"].to_numpy(dtype=np.float64)
    ratio = np.where(base > 0, n["served"].to_numpy(dtype=np.float64) / np.maximum(base, 1e-300), np.nan)
    m, _, lo, hi = kpi_interval(ratio, "service_level")
    return m, (m if np.isnan(lo) else lo), (m if np.isnan(hi) else hi)


def close_service_loop(study: StudySpec, inputs: Inputs, sited: Sited) -> ServiceLoop:
    """Run the service-level loop (module docstring) on a plan sized with ``service_level``."""
    target = study.siting.service_level
    assert target is not None
    opts = loop_options(study)
    rows: list[dict[str, object]] = []
    plan = sited.siting
    stopped = "round limit"
    met = False
    sim: SimulationResult | None = None
    for it in range(1, study.siting.service_iterations + 1):
        t0 = time.perf_counter()
        sim = simulate(
            plan, sited.demand, pack=inputs.pack, network=inputs.network, design=inputs.design,
            candidates=inputs.sites, tariff=inputs.tariff, options=opts,
        )  # fmt: skip
        table = plan.sized_stations
        assert table is not None
        per = station_service(sim).reindex(table["site"].tolist())
        below = ((per["service"] < target) | (per["low"] < target)).to_numpy()
        at_limit = (
            (table["batteries"] >= table["max_batteries"]) | (table["chargers"] >= table["max_chargers"])
        ).to_numpy()
        grow = below & ~at_limit
        m, lo, _ = network_service(sim)
        am, alo, _ = network_service(sim, all_demand=True)
        rows.append(
            {
                "iteration": it,
                "stations": len(table),
                "below_target": int(below.sum()),
                "at_site_limit": int((below & at_limit).sum()),
                "batteries": int(table["batteries"].sum()),
                "chargers": int(table["chargers"].sum()),
                "annual_cost_cny": plan.objective,
                "network_service": m,
                "network_service_low": lo,
                "all_demand_service": am,
                "all_demand_service_low": alo,
                "min_station_service": float(per["service"].min()),
                "min_station_service_low": float(per["low"].min()),
                "simulated_requests": float(sim.replication_kpis["requests"].sum()),
                "seconds": time.perf_counter() - t0,
            }
        )
        if not below.any():
            met, stopped = True, "every station meets the target"
            break
        if not grow.any():
            stopped = "the stations below target are at their site limits"
            break
        if it == study.siting.service_iterations:
            break
        targets: dict[Hashable, float] = {
            s: float(e) / 2.0 for s, e, g in zip(table["site"], table["target_loss"], grow, strict=True) if g
        }
        plan = resize_stations(plan, targets).verify()
    assert sim is not None
    stations = stations_from_plan(
        plan, inputs.design, inputs.pack, nodes=list(sited.site_nodes), candidates=inputs.sites
    )
    return ServiceLoop(replace(sited, siting=plan, stations=stations), sim, pd.DataFrame(rows), met, stopped)
