r"""Lagrangian branch-and-bound for the p-median on a reduced instance (Christofides & Beasley 1982; Beasley 1985).

Each node fixes some sites open and some closed; its bound is the Lagrangian relaxation of the
assignment constraints (subgradient, warm-started from the parent's multipliers), its primal the
subproblem's sites; reduced-cost fixing (:func:`_node_fixing`) shrinks it further. Nodes whose
bound exceeds ``vmax`` (the largest value a plan worth finding may have) are pruned. Branching is
on the free site the subproblem likes best: first open (depth first), then closed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from swapnet.siting._budget import Budget
from swapnet.siting._common import _bincount
from swapnet.siting._median_heuristics import _Sorted

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_NODE_ITERS = 60
"""Subgradient iterations per node (the root gets ``4 x`` as many)."""
_MAX_NODES = 200_000
_BRANCH = np.argmax


@dataclass
class _Node:
    opened: BoolArray
    closed: BoolArray
    lam: FloatArray
    parent_bound: float


@dataclass(frozen=True)
class BBResult:
    """What the tree search found: the best plan, its value, a global bound, and whether it finished."""

    mask: BoolArray | None
    value: float
    bound: float
    finished: bool
    nodes: int


@dataclass(frozen=True)
class _Rows:
    """The reduced instance flattened for the tree: weighted sorted costs, their sites and row starts."""

    ws: FloatArray
    """``w_i`` times the sorted costs, flat (row-major ``n x m``)."""
    site: NDArray[np.int64]
    """Site at each flat position."""
    start: NDArray[np.int64]
    """Flat index of each row's first entry."""
    rank: NDArray[np.int32]
    """Sorted position of each site in each row."""
    m: int

    @classmethod
    def of(cls, S: _Sorted, w: FloatArray) -> _Rows:
        n, m = S.shape
        ws = (w[:, None] * S.srt).ravel()
        return cls(ws, S.order.ravel().astype(np.int64), np.arange(n, dtype=np.int64) * m, S.rank, m)

    def count(self, lam: FloatArray, t0: NDArray[np.int64] | None) -> NDArray[np.int64]:
        """Per row, how many entries have ``w_i d_ij < lam_i`` (unit steps from ``t0``, else bisection)."""
        m, ws, st = self.m, self.ws, self.start
        if t0 is not None:
            t = t0.copy()
            for _ in range(_STEPS):
                up = (t < m) & (ws[st + np.minimum(t, m - 1)] < lam)
                down = (t > 0) & (ws[st + np.maximum(t - 1, 0)] >= lam)
                if not (up.any() or down.any()):
                    return t
                t += up
                t -= down
        lo = np.zeros(st.size, dtype=np.int64)
        hi = np.full(st.size, m, dtype=np.int64)
        while True:
            act = lo < hi
            if not act.any():
                return lo
            mid = (lo + hi) // 2
            go = ws[st + np.minimum(mid, m - 1)] < lam
            lo = np.where(act & go, mid + 1, lo)
            hi = np.where(act & ~go, mid, hi)


_STEPS = 3
"""Unit steps :meth:`_Rows.count` tries before bisecting (multipliers move little between iterations)."""


def _subproblem(
    R: _Rows,
    lam: FloatArray,
    p: int,
    opened: BoolArray,
    closed: BoolArray,
    t0: NDArray[np.int64] | None = None,
) -> tuple[float, BoolArray, FloatArray, NDArray[np.int64], NDArray[np.int64]]:
    m = R.m
    t = R.count(lam, t0)
    total = int(t.sum())
    flat = np.arange(total, dtype=np.int64) + np.repeat(R.start - (np.cumsum(t) - t), t)
    red = np.minimum(R.ws[flat] - np.repeat(lam, t), 0.0)
    sites = R.site[flat]
    rho = _bincount(sites, weights=red, minlength=m)
    score = np.where(opened, -np.inf, np.where(closed, np.inf, rho))
    chosen = np.zeros(m, dtype=bool)
    chosen[np.argsort(score, kind="stable")[:p]] = True
    if total <= t.size * p:  # per demand, the chosen sites it is served by (w_i d_ij < lambda_i)
        served = np.bincount(np.repeat(np.arange(t.size), t)[chosen[sites]], minlength=t.size)
    else:
        served = (R.rank[:, np.flatnonzero(chosen)] < t[:, None]).sum(axis=1)
    return float(lam.sum() + rho[chosen].sum()), chosen, rho, served, t


