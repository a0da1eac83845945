"""Placed stations: the one station type every stage after siting uses.

:class:`Station` is a swap station (or a central charging hub) at a road-network node with its
battery racks, charging slots, grid connection, swap bays and swap time. Operations
(:func:`~swapnet.operations.plan_operations`), simulation (:func:`~swapnet.simulation.simulate`) and
economics read the same objects, and :func:`stations_from_plan` is the one converter from a
:class:`~swapnet.siting.SitingPlan` (sized by :func:`~swapnet.siting.size_stations` or not).

Units: power kW, energy kWh, swap time minutes.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from swapnet import _validate as _v
from swapnet.assets import BatteryPack, CandidateSites, StationDesign
from swapnet.errors import InvalidInputError
from swapnet.siting.plan import SitingPlan

__all__ = ["Station", "stations_from_plan"]


def _number(value: object, field: str, *, positive: bool = False) -> float:
    return _v.positive(value, field) if positive else _v.non_negative(value, field)


def _count(value: object, field: str) -> int:
    return _v.integer(value, field, minimum=0)


@dataclass(frozen=True)
class Station:
    """A placed swap station (or charging hub), as operations, simulation and economics see it.

    Attributes
    ----------
    label
        Station label (unique within a network).
    node
        Road-network node (truck and driver travel times, node demand); ``None`` when not on a network.
    batteries
        Battery racks: the most packs the station holds (charged, depleted or on charge).
    chargers
        Charging slots.
    charger_kw
        Grid-side power of one slot, kW (positive).
    grid_kw
        Grid connection, kW; at least ``charger_kw`` when there are chargers. At most
        :attr:`parallel_charging` packs charge at once.
    bays
        Swap bays working in parallel (0 for a hub).
    swap_minutes
        Mean minutes a bay is busy per swap.
    initial_charged
        Charged packs at the start of a non-cyclic horizon; ``None``: every rack charged
        (:attr:`charged_at_start`).
    hub
        A central charging hub: no swap demand, only charging and truck transfers.
    charging_efficiency
        Fraction of grid energy stored in the pack, in ``(0, 1]``.
    x, y
        Coordinates (e.g. for maps), when known.
    design
        The :class:`~swapnet.assets.StationDesign` the station was built to, when known.

    The first ten attributes keep the positional order of the former ``OpsStation``.
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
    charging_efficiency: float = 0.95
    x: float | None = None
    y: float | None = None
    design: StationDesign | None = None

    def __post_init__(self) -> None:
        f = f"station {self.label!r}"
        s = object.__setattr__
        s(self, "batteries", _count(self.batteries, f"{f}.batteries"))
        s(self, "chargers", _count(self.chargers, f"{f}.chargers"))
        s(self, "bays", _count(self.bays, f"{f}.bays"))
        kw = _number(self.charger_kw, f"{f}.charger_kw", positive=True)
        grid = _number(self.grid_kw, f"{f}.grid_kw")
        if self.chargers > 0 and kw > grid * (1 + 1e-12):
            raise InvalidInputError(f"{f}.charger_kw", kw, f"exceeds the station's grid_kw={grid:g}")
        s(self, "charger_kw", kw)
        s(self, "grid_kw", grid)
        s(self, "swap_minutes", _number(self.swap_minutes, f"{f}.swap_minutes", positive=True))
        eta = _number(self.charging_efficiency, f"{f}.charging_efficiency", positive=True)
        if eta > 1:
            raise InvalidInputError(f"{f}.charging_efficiency", eta, "must be in (0, 1]")
        s(self, "charging_efficiency", eta)
        if self.initial_charged is not None:
            ic = _count(self.initial_charged, f"{f}.initial_charged")
            if ic > self.batteries:
                raise InvalidInputError(f"{f}.initial_charged", ic, f"exceeds its {self.batteries} batteries")
            s(self, "initial_charged", ic)
        if not isinstance(self.hub, bool):
            raise InvalidInputError(f"{f}.hub", self.hub, "must be True or False")
        for name in ("x", "y"):
            v = getattr(self, name)
            if v is not None:
                v = float(v)
                if not math.isfinite(v):
                    raise InvalidInputError(f"{f}.{name}", v, "must be finite")
                s(self, name, v)

    @property
    def parallel_charging(self) -> int:
        """Packs that can charge at the same time: ``min(chargers, floor(grid_kw / charger_kw))``."""
        return min(self.chargers, math.floor(self.grid_kw / self.charger_kw + 1e-9))

    @property
    def charged_at_start(self) -> int:
        """Charged packs at the start (``initial_charged`` resolved: ``None`` means all racks)."""
        return self.batteries if self.initial_charged is None else int(self.initial_charged)

    def charge_hours(self, pack: BatteryPack, start_soc: float = 0.2, end_soc: float = 1.0) -> float:
        """Hours to charge one pack at constant power ``charger_kw``.

        ``kwh * (end_soc - start_soc) / (charging_efficiency * charger_kw)``.
        """
        return pack.kwh * (end_soc - start_soc) / (self.charging_efficiency * self.charger_kw)

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
        x: float | None = None,
        y: float | None = None,
    ) -> Station:
        """A station built to ``design``; battery and charger counts and the grid connection may be
        overridden (e.g. from sizing).

        Bays, charger kW, swap minutes and charging efficiency always come from ``design``.
        """
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
            charging_efficiency=design.charging_efficiency,
            x=x,
            y=y,
            design=design,
        )

    @classmethod
    def hub_site(
        cls, label: Hashable, node: Hashable, *, batteries: int, chargers: int, charger_kw: float, grid_kw: float
    ) -> Station:
        """A central charging hub ("swap locally, charge centrally"): no bays, ``hub=True``."""
        return cls(label, node, batteries, chargers, charger_kw, grid_kw, bays=0, hub=True)


