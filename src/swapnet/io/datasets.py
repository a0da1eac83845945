"""Locating the shared data folder and loading its networks by name.

The data are not part of the package. They live in a ``shared/data/networks``
folder beside the project checkout (``<root>/main`` is the project,
``<root>/shared/data`` the data); :func:`data_dir` finds it, and
:func:`load_network` reads any of the shipped networks with sensible units.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from swapnet import _validate as _v
from swapnet.errors import FileFormatError, InvalidInputError
from swapnet.flows import ODFlows
from swapnet.io.tables import (
    read_25node,
    read_25node_junex,
    read_dc_ny_bos,
    read_irish_highway,
    read_irish_traffic,
    read_korean_expressway,
)
from swapnet.io.tntp import PathLike, read_tntp_network, read_tntp_trips
from swapnet.network import RoadNetwork

__all__ = ["DATASETS", "data_dir", "load_network"]

ENV_VAR = "SWAPNET_DATA"
_RELATIVE = Path("shared") / "data" / "networks"

FEET = 0.0003048  # km per foot
MILE = 1.609344  # km per mile


def data_dir() -> Path:
    """The folder holding the shipped networks (``.../shared/data/networks``).

    Looked up, in order:

    1. the environment variable ``SWAPNET_DATA``, naming either the
       ``networks`` folder itself or a folder that contains ``networks``
       (such as ``shared/data``);
    2. ``shared/data/networks`` under the current working directory or any of
       its parents;
    3. ``shared/data/networks`` under any parent of this installed module (so an
       editable install at ``<root>/main`` finds ``<root>/shared/data``).

    Raises
    ------
    InvalidInputError
        When ``SWAPNET_DATA`` is set but points nowhere useful, or no folder is found.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env).expanduser()
        if (p / "networks").is_dir():
            return (p / "networks").resolve()
        if p.is_dir():
            return p.resolve()
        raise InvalidInputError(ENV_VAR, env, "is not a folder; point it at shared/data or shared/data/networks")
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for anc in (start, *start.parents):
            cand = anc / _RELATIVE
            if cand.is_dir():
                return cand.resolve()
    raise InvalidInputError(
        "data_dir",
        None,
        "no shared/data/networks folder found above the working directory or the package; "
        f"set {ENV_VAR} to the data folder (e.g. export {ENV_VAR}=/path/to/shared/data)",
    )


# --------------------------------------------------------------------------- TNTP datasets
# name -> (folder, net file, node file, trips file, coordinate crs,
#          {length column: (scale to the stated unit, unit)})
_TNTP: dict[str, tuple[str, str, str | None, str, str, dict[str, tuple[float, str]]]] = {
    "SiouxFalls": (
        "SiouxFalls",
        "SiouxFalls_net.tntp",
        "SiouxFalls_node.tntp",
        "SiouxFalls_trips.tntp",
        "lonlat",
        {"length": (1.0, "unit"), "free_flow_time": (1.0, "0.01 h")},
    ),
    "Anaheim": (
        "Anaheim",
        "Anaheim_net.tntp",
        None,  # coordinates come from anaheim_nodes.geojson
        "Anaheim_trips.tntp",
        "lonlat",
        {"length": (FEET, "km"), "free_flow_time": (1.0, "min")},
    ),
    "Chicago-Sketch": (
        "Chicago-Sketch",
        "ChicagoSketch_net.tntp",
        "ChicagoSketch_node.tntp",
        "ChicagoSketch_trips.tntp",
        "planar",
        {"length": (MILE, "km"), "free_flow_time": (1.0, "min")},
    ),
    "Berlin-Friedrichshain": (
        "Berlin-Friedrichshain",
        "friedrichshain-center_net.tntp",
        "friedrichshain-center_node.tntp",
        "friedrichshain-center_trips.tntp",
        "planar",
        {"length": (1.0, "unknown"), "free_flow_time": (1.0, "unknown")},
    ),
    "Eastern-Massachusetts": (
        "Eastern-Massachusetts",
        "EMA_net.tntp",
        None,
        "EMA_trips.tntp",
        "planar",
        {"length": (MILE, "km"), "free_flow_time": (1.0, "h")},
    ),
}

