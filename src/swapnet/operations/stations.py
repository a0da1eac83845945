"""Inputs of the operations model: the truck fleet, the demand at the stations and re-exports.

Stations (and hubs) are :class:`swapnet.Station` objects; ``OpsStation`` is its deprecated alias and
:func:`stations_from_plan` the one converter from a siting plan (:mod:`swapnet.stations`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from swapnet.demand import NodeDemand
from swapnet.errors import InvalidInputError
from swapnet.siting.plan import SitingPlan
from swapnet.stations import Station, stations_from_plan

__all__ = ["OpsStation", "Station", "TruckFleet", "demand_at_stations", "stations_from_plan"]


def _nonneg(value: float, field: str, *, positive: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(field, value, "not a number") from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise InvalidInputError(field, value, "must be finite and " + ("positive" if positive else "non-negative"))
    return v


def _count(value: int, field: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise InvalidInputError(field, value, "must be a non-negative integer")
    return int(value)


#: Deprecated alias of :class:`swapnet.Station` (the one placed-station type); use ``Station``.
OpsStation = Station


@dataclass(frozen=True)
class TruckFleet:
    """Trucks that move batteries between stations and hubs.

    Attributes
    ----------
    count
        Number of trucks.
    capacity
        Batteries per truck (charged plus depleted).
    cost_per_km
        CNY per km driven.
    cost_per_trip
        CNY per trip (driver, handling).
    speed_kmh
        Average speed used to turn network distances into travel times.
    max_partners
        Each station exchanges batteries with at most this many nearest other sites (and every hub);
        keeps the model small.
    every
        Trucks may depart only every ``every`` periods (e.g. 4 = hourly with 15-minute periods).
    """

    count: int
    capacity: int
    cost_per_km: float = 5.0
    cost_per_trip: float = 50.0
    speed_kmh: float = 30.0
    max_partners: int = 4
    every: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "count", _count(self.count, "trucks.count"))
        object.__setattr__(self, "capacity", _count(self.capacity, "trucks.capacity"))
        _nonneg(self.cost_per_km, "trucks.cost_per_km")
        _nonneg(self.cost_per_trip, "trucks.cost_per_trip")
        _nonneg(self.speed_kmh, "trucks.speed_kmh", positive=True)
        if _count(self.max_partners, "trucks.max_partners") < 1:
            raise InvalidInputError("trucks.max_partners", self.max_partners, "must be at least 1")
        if _count(self.every, "trucks.every") < 1:
            raise InvalidInputError("trucks.every", self.every, "must be at least 1")


def demand_at_stations(plan: SitingPlan, demand: NodeDemand, *, nodes: Sequence[Hashable] | None = None) -> NodeDemand:
    """Swap demand gathered at the stations of a siting plan (a :class:`~swapnet.demand.NodeDemand`).

    Each demand node's swaps go to the site its row of ``plan.assignment`` names (columns
    ``demand`` and ``site``; rows without a site are dropped); hourly profiles add up, so each
    station gets the demand-weighted profile of its nodes. ``nodes`` maps sites to network nodes
    when site labels are not nodes (default: ``plan.sized_stations["node"]`` for sized plans, else
    the labels themselves).
    """
    sites = list(plan.sites)
    if nodes is None:
        sized = plan.sized_stations
        nodes = list(sized["node"]) if sized is not None else sites
    if len(nodes) != len(sites):
        raise InvalidInputError("nodes", len(nodes), f"needs one node per site ({len(sites)})")
    pos = {s: i for i, s in enumerate(sites)}
    hourly = demand.hourly()
    row_of = {nd: i for i, nd in enumerate(demand.nodes)}
    out = np.zeros((len(sites), 24))
    a = plan.assignment
    share = a.groupby("demand")["swaps_per_hour"].transform(lambda v: v / v.sum()) if "swaps_per_hour" in a else None
    for k, (d, s) in enumerate(zip(a["demand"], a["site"], strict=True)):
        if s is None or s != s or d not in row_of:  # s != s: NaN
            continue
        w = 1.0 if share is None else float(share.iloc[k])
        out[pos[s]] += w * hourly[row_of[d]]
    daily = out.sum(axis=1)
    prof = np.where(daily[:, None] > 0, out / np.maximum(daily[:, None], 1e-300), 1.0 / 24)
    return NodeDemand(nodes, daily, prof)
