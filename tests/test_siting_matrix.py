"""Tests of the matrix siting models: LSCP, MCLP, p-median (hand-solved, brute force, Pyomo, properties)."""

from __future__ import annotations

import dataclasses
import itertools
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import InfeasibleError, InvalidInputError, RoadNetwork, UnknownNodeError, VerificationError
from swapnet.optim import SolveOptions, SolveStatus, solve_pyomo
from swapnet.siting import _median_heuristics as heur
from swapnet.siting import cover, max_coverage, p_median, set_cover
from swapnet.siting._budget import Budget

EXACT = SolveOptions(mip_gap=0.0)

# Three demand points on a line at 0, 10, 20 and candidate sites at 0, 5, 10, 15, 20.
POS_D = np.array([0.0, 10.0, 20.0])
POS_S = np.array([0.0, 5.0, 10.0, 15.0, 20.0])
LINE = np.abs(POS_D[:, None] - POS_S[None, :])


def test_set_cover_hand_solved() -> None:
    # radius 5: site 5 covers {0, 10}, site 15 covers {10, 20} -> two sites are needed
    plan = set_cover(LINE, 5.0, options=EXACT).verify()
    assert plan.objective == 2.0 and plan.status == SolveStatus.OPTIMAL
    assert len(plan.sites) == 2
    # radius 10: site 10 covers everything
    assert set_cover(LINE, 10.0).sites == (2,)
    # costs steer the choice: make site 10 expensive
    plan = set_cover(LINE, 10.0, site_costs=[1, 1, 5, 1, 1]).verify()
    assert plan.objective == 2.0 and 2 not in plan.sites


def test_set_cover_infeasible_names_demand() -> None:
    with pytest.raises(InfeasibleError, match="no candidate site within radius"):
        set_cover(LINE[:, [0]], 5.0)


def test_max_coverage_hand_solved() -> None:
    w = np.array([1.0, 2.0, 4.0])
    plan = max_coverage(LINE, w, 0.0, p=1, options=EXACT).verify()
    assert plan.objective == 4.0 and plan.sites == (4,)
    plan = max_coverage(LINE, w, 5.0, p=1).verify()
    assert plan.objective == 6.0 and plan.sites == (3,)  # site 15 covers 10 and 20
    # budget variant: site 15 costs 3, the others 1; budget 2 buys site 20 + site 10 = 6
    plan = max_coverage(LINE, w, 0.0, budget=2.0, site_costs=[1, 1, 1, 3, 1]).verify()
    assert plan.objective == 6.0 and set(plan.sites) == {2, 4}
    df = plan.assignment
    assert list(df.columns) == ["demand", "weight", "site", "cost", "covered"]
    assert df["covered"].tolist() == [False, True, True]


def test_labels_come_back_as_given() -> None:
    df = pd.DataFrame(LINE, index=["a", "b", "c"], columns=["s0", "s5", "s10", "s15", "s20"])
    plan = p_median(df, [1.0, 1.0, 1.0], 1)
    assert plan.sites == ("s10",)
    assert plan.assignment["demand"].tolist() == ["a", "b", "c"]
    assert plan.objective == 20.0


def test_network_input() -> None:
    net = RoadNetwork.from_edges([("A", "B", 1.0), ("B", "C", 1.0), ("C", "D", 5.0)])
    plan = p_median(net, [1.0, 1.0, 1.0, 1.0], 1, demand=["A", "B", "C", "D"], candidates=["A", "C", "D"])
    assert plan.sites == ("C",) and plan.objective == 2 + 1 + 0 + 5


