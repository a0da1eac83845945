"""The LP bound by Benders decomposition (in-out stabilised cut loop) and the Benders MILP."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from swapnet.optim import LinearModel, SolveOptions, SolveStatus
from swapnet.siting.flow._instance import (
    _HASH_SEED,
    BoolArray,
    FloatArray,
    IntArray,
    _Instance,
)
from swapnet.siting.flow._reduce import _Cover, _group_rows, _hash_keys, _segment_sums_u64

_LP_CLUSTERS = 100


_LP_TOL = 1e-3


_LP_MAX_ITER = 200


_INOUT_ALPHA = 0.5


_MASTER_GAP_SHARE = 0.1
"""The master MILPs run to this share of ``mip_gap`` (they stop early once their bound proves the target)."""


_TARGET_SHARE = 0.999
"""The master MILPs prune at ``best * (1 + _TARGET_SHARE * mip_gap)``: reaching it proves the gap with a margin."""


_LP_SHARE = 0.3
"""Share of the time left that the LP bound may use."""


@dataclass
class _LPBound:
    bound: float
    xbar: FloatArray
    center: FloatArray
    iterations: int
    solve_seconds: float
    master: float = float("nan")
    """Optimum of the last master LP (an upper bound; ``bound`` is the smallest of them)."""
    rc: FloatArray | None = None
    """Reduced costs of the stations in the last master LP (``None`` if it was not solved)."""
    pool: _CutPool | None = None
    """The Benders cuts, to go on with a master MILP."""


@dataclass(frozen=True)
class _SetMap:
    """Cover sets restricted to the stations kept, identical ones merged: set ``s`` is ``sets[rep[s]]`` (-1: empty)."""

    rep: IntArray
    sets: sp.csr_matrix

    def projection(self) -> sp.csr_matrix:
        """The 0/1 matrix taking each set's column to its merged set's (empty sets to none)."""
        has = np.flatnonzero(self.rep >= 0)
        shape = (self.rep.size, self.sets.shape[0])
        return sp.csr_matrix((np.ones(has.size), (has, self.rep[has])), shape=shape)


@dataclass
class _CutPool:
    r"""Benders cuts over the sets' cover variables, and how to make more.

    Each distinct cover set ``s`` has a variable ``z_s <= min(1, sum_{k in s} x_k)`` (row
    ``zdef``); a cut for cluster ``c`` of flow groups reads
    ``theta_c <= sum_{g in c} F_g z_{K*_g}`` with ``K*_g`` one of ``g``'s sets (the least
    covered at the query point). Every such cut is valid at every point, since a group is
    refuelled only if each of its sets holds an open station; written over ``z`` rather than
    ``x`` a term never counts a set as more than covered, which makes the master much tighter
    than cuts over ``x``. On Chicago-Sketch (p = 20, R = 30 mi), four master MILPs over ``z``
    prove the optimum to 0.01 %; four over ``x`` had left 0.343 % at a 600 s limit
    (``docs/siting_flows.md``).
    """

    cuts_at: Callable[[FloatArray, FloatArray | None], tuple[FloatArray, sp.csr_matrix]]
    cap: FloatArray
    """Volume of each cluster (upper bound of its theta)."""
    sets: sp.csr_matrix
    """The cover sets (rows) over the candidates."""
    c: list[IntArray]
    W: list[sp.csr_matrix]
    core: FloatArray | None = None
    """A point inside the LP's feasible set: picks, among the cuts tight at a query point, the strongest at it."""

    def set_map(self, keep: BoolArray) -> _SetMap:
        """The sets restricted to the stations in ``keep``, identical ones merged (their covers are equal).

        Sets are compared as in :func:`~swapnet.siting.flow._reduce._reduce`: by size and two
        independent 64-bit sums of random station keys (a wrong merge needs a 128-bit collision).
        """
        A = sp.csr_matrix(self.sets.multiply(keep[None, :].astype(np.float64)))
        A.eliminate_zeros()
        size = np.diff(A.indptr).astype(np.int64)
        hk = _hash_keys(A.shape[1], 2, _HASH_SEED + 3)
        h0, h1 = (_segment_sums_u64(hk[r][A.indices], A.indptr.astype(np.int64)) for r in range(2))
        has = np.flatnonzero(size > 0)
        gid, first = _group_rows(size[has], h0[has], h1[has])
        rep = np.full(A.shape[0], -1, dtype=np.int64)
        rep[has] = gid
        return _SetMap(rep, sp.csr_matrix(A[has[first]]))

    def master(self, inst: _Instance, *, integer: bool, sm: _SetMap | None = None) -> LinearModel:
        """The master problem ``max sum theta`` over the cuts so far (stations binary with ``integer``).

        With ``sm`` the cover variables are those of the merged sets of :meth:`set_map` (the stations
        outside its ``keep`` closed): a set left without stations has ``z = 0`` and drops from the cuts.
        """
        m, K = inst.n_cands, self.cap.size
        sets = self.sets if sm is None else sm.sets
        S = sets.shape[0]
        lm = LinearModel("frlm_master", sense="max")
        lb_x = np.zeros(m)
        lb_x[inst.fixed] = 1.0
        x = lm.add_vars("x", m, lb=lb_x, ub=1.0, binary=integer).index
        z = lm.add_vars("z", S, ub=1.0).index
        th = lm.add_vars("theta", K, ub=self.cap, cost=1.0).index
        A = sets.tocoo()
        lm.add_constraints(
            "zdef",
            rows=np.concatenate([np.arange(S, dtype=np.int64), A.row.astype(np.int64)]),
            cols=np.concatenate([z, x[A.col.astype(np.int64)]]),
            vals=np.concatenate([np.ones(S), -A.data]),
            hi=np.zeros(S),
            n=S,
        )
        Wcsr = sp.csr_matrix(sp.vstack(self.W))
        if sm is not None:
            Wcsr = sp.csr_matrix(Wcsr @ sm.projection())
        Wall = Wcsr.tocoo()
        kall = np.concatenate(self.c)
        n = kall.size
        lm.add_constraints(
            "cuts",
            rows=np.concatenate([np.arange(n, dtype=np.int64), Wall.row.astype(np.int64)]),
            cols=np.concatenate([th[kall], z[Wall.col.astype(np.int64)]]),
            vals=np.concatenate([np.ones(n), -Wall.data]),
            hi=np.zeros(n),
            n=n,
        )
        zm = np.zeros(m, dtype=np.int64)
        if inst.p is not None:
            lm.add_constraints("count", rows=zm, cols=x, vals=1.0, lo=inst.p, hi=inst.p, n=1)
        if inst.budget is not None:
            lm.add_constraints("budget", rows=zm, cols=x, vals=inst.costs, hi=inst.budget, n=1)
        return lm

    def z_of(self, x: FloatArray) -> FloatArray:
        """The largest feasible set covers ``z = min(1, A x)`` for stations ``x``."""
        out: FloatArray = np.minimum(self.sets @ x, 1.0)
        return out

    def theta_at(self, x: FloatArray) -> FloatArray:
        """The largest feasible ``theta`` for stations ``x`` under the cuts so far."""
        zv = self.z_of(x)
        th = self.cap.copy()
        for c, W in zip(self.c, self.W, strict=True):
            np.minimum.at(th, c, W @ zv)
        return np.maximum(th, 0.0)

    def point(self, x: FloatArray, sm: _SetMap | None = None) -> FloatArray:
        """The master's column vector ``(x, z, theta)`` at stations ``x`` (a feasible MIP start)."""
        z = self.z_of(x) if sm is None else np.minimum(sm.sets @ x, 1.0)
        return np.concatenate([x, z, self.theta_at(x)])

    def add_violated(self, xq: FloatArray, z: FloatArray, theta: FloatArray) -> tuple[float, bool]:
        """Cuts made at ``xq``, keeping those violated at the master's ``(z, theta)``.

        Returns ``phi(xq)`` and whether any cut was kept.
        """
        phi, W = self.cuts_at(xq, self.core)
        viol = np.flatnonzero(W @ z < theta - 1e-9 * np.maximum(1.0, theta))
        if viol.size:
            self.c.append(viol)
            self.W.append(W[viol])
        return float(phi.sum()), bool(viol.size)


