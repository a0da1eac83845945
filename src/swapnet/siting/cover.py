r"""Coverage location models on a demand x site cost matrix.

* :func:`set_cover` — location set covering (LSCP, Toregas et al. 1971), with row and column
  dominance reductions and Chvátal's greedy as the warm start.
* :func:`max_coverage` — maximal covering location (MCLP, Church & ReVelle 1974).

The exact solves (LP bound, a MILP on the LP's support for the MCLP, reduced-cost fixing and a reduced MILP) live in
:mod:`swapnet.siting._cover_lscp` and :mod:`swapnet.siting._cover_mclp`; sparse cost inputs in
:mod:`swapnet.siting._cover_sparse`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from swapnet.errors import InfeasibleError, InvalidInputError
from swapnet.optim import LinearModel, SolveOptions, SolveReport
from swapnet.optim.model import rel_gap
from swapnet.siting._budget import Budget
from swapnet.siting._common import (
    _check_count_budget,
    _check_fixed,
    _check_value,
    _finish,
    _mask_of,
    _raise_if_infeasible,
)
from swapnet.siting._cover_lscp import cover_model, solve_cover
from swapnet.siting._cover_mclp import MclpResult, _mclp_model, solve_mclp
from swapnet.siting._cover_sparse import cost_input, cover_of, covered_rows, nearest_assignment, reachable, with_dropped
from swapnet.siting._inputs import (
    as_site_costs,
    as_weights,
    check_budget,
    check_p,
    check_radius,
    dropped_details,
    fixed_indices,
    merge_identical_rows,
)
from swapnet.siting.plan import SitingPlan, default_options

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

__all__ = ["max_coverage", "set_cover"]


def set_cover(
    cost: Any,
    radius: float,
    *,
    site_costs: ArrayLike | None = None,
    fixed: Iterable[Hashable] | None = None,
    demand: Any = None,
    candidates: Any = None,
    options: SolveOptions | None = None,
    method: str = "milp",
    unreachable: str = "raise",
) -> SitingPlan:
    r"""Location set covering problem (LSCP): the cheapest sites that cover every demand point.

    .. math::

        \min \sum_j c_j y_j \quad \text{s.t.} \quad \sum_{j: d_{ij} \le r} y_j \ge 1 \;\; \forall i,
        \qquad y_j = 1 \;\; \forall j \in F, \qquad y \in \{0, 1\}^m

    Demand rows with identical cover sets are merged before solving.

    Parameters
    ----------
    cost
        ``(n_demand, n_sites)`` costs (distance or time), a DataFrame, a road network (see module doc), or a
        ``scipy.sparse`` matrix of the finite costs only: a stored entry is that pair's cost (explicit
        zeros included), a missing one is unreachable (``inf``), so the pairs within the radius are
        enough and the dense matrix is never built.
    radius
        Coverage radius in the cost's unit; ``cost <= radius`` covers.
    site_costs
        Cost of opening each site (default: ``candidates.fixed_cost`` or 1 each, i.e. fewest sites).
    fixed
        Sites that must be open.
    demand, candidates
        With a road network as ``cost``: demand nodes and candidate sites.
    options
        :class:`~swapnet.optim.SolveOptions`; ``time_limit`` is a budget for the whole call
        (reductions, heuristics, bounds and every solve); when it runs out the best plan is
        returned with status ``TIME_LIMIT`` and its gap.
    method
        ``"milp"`` (exact) or ``"greedy"`` (Chvátal's cost-effectiveness greedy, then redundant sites dropped).
    unreachable
        Demand points that reach no candidate at all (``inf`` cost to every site, e.g. on a
        disconnected network): ``"raise"`` (default) raises :class:`~swapnet.errors.InfeasibleError`
        naming them; ``"drop"`` leaves them out of the model and lists them in
        ``details["dropped_demand"]`` (``details["dropped_weight"]`` their total weight); the
        assignment then has rows for the kept demand only.

    Returns
    -------
    SitingPlan
        ``objective`` = total site cost; ``covered`` = number of demand points;
        ``assignment`` columns ``demand``, ``site`` (nearest open), ``cost``, ``covered``.

    Raises
    ------
    InfeasibleError
        When some demand point has no candidate within ``radius`` (named in the message).
    """
    t0 = time.perf_counter()
    C0, dlab0, slab = cost_input(cost, demand=demand, candidates=candidates)
    r = check_radius(radius)
    C, dlab, _, drop = reachable(C0, dlab0, None, unreachable, "set cover")
    n, m = C.shape
    c = as_site_costs(site_costs, m, candidates=candidates)
    fx = fixed_indices(fixed, slab)
    A = cover_of(C, r)
    counts = np.diff(A.indptr)
    if (counts == 0).any():
        bad = [dlab[int(i)] for i in np.flatnonzero(counts == 0)]
        raise InfeasibleError(
            f"set cover infeasible: {len(bad)} demand point(s) have no candidate site within radius {r:g}, "
            f"e.g. {bad[:5]!r}"
        )
    opts = default_options(options)
    # rows already covered by a fixed site need no constraint
    need = np.ones(n, dtype=bool)
    if fx.size:
        need &= np.asarray(A[:, fx].sum(axis=1)).ravel() == 0
    Ar, _, _ = merge_identical_rows(A[need], np.ones(int(need.sum())))
    n_merged = Ar.shape[0]
    keep_cols = np.ones(m, dtype=bool)
    if method == "milp":
        Ar, keep_cols = _reduce_cover(Ar, c, fx)
    open_mask, report, pyomo, extra = _solve_cover(Ar, c, fx, opts, method, t0, keep_cols)

    def verify(plan: SitingPlan, tol: float) -> list[str]:
        chosen = _mask_of(plan.sites, slab)
        problems = []
        cov = covered_rows(C, chosen, r)
        if not cov.all():
            problems.append(f"demand {dlab[int(np.flatnonzero(~cov)[0])]!r} is not covered")
        problems += _check_fixed(chosen, fx, slab)
        problems += _check_value("objective", plan.objective, float(c[chosen].sum()), tol)
        return problems

    return _finish(
        "lscp", open_mask, float(c[open_mask].sum()), report, t0, slab,
        nearest_assignment(C, open_mask, dlab, slab, r), covered=float(n), method=method,
        verify=with_dropped(verify, C0, drop, dlab0), pyomo=pyomo, details={
            "rows_after_merge": n_merged, "rows_after_dominance": Ar.shape[0],
            "sites_after_dominance": int(keep_cols.sum()), "radius": r, **extra,
            **dropped_details(dlab0, drop, None),
        },
    )  # fmt: skip


_COVER_NO_PRESOLVE_NNZ = 50_000
"""Reduced set-cover models up to this many nonzeros are solved without HiGHS's presolve."""


def _reduce_cover(A: sp.csr_matrix, c: FloatArray, fx: IntArray) -> tuple[sp.csr_matrix, NDArray[np.bool_]]:
    """Dominance reductions of the set-cover matrix, repeated until nothing changes.

    * A row whose cover set contains another row's set is redundant (covering
      the smaller set covers it).
    * A site whose covered rows are a subset of another site's, at no lower cost,
      is dominated (ties: the lower index survives): in any cover it can be
      swapped for its dominator. Fixed sites are never removed.

    Returns the reduced matrix (rows removed; dominated columns emptied, so the
    column count is unchanged) and the mask of sites that remain eligible.
    """
    m = A.shape[1]
    keep = np.ones(m, dtype=bool)
    fixed = np.zeros(m, dtype=bool)
    fixed[fx] = True
    A = sp.csr_matrix(A, dtype=np.float64)
    for _ in range(20):
        changed = False
        # row dominance: i redundant when S_k is a strict subset of S_i for some k
        size = np.diff(A.indptr).astype(np.float64)
        ov = (A @ A.T).tocoo()
        sub = (ov.data == size[ov.col]) & (size[ov.row] > size[ov.col])
        red = np.zeros(A.shape[0], dtype=bool)
        red[ov.row[sub]] = True
        if red.any():
            A = sp.csr_matrix(A[~red])
            changed = True
        # column dominance: T_j subset of T_j' and c_j >= c_j'
        AT = A.T.tocsr()
        deg = np.diff(AT.indptr).astype(np.float64)
        Q = (AT @ A).tocsr()
        # candidate pairs first (T_j inside T_j'), the cheap test on the few that pass
        j = np.repeat(np.arange(m), np.diff(Q.indptr))
        hit = np.flatnonzero(Q.data == deg[j])
        j, jj = j[hit], Q.indices[hit]
        better = (c[jj] < c[j]) | ((c[jj] == c[j]) & ((deg[jj] > deg[j]) | ((deg[jj] == deg[j]) & (jj < j))))
        dom = (j != jj) & (c[jj] <= c[j]) & better & keep[jj]
        out = np.zeros(m, dtype=bool)
        out[j[dom]] = True
        out |= (deg == 0) & keep
        out &= keep & ~fixed
        if out.any():
            keep &= ~out
            A = sp.csr_matrix(A @ sp.diags(keep.astype(np.float64)))
            A.eliminate_zeros()
            changed = True
        if not changed:
            break
    return A, keep


def _solve_cover(
    A: sp.csr_matrix,
    c: FloatArray,
    fx: IntArray,
    opts: SolveOptions,
    method: str,
    t0: float,
    keep: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.bool_], SolveReport | None, Any, dict[str, Any]]:
    """Greedy or exact (:func:`~swapnet.siting._cover_lscp.solve_cover`) set cover; also the phases' details."""
    m = A.shape[1]
    start = _greedy_cover(A, c, fx)
    if method == "greedy":
        return start, None, None, {}
    if method != "milp":
        raise InvalidInputError("method", method, "must be 'milp' or 'greedy'")
    kp = np.ones(m, dtype=bool) if keep is None else keep
    lb = np.zeros(m)
    lb[fx] = 1.0

    def build() -> LinearModel:
        return cover_model(A, c, lb, kp.astype(np.float64))

    if A.nnz <= _COVER_NO_PRESOLVE_NNZ and "presolve" not in opts.highs_options:
        opts = dataclasses.replace(opts, presolve=False)  # reduced already; HiGHS's presolve costs more than it saves
    res = solve_cover(A, c, fx, kp, start, opts, Budget.of(opts, t0), _reduce_cover)
    if res.report is not None:
        _raise_if_infeasible(res.report, "set cover")
    rows = A.shape[0]
    report = SolveReport(
        status=res.status,
        objective=res.value,
        bound=res.bound,
        gap=rel_gap(res.value, res.bound),
        build_seconds=max(time.perf_counter() - t0 - res.solve_seconds, 0.0),
        solve_seconds=res.solve_seconds,
        n_rows=rows,
        n_cols=m,
        n_nonzeros=int(A.nnz),
        n_integer=m,
    )
    return res.mask, report, build, dict(res.details)


