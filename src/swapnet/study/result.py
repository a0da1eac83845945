"""What a study run produced: :class:`StudyResult` and the OD-trip hand-off :class:`TripDemand`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from swapnet.assets import BatteryPack, CandidateSites, StationDesign
from swapnet.demand import NodeDemand
from swapnet.economics import OperatorCase
from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork
from swapnet.operations import OperationsPlan
from swapnet.simulation import SimulationResult
from swapnet.siting import SitingPlan
from swapnet.study.model import StudySpec
from swapnet.study.rollout import RolloutOutcome
from swapnet.tariff import TouTariff


@dataclass(frozen=True)
class StudyResult:
    """Everything a study run produced.

    Attributes
    ----------
    study
        The study.
    network, demand, sites, pack, design, tariff
        The built inputs.
    siting
        The :class:`~swapnet.siting.SitingPlan` (verified).
    site_nodes
        Network node of each opened site, in ``siting.sites`` order.
    operations
        The :class:`~swapnet.operations.OperationsPlan` (verified).
    simulation
        The :class:`~swapnet.simulation.SimulationResult`.
    operator
        The operator's :class:`~swapnet.economics.OperatorCase`.
    tables
        KPI tables by name: ``siting``, ``stations``, ``operations``, ``simulation``, ``plans``,
        ``cash_flows``, ``operator``.
    timings
        Seconds per stage.
    files
        Files written by the report (``report.md`` first).
    site_names, snap, attribution, dropped_nodes
        Own-data studies: store names by site, the sites' snap table, the map credit
        ("© OpenStreetMap contributors" for OSM data) and the nodes dropped outside the
        largest connected component.
    rollout
        The multi-year rollout of a study with a ``[rollout]`` section (else ``None``).
    """

    study: StudySpec
    network: RoadNetwork
    demand: NodeDemand
    sites: CandidateSites
    pack: BatteryPack
    design: StationDesign
    tariff: TouTariff
    siting: SitingPlan
    site_nodes: tuple[Hashable, ...]
    operations: OperationsPlan
    simulation: SimulationResult
    operator: OperatorCase
    tables: Mapping[str, pd.DataFrame]
    timings: Mapping[str, float]
    files: tuple[Path, ...] = ()
    trips: TripDemand | None = None
    site_names: Mapping[Hashable, str] = field(default_factory=dict)
    snap: pd.DataFrame | None = None
    attribution: str | None = None
    dropped_nodes: int = 0
    rollout: RolloutOutcome | None = None


@dataclass(frozen=True, eq=False)
class TripDemand:
    """The trips of an OD study (``demand.kind = "od"``) and how they turned into swaps.

    Attributes
    ----------
    flows
        Swap-seeking EV trips per day (:class:`~swapnet.flows.ODFlows`, one-way), after the
        ``min_trip_km`` filter: the siting model's input.
    lengths
        Shortest-path length of each flow, network length unit.
    all_trips_per_day
        One-way vehicle trips per day of the whole OD table (``trip_scale`` applied), before EV
        scaling and filtering.
    short_trips_per_day
        Swap-seeking EV trips per day left out as shorter than ``min_trip_km`` (or unreachable).
    swaps_per_trip
        Swaps per refuelled one-way trip of each flow (see :func:`flow_station_swaps`).
    station_swaps
        One row per station: ``site``, ``node``, ``swaps_per_day``, ``flows`` (refuelled flows using
        it) and ``trips_per_day`` (refuelled trips passing it).
    """

    flows: ODFlows
    lengths: NDArray[np.float64]
    all_trips_per_day: float
    short_trips_per_day: float
    swaps_per_trip: NDArray[np.float64]
    station_swaps: pd.DataFrame

    @property
    def trips_per_day(self) -> float:
        """Swap-seeking EV trips per day offered to the siting model."""
        return float(self.flows.total)

    @property
    def refuelled_trips_per_day(self) -> float:
        """EV trips per day the stations refuel (FRLM) or capture (FCLM)."""
        return float(self.station_swaps.attrs.get("refuelled_trips", 0.0))