def stations_from_plan(
    plan: SitingPlan,
    design: StationDesign | None = None,
    pack: BatteryPack | None = None,
    *,
    nodes: Sequence[Hashable] | None = None,
    candidates: CandidateSites | None = None,
) -> tuple[Station, ...]:
    """The stations of a siting plan, one per site in ``plan.sites`` order.

    A plan of :func:`~swapnet.siting.size_stations` (``plan.sized_stations`` is a table) gives each
    station its sized batteries, chargers, node and the grid connection it was sized for; any other
    plan gets ``design`` as it is, with the grid connection of its candidate site when
    ``candidates`` give one.

    Parameters
    ----------
    plan
        The siting plan.
    design
        The station design; a sized plan defaults to the design it was sized with.
    pack
        Optional battery pack: for a sized plan, checked against the charge time it was sized with
        (a different pack would make the sizing wrong).
    nodes
        Network node of each site when site labels are not nodes (default: the sized table's
        ``node``, else the candidates' nodes, else the labels).
    candidates
        Candidate sites of the plan (nodes and grid limits of unsized plans).

    Returns
    -------
    tuple of Station

    Raises
    ------
    InvalidInputError
        No design, nodes or a sized table that do not match the sites, or a pack the plan was not
        sized for.
    """
    sites = list(plan.sites)
    table = plan.sized_stations
    if design is None:
        design = plan.details.get("design") if table is not None else None
        if not isinstance(design, StationDesign):
            raise InvalidInputError("design", None, "stations of an unsized plan need the StationDesign to build")
    node_of: dict[Hashable, Hashable] = {}
    grid_of: dict[Hashable, float] = {}
    if candidates is not None:
        for lab, nd, g in zip(candidates.labels, candidates.nodes, np.asarray(candidates.grid_kw), strict=True):
            node_of[lab] = nd
            if math.isfinite(float(g)):
                grid_of[lab] = float(g)
        missing = [s for s in sites if s not in node_of]
        if missing:
            raise InvalidInputError("plan.sites", missing[0], "the plan's site is not one of the candidates")
    if nodes is not None and len(nodes) != len(sites):
        raise InvalidInputError("nodes", len(nodes), f"needs one node per site ({len(sites)})")
    if table is None:
        node_list = list(nodes) if nodes is not None else [node_of.get(s, s) for s in sites]
        return tuple(
            Station.from_design(s, n, design, grid_kw=grid_of.get(s, design.grid_kw))
            for s, n in zip(sites, node_list, strict=True)
        )
    if not {"site", "batteries", "chargers"} <= set(table.columns):
        raise InvalidInputError("plan.sized_stations", list(table.columns), "needs columns site, batteries, chargers")
    labels = table["site"].tolist()
    if labels != sites:
        raise InvalidInputError("plan.sized_stations", labels, f"stations do not match the plan's sites {sites}")
    if pack is not None and "charge_hours" in plan.details:
        tc = design.grid_energy_per_swap_kwh(pack) / design.charger_kw
        if not math.isclose(tc, float(plan.details["charge_hours"]), rel_tol=1e-9):
            sized_h = float(plan.details["charge_hours"])
            raise InvalidInputError(
                "pack", pack.name, f"charges in {tc:.4g} h but the plan was sized for {sized_h:.4g} h"
            )
    if nodes is not None:
        node_list = list(nodes)
    elif "node" in table.columns:
        node_list = table["node"].tolist()
    else:
        node_list = [node_of.get(s, s) for s in sites]
    grids = table["grid_kw"].tolist() if "grid_kw" in table.columns else [grid_of.get(s, design.grid_kw) for s in sites]
    return tuple(
        Station.from_design(lab, nd, design, batteries=int(b), chargers=int(c), grid_kw=float(g))
        for lab, nd, b, c, g in zip(labels, node_list, table["batteries"], table["chargers"], grids, strict=True)
    )
