r"""The exact set-cover solve: LP bound, local search, reduced-cost fixing, reduced MILP.

The location set covering model on a reduced 0/1 matrix ``A`` (rows to cover, columns = sites
with costs ``c``)

.. math::

    \min \sum_j c_j y_j \quad \text{s.t.} \quad \sum_j a_{ij} y_j \ge 1 \;\; \forall i,
    \qquad y_j = 1 \;\; (j \in F), \qquad y \in \{0, 1\}^m

is solved in steps that each draw on the call's time budget:

1. **LP bound** (rounded up when every cost is an integer) and the reduced costs ``d_j`` of the
   sites; the greedy cover, improved by local search, is the first incumbent: the row-weighting
   search for the smallest cover (:mod:`swapnet.siting._cover_rwls`) when every site costs the same,
   else add-and-drop (:mod:`swapnet.siting._cover_search`).
2. **Reduced-cost fixing**: a site at 0 in the LP cannot be in a cover cheaper than
   ``LP + d_j``; when that cannot beat the incumbent (by one unit with integer costs) the site is
   removed. A site at 1 with ``LP - d_j`` as high is forced open. The incumbent's own sites are never
   fixed against it. Rows a forced site covers are dropped and the dominance reductions run again.
3. **Reduced MILP** over what is left, warm-started from the incumbent; its bound (with the
   incumbent for the fixed-out part) is valid for the whole problem.

A MILP over the LP solution's support, run before the fixing for a stronger incumbent, was dropped
(2026-12-08): on every OR-Library set-cover instance the whole solve is faster without it (sets 4-6,
A, B at a 30 s limit: 42.5 s in all against 64.1 s; scpb4 8.5 s against 13.1 s), the reduced MILP
finding the better covers itself, and on the 10,000 x 1,000 LSCP both stop at 115 sites.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from swapnet.optim import LinearModel, SolveOptions, SolveReport, SolveStatus
from swapnet.optim.model import proven
from swapnet.siting._budget import Budget
from swapnet.siting._cover_rwls import smallest_cover
from swapnet.siting._cover_search import improve_cover

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Reducer = Callable[[sp.csr_matrix, FloatArray, IntArray], tuple[sp.csr_matrix, BoolArray]]

_SEARCH_SHARE = 0.1
"""Share of the time left for the local search that improves the greedy cover."""
_SEARCH_STALL = 1000
"""Moves in a row without a cheaper cover after which the local search stops."""
_RWLS_SHARE = 0.05
"""Share of the time left for the row-weighting search (10k x 1k LSCP: 115 sites within 2.5-4 s of it; a
larger share would push the heuristics' part of the call, counted as build time, above 10 %)."""
_RWLS_STALL_PER_ENTRY = 20
"""Without a time limit the row-weighting search stops after this many steps per row and site in a row
without a smaller cover (10k x 1k LSCP: 1,896 rows and 1,000 columns, so 57,920 steps; at the 16,000
steps a second measured there, about 4 s)."""
_USE_SEARCH = True
"""Whether to run the local search (tests switch it off to exercise the fixing on a weak incumbent)."""
_INTEGRAL_MAX = 1e9
"""Largest total cost at which integer costs make bounds round up (margins stay below one unit)."""


@dataclass(frozen=True)
class CoverResult:
    """Outcome of an exact covering solve (:func:`solve_cover`, and ``solve_mclp`` of the MCLP):
    the chosen sites, their value (cost, or covered weight), the bound, the status and the phases."""

    mask: BoolArray
    value: float
    bound: float
    status: SolveStatus
    report: SolveReport | None
    solve_seconds: float
    details: dict[str, float | int]


def cover_model(A: sp.csr_matrix, c: FloatArray, lb: FloatArray, ub: FloatArray) -> LinearModel:
    """The set-cover MILP as a :class:`LinearModel` (block ``y``, family ``cover``)."""
    m = A.shape[1]
    lm = LinearModel("lscp")
    y = lm.add_vars("y", m, lb=lb, ub=np.maximum(ub, lb), cost=c, binary=True)
    coo = A.tocoo()
    lm.add_constraints("cover", rows=coo.row, cols=y.index[coo.col], vals=1.0, lo=1.0, n=A.shape[0])
    return lm


_PROOF_HIGHS: dict[str, bool | int | float | str] = {"presolve": "off", "mip_allow_cut_separation_at_nodes": False}
"""HiGHS options for the MILP after the LP (the proof), under the caller's own
``highs_options``: cuts at the root only, no presolve (the models are reduced already). On scpb2 and
scpb4 the proof takes about 5 s of CPU instead of 7.5-8 s with HiGHS's defaults (same reduced model)."""


def _proof_options(opts: SolveOptions) -> SolveOptions:
    return dataclasses.replace(opts, highs_options={**_PROOF_HIGHS, **opts.highs_options})


def _round_up(bound: float, integral: bool) -> float:
    """A lower bound on an integral optimum: rounded up, after a margin for the solver's tolerance."""
    return float(np.ceil(bound - 1e-9 * max(1.0, abs(bound)))) if integral else bound


def _is_cover(A: sp.csr_matrix, mask: BoolArray) -> bool:
    return bool(((A @ mask.astype(np.float64)) > 0.5).all())


def solve_cover(
    A: sp.csr_matrix,
    c: FloatArray,
    fx: IntArray,
    keep: BoolArray,
    start: BoolArray,
    opts: SolveOptions,
    budget: Budget,
    reduce: Reducer,
) -> CoverResult:
    """Solve the set cover on the reduced matrix (see the module docstring for the steps).

    ``keep`` marks the sites the dominance reductions left eligible; ``reduce`` re-runs them.
    """
    m = A.shape[1]
    spent = 0.0
    details: dict[str, float | int] = {}
    lb = np.zeros(m)
    lb[fx] = 1.0
    ub = keep.astype(np.float64)
    best = start.copy()
    best_val = float(c[best].sum())
    integral = bool(np.all(c == np.round(c))) and float(c.sum()) <= _INTEGRAL_MAX
    step = 1.0 if integral else 0.0

    def done(bound: float, report: SolveReport | None) -> CoverResult:
        bound = min(bound, best_val)
        ok = proven(best_val, bound, opts.mip_gap, "min")
        status = SolveStatus.OPTIMAL if ok else SolveStatus.TIME_LIMIT
        return CoverResult(best, best_val, bound, status, report, spent, details)

    lm = cover_model(A, c, lb, ub)
    t1 = time.perf_counter()
    lp = lm.solve(dataclasses.replace(opts, time_limit=None), relax=True, deadline=budget.end)
    details["lp_seconds"] = time.perf_counter() - t1
    spent += lp.report.solve_seconds
    if lp.report.status != SolveStatus.OPTIMAL or lp.col_dual is None:
        return done(float(c[fx].sum()), lp.report)  # no LP bound in time: the fixed sites' cost is one
    lp_val = float(lp.report.objective)
    bound = _round_up(lp_val, integral)
    details["lp_bound"] = lp_val
    if proven(best_val, bound, opts.mip_gap, "min") or budget.expired():
        return done(bound, lp.report)
    yv = lp.values("y")
    d = lp.col_dual[lm.block("y").index]

    # a better incumbent by local search from the greedy cover: with one cost for every site the
    # row-weighting search for the smallest cover, else add-and-drop
    t4 = time.perf_counter()
    cand = best
    if _USE_SEARCH and _is_cover(A, best):
        if keep.any() and float(np.ptp(c[keep])) == 0.0 and c[keep][0] > 0:
            end = budget.share(_RWLS_SHARE)
            stall = None if end is not None else _RWLS_STALL_PER_ENTRY * (A.shape[0] + m)
            target = int(np.ceil(bound / float(c[keep][0]) - 1e-9))
            cand = smallest_cover(A, best, lb > 0, end, target=target, max_stall=stall, seed=opts.seed)
            details["search_row_weighting"] = 1
        else:
            cand = improve_cover(A, c, best, lb > 0, budget.share(_SEARCH_SHARE), _SEARCH_STALL)
            details["search_row_weighting"] = 0
    if _is_cover(A, cand) and float(c[cand].sum()) < best_val:
        best, best_val = cand, float(c[cand].sum())
    details.update(search_objective=best_val, search_seconds=time.perf_counter() - t4)
    if proven(best_val, bound, opts.mip_gap, "min") or budget.expired():
        return done(bound, lp.report)

    # reduced-cost fixing against the incumbent
    tol = 1e-7 * max(1.0, abs(lp_val))
    threshold = best_val - step + tol
    closed = (yv < 1e-6) & (lp_val + d > threshold) & ~best & (lb == 0) & keep
    forced = (yv > 1 - 1e-6) & (lp_val - d > threshold) & best & (lb == 0)
    details.update(n_closed_by_fixing=int(closed.sum()), n_forced_by_fixing=int(forced.sum()))
    keep2 = keep & ~closed
    lb2 = lb.copy()
    lb2[forced] = 1.0
    fx2 = np.flatnonzero(lb2 > 0)
    rows = (A @ lb2) < 0.5
    Ar, keep3 = reduce(sp.csr_matrix(A[rows] @ sp.diags(keep2.astype(np.float64))), c, fx2)
    keep3 &= keep2
    details.update(reduced_sites=int(keep3.sum()), reduced_rows=int(Ar.shape[0]))
    if budget.expired():
        return done(bound, lp.report)
    start2 = best & (keep3 | (lb2 > 0))
    if not _is_cover(Ar, start2):  # the re-reduction removed an incumbent site: start without it
        start2 = best
    t2 = time.perf_counter()
    ub3 = keep3.astype(np.float64)
    sol = cover_model(Ar, c, lb2, ub3).solve(_proof_options(opts), start=start2.astype(np.float64), deadline=budget.end)
    details["milp_seconds"] = time.perf_counter() - t2
    spent += sol.report.solve_seconds
    if sol.status.has_solution:
        cand = sol.values("y") > 0.5
        if _is_cover(A, cand) and float(c[cand].sum()) < best_val:
            best, best_val = cand, float(c[cand].sum())
    if np.isfinite(sol.report.bound):
        # covers using a closed site (or without a forced one) cost at least best_val - step
        rb = _round_up(sol.report.bound, integral)
        bound = max(bound, min(rb, best_val))
    return done(bound, sol.report)