#: Names accepted by :func:`load_network`.
DATASETS: tuple[str, ...] = (*_TNTP, "KoreanExpressway", "25node", "DC-NY-BOS", "IrishHighway")


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _check_kw(name: str, kw: dict[str, Any], allowed: set[str]) -> None:
    for k in kw:
        if k not in allowed:
            raise InvalidInputError(k, kw[k], f"not an option of load_network({name!r}); options: {sorted(allowed)}")


def load_network(name: str, *, root: PathLike | None = None, **kw: Any) -> tuple[RoadNetwork, ODFlows | None]:
    """Load one of the shipped networks by name.

    Parameters
    ----------
    name
        One of :data:`DATASETS` (case, ``-`` and ``_`` ignored): ``"SiouxFalls"``,
        ``"Anaheim"``, ``"Chicago-Sketch"``, ``"Berlin-Friedrichshain"``,
        ``"Eastern-Massachusetts"``, ``"KoreanExpressway"``, ``"25node"``,
        ``"DC-NY-BOS"``, ``"IrishHighway"``.
    root
        The ``networks`` folder; default :func:`data_dir`.
    **kw
        Dataset options:

        - TNTP networks: ``length`` (``"length"`` or ``"free_flow_time"``),
          ``scale``, ``length_unit`` (override the defaults below),
          ``drop_zero``, ``drop_diagonal`` (for the trips).
        - ``"KoreanExpressway"``: ``directed`` (see :func:`read_korean_expressway`).
        - ``"25node"``: ``variant`` = ``"optboy"`` (default; coordinates,
          no OD table) or ``"JuneX2000"`` (with its OD table).
        - ``"DC-NY-BOS"``: ``unit`` = ``"km"`` or ``"mile"``.

    Returns
    -------
    network : RoadNetwork
        Lengths in km where the source unit is known: Anaheim (feet), Chicago-Sketch
        and Eastern-Massachusetts (miles) are converted; KoreanExpressway,
        DC-NY-BOS and IrishHighway are in km already. Sioux Falls lengths are
        the file's abstract values (``length_unit="unit"``), Berlin's are
        undocumented (``"unknown"``), 25node's are abstract (``"unit"``).
        With ``length="free_flow_time"`` the times are kept in the file's unit.
    flows : ODFlows or None
        The dataset's OD table (TNTP trips, the Korean demand matrix, the Irish
        traffic workbook, the JuneX2000 25-node table), zero and diagonal
        entries dropped; ``None`` for datasets that only give node weights
        (DC-NY-BOS, 25node ``"optboy"``), whose weights come from
        :func:`~swapnet.io.read_dc_ny_bos` / :func:`~swapnet.io.read_25node`
        (e.g. for :meth:`ODFlows.gravity`).

    Raises
    ------
    InvalidInputError
        On an unknown name or option, or when the data folder cannot be found.
    FileFormatError
        When a data file is malformed.
    """
    if not isinstance(name, str):
        raise InvalidInputError("name", name, f"must be a dataset name, one of {list(DATASETS)}")
    key = _key(name)
    tntp = {_key(k): k for k in _TNTP}
    if key not in tntp and key not in _OTHER:
        raise InvalidInputError("name", name, f"unknown dataset; choose from {list(DATASETS)}")
    base = Path(root) if root is not None else data_dir()
    if not base.is_dir():
        raise InvalidInputError("root", str(base), "is not a folder" if base.exists() else "no such folder")
    if key in tntp:
        return _load_tntp(tntp[key], base, kw)
    return _OTHER[key](base, kw)


