r"""Coverage and median location models on a demand x site cost matrix.

* :func:`set_cover` — location set covering (LSCP, Toregas et al. 1971).
* :func:`max_coverage` — maximal covering location (MCLP, Church & ReVelle 1974).
* :func:`p_median` — p-median (Hakimi 1964), uncapacitated via the radius
  formulation with level generation (Elloumi 2010; García, Labbé & Marín 2011),
  capacitated with single assignment via the classic assignment formulation.

Every function accepts a cost matrix (array or DataFrame with labels) or a
:class:`~swapnet.network.RoadNetwork` with ``demand=`` and ``candidates=``
(costs are then shortest-path distances), and returns a
:class:`~swapnet.siting.SitingPlan` whose labels are the caller's.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from swapnet.errors import InfeasibleError, InvalidInputError
from swapnet.optim import LinearModel, SolveOptions, SolveReport, SolveStatus
from swapnet.siting._inputs import (
    as_cost_matrix,
    as_site_costs,
    as_weights,
    check_p,
    check_radius,
    cover_matrix,
    fixed_indices,
    merge_identical_rows,
)
from swapnet.siting.plan import SitingPlan, default_options

__all__ = ["max_coverage", "p_median", "set_cover"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


# --------------------------------------------------------------------------- LSCP
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
) -> SitingPlan:
    r"""Location set covering problem (LSCP): the cheapest sites that cover every demand point.

    .. math::

        \min \sum_j c_j y_j \quad \text{s.t.} \quad \sum_{j: d_{ij} \le r} y_j \ge 1 \;\; \forall i,
        \qquad y_j = 1 \;\; \forall j \in F, \qquad y \in \{0, 1\}^m

    Demand rows with identical cover sets are merged before solving.

    Parameters
    ----------
    cost
        ``(n_demand, n_sites)`` costs (distance or time), a DataFrame, or a road network (see module doc).
    radius
        Coverage radius in the cost's unit; ``cost <= radius`` covers.
    site_costs
        Cost of opening each site (default: ``candidates.fixed_cost`` or 1 each, i.e. fewest sites).
    fixed
        Sites that must be open.
    demand, candidates
        With a road network as ``cost``: demand nodes and candidate sites.
    options
        :class:`~swapnet.optim.SolveOptions`.
    method
        ``"milp"`` (exact) or ``"greedy"`` (Chvátal's cost-effectiveness greedy, then redundant sites dropped).

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
    C, dlab, slab = as_cost_matrix(cost, demand=demand, candidates=candidates)
    r = check_radius(radius)
    n, m = C.shape
    c = as_site_costs(site_costs, m, candidates=candidates)
    fx = fixed_indices(fixed, slab)
    A = cover_matrix(C, r)
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
    open_mask, report, pyomo = _solve_cover(Ar, c, fx, opts, method, t0)

    def verify(plan: SitingPlan, tol: float) -> list[str]:
        chosen = _mask_of(plan.sites, slab)
        problems = []
        cov = (C[:, chosen] <= r).any(axis=1) if chosen.any() else np.zeros(n, dtype=bool)
        if not cov.all():
            problems.append(f"demand {dlab[int(np.flatnonzero(~cov)[0])]!r} is not covered")
        problems += _check_fixed(chosen, fx, slab)
        problems += _check_value("objective", plan.objective, float(c[chosen].sum()), tol)
        return problems

    return _finish(
        "lscp", open_mask, float(c[open_mask].sum()), report, t0, slab,
        _nearest_assignment(C, open_mask, dlab, slab, r), covered=float(n), method=method,
        verify=verify, pyomo=pyomo, details={"rows_after_merge": Ar.shape[0], "radius": r},
    )  # fmt: skip


def _solve_cover(
    A: sp.csr_matrix, c: FloatArray, fx: IntArray, opts: SolveOptions, method: str, t0: float
) -> tuple[NDArray[np.bool_], SolveReport | None, Any]:
    m = A.shape[1]
    start = _greedy_cover(A, c, fx)
    if method == "greedy":
        return start, None, None
    if method != "milp":
        raise InvalidInputError("method", method, "must be 'milp' or 'greedy'")

    def build() -> LinearModel:
        lm = LinearModel("lscp")
        lb = np.zeros(m)
        lb[fx] = 1.0
        y = lm.add_vars("y", m, lb=lb, cost=c, binary=True)
        coo = A.tocoo()
        lm.add_constraints("cover", rows=coo.row, cols=y.index[coo.col], vals=1.0, lo=1.0, n=A.shape[0])
        return lm

    lm = build()
    sol = lm.solve(opts, start=start.astype(np.float64))
    _raise_if_infeasible(sol.report, "set cover")
    mask = sol.values("y") > 0.5
    return mask, _rebase(sol.report, t0), build


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
        ratio = np.where(gain > 0, c / np.maximum(gain, 1e-300), np.inf)
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


# --------------------------------------------------------------------------- MCLP
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

    Returns
    -------
    SitingPlan
        ``objective`` = ``covered`` = covered weight; ``assignment`` columns
        ``demand``, ``weight``, ``site`` (nearest open), ``cost``, ``covered``.
    """
    t0 = time.perf_counter()
    C, dlab, slab = as_cost_matrix(cost, demand=demand, candidates=candidates)
    r = check_radius(radius)
    n, m = C.shape
    w = as_weights(weights, n, demand=demand)
    fx = fixed_indices(fixed, slab)
    p = check_p(p, m, fx.size)
    c = as_site_costs(site_costs, m, candidates=candidates)
    B = _check_budget(budget, c, fx, p)
    A = cover_matrix(C, r)
    keep = (np.diff(A.indptr) > 0) & (w > 0)
    Ar, wr, _ = merge_identical_rows(A[keep], w[keep])
    opts = default_options(options)
    start = _greedy_coverage(Ar, wr, c, fx, p, B)
    report: SolveReport | None = None
    pyomo = None
    if method == "milp":

        def build() -> LinearModel:
            lm = LinearModel("mclp", sense="max")
            lb = np.zeros(m)
            lb[fx] = 1.0
            y = lm.add_vars("y", m, lb=lb, binary=True)
            z = lm.add_vars("z", Ar.shape[0], ub=1.0, cost=wr)
            coo = Ar.tocoo()
            k = Ar.shape[0]
            lm.add_constraints(
                "cover",
                rows=np.concatenate([coo.row, np.arange(k)]),
                cols=np.concatenate([y.index[coo.col], z.index]),
                vals=np.concatenate([np.full(coo.nnz, -1.0), np.ones(k)]),
                hi=0.0,
                n=k,
            )
            _add_count_budget(lm, y.index, c, p, B)
            return lm

        lm = build()
        x0 = np.concatenate([start.astype(np.float64), np.minimum(Ar @ start.astype(np.float64), 1.0)])
        sol = lm.solve(opts, start=x0)
        _raise_if_infeasible(sol.report, "max coverage")
        mask = sol.values("y") > 0.5
        report, pyomo = _rebase(sol.report, t0), build
    elif method == "greedy":
        mask = start
    else:
        raise InvalidInputError("method", method, "must be 'milp' or 'greedy'")
    covered_rows = (C[:, mask] <= r).any(axis=1) if mask.any() else np.zeros(n, dtype=bool)
    value = float(w[covered_rows].sum())

    def verify(plan: SitingPlan, tol: float) -> list[str]:
        chosen = _mask_of(plan.sites, slab)
        cov = (C[:, chosen] <= r).any(axis=1) if chosen.any() else np.zeros(n, dtype=bool)
        problems = _check_fixed(chosen, fx, slab) + _check_count_budget(chosen, c, p, B, tol)
        problems += _check_value("objective", plan.objective, float(w[cov].sum()), tol)
        problems += _check_value("covered", plan.covered or 0.0, float(w[cov].sum()), tol)
        return problems

    assign = _nearest_assignment(C, mask, dlab, slab, r)
    assign.insert(1, "weight", w)
    return _finish(
        "mclp", mask, value, report, t0, slab, assign, covered=value, method=method, verify=verify, pyomo=pyomo,
        details={"rows_after_merge": Ar.shape[0], "radius": r, "p": p, "budget": B},
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


# ----------------------------------------------------------------------- p-median
def p_median(
    cost: Any,
    weights: ArrayLike | None,
    p: int,
    *,
    fixed: Iterable[Hashable] | None = None,
    capacities: ArrayLike | None = None,
    demand: Any = None,
    candidates: Any = None,
    options: SolveOptions | None = None,
    method: str = "milp",
) -> SitingPlan:
    r"""p-median: open ``p`` sites minimising demand-weighted cost to the nearest open site.

    Uncapacitated (exact): the radius formulation of García, Labbé & Marín
    (2011). For demand ``i`` let :math:`D_i^0 < D_i^1 < \dots` be its distinct
    costs to candidates; :math:`z_i^k = 1` when no open site is within
    :math:`D_i^{k-1}`:

    .. math::

        \min \sum_i w_i \Big(D_i^0 + \sum_{k \ge 1} (D_i^k - D_i^{k-1}) z_i^k\Big)
        \quad\text{s.t.}\quad
        z_i^1 + \sum_{j: d_{ij} = D_i^0} y_j \ge 1,\;
        z_i^k + \sum_{j: d_{ij} = D_i^{k-1}} y_j \ge z_i^{k-1},\;
        \sum_j y_j = p

    Levels are generated lazily: each demand starts with the levels up to its
    cost in a greedy + interchange (Teitz-Bart) solution; the truncated model
    is a relaxation, and levels are added for demands whose open site lies
    beyond their last level until none does, which proves optimality.

    Capacitated (``capacities`` given): single assignment,
    :math:`\sum_j x_{ij} = 1`, :math:`\sum_i w_i x_{ij} \le Q_j y_j`,
    :math:`x_{ij} \le y_j`, :math:`x, y` binary.

    Parameters
    ----------
    cost
        Costs (see :func:`set_cover`); ``inf`` marks impossible assignments.
    weights
        Demand weights (default: ``demand.daily`` or 1 each).
    p
        Number of sites to open (fixed sites count).
    fixed
        Sites that must be open.
    capacities
        Per-site capacity in weight units (capacitated variant).
    demand, candidates, options
        As in :func:`set_cover`.
    method
        ``"milp"`` (exact), or ``"heuristic"``: greedy + interchange, with a
        lower bound from the truncated LP relaxation (uncapacitated only).

    Returns
    -------
    SitingPlan
        ``objective`` = total weighted cost; ``assignment`` columns ``demand``,
        ``weight``, ``site``, ``cost``.
    """
    t0 = time.perf_counter()
    C, dlab, slab = as_cost_matrix(cost, demand=demand, candidates=candidates)
    n, m = C.shape
    w = as_weights(weights, n, demand=demand)
    fx = fixed_indices(fixed, slab)
    pp = check_p(p, m, fx.size)
    assert pp is not None
    opts = default_options(options)
    if capacities is not None:
        return _cap_p_median(C, w, pp, fx, capacities, dlab, slab, opts, method, t0)
    unreachable = ~np.isfinite(C).any(axis=1) & (w > 0)
    if unreachable.any():
        first = dlab[int(np.flatnonzero(unreachable)[0])]
        raise InfeasibleError(f"p-median infeasible: demand {first!r} reaches no candidate site")
    if method not in ("milp", "heuristic"):
        raise InvalidInputError("method", method, "must be 'milp' or 'heuristic'")
    start = _interchange(C, w, _greedy_median(C, w, pp, fx), fx)
    if (w > 0).any():
        mask, report, pyomo, info = _radius_solve(C, w, pp, fx, start, opts, t0, relax=method == "heuristic")
    else:  # no demand: every choice of p sites costs 0
        mask, pyomo, info = start, None, {}
        report = SolveReport(
            status=SolveStatus.OPTIMAL, objective=0.0, bound=0.0, gap=0.0, build_seconds=time.perf_counter() - t0,
            solve_seconds=0.0, n_rows=0, n_cols=0, n_nonzeros=0, n_integer=0,
        )  # fmt: skip
    value = _median_value(C, w, mask)
    details: dict[str, Any] = {"p": pp, **info}

    def verify(plan: SitingPlan, tol: float) -> list[str]:
        chosen = _mask_of(plan.sites, slab)
        problems = _check_fixed(chosen, fx, slab) + _check_count_budget(chosen, np.ones(m), pp, None, tol)
        problems += _check_value("objective", plan.objective, _median_value(C, w, chosen), tol)
        return problems

    assign = _nearest_assignment(C, mask, dlab, slab, np.inf)
    assign.insert(1, "weight", w)
    assign = assign.drop(columns="covered")
    return _finish(
        "p_median", mask, value, report, t0, slab, assign, covered=None,
        method=method if method == "milp" else "greedy+interchange", verify=verify, pyomo=pyomo, details=details,
    )  # fmt: skip


def _median_value(C: FloatArray, w: FloatArray, mask: NDArray[np.bool_]) -> float:
    if not mask.any():
        return float("inf")
    d = C[:, mask].min(axis=1)
    pos = w > 0
    return float((w[pos] * d[pos]).sum())


def _greedy_median(C: FloatArray, w: FloatArray, p: int, fx: IntArray) -> NDArray[np.bool_]:
    """Greedy p-median (add the site that lowers the weighted cost most), vectorised over sites."""
    n, m = C.shape
    Cf = np.where(np.isfinite(C), C, 1e300)
    chosen = np.zeros(m, dtype=bool)
    chosen[fx] = True
    best = Cf[:, chosen].min(axis=1) if fx.size else np.full(n, 1e300)
    while chosen.sum() < p:
        total = (w[:, None] * np.minimum(best[:, None], Cf)).sum(axis=0)
        total[chosen] = np.inf
        j = int(np.argmin(total))
        chosen[j] = True
        best = np.minimum(best, Cf[:, j])
    return chosen


def _interchange(C: FloatArray, w: FloatArray, mask: NDArray[np.bool_], fx: IntArray) -> NDArray[np.bool_]:
    """Teitz-Bart vertex substitution with the fast-interchange bookkeeping of Whitaker (1983).

    Repeatedly applies the best improving swap (one open site out, one closed in) until none improves.
    Each pass is vectorised over candidate sites: with ``d1``/``d2`` the nearest and second-nearest
    open costs, removing site ``r`` and adding ``j`` changes demand ``i``'s cost to
    ``min(c_ij, d1_i if nearest != r else d2_i)``.
    """
    n, m = C.shape
    Cf = np.where(np.isfinite(C), C, 1e300)
    mask = mask.copy()
    movable = mask.copy()
    movable[fx] = False
    value = _median_value(Cf, w, mask)
    rows = np.arange(n)
    for _ in range(10 * m):
        opened = np.flatnonzero(mask)
        if opened.size == 0 or not (~mask).any():
            break
        sub = Cf[:, opened]
        order = np.argsort(sub, axis=1)[:, :2]
        near = opened[order[:, 0]]
        d1 = sub[rows, order[:, 0]]
        d2 = sub[rows, order[:, 1]] if opened.size > 1 else np.full(n, 1e300)
        closed = np.flatnonzero(~mask)
        Cc = Cf[:, closed]  # n x k
        # cost if we add j and keep all: min(d1, c_ij)
        best_delta = 0.0
        best_move: tuple[int, int] | None = None
        for r in np.flatnonzero(movable):
            base = np.where(near == r, d2, d1)  # cost per demand without r
            new = (w[:, None] * np.minimum(base[:, None], Cc)).sum(axis=0)
            k = int(np.argmin(new))
            delta = float(new[k]) - value
            if delta < best_delta - 1e-9 * max(1.0, abs(value)):
                best_delta, best_move = delta, (int(r), int(closed[k]))
        if best_move is None:
            break
        mask[best_move[0]] = False
        mask[best_move[1]] = True
        movable[best_move[0]] = False
        movable[best_move[1]] = True
        value = _median_value(Cf, w, mask)
    return mask


def _lagrangian(
    C: FloatArray, w: FloatArray, p: int, fx: IntArray, incumbent: NDArray[np.bool_], iters: int = 400
) -> tuple[float, FloatArray, NDArray[np.bool_]]:
    r"""Lagrangian bound for the p-median (assignment constraints relaxed), by subgradient optimisation.

    For multipliers :math:`\lambda`, :math:`L(\lambda) = \sum_i \lambda_i + \min_{|S| = p}
    \sum_{j \in S} \rho_j` with :math:`\rho_j = \sum_i \min(0, w_i d_{ij} - \lambda_i)`; every
    :math:`L(\lambda)` is a lower bound. The sites chosen along the way are evaluated as primal
    solutions. Returns the best bound, its multipliers and the best site set found (incl. ``incumbent``).
    """
    m = C.shape[1]
    Wd = w[:, None] * np.where(np.isfinite(C), C, 1e30)
    best_mask = incumbent.copy()
    ub = _median_value(C, w, incumbent)
    forced = np.zeros(m, dtype=bool)
    forced[fx] = True
    lam = Wd[:, incumbent].min(axis=1) if incumbent.any() else Wd.min(axis=1)
    best_L, best_lam = -np.inf, lam.copy()
    theta, stall = 2.0, 0
    freq = np.zeros(m)
    for it in range(iters):
        R = np.minimum(0.0, Wd - lam[:, None])
        rho = R.sum(axis=0)
        score = np.where(forced, -np.inf, rho)
        chosen = np.zeros(m, dtype=bool)
        chosen[np.argsort(score, kind="stable")[:p]] = True
        L = float(lam.sum() + rho[chosen].sum())
        if L > best_L + 1e-12 * max(1.0, abs(L)):
            best_L, best_lam, stall = L, lam.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2.0, 0
        if it >= iters // 4:
            freq += chosen
        if ub - best_L <= 1e-9 * max(1.0, abs(ub)) or theta < 1e-6:
            break
        g = 1.0 - ((R < 0) & chosen[None, :]).sum(axis=1)
        norm = float((g * g).sum())
        if norm == 0.0:
            break
        lam = np.maximum(lam + theta * (ub - L) / norm * g, 0.0)
    # primal: the sites chosen most often by the subproblem in later iterations, then interchange
    if freq.any():
        top = forced.copy()
        top[np.argsort(-(freq + np.where(forced, np.inf, 0.0)), kind="stable")[:p]] = True
        top = _interchange(C, w, top, fx)
        if _median_value(C, w, top) < ub:
            best_mask = top
    return best_L, best_lam, best_mask


def _radius_solve(
    C: FloatArray,
    w: FloatArray,
    p: int,
    fx: IntArray,
    start: NDArray[np.bool_],
    opts: SolveOptions,
    t0: float,
    *,
    relax: bool,
) -> tuple[NDArray[np.bool_], SolveReport, Any, dict[str, Any]]:
    """Solve the radius formulation with level generation (see :func:`p_median`).

    A Lagrangian relaxation (subgradient) gives a bound, a primal solution
    (improved by interchange) and, through its multipliers, the levels each
    demand is likely to need. The MIP is then solved on those levels
    (warm-started), adding levels for demands served beyond them until none
    is, which makes the truncated optimum the true optimum. With ``relax``
    only the Lagrangian heuristic runs.
    """
    pos = w > 0
    Cs = C[pos]
    ws = w[pos]
    ns, m = Cs.shape
    order = np.argsort(Cs, axis=1, kind="stable")
    srt = np.take_along_axis(Cs, order, axis=1)
    newlvl = np.ones_like(srt, dtype=bool)
    newlvl[:, 1:] = srt[:, 1:] != srt[:, :-1]
    lvl = np.cumsum(newlvl, axis=1) - 1  # 0-based level of each sorted position
    nlev = lvl[:, -1] + 1
    finite_lv = np.where(np.isfinite(srt), lvl, -1).max(axis=1) + 1  # levels with a finite distance
    rows = np.arange(ns)
    # initial truncation: the level of the start solution's cost (+1 so that it is costed exactly)
    dstart = np.where(start[None, :], Cs, np.inf).min(axis=1)
    first_ge = np.minimum((srt < dstart[:, None]).sum(axis=1), m - 1)
    k0 = lvl[rows, first_ge] + 1
    K = np.minimum(np.maximum(2 * k0, k0 + 8), finite_lv)  # LP solutions spread wider than integer ones

    def short_of(y: FloatArray, K: IntArray) -> NDArray[np.bool_]:
        # coverage of demand i by (fractional) open sites within its K_i levels
        cov = np.cumsum(y[order], axis=1)[rows, _last_pos_of_level(lvl, K - 1)]
        out: NDArray[np.bool_] = (cov < 1.0 - 1e-7) & (K < finite_lv)
        return out

    def grow(K: IntArray, short: NDArray[np.bool_]) -> IntArray:
        return np.where(short, np.minimum(np.maximum(2 * K, K + 4), finite_lv), K)

    solve_total = 0.0
    if relax:
        bound, _, lag_mask = _lagrangian(C, w, p, fx, start)
        best = lag_mask
        value = _median_value(C, w, best)
        report = SolveReport(
            status=SolveStatus.FEASIBLE, objective=value, bound=bound,
            gap=abs(value - bound) / max(abs(value), 1e-9), build_seconds=time.perf_counter() - t0,
            solve_seconds=0.0, n_rows=0, n_cols=0, n_nonzeros=0, n_integer=0,
        )  # fmt: skip
        return best, report, None, {"lagrangian_bound": bound}
    # Lagrangian bound and primal; its multipliers say how far each demand may look: in an optimal
    # LP solution demand i pays at most lambda_i, so levels with w_i * D > lambda_i are rarely needed
    lag_bound, lam, best = _lagrangian(C, w, p, fx, start)
    reach = lam[pos] / np.maximum(ws, 1e-300)
    k_lam = np.minimum((srt <= reach[:, None] * (1 + 1e-9)).sum(axis=1), m - 1)
    K = np.maximum(K, np.minimum(lvl[rows, k_lam] + 2, finite_lv))
    info: dict[str, Any] = {"lagrangian_bound": lag_bound}
    lp_bound = lag_bound
    # phase 2: MIP with level generation, warm-started from the best heuristic
    x0 = best
    mip_iter = 0
    while True:
        mip_iter += 1
        # make sure the warm start is costed exactly
        d0 = np.where(x0[None, :], Cs, np.inf).min(axis=1)
        fge = np.minimum((srt < d0[:, None]).sum(axis=1), m - 1)
        K = np.maximum(K, np.minimum(lvl[rows, fge] + 1, finite_lv))
        lm = _radius_model(srt, order, lvl, ws, K, p, fx, m)
        sol = lm.solve(opts, start=_radius_start(lm, x0.astype(np.float64), order, lvl, K))
        solve_total += sol.report.solve_seconds
        _raise_if_infeasible(sol.report, "p-median")
        if sol.x is None:
            break
        mask = sol.values("y") > 0.5
        x0 = mask if _median_value(C, w, mask) <= _median_value(C, w, x0) else x0
        short = short_of(mask.astype(np.float64), K)
        if not short.any() or sol.status != SolveStatus.OPTIMAL:
            break
        K = grow(K, short)
    Kf = K.copy()

    def build() -> LinearModel:
        return _radius_model(srt, order, lvl, ws, Kf, p, fx, m)

    info.update(levels_used=int(K.sum()), levels_total=int(nlev.sum()), mip_iterations=mip_iter)
    true_val = _median_value(C, w, x0)
    r = sol.report
    status = r.status if r.status.has_solution else SolveStatus.FEASIBLE
    bound = r.bound if status == SolveStatus.OPTIMAL else max(lp_bound, min(r.bound, true_val))
    report = SolveReport(
        status=status, objective=true_val, bound=bound, gap=abs(true_val - bound) / max(abs(true_val), 1e-9),
        build_seconds=time.perf_counter() - t0 - solve_total, solve_seconds=solve_total, n_rows=r.n_rows,
        n_cols=r.n_cols, n_nonzeros=r.n_nonzeros, n_integer=r.n_integer,
    )  # fmt: skip
    return x0, report, build, info


def _last_pos_of_level(lvl: IntArray, k: IntArray) -> IntArray:
    """Sorted position of the last entry of level ``k[i]`` in each row."""
    out: IntArray = (lvl <= k[:, None]).sum(axis=1) - 1
    return out


def _radius_model(
    srt: FloatArray, order: IntArray, lvl: IntArray, w: FloatArray, K: IntArray, p: int, fx: IntArray, m: int
) -> LinearModel:
    ns = srt.shape[0]
    lm = LinearModel("p_median")
    lb = np.zeros(m)
    lb[fx] = 1.0
    y = lm.add_vars("y", m, lb=lb, binary=True)
    # distinct level distances D_i^k for k < K_i
    first_of_level = np.zeros_like(lvl, dtype=bool)
    first_of_level[:, 0] = True
    first_of_level[:, 1:] = lvl[:, 1:] != lvl[:, :-1]
    ri, ci = np.nonzero(first_of_level & (lvl < K[:, None]))
    D = srt[ri, ci]  # row-major: per demand, levels 0..K_i-1 in order
    lev = lvl[ri, ci]
    # z variables for levels 1..K_i-1: z_i^k, cost w_i (D^k - D^{k-1})
    zsel = lev >= 1
    zr = ri[zsel]
    zcost = w[zr] * (D[zsel] - D[np.flatnonzero(zsel) - 1])
    nz = int(zsel.sum())
    z = lm.add_vars("z", nz, ub=1.0, cost=zcost)
    lm.offset = float((w * srt[:, 0]).sum())
    # z index of (i, k): position among zsel entries
    zid = np.full(D.size, -1, dtype=np.int64)
    zid[zsel] = z.index
    # constraint for (i, k>=1): z_ik + sum_{j: d_ij = D_i^{k-1}} y_j - z_i,k-1 >= 0  (z_i0 := 1 on the rhs)
    crow = np.arange(nz)
    entry_of_z = np.flatnonzero(zsel)  # index into (ri, lev) arrays
    prev_is_level0 = lev[entry_of_z] == 1
    # sites at level k-1 of demand i: sorted positions with lvl == k-1
    site_mask = lvl < (K[:, None] - 1)  # levels 0..K_i-2 feed constraints for k = 1..K_i-1
    si, sj = np.nonzero(site_mask)
    # map (i, level) -> constraint row: rows are ordered by (i, k); row of (i, k) = base_i + (k - 1)
    base = np.concatenate([[0], np.cumsum(np.maximum(K - 1, 0))[:-1]])
    srow = base[si] + lvl[si, sj]
    rows = np.concatenate([crow, srow, crow[~prev_is_level0]])
    cols = np.concatenate([z.index, y.index[order[si, sj]], zid[entry_of_z[~prev_is_level0] - 1]])
    vals = np.concatenate([np.ones(nz), np.ones(srow.size), -np.ones(int((~prev_is_level0).sum()))])
    lo = np.where(prev_is_level0, 1.0, 0.0)
    lm.add_constraints("radius", rows=rows, cols=cols, vals=vals, lo=lo, n=nz)
    # demands that cannot reach every site (inf costs) and whose levels are exhausted must be served within
    # their last finite level: sum_{j: d_ij <= D^{K-1}} y_j >= 1
    finite_lv = np.where(np.isfinite(srt), lvl, -1).max(axis=1) + 1
    must = np.flatnonzero((K >= finite_lv) & ~np.isfinite(srt[:, -1]))
    if must.size:
        sel = np.isfinite(srt[must])
        mi, mj = np.nonzero(sel)
        lm.add_constraints("reach", rows=mi, cols=y.index[order[must[mi], mj]], vals=1.0, lo=1.0, n=must.size)
    lm.add_constraints("count", rows=np.zeros(m, dtype=np.int64), cols=y.index, vals=1.0, lo=p, hi=p, n=1)
    del ns
    return lm


def _radius_start(lm: LinearModel, y0: FloatArray, order: IntArray, lvl: IntArray, K: IntArray) -> FloatArray:
    """Column values of the radius model for open sites ``y0`` (z = 1 while no open site within D^{k-1})."""
    # open site count within each level, cumulative
    opened_sorted = y0[order] > 0.5
    ns = order.shape[0]
    max_l = int(lvl.max()) + 1
    per_level = np.zeros((ns, max_l))
    np.add.at(per_level, (np.repeat(np.arange(ns), lvl.shape[1]), lvl.ravel()), opened_sorted.ravel())
    cum = np.cumsum(per_level, axis=1)
    # z_ik for k = 1..K_i-1 is 1 if cum[i, k-1] == 0; entries in row-major (i, k) order like the model
    valid = np.arange(1, max_l)[None, :] < K[:, None]
    z = (cum[:, : max_l - 1] == 0)[valid].astype(np.float64)
    return np.concatenate([y0, z, np.zeros(lm.n_cols - y0.size - z.size)])


def _cap_p_median(
    C: FloatArray,
    w: FloatArray,
    p: int,
    fx: IntArray,
    capacities: ArrayLike,
    dlab: tuple[Hashable, ...],
    slab: tuple[Hashable, ...],
    opts: SolveOptions,
    method: str,
    t0: float,
) -> SitingPlan:
    n, m = C.shape
    Q = np.asarray(capacities, dtype=np.float64).ravel()
    if Q.size == 1:
        Q = np.full(m, float(Q[0]))
    if Q.size != m or not np.isfinite(Q).all() or (Q < 0).any():
        raise InvalidInputError("capacities", Q.tolist()[:5], f"needs {m} finite non-negative capacities")
    if method != "milp":
        raise InvalidInputError("method", method, "the capacitated p-median supports only 'milp'")
    top = np.sort(Q)[::-1][:p].sum()
    if top < w.sum() - 1e-9:
        raise InfeasibleError(
            f"capacitated p-median infeasible: the {p} largest capacities total {top:g} < demand {w.sum():g}"
        )
    ii, jj = np.nonzero(np.isfinite(C))
    k = ii.size

    def build() -> LinearModel:
        lm = LinearModel("cap_p_median")
        lb = np.zeros(m)
        lb[fx] = 1.0
        y = lm.add_vars("y", m, lb=lb, binary=True)
        x = lm.add_vars("x", k, cost=w[ii] * C[ii, jj], binary=True)
        lm.add_constraints("assign", rows=ii, cols=x.index, vals=1.0, lo=1.0, hi=1.0, n=n)
        lm.add_constraints(
            "link", rows=np.concatenate([np.arange(k), np.arange(k)]), cols=np.concatenate([x.index, y.index[jj]]),
            vals=np.concatenate([np.ones(k), -np.ones(k)]), hi=0.0, n=k,
        )  # fmt: skip
        lm.add_constraints(
            "capacity", rows=np.concatenate([jj, np.arange(m)]), cols=np.concatenate([x.index, y.index]),
            vals=np.concatenate([w[ii], -Q]), hi=0.0, n=m,
        )  # fmt: skip
        lm.add_constraints("count", rows=np.zeros(m, dtype=np.int64), cols=y.index, vals=1.0, lo=p, hi=p, n=1)
        return lm

    lm = build()
    sol = lm.solve(opts)
    _raise_if_infeasible(sol.report, "capacitated p-median")
    if not sol.status.has_solution:
        mask = np.zeros(m, dtype=bool)
        site_of = np.full(n, -1)
    else:
        mask = sol.values("y") > 0.5
        xv = sol.values("x") > 0.5
        site_of = np.full(n, -1)
        site_of[ii[xv]] = jj[xv]
    value = float((w * C[np.arange(n), np.maximum(site_of, 0)]).sum()) if (site_of >= 0).all() else float("nan")
    assign = pd.DataFrame(
        {
            "demand": list(dlab),
            "weight": w,
            "site": [slab[int(j)] if j >= 0 else None for j in site_of],
            "cost": np.where(site_of >= 0, C[np.arange(n), np.maximum(site_of, 0)], np.nan),
        }
    )

    def verify(plan: SitingPlan, tol: float) -> list[str]:
        chosen = _mask_of(plan.sites, slab)
        problems = _check_fixed(chosen, fx, slab) + _check_count_budget(chosen, np.ones(m), p, None, tol)
        pos = {lab: j for j, lab in enumerate(slab)}
        sites = plan.assignment["site"].tolist()
        if len(sites) != n or any(s not in pos for s in sites):
            return [*problems, "every demand needs exactly one assigned site"]
        js = np.array([pos[s] for s in sites])
        if not chosen[js].all():
            problems.append("a demand is assigned to a closed site")
        load = np.bincount(js, weights=w, minlength=m)
        over = load > Q + tol * np.maximum(1.0, Q)
        if over.any():
            j = int(np.flatnonzero(over)[0])
            problems.append(f"site {slab[j]!r} load {load[j]:g} exceeds capacity {Q[j]:g}")
        problems += _check_value("objective", plan.objective, float((w * C[np.arange(n), js]).sum()), tol)
        return problems

    return _finish(
        "p_median", mask, value, _rebase(sol.report, t0), t0, slab, assign, covered=None, method="milp",
        verify=verify, pyomo=build, details={"p": p, "capacitated": True},
    )  # fmt: skip


# -------------------------------------------------------------------- shared bits
def _check_budget(budget: float | None, c: FloatArray, fx: IntArray, p: int | None) -> float | None:
    if budget is None:
        if p is None:
            raise InvalidInputError("p", None, "give p, budget, or both")
        return None
    B = float(budget)
    if not np.isfinite(B) or B < 0:
        raise InvalidInputError("budget", budget, "must be finite and non-negative")
    need = float(c[fx].sum())
    if need > B + 1e-9:
        raise InvalidInputError("budget", budget, f"is below the cost of the fixed sites ({need:g})")
    if p is not None:
        extra = np.sort(np.delete(c, fx))[: max(p - fx.size, 0)].sum()
        if need + extra > B + 1e-9:
            raise InvalidInputError(
                "budget", budget, f"cannot pay for {p} sites (the cheapest choice costs {need + extra:g})"
            )
    return B


def _add_count_budget(lm: LinearModel, y: IntArray, c: FloatArray, p: int | None, B: float | None) -> None:
    m = y.size
    if p is not None:
        lm.add_constraints("count", rows=np.zeros(m, dtype=np.int64), cols=y, vals=1.0, lo=p, hi=p, n=1)
    if B is not None:
        lm.add_constraints("budget", rows=np.zeros(m, dtype=np.int64), cols=y, vals=c, hi=B, n=1)


def _check_count_budget(
    chosen: NDArray[np.bool_], c: FloatArray, p: int | None, B: float | None, tol: float
) -> list[str]:
    out = []
    if p is not None and int(chosen.sum()) != p:
        out.append(f"{int(chosen.sum())} sites open, p = {p}")
    if B is not None and float(c[chosen].sum()) > B * (1 + tol) + tol:
        out.append(f"site cost {float(c[chosen].sum()):g} exceeds budget {B:g}")
    return out


def _check_fixed(chosen: NDArray[np.bool_], fx: IntArray, slab: tuple[Hashable, ...]) -> list[str]:
    missing = fx[~chosen[fx]]
    return [f"fixed site {slab[int(j)]!r} is not open" for j in missing]


def _check_value(name: str, got: float, want: float, tol: float) -> list[str]:
    if abs(got - want) > tol * max(1.0, abs(want)):
        return [f"{name} {got:.10g} != recomputed {want:.10g}"]
    return []


def _mask_of(sites: tuple[Hashable, ...], slab: tuple[Hashable, ...]) -> NDArray[np.bool_]:
    pos = {lab: j for j, lab in enumerate(slab)}
    mask = np.zeros(len(slab), dtype=bool)
    for s in sites:
        mask[pos[s]] = True
    return mask


def _nearest_assignment(
    C: FloatArray, mask: NDArray[np.bool_], dlab: tuple[Hashable, ...], slab: tuple[Hashable, ...], r: float
) -> pd.DataFrame:
    n = C.shape[0]
    if mask.any():
        opened = np.flatnonzero(mask)
        k = np.argmin(C[:, opened], axis=1)
        d = C[np.arange(n), opened[k]]
        site: list[Hashable | None] = [slab[int(opened[i])] if np.isfinite(d[j]) else None for j, i in enumerate(k)]
    else:
        d = np.full(n, np.inf)
        site = [None] * n
    return pd.DataFrame({"demand": list(dlab), "site": site, "cost": d, "covered": d <= r})


def _raise_if_infeasible(report: SolveReport, what: str) -> None:
    if report.status == SolveStatus.INFEASIBLE:
        raise InfeasibleError(f"{what}: the solver proved the model infeasible")


def _rebase(report: SolveReport, t0: float) -> SolveReport:
    """Report with build time counted from ``t0`` (input checks, reductions and heuristics included)."""
    total_build = time.perf_counter() - t0 - report.solve_seconds
    return SolveReport(**{**report.__dict__, "build_seconds": max(total_build, 0.0)})


def _finish(
    model: str,
    mask: NDArray[np.bool_],
    objective: float,
    report: SolveReport | None,
    t0: float,
    slab: tuple[Hashable, ...],
    assignment: pd.DataFrame,
    *,
    covered: float | None,
    method: str,
    verify: Any,
    pyomo: Any,
    details: dict[str, Any],
) -> SitingPlan:
    if report is None:
        status, bound, gap = SolveStatus.FEASIBLE, float("nan"), float("nan")
        build, solve = time.perf_counter() - t0, 0.0
    else:
        status, bound, gap = report.status, report.bound, report.gap
        if status == SolveStatus.OPTIMAL:
            gap = max(gap, 0.0)
        build, solve = report.build_seconds, report.solve_seconds
        details = {**details, "rows": report.n_rows, "cols": report.n_cols, "nonzeros": report.n_nonzeros}
    return SitingPlan(
        model=model,
        sites=tuple(slab[int(j)] for j in np.flatnonzero(mask)),
        objective=objective,
        bound=bound,
        gap=gap,
        status=status,
        covered=covered,
        assignment=assignment,
        build_seconds=build,
        solve_seconds=solve,
        method=method,
        details=details,
        report=report,
        _verify=verify,
        _pyomo=(lambda: pyomo().to_pyomo()) if pyomo is not None else None,
    )
