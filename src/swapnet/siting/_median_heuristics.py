r"""p-median on sorted cost rows: greedy, fast interchange (Teitz-Bart) and the Lagrangian bound."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from swapnet.siting._budget import Budget
from swapnet.siting._common import _bincount, _ragged_arange

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _median_value(C: FloatArray, w: FloatArray, mask: NDArray[np.bool_]) -> float:
    if not mask.any():
        return float("inf")
    d = C[:, mask].min(axis=1)
    pos = w > 0
    return float((w[pos] * d[pos]).sum())


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
    big: FloatArray
    """Per row, a finite stand-in for infinite costs in the heuristics: ``big[i] * w[i]`` is the same
    for every row and more than twice the most any plan that serves every row can cost, so no plan
    that leaves a row unserved ever looks cheaper than one that serves them all, whatever the weights."""

    @classmethod
    def of(cls, C: FloatArray, w: FloatArray | None = None) -> _Sorted:
        """Sort every row of ``C`` (each row needs one finite entry); ``w`` are the rows' (positive)
        weights, for :attr:`big` (default: 1 each)."""
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
        top = np.abs(srt[np.arange(n), np.maximum(nfin - 1, 0)]) + 1.0  # each row's largest finite cost
        wr = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
        penalty = 2.0 * float(wr @ top) + 1.0  # weighted: above twice any plan serving every row
        big = np.minimum(np.maximum(penalty / wr, 2.0 * top), np.finfo(np.float64).max / 1e6)
        return cls(srt, order, lvl, rank, finite_lv, big)

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
        m = self.shape[1]
        out = self.big.copy()
        ok = f < m
        rows = np.flatnonzero(ok)
        out[ok] = np.minimum(self.srt[rows, f[ok]], self.big[rows])
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


def _count_from(a: FloatArray, v: FloatArray, t0: NDArray[np.int64] | None) -> NDArray[np.int64]:
    """:func:`_row_count_below` (strict) started from a nearby answer ``t0``: a few unit steps per row,
    then the binary search when some row moved further (the multipliers change little between
    subgradient iterations, so most rows need none or one step)."""
    if t0 is None:
        return _row_count_below(a, v)
    n, m = a.shape
    rows = np.arange(n)
    t = t0.copy()
    for _ in range(_STEPS):
        up = (t < m) & (a[rows, np.minimum(t, m - 1)] < v)
        down = (t > 0) & (a[rows, np.maximum(t - 1, 0)] >= v)
        if not (up.any() or down.any()):
            return t
        t += up
        t -= down
    return _row_count_below(a, v)


_STEPS = 3
"""Unit steps :func:`_count_from` tries before the binary search."""


def _served_count(
    S: _Sorted, chosen: NDArray[np.bool_], t: IntArray, rows: IntArray, sites: NDArray[np.integer[Any]]
) -> NDArray[np.float64]:
    """Per demand, how many ``chosen`` sites lie in its prefix of ``t`` entries (whose ``rows`` and
    ``sites`` are given): from the prefix when it is smaller than ``n x p``, else from the ranks."""
    n = S.shape[0]
    js = np.flatnonzero(chosen)
    if rows.size <= n * js.size:
        out: NDArray[np.float64] = np.bincount(rows[chosen[sites]], minlength=n).astype(np.float64)
        return out
    res: NDArray[np.float64] = (S.rank[:, js] < t[:, None]).sum(axis=1).astype(np.float64)
    return res


def _greedy_median(S: _Sorted, C: FloatArray, w: FloatArray, p: int, fx: IntArray) -> NDArray[np.bool_]:
    """Greedy p-median: add the site that lowers the weighted cost most.

    After the first site only the demands' entries closer than their current
    nearest open site are visited (prefixes of the sorted rows).
    """
    m = S.shape[1]
    chosen = np.zeros(m, dtype=bool)
    chosen[fx] = True
    if not chosen.any():
        total = w @ np.minimum(C, S.big[:, None])
        chosen[int(np.argmin(total))] = True
    n = S.shape[0]
    f1 = np.full(n, m, dtype=np.int64)  # sorted position of each demand's nearest open site
    for k in np.flatnonzero(chosen):
        f1 = np.minimum(f1, S.rank[:, k])
    while chosen.sum() < p:
        d1 = S.cost_at(f1)
        rows, _, flat = S.prefix(f1)
        d = np.minimum(S.srt.ravel()[flat], S.big[rows])
        gain = _bincount(S.order.ravel()[flat], weights=w[rows] * (d1[rows] - d), minlength=m)
        gain[chosen] = -np.inf
        j = int(np.argmax(gain))
        chosen[j] = True
        f1 = np.minimum(f1, S.rank[:, j])
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
    f1, f2 = S.open_positions(mask)
    for _ in range(10 * m):
        if not movable.any() or mask.all() or budget.expired():
            break
        d1, d2 = S.cost_at(f1), S.cost_at(f2)
        near = S.order[np.arange(n), np.minimum(f1, m - 1)].astype(np.int64)
        r1, _, fl1 = S.prefix(f1)
        G = _bincount(order[fl1], weights=w[r1] * (np.minimum(srt[fl1], S.big[r1]) - d1[r1]), minlength=m)
        loss = _bincount(near, weights=w * (d2 - d1), minlength=m)
        mv = np.flatnonzero(movable)
        rid = np.full(m, -1, dtype=np.int64)
        rid[mv] = np.arange(mv.size, dtype=np.int64)
        r2, _, fl2 = S.prefix(f2)
        rr = rid[near[r2]]
        keep = rr >= 0
        r2, fl2, rr = r2[keep], fl2[keep], rr[keep]
        val = w[r2] * (d2[r2] - np.maximum(np.minimum(srt[fl2], S.big[r2]), d1[r2]))
        extra = _bincount(rr * m + order[fl2], weights=val, minlength=mv.size * m).reshape(mv.size, m)
        delta = G[None, :] + loss[mv][:, None] - extra
        delta[:, mask] = np.inf
        k = int(np.argmin(delta))
        if not delta.flat[k] < -1e-12 * abs(value):
            break
        out_site, in_site = int(mv[k // m]), int(k % m)
        trial = mask.copy()
        trial[out_site], trial[in_site] = False, True
        g1, g2 = _swap_positions(S, trial, f1, f2, out_site, in_site)
        new_value = float((w * S.cost_at(g1)).sum())
        if not new_value < value - 1e-14 * abs(value):  # rounding: the formula promised a gain
            break
        mask, value, f1, f2 = trial, new_value, g1, g2
        movable[out_site], movable[in_site] = False, True
    return mask


def _swap_positions(
    S: _Sorted, mask: NDArray[np.bool_], f1: IntArray, f2: IntArray, out_site: int, in_site: int
) -> tuple[IntArray, IntArray]:
    """:meth:`_Sorted.open_positions` of ``mask`` after swapping ``out_site`` for ``in_site``, updated from
    the positions ``f1``, ``f2`` before the swap: the rows whose nearest or second-nearest site left
    are recomputed, the others only compare the new site's rank."""
    n, m = S.shape
    rows = np.arange(n)
    hit = (S.order[rows, np.minimum(f1, m - 1)] == out_site) & (f1 < m)
    hit |= (S.order[rows, np.minimum(f2, m - 1)] == out_site) & (f2 < m)
    rk = S.rank[:, in_site].astype(np.int64)
    g1 = np.minimum(f1, rk)
    g2 = np.where(rk < f1, f1, np.minimum(f2, rk))
    aff = np.flatnonzero(hit)
    if aff.size:
        opened = np.flatnonzero(mask)
        rk_aff = S.rank[np.ix_(aff, opened)]
        if opened.size == 1:
            g1[aff], g2[aff] = rk_aff[:, 0], m
        else:
            part = np.partition(rk_aff, 1, axis=1)
            g1[aff], g2[aff] = part[:, 0], part[:, 1]
    return g1, g2