def _greedy_cover(A: sp.csr_matrix, c: FloatArray, fx: IntArray) -> NDArray[np.bool_]:
    """Chvátal's greedy for weighted set cover, then drop redundant sites (most expensive first)."""
    n, m = A.shape
    chosen = np.zeros(m, dtype=bool)
    chosen[fx] = True
    AT = A.T.tocsr()
    uncovered = np.ones(n, dtype=bool)
    if fx.size:
        uncovered &= np.asarray(A[:, fx].sum(axis=1)).ravel() == 0
    while uncovered.any():
        gain = AT @ uncovered.astype(np.float64)
        gain[chosen] = 0.0
        ratio = np.full(m, np.inf)
        np.divide(c, gain, out=ratio, where=gain > 0)
        j = int(np.argmin(ratio))
        if not np.isfinite(ratio[j]):
            break
        chosen[j] = True
        uncovered[A[:, [j]].nonzero()[0]] = False
    # redundancy elimination: drop a non-fixed site if every row stays covered
    count = A @ chosen.astype(np.float64)
    fixed = np.zeros(m, dtype=bool)
    fixed[fx] = True
    for j in np.flatnonzero(chosen & ~fixed)[np.argsort(-c[chosen & ~fixed], kind="stable")]:
        rows = AT.indices[AT.indptr[j] : AT.indptr[j + 1]]
        if (count[rows] >= 2).all():
            chosen[j] = False
            count[rows] -= 1
    return chosen


