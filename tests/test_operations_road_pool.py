"""The road-pool bound with trucks and the greedy's repair of the charges it leaves out."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_operations_engine import EXACT, GD, NET, inst_of, make

from swapnet.errors import InvalidInputError
from swapnet.operations import OpsStation, TruckFleet, heuristics, plan_operations
from swapnet.operations.bounds import lp_bound
from swapnet.operations.formulation import build_model
from swapnet.operations.instance import _station_slice
from swapnet.operations.road_pool import road_pool_bound, road_pool_model
from swapnet.optim import LinearModel, SolveOptions

NEAR = SolveOptions(mip_gap=1e-4, time_limit=15)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(st.integers(0, 2**31 - 1), st.booleans(), st.sampled_from([0.5, 5.0]), st.sampled_from([1, 2]))
def test_road_pool_bound_never_exceeds_the_optimum(seed: int, cyclic: bool, per_km: float, every: int) -> None:
    sts, dem = make(seed, 2, 24)
    fleet = TruckFleet(1, 3, cost_per_km=per_km, cost_per_trip=5.0, every=every)
    # a plan near the optimum: its objective is at least the optimum, so the checks below stay exact
    # even where the solve stops at its limit (some fresh-start instances do)
    opt = plan_operations(sts, dem, GD, periods=24, cyclic=cyclic, trucks=fleet, network=NET, options=NEAR)
    inst = inst_of(sts, dem, cyclic=cyclic, trucks=fleet)
    bound, note = road_pool_bound(inst, SolveOptions(), 10.0)  # type: ignore[arg-type]
    assert np.isfinite(bound), note
    assert bound <= opt.objective + 1e-6 * max(1.0, opt.objective)
    # its MIP (integer starts) is a relaxation too, and at least its LP
    mip = road_pool_model(inst, relax=False).solve(NEAR)  # type: ignore[arg-type,union-attr]
    assert bound - 1e-6 * max(1.0, bound) <= mip.objective
    assert mip.report.bound <= opt.objective + 1e-6 * max(1.0, opt.objective)


def _two_sites(trip: float) -> tuple[list[OpsStation], np.ndarray, TruckFleet]:
    """A charging site with no demand beside a busy site with no chargers: only trucks can serve."""
    sts = [
        OpsStation("depot", "a", 8, 4, 40.0, 160.0, bays=1, swap_minutes=5.0),
        OpsStation("shop", "b", 4, 0, 40.0, 40.0, bays=2, swap_minutes=5.0),
    ]
    dem = np.zeros((2, 24))
    dem[1, 6:20] = 1.0
    return sts, dem, TruckFleet(1, 4, cost_per_km=0.0, cost_per_trip=trip)


def test_road_pool_bound_charges_the_trucks_it_cannot_avoid() -> None:
    bounds = []
    for trip in (0.0, 10.0, 100.0, 1e5):
        sts, dem, fleet = _two_sites(trip)
        opt = plan_operations(sts, dem, GD, periods=24, trucks=fleet, network=NET, options=EXACT)
        inst = inst_of(sts, dem, cyclic=True, trucks=fleet)
        bound, _ = road_pool_bound(inst, SolveOptions(), 10.0)  # type: ignore[arg-type]
        full_lp = lp_bound(build_model(inst), SolveOptions(), 30.0)  # type: ignore[arg-type]
        assert full_lp is not None
        # a relaxation of the MIP and of its LP alike (the mapping of trips to the pool is linear)
        assert bound <= opt.objective + 1e-6 * opt.objective
        assert bound <= full_lp + 1e-5 * full_lp
        if trip < 1e4:
            assert float(dem.sum()) - opt.lost_swaps > 0  # trucks bring the shop its packs
        bounds.append(bound)
    # every pack the shop swaps came by truck: dearer trips raise the bound
    assert bounds[0] < bounds[1] < bounds[2] < bounds[3]
    # trucks dearer than the swaps they save: nothing moves, every swap is lost
    assert bounds[3] == pytest.approx(200.0 * float(dem.sum()), rel=1e-6)


def test_no_trucks_no_road_pool() -> None:
    sts, dem = make(1, 2, 24)
    inst = inst_of(sts, dem, cyclic=True)
    assert road_pool_model(inst) is None  # type: ignore[arg-type]
    assert road_pool_bound(inst, SolveOptions(), 1.0)[0] == -np.inf  # type: ignore[arg-type]


def test_add_entries_extends_existing_rows() -> None:
    lm = LinearModel()
    x = lm.add_vars("x", 2, ub=5.0, cost=-1.0)
    lm.add_constraints("cap", rows=[0], cols=[x.start], vals=1.0, hi=3.0, n=1)
    y = lm.add_vars("y", 1, ub=5.0, cost=-1.0)
    lm.add_entries("cap", rows=[0, 0], cols=[x.start + 1, y.start], vals=[1.0, 1.0])
    assert lm.solve().objective == pytest.approx(-3.0)  # x0 + x1 + y <= 3
    with pytest.raises(InvalidInputError, match="no constraint family"):
        lm.add_entries("nope", rows=[0], cols=[0], vals=1.0)
    with pytest.raises(InvalidInputError, match="row index"):
        lm.add_entries("cap", rows=[1], cols=[0], vals=1.0)


def _busy_station(seed: int) -> object:
    rng = np.random.default_rng(seed)
    b = int(rng.integers(3, 10))
    c = int(rng.integers(1, b))
    st_ = [OpsStation("S0", "a", b, c, 40.0, 40.0 * c, bays=2, swap_minutes=5.0)]
    dem = rng.gamma(2.0, 1.0, (1, 96)) * (rng.random((1, 96)) < 0.6)
    return _station_slice(inst_of(st_, dem, cyclic=True), 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [0, 1, 4, 5])
def test_the_greedy_adds_the_charges_it_left_out(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    one = _busy_station(seed)
    with_repair = heuristics.greedy_station(one)  # type: ignore[arg-type]
    monkeypatch.setattr(heuristics, "_one_more_charge", lambda one, best, lb, lower: best)
    without = heuristics.greedy_station(one)  # type: ignore[arg-type]
    assert with_repair is not None and without is not None
    # busy days where the first-in-first-out list scheduling drops charges: the repair serves more swaps
    assert with_repair.values["served"].sum() >= without.values["served"].sum() + 1.0 - 1e-6
    assert with_repair.objective < without.objective
    assert with_repair.bound <= with_repair.objective + 1e-9
    lm = build_model(one)  # type: ignore[arg-type]
    x = np.zeros(lm.n_cols)
    for name, val in with_repair.values.items():
        x[lm.block(name).index] = val
    assert heuristics.feasible(lm, x)  # integer starts, feasible in the station's own model
    assert np.allclose(with_repair.values["start"], np.round(with_repair.values["start"]))
