"""Array work behind :class:`~swapnet.network.RoadNetwork`: input checks, edge reduction, Dijkstra, lookups.

Pure functions over numpy arrays (no network type), so the domain class stays a thin,
readable layer of documented methods over them.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse import csgraph

from swapnet import _validate as _v
from swapnet.errors import InvalidInputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

ZERO = 1e-300
"""Stand-in length for zero-length edges in the search graph (scipy drops explicit zeros)."""


def frozen(a: NDArray[Any]) -> NDArray[Any]:
    """A contiguous read-only view of ``a``."""
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


_frozen = frozen


def checked_arrays(
    labels_in: Iterable[Hashable],
    tails_in: Any,
    heads_in: Any,
    lengths_in: Any,
    coords_in: Any,
    coord_crs: str,
    no_through_in: Any,
) -> tuple[
    tuple[Hashable, ...], dict[Hashable, int], IntArray, IntArray, FloatArray, FloatArray | None, BoolArray | None
]:
    """Validate a network's arrays; return labels, the label index and the frozen arrays.

    Raises
    ------
    InvalidInputError
        On no nodes, NaN or repeated labels, mismatched or out-of-range edge arrays, negative,
        non-finite or overflowing lengths, misshapen or non-finite coordinates, an unknown
        ``coord_crs`` or a misshapen ``no_through`` mask.
    """
    labels = tuple(labels_in)
    n = len(labels)
    if n == 0:
        raise InvalidInputError("nodes", labels, "a road network needs at least one node")
    index: dict[Hashable, int] = {}
    for i, lab in enumerate(labels):
        if isinstance(lab, (float, np.floating)) and math.isnan(lab):
            raise InvalidInputError(f"labels[{i}]", lab, "NaN is not a node label (NaN != NaN: it cannot be found)")
        if lab in index:
            raise InvalidInputError("labels", lab, "node labels must be unique")
        index[lab] = i
    tails = np.asarray(tails_in, dtype=np.int64).ravel()
    heads = np.asarray(heads_in, dtype=np.int64).ravel()
    lengths = np.asarray(lengths_in, dtype=np.float64).ravel()
    if not (tails.shape == heads.shape == lengths.shape):
        raise InvalidInputError(
            "edges", (tails.shape, heads.shape, lengths.shape), "tails, heads, lengths differ in size"
        )
    if tails.size and (tails.min() < 0 or heads.min() < 0 or tails.max() >= n or heads.max() >= n):
        raise InvalidInputError("edges", "index out of range", f"edge end outside 0..{n - 1}")
    bad = ~np.isfinite(lengths) | (lengths < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(
            "length",
            float(lengths[k]),
            f"edge ({labels[tails[k]]!r}, {labels[heads[k]]!r}) needs a finite, non-negative length",
        )
    with np.errstate(over="ignore"):
        total = float(lengths.sum())
    if not math.isfinite(total):
        k = int(np.argmax(lengths))
        raise InvalidInputError(
            "length",
            float(lengths[k]),
            f"edge ({labels[tails[k]]!r}, {labels[heads[k]]!r}): lengths this large overflow when a path adds "
            "them up (distances would be inf, i.e. 'unreachable'); rescale the lengths",
        )
    coords = coords_in
    if coords is not None:
        coords = np.asarray(coords, dtype=np.float64)
        if coords.shape != (n, 2):
            raise InvalidInputError("coords", coords.shape, f"expected shape ({n}, 2)")
        badc = ~np.isfinite(coords).all(axis=1)
        if badc.any():
            k = int(np.flatnonzero(badc)[0])
            raise InvalidInputError("coords", coords[k].tolist(), f"node {labels[k]!r} has a non-finite coordinate")
        coords = _frozen(coords)
    if coord_crs not in ("planar", "lonlat"):
        raise InvalidInputError("coord_crs", coord_crs, "must be 'planar' or 'lonlat'")
    no_through = no_through_in
    if no_through is not None:
        no_through = np.asarray(no_through, dtype=bool)
        if no_through.shape != (n,):
            raise InvalidInputError("no_through", no_through.shape, f"expected shape ({n},)")
        no_through = _frozen(no_through) if no_through.any() else None
    return labels, index, _frozen(tails), _frozen(heads), _frozen(lengths), coords, no_through


def edge_arrays(
    edges: Iterable[tuple[Hashable, Hashable, float]],
    nodes: Iterable[Hashable] | None,
    coords: Mapping[Hashable, tuple[float, float]] | None,
    allow_self_loops: bool,
) -> tuple[tuple[Hashable, ...], IntArray, IntArray, FloatArray, FloatArray | None]:
    """Labels, tail/head indices, lengths and coordinates from ``(u, v, length)`` triples."""
    index: dict[Hashable, int] = {}
    labels: list[Hashable] = []

    def idx(lab: Hashable) -> int:
        i = index.get(lab)
        if i is None:
            i = index[lab] = len(labels)
            labels.append(lab)
        return i

    if nodes is not None:
        for lab in nodes:
            idx(lab)
    t: list[int] = []
    h: list[int] = []
    w: list[float] = []
    for k, e in enumerate(edges):
        try:
            u, v, length = e
        except (TypeError, ValueError):
            raise InvalidInputError(f"edges[{k}]", e, "expected a (u, v, length) triple") from None
        if u == v and not allow_self_loops:
            raise InvalidInputError(f"edges[{k}]", e, "self-loop; pass allow_self_loops=True to accept")
        lf = _v.non_negative(length, f"edges[{k}].length")
        t.append(idx(u))
        h.append(idx(v))
        w.append(lf)
    xy: FloatArray | None = None
    if coords is not None:
        for lab in coords:
            idx(lab)
        missing = [lab for lab in labels if lab not in coords]
        if missing:
            raise InvalidInputError("coords", missing[:5], "nodes without coordinates")
        xy = np.array([coords[lab] for lab in labels], dtype=np.float64).reshape(len(labels), 2)
    return (
        tuple(labels),
        np.asarray(t, dtype=np.int64),
        np.asarray(h, dtype=np.int64),
        np.asarray(w, dtype=np.float64),
        xy,
    )


def dedup_edges(t: IntArray, h: IntArray, w: FloatArray, directed: bool) -> tuple[IntArray, IntArray, FloatArray]:
    """Edges without self-loops, parallel copies reduced to the shortest (undirected: one orientation),
    sorted by ``(tail, head)``."""
    keep = t != h
    t, h, w = t[keep], h[keep], w[keep]
    if not directed:
        t, h = np.minimum(t, h), np.maximum(t, h)
    if t.size == 0:
        return t, h, w
    order = np.lexsort((w, h, t))
    t, h, w = t[order], h[order], w[order]
    first = np.ones(t.size, dtype=bool)
    first[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
    return t[first], h[first], w[first]


def search_graph(
    n: int, dedup: tuple[IntArray, IntArray, FloatArray], directed: bool, no_through: BoolArray | None
) -> sp.csr_matrix:
    """CSR matrix used by Dijkstra.

    Nodes marked ``no_through`` lose their outgoing arcs here; each gets a source copy
    (index ``n + k``) that owns them, so such nodes can start and end paths but never be
    passed through. Zero lengths are stored as :data:`ZERO` (scipy drops explicit zeros);
    :func:`snap_zero` removes them from the results.
    """
    t, h, w = dedup
    if not directed:
        t, h, w = np.concatenate([t, h]), np.concatenate([h, t]), np.concatenate([w, w])
    w = np.where(w == 0.0, ZERO, w)
    extra = 0
    if no_through is not None:
        src_copy = np.full(n, -1, dtype=np.int64)
        ids = np.flatnonzero(no_through)
        src_copy[ids] = n + np.arange(ids.size)
        extra = ids.size
        t = np.where(no_through[t], src_copy[t], t)
    size = n + extra
    return sp.csr_matrix((w, (t, h)), shape=(size, size))


def source_rows(n: int, no_through: BoolArray | None, src: IntArray) -> IntArray:
    """Rows of the search graph from which to start each source (a no-through node's source copy)."""
    if no_through is None:
        return src
    ids = np.flatnonzero(no_through)
    copy = np.arange(n, dtype=np.int64)
    copy[ids] = n + np.arange(ids.size)
    return copy[src]


def dijkstra(
    g: sp.csr_matrix,
    n: int,
    rows: IntArray,
    src: IntArray,
    *,
    predecessors: bool,
    limit: float,
    has_zero: bool,
) -> tuple[FloatArray, IntArray | None]:
    """Shortest-path lengths (and predecessors) from search-graph ``rows`` to the ``n`` real nodes."""
    if predecessors:
        d, p = csgraph.dijkstra(g, directed=True, indices=rows, return_predecessors=True, limit=limit)
    else:
        d = csgraph.dijkstra(g, directed=True, indices=rows, limit=limit)
        p = None
    d = np.atleast_2d(d)[:, :n]
    d[np.arange(src.size), src] = 0.0
    if has_zero:
        d = snap_zero(d)
    return d, (None if p is None else np.atleast_2d(p))


def snap_zero(d: FloatArray) -> FloatArray:
    """Remove the tiny stand-ins for zero-length edges from path lengths."""
    # Each zero edge adds 1e-300 per use; real lengths are far above 1e-250.
    d[d < 1e-250] = 0.0
    return d


def walk_back(pred: IntArray, s: int, e: int, n: int) -> list[int]:
    """Node indices of the path ``s -> e`` read from a predecessor row (a source copy counts as ``s``)."""
    seq = [e]
    cur = e
    while cur != s:
        cur = int(pred[cur])
        if cur >= n:  # the source copy of a no-through origin
            cur = s
        seq.append(cur)
    seq.reverse()
    return seq


def lookup_edges(
    dedup: tuple[IntArray, IntArray, FloatArray], n: int, directed: bool, u: IntArray, v: IntArray
) -> FloatArray:
    """Length of edge ``u -> v`` in the reduced edge list; NaN where there is none."""
    if not directed:
        u, v = np.minimum(u, v), np.maximum(u, v)
    t, h, w = dedup
    key = t * n + h
    q = u * n + v
    pos = np.searchsorted(key, q)
    pos = np.minimum(pos, max(key.size - 1, 0))
    found = (key.size > 0) & (key[pos] == q) if key.size else np.zeros(q.shape, dtype=bool)
    out = np.full(q.shape, np.nan)
    out[found] = w[pos[found]]
    return out


def kd_points(xs: FloatArray, ys: FloatArray, lonlat: bool) -> FloatArray:
    """Points for a k-d tree: unit-sphere vectors for lon/lat degrees (great-circle order), else x/y."""
    if lonlat:
        lon, lat = np.radians(xs), np.radians(ys)
        return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    return np.column_stack([xs, ys])


def refuse_self_loops(t: IntArray, h: IntArray, labels: Any) -> None:
    """Raise naming the first edge ``u -> u``."""
    loops = t == h
    if loops.any():
        k = int(np.flatnonzero(loops)[0])
        raise InvalidInputError("edges", (labels[t[k]], labels[h[k]]), "self-loop; pass allow_self_loops=True")


def components(dedup: tuple[IntArray, IntArray, FloatArray], n: int, directed: bool) -> tuple[int, IntArray]:
    """Number of (strongly) connected components and each node's component."""
    t, h, _ = dedup
    g = sp.csr_matrix((np.ones(t.size), (t, h)), shape=(n, n))
    ncomp, lab = csgraph.connected_components(g, directed=directed, connection="strong")
    return int(ncomp), lab.astype(np.int64)


def component_groups(lab: IntArray) -> list[IntArray]:
    """Node indices per component, largest first (stable within a size)."""
    order = np.argsort(lab, kind="stable")
    splits = np.flatnonzero(np.diff(lab[order])) + 1
    groups = np.split(order, splits)
    groups.sort(key=len, reverse=True)
    return groups
