"""The typed hand-offs between the study's stages: :class:`Inputs`, :class:`Sited`, :class:`Appraisal`."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from swapnet.assets import BatteryPack, CandidateSites, StationDesign
from swapnet.demand import NodeDemand
from swapnet.economics import OperatorCase
from swapnet.flows import ODFlows
from swapnet.io.demand_files import DemandFile
from swapnet.io.graphs import NetworkFile
from swapnet.io.sites import SiteFile
from swapnet.network import RoadNetwork
from swapnet.siting import SitingPlan
from swapnet.stations import Station
from swapnet.study.result import TripDemand
from swapnet.tariff import TouTariff

__all__ = ["Appraisal", "Inputs", "Sited"]


@dataclass(frozen=True, eq=False)
class Inputs:
    """Stage 1's output: the built domain objects of a study.

    ``demand`` is the node demand of a segments study and ``None`` for an OD study (whose demand
    becomes the stations' swaps in stage 2); ``flows``/``lengths`` are the OD study's trips.
    """

    network: RoadNetwork
    demand: NodeDemand | None
    sites: CandidateSites
    pack: BatteryPack
    design: StationDesign
    tariff: TouTariff
    flows: ODFlows | None = None
    lengths: NDArray[np.float64] | None = None
    all_trips_per_day: float = 0.0
    short_trips_per_day: float = 0.0
    described: str = ""
    network_file: NetworkFile | None = None
    sites_file: SiteFile | None = None
    demand_file: DemandFile | None = None


@dataclass(frozen=True, eq=False)
class Sited:
    """Stage 2's output: the verified plan, its station nodes and the demand the stations see."""

    siting: SitingPlan
    site_nodes: tuple[Hashable, ...]
    stations: tuple[Station, ...]
    demand: NodeDemand
    at_stations: NodeDemand
    trips: TripDemand | None


@dataclass(frozen=True, eq=False)
class Appraisal:
    """Stage 5's output: the plan comparison, the operator's case and the subscriber count."""

    comparison: pd.DataFrame
    operator: OperatorCase
    plans: int
    segments: int
    subscribers: float