def _node_bound(
    R: _Rows, node: _Node, p: int, ub: float, iters: int, vmax: float
) -> tuple[float, FloatArray, BoolArray, FloatArray, BoolArray]:
    """Subgradient on one node (stops early once the bound exceeds ``vmax``): best bound, its multipliers,
    subproblem sites and site costs, and the union of the chosen sets."""
    lam = node.lam.copy()
    best_L, best = -np.inf, (lam, np.zeros(R.m, dtype=bool), np.zeros(R.m))
    theta = 1.0
    seen = np.zeros(R.m, dtype=bool)
    stall = 0
    t = None
    for _ in range(iters):
        L, chosen, rho, served, t = _subproblem(R, lam, p, node.opened, node.closed, t)
        seen |= chosen
        if L > best_L + 1e-12 * abs(best_L if np.isfinite(best_L) else 1.0):
            best_L, best, stall = L, (lam.copy(), chosen, rho), 0
            if best_L > vmax + 1e-9 * max(1.0, abs(vmax)):
                break  # the node is pruned
        else:
            stall += 1
            if stall >= 5:
                theta, stall = theta / 2.0, 0
        g = 1.0 - served
        norm = float((g * g).sum())
        if norm == 0.0 or theta < 1e-3:
            break
        lam = np.maximum(lam + theta * max(ub - L, 1e-9 * abs(ub)) / norm * g, 0.0)
    return best_L, best[0], best[1], best[2], seen


def _node_fixing(
    rho: FloatArray, L: float, p: int, opened: BoolArray, closed: BoolArray, vmax: float
) -> tuple[BoolArray, BoolArray]:
    """Reduced-cost fixing at a node (see :func:`~swapnet.siting._median_heuristics._lagrangian_fixing`)."""
    q = p - int(opened.sum())
    free = np.flatnonzero(~opened & ~closed)
    if q <= 0 or free.size <= q:
        return opened, closed
    order = free[np.argsort(rho[free], kind="stable")]
    tol = 1e-9 * max(abs(vmax), 1.0)
    last, nxt = float(rho[order[q - 1]]), float(rho[order[q]])
    closed = closed.copy()
    opened = opened.copy()
    out = order[q:]
    closed[out[L - last + rho[out] > vmax + tol]] = True
    inn = order[:q]
    opened[inn[L - rho[inn] + nxt > vmax + tol]] = True
    return opened, closed


def lagrangian_bb(
    S: _Sorted,
    w: FloatArray,
    p: int,
    forced: BoolArray,
    lam: FloatArray,
    incumbent: BoolArray | None,
    ub: float,
    budget: Budget,
    *,
    mip_gap: float,
    integral: bool,
) -> BBResult:
    """Depth-first Lagrangian branch-and-bound; stops when the tree is exhausted or the budget runs out.

    ``ub`` is the value of the best plan known (``incumbent`` when it is a plan of this instance).
    """
    n, m = S.shape
    finite = np.isfinite(S.srt)
    reach = np.zeros((n, m), dtype=bool)  # reach[i, j]: site j can serve demand i
    np.put_along_axis(reach, S.order.astype(np.int64), finite, axis=1)
    best = None if incumbent is None else incumbent.copy()
    R = _Rows.of(S, w)

    def vmax_of(ub: float) -> float:
        v = ub * (1.0 - mip_gap)
        return min(np.floor(v + 1e-9 * max(1.0, v)), ub - 1.0) if integral else v

    root = _Node(forced.copy(), np.zeros(m, dtype=bool), lam.copy(), -np.inf)
    stack = [root]
    nodes = 0
    while stack and nodes < _MAX_NODES:
        if budget.expired():
            break
        node = stack.pop()
        nodes += 1
        vmax = vmax_of(ub)
        if node.parent_bound > vmax or int(node.opened.sum()) > p:
            continue
        if not reach[:, ~node.closed].any(axis=1).all() or int((~node.closed).sum()) < p:
            continue
        if int(node.opened.sum()) == p:
            val = S.value(w, node.opened)
            if val < ub:
                best, ub = node.opened.copy(), val
            continue
        iters = _NODE_ITERS * (4 if nodes == 1 else 1)
        L, nlam, chosen, rho, seen = _node_bound(R, node, p, ub, iters, vmax)
        for cand in (chosen, seen) if seen.sum() <= p + 2 else (chosen,):
            if int(cand.sum()) == p:
                val = S.value(w, cand)
                if val < ub:
                    best, ub = cand.copy(), val
        vmax = vmax_of(ub)
        if L > vmax + 1e-9 * max(1.0, abs(vmax)):
            continue
        opened, closed = _node_fixing(rho, L, p, node.opened, node.closed, vmax)
        free_chosen = np.flatnonzero(chosen & ~opened & ~closed)
        if free_chosen.size == 0:  # fixing opened every chosen site: the node is a leaf now
            stack.append(_Node(opened, closed, nlam, L))
            continue
        j = int(free_chosen[_BRANCH(rho[free_chosen])])
        o2, c2 = opened.copy(), closed.copy()
        o2[j] = True
        c2[j] = True
        stack.append(_Node(opened, c2, nlam, L))  # closed: explored second
        stack.append(_Node(o2, closed, nlam, L))  # open: explored first
    finished = not stack
    if finished:  # no plan of value <= vmax exists
        bound = min(ub, vmax_of(ub) + 1.0) if integral else min(ub, vmax_of(ub))
    else:
        bound = min(ub, min(nd.parent_bound for nd in stack))
    return BBResult(best, ub, float(bound), finished, nodes)