def _load_tntp(name: str, base: Path, kw: dict[str, Any]) -> tuple[RoadNetwork, ODFlows | None]:
    _check_kw(name, kw, {"length", "scale", "length_unit", "drop_zero", "drop_diagonal"})
    folder, net_f, node_f, trips_f, crs, units = _TNTP[name]
    d = base / folder
    length = kw.get("length", "length")
    if length not in units:
        raise InvalidInputError("length", length, f"must be one of {sorted(units)}")
    scale, unit = units[length]
    if "scale" in kw:  # an explicit scale makes the default unit meaningless
        scale, unit = _v.positive(kw["scale"], "scale"), "unknown"
    unit = kw.get("length_unit", unit)
    net = read_tntp_network(
        d / net_f,
        None if node_f is None else d / node_f,
        length=length,
        scale=scale,
        length_unit=unit,
        coord_crs=crs,
        name=name,
    )
    if name == "Anaheim":
        net = _with_coords(net, _geojson_points(d / "anaheim_nodes.geojson", net.n_nodes), "lonlat")
    flows = read_tntp_trips(
        d / trips_f, drop_zero=kw.get("drop_zero", True), drop_diagonal=kw.get("drop_diagonal", True)
    )
    return net, flows


def _with_coords(net: RoadNetwork, coords: np.ndarray[Any, np.dtype[np.float64]], crs: str) -> RoadNetwork:
    return RoadNetwork.from_arrays(
        net.tails,
        net.heads,
        net.lengths,
        labels=net.labels,
        directed=net.directed,
        coords=coords,
        coord_crs=crs,
        no_through=net.no_through,
        length_unit=net.length_unit,
        name=net.name,
    )


def _geojson_points(path: Path, n: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Coordinates of nodes ``1..n`` from a GeoJSON FeatureCollection of Points with an ``id`` property."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as e:
        raise FileFormatError(path, e.lineno, f"invalid JSON: {e.msg}") from None
    out = np.full((n, 2), np.nan)
    try:
        for feat in doc["features"]:
            i = int(feat["properties"]["id"])
            if not 1 <= i <= n:
                raise FileFormatError(path, None, f"node id {i} outside 1..{n}")
            x, y = feat["geometry"]["coordinates"][:2]
            out[i - 1] = (float(x), float(y))
    except (KeyError, TypeError, ValueError) as e:
        raise FileFormatError(path, None, f"expected Point features with an 'id' property ({e!r})") from None
    missing = np.flatnonzero(np.isnan(out).any(axis=1))
    if missing.size:
        raise FileFormatError(path, None, f"no coordinates for nodes {(missing[:5] + 1).tolist()}")
    return out


def _load_korean(base: Path, kw: dict[str, Any]) -> tuple[RoadNetwork, ODFlows | None]:
    _check_kw("KoreanExpressway", kw, {"directed"})
    return read_korean_expressway(base / "KoreanExpressway", directed=bool(kw.get("directed", False)))


def _load_25node(base: Path, kw: dict[str, Any]) -> tuple[RoadNetwork, ODFlows | None]:
    _check_kw("25node", kw, {"variant"})
    variant = kw.get("variant", "optboy")
    if _key(str(variant)) in ("optboy", "optboyfrlmwct"):
        return read_25node(base / "25node" / "optboy_FRLMwCT")[0], None
    if _key(str(variant)) == "junex2000":
        net, _, flows = read_25node_junex(base / "25node" / "JuneX2000")
        return net, flows
    raise InvalidInputError("variant", variant, "must be 'optboy' or 'JuneX2000'")


def _load_dc(base: Path, kw: dict[str, Any]) -> tuple[RoadNetwork, ODFlows | None]:
    _check_kw("DC-NY-BOS", kw, {"unit"})
    return read_dc_ny_bos(base / "DC-NY-BOS", unit=kw.get("unit", "km"))[0], None


def _load_irish(base: Path, kw: dict[str, Any]) -> tuple[RoadNetwork, ODFlows | None]:
    _check_kw("IrishHighway", kw, set())
    net, _ = read_irish_highway(base / "IrishHighway")
    return net, read_irish_traffic(base / "IrishHighway")


_OTHER: dict[str, Callable[[Path, dict[str, Any]], tuple[RoadNetwork, ODFlows | None]]] = {
    "koreanexpressway": _load_korean,
    "25node": _load_25node,
    "dcnybos": _load_dc,
    "irishhighway": _load_irish,
}
