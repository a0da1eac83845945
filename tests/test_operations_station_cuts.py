"""Interval cuts: every cut holds at integer schedules, the cut bound never exceeds the optimum and
never falls below the plain LP."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_operations_window import choco, station  # tests/ is on sys.path

from swapnet.operations import OpsStation
from swapnet.operations.formulation import build_model
from swapnet.operations.heuristics import greedy_station
from swapnet.operations.station_cuts import add_cuts, cut_bound, cuts_apply
from swapnet.optim import SolveOptions, SolveStatus


def small(seed: int, periods: int) -> object:
    rng = np.random.default_rng(seed)
    chargers = int(rng.integers(1, 4))
    kw = float(rng.choice([7.0, 11.0, 22.0]))
    st0 = OpsStation(
        "S", 0, batteries=int(rng.integers(chargers, chargers + 4)), chargers=chargers, charger_kw=kw,
        grid_kw=kw * chargers * float(rng.choice([0.6, 1.0])) if chargers > 1 else kw, bays=1,
    )  # fmt: skip
    dem = rng.uniform(0.0, 1.2, (1, periods)) * (rng.random((1, periods)) < 0.7)
    return station([st0], dem)


def mip_optimum(one: object) -> tuple[float, np.ndarray]:
    m = build_model(one)  # type: ignore[arg-type]
    sol = m.solve(SolveOptions(mip_gap=0.0, threads=1, time_limit=60.0))
    assert sol.status == SolveStatus.OPTIMAL and sol.x is not None
    return sol.objective, sol.x


def rows_hold(one: object, cuts: object, x: np.ndarray) -> bool:
    lhs = np.bincount(cuts.rows, weights=cuts.vals * x[cuts.cols], minlength=cuts.n)  # type: ignore[attr-defined]
    return bool((lhs >= cuts.lo - 1e-6).all() and (lhs <= cuts.hi + 1e-6).all())  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 100_000), st.sampled_from([24, 48]))
def test_cut_bound_lies_between_the_lp_and_the_optimum(seed: int, periods: int) -> None:
    one = small(seed, periods)
    assert cuts_apply(one)  # type: ignore[arg-type]
    lp = build_model(one, relax=True)  # type: ignore[arg-type]
    plain = lp.solve(SolveOptions(), relax=True).objective
    bound, cuts = cut_bound(one, lp)  # type: ignore[arg-type]
    opt, x = mip_optimum(one)
    assert bound is not None
    assert plain - 1e-6 <= bound <= opt + 1e-6 * max(1.0, abs(opt))
    if cuts is not None:
        assert rows_hold(one, cuts, x)  # the optimum satisfies every cut found
        g = greedy_station(one)  # type: ignore[arg-type]
        assert g is not None
        m = build_model(one)  # type: ignore[arg-type]
        xg = np.zeros(m.n_cols)
        for name, val in g.values.items():
            xg[m.block(name).index] = val
        assert rows_hold(one, cuts, xg)  # so does the greedy's integer schedule


def test_cuts_close_most_of_the_gap_on_a_busy_choco_swap_station() -> None:
    """On a busy Choco-swap station the cuts close at least 60 % of the gap between the plain LP and the optimum."""
    one = choco(117.0)
    lp = build_model(one, relax=True)
    plain = lp.solve(SolveOptions(), relax=True).objective
    bound, cuts = cut_bound(one, lp)
    assert bound is not None and cuts is not None and cuts.n > 0
    m = build_model(one)
    add_cuts(m, cuts)
    sol = m.solve(SolveOptions(mip_gap=0.0, threads=1, time_limit=60.0))
    assert sol.status == SolveStatus.OPTIMAL
    assert plain < bound <= sol.objective + 1e-6
    assert sol.objective - bound <= 0.4 * (sol.objective - plain)
    plain_mip = build_model(one).solve(SolveOptions(mip_gap=0.0, threads=1, time_limit=60.0))
    assert plain_mip.objective == pytest.approx(sol.objective, rel=1e-7)  # the cuts cut off no optimum


def test_no_cuts_where_they_would_not_be_valid() -> None:
    one = choco(117.0)
    st0 = OpsStation("S", 0, batteries=4, chargers=2, charger_kw=11.0, grid_kw=22.0)
    flat = station([st0], np.full((1, 24), 0.4), cyclic=False)
    assert cuts_apply(one) and not cuts_apply(flat)
    bound, cuts = cut_bound(flat, build_model(flat, relax=True))
    assert cuts is None and bound is not None
