"""Exact coverage solves (LP bound, reduced-cost fixing, reduced MILP) and sparse cost inputs vs brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import InfeasibleError, InvalidInputError
from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting import _cover_lscp, _cover_mclp, max_coverage, set_cover
from swapnet.siting._budget import Budget
from swapnet.siting._cover_mclp import covered_weight, interchange

EXACT = SolveOptions(mip_gap=0.0)


def brute_mclp(A: np.ndarray, w: np.ndarray, p: int, fixed: tuple[int, ...] = ()) -> float:
    m = A.shape[1]
    best = -1.0
    for S in itertools.combinations(range(m), p):
        if not set(fixed) <= set(S):
            continue
        best = max(best, float(w[A[:, list(S)].any(axis=1)].sum()))
    return best


def brute_budget_mclp(A: np.ndarray, w: np.ndarray, c: np.ndarray, B: float) -> float:
    m = A.shape[1]
    best = 0.0
    for bits in range(1 << m):
        S = [j for j in range(m) if bits >> j & 1]
        if c[S].sum() <= B + 1e-9:
            best = max(best, float(w[A[:, S].any(axis=1)].sum()))
    return best


def brute_cover(A: np.ndarray, c: np.ndarray) -> float:
    m = A.shape[1]
    best = np.inf
    for bits in range(1, 1 << m):
        S = [j for j in range(m) if bits >> j & 1]
        if A[:, S].any(axis=1).all():
            best = min(best, float(c[S].sum()))
    return float(best)


def geometric(seed: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Points and sites in the unit square (geometric instances, where the LP is nearly tight)."""
    rng = np.random.default_rng(seed)
    pts, sites = rng.uniform(size=(n, 2)), rng.uniform(size=(m, 2))
    return np.linalg.norm(pts[:, None, :] - sites[None, :, :], axis=2), rng.integers(1, 50, n).astype(float)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), p=st.integers(1, 4), radius=st.sampled_from([0.15, 0.25, 0.4]))
def test_max_coverage_equals_brute_force(seed: int, p: int, radius: float) -> None:
    C, w = geometric(seed, 40, 10)
    plan = max_coverage(C, w, radius, p, options=EXACT).verify()
    assert plan.objective == pytest.approx(brute_mclp(C <= radius, w, p), rel=1e-12)
    assert plan.status == SolveStatus.OPTIMAL
    assert plan.bound >= plan.objective - 1e-9 * plan.objective


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1))
def test_max_coverage_with_fixed_sites_and_fractional_weights_equals_brute_force(seed: int) -> None:
    C, w = geometric(seed, 30, 9)
    w = w * 0.37  # non-integral weights: no rounding of bounds
    plan = max_coverage(C, w, 0.3, 3, fixed=[2], options=EXACT).verify()
    assert 2 in plan.sites
    assert plan.objective == pytest.approx(brute_mclp(C <= 0.3, w, 3, (2,)), rel=1e-12)
    assert plan.status == SolveStatus.OPTIMAL


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1))
def test_max_coverage_under_a_budget_equals_brute_force(seed: int) -> None:
    C, w = geometric(seed, 30, 9)
    c = np.random.default_rng(seed + 1).integers(1, 6, 9).astype(float)
    plan = max_coverage(C, w, 0.3, budget=7.0, site_costs=c, options=EXACT).verify()
    assert plan.objective == pytest.approx(brute_budget_mclp(C <= 0.3, w, c, 7.0), rel=1e-12)
    assert plan.status == SolveStatus.OPTIMAL


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), integral=st.booleans())
def test_weighted_set_cover_equals_brute_force(seed: int, integral: bool) -> None:
    rng = np.random.default_rng(seed)
    A = rng.random((25, 11)) < 0.3
    A[np.arange(25), rng.integers(0, 11, 25)] = True  # every row coverable
    c = rng.integers(1, 20, 11).astype(float)
    if not integral:
        c = c * 0.731
    plan = set_cover(np.where(A, 0.0, 1.0), 0.0, site_costs=c, options=EXACT).verify()
    assert plan.objective == pytest.approx(brute_cover(A, c), rel=1e-12)
    assert plan.status == SolveStatus.OPTIMAL
    assert plan.bound <= plan.objective * (1 + 1e-9)


def test_reduced_cost_fixing_runs_and_keeps_the_optimum() -> None:
    """A larger geometric MCLP: the LP-support MILP or fixing closes sites; the result is the brute-force optimum."""
    C, w = geometric(7, 300, 14)
    plan = max_coverage(C, w, 0.2, 3, options=EXACT).verify()
    assert plan.objective == pytest.approx(brute_mclp(C <= 0.2, w, 3), rel=1e-12)
    assert plan.details["lp_bound"] >= plan.objective - 1e-6
    assert plan.optimal


def test_interchange_never_loses_and_reaches_a_local_optimum() -> None:
    C, w = geometric(3, 200, 12)
    A = sp.csr_matrix((C <= 0.25).astype(float))
    start = np.zeros(12, dtype=bool)
    start[:3] = True  # an arbitrary start
    out = interchange(A, w, start, np.zeros(0, dtype=np.int64), np.ones(12), None, Budget(None))
    assert out.sum() == 3
    val = covered_weight(A, w, out)
    assert val >= covered_weight(A, w, start)
    for j in np.flatnonzero(out):  # no single swap improves
        for k in np.flatnonzero(~out):
            alt = out.copy()
            alt[j], alt[k] = False, True
            assert covered_weight(A, w, alt) <= val + 1e-9