def max_coverage(
    cost: Any,
    weights: ArrayLike | None,
    radius: float,
    p: int | None = None,
    *,
    budget: float | None = None,
    site_costs: ArrayLike | None = None,
    fixed: Iterable[Hashable] | None = None,
    demand: Any = None,
    candidates: Any = None,
    options: SolveOptions | None = None,
    method: str = "milp",
    unreachable: str = "raise",
) -> SitingPlan:
    r"""Maximal covering location problem (MCLP): most demand within ``radius`` of an open site.

    .. math::

        \max \sum_i w_i z_i \quad \text{s.t.} \quad z_i \le \sum_{j: d_{ij} \le r} y_j,\;
        \sum_j y_j = p \;\text{and/or}\; \sum_j c_j y_j \le B,\; y_j = 1\; (j \in F),\;
        z_i \in [0, 1],\; y \in \{0, 1\}^m

    ``z`` may be continuous: with integer ``y`` its optimum is integral. Demand
    rows with identical cover sets are merged (weights summed) and rows no
    candidate covers are dropped before solving.

    Parameters
    ----------
    cost
        Costs (see :func:`set_cover`).
    weights
        Demand weight per row (default: ``demand.daily`` or 1 each).
    radius
        Coverage radius.
    p
        Number of sites to open (fixed sites count).
    budget
        Upper bound on total site cost (``site_costs``); give ``p``, ``budget`` or both.
    site_costs, fixed, demand, candidates, options
        As in :func:`set_cover`.
    method
        ``"milp"`` or ``"greedy"`` (largest marginal coverage, per unit cost under a budget).
    unreachable
        As in :func:`set_cover`.

    Returns
    -------
    SitingPlan
        ``objective`` = ``covered`` = covered weight; ``assignment`` columns
        ``demand``, ``weight``, ``site`` (nearest open), ``cost``, ``covered``.
    """
    t0 = time.perf_counter()
    C0, dlab0, slab = cost_input(cost, demand=demand, candidates=candidates)
    r = check_radius(radius)
    w0 = as_weights(weights, C0.shape[0], demand=demand)
    C, dlab, w, drop = reachable(C0, dlab0, w0, unreachable, "max coverage")
    m = C.shape[1]
    fx = fixed_indices(fixed, slab)
    p = check_p(p, m, fx.size)
    c = as_site_costs(site_costs, m, candidates=candidates)
    B = check_budget(budget, c, fx, p)
    A = cover_of(C, r)
    keep = (np.diff(A.indptr) > 0) & (w > 0)
    Ar, wr, _ = merge_identical_rows(A[keep], w[keep])
    opts = default_options(options)
    start = _greedy_coverage(Ar, wr, c, fx, p, B)
    report: SolveReport | None = None
    pyomo = None
    extra: dict[str, Any] = {}
    if method == "milp":
        lb = np.zeros(m)
        lb[fx] = 1.0

        def build() -> LinearModel:
            return _mclp_model(Ar, wr, lb, np.ones(m), c, p, B)

        res = solve_mclp(Ar, wr, c, fx, p, B, start, opts, Budget.of(opts, t0))
        if res.report is not None:
            _raise_if_infeasible(res.report, "max coverage")
        mask = res.mask
        report = _mclp_report(res, Ar, p, B, t0)
        pyomo = build
        extra.update(res.details)
    elif method == "greedy":
        mask = start
    else:
        raise InvalidInputError("method", method, "must be 'milp' or 'greedy'")
    value = float(w[covered_rows(C, mask, r)].sum())

    def verify(plan: SitingPlan, tol: float) -> list[str]:
        chosen = _mask_of(plan.sites, slab)
        cov = covered_rows(C, chosen, r)
        problems = _check_fixed(chosen, fx, slab) + _check_count_budget(chosen, c, p, B, tol)
        problems += _check_value("objective", plan.objective, float(w[cov].sum()), tol)
        problems += _check_value("covered", plan.covered or 0.0, float(w[cov].sum()), tol)
        return problems

    assign = nearest_assignment(C, mask, dlab, slab, r)
    assign.insert(1, "weight", w)
    return _finish(
        "mclp", mask, value, report, t0, slab, assign, covered=value, method=method,
        verify=with_dropped(verify, C0, drop, dlab0), pyomo=pyomo,
        details={"rows_after_merge": Ar.shape[0], "radius": r, "p": p, "budget": B, **extra,
                 **dropped_details(dlab0, drop, w0)},
    )  # fmt: skip


