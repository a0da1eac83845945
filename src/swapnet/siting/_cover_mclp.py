r"""The exact MCLP solve: interchange heuristic, LP bound, reduced-cost fixing, reduced MILP.

The maximal covering model on a merged 0/1 coverage matrix ``A`` (rows = distinct cover sets with
their summed weights ``w``):

.. math::

    \max \sum_i w_i z_i \quad \text{s.t.} \quad z_i \le \sum_j a_{ij} y_j,\;
    \sum_j y_j = p \;\text{and/or}\; \sum_j c_j y_j \le B,\; y_j = 1\; (j \in F),\;
    0 \le z \le 1,\; y \in \{0, 1\}^m

is solved in four steps, each drawing on the call's time budget:

1. **Incumbent**: the greedy plan, improved by best-improvement site interchange (one open site
   swapped for one closed site while the covered weight grows; all swap values at once from one
   sparse product).
2. **LP bound**: the LP relaxation by HiGHS's interior point method with crossover (an order of
   magnitude faster than dual simplex on these degenerate LPs), giving the bound and the reduced
   costs ``d_j`` of the site variables.
3. **Reduced-cost fixing**: a closed site (``y_j = 0`` in the LP, ``d_j \le 0``) cannot be in a plan
   worth more than ``LP + d_j``; when that cannot beat the incumbent (by one unit when every weight
   is an integer) the site is removed. A site at 1 with ``LP - d_j`` below the incumbent is forced
   open. The incumbent's own sites are never fixed against it.
4. **Reduced MILP**: the model over the sites left (rows no site left covers dropped, rows a forced
   site covers counted as covered), warm-started from the incumbent. Its bound, together with the
   incumbent for the fixed-out part, is a valid bound for the whole problem.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from swapnet.optim import LinearModel, SolveOptions, SolveStatus
from swapnet.optim.model import proven
from swapnet.siting._budget import Budget
from swapnet.siting._common import _add_count_budget
from swapnet.siting._cover_lscp import CoverResult
from swapnet.siting._inputs import merge_identical_rows

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_SWAP_ROUNDS = 200
"""Most interchange moves of the heuristic."""
_INTEGRAL_MAX = 1e9
"""Largest total weight at which integer weights make bounds round down (margins stay below one unit)."""
_RESTRICTED_SHARE = 0.3
"""Share of the time left for the MILP restricted to the LP's support."""
_USE_RESTRICTED = True
"""Whether to run the LP-support MILP (tests switch it off to exercise the fixing on a weak incumbent)."""


MclpResult = CoverResult
"""Outcome of :func:`solve_mclp` (``value`` is the covered weight); the same record as the set cover's."""


def covered_weight(A: sp.csr_matrix, w: FloatArray, mask: BoolArray) -> float:
    """Weight of the rows of ``A`` that some site of ``mask`` covers."""
    return float(w[(A @ mask.astype(np.float64)) > 0.5].sum())


def interchange(
    A: sp.csr_matrix,
    w: FloatArray,
    chosen: BoolArray,
    fx: IntArray,
    c: FloatArray,
    B: float | None,
    budget: Budget,
) -> BoolArray:
    """Best-improvement site interchange (Teitz & Bart style) for the MCLP.

    Swapping open site ``j`` for closed site ``k`` changes the covered weight by
    ``gain_k - loss_j + joint_jk``: ``gain_k`` the uncovered weight ``k`` covers, ``loss_j`` the weight
    only ``j`` covers, ``joint_jk`` the weight only ``j`` covers that ``k`` covers too. All pairs come
    from one sparse product per move. Fixed sites stay; under a budget only affordable swaps count.
    """
    chosen = chosen.copy()
    m = A.shape[1]
    AT = A.T.tocsr()
    movable = np.ones(m, dtype=bool)
    movable[fx] = False
    for _ in range(_SWAP_ROUNDS):
        if budget.expired():
            break
        cnt = A @ chosen.astype(np.float64)
        w_unc = np.where(cnt < 0.5, w, 0.0)
        w_one = np.where(np.abs(cnt - 1.0) < 0.5, w, 0.0)
        gain = AT @ w_unc
        opened = np.flatnonzero(chosen & movable)
        if opened.size == 0:
            break
        loss = AT[opened] @ w_one
        joint = (AT[opened] @ sp.diags(w_one) @ A).toarray()
        delta = gain[None, :] - loss[:, None] + joint
        delta[:, chosen] = -np.inf
        if B is not None:
            spent = float(c[chosen].sum())
            delta[(spent - c[opened][:, None] + c[None, :]) > B * (1 + 1e-12) + 1e-12] = -np.inf
        a, k = np.unravel_index(int(np.argmax(delta)), delta.shape)
        if not delta[a, k] > 1e-9 * max(1.0, float(w.sum())):
            break
        chosen[opened[a]] = False
        chosen[k] = True
    return chosen