def sparse_of(C: np.ndarray, cutoff: float) -> sp.csr_matrix:
    i, j = np.nonzero(C <= cutoff)
    return sp.csr_matrix((C[i, j], (i, j)), shape=C.shape)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparse_cost_matrix_gives_the_dense_answer(seed: int) -> None:
    C, w = geometric(seed, 60, 12)
    C[5, 3] = 0.0  # an explicit zero cost stays a cost (covered at any radius)
    dense = max_coverage(C, w, 0.25, 3, options=EXACT).verify()
    S = sparse_of(C, 0.3)  # pairs within a cutoff above the radius
    assert S[5, 3] == 0.0 and S.nnz > 0
    sparse = max_coverage(S, w, 0.25, 3, options=EXACT, unreachable="drop").verify()
    assert sparse.objective == pytest.approx(dense.objective, rel=1e-12)
    assert sparse.optimal
    kept = ~np.isin(np.arange(60), sparse.details["dropped_demand"])
    a = sparse.assignment
    assert len(a) == int(kept.sum())
    sub = C[kept][:, list(sparse.sites)]
    np.testing.assert_allclose(np.where(sub.min(axis=1) <= 0.3, sub.min(axis=1), np.inf), a["cost"].to_numpy())
    assert (a["covered"].to_numpy() == (sub.min(axis=1) <= 0.25)).all()


def test_sparse_cost_matrix_for_set_cover() -> None:
    C, _ = geometric(4, 50, 15)
    r = 1.1 * float(C.min(axis=1).max())
    dense = set_cover(C, r, options=EXACT).verify()
    sparse = set_cover(sparse_of(C, r), r, options=EXACT).verify()
    assert sparse.objective == dense.objective
    assert sparse.optimal


def test_sparse_rows_without_an_entry_are_unreachable() -> None:
    S = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 0.0], [0.5, 2.0]]))  # row 1 stores nothing
    with pytest.raises(InfeasibleError, match="reach no candidate"):
        max_coverage(S, None, 1.0, 1)
    plan = max_coverage(S, None, 1.0, 1, unreachable="drop").verify()
    assert plan.details["dropped_demand"] == (1,)


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        ((np.array([-1.0]), (np.array([0]), np.array([0]))), r"cost\[0, 0\]"),
        ((np.array([np.nan]), (np.array([1]), np.array([1]))), r"cost\[1, 1\]"),
        ((np.array([1e200]), (np.array([0]), np.array([1]))), r"cost.data"),
        ((np.array([1.0, 2.0]), (np.array([0, 0]), np.array([1, 1]))), "duplicate"),
    ],
)
def test_bad_sparse_costs_name_the_entry(entries: tuple[np.ndarray, tuple[np.ndarray, np.ndarray]], field: str) -> None:
    S = sp.coo_matrix(entries, shape=(2, 2))
    with pytest.raises(InvalidInputError, match=field):
        max_coverage(S, None, 1.0, 1, unreachable="drop")


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), integral=st.booleans())
def test_fixing_from_a_weak_incumbent_keeps_the_mclp_optimum(seed: int, integral: bool) -> None:
    """Without the LP-support MILP the fixing works from the heuristic plan; random (non-geometric) covers."""
    rng = np.random.default_rng(seed)
    A = rng.random((40, 12)) < 0.25
    w = rng.integers(1, 30, 40).astype(float) * (1.0 if integral else 0.613)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_cover_mclp, "_USE_RESTRICTED", False)
        plan = max_coverage(np.where(A, 0.0, 1.0), w, 0.0, 3, options=EXACT, unreachable="drop").verify()
    assert plan.objective == pytest.approx(brute_mclp(A, w, 3), rel=1e-12)
    assert plan.status == SolveStatus.OPTIMAL


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1))
def test_fixing_from_the_greedy_cover_keeps_the_set_cover_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    A = rng.random((30, 12)) < 0.25
    A[np.arange(30), rng.integers(0, 12, 30)] = True
    c = rng.integers(1, 40, 12).astype(float)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_cover_lscp, "_USE_SEARCH", False)
        plan = set_cover(np.where(A, 0.0, 1.0), 0.0, site_costs=c, options=EXACT).verify()
    assert plan.objective == pytest.approx(brute_cover(A, c), rel=1e-12)
    assert plan.status == SolveStatus.OPTIMAL


def test_the_fixing_path_is_taken() -> None:
    """At least one random instance of the tests above goes through reduced-cost fixing and the reduced MILP."""
    seen_mclp = seen_cover = False
    for seed in range(40):
        rng = np.random.default_rng(seed)
        A = rng.random((40, 12)) < 0.25
        w = rng.integers(1, 30, 40).astype(float)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_cover_mclp, "_USE_RESTRICTED", False)
            mp.setattr(_cover_lscp, "_USE_SEARCH", False)
            d = max_coverage(np.where(A, 0.0, 1.0), w, 0.0, 3, options=EXACT, unreachable="drop").details
            seen_mclp |= "n_closed_by_fixing" in d and "milp_seconds" in d
            A[np.arange(40), rng.integers(0, 12, 40)] = True
            c = rng.integers(1, 40, 12).astype(float)
            d2 = set_cover(np.where(A, 0.0, 1.0), 0.0, site_costs=c, options=EXACT).details
            seen_cover |= "n_closed_by_fixing" in d2 and "milp_seconds" in d2
    assert seen_mclp and seen_cover