def _greedy_coverage(
    A: sp.csr_matrix, w: FloatArray, c: FloatArray, fx: IntArray, p: int | None, B: float | None
) -> NDArray[np.bool_]:
    """Greedy MCLP: add the site with the largest marginal covered weight (per unit cost under a budget)."""
    m = A.shape[1]
    chosen = np.zeros(m, dtype=bool)
    chosen[fx] = True
    AT = A.T.tocsr()
    uncovered_w = w.copy()
    if fx.size:
        uncovered_w[np.asarray(A[:, fx].sum(axis=1)).ravel() > 0] = 0.0
    spent = float(c[chosen].sum())
    target = p if p is not None else m
    while chosen.sum() < target:
        gain = AT @ uncovered_w
        feasible = ~chosen
        if B is not None:
            feasible &= spent + c <= B + 1e-9
        if not feasible.any():
            break
        score = gain if B is None else gain / np.maximum(c, 1e-12)
        score = np.where(feasible, score, -np.inf)
        j = int(np.argmax(score))
        chosen[j] = True
        spent += float(c[j])
        uncovered_w[AT.indices[AT.indptr[j] : AT.indptr[j + 1]]] = 0.0
    return chosen


def _mclp_report(res: MclpResult, A: sp.csr_matrix, p: int | None, B: float | None, t0: float) -> SolveReport:
    """The report of the whole exact MCLP call: its status, plan value and bound; sizes of the full model."""
    k, m = A.shape
    extra_rows = int(p is not None) + int(B is not None)
    return SolveReport(
        status=res.status,
        objective=res.value,
        bound=res.bound,
        gap=rel_gap(res.value, res.bound),
        build_seconds=max(time.perf_counter() - t0 - res.solve_seconds, 0.0),
        solve_seconds=res.solve_seconds,
        n_rows=k + extra_rows,
        n_cols=m + k,
        n_nonzeros=int(A.nnz) + k + m * extra_rows,
        n_integer=m,
    )