def _mclp_model(A: sp.csr_matrix, w: FloatArray, lb: FloatArray, ub: FloatArray, c: FloatArray,
                p: int | None, B: float | None, y_cost: FloatArray | None = None) -> LinearModel:  # fmt: skip
    """The MCLP as a :class:`LinearModel` (blocks ``y`` per site, ``z`` per row; ``y_cost`` on the sites)."""
    m = A.shape[1]
    k = A.shape[0]
    lm = LinearModel("mclp", sense="max")
    y = lm.add_vars("y", m, lb=lb, ub=ub, cost=0.0 if y_cost is None else y_cost, binary=True)
    z = lm.add_vars("z", k, ub=1.0, cost=w)
    coo = A.tocoo()
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


def _sub_model(
    A: sp.csr_matrix, w: FloatArray, cols: IntArray, lb: FloatArray, ub: FloatArray, c: FloatArray,
    p: int | None, B: float | None,
) -> tuple[LinearModel, sp.csr_matrix]:  # fmt: skip
    """The MCLP over the sites ``cols`` only, with its rows reduced again.

    Rows a forced-open site (``lb = 1``) covers are covered in every plan (a constant); the
    others are restricted to ``cols``, emptied rows dropped, identical rows merged, and a row
    left with a single site ``j`` becomes the objective coefficient of ``y_j`` (``z_i = y_j``).
    Returns the model and its ``z`` rows' matrix (for the start vector).
    """
    sure = (A @ lb) > 0.5 if lb.any() else np.zeros(A.shape[0], dtype=bool)
    Ak = sp.csr_matrix(A[:, cols])
    rows = np.flatnonzero((np.diff(Ak.indptr) > 0) & ~sure)
    Ar, wr, _ = merge_identical_rows(sp.csr_matrix(Ak[rows]), w[rows])
    single = np.diff(Ar.indptr) == 1
    y_cost = np.bincount(Ar.indices[Ar.indptr[:-1][single]], weights=wr[single], minlength=cols.size).astype(np.float64)
    Ar = sp.csr_matrix(Ar[~single])
    lm = _mclp_model(Ar, wr[~single], lb[cols], ub[cols], c[cols], p, B, y_cost)
    lm.offset = float(w[sure].sum())
    return lm, Ar


def _round_down(bound: float, integral: bool) -> float:
    """An upper bound on an integral optimum: rounded down, after a margin for the solver's tolerance."""
    return float(np.floor(bound + 1e-9 * max(1.0, abs(bound)))) if integral else bound


def _start(A: sp.csr_matrix, mask: BoolArray) -> FloatArray:
    y = mask.astype(np.float64)
    return np.concatenate([y, np.minimum(A @ y, 1.0)])