def test_fixed_sites_and_errors() -> None:
    w = np.ones(3)
    plan = p_median(LINE, w, 2, fixed=[0]).verify()
    assert 0 in plan.sites
    with pytest.raises(UnknownNodeError, match="fixed"):
        p_median(LINE, w, 2, fixed=[99])
    with pytest.raises(InvalidInputError, match="p=9"):
        p_median(LINE, w, 9)
    with pytest.raises(InvalidInputError, match="budget"):
        max_coverage(LINE, w, 5.0, budget=0.5, fixed=[0])
    with pytest.raises(InvalidInputError, match=r"cost\[0, 1\]"):
        p_median(np.array([[0.0, np.nan]]), [1.0], 1)
    with pytest.raises(InvalidInputError, match=r"cost\[0, 0\]"):
        set_cover(np.array([[-1.0]]), 1.0)
    with pytest.raises(InvalidInputError, match=r"weights\[1\]"):
        max_coverage(LINE, [1.0, -1.0, 1.0], 5.0, p=1)
    with pytest.raises(InvalidInputError, match="radius"):
        set_cover(LINE, float("nan"))
    with pytest.raises(InvalidInputError, match="give p, budget"):
        max_coverage(LINE, w, 5.0)


def test_verify_catches_tampering() -> None:
    plan = p_median(LINE, np.ones(3), 1)
    with pytest.raises(VerificationError, match="objective"):
        dataclasses.replace(plan, objective=plan.objective - 1).verify()
    with pytest.raises(VerificationError, match="sites open"):
        dataclasses.replace(plan, sites=(0, 4)).verify()
    cover = set_cover(LINE, 5.0)
    with pytest.raises(VerificationError, match="not covered"):
        dataclasses.replace(cover, sites=(1,), objective=1.0).verify()


def test_capacitated_p_median_hand_solved() -> None:
    # two sites at 0 and 10; demands at 0 (w 3), 4 (w 3), 10 (w 1); capacity 4 forces demand at 4 to site 10
    C = np.abs(np.array([0.0, 4.0, 10.0])[:, None] - np.array([0.0, 10.0])[None, :])
    w = np.array([3.0, 3.0, 1.0])
    free = p_median(C, w, 2)
    assert free.objective == 3 * 4
    cap = p_median(C, w, 2, capacity=[4.0, 4.0], options=EXACT).verify()
    assert cap.objective == 3 * 6
    assert cap.assignment["site"].tolist() == [0, 1, 1]
    with pytest.raises(InfeasibleError, match="capacities"):
        p_median(C, w, 1, capacity=[4.0, 4.0])
    # the old keyword still works, with a deprecation warning
    with pytest.warns(DeprecationWarning, match="capacity="):
        old = p_median(C, w, 2, capacities=[4.0, 4.0], options=EXACT)
    assert old.objective == cap.objective
    # loads fill capacity, weights price the distance: unit weights, loads 3, 3, 1
    plain = p_median(C, None, 2, capacity=4.0, loads=w, options=EXACT).verify()
    assert plain.objective == 6 and plain.assignment["site"].tolist() == [0, 1, 1]


@st.composite
def instances(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, float]:  # type: ignore[type-arg]
    n = draw(st.integers(1, 9))
    m = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    C = np.round(rng.random((n, m)) * 10, 1)  # rounding creates ties in distances
    w = np.round(rng.random(n) * 5, 1)
    p = draw(st.integers(1, m))
    r = draw(st.sampled_from([0.0, 2.0, 5.0, 8.0]))
    return C, w, p, r


def brute(C: np.ndarray, w: np.ndarray, p: int, r: float) -> tuple[float, float]:  # type: ignore[type-arg]
    subsets = list(itertools.combinations(range(C.shape[1]), p))
    med = min(float((w * C[:, list(S)].min(axis=1)).sum()) for S in subsets)
    cov = max(float(w[(C[:, list(S)] <= r).any(axis=1)].sum()) for S in subsets)
    return med, cov


