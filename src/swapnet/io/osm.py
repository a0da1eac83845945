"""OpenStreetMap XML (``.osm``, ``.osm.bz2``) to a drivable street network.

OSMnx (``graph_from_xml``) is used when it is installed (``pip install osmnx``); otherwise a small
standard-library parser (:mod:`xml.etree.ElementTree`, streamed) follows OSMnx's defaults closely.
"""

from __future__ import annotations

import bz2
import gzip
import xml.etree.ElementTree as ET
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import IO

import numpy as np

from swapnet._units import haversine_m
from swapnet.errors import FileFormatError
from swapnet.network import RoadNetwork

__all__ = ["read_osm_xml"]


# OSMnx "drive" network filter: these highway values carry cars.
_DRIVE = frozenset(
    (
        *("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential"),
        *("living_street", "road", "service"),
        *("motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link"),
    )
)
_NO_CARS = frozenset(("no", "private"))


def _open_binary(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    if name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _iter_osm(path: Path) -> Iterator[tuple[str, dict[str, str], list[str], dict[str, str]]]:
    """Yield ``(tag, attrib, node refs, tags)`` for each <node> and <way> of an OSM XML file."""
    with _open_binary(path) as fh:
        refs: list[str] = []
        tags: dict[str, str] = {}
        try:
            for event, el in ET.iterparse(fh, events=("end",)):
                if event != "end":
                    continue
                if el.tag == "nd":
                    refs.append(el.attrib.get("ref", ""))
                elif el.tag == "tag":
                    tags[el.attrib.get("k", "")] = el.attrib.get("v", "")
                elif el.tag in ("node", "way"):
                    yield el.tag, dict(el.attrib), refs, tags
                    refs, tags = [], {}
                    el.clear()
                elif el.tag == "relation":
                    refs, tags = [], {}
                    el.clear()
        except (ET.ParseError, EOFError, OSError) as exc:
            raise FileFormatError(path, None, f"not a readable OSM XML file ({exc})") from None


def read_osm_xml(path: str | Path, *, simplify: bool = True) -> RoadNetwork:
    """Read the drivable street network of an OpenStreetMap XML file (``.osm``, ``.osm.bz2``).

    Uses OSMnx (``graph_from_xml``) when it is installed; otherwise a small
    standard-library parser that follows OSMnx's defaults closely:

    - ways whose ``highway`` tag is a car road (motorway .. residential,
      ``living_street``, ``service``, the ``*_link`` roads) and whose ``access``/
      ``motor_vehicle`` is not ``no``/``private``;
    - one-way streets (``oneway=yes|true|1|-1``, roundabouts, motorways) are
      one-way arcs; all others go both ways; the network is directed;
    - edge lengths are great-circle metres between consecutive way nodes,
      summed along each street between junctions when ``simplify`` is true
      (nodes shared by several ways, and way ends, are junctions);
    - coordinates are lon/lat.

    Node counts can differ slightly from OSMnx's (it also merges some
    self-contained loops and removes some stray pieces).

    Raises
    ------
    FileFormatError
        When the file is not OSM XML or has no drivable way.
    """
    p = Path(path)
    try:
        import osmnx  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        osmnx = None
    if osmnx is not None:  # pragma: no cover - optional extra, not installed in CI
        G = osmnx.graph_from_xml(p, simplify=simplify, retain_all=True)
        return RoadNetwork.from_networkx(G, allow_self_loops=True, name=p.name.split(".")[0])
    lon: dict[str, float] = {}
    lat: dict[str, float] = {}
    ways: list[tuple[list[str], int]] = []  # refs, direction (1 forward, -1 reverse, 0 both)
    for tag, attrib, refs, tags in _iter_osm(p):
        if tag == "node":
            try:
                lon[attrib["id"]] = float(attrib["lon"])
                lat[attrib["id"]] = float(attrib["lat"])
            except (KeyError, ValueError):
                continue
            continue
        hw = tags.get("highway")
        if hw not in _DRIVE or len(refs) < 2:
            continue
        if tags.get("access") in _NO_CARS or tags.get("motor_vehicle") in _NO_CARS or tags.get("area") == "yes":
            continue
        ow = tags.get("oneway", "")
        if ow == "-1" or ow == "reverse":
            d = -1
        elif ow in ("yes", "true", "1") or tags.get("junction") == "roundabout" or (hw == "motorway" and ow != "no"):
            d = 1
        else:
            d = 0
        ways.append((refs, d))
    if not ways:
        raise FileFormatError(p, None, "no drivable way (highway tag) in the file")
    for refs, _ in ways:
        missing = [r for r in refs if r not in lon]
        if missing:
            raise FileFormatError(p, None, f"way refers to node {missing[0]} that the file does not contain")
    use: dict[str, int] = {}
    for refs, _ in ways:
        for r in refs:
            use[r] = use.get(r, 0) + 1
        use[refs[0]] += 1  # way ends are junctions
        use[refs[-1]] += 1
    tails: list[str] = []
    heads: list[str] = []
    lens: list[float] = []
    for refs, d in ways:
        rl = refs[::-1] if d == -1 else refs
        xs = np.array([lon[r] for r in rl])
        ys = np.array([lat[r] for r in rl])
        seg = haversine_m(xs[:-1], ys[:-1], xs[1:], ys[1:])
        start, acc = rl[0], 0.0
        for k in range(1, len(rl)):
            acc += float(seg[k - 1])
            r = rl[k]
            if not simplify or use[r] > 1 or k == len(rl) - 1:
                if r != start:
                    tails.append(start)
                    heads.append(r)
                    lens.append(acc)
                    if d == 0:
                        tails.append(r)
                        heads.append(start)
                        lens.append(acc)
                start, acc = r, 0.0
    labels = sorted(set(tails) | set(heads), key=lambda s: (len(s), s))
    index = {lab: i for i, lab in enumerate(labels)}
    coords = np.array([[lon[lab], lat[lab]] for lab in labels], dtype=np.float64)
    as_int: list[Hashable] = [int(lab) if lab.lstrip("-").isdigit() else lab for lab in labels]
    net = RoadNetwork.from_arrays(
        [index[a] for a in tails],
        [index[b] for b in heads],
        np.asarray(lens) / 1000.0,
        labels=as_int,
        directed=True,
        coords=coords,
        coord_crs="lonlat",
        length_unit="km",
        name=p.name.split(".")[0],
    )
    return net
