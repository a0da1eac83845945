r"""The p-median radius formulation with lazily generated levels (Elloumi 2010; García, Labbé & Marín 2011)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from swapnet.optim import LinearModel, SolveOptions, SolveReport, SolveStatus
from swapnet.optim.model import proven, rel_gap
from swapnet.siting._budget import Budget
from swapnet.siting._common import (
    _ragged_arange,
)
from swapnet.siting._median_bb import lagrangian_bb
from swapnet.siting._median_evolve import evolve
from swapnet.siting._median_heuristics import (
    _greedy_median,
    _interchange,
    _lagrangian,
    _lagrangian_fixing,
    _median_value,
    _row_count_below,
    _Sorted,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


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
    t_s = time.perf_counter()
    pos = w > 0
    Cs = C[pos]
    ws = w[pos]
    S = _Sorted.of(Cs, ws)
    ns, m = S.shape
    t_h = time.perf_counter()
    greedy = _greedy_median(S, Cs, ws, p, fx)
    t_g = time.perf_counter()
    start = _interchange(S, ws, greedy, fx, budget)
    t_i = time.perf_counter()
    lag_bound, lam, best, lag_iters = _lagrangian(S, ws, p, fx, start, budget, rel_gap=opts.mip_gap)
    t_l = time.perf_counter()
    info: dict[str, Any] = {
        "lagrangian_bound": lag_bound, "lagrangian_iterations": lag_iters,
        "heuristic_seconds": t_l - t_h, "sort_seconds": t_h - t_s, "greedy_seconds": t_g - t_h,
        "interchange_seconds": t_i - t_g, "lagrangian_seconds": t_l - t_i,
    }  # fmt: skip
    best_val = _median_value(Cs, ws, best)

    def heuristic_report(status: SolveStatus) -> SolveReport:
        gap = rel_gap(best_val, lag_bound)
        if status != SolveStatus.FEASIBLE:
            status = SolveStatus.OPTIMAL if proven(best_val, lag_bound, opts.mip_gap) else SolveStatus.TIME_LIMIT
        solver = t_l - t_i  # the Lagrangian bound is this path's solver
        return SolveReport(
            status=status, objective=best_val, bound=lag_bound, gap=gap,
            build_seconds=time.perf_counter() - t0 - solver, solve_seconds=solver,
            n_rows=0, n_cols=0, n_nonzeros=0, n_integer=0,
        )  # fmt: skip

    if relax:
        return best, heuristic_report(SolveStatus.FEASIBLE), None, info
    lag_gap_ok = proven(best_val, lag_bound, opts.mip_gap)
    if lag_gap_ok or budget.expired(0.05):

        def build_full() -> LinearModel:  # no MIP was needed: the full radius model (every level)
            return _radius_model(S, ws, S.finite_lv.copy(), p, fx)

        return best, heuristic_report(SolveStatus.TIME_LIMIT), build_full, {**info, "mip_iterations": 0}

    # Search only for plans better than the incumbent by more than the gap: value <= vmax (with integer
    # data, <= the next integer below). The Lagrangian multipliers then fix sites closed or open and cap
    # every demand's cost (see _lagrangian_fixing); the incumbent's value caps it too, which keeps the
    # model's costs within [0, V] and so within the solver's tolerances however the input is scaled.
    integral = _is_integral(Cs, ws)
    vmax = best_val * (1.0 - opts.mip_gap)
    if integral:
        vmax = min(np.floor(vmax + 1e-9 * max(1.0, vmax)), best_val - 1.0)
    L, closed, opened, cap = _lagrangian_fixing(S, ws, p, fx, lam, vmax)
    cap = np.minimum(cap, (vmax + 1e-9 * max(1.0, abs(vmax))) / ws)
    keep = ~closed
    if int(keep.sum()) * ns > _REDUCED_MAX_CELLS:  # too large to copy and re-sort: the MIP on the full rows
        return _full_mip(S, Cs, ws, lam, p, fx, best, best_val, lag_bound, opts, budget, t0, info, integral)
    Cr = Cs[:, keep]
    Cr = np.where(Cr <= cap[:, None], Cr, np.inf)
    sites = np.flatnonzero(keep)
    pos_of = np.full(m, -1, dtype=np.int64)
    pos_of[sites] = np.arange(sites.size, dtype=np.int64)
    fxr = np.unique(pos_of[np.concatenate([fx, np.flatnonzero(opened)])]).astype(np.int64)
    info.update(sites_after_fixing=int(sites.size), sites_fixed_open=int(opened.sum()))
    # no plan of value <= vmax when some demand has no site left within its cap, or too few sites remain
    none_better = bool((~np.isfinite(Cr).any(axis=1)).any()) or sites.size < p or fxr.size > p
    mask_r, bound_r, sol, K_used, mip_iter = None, float("inf"), None, None, 0
    solve_total = 0.0
    Sr = None
    if not none_better:
        Sr = _Sorted.of(Cr, ws)
        inc = best[keep] if (best[~keep].sum() == 0 and (best[keep][fxr]).all()) else None
        if inc is not None and not np.isfinite(np.where(inc[None, :], Cr, np.inf).min(axis=1)).all():
            inc = None  # the incumbent itself breaks a cap: no warm start
        forced = np.zeros(sites.size, dtype=bool)
        forced[fxr] = True
        # the MIP after an unfinished tree gets what the tree leaves; when its first model is too large for
        # that (at the rate that gates it), the tree keeps the whole budget instead of stopping early
        nnz = _radius_nonzeros(Sr, _first_levels(Sr, ws, lam, inc, Sr.finite_lv))
        share = _BB_SHARE if _mip_fits(nnz, (1.0 - _BB_SHARE) * budget.left()) else _BB_ALONE_SHARE
        info["bb_share"] = share
        t_bb = time.perf_counter()
        bb = lagrangian_bb(
            Sr, ws, p, forced, lam, inc, best_val, Budget(budget.share(share)),
            mip_gap=opts.mip_gap, integral=integral,
        )  # fmt: skip
        info.update(bb_nodes=bb.nodes, bb_seconds=time.perf_counter() - t_bb, bb_finished=bb.finished)
        mask_r = bb.mask
        if bb.finished:
            none_better, bound_r = bb.mask is None or bb.value >= best_val, bb.bound
            if bb.mask is not None and bb.value < best_val:  # the tree's plan is optimal
                none_better, bound_r = False, bb.bound
        else:
            bb_mask = bb.mask
            mask_r, bound_r, sol, K_used, mip_iter, solve_total, none_better, skipped = _radius_mip(
                Sr, ws, lam, p, fxr, bb_mask if bb_mask is not None else inc, opts, budget
            )
            if mask_r is None:
                mask_r = bb_mask
            bound_r = max(bound_r, bb.bound) if not none_better else bound_r
            if skipped:
                info["mip_skipped"] = skipped
    x0 = best
    if mask_r is not None:
        cand = np.zeros(m, dtype=bool)
        cand[sites[mask_r]] = True
        if _median_value(Cs, ws, cand) < _median_value(Cs, ws, x0):
            x0 = cand
    true_val = _median_value(Cs, ws, x0)
    # the optimum is min(incumbent, best plan of value <= vmax); a restricted bound above vmax (or an
    # infeasible restricted model) proves that no such plan exists
    step = 1.0 if integral else 0.0
    if none_better or bound_r > vmax + 1e-9 * max(1.0, abs(vmax)):
        bound = min(true_val, vmax + step) if integral else min(true_val, max(vmax, L))
    else:
        bound = min(true_val, bound_r)
    bound = max(bound, min(lag_bound, true_val))
    status = SolveStatus.OPTIMAL if proven(true_val, bound, opts.mip_gap) else SolveStatus.TIME_LIMIT
    Kf = None if K_used is None else K_used.copy()

    def build() -> LinearModel:
        if Sr is None or Kf is None:
            return _radius_model(S, ws, S.finite_lv.copy(), p, fx)
        return _radius_model(Sr, ws, Kf, p, fxr)

    info.update(mip_iterations=mip_iter)
    if K_used is not None and Sr is not None:
        info.update(levels_used=int(K_used.sum()), levels_total=int(Sr.lvl[:, -1].sum()) + ns)
    report = _mip_report(status, true_val, bound, t0, solve_total + _bound_seconds(info), sol)
    return x0, report, build, info


def _bound_seconds(info: dict[str, Any]) -> float:
    """Seconds of the solve spent outside HiGHS in bounding: the Lagrangian, the tree and the restarts."""
    return float(info.get("lagrangian_seconds", 0.0) + info.get("bb_seconds", 0.0) + info.get("restart_seconds", 0.0))


def _mip_report(
    status: SolveStatus, value: float, bound: float, t0: float, solve_total: float, sol: Any
) -> SolveReport:
    """The report of a radius-MIP solve: the plan's true value, its bound, and the last model's size.

    ``solve_total`` is the solver's share of the time since ``t0`` (HiGHS plus the Lagrangian bound and
    tree); the rest is reported as the build.
    """
    rep = sol.report if sol is not None else None
    return SolveReport(
        status=status, objective=value, bound=bound, gap=rel_gap(value, bound),
        build_seconds=time.perf_counter() - t0 - solve_total, solve_seconds=solve_total,
        n_rows=rep.n_rows if rep else 0, n_cols=rep.n_cols if rep else 0,
        n_nonzeros=rep.n_nonzeros if rep else 0, n_integer=rep.n_integer if rep else 0,
    )  # fmt: skip


def _full_mip(
    S: _Sorted,
    Cs: FloatArray,
    ws: FloatArray,
    lam: FloatArray,
    p: int,
    fx: IntArray,
    best: NDArray[np.bool_],
    best_val: float,
    lag_bound: float,
    opts: SolveOptions,
    budget: Budget,
    t0: float,
    info: dict[str, Any],
    integral: bool,
) -> tuple[NDArray[np.bool_], SolveReport, Any, dict[str, Any]]:
    """The radius MIP on every site, each demand capped at the incumbent's value (large instances)."""
    ns, m = S.shape
    rows = np.arange(ns)
    t_inc = _row_count_below(S.srt, best_val / ws * (1 + 1e-12), strict=False)
    lim = np.minimum(S.finite_lv, S.lvl[rows, np.clip(t_inc - 1, 0, m - 1)].astype(np.int64) + 1)
    mask, bound_r, sol, K, it, solve_total, infeasible, skipped = _radius_mip(
        S, ws, lam, p, fx, best, opts, budget, lim
    )
    if skipped:
        info["mip_skipped"] = skipped
        best, lag_bound = _search_on(S, Cs, ws, p, fx, lam, best, lag_bound, budget, opts.mip_gap, info)
        best_val = _median_value(Cs, ws, best)
    x0 = mask if mask is not None and _median_value(Cs, ws, mask) < best_val else best
    true_val = _median_value(Cs, ws, x0)
    bound = true_val if infeasible else min(true_val, bound_r)
    if integral and not infeasible and bound_r > true_val - 1.0:
        bound = true_val  # integer values: nothing lies strictly between
    bound = max(bound, min(lag_bound, true_val))
    status = SolveStatus.OPTIMAL if proven(true_val, bound, opts.mip_gap) else SolveStatus.TIME_LIMIT
    Kf = None if K is None else K.copy()

    def build() -> LinearModel:
        return _radius_model(S, ws, S.finite_lv.copy() if Kf is None else Kf, p, fx, lim)

    info.update(mip_iterations=it)
    report = _mip_report(status, true_val, bound, t0, solve_total + _bound_seconds(info), sol)
    return x0, report, build, info


