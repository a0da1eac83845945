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

import csv
import math
import xml.etree.ElementTree as ET
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from swapnet._units import (
    LENGTH_UNITS,
    UnitWarning,
    haversine_m,
    is_lonlat_crs,
    unit_factor,
)
from swapnet._units import check_units as _check_units
from swapnet.errors import FileFormatError, InvalidInputError
from swapnet.io.osm import read_osm_xml
from swapnet.network import RoadNetwork

if TYPE_CHECKING:
    pass

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


def check_length_units(network: RoadNetwork, length_unit: str, *, field: str = "length_unit") -> None:
    """Check that a network's kilometre lengths are plausible after reading them as ``length_unit``.

    With lon/lat coordinates the median ratio of edge length to the great-circle
    distance between the edge's end nodes must lie in [0.5, 5] (roads are never
    shorter than the straight line, rarely five times longer); otherwise
    :class:`~swapnet.errors.InvalidInputError` names the unit the lengths are
    probably in. Without lon/lat coordinates only the median edge length is
    checked against 1 m .. 200 km, with a :class:`UnitWarning` outside it.
    Graphs with fewer than 10 positive edges are not checked.
    """
    _check_units(
        network.lengths,
        network.tails,
        network.heads,
        network.coords,
        network.coord_crs == "lonlat",
        length_unit,
        field=field,
    )


network_from_networkx = RoadNetwork.from_networkx
"""Same as :meth:`swapnet.network.RoadNetwork.from_networkx` (kept as an alias for old code)."""


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
        net, osm = read_osm_xml(p), True
    elif fmt == "tntp":
        from swapnet.io.tntp import read_tntp_network

        if length_unit is None:
            raise InvalidInputError(
                "length_unit", None, "a TNTP file does not say its length unit; give 'm', 'km' or 'mi'"
            )
        fac = unit_factor(length_unit)
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
    net = RoadNetwork.from_networkx(
        G, length_unit=length_unit, allow_self_loops=True, name=str(G.graph.get("name", "")) or p.stem
    )
    crs = str(G.graph["crs"]) if "crs" in G.graph and not is_lonlat_crs(str(G.graph["crs"])) else None
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
    fac = unit_factor(length_unit)
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
