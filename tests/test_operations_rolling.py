"""Rolling-horizon operations: stitched plans verify, cost no better than the monolithic optimum (equal
when one window covers the horizon), exact carry-over of packs on charge and trucks on the road."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import BatteryPack, InvalidInputError, RoadNetwork, TouTariff
from swapnet.operations import OpsStation, TruckFleet, plan_operations
from swapnet.optim import SolveOptions, SolveStatus

EXACT = SolveOptions(mip_gap=0.0, time_limit=60)
GD = TouTariff.guangdong()
NET = RoadNetwork.from_edges([(0, 1, 3.0), (1, 2, 4.0)])


def stations(rng: np.random.Generator, n: int = 3) -> list[OpsStation]:
    return [
        OpsStation(
            f"S{i}",
            i,
            batteries=int(rng.integers(2, 7)),
            chargers=int(rng.integers(0, 4)),
            charger_kw=float(rng.choice([30.0, 50.0])),
            grid_kw=float(rng.choice([60.0, 1000.0])),
            initial_charged=int(rng.integers(0, 3)),
        )
        for i in range(n)
    ]


def on_road(plan: object, T: int) -> np.ndarray:
    out = np.zeros(T)
    for row in plan.trips.itertuples(index=False):  # type: ignore[attr-defined]
        for a, b, load in (
            (row.period, row.arrival, row.charged + row.depleted),
            (row.arrival, row[4], row.charged_back + row.depleted_back),
        ):
            out[a:b] += load
    return out


@pytest.mark.parametrize("trucks", [False, True])
def test_one_window_over_the_whole_horizon_is_the_monolithic_plan(trucks: bool) -> None:
    rng = np.random.default_rng(7)
    sts = stations(rng)
    dem = rng.poisson(0.5, (3, 48)).astype(float)
    kw = dict(periods=24, days=2, cyclic=False, network=NET, trucks=TruckFleet(1, 3) if trucks else None)
    mono = plan_operations(sts, dem, GD, options=EXACT, **kw).verify()  # type: ignore[arg-type]
    one = plan_operations(sts, dem, GD, horizon=48, options=EXACT, **kw).verify()  # type: ignore[arg-type]
    assert one.objective == pytest.approx(mono.objective, rel=1e-9, abs=1e-6)
    assert len(one.details["windows"]) == 1
    longer = plan_operations(sts, dem, GD, horizon=100, step=7, options=EXACT, **kw).verify()  # type: ignore[arg-type]
    assert longer.objective == pytest.approx(mono.objective, rel=1e-9, abs=1e-6)


def test_rolling_plan_verifies_and_costs_at_least_the_optimum() -> None:
    rng = np.random.default_rng(11)
    sts = stations(rng)
    dem = rng.poisson(0.6, (3, 48)).astype(float)
    kw = dict(periods=24, days=2, cyclic=False, network=NET, trucks=TruckFleet(1, 3, cost_per_km=0.5))
    fast = SolveOptions(mip_gap=1e-3, time_limit=5)
    mono = plan_operations(sts, dem, GD, options=fast, **kw).verify()  # type: ignore[arg-type]
    roll = plan_operations(sts, dem, GD, horizon=12, step=6, options=fast, **kw).verify()  # type: ignore[arg-type]
    assert roll.objective >= mono.bound - 1e-6  # no better than the proven monolithic bound
    # the bound is at least the monolithic LP relaxation (by interior point, without crossover: less a
    # relative 1e-6); the gap is measured against it
    lp = plan_operations(sts, dem, GD, relax=True, **kw)  # type: ignore[arg-type]
    assert lp.objective * (1 - 1e-5) <= roll.bound <= roll.objective + 1e-6
    assert roll.details["bounds"]["lp"] == pytest.approx(lp.objective, rel=1e-5)
    assert roll.gap == pytest.approx((roll.objective - roll.bound) / roll.objective, rel=1e-7)
    wins = roll.details["windows"]
    assert [w["start"] for w in wins] == [0, 6, 12, 18, 24, 30, 36]
    assert wins[-1]["periods"] == 12 and wins[-1]["kept"] == 12
    assert "monolithic" in roll.details["bound"]


def test_charge_in_progress_crosses_the_window_boundary() -> None:
    # 15-minute periods on a 40 kW slot: a charge takes 5 periods; windows keep 3 periods, so charges
    # started late in a window finish (and draw their last 28.6 kW) inside the next one
    s = OpsStation("S", None, batteries=2, chargers=1, charger_kw=40.0, grid_kw=40.0, initial_charged=1)
    dem = np.zeros((1, 96))
    dem[0, [2, 30, 60]] = 1.0
    mono = plan_operations([s], dem, GD, periods=96, cyclic=False, options=EXACT).verify()
    roll = plan_operations([s], dem, GD, periods=96, cyclic=False, horizon=24, step=3, options=EXACT).verify()
    assert roll.lost_swaps == pytest.approx(mono.lost_swaps, abs=1e-6)
    assert roll.objective >= mono.objective - 1e-6
    sch = roll.schedule
    assert sch["charging"].max() <= 1.0 + 1e-9  # the carried-over charge still holds the only charger
    # every charge (5 periods) crosses a boundary of the kept 3-period blocks
    assert sch["starts"].sum() >= 2


def test_demand_charge_sees_the_peak_already_reached() -> None:
    rng = np.random.default_rng(5)
    sts = stations(rng, 2)
    dem = rng.poisson(0.7, (2, 48)).astype(float)
    kw = dict(periods=24, days=2, cyclic=False, demand_charge_cny_per_kw=2.0)
    mono = plan_operations(sts, dem, GD, options=EXACT, **kw).verify()  # type: ignore[arg-type]
    roll = plan_operations(sts, dem, GD, horizon=16, step=8, options=EXACT, **kw).verify()  # type: ignore[arg-type]
    assert roll.objective >= mono.objective - 1e-6
    assert roll.costs["demand_charge"] == pytest.approx(2.0 * roll.peak_kw)


def test_rolling_bad_input() -> None:
    s = [OpsStation("S", None, 2, 1, 50.0, 100.0)]
    dem = np.zeros((1, 24))
    with pytest.raises(InvalidInputError, match="cyclic"):
        plan_operations(s, dem, GD, periods=24, horizon=6)
    with pytest.raises(InvalidInputError, match="horizon"):
        plan_operations(s, dem, GD, periods=24, cyclic=False, horizon=0)
    with pytest.raises(InvalidInputError, match="step"):
        plan_operations(s, dem, GD, periods=24, cyclic=False, horizon=6, step=7)


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**31 - 1), st.booleans(), st.integers(6, 16), st.floats(0.3, 1.0))
def test_batteries_conserved_across_window_boundaries(seed: int, trucks: bool, horizon: int, share: float) -> None:
    rng = np.random.default_rng(seed)
    sts = stations(rng)
    T = 48
    dem = rng.poisson(0.4, (3, T)).astype(float)
    plan = plan_operations(
        sts,
        dem,
        GD,
        periods=24,
        days=2,
        cyclic=False,
        trucks=TruckFleet(1, 3, cost_per_km=0.5) if trucks else None,
        network=NET,
        horizon=horizon,
        step=max(1, round(share * horizon)),
        options=SolveOptions(time_limit=2, mip_gap=0.05),
    ).verify()
    sch = plan.schedule
    held = sch.groupby("period")[["charged", "depleted", "charging"]].sum().sum(axis=1).to_numpy()
    # every period, in particular at each window boundary: packs at stations + on trucks = the fleet
    assert np.allclose(held + on_road(plan, T), sum(s.batteries for s in sts), atol=1e-6)
    # each station's inventory continues across boundaries: charged/depleted balances (verify) and
    # the packs at the end of each kept block are what the next window started from
    assert plan.costs["total"] >= plan.bound - 1e-6


def test_two_windows_come_within_a_few_percent_of_the_monolithic_optimum() -> None:
    rng = np.random.default_rng(3)
    sts = [OpsStation(f"S{i}", i, 6, 2, 40.0, 1000.0, initial_charged=int(rng.integers(0, 4))) for i in range(2)]
    dem = np.zeros((2, 24))
    dem[0] = rng.poisson(1.2, 24)  # a busy station beside a quiet one: trucks pay
    dem[1] = rng.poisson(0.1, 24)
    kw = dict(periods=12, days=2, cyclic=False, network=NET, trucks=TruckFleet(1, 4, cost_per_km=0.2))
    mono = plan_operations(sts, dem, GD, options=EXACT, **kw).verify()  # type: ignore[arg-type]
    assert mono.status == SolveStatus.OPTIMAL
    for horizon, step, windows in ((16, 12, [(0, 16, 12), (12, 12, 12)]), (12, 6, None)):
        roll = plan_operations(sts, dem, GD, horizon=horizon, step=step, options=EXACT, **kw).verify()  # type: ignore[arg-type]
        wins = roll.details["windows"]
        if windows is not None:
            assert [(w["start"], w["periods"], w["kept"]) for w in wins] == windows
        assert len(roll.trips) > 0  # the trucks move packs
        assert all(w["heuristic"] != "idle" for w in wins)  # later windows start from real schedules too
        assert mono.objective - 1e-6 <= roll.objective <= 1.03 * mono.objective
        assert roll.bound <= mono.objective + 1e-6


def test_a_station_alone_keeps_the_packs_trucks_left_it_in_a_later_window() -> None:
    # a later rolling window: a truck took two packs from station 0 for good; alone (the heuristics'
    # subproblem) the station ends with what it holds, not with its racks' count
    from swapnet.operations.formulation import build_model
    from swapnet.operations.heuristics import idle_start, solve_station
    from swapnet.operations.instance import _station_slice

    sts = [OpsStation("A", 0, 6, 2, 40.0, 1000.0, initial_charged=2), OpsStation("B", 1, 6, 2, 40.0, 1000.0)]
    dem = np.full((2, 12), 0.5)
    import dataclasses

    from swapnet.operations.instance import _instance

    inst = _instance(
        sts, dem, GD, periods=12, days=1, pack=BatteryPack.catl_25_lfp(), trucks=None, hubs=(), network=None,
        cyclic=False, start_soc=0.2, lost_penalty=200.0, degradation=0.0, peak_limit=None, demand_charge=0.0,
    )  # fmt: skip
    one = dataclasses.replace(_station_slice(inst, 0), F0=np.array([1.0]), E0=np.array([3.0]))  # 4 of 6 racks
    lm = build_model(one)
    assert idle_start(one, lm) is not None  # doing nothing keeps 4 packs: feasible
    res = solve_station((one, None, SolveOptions(time_limit=5)))
    assert np.isfinite(res.objective) and res.status == SolveStatus.OPTIMAL


def test_the_greedy_leaves_chargers_to_charges_already_running() -> None:
    # a later window: both chargers hold packs started in the last period; the greedy must wait for them
    import dataclasses

    from swapnet.operations.heuristics import greedy_station
    from swapnet.operations.instance import _instance, _pipeline, _station_slice

    sts = [OpsStation("A", 0, 8, 2, 40.0, 1000.0, initial_charged=1)]
    dem = np.full((1, 24), 0.6)
    inst = _instance(
        sts, dem, GD, periods=24, days=1, pack=BatteryPack.catl_25_lfp(), trucks=None, hubs=(), network=None,
        cyclic=False, start_soc=0.2, lost_penalty=200.0, degradation=0.0, peak_limit=None, demand_charge=0.0,
    )  # fmt: skip
    Lmax = inst.prof.shape[1]
    hist = np.zeros((1, Lmax))
    hist[0, -1] = 2.0  # two charges started in period -1
    one = dataclasses.replace(_station_slice(inst, 0), F0=np.array([1.0]), E0=np.array([5.0]), hist=hist)
    res = greedy_station(one)
    assert res is not None and np.isfinite(res.objective)
    n = res.values["start"]
    running = np.concatenate([hist, n], axis=1)
    charging, _kw = _pipeline(dataclasses.replace(one, T=Lmax + 24), running)
    assert (charging <= 2 + 1e-9).all()  # never more packs on charge than chargers
