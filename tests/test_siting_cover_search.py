"""The set-cover local search: it returns a cover, never a dearer one, keeps fixed sites and closes redundant ones."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting import set_cover
from swapnet.siting._cover_search import improve_cover


def random_cover_instance(seed: int, n: int, m: int) -> tuple[sp.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    A = rng.random((n, m)) < 0.2
    A[np.arange(n), rng.integers(0, m, n)] = True  # every row coverable
    return sp.csr_matrix(A.astype(np.float64)), rng.integers(1, 6, m).astype(np.float64)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), unit=st.booleans())
def test_local_search_returns_a_no_dearer_cover_without_redundant_sites(seed: int, unit: bool) -> None:
    A, c = random_cover_instance(seed, 40, 15)
    if unit:
        c = np.ones_like(c)
    m = A.shape[1]
    start = np.ones(m, dtype=bool)
    fixed = np.zeros(m, dtype=bool)
    fixed[seed % m] = True
    out = improve_cover(A, c, start, fixed, None, 50, seed=seed)
    count = A @ out.astype(np.float64)
    assert (count > 0.5).all()  # a cover
    assert out[fixed].all()
    assert float(c[out].sum()) <= float(c[start].sum())
    # no open site (other than the fixed one) is redundant
    Ad = A.toarray() > 0
    for j in np.flatnonzero(out & ~fixed):
        assert (count[Ad[:, j]] < 1.5).any(), f"site {j} is redundant"


def test_add_and_drop_replaces_two_sites_by_one() -> None:
    # rows 0..3; sites: {0, 1}, {2, 3}, {0, 1, 2, 3}; from the first two, the third alone is cheaper
    A = sp.csr_matrix(np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 1]], dtype=np.float64))
    c = np.array([1.0, 1.0, 1.5])
    out = improve_cover(A, c, np.array([True, True, False]), np.zeros(3, dtype=bool), None, 10)
    assert out.tolist() == [False, False, True]


def test_add_and_drop_closes_every_site_made_redundant() -> None:
    # unit costs; from {0, 1, 2}, opening site 4 makes both 1 and 2 redundant: {0, 4}
    A = np.zeros((6, 5))
    A[[0, 1], 0] = 1  # site 0 covers rows 0, 1
    A[[2, 3], 1] = 1  # site 1 covers rows 2, 3
    A[[4, 5], 2] = 1  # site 2 covers rows 4, 5
    A[[0, 1, 2], 3] = 1  # site 3 covers rows 0, 1, 2
    A[[2, 3, 4, 5], 4] = 1  # site 4 covers rows 2..5
    out = improve_cover(
        sp.csr_matrix(A), np.ones(5), np.array([True, True, True, False, False]), np.zeros(5, dtype=bool), None, 50
    )
    assert out.tolist() == [True, False, False, False, True]
    assert ((A @ out.astype(np.float64)) > 0.5).all()


def test_local_search_needs_a_cover_to_start_from() -> None:
    A = sp.csr_matrix(np.eye(3))
    with pytest.raises(ValueError, match="cover"):
        improve_cover(A, np.ones(3), np.array([True, False, False]), np.zeros(3, dtype=bool), None, 5)


def test_set_cover_with_the_search_stays_exact() -> None:
    A, c = random_cover_instance(7, 60, 14)
    plan = set_cover(np.where(A.toarray() > 0, 0.0, 1.0), 0.0, site_costs=c, options=SolveOptions(mip_gap=0.0)).verify()
    assert plan.status == SolveStatus.OPTIMAL
    assert "search_objective" in plan.details
    assert plan.details["search_objective"] >= plan.objective
