"""Length units, plausibility checks and networkx graph reading (below the network layer; no swapnet imports
but :mod:`swapnet.errors`).

The unit of a graph's lengths is never guessed: it is given, or the graph says it (a
``length_unit`` graph attribute, or an OSMnx ``crs``: metres). :func:`check_units` catches
lengths read in the wrong unit.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from swapnet.errors import InvalidInputError, SwapnetError

__all__ = [
    "LENGTH_UNITS",
    "GraphArrays",
    "UnitWarning",
    "check_units",
    "graph_arrays",
    "haversine_m",
    "is_lonlat_crs",
    "number",
    "projected_to_lonlat",
    "unit_factor",
]

FloatArray = NDArray[np.float64]

#: Kilometres per unit of each accepted ``length_unit``.
LENGTH_UNITS: dict[str, float] = {"m": 0.001, "km": 1.0, "mi": 1.609344}

#: Plausible median edge length of a road graph, in km (1 m to 200 km).
PLAUSIBLE_MEDIAN_KM = (0.001, 200.0)

EARTH_RADIUS_M = 6_371_008.8


class UnitWarning(SwapnetError, UserWarning):  # noqa: N818 - a warning, not an error
    """Edge lengths look implausible for the unit they were read in."""


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> FloatArray:
    """Great-circle distance in metres between lon/lat points (degrees), element-wise."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return out


def unit_factor(length_unit: str, field: str = "length_unit") -> float:
    if length_unit not in LENGTH_UNITS:
        raise InvalidInputError(field, length_unit, f"must be one of {sorted(LENGTH_UNITS)}")
    return LENGTH_UNITS[length_unit]


def check_units(
    lengths: FloatArray,
    tails: NDArray[np.int64],
    heads: NDArray[np.int64],
    coords: FloatArray | None,
    lonlat: bool,
    length_unit: str,
    *,
    field: str = "length_unit",
) -> None:
    """Check that kilometre edge lengths are plausible after reading them as ``length_unit``.

    With lon/lat coordinates the test is sharp: the median ratio of edge length
    to the great-circle distance between the edge's end nodes must lie in
    [0.5, 5] (roads are never shorter than the straight line, rarely five times
    longer); otherwise :class:`~swapnet.errors.InvalidInputError` names the unit
    the lengths are probably in. Without lon/lat coordinates only the median
    edge length is checked against 1 m .. 200 km, and a :class:`UnitWarning` is
    issued outside it. Graphs with fewer than 10 positive edges are not checked.

    Raises
    ------
    InvalidInputError
        When lon/lat coordinates show the lengths are in another unit.
    """
    w = lengths
    pos = w > 0
    if int(pos.sum()) < 10:
        return
    if coords is not None and lonlat:
        xy = coords
        t, h = tails[pos], heads[pos]
        straight = haversine_m(xy[t, 0], xy[t, 1], xy[h, 0], xy[h, 1]) / 1000.0
        ok = straight > 1e-6
        if int(ok.sum()) >= 10:
            ratio = float(np.median(w[pos][ok] / straight[ok]))
            if not 0.5 <= ratio <= 5.0:
                guess = min(
                    LENGTH_UNITS, key=lambda u: abs(math.log(ratio / LENGTH_UNITS[length_unit] * LENGTH_UNITS[u]))
                )
                raise InvalidInputError(
                    field,
                    length_unit,
                    f"edge lengths read as {length_unit!r} are {ratio:.3g} times the straight-line distance "
                    f"between their end nodes (median); they are probably in {guess!r}",
                )
            return
    med = float(np.median(w[pos]))
    lo, hi = PLAUSIBLE_MEDIAN_KM
    if not lo <= med <= hi:
        warnings.warn(
            UnitWarning(
                f"{field}={length_unit!r}: the median edge is {med:.3g} km, outside the plausible "
                f"{lo:g}..{hi:g} km of a road graph; check the unit"
            ),
            stacklevel=4,
        )


def number(v: Any, field: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InvalidInputError(field, v, "not a number") from None
    if not math.isfinite(f):
        raise InvalidInputError(field, v, "must be finite")
    return f


def projected_to_lonlat(xy: FloatArray, crs: str) -> FloatArray:
    try:
        from pyproj import Transformer
    except ImportError:  # pragma: no cover - pyproj ships with geopandas/shapely stacks
        raise InvalidInputError(
            "crs", crs, "a projected graph needs pyproj to convert its coordinates to lon/lat (pip install pyproj)"
        ) from None
    try:
        tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    except Exception as exc:  # pyproj raises its own CRSError
        raise InvalidInputError("crs", crs, f"not a CRS pyproj knows ({exc})") from None
    lon, lat = tr.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat]).astype(np.float64)