def _lp_bound(cov: _Cover, inst: _Instance, opts: SolveOptions, x0: FloatArray, deadline: float | None) -> _LPBound:
    """Upper bound from the LP relaxation, by Benders cuts with in-out stabilisation.

    The LP value of a (fractional) station vector ``x`` is
    ``phi(x) = sum_g F_g min_{K in F_g} z_K`` with ``z_K = min(1, sum_{k in K} x_k)``, a
    concave function; for groups clustered into ``C`` clusters, the master LP
    ``max sum_c theta_c`` over ``{x: count/budget}``, ``z_K <= sum_{k in K} x_k``,
    ``z <= 1``, with cuts ``theta_c <= sum_{g in c} F_g z_{K*_g}`` (``K*_g`` the set of ``g``
    least covered at the query point) is a relaxation whose optimum is a valid upper bound at
    every iteration and converges to the LP bound. Only small LPs (candidates + sets +
    clusters columns) are solved.
    """
    G = cov.n_groups
    F = cov.group_volume
    A = cov.sets.tocsr()
    S = A.shape[0]
    order = np.argsort(cov.gpair_group, kind="stable")
    pg, ps = cov.gpair_group[order], cov.gpair_set[order]
    gptr = np.searchsorted(pg, np.arange(G + 1))
    has_pairs = gptr[1:] > gptr[:-1]
    K = max(1, min(_LP_CLUSTERS, G))
    origin = inst.nodes[inst.ptr[cov.group_rep]] if G else np.zeros(0, dtype=np.int64)
    clus = (np.unique(origin, return_inverse=True)[1].astype(np.int64) % K) if G else origin
    V = np.bincount(clus, weights=F, minlength=K)
    gp = np.flatnonzero(has_pairs)

    def cuts_at(xq: FloatArray, core: FloatArray | None) -> tuple[FloatArray, sp.csr_matrix]:
        val = np.minimum(A @ xq, 1.0)[ps]
        vcore = (A @ core)[ps] if core is not None else np.zeros(ps.size)
        srt = np.lexsort((vcore, val, pg))
        first = srt[gptr[:-1][has_pairs]]
        phi: FloatArray = np.bincount(clus[gp], weights=F[gp] * val[first], minlength=K).astype(np.float64)
        W = sp.csr_matrix((F[gp], (clus[gp], ps[first])), shape=(K, S))
        W.sum_duplicates()
        return phi, W

    center = x0.astype(np.float64)
    phi, W = cuts_at(center, None)
    best = float(phi.sum())
    pool = _CutPool(cuts_at, np.asarray(V, dtype=np.float64), A, [np.arange(K, dtype=np.int64)], [W])
    ub = float(F.sum())
    xbar = center
    spent = 0.0
    n_iter = 0
    master = float("nan")
    rc: FloatArray | None = None
    while n_iter < _LP_MAX_ITER:
        n_iter += 1
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0.05:
            break
        lm = pool.master(inst, integer=False)
        x = lm.block("x").index
        sol = lm.solve(opts, deadline=deadline)
        spent += sol.report.solve_seconds
        if sol.status != SolveStatus.OPTIMAL:
            break
        ub = min(ub, sol.objective)
        xbar, zbar, tbar = sol.values("x"), sol.values("z"), sol.values("theta")
        if sol.col_dual is not None:
            master, rc = sol.objective, sol.col_dual[x]
        if ub - best <= _LP_TOL * max(ub, 1e-9):
            break
        added = False
        for xq in (_INOUT_ALPHA * center + (1 - _INOUT_ALPHA) * xbar, xbar):
            val, added = pool.add_violated(xq, zbar, tbar)
            if val > best:
                best, center = val, xq
            if added:
                break
        if not added:  # the master's point is exact: the bound is reached
            best = max(best, ub)
            break
    pool.core = 0.5 * (xbar + center)
    return _LPBound(ub, xbar, center, n_iter, spent, master, rc, pool)


