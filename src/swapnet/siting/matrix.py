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

import dataclasses
import time
import warnings
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from swapnet.errors import InfeasibleError, InvalidInputError
from swapnet.optim import LinearModel, SolveOptions, SolveReport, SolveStatus
from swapnet.optim.model import proven, rel_gap
from swapnet.siting._budget import Budget
from swapnet.siting._inputs import (
    as_cost_matrix,
    as_site_costs,
    as_weights,
    check_dropped,
    check_magnitude,
    check_p,
    check_radius,
    cover_matrix,
    drop_unreachable,
    dropped_details,
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
    C0, dlab0, slab = as_cost_matrix(cost, demand=demand, candidates=candidates)
    r = check_radius(radius)
    C, dlab, _, drop = _reachable_part(C0, dlab0, None, unreachable, "set cover")
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
    n_merged = Ar.shape[0]
    keep_cols = np.ones(m, dtype=bool)
    if method == "milp":
        Ar, keep_cols = _reduce_cover(Ar, c, fx)
    open_mask, report, pyomo = _solve_cover(Ar, c, fx, opts, method, t0, keep_cols)

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
        verify=_with_dropped(verify, C0, drop, dlab0), pyomo=pyomo, details={
            "rows_after_merge": n_merged, "rows_after_dominance": Ar.shape[0],
            "sites_after_dominance": int(keep_cols.sum()), "radius": r, **dropped_details(dlab0, drop, None),
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
        Q = (AT @ A).tocoo()
        j, jj = Q.row, Q.col
        better = (c[jj] < c[j]) | ((c[jj] == c[j]) & ((deg[jj] > deg[j]) | ((deg[jj] == deg[j]) & (jj < j))))
        dom = (Q.data == deg[j]) & (j != jj) & (c[jj] <= c[j]) & better & keep[jj]
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
        ub = np.ones(m) if keep is None else np.maximum(keep, lb)
        y = lm.add_vars("y", m, lb=lb, ub=ub, cost=c, binary=True)
        coo = A.tocoo()
        lm.add_constraints("cover", rows=coo.row, cols=y.index[coo.col], vals=1.0, lo=1.0, n=A.shape[0])
        return lm

    lm = build()
    if keep is not None and A.nnz <= _COVER_NO_PRESOLVE_NNZ and "presolve" not in opts.highs_options:
        opts = dataclasses.replace(opts, presolve=False)  # reduced already; HiGHS's presolve costs more than it saves
    sol = lm.solve(opts, start=start.astype(np.float64), deadline=Budget.of(opts, t0).end)
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
    C0, dlab0, slab = as_cost_matrix(cost, demand=demand, candidates=candidates)
    r = check_radius(radius)
    w0 = as_weights(weights, C0.shape[0], demand=demand)
    C, dlab, w, drop = _reachable_part(C0, dlab0, w0, unreachable, "max coverage")
    n, m = C.shape
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
        sol = lm.solve(opts, start=x0, deadline=Budget.of(opts, t0).end)
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
        "mclp", mask, value, report, t0, slab, assign, covered=value, method=method,
        verify=_with_dropped(verify, C0, drop, dlab0), pyomo=pyomo,
        details={"rows_after_merge": Ar.shape[0], "radius": r, "p": p, "budget": B, **dropped_details(dlab0, drop, w0)},
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
    capacity: ArrayLike | None = None,
    loads: ArrayLike | None = None,
    demand: Any = None,
    candidates: Any = None,
    options: SolveOptions | None = None,
    method: str = "milp",
    capacities: ArrayLike | None = None,
    unreachable: str = "raise",
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
    beyond their last level until none does, which proves optimality. The
    heuristics and a Lagrangian bound run first on prefixes of the sorted cost
    rows; no MIP is built when the bound already proves the heuristic plan, nor
    when the time budget left is below ``nonzeros / 10,000`` seconds (the plan is
    then the heuristic one with the Lagrangian bound, status ``TIME_LIMIT``).

    Capacitated (``capacity`` given): single assignment,
    :math:`\sum_j x_{ij} = 1`, :math:`\sum_i l_i x_{ij} \le Q_j y_j` (loads
    :math:`l`, default the weights),
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
    capacity
        Per-site capacity (one value for every site, or one per site) in load units (capacitated variant).
    loads
        Capacity each demand uses when ``capacity`` is given (default: its weight). With
        ``weights=None`` and ``loads=demand`` the objective is the plain sum of costs, as in
        Osman & Christofides' capacitated p-median.
    capacities
        Deprecated name of ``capacity``.
    unreachable
        As in :func:`set_cover`. Demand that reaches some candidate, but not from any ``p``
        sites together (e.g. ``p`` smaller than the number of network components holding
        demand), raises :class:`~swapnet.errors.InfeasibleError` naming it in either mode.
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
    C0, dlab0, slab = as_cost_matrix(cost, demand=demand, candidates=candidates)
    w0 = as_weights(weights, C0.shape[0], demand=demand)
    C, dlab, w, drop = _reachable_part(C0, dlab0, w0, unreachable, "p-median")
    m = C.shape[1]
    fx = fixed_indices(fixed, slab)
    pp = check_p(p, m, fx.size)
    assert pp is not None
    opts = default_options(options)
    if capacities is not None:
        warnings.warn("p_median(capacities=) is deprecated; use capacity=", DeprecationWarning, stacklevel=2)
        if capacity is not None:
            raise InvalidInputError("capacities", capacities, "give capacity= only (capacities is its old name)")
        capacity = capacities
    if capacity is not None:
        ld = w if loads is None else as_weights(loads, C0.shape[0], "loads")[~drop]
        plan = _cap_p_median(C, w, ld, pp, fx, capacity, dlab, slab, opts, method, t0)
        return _dropped_plan(plan, C0, drop, dlab0, w0)
    if loads is not None:
        raise InvalidInputError("loads", "given", "only means something with capacity=")
    _check_p_reach(C, w, pp, fx, dlab)
    if method not in ("milp", "heuristic"):
        raise InvalidInputError("method", method, "must be 'milp' or 'heuristic'")
    budget = Budget.of(opts, t0)
    if (w > 0).any():
        mask, report, pyomo, info = _radius_solve(C, w, pp, fx, opts, budget, t0, relax=method == "heuristic")
    else:  # no demand: every choice of p sites costs 0
        mask, pyomo, info = np.zeros(m, dtype=bool), None, {}
        mask[fx] = True
        mask[np.flatnonzero(~mask)[: pp - int(mask.sum())]] = True
        report = SolveReport(
            status=SolveStatus.OPTIMAL, objective=0.0, bound=0.0, gap=0.0, build_seconds=time.perf_counter() - t0,
            solve_seconds=0.0, n_rows=0, n_cols=0, n_nonzeros=0, n_integer=0,
        )  # fmt: skip
    value = _median_value(C, w, mask)
    details: dict[str, Any] = {"p": pp, **info, **dropped_details(dlab0, drop, w0)}

    def verify(plan: SitingPlan, tol: float) -> list[str]:
        chosen = _mask_of(plan.sites, slab)
        problems = _check_fixed(chosen, fx, slab) + _check_count_budget(chosen, np.ones(m), pp, None, tol)
        reach = np.isfinite(C[:, chosen]).any(axis=1) | (w == 0) if chosen.any() else w == 0
        if not reach.all():
            problems.append(f"demand {dlab[int(np.flatnonzero(~reach)[0])]!r} is served by no open site")
        problems += _check_value("objective", plan.objective, _median_value(C, w, chosen), tol)
        return problems

    assign = _nearest_assignment(C, mask, dlab, slab, np.inf)
    assign.insert(1, "weight", w)
    assign = assign.drop(columns="covered")
    return _finish(
        "p_median", mask, value, report, t0, slab, assign, covered=None,
        method=method if method == "milp" else "greedy+interchange", verify=_with_dropped(verify, C0, drop, dlab0),
        pyomo=pyomo, details=details,
    )  # fmt: skip


def _median_value(C: FloatArray, w: FloatArray, mask: NDArray[np.bool_]) -> float:
    if not mask.any():
        return float("inf")
    d = C[:, mask].min(axis=1)
    pos = w > 0
    return float((w[pos] * d[pos]).sum())


# ------------------------------------------------------------- p-median: sorted rows
@dataclass(frozen=True)
class _Sorted:
    """Every demand's candidate costs in increasing order, with their levels and the sites' ranks.

    The heuristics, the Lagrangian bound and the radius model only ever touch a
    *prefix* of each sorted row (the sites closer than some threshold), so after
    the one sort nothing scans the whole ``n x m`` matrix again.
    """

    srt: FloatArray
    """``(n, m)`` costs, each row sorted increasingly (``inf`` last)."""
    order: NDArray[np.int32]
    """Site at each sorted position."""
    lvl: NDArray[np.int32]
    """0-based level (index of the distinct cost) at each sorted position."""
    rank: NDArray[np.int32]
    """Sorted position of each site in each row."""
    finite_lv: IntArray
    """Number of levels with a finite cost, per row."""
    big: float
    """A finite stand-in for infinite costs in the heuristics."""

    @classmethod
    def of(cls, C: FloatArray) -> _Sorted:
        """Sort every row of ``C`` (each row needs one finite entry)."""
        n, m = C.shape
        order = np.argsort(C, axis=1, kind="stable").astype(np.int32)
        srt = np.take_along_axis(C, order, axis=1)
        new = np.empty((n, m), dtype=bool)
        new[:, 0] = False
        np.not_equal(srt[:, 1:], srt[:, :-1], out=new[:, 1:])
        lvl = np.cumsum(new, axis=1, dtype=np.int32)
        del new
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(m, dtype=np.int32)[None, :], axis=1)
        nfin = _row_count_below(srt, np.full(n, np.inf))
        finite_lv = lvl[np.arange(n), np.maximum(nfin - 1, 0)].astype(np.int64) + 1
        top = float(srt[np.arange(n), np.maximum(nfin - 1, 0)].max(initial=0.0))
        return cls(srt, order, lvl, rank, finite_lv, (top + 1.0) * 1e6)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, m)``."""
        n, m = self.srt.shape
        return int(n), int(m)

    def open_positions(self, mask: NDArray[np.bool_]) -> tuple[IntArray, IntArray]:
        """Sorted positions of each row's nearest and second-nearest open site (``m`` when none)."""
        n, m = self.shape
        opened = np.flatnonzero(mask)
        if opened.size == 0:
            return np.full(n, m, dtype=np.int64), np.full(n, m, dtype=np.int64)
        rk = self.rank[:, opened]
        if opened.size == 1:
            return rk[:, 0].astype(np.int64), np.full(n, m, dtype=np.int64)
        part = np.partition(rk, 1, axis=1)
        return part[:, 0].astype(np.int64), part[:, 1].astype(np.int64)

    def cost_at(self, f: IntArray) -> FloatArray:
        """Cost at sorted position ``f[i]`` of every row (``big`` for ``m`` or an infinite cost)."""
        n, m = self.shape
        out = np.full(n, self.big)
        ok = f < m
        out[ok] = np.minimum(self.srt[np.flatnonzero(ok), f[ok]], self.big)
        return out

    def level_of_open(self, mask: NDArray[np.bool_]) -> IntArray:
        """Level of each row's nearest open site."""
        n, m = self.shape
        f1, _ = self.open_positions(mask)
        out: IntArray = self.lvl[np.arange(n), np.minimum(f1, m - 1)].astype(np.int64)
        return out

    def prefix(self, t: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        """Rows, sorted positions and flat indices of the first ``t[i]`` positions of every row."""
        n, m = self.shape
        t = t.astype(np.int64)
        rows = np.repeat(np.arange(n, dtype=np.int64), t)
        pos = _ragged_arange(t)
        return rows, pos, rows * m + pos

    def value(self, w: FloatArray, mask: NDArray[np.bool_]) -> float:
        """Weighted cost of serving every row from its nearest open site (``big`` when unreachable)."""
        f1, _ = self.open_positions(mask)
        return float((w * self.cost_at(f1)).sum())


def _bincount(x: NDArray[np.integer[Any]], weights: FloatArray, minlength: int) -> FloatArray:
    """``np.bincount`` with weights, always float (numpy returns ints for empty input)."""
    out: FloatArray = np.bincount(x, weights=weights, minlength=minlength).astype(np.float64, copy=False)
    return out


def _ragged_arange(cnt: IntArray) -> IntArray:
    """``concatenate([arange(c) for c in cnt])`` without a Python loop."""
    total = int(cnt.sum())
    starts = np.cumsum(cnt) - cnt
    out: IntArray = np.arange(total, dtype=np.int64) - np.repeat(starts, cnt)
    return out


def _row_count_below(a: NDArray[Any], v: NDArray[Any], *, strict: bool = True) -> IntArray:
    """Per row of the row-sorted ``a``: how many entries are ``< v[i]`` (``<= v[i]`` unless ``strict``).

    A vectorised binary search: ``log2(m)`` gathers of one entry per row.
    """
    n, m = a.shape
    lo = np.zeros(n, dtype=np.int64)
    hi = np.full(n, m, dtype=np.int64)
    rows = np.arange(n)
    while True:
        act = lo < hi
        if not act.any():
            return lo
        mid = (lo + hi) // 2
        x = a[rows, np.minimum(mid, m - 1)]
        go = (x < v) if strict else (x <= v)
        lo = np.where(act & go, mid + 1, lo)
        hi = np.where(act & ~go, mid, hi)


def _greedy_median(S: _Sorted, C: FloatArray, w: FloatArray, p: int, fx: IntArray) -> NDArray[np.bool_]:
    """Greedy p-median: add the site that lowers the weighted cost most.

    After the first site only the demands' entries closer than their current
    nearest open site are visited (prefixes of the sorted rows).
    """
    m = S.shape[1]
    chosen = np.zeros(m, dtype=bool)
    chosen[fx] = True
    if not chosen.any():
        total = w @ np.minimum(C, S.big)
        chosen[int(np.argmin(total))] = True
    while chosen.sum() < p:
        f1, _ = S.open_positions(chosen)
        d1 = S.cost_at(f1)
        rows, _, flat = S.prefix(f1)
        d = np.minimum(S.srt.ravel()[flat], S.big)
        gain = _bincount(S.order.ravel()[flat], weights=w[rows] * (d1[rows] - d), minlength=m)
        gain[chosen] = -np.inf
        chosen[int(np.argmax(gain))] = True
    return chosen


def _interchange(S: _Sorted, w: FloatArray, mask: NDArray[np.bool_], fx: IntArray, budget: Budget) -> NDArray[np.bool_]:
    r"""Teitz-Bart vertex substitution with fast-interchange bookkeeping (Whitaker 1983; Resende & Werneck 2007).

    Applies the best improving swap (one open site ``r`` out, one closed ``j``
    in) until none improves or the budget runs out. With ``d1``/``d2`` the
    nearest and second-nearest open costs of demand ``i``, the change of a swap is

    .. math::

        \Delta(r, j) = \sum_i w_i \min(0, d_{ij} - d1_i) + \sum_{i: \text{near}(i) = r} w_i (d2_i - d1_i)
        - \sum_{i: \text{near}(i) = r,\, d_{ij} < d2_i} w_i (d2_i - \max(d_{ij}, d1_i)),

    so each pass visits only the sorted-row prefixes up to ``d2`` (sparse) and
    evaluates every swap at once in a ``p x m`` array.
    """
    n, m = S.shape
    mask = mask.copy()
    movable = mask.copy()
    movable[fx] = False
    value = S.value(w, mask)
    srt, order = S.srt.ravel(), S.order.ravel()
    for _ in range(10 * m):
        if not movable.any() or mask.all() or budget.expired():
            break
        f1, f2 = S.open_positions(mask)
        d1, d2 = S.cost_at(f1), S.cost_at(f2)
        near = S.order[np.arange(n), np.minimum(f1, m - 1)].astype(np.int64)
        r1, _, fl1 = S.prefix(f1)
        G = _bincount(order[fl1], weights=w[r1] * (np.minimum(srt[fl1], S.big) - d1[r1]), minlength=m)
        loss = _bincount(near, weights=w * (d2 - d1), minlength=m)
        mv = np.flatnonzero(movable)
        rid = np.full(m, -1, dtype=np.int64)
        rid[mv] = np.arange(mv.size, dtype=np.int64)
        r2, _, fl2 = S.prefix(f2)
        rr = rid[near[r2]]
        keep = rr >= 0
        r2, fl2, rr = r2[keep], fl2[keep], rr[keep]
        val = w[r2] * (d2[r2] - np.maximum(np.minimum(srt[fl2], S.big), d1[r2]))
        extra = _bincount(rr * m + order[fl2], weights=val, minlength=mv.size * m).reshape(mv.size, m)
        delta = G[None, :] + loss[mv][:, None] - extra
        delta[:, mask] = np.inf
        k = int(np.argmin(delta))
        if not delta.flat[k] < -1e-12 * abs(value):
            break
        out_site, in_site = int(mv[k // m]), int(k % m)
        trial = mask.copy()
        trial[out_site], trial[in_site] = False, True
        new_value = S.value(w, trial)
        if not new_value < value - 1e-14 * abs(value):  # rounding: the formula promised a gain
            break
        mask, value = trial, new_value
        movable[out_site], movable[in_site] = False, True
    return mask


_LAG_ITERS = 400
"""Most subgradient iterations of the p-median Lagrangian bound."""
_LAG_STALL = 20
_LAG_WARMUP = 100
"""Iterations before the subproblem's site choices count towards the primal."""
"""Iterations without a better bound before the step is halved."""
_LAG_MIN_STEP = 0.02
"""The subgradient phase stops when the step factor falls below this."""


def _lagrangian(
    S: _Sorted,
    w: FloatArray,
    p: int,
    fx: IntArray,
    incumbent: NDArray[np.bool_],
    budget: Budget,
    *,
    rel_gap: float = 0.0,
) -> tuple[float, FloatArray, NDArray[np.bool_], int]:
    r"""Lagrangian bound for the p-median (assignment constraints relaxed), by subgradient optimisation.

    For multipliers :math:`\lambda`, :math:`L(\lambda) = \sum_i \lambda_i + \min_{|S| = p}
    \sum_{j \in S} \rho_j` with :math:`\rho_j = \sum_i \min(0, w_i d_{ij} - \lambda_i)`; every
    :math:`L(\lambda)` is a lower bound. Only the entries with :math:`w_i d_{ij} < \lambda_i` (a
    prefix of each sorted row, found by binary search) contribute, so an iteration costs the size
    of those prefixes, not ``n x m``. Stops when the bound meets the incumbent (within
    ``rel_gap``), when the step has been halved below ``_LAG_MIN_STEP`` (halved after
    ``_LAG_STALL`` iterations without progress), after ``_LAG_ITERS`` iterations, or when the
    budget runs out. The sites chosen most often are improved by interchange as a primal.
    Returns the best bound, its multipliers, the best site set found (incl. ``incumbent``) and the
    number of iterations.
    """
    m = S.shape[1]
    srt, order = S.srt.ravel(), S.order.ravel()
    best_mask = incumbent.copy()
    ub = S.value(w, incumbent)
    forced = np.zeros(m, dtype=bool)
    forced[fx] = True
    f1, _ = S.open_positions(incumbent)
    lam = w * S.cost_at(f1)
    best_L, best_lam = -np.inf, lam.copy()
    theta, stall = 2.0, 0
    freq = np.zeros(m)
    it = 0
    while it < _LAG_ITERS and not budget.expired():
        it += 1
        t = _row_count_below(S.srt, lam / w * (1 + 1e-12))
        rows, _, flat = S.prefix(t)
        j = order[flat]
        R = np.minimum(0.0, w[rows] * srt[flat] - lam[rows])
        rho = _bincount(j, weights=R, minlength=m)
        score = np.where(forced, -np.inf, rho)
        chosen = np.zeros(m, dtype=bool)
        chosen[np.argsort(score, kind="stable")[:p]] = True
        L = float(lam.sum() + rho[chosen].sum())
        if L > best_L + 1e-12 * (abs(best_L) if np.isfinite(best_L) else 1.0):
            best_L, best_lam, stall = L, lam.copy(), 0
        else:
            stall += 1
            if stall >= _LAG_STALL:
                theta, stall = theta / 2.0, 0
        if it > _LAG_WARMUP:
            freq += chosen
        if ub - best_L <= max(rel_gap, 1e-9) * abs(ub) or theta < _LAG_MIN_STEP:
            break
        # subgradient: 1 - number of chosen sites demand i is assigned to (those with w_i d_ij < lambda_i)
        g = 1.0 - (S.rank[:, np.flatnonzero(chosen)] < t[:, None]).sum(axis=1)
        norm = float((g * g).sum())
        if norm == 0.0:
            break
        lam = np.maximum(lam + theta * (ub - L) / norm * g, 0.0)
    # primal: the sites chosen most often by the subproblem, then interchange
    if freq.any() and not budget.expired():
        top = forced.copy()
        top[np.argsort(-(freq + np.where(forced, np.inf, 0.0)), kind="stable")[:p]] = True
        top = _interchange(S, w, top, fx, budget)
        if S.value(w, top) < ub:
            best_mask = top
    return float(best_L), best_lam, best_mask, it


def _radius_solve(
    C: FloatArray,
    w: FloatArray,
    p: int,
    fx: IntArray,
    opts: SolveOptions,
    budget: Budget,
    t0: float,
    *,
    relax: bool,
) -> tuple[NDArray[np.bool_], SolveReport, Any, dict[str, Any]]:
    """Heuristics, Lagrangian bound and the radius formulation with level generation (see :func:`p_median`).

    Greedy + interchange give a first plan; a Lagrangian relaxation
    (subgradient) gives a bound, a second primal and, through its multipliers,
    the levels each demand is likely to need. The MIP is then solved on those
    levels (warm-started), adding levels for demands served beyond them until
    none is, which makes the truncated optimum the true optimum. With ``relax``
    only the heuristics run. Every phase draws on ``budget``: when it runs out
    the best plan so far is returned with status ``TIME_LIMIT`` and the best
    bound (the Lagrangian one, or the truncated MIP's).
    """
    pos = w > 0
    Cs = C[pos]
    ws = w[pos]
    S = _Sorted.of(Cs)
    ns, m = S.shape
    rows = np.arange(ns)
    t_h = time.perf_counter()
    start = _interchange(S, ws, _greedy_median(S, Cs, ws, p, fx), fx, budget)
    lag_bound, lam, best, lag_iters = _lagrangian(S, ws, p, fx, start, budget, rel_gap=opts.mip_gap)
    info: dict[str, Any] = {
        "lagrangian_bound": lag_bound, "lagrangian_iterations": lag_iters,
        "heuristic_seconds": time.perf_counter() - t_h,
    }  # fmt: skip
    best_val = _median_value(Cs, ws, best)

    def heuristic_report(status: SolveStatus) -> SolveReport:
        gap = rel_gap(best_val, lag_bound)
        if status != SolveStatus.FEASIBLE:
            status = SolveStatus.OPTIMAL if proven(best_val, lag_bound, opts.mip_gap) else SolveStatus.TIME_LIMIT
        return SolveReport(
            status=status, objective=best_val, bound=lag_bound, gap=gap, build_seconds=time.perf_counter() - t0,
            solve_seconds=0.0, n_rows=0, n_cols=0, n_nonzeros=0, n_integer=0,
        )  # fmt: skip

    if relax:
        return best, heuristic_report(SolveStatus.FEASIBLE), None, info
    lag_gap_ok = proven(best_val, lag_bound, opts.mip_gap)
    if lag_gap_ok or budget.expired(0.05):

        def build_full() -> LinearModel:  # no MIP was needed: the full radius model (every level)
            return _radius_model(S, ws, S.finite_lv.copy(), p, fx)

        return best, heuristic_report(SolveStatus.TIME_LIMIT), build_full, {**info, "mip_iterations": 0}

    # an optimal plan serves every demand at a weighted cost of at most the incumbent's value V, so the
    # levels beyond V / w_i are dropped and demand i must be served within them: the model's costs then
    # span at most [0, V], which keeps them within the solver's tolerances however the input is scaled
    t_inc = _row_count_below(S.srt, best_val / ws * (1 + 1e-12), strict=False)
    lim = np.minimum(S.finite_lv, S.lvl[rows, np.clip(t_inc - 1, 0, m - 1)].astype(np.int64) + 1)
    finite_lv = lim
    # initial truncation: the level of the start plan's cost (+1 so that it is costed exactly), widened
    k0 = np.minimum(S.level_of_open(best) + 1, finite_lv)
    K = np.minimum(np.maximum(2 * k0, k0 + 8), finite_lv)  # LP solutions spread wider than integer ones
    # the multipliers say how far each demand may look: in an optimal LP solution demand i pays at
    # most lambda_i, so levels with w_i * D > lambda_i are rarely needed
    k_lam = np.minimum(_row_count_below(S.srt, lam / ws * (1 + 1e-9), strict=False), m - 1)
    K = np.maximum(K, np.minimum(S.lvl[rows, k_lam].astype(np.int64) + 2, finite_lv))

    def short_of(mask: NDArray[np.bool_], K: IntArray) -> NDArray[np.bool_]:
        out: NDArray[np.bool_] = (S.level_of_open(mask) >= K) & (K < finite_lv)
        return out

    solve_total = 0.0
    x0 = best
    mip_iter = 0
    size = (0, 0, 0, 0)
    sol = None
    done = False
    while not budget.expired(0.05):
        mip_iter += 1
        # make sure the warm start is costed exactly
        K = np.maximum(K, np.minimum(S.level_of_open(x0) + 1, finite_lv))
        lm = _radius_model(S, ws, K, p, fx, lim)
        nnz = lm.n_entries
        size = (lm.n_rows, lm.n_cols, nnz, m)
        if budget.left() < nnz / _MIP_NNZ_PER_SECOND:
            # HiGHS would not get through presolve and the root LP in the time left (and overruns its limit
            # there): keep the heuristic plan and the Lagrangian bound
            info["mip_skipped"] = f"{nnz:,} nonzeros need >= {nnz / _MIP_NNZ_PER_SECOND:.0f} s"
            break
        sol = lm.solve(opts, start=_radius_start(lm, S, x0, K), deadline=budget.end)
        solve_total += sol.report.solve_seconds
        _raise_if_infeasible(sol.report, "p-median")
        if sol.x is None:
            break
        mask = sol.values("y") > 0.5
        x0 = mask if _median_value(Cs, ws, mask) <= _median_value(Cs, ws, x0) else x0
        short = short_of(mask, K)
        if sol.status != SolveStatus.OPTIMAL:
            break
        if not short.any():
            done = True
            break
        K = np.where(short, np.minimum(np.maximum(2 * K, K + 4), finite_lv), K)
    Kf = K.copy()

    def build() -> LinearModel:
        return _radius_model(S, ws, Kf, p, fx, lim)

    info.update(levels_used=int(K.sum()), levels_total=int(S.lvl[:, -1].sum()) + ns, mip_iterations=mip_iter)
    true_val = _median_value(Cs, ws, x0)
    bound = lag_bound
    if sol is not None and np.isfinite(sol.report.bound):
        bound = max(bound, min(sol.report.bound, true_val))
    if done:  # the truncated model's bound is the full model's: no demand needs a further level
        assert sol is not None
        bound = max(lag_bound, min(sol.report.bound, true_val))
    status = SolveStatus.OPTIMAL if proven(true_val, bound, opts.mip_gap) else SolveStatus.TIME_LIMIT
    n_rows, n_cols, nnz, n_int = (
        (sol.report.n_rows, sol.report.n_cols, sol.report.n_nonzeros, sol.report.n_integer) if sol else size
    )
    report = SolveReport(
        status=status, objective=true_val, bound=bound, gap=rel_gap(true_val, bound),
        build_seconds=time.perf_counter() - t0 - solve_total, solve_seconds=solve_total, n_rows=n_rows,
        n_cols=n_cols, n_nonzeros=nnz, n_integer=n_int,
    )  # fmt: skip
    return x0, report, build, info


_MIP_NNZ_PER_SECOND = 10_000.0
"""The p-median MIP is only attempted with at least ``nonzeros / this`` seconds left in the budget."""


def _radius_model(
    S: _Sorted, w: FloatArray, K: IntArray, p: int, fx: IntArray, lim: IntArray | None = None
) -> LinearModel:
    """The radius formulation truncated to levels ``0 .. K_i - 1`` of each demand (prefixes of the sorted rows).

    ``lim`` (default: the finite levels) is the number of levels demand ``i`` may use at all; a demand
    with ``K_i >= lim_i`` must be served within its first ``lim_i`` levels.
    """
    lim = S.finite_lv if lim is None else lim
    ns, m = S.shape
    lm = LinearModel("p_median")
    lb = np.zeros(m)
    lb[fx] = 1.0
    y = lm.add_vars("y", m, lb=lb, binary=True)
    # sorted positions with level < K_i
    P = _row_count_below(S.lvl, K)
    ri, pos, flat = S.prefix(P)
    lv = S.lvl.ravel()[flat].astype(np.int64)
    site = S.order.ravel()[flat].astype(np.int64)
    first = pos == 0
    first[1:] |= lv[1:] != lv[:-1]
    sel = np.flatnonzero(first)
    lri, lev = ri[sel], lv[sel]
    D = S.srt.ravel()[flat[sel]]  # row-major: per demand, levels 0..K_i-1 in order
    # z variables for levels 1..K_i-1: z_i^k, cost w_i (D^k - D^{k-1})
    zsel = lev >= 1
    zr = lri[zsel]
    zcost = w[zr] * (D[zsel] - D[np.flatnonzero(zsel) - 1])
    nz = int(zsel.sum())
    z = lm.add_vars("z", nz, ub=1.0, cost=zcost)
    lm.offset = float((w * S.srt[:, 0]).sum())
    zid = np.full(D.size, -1, dtype=np.int64)
    zid[zsel] = z.index
    # constraint for (i, k>=1): z_ik + sum_{j: d_ij = D_i^{k-1}} y_j - z_i,k-1 >= 0  (z_i0 := 1 on the rhs)
    crow = np.arange(nz, dtype=np.int64)
    entry_of_z = np.flatnonzero(zsel)
    prev_is_level0 = lev[entry_of_z] == 1
    # sites at levels 0..K_i-2 feed the constraints for k = 1..K_i-1; row of (i, k) = base_i + (k - 1)
    smask = lv < (K[ri] - 1)
    base = np.concatenate([[0], np.cumsum(np.maximum(K - 1, 0))[:-1]])
    srow = base[ri[smask]] + lv[smask]
    rows = np.concatenate([crow, srow, crow[~prev_is_level0]])
    cols = np.concatenate([z.index, y.index[site[smask]], zid[entry_of_z[~prev_is_level0] - 1]])
    vals = np.concatenate([np.ones(nz), np.ones(srow.size), -np.ones(int((~prev_is_level0).sum()))])
    lo = np.where(prev_is_level0, 1.0, 0.0)
    lm.add_constraints("radius", rows=rows, cols=cols, vals=vals, lo=lo, n=nz)
    # demands that cannot reach every site (inf costs) and whose levels are exhausted must be served within
    # their last finite level: sum_{j: d_ij <= D^{K-1}} y_j >= 1
    must = np.flatnonzero((K >= lim) & (lim < S.lvl[:, -1].astype(np.int64) + 1))
    if must.size:
        mid = np.full(ns, -1, dtype=np.int64)
        mid[must] = np.arange(must.size, dtype=np.int64)
        msel = mid[ri] >= 0
        lm.add_constraints(
            "reach", rows=mid[ri[msel]], cols=y.index[site[msel]], vals=1.0, lo=1.0, n=must.size
        )  # fmt: skip
    lm.add_constraints("count", rows=np.zeros(m, dtype=np.int64), cols=y.index, vals=1.0, lo=p, hi=p, n=1)
    return lm


def _radius_start(lm: LinearModel, S: _Sorted, mask: NDArray[np.bool_], K: IntArray) -> FloatArray:
    """Column values of the radius model for open sites ``mask`` (z = 1 while no open site within D^{k-1})."""
    lf = S.level_of_open(mask)
    nk = np.maximum(K - 1, 0)
    kk = _ragged_arange(nk) + 1
    z = (kk <= np.repeat(lf, nk)).astype(np.float64)
    y0 = mask.astype(np.float64)
    return np.concatenate([y0, z, np.zeros(lm.n_cols - y0.size - z.size)])


def _cap_p_median(
    C: FloatArray,
    w: FloatArray,
    ld: FloatArray,
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
        raise InvalidInputError("capacity", Q.tolist()[:5], f"needs {m} finite non-negative capacities")
    check_magnitude(Q, "capacity")
    if method != "milp":
        raise InvalidInputError("method", method, "the capacitated p-median supports only 'milp'")
    top = np.sort(Q)[::-1][:p].sum()
    if top < ld.sum() - 1e-9:
        raise InfeasibleError(
            f"capacitated p-median infeasible: the {p} largest capacities total {top:g} < demand {ld.sum():g}"
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
            vals=np.concatenate([ld[ii], -Q]), hi=0.0, n=m,
        )  # fmt: skip
        lm.add_constraints("count", rows=np.zeros(m, dtype=np.int64), cols=y.index, vals=1.0, lo=p, hi=p, n=1)
        return lm

    lm = build()
    sol = lm.solve(opts, deadline=Budget.of(opts, t0).end)
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
        load = np.bincount(js, weights=ld, minlength=m)
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
def _reachable_part(
    C: FloatArray, dlab: tuple[Hashable, ...], w: FloatArray | None, unreachable: str, model: str
) -> tuple[FloatArray, tuple[Hashable, ...], FloatArray, NDArray[np.bool_]]:
    """The rows (demand) that reach some candidate, after :func:`drop_unreachable`; and the dropped mask."""
    drop = drop_unreachable(C, dlab, unreachable, model=model, weights=w)
    ww = np.ones(C.shape[0]) if w is None else w
    if not drop.any():
        return C, dlab, ww, drop
    keep = ~drop
    if not keep.any():
        raise InfeasibleError(f"{model}: no demand point reaches a candidate site")
    return C[keep], tuple(d for d, k in zip(dlab, keep, strict=True) if k), ww[keep], drop


def _with_dropped(verify: Any, C0: FloatArray, drop: NDArray[np.bool_], dlab0: tuple[Hashable, ...]) -> Any:
    """``verify`` plus the check that the dropped demand is exactly the unreachable demand."""

    def both(plan: SitingPlan, tol: float) -> list[str]:
        problems: list[str] = verify(plan, tol)
        return problems + check_dropped(C0, drop, dlab0, plan.details.get("dropped_demand"))

    return both


def _dropped_plan(
    plan: SitingPlan, C0: FloatArray, drop: NDArray[np.bool_], dlab0: tuple[Hashable, ...], w0: FloatArray
) -> SitingPlan:
    """``plan`` with the dropped demand recorded in its details and checked by its ``verify()``."""
    return dataclasses.replace(
        plan,
        details={**plan.details, **dropped_details(dlab0, drop, w0)},
        _verify=_with_dropped(plan._verify, C0, drop, dlab0) if plan._verify is not None else None,
    )


def _check_p_reach(C: FloatArray, w: FloatArray, p: int, fx: IntArray, dlab: tuple[Hashable, ...]) -> None:
    """Raise when no ``p`` sites together reach every demand point of positive weight."""
    pos = w > 0
    F = np.isfinite(C[pos])
    if F.all():
        return
    A = sp.csr_matrix(F.astype(np.float64))
    Ar, _, _ = merge_identical_rows(A, np.ones(A.shape[0]))
    ones = np.ones(C.shape[1])
    need = int(_greedy_cover(Ar, ones, fx).sum())
    if need > p:
        mask, _, _ = _solve_cover(Ar, ones, fx, SolveOptions(mip_gap=0.0), "milp", time.perf_counter())
        need = int(mask.sum())
    if need > p:
        reached = _greedy_coverage(A, np.ones(A.shape[0]), ones, fx, p, None)
        miss = ~(F[:, reached].any(axis=1))
        lab = [d for d, k in zip(dlab, pos, strict=True) if k]
        bad = [lab[int(i)] for i in np.flatnonzero(miss)]
        raise InfeasibleError(
            f"p-median infeasible: no {p} sites reach every demand point (at least {need} are needed; "
            f"disconnected network?); e.g. {bad[:5]!r} stay unreachable"
        )


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
    if not (np.isfinite(got) and np.isfinite(want)):
        return [f"{name} {got!r} (recomputed {want!r}) is not a finite number"]
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
    if not np.isfinite(objective) and status.has_solution:  # never a plan with an inf / nan objective
        status, gap = SolveStatus.NO_SOLUTION, float("nan")
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