_LAG_ITERS = 4000
"""Most subgradient iterations of the p-median Lagrangian bound."""

_LAG_STALL = 40
"""Iterations without a better bound before the step is halved."""

_LAG_WARMUP = 100
"""Iterations before the subproblem's site choices count towards the primal."""

_LAG_MIN_STEP = 1e-4
"""The subgradient phase stops when the step factor falls below this."""

_LAG_SHARE = 0.4
"""Share of the time left that the subgradient phase may use beyond ``_LAG_MIN_ITERS`` iterations
(the tree search and the MIP need the rest)."""

_LAG_MIN_ITERS = 400
"""Iterations the subgradient phase runs whatever its share (unless the whole budget runs out)."""


def _lagrangian(
    S: _Sorted,
    w: FloatArray,
    p: int,
    fx: IntArray,
    incumbent: NDArray[np.bool_],
    budget: Budget,
    *,
    rel_gap: float = 0.0,
    lam0: FloatArray | None = None,
    theta0: float = 2.0,
    share: float = _LAG_SHARE,
) -> tuple[float, FloatArray, NDArray[np.bool_], int]:
    r"""Lagrangian bound for the p-median (assignment constraints relaxed), by subgradient optimisation.

    For multipliers :math:`\lambda`, :math:`L(\lambda) = \sum_i \lambda_i + \min_{|S| = p}
    \sum_{j \in S} \rho_j` with :math:`\rho_j = \sum_i \min(0, w_i d_{ij} - \lambda_i)`; every
    :math:`L(\lambda)` is a lower bound. Only the entries with :math:`w_i d_{ij} < \lambda_i` (a
    prefix of each sorted row, found by binary search) contribute, so an iteration costs the size
    of those prefixes, not ``n x m``. Stops when the bound meets the incumbent (within
    ``rel_gap``), when the step has been halved below ``_LAG_MIN_STEP`` (halved after
    ``_LAG_STALL`` iterations without progress), after ``_LAG_ITERS`` iterations, after a share
    ``_LAG_SHARE`` of the time left, or when the
    budget runs out. The sites chosen most often are improved by interchange as a primal.
    ``lam0`` and ``theta0`` restart it from earlier multipliers and step factor; ``share`` replaces
    ``_LAG_SHARE``. Returns the best bound, its multipliers, the best site set found (incl.
    ``incumbent``) and the number of iterations.
    """
    m = S.shape[1]
    srt, order = S.srt.ravel(), S.order.ravel()
    best_mask = incumbent.copy()
    ub = S.value(w, incumbent)
    forced = np.zeros(m, dtype=bool)
    forced[fx] = True
    f1, _ = S.open_positions(incumbent)
    lam = w * S.cost_at(f1) if lam0 is None else lam0.copy()
    best_L, best_lam = -np.inf, lam.copy()
    best_chosen: NDArray[np.bool_] | None = None
    theta, stall = theta0, 0
    freq = np.zeros(m)
    it = 0
    t = None
    lag_end = budget.share(share)
    while (
        it < _LAG_ITERS
        and not budget.expired()
        and (it < _LAG_MIN_ITERS or lag_end is None or time.perf_counter() < lag_end)
    ):
        it += 1
        t = _count_from(S.srt, lam / w * (1 + 1e-12), t)
        rows, _, flat = S.prefix(t)
        j = order[flat]
        R = np.minimum(0.0, w[rows] * srt[flat] - lam[rows])
        rho = _bincount(j, weights=R, minlength=m)
        score = np.where(forced, -np.inf, rho)
        chosen = np.zeros(m, dtype=bool)
        chosen[np.argsort(score, kind="stable")[:p]] = True
        L = float(lam.sum() + rho[chosen].sum())
        if L > best_L + 1e-12 * (abs(best_L) if np.isfinite(best_L) else 1.0):
            best_L, best_lam, best_chosen, stall = L, lam.copy(), chosen, 0
        else:
            stall += 1
            if stall >= _LAG_STALL:
                theta, stall = theta / 2.0, 0
        if it > _LAG_WARMUP:
            freq += chosen
        if ub - best_L <= max(rel_gap, 1e-9) * abs(ub) or theta < _LAG_MIN_STEP:
            break
        # subgradient: 1 - number of chosen sites demand i is assigned to (those with w_i d_ij < lambda_i)
        g = 1.0 - _served_count(S, chosen, t, rows, j)
        norm = float((g * g).sum())
        if norm == 0.0:
            break
        lam = np.maximum(lam + theta * (ub - L) / norm * g, 0.0)
    if not np.isfinite(best_L):  # no iteration in the budget: L at lambda_i = w_i min_j d_ij (every rho_j = 0)
        best_L = float(w @ S.srt[:, 0])
    # primals: the sites chosen most often by the subproblem, and its sites at the best multipliers,
    # each improved by interchange
    starts = [best_chosen] if best_chosen is not None else []
    if freq.any():
        top = forced.copy()
        top[np.argsort(-(freq + np.where(forced, np.inf, 0.0)), kind="stable")[:p]] = True
        starts.insert(0, top)
    for top in starts:
        if budget.expired():
            break
        top = _interchange(S, w, top, fx, budget)
        if S.value(w, top) < S.value(w, best_mask):
            best_mask = top
    return float(best_L), best_lam, best_mask, it


