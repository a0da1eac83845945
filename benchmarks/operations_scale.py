"""Operations MILP at scale: build/solve split, sizes, and build speed against a per-element Pyomo model.

Cases (synthetic city, Choco-swap-like stations, urban demand ~117 swaps/day each, Guangdong tariff):

1. 50 stations x 96 periods with 5 trucks: target <= 1 % gap within 60 s, build <= 10 % of total.
2. 200 stations x 96 periods without trucks (stations decouple): one model vs station by station
   (a pool of 2 processes); target <= 30 s.
3. Model build: swapnet's vectorised builder vs a straightforward per-element Pyomo build of the
   same model (50 stations x 96 periods, no trucks): target >= 10x.
4. Rolling horizon: 50 stations x 3 days (288 periods, not cyclic), 5 trucks, windows of one day
   kept half a day at a time; cost and gap against the monolithic LP bound.
5. Strengthening: LP bound of case 1 with and without the valid inequalities.

Every figure is printed with the load average at that moment (the machine is shared).

Run: ``python benchmarks/operations_scale.py [--quick]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

import swapnet
from swapnet.operations import OpsStation, TruckFleet, formulation, plan_operations
from swapnet.operations import instance as ops_instance
from swapnet.optim import SolveOptions


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


def pyomo_build(inst: ops_instance._Instance) -> float:
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

    def fb(_m: pyo.ConcreteModel, s: int, t: int) -> object:
        return m.F[s, t] == m.F[s, (t - 1) % T] + m.n[s, (t - L[s]) % T] - m.x[s, t]

    def eb(_m: pyo.ConcreteModel, s: int, t: int) -> object:
        return m.E[s, t] == m.E[s, (t - 1) % T] + m.x[s, t] - m.n[s, t]

    def ch(_m: pyo.ConcreteModel, s: int, t: int) -> object:
        return sum(m.n[s, (t - j) % T] for j in range(L[s])) <= inst.chargers[s]

    def gr(_m: pyo.ConcreteModel, s: int, t: int) -> object:
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


def ours_build(inst: ops_instance._Instance) -> float:
    t0 = time.perf_counter()
    formulation.build_model(inst)
    return time.perf_counter() - t0


def load() -> str:
    return "load " + " ".join(f"{v:.1f}" for v in os.getloadavg())


def one_station(args: tuple[OpsStation, np.ndarray, SolveOptions]) -> tuple[float, float]:
    st, dem, opts = args
    p = plan_operations([st], dem, swapnet.TouTariff.guangdong(), periods=96, options=opts).verify()
    return p.objective, p.gap


def _day_instance(st: Any, dem: Any, tariff: Any, *, trucks: Any, network: Any) -> Any:
    """The benchmark's one-day, 96-period cyclic instance (model internals, for build timing and LP bounds)."""
    return ops_instance._instance(
        st,
        dem,
        tariff,
        periods=96,
        days=1,
        pack=swapnet.BatteryPack.catl_25_lfp(),
        trucks=trucks,
        hubs=(),
        network=network,
        cyclic=True,
        start_soc=0.2,
        lost_penalty=200.0,
        degradation=0.0,
        peak_limit=None,
        demand_charge=0.0,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, short limits")
    args = ap.parse_args()
    n1, n2, limit = (10, 40, 20.0) if args.quick else (50, 200, 60.0)
    tariff = swapnet.TouTariff.guangdong()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; HiGHS via highspy")

    # 1. trucks
    st, dem, city = instance(n1, 1)
    t0 = time.perf_counter()
    plan = plan_operations(
        st,
        dem,
        tariff,
        periods=96,
        trucks=TruckFleet(count=5, capacity=20, every=4),
        network=city,
        options=SolveOptions(mip_gap=0.01, time_limit=limit),
    ).verify()
    total = time.perf_counter() - t0
    d = plan.details
    print(
        f"\n1. {n1} stations x 96 periods, 5 trucks: rows {d['rows']:,}, cols {d['cols']:,}, nonzeros {d['nonzeros']:,}"
    )
    print(
        f"   build {plan.build_seconds:.2f} s, solve {plan.solve_seconds:.2f} s (total {total:.2f} s), "
        f"build share {plan.build_seconds / total:.1%}; status {plan.status.value}, gap {plan.gap:.2%}"
    )
    print(f"   {plan.summary()}")
    relax = plan_operations(
        st, dem, tariff, periods=96, trucks=TruckFleet(count=5, capacity=20, every=4), network=city, relax=True
    )
    print(f"   LP relaxation {relax.objective:,.0f} CNY in {relax.build_seconds + relax.solve_seconds:.2f} s; {load()}")

    # 2. no trucks: one model vs station by station
    st2, dem2, _ = instance(n2, 2)
    opts = SolveOptions(mip_gap=0.01, time_limit=limit)
    t0 = time.perf_counter()
    one = plan_operations(st2, dem2, tariff, periods=96, options=opts)
    t_one = time.perf_counter() - t0
    print(f"   one model done; {load()}")
    t0 = time.perf_counter()
    per = SolveOptions(mip_gap=0.01, time_limit=max(limit / n2, 0.5))
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        res = list(pool.map(one_station, [(st2[i], dem2[i : i + 1], per) for i in range(n2)]))
    costs = sum(r[0] for r in res)
    worst_gap = max(r[1] for r in res)
    t_each = time.perf_counter() - t0
    print(f"\n2. {n2} stations x 96 periods, no trucks")
    print(
        f"   one model: {t_one:.1f} s, {one.objective:,.0f} CNY, gap {one.gap:.2%} ({one.status.value}); "
        f"rows {one.details['rows']:,}, nonzeros {one.details['nonzeros']:,}"
    )
    print(f"   station by station (2 processes): {t_each:.1f} s, {costs:,.0f} CNY, worst gap {worst_gap:.2%}; {load()}")
    print(
        f"   faster: {'one model' if t_one <= t_each else 'station by station'} ({max(t_one, t_each) / min(t_one, t_each):.1f}x)"
    )

    # 3. build speed
    inst = _day_instance(st, dem, tariff, trucks=None, network=None)
    ours = statistics.median(ours_build(inst) for _ in range(5))
    theirs = statistics.median(pyomo_build(inst) for _ in range(3))
    print(f"\n3. build of {n1} stations x 96 periods (no trucks), median of repeats")
    print(f"   swapnet {ours * 1000:.1f} ms, per-element Pyomo {theirs * 1000:.0f} ms: {theirs / ours:.0f}x faster")

    # 4. rolling horizon over three days
    days = 1 if args.quick else 3
    fleet = TruckFleet(count=5, capacity=20, every=4)
    t0 = time.perf_counter()
    roll = plan_operations(
        st,
        dem,
        tariff,
        periods=96,
        days=days,
        cyclic=False,
        trucks=fleet,
        network=city,
        horizon=96,
        step=48,
        options=SolveOptions(mip_gap=0.01, time_limit=limit / 2),
    ).verify()
    t_roll = time.perf_counter() - t0
    d = roll.details
    wgaps = ", ".join(f"{w['gap']:.1%}" for w in d["windows"])
    print(f"\n4. rolling horizon: {n1} stations x {days} days (not cyclic), 5 trucks, windows 96 kept 48")
    print(
        f"   {len(d['windows'])} windows of up to {d['rows']:,} rows, {d['cols']:,} cols, {d['nonzeros']:,} nonzeros; "
        f"{t_roll:.1f} s; cost {roll.objective:,.0f} CNY, monolithic LP bound {roll.bound:,.0f}, "
        f"gap vs that bound {roll.gap:.2%}; window gaps {wgaps}; {load()}"
    )

    # 5. LP bound with and without the valid inequalities (case 1)
    inst1 = _day_instance(st, dem, tariff, trucks=fleet, network=city)
    ipm = SolveOptions(lp_method="ipm")
    weak = formulation.build_model(dataclasses.replace(inst1, strengthen=False)).solve(ipm, relax=True).objective
    strong = formulation.build_model(inst1).solve(ipm, relax=True).objective
    print(f"\n5. LP bound of case 1: {weak:,.0f} CNY plain, {strong:,.0f} CNY strengthened (+{strong - weak:,.0f})")


if __name__ == "__main__":
    main()