def solve_mclp(
    A: sp.csr_matrix,
    w: FloatArray,
    c: FloatArray,
    fx: IntArray,
    p: int | None,
    B: float | None,
    start: BoolArray,
    opts: SolveOptions,
    budget: Budget,
) -> MclpResult:
    """Solve the MCLP on the merged coverage matrix (see the module docstring for the steps)."""
    m = A.shape[1]
    t_start = time.perf_counter()
    spent = 0.0
    details: dict[str, float | int] = {}
    lb = np.zeros(m)
    lb[fx] = 1.0
    ub = np.ones(m)
    best = interchange(A, w, start, fx, c, B, budget)
    best_val = covered_weight(A, w, best)
    details.update(greedy_objective=covered_weight(A, w, start), heuristic_objective=best_val)
    details["heuristic_seconds"] = time.perf_counter() - t_start
    # integer weights with a moderate total: plans are worth whole numbers, bounds round down
    integral = bool(np.all(w == np.round(w))) and float(w.sum()) <= _INTEGRAL_MAX
    step = 1.0 if integral else 0.0

    # LP bound and reduced costs
    lm = _mclp_model(A, w, lb, ub, c, p, B)
    lp_opts = opts if opts.lp_method != "choose" else dataclasses.replace(opts, lp_method="ipm")
    t1 = time.perf_counter()
    lp = lm.solve(dataclasses.replace(lp_opts, time_limit=None), relax=True, deadline=budget.end)
    details["lp_seconds"] = time.perf_counter() - t1
    spent += lp.report.solve_seconds
    if lp.report.status != SolveStatus.OPTIMAL or lp.col_dual is None:
        # no LP bound in time: the total coverable weight is one
        return MclpResult(best, best_val, float(w.sum()), SolveStatus.TIME_LIMIT, lp.report, spent, details)
    lp_val = float(lp.report.objective)
    bound = _round_down(lp_val, integral)
    details["lp_bound"] = lp_val
    if proven(best_val, bound, opts.mip_gap, "max") or budget.expired():
        status = SolveStatus.OPTIMAL if proven(best_val, bound, opts.mip_gap, "max") else SolveStatus.TIME_LIMIT
        return MclpResult(best, best_val, max(bound, best_val), status, lp.report, spent, details)

    yv = lp.values("y")
    d = lp.col_dual[lm.block("y").index]
    # a strong incumbent: the MILP over the LP's support (and the heuristic's sites)
    support = (yv > 1e-6) | best | (lb > 0)
    if _USE_RESTRICTED and support.sum() < m:
        t3 = time.perf_counter()
        cols = np.flatnonzero(support)
        lms, As = _sub_model(A, w, cols, lb, ub, c, p, B)
        sub = lms.solve(opts, start=_start(As, best[cols]), deadline=budget.share(_RESTRICTED_SHARE))
        spent += sub.report.solve_seconds
        if sub.status.has_solution:
            cand = np.zeros(m, dtype=bool)
            cand[cols[sub.values("y") > 0.5]] = True
            cand = interchange(A, w, cand, fx, c, B, budget)
            val = covered_weight(A, w, cand)
            if val > best_val:
                best, best_val = cand, val
        details.update(restricted_sites=int(cols.size), restricted_objective=best_val)
        details["restricted_seconds"] = time.perf_counter() - t3
        if proven(best_val, bound, opts.mip_gap, "max") or budget.expired():
            status = SolveStatus.OPTIMAL if proven(best_val, bound, opts.mip_gap, "max") else SolveStatus.TIME_LIMIT
            return MclpResult(best, best_val, max(bound, best_val), status, sub.report, spent, details)

    # reduced-cost fixing against the incumbent
    tol = 1e-7 * max(1.0, abs(lp_val))
    threshold = best_val + step - tol
    closed = (yv < 1e-6) & (lp_val + d < threshold) & ~best & (lb == 0)
    forced = (yv > 1 - 1e-6) & (lp_val - d < threshold) & best & (lb == 0)
    details.update(n_closed_by_fixing=int(closed.sum()), n_forced_by_fixing=int(forced.sum()))
    keep = ~closed
    lb2 = lb.copy()
    lb2[forced] = 1.0
    cols = np.flatnonzero(keep)
    lmr, Ar = _sub_model(A, w, cols, lb2, ub, c, p, B)
    details.update(reduced_sites=int(cols.size), reduced_rows=int(Ar.shape[0]))
    if budget.expired():
        return MclpResult(best, best_val, max(bound, best_val), SolveStatus.TIME_LIMIT, lp.report, spent, details)
    t2 = time.perf_counter()
    sol = lmr.solve(opts, start=_start(Ar, best[cols]), deadline=budget.end)
    details["milp_seconds"] = time.perf_counter() - t2
    spent += sol.report.solve_seconds
    if sol.status.has_solution:
        cand = np.zeros(m, dtype=bool)
        cand[cols[sol.values("y") > 0.5]] = True
        val = covered_weight(A, w, cand)
        if val > best_val:
            best, best_val = cand, val
    if np.isfinite(sol.report.bound):
        # plans using a closed site (or leaving out a forced one) are worth less than best_val + step
        rb = _round_down(sol.report.bound, integral)
        bound = min(bound, max(rb, best_val))
    bound = max(bound, best_val)
    status = SolveStatus.OPTIMAL if proven(best_val, bound, opts.mip_gap, "max") else SolveStatus.TIME_LIMIT
    return MclpResult(best, best_val, bound, status, sol.report, spent, details)
