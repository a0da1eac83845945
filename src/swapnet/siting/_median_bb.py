r"""Lagrangian branch-and-bound for the p-median on a reduced instance (Christofides & Beasley 1982; Beasley 1985).

Each node fixes some sites open and some closed; its bound is the Lagrangian relaxation of the
assignment constraints (subgradient, warm-started from the parent's multipliers), its primal the
subproblem's sites; reduced-cost fixing (:func:`_node_fixing`) shrinks it further. Nodes whose
bound exceeds ``vmax`` (the largest value a plan worth finding may have) are pruned. Up to
``_BATCH`` nodes from the top of the stack are bounded together by one vectorised subgradient run.
Branching is on a free site the subproblem chose, first open (depth first), then closed: when the
root gap is wide (above ``_WIDE_GAP``) the most attractive one (most negative ``rho``: its closed
child's bound rises most), else the least attractive one (the site the subproblem is least sure of).
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

_NODE_ITERS = 20
"""Subgradient iterations per node (the root gets ``4 x`` as many)."""
_THETA0 = 2.0
"""Step factor a child node starts from (the root: 1). The parent's multipliers are near-optimal for the
parent, and the child's fixing moves its optimum far: a full Polyak step (factor 2) gets there in fewer
iterations. pmed36: 1,414 nodes in 5.0 s, against 4,797 nodes in 24.4 s with factor 1 and 30 iterations."""
_MAX_NODES = 200_000
_WIDE_GAP = 0.0025
"""Relative root gap above which the tree branches on the most attractive chosen site, not the least."""
_BATCH = 16
"""Nodes whose bounds one vectorised subgradient run computes together."""


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

    def count(
        self, lam: FloatArray, t0: NDArray[np.int64] | None, start: NDArray[np.int64] | None = None
    ) -> NDArray[np.int64]:
        """Per row, how many entries have ``w_i d_ij < lam_i`` (unit steps from ``t0``, else bisection).

        ``start`` (default: every row once) lists the rows' first flat entries, so that several
        multiplier vectors of a batch of nodes are counted at once (``lam`` then stacks them).
        """
        m, ws = self.m, self.ws
        st = self.start if start is None else start
        if t0 is None:
            return self._bisect(lam, st)
        t = t0.copy()
        for _ in range(_STEPS):
            up = (t < m) & (ws[st + np.minimum(t, m - 1)] < lam)
            down = (t > 0) & (ws[st + np.maximum(t - 1, 0)] >= lam)
            if not (up.any() or down.any()):
                return t
            t += up
            t -= down
        up = (t < m) & (ws[st + np.minimum(t, m - 1)] < lam)
        rest = np.flatnonzero(up | (t > 0) & (ws[st + np.maximum(t - 1, 0)] >= lam))
        if rest.size:  # rows that moved further: bisection on those only
            t[rest] = self._bisect(lam[rest], st[rest])
        return t

    def _bisect(self, lam: FloatArray, st: NDArray[np.int64]) -> NDArray[np.int64]:
        m, ws = self.m, self.ws
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
) -> tuple[FloatArray, BoolArray, FloatArray, NDArray[np.int64], NDArray[np.int64]]:
    """The Lagrangian subproblem of a batch of ``k`` nodes at once.

    ``lam`` is ``(k, n)``, ``opened`` and ``closed`` ``(k, m)``. Returns per node the bound ``L``
    ``(k,)``, the chosen sites ``(k, m)``, the site costs ``rho`` ``(k, m)``, per demand the number
    of chosen sites serving it ``(k, n)``, and the row counts (flat, to warm-start the next call).
    """
    m = R.m
    k, n = lam.shape
    lf = lam.ravel()
    st = np.tile(R.start, k)
    t = R.count(lf, t0, st)
    total = int(t.sum())
    offs = np.cumsum(t) - t
    flat = np.arange(total, dtype=np.int64) + np.repeat(st - offs, t)
    red = np.minimum(R.ws[flat] - np.repeat(lf, t), 0.0)
    per_node = t.reshape(k, n).sum(axis=1)
    key = np.repeat(np.arange(k, dtype=np.int64) * m, per_node) + R.site[flat]
    rho = _bincount(key, weights=red, minlength=k * m).reshape(k, m)
    score = np.where(opened, -np.inf, np.where(closed, np.inf, rho))
    pick = np.argpartition(score, p - 1, axis=1)[:, :p] if p < m else np.broadcast_to(np.arange(m), (k, m))
    chosen = np.zeros((k, m), dtype=bool)
    np.put_along_axis(chosen, pick, True, axis=1)
    L = lam.sum(axis=1) + np.take_along_axis(rho, pick, axis=1).sum(axis=1)
    # demand i of node b is served by chosen site j when j's rank in row i is below the row's count
    rk = R.rank[:, pick.ravel()].reshape(n, k, pick.shape[1])
    served = (rk < t.reshape(k, n).T[:, :, None]).sum(axis=2).T
    return L, chosen, rho, served, t


def _node_bounds(
    R: _Rows, nodes: list[_Node], p: int, ub: float, iters: int, vmax: float
) -> tuple[FloatArray, FloatArray, BoolArray, FloatArray, BoolArray]:
    """Subgradient on a batch of nodes at once, each stopping early once its bound exceeds ``vmax``
    (or its step has shrunk away): per node the best bound, its multipliers, subproblem sites and
    site costs, and the union of the chosen sets."""
    k, m = len(nodes), R.m
    lam = np.stack([nd.lam for nd in nodes])
    opened = np.stack([nd.opened for nd in nodes])
    closed = np.stack([nd.closed for nd in nodes])
    n = lam.shape[1]
    best_L = np.full(k, -np.inf)
    best_lam = lam.copy()
    best_ch = np.zeros((k, m), dtype=bool)
    best_rho = np.zeros((k, m))
    seen = np.zeros((k, m), dtype=bool)
    theta = np.array([1.0 if nd.parent_bound == -np.inf else _THETA0 for nd in nodes])
    stall = np.zeros(k, dtype=np.int64)
    act = np.arange(k)
    t: NDArray[np.int64] | None = None
    tol = 1e-9 * max(1.0, abs(vmax))
    for _ in range(iters):
        la = lam[act]
        L, chosen, rho, served, t = _subproblem(R, la, p, opened[act], closed[act], t)
        seen[act] |= chosen
        ref = np.where(np.isfinite(best_L[act]), np.abs(best_L[act]), 1.0)
        up = L > best_L[act] + 1e-12 * ref
        ia = act[up]
        best_L[ia], best_lam[ia], best_ch[ia], best_rho[ia] = L[up], la[up], chosen[up], rho[up]
        stall[act[up]] = 0
        st_ = act[~up]
        stall[st_] += 1
        halve = st_[stall[st_] >= 5]
        theta[halve] /= 2.0
        stall[halve] = 0
        g = 1.0 - served
        norm = (g * g).sum(axis=1)
        done = (best_L[act] > vmax + tol) | (norm == 0.0) | (theta[act] < 1e-3)
        step = theta[act] * np.maximum(ub - L, 1e-9 * abs(ub)) / np.where(norm > 0, norm, 1.0)
        lam[act] = np.maximum(la + step[:, None] * g, 0.0)
        keep = ~done
        if not keep.any():
            break
        if not keep.all():
            t = t.reshape(act.size, n)[keep].ravel()
            act = act[keep]
    return best_L, best_lam, best_ch, best_rho, seen


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
    first = True
    branch = np.argmax
    while stack and nodes < _MAX_NODES:
        if budget.expired():
            break
        batch: list[_Node] = []
        vmax = vmax_of(ub)
        while stack and len(batch) < (1 if first else _BATCH):
            node = stack.pop()
            nodes += 1
            if node.parent_bound > vmax or int(node.opened.sum()) > p:
                continue
            if not reach[:, ~node.closed].any(axis=1).all() or int((~node.closed).sum()) < p:
                continue
            if int(node.opened.sum()) == p:
                val = S.value(w, node.opened)
                if val < ub:
                    best, ub = node.opened.copy(), val
                    vmax = vmax_of(ub)
                continue
            batch.append(node)
        if not batch:
            continue
        iters = _NODE_ITERS * (4 if first else 1)
        Ls, lams, chs, rhos, seens = _node_bounds(R, batch, p, ub, iters, vmax)
        if first:  # a wide root gap: branch where closing costs most; a narrow one: on the doubtful site
            branch = np.argmin if float(Ls[0]) < ub - _WIDE_GAP * abs(ub) else np.argmax
            first = False
        children: list[list[_Node]] = []
        for b, node in enumerate(batch):
            L, chosen, rho, seen = float(Ls[b]), chs[b], rhos[b], seens[b]
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
                children.append([_Node(opened, closed, lams[b], L)])
                continue
            j = int(free_chosen[branch(rho[free_chosen])])
            o2, c2 = opened.copy(), closed.copy()
            o2[j] = True
            c2[j] = True
            # closed: explored second; open: explored first
            children.append([_Node(opened, c2, lams[b], L), _Node(o2, closed, lams[b], L)])
        for pair in children[::-1]:  # the first node's children end on top of the stack (depth first)
            stack.extend(pair)
    finished = not stack
    if finished:  # no plan of value <= vmax exists
        bound = min(ub, vmax_of(ub) + 1.0) if integral else min(ub, vmax_of(ub))
    else:
        bound = min(ub, min(nd.parent_bound for nd in stack))
    return BBResult(best, ub, float(bound), finished, nodes)
