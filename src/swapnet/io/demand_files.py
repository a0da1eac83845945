"""Demand from files: points (CSV/GeoJSON) or zones (GeoJSON polygons), allocated to network nodes.

Points
    One row per point with ``lon``/``lat`` (or ``x``/``y`` in the network's
    coordinates, or ``node``) and an amount: ``swaps_per_day``, or ``vehicles``
    with an optional ``segment`` (``private``, ``ride_hailing``, ``taxi``;
    default ``private``) whose swaps per vehicle and month give the swaps. Each
    point is snapped to its nearest node (``max_snap_m``), and the swaps of
    points sharing a node add up.

Zones
    GeoJSON ``Polygon``/``MultiPolygon`` features with ``swaps_per_day``,
    ``vehicles`` (+ ``segment``) or ``population`` (times
    ``vehicles_per_person``) as properties; each zone's swaps are split equally
    among the nodes inside it (:meth:`swapnet.demand.NodeDemand.from_polygons`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from swapnet.demand import DAYS_PER_MONTH, DailyProfile, FleetSegment, NodeDemand
from swapnet.errors import InvalidInputError
from swapnet.io.graphs import _label
from swapnet.io.sites import _floats, locate, read_point_table
from swapnet.network import RoadNetwork

__all__ = ["SEGMENT_SWAPS_PER_MONTH", "DemandFile", "read_demand"]

#: Default swaps per vehicle and month of each segment (see :class:`~swapnet.demand.FleetSegment`).
SEGMENT_SWAPS_PER_MONTH: dict[str, float] = {
    "private": FleetSegment.private(0).swaps_per_vehicle_month,
    "ride_hailing": FleetSegment.ride_hailing(0).swaps_per_vehicle_month,
    "taxi": FleetSegment.taxi(0).swaps_per_vehicle_month,
}


@dataclass(frozen=True)
class DemandFile:
    """Demand read from a file.

    Attributes
    ----------
    demand
        Swaps per day by node (aggregated).
    vehicles
        Vehicles per segment (empty when the file gives swaps per day or population only).
    snap
        Points only: ``point``, ``node``, ``distance_m``, ``swaps_per_day`` per input row.
    kind
        ``"points"`` or ``"zones"``.
    """

    demand: NodeDemand
    vehicles: Mapping[str, float]
    snap: pd.DataFrame
    kind: str


def _segment_swaps(
    df: pd.DataFrame, p: Path, swaps_per_vehicle_month: Mapping[str, float]
) -> tuple[np.ndarray, dict[str, float]]:
    """Swaps per day of each row and the vehicles per segment."""
    vehicles = _floats(df, "vehicles", 0.0, p)
    segs = [str(s).strip() or "private" for s in (df["segment"].tolist() if "segment" in df.columns else [])]
    if not segs:
        segs = ["private"] * len(df)
    rate = np.empty(len(df))
    per_seg: dict[str, float] = {}
    for k, s in enumerate(segs):
        key = s.replace("-", "_")
        if key not in swaps_per_vehicle_month:
            raise InvalidInputError(
                f"{p.name}[row {k + 1}].segment", s, f"must be one of {sorted(swaps_per_vehicle_month)}"
            )
        rate[k] = swaps_per_vehicle_month[key] / DAYS_PER_MONTH
        per_seg[key] = per_seg.get(key, 0.0) + float(vehicles[k])
    return vehicles * rate, per_seg


def read_demand(
    path: str | Path,
    network: RoadNetwork,
    *,
    max_snap_m: float | None = 500.0,
    swaps_per_vehicle_month: Mapping[str, float] | None = None,
    vehicles_per_person: float | None = None,
    profile: DailyProfile | None = None,
    crs: str | None = None,
) -> DemandFile:
    """Read demand points or zones and allocate them to the network's nodes.

    Parameters
    ----------
    path
        CSV (points) or GeoJSON (points or polygons); columns in the module docstring.
    network
        Network with coordinates (unless every row names its ``node``).
    max_snap_m
        Points only: largest allowed point-to-node distance, metres.
    swaps_per_vehicle_month
        Swaps per vehicle and month by segment (defaults: :data:`SEGMENT_SWAPS_PER_MONTH`).
    vehicles_per_person
        Needed when zones give ``population``: swap vehicles per inhabitant.
    profile
        Daily profile of the demand (default urban).
    crs
        CRS of ``x``/``y`` columns that are not in the network's coordinates.

    Raises
    ------
    InvalidInputError
        No amount column, bad numbers, points too far from the network, zero total.
    """
    p = Path(path)
    df = read_point_table(p)
    if len(df) == 0:
        raise InvalidInputError(p.name, 0, "no demand row in the file")
    rates = {**SEGMENT_SWAPS_PER_MONTH, **(swaps_per_vehicle_month or {})}
    cols = set(df.columns)
    per_seg: dict[str, float] = {}
    if "swaps_per_day" in cols:
        swaps = _floats(df, "swaps_per_day", 0.0, p)
    elif "vehicles" in cols:
        swaps, per_seg = _segment_swaps(df, p, rates)
    elif "population" in cols:
        if vehicles_per_person is None or not (math.isfinite(vehicles_per_person) and vehicles_per_person >= 0):
            raise InvalidInputError(
                "vehicles_per_person",
                vehicles_per_person,
                "needed (a non-negative number) when demand gives population",
            )
        pop = _floats(df, "population", 0.0, p)
        per_seg = {"private": float(pop.sum()) * vehicles_per_person}
        swaps = pop * vehicles_per_person * rates["private"] / DAYS_PER_MONTH
    else:
        raise InvalidInputError(
            p.name, sorted(map(str, cols)), "demand needs a 'swaps_per_day', 'vehicles' or 'population' column"
        )
    if float(swaps.sum()) <= 0:
        raise InvalidInputError(p.name, 0.0, "the file's demand adds up to zero swaps per day")
    prof = profile or DailyProfile.urban()
    geoms = df["geometry"].tolist() if "geometry" in cols else [None] * len(df)
    is_zone = np.array([g is not None and not (isinstance(g, float) and math.isnan(g)) for g in geoms])
    if is_zone.all():
        nd = NodeDemand.from_polygons(
            network, [(g, float(a)) for g, a in zip(geoms, swaps, strict=True)], rate=1.0, profile=prof
        )
        return DemandFile(nd, per_seg, pd.DataFrame(columns=["point", "node", "distance_m", "swaps_per_day"]), "zones")
    if is_zone.any():
        raise InvalidInputError(p.name, "points and polygons", "a demand file holds points or zones, not both")
    ids: list[Hashable] = [_label(str(v)) for v in df["id"].tolist()] if "id" in cols else list(range(1, len(df) + 1))
    snap = locate(df, network, p, ids, max_snap_m=max_snap_m, crs=crs, what="demand points")
    nd = NodeDemand(snap.nodes, swaps, prof).aggregate()
    table = pd.DataFrame(
        {"point": ids, "node": list(snap.nodes), "distance_m": snap.distance_m, "swaps_per_day": swaps}
    )
    return DemandFile(nd, per_seg, table, "points")
