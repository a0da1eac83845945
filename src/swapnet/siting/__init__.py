"""Siting models: where to open swap stations and how big to make them.

Matrix models (:func:`set_cover`, :func:`max_coverage`, :func:`p_median`) take a
demand x site cost matrix or a road network with demand and candidate sites.
Every model returns a :class:`SitingPlan` with ``verify()`` and ``to_pyomo()``.
"""

from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting.cover import max_coverage, set_cover
from swapnet.siting.flow import flow_capturing, flow_refueling
from swapnet.siting.median import p_median
from swapnet.siting.plan import SitingPlan
from swapnet.siting.rollout import RolloutPlan, plan_rollout
from swapnet.siting.sizing import size_stations

__all__ = [
    "RolloutPlan",
    "SitingPlan",
    "SolveOptions",
    "SolveStatus",
    "flow_capturing",
    "flow_refueling",
    "max_coverage",
    "p_median",
    "plan_rollout",
    "set_cover",
    "size_stations",
]