def _search_on(
    S: _Sorted,
    Cs: FloatArray,
    ws: FloatArray,
    p: int,
    fx: IntArray,
    lam: FloatArray,
    best: NDArray[np.bool_],
    lag_bound: float,
    budget: Budget,
    mip_gap: float,
    info: dict[str, Any],
) -> tuple[NDArray[np.bool_], float]:
    """Spend the budget no MIP fits in, in two searches, and record them in ``info``.

    1. The genetic search over plans (:func:`evolve`) until :data:`_BOUND_SHARE` of the time is left
       (when its pool cannot be built in time it stops early and the restarts get that time too).
    2. Subgradient restarts from the best multipliers against the best plan (step factor ``0.5``, a
       quarter of that after a round that improved nothing), each round's primals improved by
       interchange. Every multiplier vector gives a valid bound, so the bound only rises.

    Returns the best plan and the best bound.
    """
    if budget.end is not None:
        left = budget.left() - _RESTART_RESERVE
        end = budget.end - _RESTART_RESERVE - _BOUND_SHARE * left
        ev = evolve(S, Cs, ws, p, fx, [best], Budget(end), bound=lag_bound, mip_gap=mip_gap)
        info.update(
            evolve_pool=ev.pool, evolve_children=ev.children, evolve_improved=ev.improved,
            evolve_seconds=ev.seconds,
        )  # fmt: skip
        best = ev.mask
    t_p = time.perf_counter()
    theta, rounds = 0.5, 0
    best_val = S.value(ws, best)
    inner = Budget(None if budget.end is None else budget.end - _RESTART_RESERVE)  # the rounds stop early
    while rounds < _RESTART_ROUNDS and not inner.expired() and theta >= 1e-3:
        rounds += 1
        L, lam2, cand, _ = _lagrangian(
            S, ws, p, fx, best, inner, rel_gap=mip_gap, lam0=lam, theta0=theta, share=1.0
        )  # fmt: skip
        improved = False
        if L > lag_bound + 1e-9 * abs(lag_bound):
            lag_bound, lam, improved = L, lam2, True
        cand_val = S.value(ws, cand)
        if cand_val < best_val:
            best, best_val, improved = cand, cand_val, True
        if proven(best_val, lag_bound, mip_gap):
            break
        if not improved:
            theta /= 4.0
    info.update(restart_rounds=rounds, restart_seconds=time.perf_counter() - t_p, lagrangian_bound=lag_bound)
    return best, lag_bound