@settings(max_examples=40, deadline=None)
@given(instances())
def test_against_brute_force(case: tuple[np.ndarray, np.ndarray, int, float]) -> None:  # type: ignore[type-arg]
    C, w, p, r = case
    med, cov = brute(C, w, p, r)
    pm = p_median(C, w, p, options=EXACT).verify()
    assert pm.objective == pytest.approx(med, rel=1e-9, abs=1e-9)
    heur = p_median(C, w, p, method="heuristic").verify()
    assert heur.objective >= pm.objective - 1e-9
    assert heur.bound <= pm.objective + 1e-6  # a valid lower bound
    mc = max_coverage(C, w, r, p, options=EXACT).verify()
    assert mc.objective == pytest.approx(cov, rel=1e-9, abs=1e-9)
    greedy = max_coverage(C, w, r, p, method="greedy").verify()
    assert greedy.objective <= mc.objective + 1e-9


@settings(max_examples=30, deadline=None)
@given(instances())
def test_set_cover_against_brute_force(case: tuple[np.ndarray, np.ndarray, int, float]) -> None:  # type: ignore[type-arg]
    C, _, _, r = case
    m = C.shape[1]
    costs = np.arange(1.0, m + 1.0)
    feasible = [
        float(costs[list(S)].sum())
        for k in range(1, m + 1)
        for S in itertools.combinations(range(m), k)
        if (C[:, list(S)] <= r).any(axis=1).all()
    ]
    if not feasible:
        with pytest.raises(InfeasibleError):
            set_cover(C, r, site_costs=costs)
        return
    plan = set_cover(C, r, site_costs=costs, options=EXACT).verify()
    assert plan.objective == pytest.approx(min(feasible))
    greedy = set_cover(C, r, site_costs=costs, method="greedy").verify()
    assert greedy.objective >= plan.objective - 1e-9


@settings(max_examples=20, deadline=None)
@given(instances())
def test_monotone_in_p_and_budget(case: tuple[np.ndarray, np.ndarray, int, float]) -> None:  # type: ignore[type-arg]
    C, w, _, r = case
    m = C.shape[1]
    covered = [max_coverage(C, w, r, p, options=EXACT).objective for p in range(1, m + 1)]
    assert all(a <= b + 1e-9 for a, b in itertools.pairwise(covered))
    medians = [p_median(C, w, p, options=EXACT).objective for p in range(1, m + 1)]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(medians))
    costs = np.linspace(1.0, 2.0, m)
    by_budget = [max_coverage(C, w, r, budget=b, site_costs=costs, options=EXACT).objective for b in (1, 2.5, 4, 8)]
    assert all(a <= b + 1e-9 for a, b in itertools.pairwise(by_budget))


@pytest.mark.parametrize("model", ["lscp", "mclp", "p_median", "cap_p_median"])
def test_pyomo_form_has_same_optimum(model: str) -> None:
    rng = np.random.default_rng(7)
    C = np.round(rng.random((8, 5)) * 10, 2)
    w = np.round(rng.random(8) * 3 + 0.5, 2)
    if model == "lscp":
        plan = set_cover(C, 6.0, options=EXACT)
    elif model == "mclp":
        plan = max_coverage(C, w, 3.0, 2, options=EXACT)
    elif model == "p_median":
        plan = p_median(C, w, 2, options=EXACT)
    else:
        plan = p_median(C, w, 3, capacity=np.full(5, w.sum() / 2), options=EXACT)
    value, _ = solve_pyomo(plan.to_pyomo(), EXACT)
    assert value == pytest.approx(plan.objective, rel=1e-7)


def test_time_limit_returns_flagged_incumbent() -> None:
    rng = np.random.default_rng(3)
    pts, sites = rng.random((400, 2)), rng.random((120, 2))
    C = np.linalg.norm(pts[:, None] - sites[None], axis=2)
    plan = max_coverage(C, rng.random(400), 0.08, 12, options=SolveOptions(time_limit=0.05, mip_gap=0.0))
    assert plan.status in (SolveStatus.TIME_LIMIT, SolveStatus.OPTIMAL)
    plan.verify()
    if plan.status == SolveStatus.TIME_LIMIT:
        assert plan.gap >= 0 and plan.bound >= plan.objective - 1e-9


