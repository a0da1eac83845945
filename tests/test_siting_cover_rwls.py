"""The row-weighting search for the smallest cover (``siting/_cover_rwls.py``) against brute force."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet.optim import SolveStatus
from swapnet.siting import _cover_lscp, set_cover
from swapnet.siting._cover_rwls import _State, smallest_cover


def instance(seed: int, n: int, m: int, density: float) -> np.ndarray:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    A = rng.random((n, m)) < density
    A[np.arange(n), rng.integers(0, m, n)] = True  # every row coverable
    return A


def smallest(A: np.ndarray, fixed: np.ndarray) -> int:  # type: ignore[type-arg]
    m = A.shape[1]
    for k in range(m + 1):
        for S in itertools.combinations(range(m), k):
            if fixed[list(S)].sum() == fixed.sum() and (A[:, list(S)].any(axis=1).all() if S else A.shape[0] == 0):
                return k
    return m


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(4, 25), st.integers(3, 10), st.floats(0.1, 0.5), st.booleans())
def test_finds_the_smallest_cover(seed: int, n: int, m: int, density: float, with_fixed: bool) -> None:
    """On small instances the search ends at the brute-force optimum; it always returns a cover that
    keeps the fixed sites and is no larger than its start."""
    A = instance(seed, n, m, density)
    fixed = np.zeros(m, dtype=bool)
    if with_fixed:
        fixed[seed % m] = True
    start = np.ones(m, dtype=bool)
    got = smallest_cover(
        sp.csr_matrix(A.astype(float)), start, fixed, time.perf_counter() + 5.0, max_stall=20_000, seed=seed
    )
    assert A[:, got].any(axis=1).all()
    assert got[fixed].all()
    assert got.sum() == smallest(A, fixed)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_scores_stay_consistent(seed: int) -> None:
    """After any sequence of opens and closes, every score, count and the uncovered set equal their
    definitions recomputed from scratch."""
    rng = np.random.default_rng(seed)
    A = instance(seed, 15, 7, 0.3)
    st_ = _State(sp.csr_matrix(A.astype(float)), np.ones(7, dtype=bool))
    for step in range(1, 40):
        j = int(rng.integers(7))
        if st_.open[j]:
            st_.remove(j, step)
        else:
            st_.add(j, step)
        if rng.random() < 0.3:
            st_.weigh_uncovered()
        opened = np.array(st_.open)
        cnt = A[:, opened].sum(axis=1)
        assert list(cnt) == st_.cnt
        assert st_.uncovered == set(np.flatnonzero(cnt == 0).tolist())
        wt = np.array(st_.wt)
        for k in range(7):
            rows = np.flatnonzero(A[:, k])
            want = -wt[rows][cnt[rows] == 1].sum() if opened[k] else wt[rows][cnt[rows] == 0].sum()
            assert st_.score[k] == want


def test_start_must_be_a_cover() -> None:
    A = sp.csr_matrix(np.eye(3))
    with pytest.raises(ValueError, match="cover"):
        smallest_cover(A, np.array([True, False, False]), np.zeros(3, dtype=bool), None)


def test_set_cover_unit_costs_proven_with_the_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """set_cover with equal site costs runs the row-weighting search where the LP does not prove the
    greedy cover, and its proven optimum equals brute force, with and without the search (the search
    only changes the incumbent)."""
    searched = 0
    for seed in range(20):
        A = instance(seed, 60, 16, 0.25)
        want = smallest(A, np.zeros(16, dtype=bool))
        plan = set_cover(np.where(A, 0.0, 1.0), 0.5).verify()
        searched += plan.details.get("search_row_weighting", 0) == 1
        assert plan.status == SolveStatus.OPTIMAL and len(plan.sites) == want
        with monkeypatch.context() as mp:
            mp.setattr(_cover_lscp, "_USE_SEARCH", False)
            assert len(set_cover(np.where(A, 0.0, 1.0), 0.5).verify().sites) == want
    assert searched >= 5