_BOUND_SHARE = 0.15
"""Share of the time after the skipped MIP that :func:`_search_on` leaves the subgradient restarts. On the
10,000 x 1,000, p = 20 benchmark instance 90 s of restarts alone raised the bound by 0.018 % and ended at
plan 4,329,193; with the genetic search first, its plan is 4,323,674 (0.13 % lower) and the 2 restart
rounds in the last 15 % raise the bound by 0.003 %."""

_RESTART_ROUNDS = 50
"""Most subgradient restarts of :func:`_search_on`."""
_RESTART_RESERVE = 3.0
"""Seconds of the budget :func:`_search_on` leaves for the plan's assembly (at 20,000 x 3,000 the
last interchange pass and the plan's assignment table take about a second)."""


def _is_integral(C: FloatArray, w: FloatArray) -> bool:
    """Whether every weighted cost is an integer (then plan values are integers)."""
    if not np.all(w == np.round(w)):
        return False
    fin = C[np.isfinite(C)]
    return bool(np.all(fin == np.round(fin))) and float(np.abs(fin).max(initial=0.0)) * float(w.max()) < 2**50


def _radius_mip(
    S: _Sorted,
    ws: FloatArray,
    lam: FloatArray,
    p: int,
    fx: IntArray,
    start: NDArray[np.bool_] | None,
    opts: SolveOptions,
    budget: Budget,
    lim: IntArray | None = None,
) -> tuple[NDArray[np.bool_] | None, float, Any, IntArray | None, int, float, bool, str]:
    """The radius model with level generation on a (reduced) instance.

    Levels start at those the multipliers ``lam`` and the warm start need and are widened for
    demands served beyond them until none is. Returns ``(best mask or None, bound, last solution,
    levels used, iterations, solve seconds, infeasible, skip note)``; an infeasible model means
    that the instance has no plan at all.
    """
    lim = S.finite_lv if lim is None else lim
    K = _first_levels(S, ws, lam, start, lim)
    best: NDArray[np.bool_] | None = None
    best_val = np.inf if start is None else S.value(ws, start)
    x0 = start
    bound = -np.inf
    sol = None
    it, solve_total = 0, 0.0
    while not budget.expired(0.05):
        it += 1
        if x0 is not None:  # the warm start is costed exactly
            K = np.maximum(K, np.minimum(S.level_of_open(x0) + 1, lim))
        lm = _radius_model(S, ws, K, p, fx, lim)
        nnz = lm.n_entries
        if not _mip_fits(nnz, budget.left()):
            return (
                best,
                bound,
                sol,
                K,
                it,
                solve_total,
                False,
                f"{nnz:,} nonzeros need >= {nnz / _MIP_NNZ_PER_SECOND:.0f} s",
            )
        x_start = None if x0 is None else _radius_start(lm, S, x0, K)
        sol = lm.solve(opts, start=x_start, deadline=budget.end)
        solve_total += sol.report.solve_seconds
        if sol.report.status == SolveStatus.INFEASIBLE:
            return best, np.inf, sol, K, it, solve_total, True, ""
        if np.isfinite(sol.report.bound):  # a truncated model is a relaxation: its bound is valid
            bound = max(bound, sol.report.bound)
        if sol.x is None:
            break
        mask = sol.values("y") > 0.5
        val = S.value(ws, mask)
        if val < best_val:
            best, best_val, x0 = mask, val, mask
        short = (S.level_of_open(mask) >= K) & (K < lim)
        if sol.status != SolveStatus.OPTIMAL:
            break
        if not short.any():  # no demand needs a further level: the truncated optimum is the full one
            break
        K = np.where(short, np.minimum(np.maximum(2 * K, K + 4), lim), K)
    return best, bound, sol, K, it, solve_total, False, ""