def test_p_median_without_demand_weight() -> None:
    # found by the study tests: all-zero weights must give a zero-cost plan, not a crash
    plan = p_median(LINE, [0.0, 0.0, 0.0], 2).verify()
    assert plan.objective == 0.0 and len(plan.sites) == 2
    assert p_median(LINE, [0.0, 0.0, 0.0], 2, method="heuristic").verify().objective == 0.0


# ------------------------------------------------ p-median internals: sorted rows, interchange, Lagrangian
@st.composite
def median_cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, int]:  # type: ignore[type-arg]
    n = draw(st.integers(1, 9))
    m = draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    C = np.round(rng.random((n, m)) * 10, 1)  # ties
    if draw(st.booleans()):  # some impossible pairs, every row keeps one finite entry
        C[rng.random((n, m)) < 0.3] = np.inf
        C[np.arange(n), rng.integers(0, m, n)] = np.round(rng.random(n) * 10, 1)
    w = np.round(rng.random(n) * 5, 1) + 0.1
    p = draw(st.integers(1, m))
    return C, w, p, draw(st.integers(0, m - 1))


@settings(max_examples=60, deadline=None)
@given(median_cases())
def test_sorted_rows_and_row_search(case: tuple[np.ndarray, np.ndarray, int, int]) -> None:  # type: ignore[type-arg]
    C, _, _, _ = case
    S = heur._Sorted.of(C)
    n, m = C.shape
    assert np.array_equal(np.take_along_axis(C, S.order.astype(np.int64), axis=1), S.srt)
    assert np.array_equal(np.take_along_axis(S.rank, S.order.astype(np.int64), axis=1), np.tile(np.arange(m), (n, 1)))
    v = np.array([C[i, i % m] for i in range(n)])
    assert np.array_equal(heur._row_count_below(S.srt, v), (S.srt < v[:, None]).sum(axis=1))
    assert np.array_equal(heur._row_count_below(S.srt, v, strict=False), (S.srt <= v[:, None]).sum(axis=1))
    assert np.array_equal(S.finite_lv, np.array([len(set(r[np.isfinite(r)].tolist())) for r in C]))


def _median(C: np.ndarray, w: np.ndarray, S: tuple[int, ...]) -> float:  # type: ignore[type-arg]
    return float((w * C[:, list(S)].min(axis=1)).sum())


@settings(max_examples=60, deadline=None)
@given(median_cases())
def test_fast_interchange_reaches_a_swap_local_optimum(case: tuple[np.ndarray, np.ndarray, int, int]) -> None:  # type: ignore[type-arg]
    C, w, p, _ = case
    S = heur._Sorted.of(C)
    fx = np.zeros(0, dtype=np.int64)
    start = heur._greedy_median(S, C, w, p, fx)
    assert start.sum() == p
    out = heur._interchange(S, w, start, fx, Budget(None))
    assert out.sum() == p
    m = C.shape[1]
    sites = tuple(np.flatnonzero(out).tolist())
    value = _median(C, w, sites)
    assert value <= _median(C, w, tuple(np.flatnonzero(start).tolist())) + 1e-9
    if not np.isfinite(value):
        return
    for r in sites:  # no single swap improves (brute force)
        for j in set(range(m)) - set(sites):
            swapped = tuple(sorted((set(sites) - {r}) | {j}))
            assert _median(C, w, swapped) >= value - 1e-9 * max(1.0, value)


@settings(max_examples=60, deadline=None)
@given(median_cases())
def test_lagrangian_bound_is_valid(case: tuple[np.ndarray, np.ndarray, int, int]) -> None:  # type: ignore[type-arg]
    C, w, p, j = case
    m = C.shape[1]
    fx = np.array([j], dtype=np.int64) if p > 1 else np.zeros(0, dtype=np.int64)
    best = min(_median(C, w, S) for S in itertools.combinations(range(m), p) if set(fx.tolist()) <= set(S))
    S = heur._Sorted.of(C)
    start = heur._interchange(S, w, heur._greedy_median(S, C, w, p, fx), fx, Budget(None))
    bound, lam, primal, iters = heur._lagrangian(S, w, p, fx, start, Budget(None))
    assert bound <= best + 1e-7 * max(1.0, abs(best))
    assert iters >= 1 and lam.shape == (C.shape[0],)
    assert primal.sum() == p and primal[fx].all()
    assert _median(C, w, tuple(np.flatnonzero(primal).tolist())) >= best - 1e-9