@dataclass
class _BendersMilp:
    best_open: BoolArray
    best_val: float
    bound: float
    iterations: int
    solve_seconds: float
    log: list[tuple[float, float, float]]
    """Per master MILP: its seconds, the bound and the best plan's value after it."""


def _benders_milp(
    pool: _CutPool,
    inst: _Instance,
    opts: SolveOptions,
    keep: BoolArray,
    force: BoolArray,
    best_open: BoolArray,
    best_val: float,
    bound: float,
    value_of: Callable[[BoolArray], float],
    deadline: float | None,
) -> _BendersMilp:
    """Branch-and-cut by iterated master MILPs: integer stations over the Benders cuts so far.

    The master MILP is a relaxation (its dual bound is an upper bound on the
    optimum); its plan is scored exactly and cuts violated there are added, until
    the bound meets the best plan (within ``mip_gap``), no cut is violated (the
    master's plan is optimal) or time runs out. Stations closed by reduced-cost
    fixing stay closed, forced ones open.
    """
    it, spent = 0, 0.0
    log: list[tuple[float, float, float]] = []
    reserve = 0.0 if opts.time_limit is None else min(0.5, 0.05 * opts.time_limit)
    sm = pool.set_map(keep)
    m, n_sets = inst.n_cands, sm.sets.shape[0]
    mopts = dataclasses.replace(opts, mip_gap=_MASTER_GAP_SHARE * opts.mip_gap)
    while deadline is None or deadline - time.perf_counter() > reserve:
        if bound - best_val <= opts.mip_gap * max(abs(best_val), 1e-9):
            break
        it += 1
        lm = pool.master(inst, integer=True, sm=sm)
        x = lm.block("x").index
        lm.set_bounds(x[~keep], ub=0.0)
        lm.set_bounds(x[force], lb=1.0)
        x0 = best_open.astype(np.float64)
        found: list[FloatArray] = []
        target = best_val * (1.0 + _TARGET_SHARE * opts.mip_gap)
        sol = lm.solve(
            mopts,
            start=pool.point(x0, sm),
            deadline=deadline,
            bound_target=target,
            on_solution=found.append,
        )
        spent += sol.report.solve_seconds
        if np.isfinite(sol.report.bound):  # with the target, already no better than it
            bound = min(bound, max(sol.report.bound, best_val))
        if not sol.status.has_solution:
            break
        # score every plan the master found, and cut each off where the master over-rates it
        assert sol.x is not None
        added = False
        for v in [*found, sol.x]:
            xs = np.round(v[:m]) > 0.5
            val = value_of(xs)
            if val > best_val:
                best_open, best_val = xs, val
            xf = xs.astype(np.float64)
            added |= pool.add_violated(xf, pool.z_of(xf), v[m + n_sets :])[1]
        log.append((sol.report.solve_seconds, bound, best_val))
        if not added:  # the master's plans are worth what the master says: its bound is reached
            if sol.status == SolveStatus.OPTIMAL:
                bound = min(bound, max(sol.report.bound, best_val))
            break
    return _BendersMilp(best_open, best_val, bound, it, spent, log)