def _first_levels(
    S: _Sorted, ws: FloatArray, lam: FloatArray, start: NDArray[np.bool_] | None, lim: IntArray
) -> IntArray:
    """The levels per demand the first radius model of :func:`_radius_mip` keeps."""
    ns, m = S.shape
    K = np.minimum(np.full(ns, 8, dtype=np.int64), lim)
    if start is not None:
        k0 = np.minimum(S.level_of_open(start) + 1, lim)
        K = np.maximum(K, np.minimum(np.maximum(2 * k0, k0 + 8), lim))  # LP solutions spread wider
    # in an optimal LP solution demand i pays at most lambda_i, so levels beyond it are rarely needed
    k_lam = np.minimum(_row_count_below(S.srt, lam / ws * (1 + 1e-9), strict=False), m - 1)
    return np.maximum(K, np.minimum(S.lvl[np.arange(ns), k_lam].astype(np.int64) + 2, lim))


def _radius_nonzeros(S: _Sorted, K: IntArray) -> int:
    """The nonzeros of :func:`_radius_model` on levels ``K`` (to within the few ``reach`` rows), without building it.

    Each demand has ``K_i - 1`` level variables, each in its own row and (but the first) in the next
    row, every site on a level below ``K_i - 1`` enters that level's row once, and every site the count.
    """
    sites_in_rows = int(_row_count_below(S.lvl, np.maximum(K - 1, 0)).sum())
    z = int(np.maximum(K - 1, 0).sum())
    return sites_in_rows + 2 * z - int((K >= 2).sum()) + S.shape[1]


_REDUCED_MAX_CELLS = 4_000_000
"""Demands x sites left after fixing up to which the instance is copied, re-sorted and searched by the tree."""
_BB_SHARE = 0.85
"""Share of the time left that the Lagrangian tree search may use before the MIP takes over."""
_BB_ALONE_SHARE = 0.98
"""The tree's share when the MIP after it could not fit in what ``_BB_SHARE`` leaves (the rest: the plan's
extraction). A 1,500-node graph p-median, p = 10, at 60 s: the tree stopped at 52 s before and the MIP
was skipped (873,224 nonzeros)."""
_MIP_NNZ_PER_SECOND = 10_000.0
"""The p-median MIP is only attempted with at least ``nonzeros / this`` seconds left in the budget."""


def _mip_fits(nnz: int, seconds: float) -> bool:
    """Whether a radius model of ``nnz`` nonzeros may be attempted in ``seconds`` (:data:`_MIP_NNZ_PER_SECOND`)."""
    return nnz / _MIP_NNZ_PER_SECOND <= seconds


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
