"""Tests of the window search of the large size_stations path: a window never worsens a plan, every
plan stays feasible, and a window holding every site reaches the exact optimum of an independent MILP."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_siting_sizing_lagrange import check_plan, exact_optimum, random_data  # tests/ is on sys.path

from swapnet.siting import _sizing_lns as lns
from swapnet.siting._sizing_lagrange import SizingData, evaluate, initial_multipliers, levels
from swapnet.siting._sizing_primal import Plan, build_plan


def start_plan(seed: int, p: int | None = None) -> tuple[SizingData, Plan]:
    d = random_data(seed, p)
    r = evaluate(d, levels(d), initial_multipliers(d))
    return d, build_plan(d, r.is_open, r.value, deadline=1e18)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000), st.sampled_from([None, 1, 2]))
def test_a_window_of_every_site_reaches_the_optimum(seed: int, p: int | None) -> None:
    d, plan = start_plan(seed, p)
    opt = exact_optimum(d)
    exact = lns.improve_window(d, plan, np.arange(d.m), seconds=30.0, gap=0.0)
    check_plan(d, exact, opt)
    assert exact.cost <= plan.cost
    assert exact.cost == pytest.approx(opt, rel=1e-6, abs=1e-6)
    near = lns.improve_window(d, plan, np.arange(d.m), seconds=30.0)  # stops at WINDOW_GAP
    check_plan(d, near, opt)
    assert near.cost <= plan.cost
    assert near.cost <= opt + lns.WINDOW_GAP * abs(near.cost) + 1e-6


def test_a_tolerance_overshoot_does_not_buy_one_more_pack() -> None:
    """Hypothesis found this case: the window MILP's load needed 8.00000012 packs on 8 packs (inside
    HiGHS's feasibility tolerance); re-rounding bought a ninth and the plan cost 210.75, not 208.17."""
    d, plan = start_plan(363, None)
    exact = lns.improve_window(d, plan, np.arange(d.m), seconds=30.0, gap=0.0)
    check_plan(d, exact, exact_optimum(d))
    assert exact.cost == pytest.approx(exact_optimum(d), rel=1e-6)


def test_the_window_gap_is_why_seed_6221_stopped_short() -> None:
    """Hypothesis found this case: with the default gap the window stops 0.074 % above the optimum
    (inside WINDOW_GAP); with gap 0 it reaches it."""
    d, plan = start_plan(6221, None)
    opt = exact_optimum(d)
    near = lns.improve_window(d, plan, np.arange(d.m), seconds=30.0)
    exact = lns.improve_window(d, plan, np.arange(d.m), seconds=30.0, gap=0.0)
    assert opt <= near.cost <= opt * (1 + lns.WINDOW_GAP)
    assert exact.cost == pytest.approx(opt, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000), st.integers(0, 3))
def test_a_partial_window_keeps_the_plan_feasible_and_never_worse(seed: int, first: int) -> None:
    d, plan = start_plan(seed)
    opt = exact_optimum(d)
    sites = np.arange(d.m)[first % d.m :: 2]
    new = lns.improve_window(d, plan, sites, seconds=30.0)
    check_plan(d, new, opt)
    assert new.cost <= plan.cost
    searched, _, _ = lns.search(d, new, time.perf_counter() + 2.0, size=2)
    check_plan(d, searched, opt)
    assert searched.cost <= new.cost
    hint = np.zeros(d.m, dtype=bool)
    hint[first % d.m] = True
    core = lns.improve_core(d, searched, hint, seconds=30.0)
    check_plan(d, core, opt)
    assert core.cost <= searched.cost
    assert not (core.is_open & ~(searched.is_open | hint)).any()  # only the plan's and the hint's sites


def test_windows_are_breadth_first_balls() -> None:
    d = random_data(7)
    g = lns.site_graph(d)
    assert g.shape == (d.m, d.m) and (g.diagonal() == 0).all()
    share = np.zeros((d.m, d.m), dtype=bool)  # sites sharing a node, brute force
    for i in range(d.n):
        js = d.jj[d.ii == i]
        share[np.ix_(js, js)] = True
    np.fill_diagonal(share, False)
    np.testing.assert_array_equal(g.toarray() > 0, share)
    w = lns.window(g, 0, 2)
    assert w[0] == 0 and len(set(w.tolist())) == w.size <= 2
    if w.size == 2:
        assert share[0, w[1]]