def test_total_time_budget_is_respected() -> None:
    # a p-median far too big to solve in 2 s: the whole call (sorting, heuristics, Lagrangian, MIP) must stop
    rng = np.random.default_rng(11)
    pts, sites = rng.random((3000, 2)), rng.random((400, 2))
    C = np.linalg.norm(pts[:, None] - sites[None], axis=2)
    w = rng.integers(1, 100, 3000).astype(float)
    t = time.perf_counter()
    plan = p_median(C, w, 25, options=SolveOptions(time_limit=2.0, mip_gap=0.0))
    wall = time.perf_counter() - t
    assert wall < 2.0 + 8.0  # generous slack for a loaded machine; before, each phase had its own limit
    plan.verify()
    assert plan.status == SolveStatus.TIME_LIMIT
    assert np.isfinite(plan.gap) and plan.gap > 0 and plan.bound <= plan.objective
    # the same budget caps set cover and max coverage calls
    t = time.perf_counter()
    mc = max_coverage(C, w, 0.05, 25, options=SolveOptions(time_limit=1.0, mip_gap=0.0)).verify()
    assert time.perf_counter() - t < 1.0 + 8.0
    assert mc.status in (SolveStatus.TIME_LIMIT, SolveStatus.OPTIMAL)


def test_a_budget_too_short_for_one_lagrangian_step_still_gives_a_finite_bound() -> None:
    # under load the 2 s budget above can run out before the first subgradient step; the bound is then
    # the one every plan obeys (each demand at its nearest site), never -inf
    rng = np.random.default_rng(11)
    pts, sites = rng.random((3000, 2)), rng.random((400, 2))
    C = np.linalg.norm(pts[:, None] - sites[None], axis=2)
    w = rng.integers(1, 100, 3000).astype(float)
    plan = p_median(C, w, 25, options=SolveOptions(time_limit=0.01, mip_gap=0.0)).verify()
    assert plan.status == SolveStatus.TIME_LIMIT
    assert np.isfinite(plan.gap) and 0 < plan.gap < 1
    assert float(w @ C.min(axis=1)) * (1 - 1e-12) <= plan.bound <= plan.objective


@settings(max_examples=60, deadline=None)
@given(instances(), st.integers(0, 2**31 - 1), st.booleans())
def test_cover_dominance_reductions_keep_the_optimum(
    case: tuple[np.ndarray, np.ndarray, int, float],  # type: ignore[type-arg]
    seed: int,
    with_fixed: bool,
) -> None:
    C, _, _, r = case
    m = C.shape[1]
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 4, m).astype(float)  # ties on purpose
    fixed = [int(rng.integers(0, m))] if with_fixed else []
    feasible = [
        float(costs[list(S)].sum())
        for k in range(1, m + 1)
        for S in itertools.combinations(range(m), k)
        if set(fixed) <= set(S) and (C[:, list(S)] <= r).any(axis=1).all()
    ]
    if not feasible:
        return
    plan = set_cover(C, r, site_costs=costs, fixed=fixed, options=EXACT).verify()
    assert plan.objective == pytest.approx(min(feasible))
    assert plan.details["rows_after_dominance"] <= plan.details["rows_after_merge"]
    # the reduced matrix: no row contains another, no kept site is dominated
    A = (C <= r).astype(float)
    Ar, keep = cover._reduce_cover(sp.csr_matrix(A), costs, np.asarray(fixed, dtype=np.int64))
    assert keep[fixed].all()
    rows = [frozenset(np.flatnonzero(row).tolist()) for row in Ar.toarray()]
    assert not any(a < b for a in rows for b in rows)