def _mask_of(idx: IntArray, like: BoolArray) -> BoolArray:
    out = np.zeros(like.size, dtype=bool)
    out[idx] = True
    return out


def _reduced_cost_fixing(
    lp: _LPBound, inst: _Instance, best_open: BoolArray, best_val: float
) -> tuple[BoolArray, BoolArray]:
    """Stations that may stay (``keep``) and stations that must open (``force``), from the master LP's reduced costs.

    The master LP is a relaxation with optimum ``master``; for a station at 0 with
    reduced cost ``r < 0`` every plan opening it is worth at most ``master + r``
    (LP duality), for a station at 1 with ``r > 0`` every plan closing it at most
    ``master - r``. When that is below ``best_val`` (with a safety margin) no
    better plan does so. Stations of the incumbent are never closed.
    """
    assert lp.rc is not None
    m = inst.n_cands
    rc, x = lp.rc, lp.xbar
    margin = 1e-7 * max(abs(best_val), 1.0)
    fixed = _mask_of(inst.fixed, np.zeros(m, dtype=bool))
    close = (x <= 1e-9) & (rc < 0) & (lp.master + rc < best_val - margin) & ~best_open & ~fixed
    force = (x >= 1 - 1e-9) & (rc > 0) & (lp.master - rc < best_val - margin) & best_open & ~fixed
    return ~close, force
