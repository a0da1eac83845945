"""Street graphs from files: networkx/OSMnx graphs, GraphML, OSM XML, TNTP and edge CSV.

Every reader returns a :class:`~swapnet.network.RoadNetwork` whose lengths are in
kilometres. The unit of the file's lengths is never guessed: it is given
(``length_unit = "m" | "km" | "mi"``) or the file says it (OSMnx graphs carry a
``crs`` and metre lengths; OSM XML has no lengths, they are computed as
great-circle metres). Implausible units are caught by
:func:`check_length_units`.

Projected coordinates (an OSMnx graph projected to UTM, say) are converted back to
longitude/latitude with ``pyproj`` when the graph names its CRS, so that snapping,
maps and exports all work in degrees.

:func:`read_network` picks the reader from the file name and can keep only the
largest (strongly) connected component, reporting what it dropped.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import math
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from swapnet.errors import FileFormatError, InvalidInputError, SwapnetError
from swapnet.network import RoadNetwork

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "LENGTH_UNITS",
    "NetworkFile",
    "UnitWarning",
    "check_length_units",
    "haversine_m",
    "network_from_networkx",
    "read_edge_csv",
    "read_graphml",
    "read_network",
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


def _unit_factor(length_unit: str, field: str = "length_unit") -> float:
    if length_unit not in LENGTH_UNITS:
        raise InvalidInputError(field, length_unit, f"must be one of {sorted(LENGTH_UNITS)}")
    return LENGTH_UNITS[length_unit]


def check_length_units(network: RoadNetwork, length_unit: str, *, field: str = "length_unit") -> None:
    """Check that a network's kilometre lengths are plausible after reading them as ``length_unit``.

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
    w = network.lengths
    pos = w > 0
    if int(pos.sum()) < 10:
        return
    if network.coords is not None and network.coord_crs == "lonlat":
        xy = network.coords
        t, h = network.tails[pos], network.heads[pos]
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
            stacklevel=3,
        )


