"""Simulation: play stochastic days on a station network and measure service, inventory and energy.

:func:`simulate` evaluates stations (a list of :class:`swapnet.Station` or a
:class:`~swapnet.siting.SitingPlan`) under Poisson swap requests, with a charging policy and optional
rebalancing (:class:`Transfer` or an operations plan), and returns a :class:`SimulationResult` with
KPIs and confidence intervals over replications. See ``docs/simulation.md``.
"""

from swapnet.simulation.api import simulate
from swapnet.simulation.policies import ChargeCurve, cheapest_hours
from swapnet.simulation.result import KPI_COLUMNS, SimulationResult, mean_ci
from swapnet.simulation.stations import SimStation, Transfer
from swapnet.stations import Station

__all__ = [
    "KPI_COLUMNS",
    "ChargeCurve",
    "SimStation",
    "SimulationResult",
    "Station",
    "Transfer",
    "cheapest_hours",
    "mean_ci",
    "simulate",
]
