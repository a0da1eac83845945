"""swapnet: plan and operate battery-swap networks for electric cars.

The domain model (road networks, demand, packs, station designs, candidate
sites, tariffs) lives at the top level; models live in subpackages:
:mod:`swapnet.siting` (where to open stations), :mod:`swapnet.optim` (the
linear-model kernel), :mod:`swapnet.io` (file loaders), :mod:`swapnet.synthetic`
(generators) and :mod:`swapnet.geo` (GeoJSON).
"""

from swapnet import cli, economics, geo, io, operations, optim, report, simulation, siting, study, synthetic
from swapnet._version import __version__
from swapnet.assets import BatteryPack, CandidateSites, StationDesign, capital_recovery_factor
from swapnet.demand import DailyProfile, FleetSegment, NodeDemand
from swapnet.errors import (
    DisconnectedNetworkError,
    FileFormatError,
    InfeasibleError,
    InvalidInputError,
    SolverError,
    SwapnetError,
    UnknownNodeError,
    VerificationError,
)
from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork
from swapnet.optim import SolveOptions, SolveStatus
from swapnet.simulation import SimulationOptions, SimulationResult, simulate
from swapnet.siting import SitingPlan
from swapnet.stations import Station, stations_from_plan
from swapnet.study import Study, StudyError, StudyResult
from swapnet.sweep import SweepResult, sweep
from swapnet.synthetic import city_demand, city_grid, random_geometric, service_store_sites
from swapnet.tariff import TouTariff

__all__ = [
    "BatteryPack",
    "CandidateSites",
    "DailyProfile",
    "DisconnectedNetworkError",
    "FileFormatError",
    "FleetSegment",
    "InfeasibleError",
    "InvalidInputError",
    "NodeDemand",
    "ODFlows",
    "RoadNetwork",
    "SimulationOptions",
    "SimulationResult",
    "SitingPlan",
    "SolveOptions",
    "SolveStatus",
    "SolverError",
    "Station",
    "StationDesign",
    "Study",
    "StudyError",
    "StudyResult",
    "SwapnetError",
    "SweepResult",
    "TouTariff",
    "UnknownNodeError",
    "VerificationError",
    "__version__",
    "capital_recovery_factor",
    "city_demand",
    "city_grid",
    "cli",
    "economics",
    "geo",
    "io",
    "operations",
    "optim",
    "random_geometric",
    "report",
    "service_store_sites",
    "simulate",
    "simulation",
    "siting",
    "stations_from_plan",
    "study",
    "sweep",
    "synthetic",
]
