"""Inputs of the operations model: stations (and hubs) and the truck fleet."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from swapnet.assets import StationDesign
from swapnet.errors import InvalidInputError

__all__ = ["OpsStation", "TruckFleet", "stations_from_plan"]


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


@dataclass(frozen=True)
class OpsStation:
    """A swap station (or a charging hub) as the operations model sees it.

    Attributes
    ----------
    label
        Station label.
    node
        Road-network node (needed for truck travel times and node demand).
    batteries
        Battery racks: the most packs the station can hold (charged, depleted or on charge).
    chargers
        Charging slots.
    charger_kw
        Power of one slot, kW.
    grid_kw
        Station grid connection, kW (must be at least ``charger_kw`` when there are chargers).
    bays
        Swap bays (0 for a hub).
    swap_minutes
        Minutes per swap per bay.
    initial_charged
        Charged packs at the start when the horizon is not cyclic (default: all racks full).
    hub
        A central charging hub: no swap demand, only charging and truck transfers.
    """

    label: Hashable
    node: Hashable | None
    batteries: int
    chargers: int
    charger_kw: float
    grid_kw: float
    bays: int = 1
    swap_minutes: float = 3.0
    initial_charged: int | None = None
    hub: bool = False

    def __post_init__(self) -> None:
        f = f"station {self.label!r}"
        object.__setattr__(self, "batteries", _count(self.batteries, f"{f}.batteries"))
        object.__setattr__(self, "chargers", _count(self.chargers, f"{f}.chargers"))
        object.__setattr__(self, "bays", _count(self.bays, f"{f}.bays"))
        kw = _nonneg(self.charger_kw, f"{f}.charger_kw", positive=True)
        grid = _nonneg(self.grid_kw, f"{f}.grid_kw")
        if self.chargers > 0 and kw > grid:
            raise InvalidInputError(f"{f}.charger_kw", kw, f"exceeds the station's grid_kw={grid:g}")
        object.__setattr__(self, "charger_kw", kw)
        object.__setattr__(self, "grid_kw", grid)
        object.__setattr__(self, "swap_minutes", _nonneg(self.swap_minutes, f"{f}.swap_minutes", positive=True))
        if self.initial_charged is not None:
            ic = _count(self.initial_charged, f"{f}.initial_charged")
            if ic > self.batteries:
                raise InvalidInputError(f"{f}.initial_charged", ic, f"exceeds its {self.batteries} batteries")
            object.__setattr__(self, "initial_charged", ic)

    @classmethod
    def from_design(
        cls,
        label: Hashable,
        node: Hashable | None,
        design: StationDesign,
        *,
        batteries: int | None = None,
        chargers: int | None = None,
        grid_kw: float | None = None,
        initial_charged: int | None = None,
    ) -> OpsStation:
        """A station built to ``design`` (battery and charger counts and the grid connection may be
        overridden, e.g. from sizing)."""
        return cls(
            label=label,
            node=node,
            batteries=design.batteries if batteries is None else batteries,
            chargers=design.chargers if chargers is None else chargers,
            charger_kw=design.charger_kw,
            grid_kw=design.grid_kw if grid_kw is None else grid_kw,
            bays=design.bays,
            swap_minutes=design.swap_minutes,
            initial_charged=initial_charged,
        )

    @classmethod
    def hub_site(
        cls, label: Hashable, node: Hashable, *, batteries: int, chargers: int, charger_kw: float, grid_kw: float
    ) -> OpsStation:
        """A central charging hub ("swap locally, charge centrally")."""
        return cls(label, node, batteries, chargers, charger_kw, grid_kw, bays=0, hub=True)


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


def stations_from_plan(
    plan: Any, design: StationDesign, *, nodes: Sequence[Hashable] | None = None
) -> list[OpsStation]:
    """Stations for the sites of a :class:`~swapnet.siting.SitingPlan`.

    Plans from :func:`~swapnet.siting.size_stations` carry battery and charger counts and each
    site's grid connection (used);
    other plans get ``design`` as it is. ``nodes`` gives each site's network node when the
    plan's site labels are not nodes themselves.
    """
    sized = plan.details.get("stations") if hasattr(plan, "details") else None
    out: list[OpsStation] = []
    if sized is not None:
        for row in sized.itertuples(index=False):
            out.append(
                OpsStation.from_design(
                    row.site,
                    row.node,
                    design,
                    batteries=int(row.batteries),
                    chargers=int(row.chargers),
                    grid_kw=float(row.grid_kw) if "grid_kw" in sized else None,
                )
            )
        return out
    sites: Iterable[Hashable] = plan.sites
    node_list = list(plan.sites) if nodes is None else list(nodes)
    if len(node_list) != len(plan.sites):
        raise InvalidInputError("nodes", len(node_list), f"needs one node per site ({len(plan.sites)})")
    return [OpsStation.from_design(s, n, design) for s, n in zip(sites, node_list, strict=True)]


def demand_at_stations(plan: Any, demand: Any, *, nodes: Sequence[Hashable] | None = None) -> Any:
    """Swap demand gathered at the stations of a siting plan (a :class:`~swapnet.demand.NodeDemand`).

    Each demand node's swaps go to the site its row of ``plan.assignment`` names (columns
    ``demand`` and ``site``; rows without a site are dropped); hourly profiles add up, so each
    station gets the demand-weighted profile of its nodes. ``nodes`` maps sites to network nodes
    when site labels are not nodes (default: ``details["stations"]["node"]`` for sized plans, else
    the labels themselves).
    """
    import numpy as np

    from swapnet.demand import NodeDemand

    sites = list(plan.sites)
    if nodes is None:
        sized = plan.details.get("stations")
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