def _number(v: Any, field: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InvalidInputError(field, v, "not a number") from None
    if not math.isfinite(f):
        raise InvalidInputError(field, v, "must be finite")
    return f


def _projected_to_lonlat(xy: FloatArray, crs: str) -> FloatArray:
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


def _is_lonlat_crs(crs: str) -> bool:
    c = crs.lower().replace(" ", "")
    return c in ("epsg:4326", "wgs84", "+proj=longlat", "ogc:crs84", "crs84") or "4326" in c or "longlat" in c


def network_from_networkx(
    G: nx.Graph[Any],
    *,
    length_unit: str | None = None,
    length: str = "length",
    scale: float | None = None,
    x: str = "x",
    y: str = "y",
    default_length: float | None = None,
    check_units: bool = True,
    name: str = "",
) -> RoadNetwork:
    """Build a :class:`~swapnet.network.RoadNetwork` (lengths in km) from a networkx graph.

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
        that is missing or not a number, implausible units (see
        :func:`check_length_units`).
    """
    crs = str(G.graph.get("crs", "")) if "crs" in G.graph else None
    if scale is not None and length_unit is not None:
        raise InvalidInputError("scale", scale, "give length_unit or scale, not both")
    if scale is not None:
        factor = _number(scale, "scale")
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
        factor = _unit_factor(unit)
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
        lv = _number(val, f"edge ({u!r}, {v!r}).{length}")
        if lv < 0:
            raise InvalidInputError(f"edge ({u!r}, {v!r}).{length}", val, "must be non-negative")
        t.append(index[u])
        h.append(index[v])
        w.append(lv * factor)
    nt = np.asarray(t, dtype=np.int64)
    nh = np.asarray(h, dtype=np.int64)
    keep = nt != nh  # self-loops never shorten a path
    xy: FloatArray | None = None
    coord_crs = "planar"
    if labels and all(x in d and y in d for _, d in G.nodes(data=True)):
        xy = np.array(
            [[_number(G.nodes[n][x], f"node {n!r}.{x}"), _number(G.nodes[n][y], f"node {n!r}.{y}")] for n in labels],
            dtype=np.float64,
        )
        if crs is not None:
            if _is_lonlat_crs(crs):
                coord_crs = "lonlat"
            else:
                xy = _projected_to_lonlat(xy, crs)
                coord_crs = "lonlat"
    net = RoadNetwork(
        tuple(labels),
        nt[keep],
        nh[keep],
        np.asarray(w, dtype=np.float64)[keep],
        directed=G.is_directed(),
        coords=xy,
        coord_crs=coord_crs,
        length_unit="km",
        name=name or str(G.graph.get("name", "")),
    )
    if check_units and not explicit:
        check_length_units(net, unit)
    return net


# ------------------------------------------------------------------ files
@dataclass(frozen=True)
class NetworkFile:
    """A network read from a file, with what the reader knows about it.

    Attributes
    ----------
    network
        The network (lengths in km).
    path
        The file read.
    format
        ``"graphml"``, ``"osm"``, ``"tntp"`` or ``"csv"``.
    osm
        Whether the data come from OpenStreetMap (maps then credit
        "© OpenStreetMap contributors").
    dropped_nodes
        Nodes outside the largest (strongly) connected component that were
        dropped (``largest_component=True``), else empty.
    components
        Number of (strongly) connected components of the file's network.
    crs
        The file's projected CRS (e.g. ``"EPSG:32613"``) when its coordinates were converted to
        lon/lat; sites and demand given as ``x``/``y`` in it are converted the same way.
    """

    network: RoadNetwork
    path: Path
    format: str
    osm: bool
    dropped_nodes: tuple[Hashable, ...] = ()
    components: int = 1
    crs: str | None = None

    @property
    def attribution(self) -> str | None:
        """ "© OpenStreetMap contributors" for OSM data, else ``None``."""
        return "© OpenStreetMap contributors" if self.osm else None


def _open_binary(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    if name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _file_format(path: Path) -> str:
    name = path.name.lower()
    for suffix in (".bz2", ".gz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith(".graphml"):
        return "graphml"
    if name.endswith((".osm", ".xml")):
        return "osm"
    if name.endswith(".tntp"):
        return "tntp"
    if name.endswith(".csv"):
        return "csv"
    raise InvalidInputError(
        "path", str(path), "unknown network file type; expected .graphml, .osm(.bz2), .tntp or .csv"
    )


def read_network(
    path: str | Path,
    *,
    length_unit: str | None = None,
    largest_component: bool = False,
    directed: bool | None = None,
) -> NetworkFile:
    """Read a street network from a file, choosing the reader from its name.

    Parameters
    ----------
    path
        ``.graphml`` (OSMnx or networkx), ``.osm``/``.osm.bz2`` (OpenStreetMap
        XML), ``*_net.tntp`` (TNTP) or ``.csv`` (edge list; see :func:`read_edge_csv`).
    length_unit
        Unit of the file's lengths (``"m"``, ``"km"``, ``"mi"``); required for
        TNTP, CSV and plain GraphML files, which do not say. OSM XML has no
        stored lengths (they are computed) and OSMnx GraphML says metres.
    largest_component
        Keep only the largest (strongly) connected component; the dropped nodes
        are listed in :attr:`NetworkFile.dropped_nodes`.
    directed
        CSV only: edges are one-way (default ``False``).

    Raises
    ------
    InvalidInputError
        Missing file, unknown type, missing or implausible unit.
    FileFormatError
        When the file cannot be parsed.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError("path", str(p), "no such file")
    fmt = _file_format(p)
    crs: str | None = None
    if fmt == "graphml":
        net, osm, crs = _read_graphml(p, length_unit)
    elif fmt == "osm":
        if length_unit is not None and length_unit != "m":
            raise InvalidInputError("length_unit", length_unit, "OSM XML lengths are computed in metres; leave it out")
        from swapnet.io.osm import read_osm_xml

        net, osm = read_osm_xml(p), True
    elif fmt == "tntp":
        from swapnet.io.tntp import read_tntp_network

        if length_unit is None:
            raise InvalidInputError(
                "length_unit", None, "a TNTP file does not say its length unit; give 'm', 'km' or 'mi'"
            )
        fac = _unit_factor(length_unit)
        net = read_tntp_network(p, scale=fac, length_unit="km")
        check_length_units(net, length_unit)
        osm = False
    else:
        net, osm = read_edge_csv(p, length_unit=length_unit, directed=bool(directed)), False
    ncomp = len(net.components()) if not net.is_connected() else 1
    dropped: tuple[Hashable, ...] = ()
    if largest_component and ncomp > 1:
        big = net.largest_component()
        keep = set(big.labels)
        dropped = tuple(lab for lab in net.labels if lab not in keep)
        net = big
    return NetworkFile(net, p, fmt, osm, dropped, ncomp, crs)


def read_graphml(path: str | Path, *, length_unit: str | None = None) -> tuple[RoadNetwork, bool]:
    """Read a GraphML file written by OSMnx (``save_graphml``) or networkx.

    OSMnx stores every attribute as text: ``x``/``y``/``length`` are converted
    to numbers; the graph's ``crs`` says the lengths are metres. A plain
    networkx file needs ``length_unit`` unless its graph has a ``length_unit``
    attribute (as :meth:`RoadNetwork.to_networkx` writes).

    Returns
    -------
    (RoadNetwork, bool)
        The network and whether the file looks like OSMnx output (OSM data).
    """
    net, osm, _ = _read_graphml(Path(path), length_unit)
    return net, osm


def _read_graphml(p: Path, length_unit: str | None) -> tuple[RoadNetwork, bool, str | None]:
    import networkx as nx

    try:
        G = nx.read_graphml(p)
    except (ET.ParseError, nx.NetworkXError, KeyError, ValueError) as exc:
        raise FileFormatError(p, None, f"not a readable GraphML file ({exc})") from None
    osm = "crs" in G.graph or any("osmid" in d for _, d in G.nodes(data=True))
    net = network_from_networkx(G, length_unit=length_unit, name=str(G.graph.get("name", "")) or p.stem)
    crs = str(G.graph["crs"]) if "crs" in G.graph and not _is_lonlat_crs(str(G.graph["crs"])) else None
    return net, osm, crs


def _csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            cols = [c.strip() for c in (reader.fieldnames or [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FileFormatError(path, None, f"not a readable CSV file ({exc})") from None
    rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in rows]
    return cols, rows


def _label(v: str) -> Hashable:
    return int(v) if v.lstrip("-").isdigit() else v


def read_edge_csv(path: str | Path, *, length_unit: str | None, directed: bool = False) -> RoadNetwork:
    """Read an edge list CSV: columns ``u``, ``v``, ``length``, optional ``oneway`` and coordinates.

    Coordinates (optional) are given per edge end: ``u_lon, u_lat, v_lon, v_lat``
    (lon/lat) or ``u_x, u_y, v_x, v_y`` (planar, in ``length_unit``; converted to
    km). A ``oneway`` column (``1``/``true``/``yes``) makes the network directed,
    with the other edges going both ways.

    Raises
    ------
    InvalidInputError
        When ``length_unit`` is missing or unknown.
    FileFormatError
        On missing columns or bad values (with the line number).
    """
    p = Path(path)
    if length_unit is None:
        raise InvalidInputError("length_unit", None, "an edge CSV does not say its length unit; give 'm', 'km' or 'mi'")
    fac = _unit_factor(length_unit)
    cols, rows = _csv_rows(p)
    for c in ("u", "v", "length"):
        if c not in cols:
            raise FileFormatError(p, 1, f"missing column {c!r} (columns: {cols})")
    lonlat = all(c in cols for c in ("u_lon", "u_lat", "v_lon", "v_lat"))
    planar = all(c in cols for c in ("u_x", "u_y", "v_x", "v_y"))
    has_ow = "oneway" in cols
    edges: list[tuple[Hashable, Hashable, float]] = []
    coords: dict[Hashable, tuple[float, float]] = {}
    is_directed = directed or has_ow
    for k, r in enumerate(rows, start=2):
        u, v = _label(r["u"]), _label(r["v"])
        try:
            L = float(r["length"]) * fac
        except ValueError:
            raise FileFormatError(p, k, f"length {r['length']!r} is not a number") from None
        if not math.isfinite(L) or L < 0:
            raise FileFormatError(p, k, f"length {r['length']!r} must be finite and non-negative")
        if u == v:
            continue
        one = has_ow and r["oneway"].lower() in ("1", "true", "yes")
        edges.append((u, v, L))
        if is_directed and not one:
            edges.append((v, u, L))
        if lonlat or planar:
            kx, ky = ("lon", "lat") if lonlat else ("x", "y")
            cf = 1.0 if lonlat else fac
            try:
                coords[u] = (float(r[f"u_{kx}"]) * cf, float(r[f"u_{ky}"]) * cf)
                coords[v] = (float(r[f"v_{kx}"]) * cf, float(r[f"v_{ky}"]) * cf)
            except ValueError:
                raise FileFormatError(p, k, "coordinate is not a number") from None
    if not edges:
        raise FileFormatError(p, None, "no edge")
    net = RoadNetwork.from_edges(
        edges,
        directed=is_directed,
        coords=coords or None,
        coord_crs="lonlat" if lonlat else "planar",
        length_unit="km",
        name=p.stem,
    )
    check_length_units(net, length_unit)
    return net
