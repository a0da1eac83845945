"""Synthetic, seeded test instances: road networks, candidate sites and demand.

Every generator takes ``seed: int | None`` and draws all randomness from one
``numpy.random.default_rng(seed)``, so the same seed gives the same instance.
Coordinates are planar kilometres and node labels are the integers ``0..n-1``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from swapnet.assets import CandidateSites
from swapnet.demand import DailyProfile, NodeDemand
from swapnet.errors import InvalidInputError
from swapnet.network import RoadNetwork

__all__ = ["city_demand", "city_grid", "random_geometric", "service_store_sites"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Station investment range without batteries, CNY (DOMAIN.md: 3-5 M CNY, sourced).
STATION_CAPEX_RANGE_CNY = (3.0e6, 5.0e6)
#: Station grid connections seen in practice, kW (DOMAIN.md: ~600 kW, seen 520-1,200 kW; S-3p).
GRID_KW_RANGE = (520.0, 1200.0)


def _count(value: object, field: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise InvalidInputError(field, value, f"must be an integer >= {minimum}")
    return int(value)


def _real(value: object, field: str, lo: float = 0.0, hi: float = math.inf, *, open_lo: bool = False) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(field, value, "must be a number") from None
    if not math.isfinite(v) or v < lo or v > hi or (open_lo and v == lo):
        rng = f"{'(' if open_lo else '['}{lo:g}, {hi:g}]"
        raise InvalidInputError(field, value, f"must be finite and in {rng}")
    return v


def _components(n: int, t: IntArray, h: IntArray) -> tuple[int, IntArray]:
    g = sp.csr_matrix((np.ones(t.size), (t, h)), shape=(n, n))
    k, lab = csgraph.connected_components(g, directed=False)
    return int(k), lab.astype(np.int64)


def _spanning_tree(n: int, t: IntArray, h: IntArray, w: FloatArray) -> tuple[IntArray, IntArray]:
    """Edges ``(i, j)`` with ``i < j`` of a minimum spanning forest for positive weights ``w``."""
    g = sp.coo_matrix((w, (np.minimum(t, h), np.maximum(t, h))), shape=(n, n)).tocsr()
    mst = csgraph.minimum_spanning_tree(g).tocoo()
    i, j = mst.row.astype(np.int64), mst.col.astype(np.int64)
    return np.minimum(i, j), np.maximum(i, j)


def city_grid(
    rows: int,
    cols: int,
    *,
    spacing_km: float = 1.0,
    arterial_every: int = 4,
    arterial_speedup: float = 2.0,
    jitter: float = 0.0,
    seed: int | None = None,
    drop_fraction: float = 0.0,
) -> RoadNetwork:
    """A rectangular street grid with faster arterial roads.

    Node ``r * cols + c`` sits at ``(c * spacing_km, r * spacing_km)`` km (plus
    jitter) and joins its right and upper neighbours. Every ``arterial_every``-th
    row and column (0, k, 2k, ...) is an arterial: its edges get the
    travel-time-like length ``euclidean_km / arterial_speedup``, i.e. lengths
    are "local-street kilometres" proportional to driving time. The default
    speedup 2.0 assumes ~50 km/h on arterials against ~25 km/h on local streets
    (assumption).

    Parameters
    ----------
    rows, cols
        Grid size (positive integers).
    spacing_km
        Block length, km (positive).
    arterial_every
        Spacing of arterials in blocks; 0 for none.
    arterial_speedup
        Speed ratio of arterials to local streets (>= 1).
    jitter
        Each node moves by up to ``jitter * spacing_km / 2`` along each axis
        (uniform), in ``[0, 1)``. Lengths are Euclidean between moved nodes.
    seed
        Seed for ``numpy.random.default_rng``.
    drop_fraction
        Fraction of edges to delete at random, in ``[0, 1)``. Edges of a random
        spanning tree are never deleted, so the grid stays connected; at most
        ``edges - (nodes - 1)`` edges go.

    Returns
    -------
    RoadNetwork
        Undirected, labels ``0..rows*cols-1``, planar coordinates in km.
    """
    nr = _count(rows, "rows")
    nc = _count(cols, "cols")
    dx = _real(spacing_km, "spacing_km", open_lo=True)
    k = _count(arterial_every, "arterial_every", minimum=0)
    speed = _real(arterial_speedup, "arterial_speedup", 1.0)
    jit = _real(jitter, "jitter", 0.0, 1.0)
    if jit == 1.0:
        raise InvalidInputError("jitter", jitter, "must be below 1 so that nodes keep their order")
    frac = _real(drop_fraction, "drop_fraction", 0.0, 1.0)
    if frac == 1.0:
        raise InvalidInputError("drop_fraction", drop_fraction, "must be below 1")
    rng = np.random.default_rng(seed)
    n = nr * nc
    r, c = np.divmod(np.arange(n, dtype=np.int64), nc)
    xy = np.column_stack([c * dx, r * dx]).astype(np.float64)
    if jit > 0:
        xy += rng.uniform(-0.5, 0.5, size=(n, 2)) * jit * dx
    ids = np.arange(n, dtype=np.int64).reshape(nr, nc)
    ht, hh = ids[:, :-1].ravel(), ids[:, 1:].ravel()
    vt, vh = ids[:-1, :].ravel(), ids[1:, :].ravel()
    t = np.concatenate([ht, vt])
    h = np.concatenate([hh, vh])
    no_arterials = np.zeros(t.size, dtype=bool)
    art = np.concatenate([(r[ht] % k) == 0, (c[vt] % k) == 0]) if k > 0 else no_arterials
    length = np.hypot(*(xy[h] - xy[t]).T)
    length = np.where(art, length / speed, length)
    if frac > 0 and t.size:
        tree_i, tree_j = _spanning_tree(n, t, h, rng.random(t.size) + 1.0)
        protected = np.isin(t * n + h, tree_i * n + tree_j)
        free = np.flatnonzero(~protected)
        n_drop = min(round(frac * t.size), free.size)
        drop = rng.choice(free, size=n_drop, replace=False)
        keep = np.ones(t.size, dtype=bool)
        keep[drop] = False
        t, h, length = t[keep], h[keep], length[keep]
    return RoadNetwork.from_arrays(t, h, length, labels=range(n), coords=xy, name=f"city_grid {nr}x{nc}")


def random_geometric(
    n: int,
    *,
    radius: float | None = None,
    seed: int | None = None,
    connect: bool = True,
    size_km: float = 10.0,
) -> RoadNetwork:
    """A random geometric graph: uniform points in a square, edges between close points.

    Parameters
    ----------
    n
        Number of nodes (positive).
    radius
        Join points at most this far apart, km. Default
        ``size_km * sqrt(2 ln n / (pi n))``, about 1.4 times the connectivity
        threshold of a random geometric graph in the unit square.
    seed
        Seed for ``numpy.random.default_rng``.
    connect
        When true, join the components with the Euclidean-minimum-spanning-tree
        edges that cross between them (the shortest possible connectors),
        found on a Delaunay triangulation.
    size_km
        Side of the square, km.

    Returns
    -------
    RoadNetwork
        Undirected, labels ``0..n-1``, planar km coordinates, Euclidean lengths.
    """
    m = _count(n, "n")
    side = _real(size_km, "size_km", open_lo=True)
    if radius is None:
        rad = side * math.sqrt(2.0 * math.log(max(m, 2)) / (math.pi * m))
    else:
        rad = _real(radius, "radius", open_lo=True)
    rng = np.random.default_rng(seed)
    xy = rng.random((m, 2)) * side
    pairs = cKDTree(xy).query_pairs(rad, output_type="ndarray").astype(np.int64)
    t, h = pairs[:, 0], pairs[:, 1]
    if connect and m > 1:
        ncomp, lab = _components(m, t, h)
        if ncomp > 1:
            ci, cj = _candidate_edges(xy)
            w = np.hypot(*(xy[cj] - xy[ci]).T) + 1e-12  # positive: scipy treats 0 as "no edge"
            ti, tj = _spanning_tree(m, ci, cj, w)
            cross = lab[ti] != lab[tj]
            t = np.concatenate([t, ti[cross]])
            h = np.concatenate([h, tj[cross]])
    length = np.hypot(*(xy[h] - xy[t]).T)
    return RoadNetwork.from_arrays(t, h, length, labels=range(m), coords=xy, name=f"random_geometric {m}")


def _candidate_edges(xy: FloatArray) -> tuple[IntArray, IntArray]:
    """Edges containing a Euclidean minimum spanning tree: Delaunay edges, or all pairs for tiny/degenerate sets."""
    m = xy.shape[0]
    if m >= 4:
        from scipy.spatial import Delaunay, QhullError

        try:
            simp = Delaunay(xy).simplices.astype(np.int64)
        except QhullError:  # pragma: no cover - collinear points have probability zero
            pass
        else:
            e = np.concatenate([simp[:, [0, 1]], simp[:, [1, 2]], simp[:, [0, 2]]])
            e = np.unique(np.sort(e, axis=1), axis=0)
            return e[:, 0], e[:, 1]
    i, j = np.triu_indices(m, 1)
    return i.astype(np.int64), j.astype(np.int64)


def _centre_distance_km(network: RoadNetwork) -> FloatArray:
    """Distance of every node from the mean of the coordinates, km (equirectangular for lon/lat)."""
    assert network.coords is not None
    xy = np.asarray(network.coords)
    centre = xy.mean(axis=0)
    if network.coord_crs == "lonlat":
        d = xy - centre
        d[:, 0] *= 111.32 * math.cos(math.radians(float(centre[1])))
        d[:, 1] *= 110.57
        out: FloatArray = np.hypot(d[:, 0], d[:, 1])
        return out
    out = np.hypot(*(xy - centre).T)
    return out


def _centre_weight(network: RoadNetwork, strength: float) -> FloatArray:
    """``exp(-strength * d / mean(d))`` with ``d`` the distance from the centre."""
    d = _centre_distance_km(network)
    scale = float(d.mean())
    rel = d / scale if scale > 0 else np.zeros_like(d)
    out: FloatArray = np.exp(-strength * rel)
    return out


def service_store_sites(
    network: RoadNetwork,
    n: int,
    *,
    seed: int | None = None,
    cluster: float = 1.0,
    demand: NodeDemand | None = None,
    cost_range: tuple[float, float] = STATION_CAPEX_RANGE_CNY,
    grid_kw_range: tuple[float, float] | None = GRID_KW_RANGE,
    kind: str = "service_store",
) -> CandidateSites:
    """Candidate sites placed like a chain of car-service stores.

    Stores sit at ``n`` distinct nodes drawn without replacement with
    probability proportional to the node's swap demand when ``demand`` is
    given, else to ``exp(-cluster * d / mean(d))`` with ``d`` the distance from
    the centre of the coordinates (denser downtown), else uniformly.

    Parameters
    ----------
    network
        Road network.
    n
        Number of sites (at most the number of nodes with positive weight).
    seed
        Seed for ``numpy.random.default_rng``.
    cluster
        Concentration towards the centre (>= 0; 0 is uniform).
    demand
        Optional demand whose nodes attract stores.
    cost_range
        Fixed cost drawn uniformly in this range, CNY. Default 3-5 M CNY, the
        sourced station investment without batteries.
    grid_kw_range
        Site grid limit drawn uniformly and rounded to 10 kW (default 520-1,200 kW);
        ``None`` for no limit.
    kind
        Site type stored on every site.

    Returns
    -------
    CandidateSites
        Labels ``"store-001"``, ``"store-002"``... (zero-padded to at least 3
        digits), point geometries when the network has coordinates.
    """
    import shapely

    k = _count(n, "n")
    strength = _real(cluster, "cluster")
    lo, hi = (_real(x, "cost_range") for x in cost_range)
    if hi < lo:
        raise InvalidInputError("cost_range", cost_range, "needs low <= high")
    if demand is not None:
        w = np.zeros(network.n_nodes)
        np.add.at(w, demand.indices(network), np.asarray(demand.daily))
    elif network.coords is not None:
        w = _centre_weight(network, strength)
    else:
        w = np.ones(network.n_nodes)
    positive = int((w > 0).sum())
    if k > positive:
        raise InvalidInputError("n", n, f"only {positive} nodes can host a site")
    rng = np.random.default_rng(seed)
    idx = rng.choice(network.n_nodes, size=k, replace=False, p=w / w.sum())
    cost = rng.uniform(lo, hi, size=k)
    grid = None
    if grid_kw_range is not None:
        glo, ghi = (_real(x, "grid_kw_range", open_lo=True) for x in grid_kw_range)
        if ghi < glo:
            raise InvalidInputError("grid_kw_range", grid_kw_range, "needs low <= high")
        grid = np.round(rng.uniform(glo, ghi, size=k), -1)
    width = max(3, len(str(k)))
    labels = [f"store-{i:0{width}d}" for i in range(1, k + 1)]
    geometry = None
    if network.coords is not None:
        geometry = list(shapely.points(network.coords[idx]))
    return CandidateSites(
        labels,
        [network.labels[int(i)] for i in idx],
        cost,
        grid_kw=grid,
        geometry=geometry,
        kind=kind,
    )


def city_demand(
    network: RoadNetwork,
    *,
    total_swaps_per_day: float,
    seed: int | None = None,
    centre_weight: float = 1.0,
    noise: float = 0.3,
    profile: DailyProfile | None = None,
) -> NodeDemand:
    """Synthetic swap demand over all nodes, denser in the centre.

    Node ``i`` gets a weight ``exp(-centre_weight * d_i / mean(d)) * eps_i`` with
    ``d_i`` its distance from the centre of the coordinates and ``eps_i``
    log-normal noise of mean 1 and log-standard deviation ``noise``; weights are
    scaled so that the total is ``total_swaps_per_day``.

    Parameters
    ----------
    network
        Road network with coordinates.
    total_swaps_per_day
        Total demand, swaps per day (finite, non-negative). For scale: an urban
        station averages ~117 swaps per day (DOMAIN.md).
    seed
        Seed for ``numpy.random.default_rng``.
    centre_weight
        Concentration towards the centre (>= 0; 0 is uniform up to noise).
    noise
        Log-standard deviation of the multiplicative noise (>= 0; 0 for none).
    profile
        Shared hourly profile; default :meth:`DailyProfile.urban`.

    Raises
    ------
    InvalidInputError
        When the network has no coordinates.
    """
    if network.coords is None:
        raise InvalidInputError("network.coords", None, "city_demand needs a network with node coordinates")
    total = _real(total_swaps_per_day, "total_swaps_per_day")
    strength = _real(centre_weight, "centre_weight")
    sigma = _real(noise, "noise")
    rng = np.random.default_rng(seed)
    w = _centre_weight(network, strength)
    if sigma > 0:
        w = w * rng.lognormal(mean=-0.5 * sigma * sigma, sigma=sigma, size=w.size)
    daily = total * w / w.sum()
    return NodeDemand(network.labels, daily, profile or DailyProfile.urban())
