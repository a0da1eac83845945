"""Points onto a network: snapping, candidate sites (stores) from CSV or GeoJSON.

Snapping moves each point to its nearest network node and measures how far that
is, in metres (great-circle on lon/lat networks; planar networks need
coordinates in a known length unit). Points farther than ``max_snap_m`` are an
error that lists them — and says when the coordinates look swapped (lat/lon
instead of lon/lat) or in the wrong system (degrees on a projected network, or
metres on a lon/lat one). A snap table (``site``, ``node``, ``distance_m``) goes
with every result.

Site files
----------
CSV with a header, or GeoJSON ``Point`` features with the same names as
properties. Columns:

- ``id`` (required, unique);
- where: ``lon``/``lat`` (degrees), or ``x``/``y`` in the network's coordinates
  (or in ``crs``, converted with pyproj), or ``node`` (a node label; no snapping);
- optional ``name``, ``fixed_cost``, ``grid_kw``, ``max_batteries``, ``existing``
  (``true``/``1``/``yes``: an already open station, kept open by the siting).
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from swapnet.assets import CandidateSites
from swapnet.errors import FileFormatError, InvalidInputError
from swapnet.io.graphs import LENGTH_UNITS, _csv_rows, _label, haversine_m
from swapnet.network import RoadNetwork

__all__ = ["SiteFile", "SnapResult", "read_point_table", "read_sites", "snap_points"]

FloatArray = NDArray[np.float64]

_TRUE = frozenset(("1", "true", "yes", "y", "t"))
_FALSE = frozenset(("", "0", "false", "no", "n", "f"))


@dataclass(frozen=True)
class SnapResult:
    """Where points landed on the network.

    Attributes
    ----------
    nodes
        Nearest node label of each point.
    distance_m
        Distance from each point to its node, metres.
    """

    nodes: tuple[Hashable, ...]
    distance_m: FloatArray


def _metres_per_unit(network: RoadNetwork, field: str) -> float:
    if network.length_unit not in LENGTH_UNITS:
        raise InvalidInputError(
            field,
            network.length_unit,
            "the network's planar coordinates have no known unit, so snap distances cannot be measured; "
            "give each point's node instead (column 'node')",
        )
    return LENGTH_UNITS[network.length_unit] * 1000.0


def _distances_m(network: RoadNetwork, x: FloatArray, y: FloatArray, idx: NDArray[np.int64], field: str) -> FloatArray:
    assert network.coords is not None
    c = network.coords[idx]
    if network.coord_crs == "lonlat":
        return haversine_m(x, y, c[:, 0], c[:, 1])
    out: FloatArray = np.hypot(x - c[:, 0], y - c[:, 1]) * _metres_per_unit(network, field)
    return out


def _nearest(network: RoadNetwork, x: FloatArray, y: FloatArray) -> NDArray[np.int64]:
    return network.index_of(network.nearest_node(x, y))


def snap_points(
    network: RoadNetwork,
    x: Sequence[float] | FloatArray,
    y: Sequence[float] | FloatArray,
    *,
    ids: Sequence[Hashable] | None = None,
    max_snap_m: float | None = 500.0,
    field: str = "points",
) -> SnapResult:
    """Snap points (in the network's coordinates) to their nearest nodes.

    Parameters
    ----------
    network
        Network with coordinates.
    x, y
        Longitude/latitude on a lon/lat network, else planar coordinates in the
        network's length unit.
    ids
        Point names for error messages (default ``0..n-1``).
    max_snap_m
        Largest allowed distance to a node, metres; ``None`` for no limit.
    field
        Name used in errors.

    Raises
    ------
    InvalidInputError
        When the network has no coordinates, a point is not finite, or points
        lie farther than ``max_snap_m`` from every node; the message lists them
        (up to 10) with their distances, and says when the coordinates look
        swapped or in another coordinate system.
    """
    if network.coords is None:
        raise InvalidInputError(f"{field}", None, "the network has no node coordinates to snap to")
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    if xs.shape != ys.shape:
        raise InvalidInputError(field, (xs.size, ys.size), "x and y differ in length")
    names: list[Hashable] = list(range(xs.size)) if ids is None else list(ids)
    bad = ~(np.isfinite(xs) & np.isfinite(ys))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"{field}[{names[k]!r}]", (float(xs[k]), float(ys[k])), "coordinates must be finite")
    if network.coord_crs == "lonlat":
        out = (np.abs(xs) > 180) | (np.abs(ys) > 90)
        if out.any():
            k = int(np.flatnonzero(out)[0])
            swapped = bool(((np.abs(ys[out]) <= 180) & (np.abs(xs[out]) <= 90)).all())
            why = (
                "their coordinates look swapped (lat, lon): give longitude as lon/x and latitude as lat/y"
                if swapped
                else "they are not longitude/latitude degrees (projected metres?) but the network is in lon/lat; "
                "give lon/lat, or x/y with the crs they are in"
            )
            raise InvalidInputError(
                f"{field}[{names[k]!r}]", (float(xs[k]), float(ys[k])), f"{int(out.sum())} point(s): {why}"
            )
    if xs.size == 0:
        return SnapResult((), np.zeros(0))
    idx = _nearest(network, xs, ys)
    dist = _distances_m(network, xs, ys, idx, field)
    if max_snap_m is not None:
        if not (math.isfinite(max_snap_m) and max_snap_m > 0):
            raise InvalidInputError("max_snap_m", max_snap_m, "must be a positive number of metres")
        far = np.flatnonzero(dist > max_snap_m)
        if far.size:
            raise InvalidInputError(
                "max_snap_m",
                max_snap_m,
                f"{far.size} of {xs.size} {field} lie farther from the network than that: "
                + ", ".join(f"{names[int(k)]!r} ({dist[int(k)]:,.0f} m)" for k in far[:10])
                + (" ..." if far.size > 10 else "")
                + _hint(network, xs[far], ys[far], max_snap_m, field),
            )
    return SnapResult(tuple(network.labels[int(i)] for i in idx), dist)


def _hint(network: RoadNetwork, xs: FloatArray, ys: FloatArray, max_snap_m: float, field: str) -> str:
    """Why points may be far: swapped lon/lat, or degrees on a projected network."""
    assert network.coords is not None
    c = network.coords
    lo, hi = c.min(axis=0), c.max(axis=0)
    if network.coord_crs == "lonlat":
        ok = (np.abs(ys) <= 180) & (np.abs(xs) <= 90)
        if ok.all():
            d = _distances_m(network, ys, xs, _nearest(network, ys, xs), field)
            if float(np.median(d)) <= max_snap_m:
                return "; their coordinates look swapped (lat, lon): give longitude as lon/x and latitude as lat/y"
        return f"; the network spans lon {lo[0]:.4f}..{hi[0]:.4f}, lat {lo[1]:.4f}..{hi[1]:.4f}"
    degrees = (np.abs(xs) <= 180).all() and (np.abs(ys) <= 90).all()
    inside = ((xs >= lo[0]) & (xs <= hi[0]) & (ys >= lo[1]) & (ys <= hi[1])).any()
    if degrees and not inside:
        return (
            "; they look like lon/lat degrees but the network is projected (planar): give x/y in the "
            "network's coordinates"
        )
    return f"; the network spans x {lo[0]:.4g}..{hi[0]:.4g}, y {lo[1]:.4g}..{hi[1]:.4g}"


# --------------------------------------------------------------- tables
def read_point_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, or the ``Point`` (and ``Polygon``) features of a GeoJSON file, into a table.

    GeoJSON points give ``lon``/``lat`` columns from their coordinates (plus
    their properties); polygons keep their shapely geometry in a ``geometry``
    column. CSV values stay text (numbers are parsed by the readers that use them).

    Raises
    ------
    InvalidInputError
        When the file is missing or of an unknown type.
    FileFormatError
        When the file cannot be parsed.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError("path", str(p), "no such file")
    name = p.name.lower()
    if name.endswith(".csv"):
        cols, rows = _csv_rows(p)
        return pd.DataFrame(rows, columns=cols, dtype=object)
    if name.endswith((".geojson", ".json")):
        import shapely.geometry

        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FileFormatError(p, None, f"not a readable GeoJSON file ({exc})") from None
        feats = doc.get("features") if isinstance(doc, dict) else None
        if not isinstance(feats, list):
            raise FileFormatError(p, None, "not a GeoJSON FeatureCollection")
        out: list[dict[str, Any]] = []
        for k, f in enumerate(feats):
            geom = (f or {}).get("geometry") or {}
            props = dict((f or {}).get("properties") or {})
            if geom.get("type") == "Point":
                try:
                    props["lon"], props["lat"] = (float(v) for v in geom["coordinates"][:2])
                except (KeyError, TypeError, ValueError):
                    raise FileFormatError(p, None, f"feature {k}: bad Point coordinates") from None
            elif geom.get("type") in ("Polygon", "MultiPolygon"):
                try:
                    props["geometry"] = shapely.geometry.shape(geom)
                except Exception as exc:  # shapely raises several types on bad rings
                    raise FileFormatError(p, None, f"feature {k}: bad {geom.get('type')} ({exc})") from None
            else:
                raise FileFormatError(p, None, f"feature {k}: geometry {geom.get('type')!r} is not a Point or Polygon")
            out.append(props)
        return pd.DataFrame(out, dtype=object)
    raise InvalidInputError("path", str(p), "unknown table type; expected .csv or .geojson")


def _floats(
    df: pd.DataFrame, col: str, default: float | None, path: Path, *, positive: bool = False, signed: bool = False
) -> FloatArray:
    if col not in df.columns:
        return np.full(len(df), np.nan if default is None else default)
    out = np.empty(len(df))
    for k, v in enumerate(df[col].tolist()):
        if v is None or (isinstance(v, str) and v.strip() == "") or (isinstance(v, float) and math.isnan(v)):
            out[k] = np.nan if default is None else default
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{path.name}[row {k + 1}].{col}", v, "not a number") from None
        if signed:
            out[k] = f
            continue
        if not math.isfinite(f) or f < 0 or (positive and f == 0):
            raise InvalidInputError(f"{path.name}[row {k + 1}].{col}", v, "must be finite and non-negative")
        out[k] = f
    return out


def _bools(df: pd.DataFrame, col: str, path: Path) -> NDArray[np.bool_]:
    if col not in df.columns:
        return np.zeros(len(df), dtype=bool)
    out = np.zeros(len(df), dtype=bool)
    for k, v in enumerate(df[col].tolist()):
        s = str(v).strip().lower() if v is not None else ""
        if s in _TRUE:
            out[k] = True
        elif s not in _FALSE:
            raise InvalidInputError(f"{path.name}[row {k + 1}].{col}", v, "expected true/false (or 1/0, yes/no)")
    return out


def locate(
    df: pd.DataFrame,
    network: RoadNetwork,
    path: Path,
    ids: Sequence[Hashable],
    *,
    max_snap_m: float | None,
    crs: str | None = None,
    what: str = "sites",
) -> SnapResult:
    """Nodes of a table's rows: from ``node``, or snapped from ``lon``/``lat`` or ``x``/``y``."""
    cols = set(df.columns)
    if "node" in cols:
        labels = [_label(str(v)) if isinstance(v, str) else v for v in df["node"].tolist()]
        network.index_of(labels, field=f"{path.name}.node")
        return SnapResult(tuple(labels), np.zeros(len(labels)))
    if {"lon", "lat"} <= cols:
        if network.coord_crs != "lonlat":
            raise InvalidInputError(
                f"{path.name}.lon",
                "lon/lat",
                "the network's coordinates are planar (not lon/lat); give x/y in the network's coordinates",
            )
        x, y = _floats(df, "lon", None, path, signed=True), _floats(df, "lat", None, path, signed=True)
    elif {"x", "y"} <= cols:
        x, y = _floats(df, "x", None, path, signed=True), _floats(df, "y", None, path, signed=True)
        if crs is not None:
            from swapnet._units import projected_to_lonlat

            xy = projected_to_lonlat(np.column_stack([x, y]), crs)
            x, y = xy[:, 0], xy[:, 1]
    else:
        raise InvalidInputError(
            f"{path.name}", sorted(map(str, cols)), "needs columns lon/lat, x/y (network coordinates) or node"
        )
    return snap_points(network, x, y, ids=ids, max_snap_m=max_snap_m, field=what)


@dataclass(frozen=True)
class SiteFile:
    """Candidate sites read from a file and snapped to the network.

    Attributes
    ----------
    sites
        The :class:`~swapnet.assets.CandidateSites` (labels are the ``id`` column).
    names
        Store name per site label (the ``id`` where no name is given).
    existing
        Labels of already open stations (``existing`` column).
    snap
        One row per site: ``site``, ``name``, ``node``, ``distance_m``.
    """

    sites: CandidateSites
    names: Mapping[Hashable, str]
    existing: tuple[Hashable, ...]
    snap: pd.DataFrame


def read_sites(
    path: str | Path,
    network: RoadNetwork,
    *,
    max_snap_m: float | None = 500.0,
    fixed_cost: float = 0.0,
    crs: str | None = None,
) -> SiteFile:
    """Read candidate sites (service stores) from a CSV or GeoJSON file and snap them to ``network``.

    Parameters
    ----------
    path
        The file (columns in the module docstring).
    network
        Network to snap to.
    max_snap_m
        Largest allowed store-to-node distance, metres (default 500); sites
        beyond it are an error listing them.
    fixed_cost
        Opening cost for sites whose ``fixed_cost`` is blank.
    crs
        CRS of ``x``/``y`` columns when they are not the network's own
        coordinates (e.g. ``"EPSG:32613"``); converted to lon/lat.

    Raises
    ------
    InvalidInputError
        Missing or duplicate ids, bad numbers, sites too far from the network.
    """
    p = Path(path)
    df = read_point_table(p)
    if "id" not in df.columns:
        raise InvalidInputError(f"{p.name}.id", list(map(str, df.columns)), "a site file needs an 'id' column")
    if len(df) == 0:
        raise InvalidInputError(f"{p.name}", 0, "no site in the file")
    ids: list[Hashable] = [_label(str(v)) for v in df["id"].tolist()]
    seen: set[Hashable] = set()
    for v in ids:
        if v in seen:
            raise InvalidInputError(f"{p.name}.id", v, "site ids must be unique")
        seen.add(v)
    snap = locate(df, network, p, ids, max_snap_m=max_snap_m, crs=crs, what="sites")
    names = {
        i: (str(n) if n is not None and str(n).strip() and str(n) != "nan" else str(i))
        for i, n in zip(ids, df["name"].tolist() if "name" in df.columns else ids, strict=True)
    }
    cost = _floats(df, "fixed_cost", fixed_cost, p)
    grid = _floats(df, "grid_kw", math.inf, p, positive=True)
    batt = _floats(df, "max_batteries", math.inf, p, positive=True)
    existing = _bools(df, "existing", p)
    sites = CandidateSites(ids, snap.nodes, cost, grid_kw=grid, max_batteries=batt, kind="service_store")
    table = pd.DataFrame(
        {
            "site": ids,
            "name": [names[i] for i in ids],
            "node": list(snap.nodes),
            "distance_m": snap.distance_m,
            "existing": existing,
        }
    )
    return SiteFile(sites, names, tuple(i for i, e in zip(ids, existing, strict=True) if e), table)