def _lagrangian_site_costs(S: _Sorted, w: FloatArray, lam: FloatArray) -> FloatArray:
    r""":math:`\rho_j = \sum_i \min(0, w_i d_{ij} - \lambda_i)` for every site (prefixes of the sorted rows)."""
    m = S.shape[1]
    t = _row_count_below(S.srt, lam / w * (1 + 1e-12))
    rows, _, flat = S.prefix(t)
    R = np.minimum(0.0, w[rows] * S.srt.ravel()[flat] - lam[rows])
    return _bincount(S.order.ravel()[flat], weights=R, minlength=m)


def _lagrangian_fixing(
    S: _Sorted, w: FloatArray, p: int, fx: IntArray, lam: FloatArray, vmax: float
) -> tuple[float, NDArray[np.bool_], NDArray[np.bool_], FloatArray]:
    r"""Reduced-cost fixing and per-demand cost limits from Lagrangian multipliers ``lam``.

    With :math:`L = \sum_i \lambda_i + \sum_{j \in S^*} \rho_j` (``S^*`` the subproblem's best ``p``
    sites) every plan ``S`` has value at least :math:`L(S) + \max_i (w_i d_i(S) - \lambda_i)^+`,
    where :math:`L(S) = \sum_i \lambda_i + \sum_{j \in S} \rho_j \ge L`. So a plan of value at most
    ``vmax``:

    * opens no site ``j`` whose forced opening already lifts the bound above ``vmax``
      (:math:`L - \rho_{(q)} + \rho_j > v_{max}`, :math:`\rho_{(q)}` the largest free chosen ``rho``);
    * keeps open every chosen site whose closing lifts it above ``vmax``
      (:math:`L - \rho_j + \rho_{(q+1)} > v_{max}`);
    * serves demand ``i`` at weighted cost at most :math:`\lambda_i + v_{max} - L`.

    Returns ``(L, closed, opened, cap)`` with ``cap[i]`` the largest cost demand ``i`` may be served at.
    """
    m = S.shape[1]
    rho = _lagrangian_site_costs(S, w, lam)
    forced = np.zeros(m, dtype=bool)
    forced[fx] = True
    q = p - int(forced.sum())
    free = np.flatnonzero(~forced)
    order = free[np.argsort(rho[free], kind="stable")]
    chosen = forced.copy()
    chosen[order[:q]] = True
    L = float(lam.sum() + rho[chosen].sum())
    tol = 1e-9 * max(abs(vmax), 1.0)
    closed = np.zeros(m, dtype=bool)
    opened = np.zeros(m, dtype=bool)
    if q >= 1:
        last = float(rho[order[q - 1]])
        closed[free] = L - last + rho[free] > vmax + tol
        closed &= ~chosen
        if order.size > q:
            nxt = float(rho[order[q]])
            opened[order[:q]] = L - rho[order[:q]] + nxt > vmax + tol
    cap: FloatArray = (lam + (vmax - L) + tol) / w
    return L, closed, opened, cap
