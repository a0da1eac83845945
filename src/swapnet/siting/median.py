r"""The p-median (Hakimi 1964): uncapacitated (radius formulation) and capacitated (single assignment)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from swapnet.errors import InfeasibleError, InvalidInputError
from swapnet.optim import LinearModel, SolveOptions, SolveReport, SolveStatus
from swapnet.siting._budget import Budget
from swapnet.siting._common import (
    _check_count_budget,
    _check_fixed,
    _check_value,
    _dropped_plan,
    _finish,
    _mask_of,
    _nearest_assignment,
    _raise_if_infeasible,
    _reachable_part,
    _rebase,
    _with_dropped,
)
from swapnet.siting._inputs import (
    as_cost_matrix,
    as_weights,
    check_magnitude,
    check_p,
    dropped_details,
    fixed_indices,
    merge_identical_rows,
)
from swapnet.siting._median_heuristics import (
    _median_value,
)
from swapnet.siting._median_radius import _radius_solve
from swapnet.siting.cover import _greedy_cover, _greedy_coverage, _solve_cover
from swapnet.siting.plan import SitingPlan, default_options

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

__all__ = ["p_median"]


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
        mask = _solve_cover(Ar, ones, fx, SolveOptions(mip_gap=0.0), "milp", time.perf_counter())[0]
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
