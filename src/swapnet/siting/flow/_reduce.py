"""Reductions of the flow cover structure (minimal sets, hashing, merged flows, dominated candidates) and the greedy."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from swapnet.errors import InfeasibleError
from swapnet.siting.flow._instance import (
    _HASH_SEED,
    BoolArray,
    FloatArray,
    IntArray,
    IntervalsFn,
    U64Array,
    _candidate_ranks,
    _Instance,
    _Intervals,
)


@dataclass(frozen=True)
class _Cover:
    """The reduced covering structure.

    ``sets`` is a 0/1 CSR matrix (distinct cover sets x candidates). Pairs
    ``(pair_flow, pair_set)`` list the minimal sets of every coverable flow.
    Flows with positive volume and identical families form groups; group ``g``
    needs every set in ``gpair_set[gpair_group == g]``.
    """

    sets: sp.csr_matrix
    pair_flow: IntArray
    pair_set: IntArray
    coverable: BoolArray
    group_of_flow: IntArray
    group_volume: FloatArray
    group_rep: IntArray
    gpair_group: IntArray
    gpair_set: IntArray
    n_arcs: int

    @property
    def n_groups(self) -> int:
        return int(self.group_volume.size)

    @property
    def n_sets(self) -> int:
        return int(self.sets.shape[0])


def _hash_keys(m: int, k: int, seed: int) -> U64Array:
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(np.uint64).max, size=(k, m), dtype=np.uint64, endpoint=True)


def _segment_sums_u64(values: U64Array, ptr: IntArray) -> U64Array:
    """Wrap-around sums of ``values[ptr[i]:ptr[i+1]]`` (uint64 arithmetic is modulo 2**64)."""
    pre = np.zeros(values.size + 1, dtype=np.uint64)
    np.cumsum(values, out=pre[1:])
    out: U64Array = pre[ptr[1:]] - pre[ptr[:-1]]
    return out


def _group_rows(*keys: NDArray[Any]) -> tuple[IntArray, IntArray]:
    """Group ids for rows with identical ``keys`` (ids in order of first appearance) and the first row of each."""
    n = keys[0].size
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort(keys[::-1])
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for k in keys:
        ks = k[order]
        new[1:] |= ks[1:] != ks[:-1]
    gid_sorted = np.cumsum(new) - 1
    gid = np.empty(n, dtype=np.int64)
    gid[order] = gid_sorted
    first = np.full(int(gid_sorted[-1]) + 1, n, dtype=np.int64)
    np.minimum.at(first, gid, np.arange(n, dtype=np.int64))
    # renumber groups by first appearance for determinism
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size, dtype=np.int64)
    return rank[gid], np.sort(first)


def _reduce(inst: _Instance, iv: _Intervals, extra_keys: tuple[NDArray[Any], ...] = ()) -> _Cover:
    """De-duplicate cover sets across flows and merge flows with identical families.

    Sets are compared by two independent 64-bit sums of random node keys over
    their candidate intervals (computed from prefix sums, so no set is
    materialised twice); a wrong merge needs a 128-bit collision.
    ``extra_keys`` (one value per flow) must also agree for flows to merge.
    """
    m = inst.n_cands
    cand, cptr, _ = _candidate_ranks(inst)
    hk = _hash_keys(m, 2, _HASH_SEED)
    start = cptr[iv.flow] + iv.lo
    stop = cptr[iv.flow] + iv.hi + 1
    h: list[U64Array] = []
    for r in range(2):
        pre = np.zeros(cand.size + 1, dtype=np.uint64)
        np.cumsum(hk[r][cand], out=pre[1:])
        h.append(pre[stop] - pre[start])
    size = stop - start
    sid, first = _group_rows(size, h[0], h[1])
    # materialise each distinct set once
    s_start, s_len = start[first], size[first]
    rows = np.repeat(np.arange(first.size, dtype=np.int64), s_len)
    offs = np.repeat(s_start - np.concatenate([[0], np.cumsum(s_len)[:-1]]), s_len) if first.size else rows
    cols = cand[offs + np.arange(rows.size, dtype=np.int64)] if rows.size else rows
    A = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(first.size, m))
    A.sum_duplicates()
    A.data[:] = 1.0
    # unique (flow, set) pairs
    nset = max(first.size, 1)
    key = np.unique(iv.flow * nset + sid)
    pair_flow, pair_set = key // nset, key % nset
    # families
    n = inst.n_flows
    valid = iv.coverable & (inst.volumes > 0)
    pptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair_flow, minlength=n), out=pptr[1:])
    fk = _hash_keys(nset, 2, _HASH_SEED + 1)
    fam = [_segment_sums_u64(fk[r][pair_set], pptr) for r in range(2)]
    cnt = np.diff(pptr)
    vf = np.flatnonzero(valid).astype(np.int64)
    gid, gfirst = _group_rows(cnt[vf], fam[0][vf], fam[1][vf], *(k[vf] for k in extra_keys))
    group_of_flow = np.full(n, -1, dtype=np.int64)
    group_of_flow[vf] = gid
    group_rep = vf[gfirst]
    group_volume = np.bincount(gid, weights=inst.volumes[vf], minlength=gfirst.size).astype(np.float64)
    rep_group = np.full(n, -1, dtype=np.int64)
    rep_group[group_rep] = np.arange(group_rep.size, dtype=np.int64)
    in_rep = rep_group[pair_flow] >= 0
    return _Cover(
        sets=A,
        pair_flow=pair_flow,
        pair_set=pair_set,
        coverable=iv.coverable.copy(),
        group_of_flow=group_of_flow,
        group_volume=group_volume,
        group_rep=group_rep,
        gpair_group=rep_group[pair_flow[in_rep]],
        gpair_set=pair_set[in_rep],
        n_arcs=iv.n_arcs,
    )


def _flow_covered(cov: _Cover, is_open: BoolArray) -> BoolArray:
    """Which flows have an open station in every one of their cover sets."""
    hit = (cov.sets @ is_open.astype(np.float64)) > 0.5
    n = cov.coverable.size
    need = np.bincount(cov.pair_flow, minlength=n)
    got = np.bincount(cov.pair_flow, weights=hit[cov.pair_set], minlength=n)
    return cov.coverable & (got >= need)


def _greedy(cov: _Cover, inst: _Instance) -> BoolArray:
    """Greedy siting: repeatedly open the station with the largest marginal covered volume.

    Ties (in particular when no single station completes a flow) are broken by
    the volume-weighted share of still-missing sets a station would hit, then by
    candidate order. With a budget the score is per unit cost, and only
    stations leaving enough budget for the remaining count are eligible.
    """
    m = inst.n_cands
    is_open = np.zeros(m, dtype=bool)
    is_open[inst.fixed] = True
    c = inst.costs
    p, B = inst.p, inst.budget
    G = cov.n_groups
    F = cov.group_volume
    A = cov.sets.tocsr()
    gp_g, gp_s = cov.gpair_group, cov.gpair_set
    while True:
        n_open = int(is_open.sum())
        if p is not None and n_open >= p:
            break
        eligible = ~is_open
        if B is not None:
            rem = B - float(c[is_open].sum())
            slack = rem * (1 + 1e-12) + 1e-12
            if p is None:
                eligible &= c <= slack
            else:
                k_more = p - n_open - 1  # stations still to add after this one
                others = np.sort(c[~is_open])
                base = float(others[:k_more].sum())
                with_next = float(others[: k_more + 1].sum())
                # if a station is among the k_more cheapest, the rest costs with_next - c_k
                thr = others[k_more - 1] if k_more > 0 else -np.inf
                total = np.where(c <= thr, with_next, c + base)
                eligible &= total <= slack
        if not eligible.any():
            if p is not None:  # pragma: no cover - _check_budget guarantees a feasible completion
                raise InfeasibleError("greedy: no affordable station left to reach p")
            break
        hit = (A @ is_open.astype(np.float64)) > 0.5
        unhit = ~hit[gp_s]
        g_u = gp_g[unhit]
        u = np.bincount(g_u, minlength=G)
        P = sp.csr_matrix((np.ones(g_u.size), (g_u, gp_s[unhit])), shape=(G, A.shape[0]))
        H = (P @ A).tocoo()
        hg, hk, hv = H.row.astype(np.int64), H.col.astype(np.int64), H.data
        done = np.abs(hv - u[hg]) < 0.5
        gain = np.bincount(hk[done], weights=F[hg[done]], minlength=m)
        prog = np.bincount(hk, weights=F[hg] * hv / np.maximum(u[hg], 1), minlength=m)
        if B is not None:
            scale = np.where(c > 0, 1.0 / np.where(c > 0, c, 1.0), 1e100)  # free stations first
            gain, prog = gain * scale, prog * scale
        gain = np.where(eligible, gain, -1.0)
        prog = np.where(eligible, prog, -1.0)
        if p is None and gain.max() <= 0 and prog.max() <= 0:
            break
        best = int(np.lexsort((np.arange(m), -prog, -gain))[0])
        is_open[best] = True
    return is_open


_DOMINANCE_MAX_CANDS = 20_000


def _masked(inst: _Instance, keep: BoolArray) -> _Instance:
    """The instance with the candidates outside ``keep`` unable to cover anything (indices unchanged)."""
    cof = inst.cand_of_node.copy()
    cof[inst.cand_nodes[~keep]] = -1
    return dataclasses.replace(inst, cand_of_node=cof)


def _dominated(cov: _Cover, inst: _Instance) -> BoolArray:
    """Candidates that another candidate dominates, so the model may ignore them.

    Candidate ``k`` is dominated by ``k'`` when every cover set (of a flow with
    positive volume) containing ``k`` also contains ``k'``, ties broken by the
    number of sets and then by position (and, under a budget, ``k'`` is no
    dearer). Any plan can swap each dominated station for an undominated
    dominator without losing volume, so the optimum is unchanged. Not applied
    when both ``p`` and a budget are given (a swap could break one of them).
    """
    m = inst.n_cands
    out = np.zeros(m, dtype=bool)
    if (inst.p is not None and inst.budget is not None) or m > _DOMINANCE_MAX_CANDS:
        return out
    used = np.zeros(cov.n_sets, dtype=bool)
    used[cov.gpair_set] = True
    Au = cov.sets.tocsr()[used]
    deg = np.asarray(Au.sum(axis=0), dtype=np.float64).ravel()
    C = (Au.T.tocsr() @ Au).tocoo()
    k, kk, v = C.row.astype(np.int64), C.col.astype(np.int64), np.asarray(C.data, dtype=np.float64)
    sub = (np.abs(v - deg[k]) < 0.5) & (k != kk)
    k, kk = k[sub], kk[sub]
    if inst.budget is None:
        better = (deg[kk] > deg[k]) | ((deg[kk] == deg[k]) & (kk < k))
    else:
        c = inst.costs
        tie = (c[kk] < c[k]) | ((c[kk] == c[k]) & (kk < k))
        better = (c[kk] <= c[k]) & ((deg[kk] > deg[k]) | ((deg[kk] == deg[k]) & tie))
    out[k[better]] = True
    out |= deg < 0.5
    out[inst.fixed] = False
    return out


def _without_fixed_hits(cov: _Cover, inst: _Instance) -> _Cover:
    """Drop the group-set pairs already satisfied by the fixed stations."""
    if inst.fixed.size == 0:
        return cov
    fx = np.zeros(inst.n_cands)
    fx[inst.fixed] = 1.0
    hit = (cov.sets @ fx) > 0.5
    keep = ~hit[cov.gpair_set]
    return dataclasses.replace(cov, gpair_group=cov.gpair_group[keep], gpair_set=cov.gpair_set[keep])


def _model_cover(inst: _Instance, cov: _Cover, intervals: IntervalsFn) -> tuple[_Instance, _Cover, int]:
    """The cover structure handed to the solver: dominated candidates removed, fixed hits dropped."""
    dom = _dominated(cov, inst)
    if dom.any():
        inst_m = _masked(inst, ~dom)
        cov = _reduce(inst_m, intervals(inst_m))
    return inst, _without_fixed_hits(cov, inst), int(dom.sum())
