"""GeoJSON export and service areas.

The ``*_to_geojson`` functions return GeoJSON ``FeatureCollection`` dicts
(plain ``json``-serialisable Python objects) in the network's own coordinates:
longitude/latitude when ``coord_crs == "lonlat"`` (as RFC 7946 expects), else
the planar units of the network (kilometres for the synthetic generators).
:func:`write_geojson` writes one atomically.

Everything here needs node coordinates; a network without them raises
:class:`~swapnet.errors.InvalidInputError`.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from swapnet.assets import CandidateSites
from swapnet.demand import NodeDemand
from swapnet.errors import InvalidInputError
from swapnet.network import RoadNetwork

__all__ = [
    "demand_to_geojson",
    "network_to_geojson",
    "service_areas",
    "service_areas_to_geojson",
    "sites_to_geojson",
    "write_geojson",
]

FloatArray = NDArray[np.float64]

_EARTH_M = 6_371_008.8  # mean Earth radius, m


def _coords(network: RoadNetwork, what: str) -> FloatArray:
    if network.coords is None:
        raise InvalidInputError("network.coords", None, f"{what} needs a network with node coordinates")
    return np.asarray(network.coords)


def _jsonable(x: Any) -> Any:
    """A JSON-safe version of a label or value: numpy scalars unwrapped, tuples as lists, inf/NaN as None."""
    if isinstance(x, np.generic):
        x = x.item()
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, (tuple, list)):
        return [_jsonable(v) for v in x]
    return str(x)


def _collection(features: list[dict[str, Any]], **members: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    out.update({k: v for k, v in members.items() if v is not None})
    return out


def _point(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [x, y]}


def network_to_geojson(network: RoadNetwork, *, nodes: bool = True, edges: bool = True) -> dict[str, Any]:
    """The network as a FeatureCollection.

    One ``LineString`` feature per stored edge (properties ``kind="edge"``,
    ``u``, ``v``, ``length`` in the network's length unit) followed by one
    ``Point`` feature per node (``kind="node"``, ``label``). The collection
    carries foreign members ``name``, ``coord_crs`` and ``length_unit``.
    """
    xy = _coords(network, "network_to_geojson")
    labels = [_jsonable(lab) for lab in network.labels]
    feats: list[dict[str, Any]] = []
    if edges:
        t, h = network.tails, network.heads
        seg = np.stack([xy[t], xy[h]], axis=1).tolist()  # (m, 2, 2)
        tl, hl, wl = t.tolist(), h.tolist(), network.lengths.tolist()
        feats.extend(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": s},
                "properties": {"kind": "edge", "u": labels[u], "v": labels[v], "length": w},
            }
            for s, u, v, w in zip(seg, tl, hl, wl, strict=True)
        )
    if nodes:
        feats.extend(
            {"type": "Feature", "geometry": _point(x, y), "properties": {"kind": "node", "label": lab}}
            for (x, y), lab in zip(xy.tolist(), labels, strict=True)
        )
    return _collection(feats, name=network.name or None, coord_crs=network.coord_crs, length_unit=network.length_unit)


def sites_to_geojson(sites: CandidateSites, network: RoadNetwork) -> dict[str, Any]:
    """Candidate sites as a FeatureCollection.

    Each site's own geometry when :attr:`CandidateSites.geometry` is set, else
    a ``Point`` at its node. Properties: ``label``, ``node``, ``fixed_cost``,
    ``max_batteries``, ``max_chargers``, ``grid_kw`` (``null`` for no limit), ``kind``.
    """
    import shapely.geometry

    idx = sites.indices(network)
    if sites.geometry is not None:
        geoms = [shapely.geometry.mapping(g) for g in sites.geometry]
    else:
        xy = _coords(network, "sites_to_geojson")[idx]
        geoms = [_point(x, y) for x, y in xy.tolist()]
    cols = zip(
        sites.labels,
        sites.nodes,
        sites.fixed_cost.tolist(),
        sites.max_batteries.tolist(),
        sites.max_chargers.tolist(),
        sites.grid_kw.tolist(),
        sites.kind,
        strict=True,
    )
    feats = [
        {
            "type": "Feature",
            "geometry": g,
            "properties": {
                "label": _jsonable(lab),
                "node": _jsonable(node),
                "fixed_cost": fc,
                "max_batteries": _jsonable(mb),
                "max_chargers": _jsonable(mc),
                "grid_kw": _jsonable(gk),
                "kind": kind,
            },
        }
        for g, (lab, node, fc, mb, mc, gk, kind) in zip(geoms, cols, strict=True)
    ]
    return _collection(feats, coord_crs=network.coord_crs)


def demand_to_geojson(demand: NodeDemand, network: RoadNetwork) -> dict[str, Any]:
    """Node demand as ``Point`` features (duplicates summed) with ``node``,
    ``swaps_per_day`` and ``peak_hour_swaps`` (swaps in the busiest hour)."""
    agg = demand.aggregate()
    xy = _coords(network, "demand_to_geojson")[agg.indices(network)]
    feats = [
        {
            "type": "Feature",
            "geometry": _point(x, y),
            "properties": {"node": _jsonable(node), "swaps_per_day": d, "peak_hour_swaps": p},
        }
        for (x, y), node, d, p in zip(xy.tolist(), agg.nodes, agg.daily.tolist(), agg.peak_hour().tolist(), strict=True)
    ]
    return _collection(feats, coord_crs=network.coord_crs)


def service_areas(
    network: RoadNetwork,
    sites_or_nodes: CandidateSites | Iterable[Hashable],
    radius: float,
    *,
    method: str = "hull",
    buffer: float | None = None,
    buffer_m: float | None = None,
) -> dict[Hashable, Any]:
    """The area from which each site is reachable within network distance ``radius``.

    Distances are measured from every node *to* the site (what matters to a
    driver looking for a swap), in the network's length unit. Besides the
    nodes within ``radius``, each edge leading to a reached node contributes
    the part of it that is still within ``radius``, interpolated linearly in
    coordinate space.

    Parameters
    ----------
    network
        Network with coordinates.
    sites_or_nodes
        Candidate sites (keys are site labels) or node labels (keys are the nodes).
    radius
        Network distance (finite, non-negative), e.g. km.
    method
        ``"hull"``: convex hull of the reached nodes and edge parts (a
        ``Point`` or ``LineString`` in degenerate cases). ``"buffer"``: union
        of the reached edge parts and nodes buffered by ``buffer``.
    buffer
        Buffer distance in coordinate units for ``method="buffer"`` (planar networks only).
    buffer_m
        Buffer distance in metres on the ground for ``method="buffer"``. On a
        lon/lat network the buffer is drawn in a local metric projection (so it
        is round and ``buffer_m`` wide, not degrees); on a planar network the
        coordinates must be in the network's length unit (``m``, ``km``, ``mi``).
        Default (neither given): a tenth of ``radius``, in the network's length
        unit converted to metres.

    Returns
    -------
    dict
        ``{site label or node: shapely geometry}``.
    """
    import shapely

    xy = _coords(network, "service_areas")
    try:
        r = float(radius)
    except (TypeError, ValueError):
        r = math.nan
    if not math.isfinite(r) or r < 0:
        raise InvalidInputError("radius", radius, "must be finite and non-negative")
    if method not in ("hull", "buffer"):
        raise InvalidInputError("method", method, "must be 'hull' or 'buffer'")
    if isinstance(sites_or_nodes, CandidateSites):
        keys: list[Hashable] = list(sites_or_nodes.labels)
        nodes: list[Hashable] = list(sites_or_nodes.nodes)
    else:
        nodes = list(sites_or_nodes)
        keys = nodes
    metres = {"m": 1.0, "km": 1000.0, "mi": 1609.344}.get(network.length_unit)
    if buffer is not None and buffer_m is not None:
        raise InvalidInputError("buffer", buffer, "give buffer (coordinate units) or buffer_m (metres), not both")
    if buffer is not None and network.coord_crs == "lonlat":
        raise InvalidInputError("buffer", buffer, "a lon/lat network's buffer is in metres: pass buffer_m")
    bm: float | None = None
    if buffer is None:
        bm = float(buffer_m) if buffer_m is not None else (r / 10.0 * metres if metres is not None else None)
    if bm is not None and not (math.isfinite(bm) and bm >= 0):
        raise InvalidInputError("buffer_m", buffer_m, "must be finite and non-negative")
    lat0 = float(np.radians(np.mean(xy[:, 1]))) if network.coord_crs == "lonlat" else 0.0
    if network.coord_crs == "lonlat":  # buffer in local metres (equirectangular around the mean latitude)
        to_m = np.array([_EARTH_M * math.cos(lat0) * math.pi / 180.0, _EARTH_M * math.pi / 180.0])
        b = 0.0 if bm is None else bm
    elif bm is not None:
        if buffer_m is not None and metres is None:
            raise InvalidInputError(
                "buffer_m", buffer_m, f"the network's coordinates have no known unit ({network.length_unit!r})"
            )
        to_m = np.ones(2)
        b = bm / (metres or 1000.0)
    else:
        to_m = np.ones(2)
        b = r / 10.0 if buffer is None else float(buffer)
    if not math.isfinite(b) or b < 0:
        raise InvalidInputError("buffer", buffer, "must be finite and non-negative")
    idx = network.index_of(nodes, field="sites")
    out: dict[Hashable, Any] = {}
    if idx.size == 0:
        return out
    d_to = network.distances(None, nodes, limit=r)  # (n, k): node -> site
    tail, head, length = network.tails, network.heads, network.lengths
    if not network.directed:
        tail, head, length = (
            np.concatenate([tail, head]),
            np.concatenate([head, tail]),
            np.concatenate([length, length]),
        )
    for j, key in enumerate(keys):
        d = d_to[:, j]
        reached = np.flatnonzero(d <= r)
        arc = np.flatnonzero(d[head] <= r)
        slack = r - d[head[arc]]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(length[arc] > 0, np.clip(slack / length[arc], 0.0, 1.0), 1.0)
        start = xy[head[arc]]
        end = start + f[:, None] * (xy[tail[arc]] - start)
        pts = np.concatenate([xy[reached], end])
        if method == "hull":
            out[key] = shapely.convex_hull(shapely.multipoints(pts))
        else:
            parts = [shapely.points(xy[reached] * to_m)]
            moving = f > 0
            if moving.any():
                parts.append(shapely.linestrings(np.stack([start[moving] * to_m, end[moving] * to_m], axis=1)))
            geoms = np.concatenate(parts)
            area = shapely.union_all(shapely.buffer(geoms, b))
            if network.coord_crs == "lonlat":
                area = shapely.transform(area, lambda c: c / to_m)
            out[key] = area
    return out


def service_areas_to_geojson(
    areas: Mapping[Hashable, Any], *, properties: Mapping[Hashable, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Service areas (from :func:`service_areas`) as a FeatureCollection.

    Each feature has property ``site`` (the key) plus any extra ``properties[key]``.
    """
    import shapely.geometry

    feats = []
    for key, geom in areas.items():
        props: dict[str, Any] = {"site": _jsonable(key)}
        if properties is not None and key in properties:
            props.update({str(k): _jsonable(v) for k, v in properties[key].items()})
        feats.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props})
    return _collection(feats)


def write_geojson(obj: Mapping[str, Any], path: str | os.PathLike[str], *, indent: int | None = None) -> Path:
    """Write a GeoJSON object to ``path`` atomically (temporary file in the same folder, then ``os.replace``).

    Raises
    ------
    InvalidInputError
        When ``obj`` is not JSON-serialisable (NaN and infinities are rejected,
        as JSON has no such numbers).
    """
    p = Path(path)
    try:
        text = json.dumps(obj, indent=indent, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidInputError("obj", type(obj).__name__, f"not JSON-serialisable: {e}") from None
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
