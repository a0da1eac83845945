"""A flow-siting instance flattened to arrays, its input checks, and the cover intervals of FCLM and FRLM."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from swapnet.errors import DisconnectedNetworkError, InfeasibleError, InvalidInputError
from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork
from swapnet.siting._inputs import UNREACHABLE_MODES, as_site_costs, check_budget, check_p, fixed_indices

FloatArray = NDArray[np.float64]


IntArray = NDArray[np.int64]


BoolArray = NDArray[np.bool_]


U64Array = NDArray[np.uint64]


_RANGE_RTOL = 1e-9
"""Distances within this fraction of the range above it still count as within range."""


_HASH_SEED = 20130101


_METHODS = ("milp", "greedy")


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
    if candidates is not None and hasattr(candidates, "nodes"):  # CandidateSites, as the matrix models take
        candidates = candidates.nodes
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
    B = check_budget(budget, costs, fx, pp)
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


IntervalsFn = Callable[[_Instance], _Intervals]


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
