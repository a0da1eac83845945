"""Sparse cost inputs for the coverage models: a demand x site matrix that stores only the finite costs.

A ``scipy.sparse`` matrix as ``cost`` holds the cost of every (demand, site) pair it stores
(explicit zeros are costs of 0); a pair it does not store is unreachable (cost ``inf``). Coverage
needs only the pairs within the radius, so for point data a matrix of the pairs within some
cutoff at least the radius (e.g. from ``scipy.spatial.cKDTree.sparse_distance_matrix``) is
enough, and a million demand points never need the dense ``n x m`` matrix.

The helpers here dispatch on the input: a dense array goes to the dense helpers of
:mod:`swapnet.siting._common` and :mod:`swapnet.siting._inputs`, a sparse matrix to its own code.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from swapnet.errors import InfeasibleError, InvalidInputError
from swapnet.siting._common import _nearest_assignment, _reachable_part, _with_dropped
from swapnet.siting._inputs import (
    UNREACHABLE_MODES,
    as_cost_matrix,
    check_magnitude,
    cover_matrix,
    dropped_details,
)
from swapnet.siting.plan import SitingPlan

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Costs: TypeAlias = "FloatArray | sp.csr_matrix"

__all__ = [
    "cost_input",
    "cover_of",
    "covered_rows",
    "nearest_assignment",
    "reachable",
    "with_dropped",
]


def cost_input(
    cost: Any, *, demand: Any = None, candidates: Any = None
) -> tuple[Costs, tuple[Hashable, ...], tuple[Hashable, ...]]:
    """``(costs, demand_labels, site_labels)``: a dense matrix as :func:`as_cost_matrix` makes it, or a CSR one.

    A sparse ``cost`` is checked like a dense one (no NaN, no negative entry, magnitudes as in
    :func:`check_magnitude`, at least one row and column, each pair stored once) and labelled
    ``0..n-1`` / ``0..m-1``.
    """
    if not sp.issparse(cost):
        return as_cost_matrix(cost, demand=demand, candidates=candidates)
    return _sparse_costs(cost)


def _sparse_costs(cost: Any) -> tuple[sp.csr_matrix, tuple[Hashable, ...], tuple[Hashable, ...]]:
    if len(cost.shape) != 2 or cost.shape[0] == 0 or cost.shape[1] == 0:
        raise InvalidInputError("cost", cost.shape, "needs at least one demand row and one site column")
    C = sp.csr_matrix(cost, dtype=np.float64, copy=True)
    stored = int(cost.nnz)
    C.sum_duplicates()
    if C.nnz != stored:
        raise InvalidInputError("cost", f"{stored - C.nnz} duplicate entries", "store each (demand, site) pair once")
    bad = np.isnan(C.data) | (C.data < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        i = int(np.searchsorted(C.indptr, k, side="right") - 1)
        raise InvalidInputError(
            f"cost[{i}, {int(C.indices[k])}]",
            float(C.data[k]),
            "costs must be non-negative numbers (inf = unreachable)",
        )
    check_magnitude(C.data, "cost.data")
    return C, tuple(range(C.shape[0])), tuple(range(C.shape[1]))


def _rows_reaching(C: sp.csr_matrix) -> BoolArray:
    fin = sp.csr_matrix((np.isfinite(C.data).astype(np.float64), C.indices, C.indptr), shape=C.shape)
    out: BoolArray = np.asarray(fin.sum(axis=1)).ravel() > 0
    return out


def reachable(
    C: Costs, dlab: tuple[Hashable, ...], w: FloatArray | None, unreachable: str, model: str
) -> tuple[Costs, tuple[Hashable, ...], FloatArray, BoolArray]:
    """The rows that reach some candidate, their labels and weights, and the dropped mask (as ``_reachable_part``)."""
    if not sp.issparse(C):
        return _reachable_part(np.asarray(C), dlab, w, unreachable, model)
    if unreachable not in UNREACHABLE_MODES:
        raise InvalidInputError("unreachable", unreachable, "must be 'raise' or 'drop'")
    Cs = sp.csr_matrix(C)
    drop = ~_rows_reaching(Cs)
    ww = np.ones(Cs.shape[0]) if w is None else w
    if unreachable == "raise":
        bad_rows = drop & (ww > 0) if w is not None else drop
        if bad_rows.any():
            bad = [dlab[int(i)] for i in np.flatnonzero(bad_rows)]
            raise InfeasibleError(
                f"{model}: {len(bad)} demand point(s) reach no candidate site (no stored cost), "
                f"e.g. {bad[:5]!r}; pass unreachable='drop' to leave them out"
            )
        drop = bad_rows
    if not drop.any():
        return Cs, dlab, ww, drop
    keep = ~drop
    if not keep.any():
        raise InfeasibleError(f"{model}: no demand point reaches a candidate site")
    labels = tuple(dlab[int(i)] for i in np.flatnonzero(keep))
    return sp.csr_matrix(Cs[keep]), labels, ww[keep], drop


def cover_of(C: Costs, r: float) -> sp.csr_matrix:
    """The 0/1 coverage matrix: stored (or dense) costs ``<= r``."""
    if not sp.issparse(C):
        return cover_matrix(np.asarray(C), r)
    Cs = sp.csr_matrix(C)
    A = sp.csr_matrix(((Cs.data <= r).astype(np.float64), Cs.indices.copy(), Cs.indptr.copy()), shape=Cs.shape)
    A.eliminate_zeros()
    return A


def covered_rows(C: Costs, mask: BoolArray, r: float) -> BoolArray:
    """Rows within ``r`` of some site of ``mask``."""
    n = C.shape[0]
    if not mask.any():
        return np.zeros(n, dtype=bool)
    if not sp.issparse(C):
        out: BoolArray = np.asarray((np.asarray(C)[:, mask] <= r).any(axis=1))
        return out
    return np.asarray((cover_of(C, r) @ mask.astype(np.float64)) > 0.5).ravel()


def nearest_assignment(
    C: Costs, mask: BoolArray, dlab: tuple[Hashable, ...], slab: tuple[Hashable, ...], r: float
) -> pd.DataFrame:
    """``demand``, ``site`` (nearest open), ``cost``, ``covered`` per row (as ``_nearest_assignment``)."""
    if not sp.issparse(C):
        return _nearest_assignment(np.asarray(C), mask, dlab, slab, r)
    n = C.shape[0]
    d = np.full(n, np.inf)
    site_pos = np.full(n, -1, dtype=np.int64)
    opened = np.flatnonzero(mask)
    if opened.size:
        sub = sp.csr_matrix(sp.csr_matrix(C)[:, opened])
        has = np.flatnonzero(np.diff(sub.indptr) > 0)
        if has.size:
            starts = sub.indptr[has]
            rowmin = np.minimum.reduceat(sub.data, starts)
            row_of = np.repeat(np.arange(n), np.diff(sub.indptr))
            hit = np.flatnonzero(sub.data == rowmin[np.searchsorted(has, row_of)])
            rows_hit, first = np.unique(row_of[hit], return_index=True)
            d[has] = rowmin
            site_pos[rows_hit] = opened[sub.indices[hit[first]]]
    site: list[Hashable | None] = [slab[int(j)] if j >= 0 else None for j in site_pos.tolist()]
    return pd.DataFrame({"demand": list(dlab), "site": site, "cost": d, "covered": d <= r})


def with_dropped(
    verify: Callable[[SitingPlan, float], list[str]], C0: Costs, drop: BoolArray, dlab0: tuple[Hashable, ...]
) -> Callable[[SitingPlan, float], list[str]]:
    """``verify`` plus the check that the dropped demand is exactly the unreachable demand."""
    if not sp.issparse(C0):
        out: Callable[[SitingPlan, float], list[str]] = _with_dropped(verify, np.asarray(C0), drop, dlab0)
        return out
    reach = _rows_reaching(sp.csr_matrix(C0))

    def both(plan: SitingPlan, tol: float) -> list[str]:
        problems = verify(plan, tol)
        want = dropped_details(dlab0, drop, None)["dropped_demand"]
        got = tuple(plan.details.get("dropped_demand") or ())
        if got != want:
            problems.append(f"dropped demand {got!r} != recomputed {want!r}")
        wrong = np.flatnonzero(drop & reach)
        if wrong.size:
            problems.append(f"dropped demand {dlab0[int(wrong[0])]!r} reaches a candidate site")
        return problems

    return both
