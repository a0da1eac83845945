"""Flow-based siting: the flow-capturing (FCLM) and flow-refuelling (FRLM) location models.

Both models serve *flows* (origin-destination trips along paths) rather than
demand points. A flow counts only when the stations on its path serve it:

* **FCLM** (Hodgson 1990): a flow is *captured* when at least one open station
  lies on its path (origin and destination included).
* **FRLM** (Kuby & Lim 2005): a flow is *refuelable* when a vehicle with range
  ``R`` can make the round trip origin -> destination -> origin swapping only at
  open stations on its path, leaving the origin with half a range. This module
  uses the arc-cover / path-cover formulation of Capar, Kuby, Leon & Tsai (2013)
  on the round-trip cycle.

Both reduce to one covering structure: flow ``q`` counts iff every set ``K`` in
a family ``F_q`` of candidate sets contains an open station (FCLM: one set, the
path; FRLM: one set per arc of the round trip). Each ``K`` is a contiguous run of
the path, so sets are handled as intervals of candidate positions along paths;
they are built for all flows at once with numpy, reduced to the minimal sets of
each flow, de-duplicated across flows (by 128-bit interval hashes), and flows with
identical families are merged. See ``docs/siting_flows.md`` for the mathematics.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from swapnet.errors import DisconnectedNetworkError, InfeasibleError, InvalidInputError, SolverError
from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork
from swapnet.optim import LinearModel, SolveOptions, SolveReport, SolveStatus
from swapnet.siting._budget import Budget
from swapnet.siting._inputs import UNREACHABLE_MODES, as_site_costs, check_p, fixed_indices
from swapnet.siting.plan import SitingPlan, default_options

__all__ = ["flow_capturing", "flow_refueling"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
U64Array = NDArray[np.uint64]

_RANGE_RTOL = 1e-9
"""Distances within this fraction of the range above it still count as within range."""
_HASH_SEED = 20130101
_METHODS = ("milp", "greedy")


# ----------------------------------------------------------------------------- instance
@dataclass(frozen=True)
class _Instance:
    """A flow-siting instance flattened to internal indices.

    Paths are stored back to back: flow ``q`` visits ``nodes[ptr[q]:ptr[q+1]]``
    and its edges have lengths ``lens[eptr[q]:eptr[q+1]]``.
    """

    network: RoadNetwork
    flows: ODFlows
    nodes: IntArray
    ptr: IntArray
    lens: FloatArray
    eptr: IntArray
    volumes: FloatArray
    cand_nodes: IntArray
    cand_labels: tuple[Hashable, ...]
    cand_of_node: IntArray
    fixed: IntArray
    costs: FloatArray
    p: int | None
    budget: float | None

    @property
    def n_flows(self) -> int:
        return int(self.ptr.size - 1)

    @property
    def n_cands(self) -> int:
        return int(self.cand_nodes.size)

    @property
    def n_edges(self) -> IntArray:
        return np.diff(self.eptr)


def _prepare(
    network: RoadNetwork,
    flows: ODFlows,
    p: int | None,
    budget: float | None,
    site_costs: ArrayLike | None,
    fixed: Iterable[Hashable] | None,
    candidates: Iterable[Hashable] | None,
    *,
    round_trip: bool,
) -> _Instance:
    if not isinstance(network, RoadNetwork):
        raise InvalidInputError("network", type(network).__name__, "must be a RoadNetwork")
    if not isinstance(flows, ODFlows):
        raise InvalidInputError("flows", type(flows).__name__, "must be an ODFlows")
    if len(flows) == 0:
        raise InvalidInputError("flows", flows, "needs at least one flow")
    if round_trip:
        o = network.index_of(flows.origins, field="flows.origins")
        d = network.index_of(flows.destinations, field="flows.destinations")
        same = np.flatnonzero(o == d)
        if same.size:
            k = int(same[0])
            raise InvalidInputError(
                f"flows.destinations[{k}]",
                flows.destinations[k],
                "equals the flow's origin; a round trip from a node to itself cannot be refuelled",
            )
    paths = flows.path_indices(network)  # checks labels and walks; shortest paths when none given
    counts = np.fromiter((pth.size for pth in paths), dtype=np.int64, count=len(paths))
    ptr = np.zeros(len(paths) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    nodes = np.concatenate(paths).astype(np.int64) if paths else np.zeros(0, dtype=np.int64)
    not_last = np.ones(nodes.size, dtype=bool)
    not_last[ptr[1:] - 1] = False
    tail_pos = np.flatnonzero(not_last)
    lens = network.edge_lengths(nodes[tail_pos], nodes[tail_pos + 1]).astype(np.float64)
    if np.isnan(lens).any():  # pragma: no cover - flows.check rejects such paths
        raise InvalidInputError("flows.paths", "not a walk", "consecutive path nodes are not joined by an edge")
    eptr = ptr - np.arange(ptr.size, dtype=np.int64)
    eptr[0] = 0

    n = network.n_nodes
    if candidates is None:
        on_path = np.zeros(n, dtype=bool)
        on_path[nodes] = True
        cand_nodes = np.flatnonzero(on_path).astype(np.int64)
    else:
        cand_nodes = network.index_of(candidates, field="candidates")
        if cand_nodes.size == 0:
            raise InvalidInputError("candidates", candidates, "needs at least one candidate node")
        uniq, first = np.unique(cand_nodes, return_index=True)
        if uniq.size != cand_nodes.size:
            dup = np.setdiff1d(np.arange(cand_nodes.size), first)[0]
            raise InvalidInputError("candidates", network.labels[int(cand_nodes[dup])], "is listed twice")
    cand_labels = tuple(network.labels[int(i)] for i in cand_nodes)
    cand_of_node = np.full(n, -1, dtype=np.int64)
    cand_of_node[cand_nodes] = np.arange(cand_nodes.size, dtype=np.int64)
    m = cand_nodes.size

    fx = fixed_indices(fixed, cand_labels)
    costs = as_site_costs(site_costs, m)
    pp = check_p(p, m, fx.size)
    B = _check_budget(budget, costs, fx, pp)
    return _Instance(
        network=network,
        flows=flows,
        nodes=nodes,
        ptr=ptr,
        lens=lens,
        eptr=eptr,
        volumes=np.asarray(flows.volumes, dtype=np.float64),
        cand_nodes=cand_nodes,
        cand_labels=cand_labels,
        cand_of_node=cand_of_node,
        fixed=fx,
        costs=costs,
        p=pp,
        budget=B,
    )


def _check_budget(budget: float | None, c: FloatArray, fx: IntArray, p: int | None) -> float | None:
    if budget is None:
        if p is None:
            raise InvalidInputError("p", None, "give p, budget, or both")
        return None
    try:
        B = float(budget)
    except (TypeError, ValueError):
        raise InvalidInputError("budget", budget, "must be a number") from None
    if not np.isfinite(B) or B < 0:
        raise InvalidInputError("budget", budget, "must be finite and non-negative")
    need = float(c[fx].sum())
    if need > B * (1 + 1e-12) + 1e-12:
        raise InvalidInputError("budget", budget, f"is below the cost of the fixed sites ({need:g})")
    if p is not None:
        extra = float(np.sort(np.delete(c, fx))[: max(p - fx.size, 0)].sum())
        if need + extra > B * (1 + 1e-12) + 1e-12:
            raise InvalidInputError(
                "budget", budget, f"cannot pay for {p} sites (the cheapest choice costs {need + extra:g})"
            )
    return B


def _check_range(range_km: float) -> float:
    try:
        R = float(range_km)
    except (TypeError, ValueError):
        raise InvalidInputError("range_km", range_km, "must be a number") from None
    if not math.isfinite(R) or R <= 0:
        raise InvalidInputError("range_km", range_km, "must be finite and positive")
    return R


def _check_method(method: str) -> str:
    if method not in _METHODS:
        raise InvalidInputError("method", method, f"must be one of {_METHODS}")
    return method


# ------------------------------------------------------------------------ cover intervals
@dataclass(frozen=True)
class _Intervals:
    """Minimal cover sets of every flow, as intervals of candidate ranks along its path.

    Set ``j`` of flow ``flow[j]`` holds the candidates at ranks ``lo[j]..hi[j]``
    (inclusive) among the candidate positions of that flow's path.
    """

    flow: IntArray
    lo: IntArray
    hi: IntArray
    coverable: BoolArray
    n_arcs: int
    """Cover sets before any reduction (one per arc of every coverable flow)."""


def _candidate_ranks(inst: _Instance) -> tuple[IntArray, IntArray, BoolArray]:
    """``(cand, cptr, is_cand)``: candidate positions along paths, their offsets, and the mask."""
    cflat = inst.cand_of_node[inst.nodes]
    is_cand = cflat >= 0
    per_flow = np.add.reduceat(is_cand.astype(np.int64), inst.ptr[:-1]) if inst.nodes.size else np.zeros(0)
    cptr = np.zeros(inst.n_flows + 1, dtype=np.int64)
    np.cumsum(per_flow, out=cptr[1:])
    return cflat[is_cand], cptr, is_cand


def _fclm_intervals(inst: _Instance) -> _Intervals:
    _, cptr, _ = _candidate_ranks(inst)
    k = np.diff(cptr)
    ok = k > 0
    f = np.flatnonzero(ok).astype(np.int64)
    return _Intervals(f, np.zeros(f.size, dtype=np.int64), k[ok] - 1, ok, int(f.size))


def _fold(u: IntArray, L: int) -> IntArray:
    """Path index of round-trip position ``u`` (positions are taken modulo ``2L``)."""
    return np.abs((u + L) % (2 * L) - L)


def _frlm_intervals(inst: _Instance, R: float) -> _Intervals:
    """Minimal arc-cover sets of every flow's round trip, vectorised per path length.

    Round-trip positions ``0..2L`` visit path indices ``0..L..0``. A station at a
    position covers an arc when the distance along the cycle from the position
    forward to the arc's end is at most ``R``. For each arc the covering positions
    form a window ending at the arc's tail; a binary search on the cumulative
    distances of the doubled cycle gives the window's width, and folding the
    window onto the path gives an interval of path indices.
    """
    limit = R * (1 + _RANGE_RTOL)
    n = inst.n_flows
    Ls = inst.n_edges
    is_cand_flat = inst.cand_of_node[inst.nodes] >= 0
    coverable = np.zeros(n, dtype=bool)
    out_f: list[IntArray] = []
    out_lo: list[IntArray] = []
    out_hi: list[IntArray] = []
    n_arcs = 0
    for L in np.unique(Ls).tolist():
        q = np.flatnonzero(Ls == L).astype(np.int64)
        if L == 0:  # pragma: no cover - rejected by _prepare for the FRLM
            continue
        nq, L2 = q.size, 2 * L
        E = inst.lens[inst.eptr[q][:, None] + np.arange(L)]
        ecyc = np.concatenate([E, E[:, ::-1]], axis=1)
        t = np.zeros((nq, 2 * L2 + 1))
        np.cumsum(np.concatenate([ecyc, ecyc], axis=1), axis=1, out=t[:, 1:])
        e = np.arange(1, L2 + 1, dtype=np.int64) + L2  # doubled index of each arc's head
        tend = t[:, e]
        lo_w = np.zeros((nq, L2), dtype=np.int64)
        hi_w = np.full((nq, L2), L2, dtype=np.int64)
        while (lo_w < hi_w).any():
            mid = (lo_w + hi_w + 1) // 2
            ok = tend - np.take_along_axis(t, e[None, :] - mid, axis=1) <= limit
            lo_w = np.where(ok, mid, lo_w)
            hi_w = np.where(ok, hi_w, mid - 1)
        w = lo_w  # number of round-trip positions able to cover each arc
        en = np.broadcast_to(e[None, :] - 1, w.shape)
        st = e[None, :] - np.maximum(w, 1)
        has0 = en // L2 > (st - 1) // L2
        hasL = (en - L) // L2 > (st - 1 - L) // L2
        fs, fe = _fold(st, L), _fold(en, L)
        plo = np.where(has0, 0, np.minimum(fs, fe))
        phi = np.where(hasL, L, np.maximum(fs, fe))
        # path indices -> candidate ranks along the path
        ic = is_cand_flat[inst.ptr[q][:, None] + np.arange(L + 1)].astype(np.int64)
        cc = np.cumsum(ic, axis=1)
        rlo = np.take_along_axis(cc - ic, plo, axis=1)
        rhi = np.take_along_axis(cc, phi, axis=1) - 1
        good = ((w > 0) & (rlo <= rhi)).all(axis=1)
        coverable[q] = good
        if not good.any():
            continue
        q, rlo, rhi = q[good], rlo[good], rhi[good]
        n_arcs += int(rlo.size)
        # keep minimal intervals: sort by (lo desc, hi asc); keep hi < min(hi of earlier ones)
        order = np.argsort(-rlo * (L + 2) + rhi, axis=1, kind="stable")
        slo = np.take_along_axis(rlo, order, axis=1)
        shi = np.take_along_axis(rhi, order, axis=1)
        run = np.minimum.accumulate(shi, axis=1)
        prev = np.concatenate([np.full((q.size, 1), np.iinfo(np.int64).max), run[:, :-1]], axis=1)
        keep = shi < prev
        rows = np.broadcast_to(q[:, None], keep.shape)[keep]
        out_f.append(rows)
        out_lo.append(slo[keep])
        out_hi.append(shi[keep])
    cat = np.concatenate
    if out_f:
        return _Intervals(cat(out_f), cat(out_lo), cat(out_hi), coverable, n_arcs)
    z = np.zeros(0, dtype=np.int64)
    return _Intervals(z, z, z, coverable, n_arcs)


# ------------------------------------------------------------------------------ reduction
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


# ------------------------------------------------------------------------------- greedy
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


# ------------------------------------------------------------------------------- models
@dataclass(frozen=True)
class _Capacity:
    cap: FloatArray  # per candidate
    swaps: FloatArray  # per flow, swaps per trip
    pair_group: IntArray  # (group, candidate) pairs a group may swap at, with visits per trip
    pair_cand: IntArray
    pair_visits: FloatArray


def _build_model(
    inst: _Instance,
    cov: _Cover,
    name: str,
    *,
    capacity: _Capacity | None = None,
    fix_x: BoolArray | None = None,
    allowed: BoolArray | None = None,
) -> tuple[LinearModel, dict[str, int]]:
    """The (reduced) covering MILP. Returns the model and counts of shared sets.

    ``fix_x`` fixes every station variable; ``allowed`` closes the others.
    """
    m, G = inst.n_cands, cov.n_groups
    lm = LinearModel(name, sense="max")
    lb = np.zeros(m)
    lb[inst.fixed] = 1.0
    ub = np.ones(m) if allowed is None else allowed.astype(np.float64)
    if fix_x is not None:
        lb = ub = fix_x.astype(np.float64)
    x = lm.add_vars("x", m, lb=lb, ub=ub, binary=True).index
    y = lm.add_vars("y", G, ub=1.0, cost=cov.group_volume).index
    A = cov.sets.tocsr()
    size = np.diff(A.indptr).astype(np.int64)
    n_use = np.bincount(cov.gpair_set, minlength=cov.n_sets)
    share = n_use * (size - 1) > size + 1  # an auxiliary variable saves nonzeros
    sh_sets = np.flatnonzero(share & (n_use > 0)).astype(np.int64)
    direct = ~share[cov.gpair_set]
    # direct rows: y_g - sum_{k in K} x_k <= 0
    dg, ds = cov.gpair_group[direct], cov.gpair_set[direct]
    nd = dg.size
    ln = size[ds]
    r_x = np.repeat(np.arange(nd, dtype=np.int64), ln)
    starts = A.indptr[ds].astype(np.int64)
    pos = np.repeat(starts - np.concatenate([[0], np.cumsum(ln)[:-1]]), ln) if nd else r_x
    k_x = A.indices[pos + np.arange(r_x.size)].astype(np.int64) if r_x.size else r_x
    lm.add_constraints(
        "cover",
        rows=np.concatenate([np.arange(nd, dtype=np.int64), r_x]),
        cols=np.concatenate([y[dg], x[k_x]]),
        vals=np.concatenate([np.ones(nd), -np.ones(r_x.size)]),
        hi=0.0,
        n=nd,
    )
    if sh_sets.size:
        z = lm.add_vars("z", sh_sets.size, ub=1.0).index
        zi = np.full(cov.n_sets, -1, dtype=np.int64)
        zi[sh_sets] = np.arange(sh_sets.size, dtype=np.int64)
        sub = A[sh_sets].tocoo()
        lm.add_constraints(
            "set_cover",
            rows=np.concatenate([np.arange(sh_sets.size, dtype=np.int64), sub.row.astype(np.int64)]),
            cols=np.concatenate([z, x[sub.col.astype(np.int64)]]),
            vals=np.concatenate([np.ones(sh_sets.size), -np.ones(sub.nnz)]),
            hi=0.0,
            n=sh_sets.size,
        )
        lg, ls = cov.gpair_group[~direct], cov.gpair_set[~direct]
        nl = lg.size
        ar = np.arange(nl, dtype=np.int64)
        lm.add_constraints(
            "link",
            rows=np.concatenate([ar, ar]),
            cols=np.concatenate([y[lg], z[zi[ls]]]),
            vals=np.concatenate([np.ones(nl), -np.ones(nl)]),
            hi=0.0,
            n=nl,
        )
    zeros_m = np.zeros(m, dtype=np.int64)
    if inst.p is not None:
        lm.add_constraints("count", rows=zeros_m, cols=x, vals=1.0, lo=inst.p, hi=inst.p, n=1)
    if inst.budget is not None:
        lm.add_constraints("budget", rows=zeros_m, cols=x, vals=inst.costs, hi=inst.budget, n=1)
    if capacity is not None:
        _add_capacity(lm, inst, cov, capacity, x, y)
    return lm, {"shared_sets": int(sh_sets.size), "direct_rows": int(nd)}


def _add_capacity(lm: LinearModel, inst: _Instance, cov: _Cover, cp: _Capacity, x: IntArray, y: IntArray) -> None:
    """Swap-assignment variables and rows of the capacitated model."""
    G = cov.n_groups
    F = cov.group_volume
    s_g = cp.swaps[cov.group_rep]
    npair = cp.pair_group.size
    w = lm.add_vars("swaps", npair).index
    pg, pk = cp.pair_group, cp.pair_cand
    # sum_k w_gk - s_g F_g y_g = 0
    lm.add_constraints(
        "swaps_needed",
        rows=np.concatenate([pg, np.arange(G, dtype=np.int64)]),
        cols=np.concatenate([w, y]),
        vals=np.concatenate([np.ones(npair), -s_g * F]),
        lo=0.0,
        hi=0.0,
        n=G,
    )
    # w_gk - visits_gk F_g y_g <= 0
    ar = np.arange(npair, dtype=np.int64)
    lm.add_constraints(
        "swaps_per_visit",
        rows=np.concatenate([ar, ar]),
        cols=np.concatenate([w, y[pg]]),
        vals=np.concatenate([np.ones(npair), -cp.pair_visits * F[pg]]),
        hi=0.0,
        n=npair,
    )
    # sum_g w_gk - cap_k x_k <= 0
    m = inst.n_cands
    lm.add_constraints(
        "capacity",
        rows=np.concatenate([pk, np.arange(m, dtype=np.int64)]),
        cols=np.concatenate([w, x]),
        vals=np.concatenate([np.ones(npair), -cp.cap]),
        hi=0.0,
        n=m,
    )


def _start_vector(lm: LinearModel, cov: _Cover, is_open: BoolArray) -> FloatArray:
    """A feasible full column vector for the uncapacitated model with stations ``is_open``."""
    start = np.zeros(lm.n_cols)
    blocks = lm.blocks
    start[blocks["x"].index] = is_open
    hit = (cov.sets @ is_open.astype(np.float64)) > 0.5
    G = cov.n_groups
    need = np.bincount(cov.gpair_group, minlength=G)
    got = np.bincount(cov.gpair_group, weights=hit[cov.gpair_set], minlength=G)
    start[blocks["y"].index] = got >= need
    if "z" in blocks:
        A = cov.sets.tocsr()
        size = np.diff(A.indptr)
        n_use = np.bincount(cov.gpair_set, minlength=cov.n_sets)
        sh = np.flatnonzero((n_use * (size - 1) > size + 1) & (n_use > 0))
        start[blocks["z"].index] = hit[sh]
    return start


# ------------------------------------------------------------------------- verification
def _walk_refuelable(inst: _Instance, is_open_node: BoolArray, R: float) -> BoolArray:
    """Refuelability of every flow by simulating the round trip with a fuel level.

    Independent of the cover sets: the vehicle leaves the origin with ``R/2``
    (``R`` if the origin has an open station), fills up to ``R`` at every open
    station, drives the path to the destination and back, and must never run
    below zero, must swap at least once, and must be back home with at least
    ``R/2`` unless the origin has a station (so the next trip starts alike).
    """
    tol = R * _RANGE_RTOL
    Ls = inst.n_edges
    ok = np.zeros(inst.n_flows, dtype=bool)
    for L in np.unique(Ls).tolist():
        q = np.flatnonzero(Ls == L)
        P = inst.nodes[inst.ptr[q][:, None] + np.arange(L + 1)]
        E = inst.lens[inst.eptr[q][:, None] + np.arange(L)]
        cyc_nodes = np.concatenate([P, P[:, -2::-1]], axis=1) if L > 0 else P
        cyc_lens = np.concatenate([E, E[:, ::-1]], axis=1)
        st = is_open_node[cyc_nodes]
        fuel = np.full(q.size, R / 2)
        alive = np.ones(q.size, dtype=bool)
        swapped = np.zeros(q.size, dtype=bool)
        for i in range(cyc_lens.shape[1]):
            fuel = np.where(st[:, i], R, fuel)
            swapped |= st[:, i]
            fuel = fuel - cyc_lens[:, i]
            alive &= fuel >= -tol
        home = st[:, 0] | (fuel >= R / 2 - tol)
        ok[q] = alive & swapped & home
    return ok


def _captured(inst: _Instance, is_open_node: BoolArray) -> BoolArray:
    """Whether each path visits an open station (a direct scan of the paths)."""
    hit = is_open_node[inst.nodes].astype(np.int64)
    if inst.nodes.size == 0:  # pragma: no cover - flows are non-empty
        return np.zeros(inst.n_flows, dtype=bool)
    return np.add.reduceat(hit, inst.ptr[:-1]) > 0


def _open_mask(sites: tuple[Hashable, ...], inst: _Instance) -> tuple[BoolArray, list[str]]:
    pos = {lab: j for j, lab in enumerate(inst.cand_labels)}
    mask = np.zeros(inst.n_cands, dtype=bool)
    problems = []
    for s in sites:
        j = pos.get(s)
        if j is None:
            problems.append(f"site {s!r} is not a candidate")
        elif mask[j]:
            problems.append(f"site {s!r} is listed twice")
        else:
            mask[j] = True
    return mask, problems


def _check_value(name: str, got: float, want: float, tol: float) -> list[str]:
    if not abs(got - want) <= tol * max(1.0, abs(want)):
        return [f"{name} {got:.10g} != recomputed {want:.10g}"]
    return []


def _make_verify(
    inst: _Instance, served_by: Callable[[BoolArray], BoolArray], capacity: _Capacity | None
) -> Callable[[SitingPlan, float], list[str]]:
    def verify(plan: SitingPlan, tol: float) -> list[str]:
        is_open, problems = _open_mask(plan.sites, inst)
        n_open = int(is_open.sum())
        if inst.p is not None and n_open != inst.p:
            problems.append(f"{n_open} sites open, p = {inst.p}")
        spent = float(inst.costs[is_open].sum())
        if inst.budget is not None and spent > inst.budget * (1 + tol) + tol:
            problems.append(f"site cost {spent:g} exceeds budget {inst.budget:g}")
        problems += [f"fixed site {inst.cand_labels[int(j)]!r} is not open" for j in inst.fixed if not is_open[j]]
        node_open = np.zeros(inst.network.n_nodes, dtype=bool)
        node_open[inst.cand_nodes[is_open]] = True
        ok = served_by(node_open)
        a = plan.assignment
        if len(a) != inst.n_flows:
            return [*problems, f"assignment has {len(a)} rows, expected {inst.n_flows}"]
        flagged = a["covered"].to_numpy(dtype=bool)
        wrong = np.flatnonzero(flagged != ok)
        if wrong.size:
            k = int(wrong[0])
            problems.append(
                f"{wrong.size} flow(s) with a wrong 'covered' flag, e.g. flow {k} "
                f"({inst.flows.origins[k]!r}->{inst.flows.destinations[k]!r}) is {'not ' if not ok[k] else ''}served"
            )
        f = inst.volumes
        if capacity is None:
            value = float(f[ok].sum())
        else:
            served = a["served"].to_numpy(dtype=np.float64)
            value = float((f * served).sum())
            problems += _check_capacity(plan, inst, capacity, is_open, ok, served, tol)
        problems += _check_value("objective", plan.objective, value, tol)
        if plan.covered is not None:
            problems += _check_value("covered", plan.covered, value, tol)
        if np.isfinite(plan.bound) and plan.objective > plan.bound + tol * max(1.0, abs(plan.bound)):
            problems.append(f"objective {plan.objective:.10g} exceeds the bound {plan.bound:.10g}")
        return problems

    return verify


def _check_capacity(
    plan: SitingPlan,
    inst: _Instance,
    cp: _Capacity,
    is_open: BoolArray,
    refuelable: BoolArray,
    served: FloatArray,
    tol: float,
) -> list[str]:
    out: list[str] = []
    f = inst.volumes
    if ((served < -tol) | (served > 1 + tol)).any():
        out.append("served fractions outside [0, 1]")
    bad = np.flatnonzero((served > tol) & ~refuelable)
    if bad.size:
        out.append(f"{bad.size} flow(s) served although not refuelable, e.g. flow {int(bad[0])}")
    sw: pd.DataFrame = plan.details.get("swaps", pd.DataFrame({"flow": [], "station": [], "swaps": []}))
    fl = sw["flow"].to_numpy(dtype=np.int64)
    vol = sw["swaps"].to_numpy(dtype=np.float64)
    pos = {lab: j for j, lab in enumerate(inst.cand_labels)}
    st = np.array([pos.get(s, -1) for s in sw["station"]], dtype=np.int64)
    if (st < 0).any() or (fl < 0).any() or (fl >= inst.n_flows).any():
        return [*out, "swap rows name unknown stations or flows"]
    if (vol < -tol).any():
        out.append("negative swap volumes")
    if (~is_open[st] & (vol > tol)).any():
        out.append("swaps assigned to a closed station")
    # visits of each station by each flow's round trip, from the paths
    visits: dict[tuple[int, int], int] = {}
    for q, k in zip(fl.tolist(), st.tolist(), strict=True):
        if (q, k) not in visits:
            path = inst.nodes[inst.ptr[q] : inst.ptr[q + 1]]
            at = path == inst.cand_nodes[k]
            visits[(q, k)] = int(2 * at.sum() - at[0] - at[-1])
    for q, k, v in zip(fl.tolist(), st.tolist(), vol.tolist(), strict=True):
        limit = visits[(q, k)] * f[q] * served[q]
        if v > limit * (1 + tol) + tol:
            out.append(f"flow {q} swaps {v:g} at {inst.cand_labels[k]!r}, more than {visits[(q, k)]} per trip")
            break
    per_flow = np.bincount(fl, weights=vol, minlength=inst.n_flows)
    need = cp.swaps * f * served
    badf = np.flatnonzero(np.abs(per_flow - need) > tol * np.maximum(1.0, need))
    if badf.size:
        q = int(badf[0])
        out.append(f"{badf.size} flow(s) with swaps != swaps_per_trip*volume*served, e.g. flow {q}")
    load = np.bincount(st, weights=vol, minlength=inst.n_cands)
    over = np.flatnonzero(load > cp.cap * (1 + tol) + tol)
    if over.size:
        k = int(over[0])
        out.append(f"station {inst.cand_labels[k]!r} load {load[k]:g} exceeds capacity {cp.cap[k]:g}")
    return out


# ----------------------------------------------------------------------------- reductions
_LARGE_PAIRS = 40_000
"""Flow-set pairs above which the exact method starts with an LP bound by decomposition."""
_DOMINANCE_MAX_CANDS = 20_000
_LP_CLUSTERS = 100
_LP_TOL = 1e-3
_LP_MAX_ITER = 200
_INOUT_ALPHA = 0.5
_LP_SHARE = 0.3
"""Share of the time left that the LP bound may use."""
_RESTRICTED_SHARE = 0.3
"""Share of the time left (after the LP bound) for the MILP restricted to the LP support."""

IntervalsFn = Callable[[_Instance], _Intervals]


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


# ------------------------------------------------------------------- LP bound (Benders)
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


@dataclass
class _CutPool:
    """Benders cuts ``theta_c <= b + M x`` over clusters ``c`` of flow groups, and how to make more."""

    cuts_at: Callable[[FloatArray], tuple[FloatArray, FloatArray, sp.csr_matrix]]
    cap: FloatArray
    """Volume of each cluster (upper bound of its theta)."""
    c: list[IntArray]
    b: list[FloatArray]
    M: list[sp.csr_matrix]

    def master(self, inst: _Instance, *, integer: bool) -> LinearModel:
        """The master problem ``max sum theta`` over the cuts so far (stations binary with ``integer``)."""
        m, K = inst.n_cands, self.cap.size
        lm = LinearModel("frlm_master", sense="max")
        lb_x = np.zeros(m)
        lb_x[inst.fixed] = 1.0
        x = lm.add_vars("x", m, lb=lb_x, ub=1.0, binary=integer).index
        th = lm.add_vars("theta", K, ub=self.cap, cost=1.0).index
        Mall = sp.vstack(self.M).tocoo()
        kall = np.concatenate(self.c)
        n = kall.size
        lm.add_constraints(
            "cuts",
            rows=np.concatenate([np.arange(n, dtype=np.int64), Mall.row.astype(np.int64)]),
            cols=np.concatenate([th[kall], x[Mall.col.astype(np.int64)]]),
            vals=np.concatenate([np.ones(n), -Mall.data]),
            hi=np.concatenate(self.b),
            n=n,
        )
        zm = np.zeros(m, dtype=np.int64)
        if inst.p is not None:
            lm.add_constraints("count", rows=zm, cols=x, vals=1.0, lo=inst.p, hi=inst.p, n=1)
        if inst.budget is not None:
            lm.add_constraints("budget", rows=zm, cols=x, vals=inst.costs, hi=inst.budget, n=1)
        return lm

    def theta_at(self, x: FloatArray) -> FloatArray:
        """The largest feasible ``theta`` for stations ``x`` under the cuts so far."""
        th = self.cap.copy()
        for c, b, M in zip(self.c, self.b, self.M, strict=True):
            np.minimum.at(th, c, b + M @ x)
        return np.maximum(th, 0.0)

    def add_violated(self, xq: FloatArray, at: FloatArray, theta: FloatArray) -> tuple[float, bool]:
        """Cuts made at ``xq``, keeping those violated at ``(at, theta)``; returns ``phi(xq)`` and whether any was."""
        phi, const, M = self.cuts_at(xq)
        val = const + M @ at
        viol = np.flatnonzero(val < theta - 1e-9 * np.maximum(1.0, theta))
        if viol.size:
            self.c.append(viol)
            self.b.append(const[viol])
            self.M.append(M[viol])
        return float(phi.sum()), bool(viol.size)


def _lp_bound(cov: _Cover, inst: _Instance, opts: SolveOptions, x0: FloatArray, deadline: float | None) -> _LPBound:
    """Upper bound from the LP relaxation, by Benders cuts with in-out stabilisation.

    The LP value of a (fractional) station vector ``x`` is
    ``phi(x) = sum_g F_g min(1, min_{K in F_g} sum_{k in K} x_k)``, a concave
    function; for groups clustered into ``C`` clusters, the master LP
    ``max sum_c theta_c`` over ``{x: count/budget}`` with cuts
    ``theta_c <= sum_{g in c} F_g * (1  or  sum_{k in K*_g} x_k)`` (``K*_g`` the
    set of ``g`` least covered at the query point) is a relaxation whose optimum
    is a valid upper bound at every iteration and converges to the LP bound.
    Only small LPs (candidates + clusters columns) are solved.
    """
    G = cov.n_groups
    F = cov.group_volume
    A = cov.sets.tocsr()
    order = np.argsort(cov.gpair_group, kind="stable")
    pg, ps = cov.gpair_group[order], cov.gpair_set[order]
    gptr = np.searchsorted(pg, np.arange(G + 1))
    has_pairs = gptr[1:] > gptr[:-1]
    K = max(1, min(_LP_CLUSTERS, G))
    origin = inst.nodes[inst.ptr[cov.group_rep]] if G else np.zeros(0, dtype=np.int64)
    clus = (np.unique(origin, return_inverse=True)[1].astype(np.int64) % K) if G else origin
    V = np.bincount(clus, weights=F, minlength=K)

    def cuts_at(xq: FloatArray) -> tuple[FloatArray, FloatArray, sp.csr_matrix]:
        sig = A @ xq
        val = sig[ps]
        srt = np.lexsort((val, pg))
        mins = np.full(G, np.inf)
        star = np.zeros(G, dtype=np.int64)
        first = gptr[:-1][has_pairs]
        mins[has_pairs] = val[srt][first]
        star[has_pairs] = ps[srt][first]
        phi: FloatArray = np.bincount(clus, weights=F * np.minimum(mins, 1.0), minlength=K).astype(np.float64)
        low = mins < 1.0
        const: FloatArray = np.bincount(clus, weights=F * ~low, minlength=K).astype(np.float64)
        W = sp.csr_matrix((F[low], (clus[low], star[low])), shape=(K, A.shape[0]))
        return phi, const, sp.csr_matrix(W @ A)

    center = x0.astype(np.float64)
    phi, const, M = cuts_at(center)
    best = float(phi.sum())
    pool = _CutPool(cuts_at, np.asarray(V, dtype=np.float64), [np.arange(K, dtype=np.int64)], [const], [M])
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
        xbar, tbar = sol.values("x"), sol.values("theta")
        if sol.col_dual is not None:
            master, rc = sol.objective, sol.col_dual[x]
        if ub - best <= _LP_TOL * max(ub, 1e-9):
            break
        added = False
        for xq in (_INOUT_ALPHA * center + (1 - _INOUT_ALPHA) * xbar, xbar):
            val, added = pool.add_violated(xq, xbar, tbar)
            if val > best:
                best, center = val, xq
            if added:
                break
        if not added:  # the master's point is exact: the bound is reached
            best = max(best, ub)
            break
    return _LPBound(ub, xbar, center, n_iter, spent, master, rc, pool)


# -------------------------------------------------------------------------------- common
@dataclass
class _Outcome:
    is_open: BoolArray
    status: SolveStatus
    bound: float
    report: SolveReport | None
    solve_seconds: float
    served_g: FloatArray | None = None
    swaps_g: FloatArray | None = None


def _service_lp(
    inst: _Instance, cov: _Cover, name: str, cp: _Capacity, is_open: BoolArray, opts: SolveOptions
) -> tuple[FloatArray, FloatArray, float]:
    """Optimal capacitated service for fixed stations (an LP)."""
    lm, _ = _build_model(inst, cov, name, capacity=cp, fix_x=is_open)
    sol = lm.solve(opts, relax=True)
    if not sol.status.has_solution:  # pragma: no cover - y = 0 is always feasible
        raise SolverError(f"{name}: service LP for fixed sites returned {sol.status.value}")
    return sol.values("y"), sol.values("swaps"), sol.report.solve_seconds


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.perf_counter(), 0.01)


def _solve_full(
    inst: _Instance,
    cov: _Cover,
    name: str,
    opts: SolveOptions,
    start_open: BoolArray,
    deadline: float | None,
    *,
    capacity: _Capacity | None = None,
    allowed: BoolArray | None = None,
) -> tuple[Any, dict[str, int]]:
    lm, info = _build_model(inst, cov, name, capacity=capacity, allowed=allowed)
    start = _start_vector(lm, cov, start_open) if capacity is None else None
    sol = lm.solve(opts, start=start, deadline=deadline)
    if sol.status == SolveStatus.INFEASIBLE:  # pragma: no cover - inputs are checked beforehand
        raise InfeasibleError(f"{name}: the solver proved the model infeasible")
    if sol.status == SolveStatus.UNBOUNDED:  # pragma: no cover - all variables are bounded
        raise SolverError(f"{name}: the solver reported an unbounded model")
    return sol, info


def _exact(
    inst: _Instance,
    cov: _Cover,
    name: str,
    opts: SolveOptions,
    greedy_open: BoolArray,
    intervals: IntervalsFn,
    details: dict[str, Any],
    capacity: _Capacity | None,
    value_of: Callable[[BoolArray], float],
    budget: Budget,
) -> _Outcome:
    """Solve the MILP; on large uncapacitated instances bound it first by decomposition and fix stations.

    Small instances go straight to HiGHS (warm-started from greedy). Large ones
    (more than ``_LARGE_PAIRS`` flow-set pairs):

    1. the LP bound from :func:`_lp_bound` (Benders master LPs);
    2. the MILP restricted to the candidates in the support of the LP solutions
       (plus the greedy ones) for a strong plan;
    3. **reduced-cost fixing** from the last master LP (a relaxation): a station
       at 0 with reduced cost ``r_k < 0`` cannot be in any plan better than
       ``master + r_k``, so it is closed when that is below the best plan's value
       (and a station at 1 with ``master - r_k`` below it is opened);
    4. the MILP over the stations left, warm-started from the best plan, for the
       time left. Its bound is valid for the whole problem (closed stations
       cannot improve on the incumbent), so the reported gap is honest.

    Every phase draws on ``budget`` (the whole call's time limit).
    """
    deadline = budget.end
    if capacity is not None or cov.gpair_set.size <= _LARGE_PAIRS:
        sol, info = _solve_full(inst, cov, name, opts, greedy_open, deadline, capacity=capacity)
        details.update(info, strategy="milp")
        spent = sol.report.solve_seconds
        if sol.status.has_solution:
            is_open = sol.values("x") > 0.5
            served, swaps = (sol.values("y"), sol.values("swaps")) if capacity is not None else (None, None)
            return _Outcome(is_open, sol.status, sol.report.bound, sol.report, spent, served, swaps)
        served = swaps = None
        if capacity is not None:
            served, swaps, s2 = _service_lp(inst, cov, name, capacity, greedy_open, opts)
            spent += s2
        return _Outcome(greedy_open, SolveStatus.TIME_LIMIT, sol.report.bound, sol.report, spent, served, swaps)

    best_open, best_val = greedy_open, value_of(greedy_open)

    def gap_ok() -> bool:
        return bound - best_val <= opts.mip_gap * max(abs(best_val), 1e-9)

    t_phase = time.perf_counter()
    lp = _lp_bound(cov, inst, opts, greedy_open.astype(np.float64), budget.share(_LP_SHARE))
    details["lp_seconds"] = time.perf_counter() - t_phase
    t_phase = time.perf_counter()
    spent = lp.solve_seconds
    bound = lp.bound
    details.update(strategy="lp-bound+restricted+fixing+milp", lp_bound=lp.bound, lp_iterations=lp.iterations)
    report: SolveReport | None = None
    reserve = 0.0 if opts.time_limit is None else min(0.5, 0.05 * opts.time_limit)
    if not gap_ok() and not budget.expired(reserve):
        support = (lp.xbar > 1e-6) | (lp.center > 1e-6) | best_open
        support[inst.fixed] = True
        if inst.p is not None and support.sum() < inst.p:  # pragma: no cover - LP support has >= p points
            support[np.argsort(-lp.xbar, kind="stable")[: inst.p]] = True
        inst_r = _masked(inst, support)
        cov_r = _without_fixed_hits(_reduce(inst_r, intervals(inst_r)), inst)
        sol, _ = _solve_full(inst, cov_r, name, opts, best_open, budget.share(_RESTRICTED_SHARE), allowed=support)
        spent += sol.report.solve_seconds
        details.update(restricted_candidates=int(support.sum()))
        report = sol.report
        if sol.status.has_solution:
            cand = sol.values("x") > 0.5
            val = value_of(cand)
            if val > best_val:
                best_open, best_val = cand, val
    details["restricted_seconds"] = time.perf_counter() - t_phase
    t_phase = time.perf_counter()
    keep = np.ones(inst.n_cands, dtype=bool)
    force = np.zeros(inst.n_cands, dtype=bool)
    if lp.rc is not None and not gap_ok():
        keep, force = _reduced_cost_fixing(lp, inst, best_open, best_val)
        details.update(n_fixed_closed=int((~keep).sum()), n_fixed_open=int(force.sum()))
    details["fixing_seconds"] = time.perf_counter() - t_phase
    t_phase = time.perf_counter()
    if lp.pool is not None and not gap_ok() and not budget.expired(reserve):
        bm = _benders_milp(lp.pool, inst, opts, keep, force, best_open, best_val, bound, value_of, deadline)
        spent += bm.solve_seconds
        if bm.best_val > best_val:
            best_open, best_val = bm.best_open, bm.best_val
        bound = min(bound, bm.bound)
        details.update(benders_milp_iterations=bm.iterations, benders_milp_seconds=time.perf_counter() - t_phase)
        t_phase = time.perf_counter()
    if gap_ok() or budget.expired(reserve):
        lm, info = _build_model(inst, cov, name)  # sizes of the full model, for the record
        details.update(info, rows=lm.n_rows, cols=lm.n_cols, nonzeros=int(lm.arrays()[4].nnz))
    else:
        inst_k, cov_k = inst, cov
        if not keep.all() or force.any():
            inst_k = dataclasses.replace(_masked(inst, keep), fixed=np.flatnonzero(force | _mask_of(inst.fixed, keep)))
            cov_k = _without_fixed_hits(_reduce(inst_k, intervals(inst_k)), inst_k)
        sol, info = _solve_full(inst_k, cov_k, name, opts, best_open, deadline, allowed=keep)
        spent += sol.report.solve_seconds
        details.update(info, rows=sol.report.n_rows, cols=sol.report.n_cols, nonzeros=sol.report.n_nonzeros)
        report = sol.report
        if sol.status.has_solution:
            cand = sol.values("x") > 0.5
            val = value_of(cand)
            if val >= best_val:
                best_open, best_val = cand, val
        details["milp_seconds"] = time.perf_counter() - t_phase
        if np.isfinite(sol.report.bound):
            # valid for the whole problem: a plan using a closed station is worth less than best_val
            bound = min(bound, max(sol.report.bound, best_val))
    bound = max(bound, best_val)
    status = SolveStatus.OPTIMAL if gap_ok() else SolveStatus.TIME_LIMIT
    return _Outcome(best_open, status, bound, report, spent)


@dataclass
class _BendersMilp:
    best_open: BoolArray
    best_val: float
    bound: float
    iterations: int
    solve_seconds: float


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
    reserve = 0.0 if opts.time_limit is None else min(0.5, 0.05 * opts.time_limit)
    while deadline is None or deadline - time.perf_counter() > reserve:
        if bound - best_val <= opts.mip_gap * max(abs(best_val), 1e-9):
            break
        it += 1
        lm = pool.master(inst, integer=True)
        x = lm.block("x").index
        lm.set_bounds(x[~keep], ub=0.0)
        lm.set_bounds(x[force], lb=1.0)
        x0 = best_open.astype(np.float64)
        sol = lm.solve(opts, start=np.concatenate([x0, pool.theta_at(x0)]), deadline=deadline)
        spent += sol.report.solve_seconds
        if np.isfinite(sol.report.bound):
            bound = min(bound, max(sol.report.bound, best_val))
        if not sol.status.has_solution:
            break
        xs = sol.values("x") > 0.5
        val = value_of(xs)
        if val > best_val:
            best_open, best_val = xs, val
        xf = xs.astype(np.float64)
        _, added = pool.add_violated(xf, xf, sol.values("theta"))
        if not added:  # the master's plan is worth what the master says: its bound is reached
            if sol.status == SolveStatus.OPTIMAL:
                bound = min(bound, max(sol.report.bound, best_val))
            break
        if sol.status != SolveStatus.OPTIMAL:
            break
    return _BendersMilp(best_open, best_val, bound, it, spent)


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


def _solve_and_plan(
    inst: _Instance,
    cov_eval: _Cover,
    intervals: IntervalsFn,
    *,
    model: str,
    method: str,
    options: SolveOptions | None,
    served_by: Callable[[BoolArray], BoolArray],
    t0: float,
    details: dict[str, Any],
    capacity: _Capacity | None = None,
) -> SitingPlan:
    opts = default_options(options)
    budget = Budget.of(opts, t0)
    if capacity is None:
        inst_m, cov, n_dom = _model_cover(inst, cov_eval, intervals)
        details.update(n_dominated_candidates=n_dom, n_cover_sets_model=cov.n_sets)
    else:
        inst_m, cov = inst, cov_eval
    greedy_open = _greedy(cov, inst_m)

    def build() -> LinearModel:
        return _build_model(inst, cov, model, capacity=capacity)[0]

    def value_of(is_open: BoolArray) -> float:
        return float(inst.volumes[_flow_covered(cov_eval, is_open)].sum())

    details["greedy_objective"] = value_of(greedy_open)

    if method == "greedy":
        lm, info = _build_model(inst, cov, model, capacity=capacity)  # sizes of the MILP, for the record
        details.update(info, strategy="greedy", rows=lm.n_rows, cols=lm.n_cols, nonzeros=int(lm.arrays()[4].nnz))
        out = _Outcome(greedy_open, SolveStatus.FEASIBLE, float("nan"), None, 0.0)
        if capacity is not None:
            out.served_g, out.swaps_g, out.solve_seconds = _service_lp(inst, cov, model, capacity, greedy_open, opts)
    else:
        out = _exact(inst_m, cov, model, opts, greedy_open, intervals, details, capacity, value_of, budget)
    is_open = out.is_open
    node_open = np.zeros(inst.network.n_nodes, dtype=bool)
    node_open[inst.cand_nodes[is_open]] = True
    covered = _flow_covered(cov_eval, is_open)
    f = inst.volumes
    extra_cols: dict[str, Any] = {}
    if capacity is not None:
        assert out.served_g is not None and out.swaps_g is not None
        served = np.zeros(inst.n_flows)
        gof = cov.group_of_flow
        has_g = gof >= 0
        served[has_g] = np.clip(out.served_g[gof[has_g]], 0.0, 1.0)
        served[~covered] = 0.0
        objective = float((f * served).sum())
        extra_cols["served"] = served
        details["swaps"] = _split_swaps(inst, cov, capacity, out.swaps_g)
        loads = np.bincount(capacity.pair_cand, weights=out.swaps_g, minlength=inst.n_cands)
        details["loads"] = dict(zip(inst.cand_labels, loads.tolist(), strict=True))
    else:
        objective = float(f[covered].sum())
    assignment = _assignment(inst, node_open, covered, extra_cols)
    if method == "greedy":
        bound, gap = float("nan"), float("nan")
    else:
        bound = out.bound
        if np.isfinite(bound):
            bound = max(bound, objective) if out.status == SolveStatus.OPTIMAL else bound
            gap = max((bound - objective) / max(abs(objective), 1e-9), 0.0)
        else:
            gap = float("inf")
    if out.report is not None:
        details.setdefault("rows", out.report.n_rows)
        details.setdefault("cols", out.report.n_cols)
        details.setdefault("nonzeros", out.report.n_nonzeros)
    build_s = max(time.perf_counter() - t0 - out.solve_seconds, 0.0)
    return SitingPlan(
        model=model,
        sites=tuple(inst.cand_labels[int(j)] for j in np.flatnonzero(is_open)),
        objective=objective,
        bound=bound,
        gap=gap,
        status=out.status,
        covered=objective,
        assignment=assignment,
        build_seconds=build_s,
        solve_seconds=out.solve_seconds,
        method=method,
        details=details,
        report=out.report,
        _verify=_make_verify(inst, served_by, capacity),
        _pyomo=lambda: build().to_pyomo(),
    )


def _assignment(inst: _Instance, node_open: BoolArray, covered: BoolArray, extra: dict[str, Any]) -> pd.DataFrame:
    labels = inst.network.labels
    open_pos = np.flatnonzero(node_open[inst.nodes])
    split = np.searchsorted(open_pos, inst.ptr[1:-1])
    stations = [tuple(dict.fromkeys(labels[int(i)] for i in inst.nodes[chunk])) for chunk in np.split(open_pos, split)]
    data: dict[str, Any] = {
        "origin": list(inst.flows.origins),
        "destination": list(inst.flows.destinations),
        "volume": inst.volumes,
        "covered": covered,
        "stations": stations,
    }
    data.update(extra)
    return pd.DataFrame(data)


def _details(inst: _Instance, cov: _Cover, R: float | None) -> dict[str, Any]:
    return {
        "n_flows": inst.n_flows,
        "n_flows_coverable": int(cov.coverable.sum()),
        "n_flows_after_merge": cov.n_groups,
        "n_cover_sets_unreduced": cov.n_arcs,
        "n_cover_sets": cov.n_sets,
        "n_flow_set_pairs": int(cov.gpair_set.size),
        "n_candidates": inst.n_cands,
        "p": inst.p,
        "budget": inst.budget,
        "range": R,
    }


# -------------------------------------------------------------------------------- public
def flow_capturing(
    network: RoadNetwork,
    flows: ODFlows,
    p: int | None = None,
    *,
    budget: float | None = None,
    site_costs: ArrayLike | None = None,
    fixed: Iterable[Hashable] | None = None,
    candidates: Iterable[Hashable] | None = None,
    options: SolveOptions | None = None,
    method: str = "milp",
    unreachable: str = "raise",
) -> SitingPlan:
    """Flow-capturing location model (FCLM, Hodgson 1990).

    Open stations to maximise the volume of flows that pass at least one open
    station (origin and destination included)::

        max  sum_q f_q y_q
        s.t. y_q <= sum_{k on path q} x_k     for every flow q
             sum_k x_k = p  and/or  sum_k c_k x_k <= budget
             x binary, 0 <= y <= 1

    Flows whose candidate sets coincide are merged (volumes added) before solving.

    Parameters
    ----------
    network
        The road network.
    flows
        Origin-destination flows; ``flows.paths`` when given, else shortest paths on ``network``.
    p
        Exact number of stations (fixed sites count).
    budget
        Upper bound on the total site cost; with ``p`` both apply.
    site_costs
        Cost of each candidate (default 1 each).
    fixed
        Candidate labels that must be open.
    candidates
        Node labels allowed to host a station (default: every node on some path), in output order.
    options
        :class:`~swapnet.optim.SolveOptions`; ``time_limit`` is a budget for the whole call.
    method
        ``"milp"`` (exact, HiGHS, warm-started from the greedy solution) or ``"greedy"``.
    unreachable
        Flows without given paths whose origin cannot reach their destination (a
        disconnected network): ``"raise"`` (default) raises
        :class:`~swapnet.errors.DisconnectedNetworkError` naming one; ``"drop"`` leaves them out
        and lists them in ``details["dropped_flows"]`` (``(origin, destination)`` pairs) with
        ``details["dropped_volume"]``; the assignment has rows for the kept flows only.

    Returns
    -------
    SitingPlan
        ``model="fclm"``; ``objective`` and ``covered`` are the captured volume.
        ``assignment`` has one row per flow with columns ``origin``,
        ``destination``, ``volume``, ``covered`` and ``stations`` (open stations
        on the path, in path order). ``details`` holds instance and model sizes.

    Raises
    ------
    InvalidInputError
        Bad ``p``/``budget``/costs/method, or paths that are not walks.
    UnknownNodeError
        Flow, path, candidate or fixed nodes that are not in the network / not candidates.
    """
    t0 = time.perf_counter()
    method = _check_method(method)
    flows_all, flows, dropped = _routable(network, flows, unreachable, round_trip=False)
    inst = _prepare(network, flows, p, budget, site_costs, fixed, candidates, round_trip=False)
    cov = _reduce(inst, _fclm_intervals(inst))

    def served_by(node_open: BoolArray) -> BoolArray:
        return _captured(inst, node_open)

    details = _details(inst, cov, None)
    plan = _solve_and_plan(
        inst,
        cov,
        _fclm_intervals,
        model="fclm",
        method=method,
        options=options,
        served_by=served_by,
        t0=t0,
        details=details,
    )
    return _with_dropped_flows(plan, network, flows_all, dropped)


def flow_refueling(
    network: RoadNetwork,
    flows: ODFlows,
    range_km: float,
    p: int | None = None,
    *,
    budget: float | None = None,
    fixed: Iterable[Hashable] | None = None,
    capacity: ArrayLike | None = None,
    site_costs: ArrayLike | None = None,
    candidates: Iterable[Hashable] | None = None,
    swaps_per_trip: ArrayLike | None = None,
    options: SolveOptions | None = None,
    method: str = "milp",
    unreachable: str = "raise",
) -> SitingPlan:
    """Flow-refuelling location model (FRLM, Kuby & Lim 2005) in arc-cover form (Capar et al. 2013).

    A flow is *refuelable* when a vehicle of range ``R`` can drive the round trip
    origin -> destination -> origin along its path (the return retraces the path)
    swapping only at open stations on the path, leaving the origin with ``R/2``:
    the first station lies within ``R/2`` of the origin, consecutive stations
    within ``R`` of each other, the last within ``R/2`` of the destination, and
    at least one station is used. Equivalently, on the round trip as a cycle of
    arcs, every arc ``a`` is *covered*: some open station ``k`` on the path lies
    at most ``R`` before the end of ``a`` along the cycle (only stations on the
    path count). With ``K_a`` the stations covering arc ``a``::

        max  sum_q f_q y_q
        s.t. y_q <= sum_{k in K_a} x_k       for every arc a of the round trip of q
             sum_k x_k = p  and/or  sum_k c_k x_k <= budget
             x binary, 0 <= y <= 1

    Only the minimal sets ``K_a`` of each flow are kept, identical sets are shared
    across flows (through an auxiliary variable when that saves nonzeros), and
    flows with identical families of sets are merged. Flows with an arc longer
    than ``R`` (or an arc no candidate can cover) cannot be refuelled and are
    left out of the model.

    With ``capacity`` the model becomes capacitated: a fraction ``y_q`` of flow
    ``q`` may be served, each served vehicle needs ``swaps_per_trip[q]`` swaps per
    trip, split over the open stations on its path with at most one swap per
    visit (interior path nodes are visited twice per round trip, the origin and
    destination once), and station ``k`` performs at most ``capacity[k]`` swaps::

        sum_k w_qk = s_q f_q y_q,   0 <= w_qk <= v_qk f_q y_q,   sum_q w_qk <= cap_k x_k

    This is an aggregate (flow-splitting, CFRLM-like) capacity model: it does
    not check the order of the swaps along the trip.

    Parameters
    ----------
    network
        The road network; edge lengths in the unit of ``range_km``.
    flows
        Origin-destination flows; ``flows.paths`` when given, else shortest paths.
        Origins must differ from destinations.
    range_km
        Vehicle range ``R`` on a full battery (finite, positive).
    p
        Exact number of stations (fixed sites count).
    budget
        Upper bound on the total site cost.
    fixed
        Candidate labels that must be open.
    capacity
        Station capacity in swaps per day (scalar or one value per candidate);
        ``None`` for the uncapacitated FRLM.
    site_costs
        Cost of each candidate (default 1 each).
    candidates
        Node labels allowed to host a station (default: every node on some path).
    swaps_per_trip
        Swaps per round trip of each flow (scalar or one per flow; only with
        ``capacity``). Default ``max(1, ceil(round-trip length / R))``, the fewest
        swaps any station pattern can need.
    options
        :class:`~swapnet.optim.SolveOptions`; ``time_limit`` is a budget for the whole call
        (reductions, heuristics, bounds and every solve); when it runs out the best plan is
        returned with status ``TIME_LIMIT`` and its gap.
    method
        ``"milp"`` (exact, warm-started from greedy) or ``"greedy"`` (for the
        capacitated model: greedy sites, then the optimal service for them).
    unreachable
        Flows without given paths whose origin cannot reach their destination and back (a
        disconnected network): ``"raise"`` (default) raises
        :class:`~swapnet.errors.DisconnectedNetworkError` naming one; ``"drop"`` leaves them out
        and lists them in ``details["dropped_flows"]`` (``(origin, destination)`` pairs) with
        ``details["dropped_volume"]``; the assignment has rows for the kept flows only.

    Returns
    -------
    SitingPlan
        ``model="frlm"``; ``objective`` and ``covered`` are the refuelled
        (capacitated: served) volume. ``assignment`` has one row per flow with
        ``origin``, ``destination``, ``volume``, ``covered`` (refuelable with the
        open stations), ``stations`` and, when capacitated, ``served`` (fraction).
        ``details`` holds instance and model sizes (``n_flows``,
        ``n_flows_after_merge``, ``n_cover_sets``, ``rows``, ``cols``,
        ``nonzeros``, ``range``...) and, when capacitated, ``swaps`` (a DataFrame
        of ``flow``, ``station``, ``swaps`` per day) and ``loads`` per station.

    Raises
    ------
    InvalidInputError
        Bad range, ``p``, budget, costs, capacity or method; a flow from a node to
        itself; paths that are not walks.
    UnknownNodeError
        Flow, path, candidate or fixed nodes that are not in the network / not candidates.
    """
    t0 = time.perf_counter()
    method = _check_method(method)
    R = _check_range(range_km)
    if capacity is None and swaps_per_trip is not None:
        raise InvalidInputError("swaps_per_trip", swaps_per_trip, "is only used together with capacity")
    flows_all, flows, dropped = _routable(network, flows, unreachable, round_trip=True)
    inst = _prepare(network, flows, p, budget, site_costs, fixed, candidates, round_trip=True)
    iv = _frlm_intervals(inst, R)
    cp: _Capacity | None = None
    extra: tuple[NDArray[Any], ...] = ()
    if capacity is not None:
        cap, swaps = _capacity_inputs(inst, capacity, swaps_per_trip, R)
        sig = _visit_signature(inst)
        extra = (swaps.view(np.int64), sig)
    cov = _reduce(inst, iv, extra)
    if capacity is not None:
        pg, pk, pv = _group_visits(inst, cov)
        cp = _Capacity(cap, swaps, pg, pk, pv)

    def served_by(node_open: BoolArray) -> BoolArray:
        return _walk_refuelable(inst, node_open, R)

    details = _details(inst, cov, R)
    details["capacitated"] = cp is not None

    def intervals(i: _Instance) -> _Intervals:
        return _frlm_intervals(i, R)

    plan = _solve_and_plan(
        inst,
        cov,
        intervals,
        model="frlm",
        method=method,
        options=options,
        served_by=served_by,
        t0=t0,
        details=details,
        capacity=cp,
    )
    return _with_dropped_flows(plan, network, flows_all, dropped)


# ------------------------------------------------------------------ disconnected networks
def _routable(
    network: RoadNetwork, flows: ODFlows, unreachable: str, *, round_trip: bool
) -> tuple[ODFlows, ODFlows, BoolArray]:
    """Flows whose destination the origin cannot reach (and, for round trips, not back): raise or drop.

    Only flows without given paths are checked; their shortest paths need the origin and the
    destination in one (strongly) connected component. Returns ``(all flows, kept flows, dropped mask)``.
    """
    if unreachable not in UNREACHABLE_MODES:
        raise InvalidInputError("unreachable", unreachable, "must be 'raise' or 'drop'")
    none = np.zeros(len(flows), dtype=bool) if isinstance(flows, ODFlows) else np.zeros(0, dtype=bool)
    if not isinstance(network, RoadNetwork) or not isinstance(flows, ODFlows) or flows.paths is not None:
        return flows, flows, none
    if network.is_connected():
        return flows, flows, none
    comp = network._components[1]  # component id per node (cached on the network)
    o = network.index_of(flows.origins, field="flows.origins")
    d = network.index_of(flows.destinations, field="flows.destinations")
    # same component: reachable both ways; one way on a directed network: test reachability itself
    bad = comp[o] != comp[d] if round_trip or not network.directed else ~np.isfinite(_pair_distances(network, o, d))
    if not bad.any():
        return flows, flows, none
    k = int(np.flatnonzero(bad)[0])
    if unreachable == "raise":
        raise DisconnectedNetworkError(
            f"flows.destinations[{k}]",
            flows.destinations[k],
            f"cannot be reached from origin {flows.origins[k]!r}{' and back' if round_trip else ''} "
            f"({int(bad.sum())} flow(s) like it; disconnected network); pass unreachable='drop' to leave them out",
        )
    if bad.all():
        raise InfeasibleError("no flow has a path from its origin to its destination (disconnected network)")
    return flows, flows.select(~bad), bad


def _pair_distances(network: RoadNetwork, o: IntArray, d: IntArray) -> FloatArray:
    """Shortest-path length of each (origin, destination) pair of internal indices."""
    uo, oi = np.unique(o, return_inverse=True)
    ud, di = np.unique(d, return_inverse=True)
    labels = network.labels
    D = network.distances([labels[int(i)] for i in uo], [labels[int(i)] for i in ud])
    out: FloatArray = D[oi, di]
    return out


def _with_dropped_flows(plan: SitingPlan, network: RoadNetwork, flows: ODFlows, dropped: BoolArray) -> SitingPlan:
    """Record the dropped flows in ``details`` and make ``verify()`` re-check that they are unroutable."""
    idx = np.flatnonzero(dropped)
    pairs = tuple((flows.origins[int(i)], flows.destinations[int(i)]) for i in idx)
    extra: dict[str, Any] = {"dropped_flows": pairs, "dropped_volume": float(np.asarray(flows.volumes)[idx].sum())}
    inner = plan._verify
    o = network.index_of([flows.origins[int(i)] for i in idx]) if idx.size else np.zeros(0, dtype=np.int64)
    d = network.index_of([flows.destinations[int(i)] for i in idx]) if idx.size else np.zeros(0, dtype=np.int64)
    round_trip = plan.model == "frlm"

    def verify(p: SitingPlan, tol: float) -> list[str]:
        problems = inner(p, tol) if inner is not None else []
        if tuple(p.details.get("dropped_flows", ())) != pairs:
            problems.append("the dropped flows differ from those recomputed")
        if idx.size:
            there = np.isfinite(_pair_distances(network, o, d))
            if round_trip:
                there &= np.isfinite(_pair_distances(network, d, o))
            if there.any():
                k = int(np.flatnonzero(there)[0])
                problems.append(f"dropped flow {pairs[k]!r} has a path")
        return problems

    return dataclasses.replace(plan, details={**plan.details, **extra}, _verify=verify)


# ------------------------------------------------------------------------------ capacity
def _capacity_inputs(
    inst: _Instance, capacity: ArrayLike, swaps_per_trip: ArrayLike | None, R: float
) -> tuple[FloatArray, FloatArray]:
    m, n = inst.n_cands, inst.n_flows
    cap = np.asarray(capacity, dtype=np.float64).ravel()
    if cap.size == 1:
        cap = np.full(m, float(cap[0]))
    if cap.size != m:
        raise InvalidInputError("capacity", cap.size, f"needs a scalar or one value per candidate ({m})")
    bad = ~np.isfinite(cap) | (cap < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"capacity[{k}]", float(cap[k]), "must be finite and non-negative")
    if swaps_per_trip is None:
        S = np.add.reduceat(inst.lens, inst.eptr[:-1]) if inst.lens.size else np.zeros(n)
        swaps = np.maximum(1.0, np.ceil(2 * S / R * (1 - _RANGE_RTOL)))
    else:
        swaps = np.asarray(swaps_per_trip, dtype=np.float64).ravel()
        if swaps.size == 1:
            swaps = np.full(n, float(swaps[0]))
        if swaps.size != n:
            raise InvalidInputError("swaps_per_trip", swaps.size, f"needs a scalar or one value per flow ({n})")
        bad = ~np.isfinite(swaps) | (swaps <= 0)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"swaps_per_trip[{k}]", float(swaps[k]), "must be finite and positive")
    return cap, np.ascontiguousarray(swaps, dtype=np.float64)


def _visit_signature(inst: _Instance) -> U64Array:
    """Per flow, a hash of the multiset of candidates visited on its round trip."""
    key = _hash_keys(inst.n_cands, 1, _HASH_SEED + 2)[0]
    cflat = inst.cand_of_node[inst.nodes]
    val = np.where(cflat >= 0, key[np.maximum(cflat, 0)], np.uint64(0)).astype(np.uint64)
    tot = _segment_sums_u64(val, inst.ptr)
    first, last = val[inst.ptr[:-1]], val[inst.ptr[1:] - 1]
    out: U64Array = tot + tot - first - last
    return out


def _group_visits(inst: _Instance, cov: _Cover) -> tuple[IntArray, IntArray, FloatArray]:
    """``(group, candidate, visits per round trip)`` for the candidates on each group's representative path."""
    reps = cov.group_rep
    lens = np.diff(inst.ptr)[reps]
    g = np.repeat(np.arange(reps.size, dtype=np.int64), lens)
    offs = np.repeat(inst.ptr[reps] - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) if reps.size else g
    pos = offs + np.arange(g.size, dtype=np.int64)
    c = inst.cand_of_node[inst.nodes[pos]] if pos.size else pos
    ends = np.zeros(pos.size, dtype=bool)
    if reps.size:
        ends[np.concatenate([[0], np.cumsum(lens)[:-1]])] = True
        ends[np.cumsum(lens) - 1] = True
    visits = np.where(ends, 1.0, 2.0)
    keep = c >= 0
    g, c, visits = g[keep], c[keep], visits[keep]
    m = max(inst.n_cands, 1)
    key, inv = np.unique(g * m + c, return_inverse=True)
    return key // m, key % m, np.bincount(inv, weights=visits).astype(np.float64)


def _split_swaps(inst: _Instance, cov: _Cover, cp: _Capacity, swaps_g: FloatArray) -> pd.DataFrame:
    """Per-flow swap volumes: each group's swaps split over its flows in proportion to volume."""
    gof = cov.group_of_flow
    flows_in = np.flatnonzero(gof >= 0)
    order = np.argsort(gof[flows_in], kind="stable")
    flows_in = flows_in[order]
    fg = gof[flows_in]
    gptr = np.searchsorted(fg, np.arange(cov.n_groups + 1))
    keep = swaps_g > 1e-12
    pg, pk, pw = cp.pair_group[keep], cp.pair_cand[keep], swaps_g[keep]
    cnt = gptr[pg + 1] - gptr[pg]
    rows_flow = flows_in[np.repeat(gptr[pg], cnt) + _ragged_arange(cnt)]
    rows_k = np.repeat(pk, cnt)
    share = inst.volumes[rows_flow] / cov.group_volume[np.repeat(pg, cnt)]
    return pd.DataFrame(
        {
            "flow": rows_flow,
            "station": [inst.cand_labels[int(k)] for k in rows_k],
            "swaps": np.repeat(pw, cnt) * share,
        }
    )


def _ragged_arange(cnt: IntArray) -> IntArray:
    """``concatenate([arange(c) for c in cnt])`` without a Python loop."""
    total = int(cnt.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(cnt)[:-1]]).astype(np.int64)
    out: IntArray = np.arange(total, dtype=np.int64) - np.repeat(starts, cnt)
    return out