def is_lonlat_crs(crs: str) -> bool:
    c = crs.lower().replace(" ", "")
    return c in ("epsg:4326", "wgs84", "+proj=longlat", "ogc:crs84", "crs84") or "4326" in c or "longlat" in c


@dataclass(frozen=True)
class GraphArrays:
    """A networkx graph as the arrays a :class:`~swapnet.network.RoadNetwork` is built from (lengths in km).

    ``unit`` is the unit the lengths were read in; ``explicit`` is true when a ``scale`` was given
    instead (the unit check is then skipped).
    """

    labels: tuple[Hashable, ...]
    tails: NDArray[np.int64]
    heads: NDArray[np.int64]
    lengths: FloatArray
    directed: bool
    coords: FloatArray | None
    coord_crs: str
    name: str
    unit: str
    explicit: bool


def graph_arrays(
    G: Any,
    *,
    length_unit: str | None = None,
    length: str = "length",
    scale: float | None = None,
    x: str = "x",
    y: str = "y",
    default_length: float | None = None,
    allow_self_loops: bool = False,
) -> GraphArrays:
    """Read a networkx graph's nodes, edges (lengths converted to km) and coordinates.

    The unit of the ``length`` attribute is, in order: ``length_unit`` when
    given; ``G.graph["length_unit"]``; metres when the graph has a ``crs``
    attribute (OSMnx graphs); otherwise an error (it is never guessed).
    ``scale`` is an explicit factor to kilometres instead of a unit.

    Coordinates: node attributes ``x``/``y`` when every node has them. A ``crs``
    of EPSG:4326 gives ``coord_crs="lonlat"``; any other ``crs`` (a projected
    OSMnx graph) is converted to lon/lat with pyproj. Without a ``crs`` the
    coordinates are planar, in the graph's own units.

    Raises
    ------
    InvalidInputError
        Unknown or missing unit, both ``length_unit`` and ``scale``, a length
        that is missing or not a number.
    """
    crs = str(G.graph.get("crs", "")) if "crs" in G.graph else None
    if scale is not None and length_unit is not None:
        raise InvalidInputError("scale", scale, "give length_unit or scale, not both")
    if scale is not None:
        factor = number(scale, "scale")
        if factor <= 0:
            raise InvalidInputError("scale", scale, "must be positive")
        unit = "km"
        explicit = True
    else:
        unit_any = length_unit if length_unit is not None else G.graph.get("length_unit")
        if unit_any is None and crs is not None:
            unit_any = "m"  # OSMnx: edge length in metres
        if unit_any is None:
            raise InvalidInputError(
                "length_unit",
                None,
                "the graph does not say which unit its edge lengths are in; pass length_unit='m', 'km' or 'mi'",
            )
        unit = str(unit_any)
        factor = unit_factor(unit)
        explicit = False
    labels = list(G.nodes)
    index = {lab: i for i, lab in enumerate(labels)}
    t: list[int] = []
    h: list[int] = []
    w: list[float] = []
    for u, v, data in G.edges(data=True):
        val = data.get(length, default_length)
        if val is None:
            raise InvalidInputError(f"edge ({u!r}, {v!r}).{length}", None, "edge has no length attribute")
        lv = number(val, f"edge ({u!r}, {v!r}).{length}")
        if lv < 0:
            raise InvalidInputError(f"edge ({u!r}, {v!r}).{length}", val, "must be non-negative")
        if u == v and not allow_self_loops:
            raise InvalidInputError(f"edge ({u!r}, {v!r})", val, "self-loop; pass allow_self_loops=True to accept")
        if not math.isfinite(lv * factor):
            raise InvalidInputError(f"edge ({u!r}, {v!r}).{length}", val, f"times {factor:g} overflows to infinity")
        t.append(index[u])
        h.append(index[v])
        w.append(lv * factor)
    nt = np.asarray(t, dtype=np.int64)
    nh = np.asarray(h, dtype=np.int64)
    keep = np.ones(nt.size, dtype=bool)  # a kept self-loop never shortens a path
    xy: FloatArray | None = None
    coord_crs = "planar"
    if labels and all(x in d and y in d for _, d in G.nodes(data=True)):
        xy = np.array(
            [[number(G.nodes[n][x], f"node {n!r}.{x}"), number(G.nodes[n][y], f"node {n!r}.{y}")] for n in labels],
            dtype=np.float64,
        )
        if crs is not None:
            if is_lonlat_crs(crs):
                coord_crs = "lonlat"
            else:
                xy = projected_to_lonlat(xy, crs)
                coord_crs = "lonlat"
    return GraphArrays(
        tuple(labels),
        nt[keep],
        nh[keep],
        np.asarray(w, dtype=np.float64)[keep],
        bool(G.is_directed()),
        xy,
        coord_crs,
        str(G.graph.get("name", "")),
        unit,
        explicit,
    )
