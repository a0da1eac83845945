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
    _raise_if_infeasible,
)
from swapnet.siting._median_heuristics import (
    _greedy_median,
    _interchange,
    _lagrangian,
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
