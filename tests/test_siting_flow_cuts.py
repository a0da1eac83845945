"""Tests of the FRLM Benders cuts (core-point selection) and of the master MILP's early stop and plan hooks."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from _flow_cases import line_with_chords

from swapnet.optim import LinearModel, SolveOptions, SolveStatus
from swapnet.siting.flow import _benders, _instance, _reduce


def random_instance(seed: int) -> tuple[_instance._Instance, _reduce._Cover, int]:
    """A random road network (a line plus chords) with random flows, range 14, p = 3."""
    rng = np.random.default_rng(seed)
    net, flows = line_with_chords(rng, 12, 8, (2, 12), 40, volumes=(1, 20))
    p = 3
    fi = _instance._prepare(net, flows, p, None, None, None, None, round_trip=True)
    return fi, _reduce._reduce(fi, _instance._frlm_intervals(fi, 14.0)), p


def lp_pool(seed: int) -> tuple[Any, Any, int, Any, Any]:
    """A random instance, its greedy plan and the cut pool of its Benders LP."""
    fi, cov, p = random_instance(seed)
    greedy = _reduce._greedy(cov, fi)
    lp = _benders._lp_bound(cov, fi, SolveOptions(), greedy.astype(np.float64), None)
    assert lp.pool is not None
    return fi, cov, p, greedy, lp.pool


@pytest.mark.parametrize("seed", range(6))
def test_core_point_cuts_never_cut_off_a_plan(seed: int) -> None:
    # cuts made with a core point at many integer plans: every p-subset keeps theta >= its true value
    fi, cov, p, _, pool = lp_pool(seed)
    assert pool.core is not None
    m = fi.n_cands
    plans = []
    for combo in itertools.combinations(range(m), p):
        x = np.zeros(m)
        x[list(combo)] = 1.0
        plans.append(x)
    rng = np.random.default_rng(seed)
    for i in rng.permutation(len(plans))[:25]:
        pool.add_violated(plans[i], pool.z_of(plans[i]), pool.cap + 1.0)  # theta above any cut: keep all
    for x in plans:
        true = float(fi.volumes[_reduce._flow_covered(cov, x > 0.5)].sum())
        assert pool.theta_at(x).sum() >= true - 1e-6


@pytest.mark.parametrize("seed", range(6))
def test_core_point_cut_is_exact_at_its_plan(seed: int) -> None:
    # a cut made at an integer plan gives exactly the plan's value there
    fi, cov, p, _, pool = lp_pool(seed)
    assert pool.core is not None
    rng = np.random.default_rng(seed)
    x = np.zeros(fi.n_cands)
    x[rng.choice(fi.n_cands, p, replace=False)] = 1.0
    phi, W = pool.cuts_at(x, pool.core)
    true = float(fi.volumes[_reduce._flow_covered(cov, x > 0.5)].sum())
    assert phi.sum() == pytest.approx(true)
    assert (W @ pool.z_of(x)).sum() == pytest.approx(true)
    assert pool.point(x)[fi.n_cands + cov.n_sets :].sum() >= true - 1e-6


def knapsack(seed: int) -> LinearModel:
    rng = np.random.default_rng(seed)
    n = 40
    w = rng.integers(5, 40, n).astype(float)
    lm = LinearModel("knapsack", sense="max")
    x = lm.add_vars("x", n, binary=True, cost=rng.integers(5, 40, n).astype(float))
    lm.add_constraints("cap", rows=np.zeros(n, np.int64), cols=x.index, vals=w, hi=w.sum() / 3, n=1)
    return lm


@pytest.mark.parametrize("seed", range(4))
def test_bound_target_above_the_optimum_is_proven(seed: int) -> None:
    # nothing beats a target above the optimum: the run proves it, with the target as its bound
    lm = knapsack(seed)
    exact = lm.solve(SolveOptions(mip_gap=0.0))
    assert exact.status == SolveStatus.OPTIMAL
    target = exact.objective * 1.05
    sol = lm.solve(SolveOptions(mip_gap=0.0), bound_target=target)
    assert sol.report.bound == pytest.approx(target)
    if sol.status.has_solution:
        assert sol.objective <= exact.objective + 1e-6
        assert sol.status != SolveStatus.OPTIMAL  # the target does not prove this solution optimal


@pytest.mark.parametrize("seed", range(4))
def test_bound_target_below_the_optimum_still_finds_it(seed: int) -> None:
    # solutions beat a target below the optimum: the run goes on to the optimum and reports every improvement
    lm = knapsack(seed)
    exact = lm.solve(SolveOptions(mip_gap=0.0))
    target = exact.objective * 0.9
    found: list[np.ndarray] = []  # type: ignore[type-arg]
    sol = lm.solve(SolveOptions(mip_gap=0.0), bound_target=target, on_solution=found.append)
    assert sol.status == SolveStatus.OPTIMAL
    assert sol.objective == pytest.approx(exact.objective)
    assert sol.report.bound == pytest.approx(exact.objective)
    assert found, "no improving solution was reported"
    cost, _, _, _, A, _, hi = lm.arrays()
    for v in found:  # every reported solution is a feasible column vector
        assert v.shape == (lm.n_cols,)
        assert (A @ v <= hi + 1e-6).all()
        assert np.allclose(v, np.round(v))
    assert max(float(cost @ v) for v in found) == pytest.approx(sol.objective)


def test_bound_target_minimising() -> None:
    lm = knapsack(7)
    exact = lm.solve(SolveOptions(mip_gap=0.0))
    neg = LinearModel("knapsack_min", sense="min")
    cost, _, _, _, A, _, hi = lm.arrays()
    x = neg.add_vars("x", lm.n_cols, binary=True, cost=-cost)
    coo = A.tocoo()
    neg.add_constraints("cap", rows=coo.row.astype(np.int64), cols=x.index[coo.col], vals=coo.data, hi=hi, n=1)
    above = neg.solve(SolveOptions(mip_gap=0.0), bound_target=-exact.objective * 1.05)
    assert above.report.bound == pytest.approx(-exact.objective * 1.05)
    below = neg.solve(SolveOptions(mip_gap=0.0), bound_target=-exact.objective * 0.9)
    assert below.status == SolveStatus.OPTIMAL and below.objective == pytest.approx(-exact.objective)


@pytest.mark.parametrize("seed", range(6))
def test_merged_sets_master_has_the_same_optimum(seed: int) -> None:
    # restricting the sets to the kept stations and merging identical ones changes no master's optimum
    fi, cov, _, greedy, pool = lp_pool(seed)
    rng = np.random.default_rng(seed)
    keep = greedy | (rng.random(fi.n_cands) < 0.6)
    sm = pool.set_map(keep)
    assert sm.sets.shape[0] <= cov.n_sets
    assert not sm.sets[:, ~keep].count_nonzero()
    values = []
    for m_sets in (None, sm):
        lm = pool.master(fi, integer=True, sm=m_sets)
        lm.set_bounds(lm.block("x").index[~keep], ub=0.0)
        start = pool.point(greedy.astype(np.float64), m_sets)
        sol = lm.solve(SolveOptions(mip_gap=0.0), start=start)
        assert sol.status == SolveStatus.OPTIMAL
        values.append(sol.objective)
    assert values[1] == pytest.approx(values[0], rel=1e-9)
