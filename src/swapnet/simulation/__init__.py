"""Simulation: play stochastic days on a station network and measure service, inventory and energy.

:func:`simulate` evaluates stations (a list of :class:`swapnet.Station` or a
:class:`~swapnet.siting.SitingPlan`) under Poisson swap requests, with a charging policy and optional
rebalancing (``operations=`` an operations plan, ``transfers=`` a list of :class:`Transfer`), run as
:class:`SimulationOptions` say, and returns a :class:`SimulationResult` with KPIs and confidence
intervals over replications. See ``docs/simulation.md``.
"""

from swapnet.simulation.api import simulate
from swapnet.simulation.options import SimulationOptions
from swapnet.simulation.policies import ChargeCurve, cheapest_hours
from swapnet.simulation.result import KPI_COLUMNS, KPI_RANGES, SimulationResult, kpi_interval, mean_ci
from swapnet.simulation.stations import SimStation, Transfer
from swapnet.stations import Station

__all__ = [
    "KPI_COLUMNS",
    "KPI_RANGES",
    "ChargeCurve",
    "SimStation",
    "SimulationOptions",
    "SimulationResult",
    "Station",
    "Transfer",
    "cheapest_hours",
    "kpi_interval",
    "mean_ci",
    "simulate",
]
