"""Operations engine at scale: every target of the operations issue, each figure beside the load.

Cases (synthetic city, Choco-swap stations, urban demand ~117 swaps/day each, Guangdong tariff):

1. 50 stations x 96 periods with 5 trucks, 60 s: target <= 1 % gap, a bound within 10 s, build
   <= 10 % of the total.
2. 200 stations x 96 periods without trucks, 30 s: target <= 0.5 % gap (the stations decouple and
   are solved station by station).
3. The national-car operations stage (examples/national_car/study.toml: its city, demand, sites and
   sized stations, 2 trucks of 20 packs, 96 periods), 10 s: target <= 1 % gap on the machine as it
   is and beside two CPU-bound processes started here.
4. A week (7 x 96 periods) for the 50 stations of case 1 with 5 trucks, rolling horizon (windows
   of a day kept half a day at a time): target <= 5 min; gap against the monolithic bound.
5. ``time_limit=5`` on cases 1-3: a plan with a finite gap, no exception, within the limit + 2 s.
6. Build: swapnet's vectorised builder against a per-element Pyomo build of the same model (50
   stations x 96 periods, no trucks): target >= 10x.

Every figure is printed with the 1-minute load average at that moment (the machine may be
shared), and each target line says ``met`` or ``NOT met``.

Run: ``python benchmarks/operations_scale.py [--quick] [--cases 1 3]`` (default: every case).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from _neighbours import cpu_bound_neighbours

import swapnet
from swapnet.operations import OpsStation, TruckFleet, formulation, plan_operations
from swapnet.operations import instance as ops_instance
from swapnet.optim import SolveOptions

ROOT = Path(__file__).resolve().parents[1]
FLEET = TruckFleet(count=5, capacity=20, every=4)


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def instance(n: int, seed: int) -> tuple[list[OpsStation], np.ndarray, swapnet.RoadNetwork]:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(4 * n))) + 1
    city = swapnet.city_grid(side, side, spacing_km=1.0, seed=seed)
    nodes = rng.choice(city.n_nodes, n, replace=False)
    design = swapnet.StationDesign.choco_swap()
    daily = rng.gamma(8.0, 117.0 / 8.0, n)  # mean 117 swaps/day (DOMAIN.md), some busier
    prof = swapnet.DailyProfile.urban().resample(96)
    stations = [OpsStation.from_design(f"S{i:03d}", int(nodes[i]), design) for i in range(n)]
    return stations, np.outer(daily, prof), city


def national_car() -> dict[str, Any]:
    """The operations inputs of examples/national_car/study.toml, built as the study pipeline does."""
    from swapnet.operations import demand_at_stations, stations_from_plan
    from swapnet.siting import size_stations
    from swapnet.synthetic import city_demand, service_store_sites

    study = swapnet.Study.from_toml(ROOT / "examples" / "national_car" / "study.toml")
    net = study.network
    network = swapnet.city_grid(net.rows, net.cols, spacing_km=net.spacing_km, seed=net.seed)
    dm = study.demand
    w = city_demand(network, total_swaps_per_day=1.0, seed=dm.seed, centre_weight=dm.centre_weight, noise=dm.noise)
    demand = swapnet.NodeDemand.from_segments(network, [s.fleet_segment() for s in dm.segments], weights=w.as_dict())
    assert study.sites.n is not None
    sites = service_store_sites(network, study.sites.n, seed=study.sites.seed, demand=demand)
    pack, design, tariff = study.pack.build(), study.design.build(), study.tariff.build()
    st = study.siting
    assert st.service_km is not None
    sv = study.solver
    siting = size_stations(
        network,
        demand,
        sites,
        design,
        pack,
        service_km=st.service_km,
        penalty_per_swap=st.penalty_per_swap,
        max_stations=st.max_stations,
        options=SolveOptions(time_limit=sv.time_limit, mip_gap=sv.mip_gap),
    ).verify()
    node_of = dict(zip(sites.labels, sites.nodes, strict=True))
    site_nodes = [node_of[s] for s in siting.sites]
    op = study.operations
    return {
        "stations": stations_from_plan(siting, design, nodes=site_nodes),
        "demand": demand_at_stations(siting, demand, nodes=site_nodes),
        "tariff": tariff,
        "periods": op.periods,
        "pack": pack,
        "trucks": TruckFleet(count=op.trucks, capacity=op.truck_capacity, every=op.truck_every),
        "network": network,
        "lost_penalty": op.lost_penalty,
    }


def timed(**kw: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    plan = plan_operations(**kw).verify()
    return plan, time.perf_counter() - t0


def report(tag: str, plan: Any, total: float, limit: float, target_gap: float | None) -> bool:
    d = plan.details
    ok_gap = target_gap is None or plan.gap <= target_gap
    print(
        f"   {tag}: {total:.1f} s (limit {limit:g}), cost {plan.objective:,.0f} CNY, bound {plan.bound:,.0f}, "
        f"gap {plan.gap:.2%} [{plan.status.value}], lost {plan.lost_swaps:,.1f} swaps; "
        f"{d.get('decomposition', '')}; build {plan.build_seconds:.2f} s; {load()}"
    )
    return ok_gap


def pyomo_build(inst: Any) -> float:
    """A straightforward per-element Pyomo build of the no-truck model; returns build seconds."""
    import pyomo.environ as pyo

    t0 = time.perf_counter()
    N, T = inst.N, inst.T
    ecost = ops_instance._energy_cost(inst)
    m = pyo.ConcreteModel()
    m.S = pyo.RangeSet(0, N - 1)
    m.T = pyo.RangeSet(0, T - 1)
    m.n = pyo.Var(m.S, m.T, domain=pyo.NonNegativeIntegers, bounds=lambda _m, s, t: (0, inst.chargers[s]))
    m.x = pyo.Var(m.S, m.T, bounds=lambda _m, s, t: (0, min(inst.demand[s, t], inst.swap_cap[s])))
    m.F = pyo.Var(m.S, m.T, bounds=lambda _m, s, t: (0, inst.batteries[s]))
    m.E = pyo.Var(m.S, m.T, bounds=lambda _m, s, t: (0, inst.batteries[s]))
    m.obj = pyo.Objective(
        expr=sum(float(ecost[s, t]) * m.n[s, t] - inst.lost_penalty * m.x[s, t] for s in range(N) for t in range(T))
    )
    L = inst.L

    def fb(_m: Any, s: int, t: int) -> object:
        return m.F[s, t] == m.F[s, (t - 1) % T] + m.n[s, (t - L[s]) % T] - m.x[s, t]

    def eb(_m: Any, s: int, t: int) -> object:
        return m.E[s, t] == m.E[s, (t - 1) % T] + m.x[s, t] - m.n[s, t]

    def ch(_m: Any, s: int, t: int) -> object:
        return sum(m.n[s, (t - j) % T] for j in range(L[s])) <= inst.chargers[s]

    def gr(_m: Any, s: int, t: int) -> object:
        return sum(float(inst.prof[s, j]) * m.n[s, (t - j) % T] for j in range(L[s])) <= inst.grid[s]

    m.fb = pyo.Constraint(m.S, m.T, rule=fb)
    m.eb = pyo.Constraint(m.S, m.T, rule=eb)
    m.ch = pyo.Constraint(m.S, m.T, rule=ch)
    m.gr = pyo.Constraint(m.S, m.T, rule=gr)
    m.cons = pyo.Constraint(
        m.S,
        rule=lambda _m, s: (
            m.F[s, T - 1] + m.E[s, T - 1] + sum(m.n[s, (T - 1 - j) % T] for j in range(L[s])) == inst.batteries[s]
        ),
    )
    return time.perf_counter() - t0


def ours_build(inst: Any) -> float:
    t0 = time.perf_counter()
    formulation.build_model(inst)
    return time.perf_counter() - t0


def day_instance(st: Any, dem: Any, tariff: Any) -> Any:
    """The one-day, 96-period cyclic instance without trucks (model internals, for build timing)."""
    return ops_instance._instance(
        st,
        dem,
        tariff,
        periods=96,
        days=1,
        pack=swapnet.BatteryPack.catl_25_lfp(),
        trucks=None,
        hubs=(),
        network=None,
        cyclic=True,
        start_soc=0.2,
        lost_penalty=200.0,
        degradation=0.0,
        peak_limit=None,
        demand_charge=0.0,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, short limits (a smoke run)")
    ap.add_argument("--cases", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6], help="which cases to run (1-6)")
    args = ap.parse_args()
    cases = set(args.cases)
    n1, n2, l1, l2, l3, days = (10, 40, 20.0, 10.0, 10.0, 2) if args.quick else (50, 200, 60.0, 30.0, 10.0, 7)
    tariff = swapnet.TouTariff.guangdong()
    print(f"{load()} on {os.cpu_count()} cores; HiGHS via highspy")
    met: dict[str, bool] = {}
    st1, dem1, city1 = instance(n1, 1)
    case1: dict[str, Any] = {
        "stations": st1,
        "demand": dem1,
        "tariff": tariff,
        "periods": 96,
        "trucks": FLEET,
        "network": city1,
    }
    st2, dem2, _ = instance(n2, 2)
    case2: dict[str, Any] = {"stations": st2, "demand": dem2, "tariff": tariff, "periods": 96}
    t0 = time.perf_counter()
    case3 = national_car()
    print(f"national-car inputs (siting as in the study): {len(case3['stations'])} stations, "
          f"{time.perf_counter() - t0:.1f} s; {load()}")  # fmt: skip

    # 1. trucks
    if 1 in cases:
        print(f"\n1. {n1} stations x 96 periods, 5 trucks (capacity 20, hourly departures), time limit {l1:g} s")
        p1, t1 = timed(**case1, options=SolveOptions(mip_gap=0.01, time_limit=l1))
        d = p1.details
        print(f"   rows {d['rows']:,}, cols {d['cols']:,}, nonzeros {d['nonzeros']:,}; heuristic {d.get('heuristic')}")
        met["1. gap <= 1 % in <= 60 s"] = report("plan", p1, t1, l1, 0.01) and t1 <= l1 + 2
        bs = d.get("bound_seconds", {})
        bounds = d.get("bounds", {})
        finite = {k: v for k, v in bounds.items() if np.isfinite(v) and v > 0}
        first = min((bs[k] for k in finite if k in bs), default=float("inf"))
        lp_t = (
            bs.get("lp_first_round", bs.get("lp", float("inf")))
            if np.isfinite(bounds.get("lp", -np.inf))
            else float("inf")
        )
        print(
            "   bounds: "
            + ", ".join(f"{k} {v:,.0f} CNY at {bs.get(k, float('nan')):.1f} s" for k, v in bounds.items() if k in bs)
            + f"; first finite bound at {first:.1f} s, LP bound at {lp_t:.1f} s ({d.get('lp_note', 'no LP note')}); "
            + load()
        )
        met["1. a bound within 10 s (finite, valid)"] = first <= 10.0
        met["1. the LP bound within 10 s"] = lp_t <= 10.0
        share = p1.build_seconds / t1
        print(f"   build {p1.build_seconds:.2f} s of {t1:.1f} s: {share:.1%}; {load()}")
        met["1. build <= 10 % of total"] = share <= 0.10

    # 2. no trucks
    if 2 in cases:
        print(f"\n2. {n2} stations x 96 periods, no trucks, time limit {l2:g} s")
        p2, t2 = timed(**case2, options=SolveOptions(mip_gap=0.005, time_limit=l2))
        met["2. gap <= 0.5 % in <= 30 s"] = report("plan", p2, t2, l2, 0.005) and t2 <= l2 + 2

    # 3. national car
    if 3 in cases:
        print(f"\n3. national-car operations stage: {len(case3['stations'])} stations, 2 trucks, 96 periods, {l3:g} s")
        p3, t3 = timed(**case3, options=SolveOptions(mip_gap=0.01, time_limit=l3))
        met["3. gap <= 1 % in <= 10 s (machine as is)"] = report("as is", p3, t3, l3, 0.01) and t3 <= l3 + 2
        with cpu_bound_neighbours(2):
            p3b, t3b = timed(**case3, options=SolveOptions(mip_gap=0.01, time_limit=l3))
        ok = report("beside two CPU-bound processes", p3b, t3b, l3, 0.01) and t3b <= l3 + 2
        met["3. gap <= 1 % in <= 10 s (beside two CPU-bound processes)"] = ok

    # 4. rolling week
    if 4 in cases:
        print(f"\n4. rolling horizon: {n1} stations x {days} days (not cyclic), 5 trucks, windows of 96 kept 48")
        per_window = 15.0 if not args.quick else 5.0
        t0 = time.perf_counter()
        roll = plan_operations(
            **case1,
            days=days,
            cyclic=False,
            horizon=96,
            step=48,
            options=SolveOptions(mip_gap=0.01, time_limit=per_window),
        ).verify()
        t4 = time.perf_counter() - t0
        d = roll.details
        wgaps = ", ".join(f"{w['gap']:.1%}" for w in d["windows"])
        print(
            f"   {len(d['windows'])} windows ({per_window:g} s each): {t4:.1f} s; cost {roll.objective:,.0f} CNY, "
            f"monolithic bound {roll.bound:,.0f} (" + ", ".join(f"{k} {v:,.0f}" for k, v in d["bounds"].items())
            + f"), gap vs that bound {roll.gap:.2%}; window gaps {wgaps}; {load()}"
        )  # fmt: skip
        met["4. week rolling <= 5 min, gap vs monolithic bound printed"] = t4 <= 300.0 and np.isfinite(roll.gap)

    # 5. short limits never raise
    if 5 in cases:
        print("\n5. time_limit = 5 s on cases 1-3: a plan, a finite gap, within the limit + 2 s")
        ok5 = True
        for tag, case in (("case 1", case1), ("case 2", case2), ("case 3", case3)):
            try:
                p, t = timed(**case, options=SolveOptions(mip_gap=0.01, time_limit=5.0))
                good = np.isfinite(p.gap) and t <= 7.0
                report(tag, p, t, 5.0, None)
            except Exception as err:
                print(f"   {tag}: raised {type(err).__name__}: {err}; {load()}")
                good = False
            ok5 &= good
        met["5. time_limit 5 s: never raises, finite gap, within limit + 2 s"] = ok5

    # 6. build speed
    if 6 in cases:
        inst = day_instance(st1, dem1, tariff)
        ours = statistics.median(ours_build(inst) for _ in range(5))
        theirs = statistics.median(pyomo_build(inst) for _ in range(3))
        print(f"\n6. build of {n1} stations x 96 periods (no trucks), median of repeats")
        print(
            f"   swapnet {ours * 1000:.1f} ms, per-element Pyomo {theirs * 1000:.0f} ms: {theirs / ours:.0f}x; {load()}"
        )
        met["6. builder >= 10x faster than per-element Pyomo"] = theirs / ours >= 10

    print(f"\ntargets ({'quick sizes, not the targets' if args.quick else 'full sizes'}); {load()}")
    for k, v in met.items():
        print(f"   {verdict(v):8s} {k}")


if __name__ == "__main__":
    main()
