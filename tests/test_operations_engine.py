"""The operations engine: heuristics always give a verified plan, bounds are valid, time-outs never raise."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import BatteryPack, InfeasibleError, RoadNetwork, TouTariff
from swapnet.operations import OpsStation, TruckFleet, plan_operations
from swapnet.operations.bounds import BackgroundLP, floor_bound, lp_bound, pooled_bound
from swapnet.operations.decompose import MIN_TASK_MIP_S, solve_station_by, solve_stations, workers_for
from swapnet.operations.engine import _solution
from swapnet.operations.formulation import build_model
from swapnet.operations.heuristics import (
    feasible,
    idle_start,
    objective_of,
    solve_station,
    station_options,
    station_starts,
)
from swapnet.operations.instance import _instance, _pipeline, _station_slice
from swapnet.operations.plan import _result
from swapnet.optim import SolveOptions, SolveStatus

GD = TouTariff.guangdong()
EXACT = SolveOptions(mip_gap=0.0, time_limit=60)
NET = RoadNetwork.from_edges([("a", "b", 4.0), ("b", "c", 6.0), ("a", "c", 9.0)])


def make(seed: int, n: int, periods: int) -> tuple[list[OpsStation], np.ndarray]:
    rng = np.random.default_rng(seed)
    sts = []
    for i in range(n):
        b = int(rng.integers(1, 8))
        c = int(rng.integers(0, b + 1))
        kw = float(rng.choice([20.0, 40.0, 60.0]))
        grid = kw * max(c, 1) * float(rng.choice([0.5, 1.0]))
        grid = max(grid, kw)
        ini = int(rng.integers(0, b + 1))
        sts.append(OpsStation(f"S{i}", "abc"[i % 3], b, c, kw, grid, bays=1, swap_minutes=5.0, initial_charged=ini))
    dem = rng.gamma(1.0, 0.4, (n, periods)) * rng.integers(0, 2, (n, periods))
    return sts, dem


def inst_of(sts: list[OpsStation], dem: np.ndarray, *, cyclic: bool, trucks: TruckFleet | None = None) -> object:
    return _instance(
        sts, dem, GD, periods=dem.shape[1], days=1, pack=BatteryPack.catl_25_lfp(), trucks=trucks, hubs=(),
        network=NET if trucks else None, cyclic=cyclic, start_soc=0.2, lost_penalty=200.0, degradation=0.0,
        peak_limit=None, demand_charge=0.0,
    )  # fmt: skip


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 3), st.booleans(), st.booleans())
def test_greedy_and_idle_plans_are_feasible_and_verify(seed: int, n: int, cyclic: bool, trucks: bool) -> None:
    sts, dem = make(seed, n, 24)
    fleet = TruckFleet(1, 3, cost_per_km=0.5) if trucks else None
    inst = inst_of(sts, dem, cyclic=cyclic, trucks=fleet)
    lm = build_model(inst)  # type: ignore[arg-type]
    idle = idle_start(inst, lm)  # type: ignore[arg-type]
    assert idle is not None and feasible(lm, idle)  # doing nothing is always possible with losses allowed
    res = solve_stations(inst, None, SolveOptions(), seconds=0.0, gap=0.01)  # type: ignore[arg-type]
    x = station_starts(inst, lm, res)  # type: ignore[arg-type]
    assert feasible(lm, x)
    obj = objective_of(lm, x)
    plan = _result(inst, _solution(lm, x, obj, -np.inf, SolveStatus.FEASIBLE, 0.0), lm, 0.0, 0.0, False)  # type: ignore[arg-type]
    plan.verify()
    # packs are conserved at every station in every period (idle trucks)
    sch = plan.schedule
    held = (sch["charged"] + sch["depleted"] + sch["charging"]).to_numpy().reshape(n, 24)
    if cyclic:
        assert np.allclose(held, np.array([s.batteries for s in sts])[:, None], atol=1e-6)
    assert obj <= objective_of(lm, idle) + 1e-6  # the greedy never does worse than doing nothing


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**31 - 1), st.booleans())
def test_cheap_bounds_never_exceed_the_optimum(seed: int, cyclic: bool) -> None:
    sts, dem = make(seed, 2, 24)
    fleet = TruckFleet(1, 3, cost_per_km=0.5)
    opt = plan_operations(sts, dem, GD, periods=24, cyclic=cyclic, trucks=fleet, network=NET, options=EXACT)
    inst = inst_of(sts, dem, cyclic=cyclic, trucks=fleet)
    assert floor_bound(inst) <= opt.objective + 1e-6  # type: ignore[arg-type]
    assert pooled_bound(inst, SolveOptions(), 5.0) <= opt.objective + 1e-6  # type: ignore[arg-type]
    assert opt.bound <= opt.objective + 1e-6


def test_pooled_bound_is_tight_for_one_station() -> None:
    sts, dem = make(3, 1, 24)
    opt = plan_operations(sts, dem, GD, periods=24, options=EXACT)
    inst = inst_of(sts, dem, cyclic=True)
    assert pooled_bound(inst, EXACT, 5.0) == pytest.approx(opt.objective, rel=1e-6)  # type: ignore[arg-type]


def test_without_trucks_stations_are_solved_one_by_one_with_the_same_optimum() -> None:
    sts, dem = make(5, 3, 24)
    plan = plan_operations(sts, dem, GD, periods=24, options=EXACT).verify()
    assert plan.details["decomposition"].startswith("stations")
    alone = sum(
        plan_operations([s], dem[i : i + 1], GD, periods=24, options=EXACT).objective for i, s in enumerate(sts)
    )
    assert plan.objective == pytest.approx(alone, rel=1e-6)
    assert plan.status == SolveStatus.OPTIMAL and plan.gap <= 1e-6
    trucks = plan_operations(sts, dem, GD, periods=24, trucks=TruckFleet(1, 3), network=NET, options=EXACT)
    assert trucks.details["decomposition"] == "monolithic"
    assert trucks.objective <= plan.objective + 1e-6  # trucks can only help


def test_a_short_time_limit_returns_a_verified_plan_with_a_finite_bound() -> None:
    rng = np.random.default_rng(0)
    sts = [OpsStation(f"S{i}", "abc"[i % 3], 30, 30, 40.0, 600.0, bays=1, swap_minutes=100 / 60) for i in range(6)]
    dem = rng.gamma(8.0, 117 / 8, (6, 1)) * np.full((1, 96), 1 / 96) * rng.uniform(0.5, 1.5, (6, 96))
    plan = plan_operations(
        sts, dem, GD, periods=96, trucks=TruckFleet(2, 20, every=4), network=NET,
        options=SolveOptions(mip_gap=1e-6, time_limit=1.0),
    ).verify()  # fmt: skip
    assert plan.status in (SolveStatus.TIME_LIMIT, SolveStatus.OPTIMAL)
    assert np.isfinite(plan.bound) and np.isfinite(plan.gap) and plan.bound <= plan.objective + 1e-6
    assert plan.details["bounds"]["pooled"] <= plan.objective + 1e-6


def test_no_loss_infeasibility_is_proven_and_named_without_trucks() -> None:
    dem = np.zeros((2, 24))
    dem[1, 3] = 3.0  # three swaps at B in hour 3 with two packs
    sts = [OpsStation("A", None, 2, 2, 50.0, 100.0), OpsStation("B", None, 2, 2, 50.0, 100.0)]
    with pytest.raises(InfeasibleError, match=r"station 'B'.*period 3"):
        plan_operations(sts, dem, GD, periods=24, allow_lost=False, options=EXACT)


def test_pipeline_of_greedy_respects_chargers_and_grid() -> None:
    sts, dem = make(11, 2, 96)
    inst = inst_of(sts, dem * 3, cyclic=True)
    res = solve_stations(inst, None, SolveOptions(), seconds=0.0, gap=0.01)  # type: ignore[arg-type]
    n = np.stack([r.values["start"][0] for r in res])
    charging, kw = _pipeline(inst, n)  # type: ignore[arg-type]
    assert (charging <= np.array([s.chargers for s in sts])[:, None] + 1e-9).all()
    assert (kw <= np.array([s.grid_kw for s in sts])[:, None] + 1e-6).all()


def test_the_solve_stops_early_once_the_start_and_a_bound_agree_to_the_gap() -> None:
    rng = np.random.default_rng(0)
    sts = [OpsStation(f"S{i}", "abc"[i % 3], 30, 30, 40.0, 600.0, bays=1, swap_minutes=100 / 60) for i in range(4)]
    dem = rng.gamma(8.0, 117 / 8, (4, 1)) * np.full((1, 96), 1 / 96) * rng.uniform(0.5, 1.5, (4, 96))
    kw = {"periods": 96, "trucks": TruckFleet(2, 20, every=4), "network": NET}
    loose = plan_operations(sts, dem, GD, **kw, options=SolveOptions(mip_gap=0.5, time_limit=30)).verify()  # type: ignore[arg-type]
    # the greedy start and the pooled bound are within 50 %: no MIP (a background LP may or may not have
    # reported by then, depending on the machine's load, so its bound is not asserted either way)
    assert loose.details["stopped_after"] == "greedy"
    assert loose.status == SolveStatus.OPTIMAL and loose.gap <= 0.5
    assert loose.bound <= loose.objective + 1e-6
    tight = plan_operations(sts, dem, GD, **kw, options=SolveOptions(mip_gap=1e-9, time_limit=3)).verify()  # type: ignore[arg-type]
    assert tight.details["stopped_after"] == "full MIP"  # not provable from the start: every phase runs
    assert tight.objective <= loose.objective + 1e-6
    if tight.status == SolveStatus.OPTIMAL:  # "optimal" only where the bound agrees to the gap
        assert tight.gap <= 1e-9 + 1e-12
    else:
        assert tight.gap > 1e-9


def test_pool_task_share_follows_the_common_deadline() -> None:
    sts, dem = make(3, 1, 24)
    one = _station_slice(inst_of(sts, dem, cyclic=True), 0)  # type: ignore[arg-type]
    opts = station_options(SolveOptions(), None, 0.0)
    greedy = solve_station((one, None, None))
    # a deadline already past: no time for a MIP, the greedy schedule as it is (status and all)
    late = solve_station_by((one, None, opts, time.monotonic() - 1.0, 0, 1, 2))
    assert late.objective == pytest.approx(greedy.objective) and late.status == greedy.status
    # time to spare: the station's MIP runs from the greedy schedule and solves it
    ample = solve_station_by((one, None, opts, time.monotonic() + 20 * MIN_TASK_MIP_S + 5.0, 0, 1, 2))
    exact = solve_station((one, None, station_options(SolveOptions(), None, 0.0)))
    assert ample.status == SolveStatus.OPTIMAL
    assert ample.objective == pytest.approx(exact.objective, rel=1e-6) and ample.objective <= greedy.objective + 1e-6


def test_pool_only_when_it_pays() -> None:
    if (os.cpu_count() or 1) < 2:
        pytest.skip("a pool needs two cores")
    assert workers_for(200, 30.0) >= 2  # 200 stations in 30 s: two cores beat one even after start-up
    assert workers_for(200, 5.0) == 1  # start-up would eat the gain
    assert workers_for(8, 30.0) == 1  # few stations: one process
    assert workers_for(2000, 10.0) == 1  # each station's MIP would be too short to help


def test_background_lp_result_is_read_once_and_kept() -> None:
    # the engine may ask twice (after the stations' MIPs and before the full MIP); the second answer
    # must be the first one, not a read of the closed pipe (which lost the LP bound in earlier runs)
    sts, dem = make(5, 3, 24)
    inst = inst_of(sts, dem, cyclic=True, trucks=TruckFleet(1, 3, cost_per_km=0.5))
    bg = BackgroundLP.start(inst, SolveOptions(), 30.0)  # type: ignore[arg-type]
    if bg is None:
        pytest.skip("no worker process can start here")
    first = bg.result(30.0)
    here = lp_bound(build_model(inst), SolveOptions(), 30.0)  # type: ignore[arg-type]
    mip = build_model(inst).solve(SolveOptions(time_limit=30.0, threads=1))  # type: ignore[arg-type]
    # the worker's LP carries the interval cuts: at least the plain LP, never above a feasible plan
    assert first is not None and here is not None and mip.x is not None
    assert here * (1 - 1e-6) <= first <= mip.objective * (1 + 1e-6)
    assert bg.ready() and bg.result(0.0) == first and "optimal" in bg.note
