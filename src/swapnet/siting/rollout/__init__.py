"""Multi-year rollout planning: open and size stations year by year under uncertain adoption.

:func:`plan_rollout` returns a :class:`RolloutPlan`; :func:`myopic_plan`,
:func:`mean_value_plan` and :func:`compare` give the baselines and the value of foresight, the
value of the stochastic solution (VSS) and the expected value of perfect information (EVPI).
See ``docs/rollout.md``.
"""

from swapnet.siting.rollout.api import plan_rollout
from swapnet.siting.rollout.baselines import RolloutComparison, compare, mean_value_plan, myopic_plan
from swapnet.siting.rollout.capacity import CapacityRule, LinearCapacity, ServiceLevelCapacity
from swapnet.siting.rollout.od import flow_trajectory, flows_to_demand
from swapnet.siting.rollout.plan import RolloutPlan
from swapnet.siting.rollout.scenarios import (
    Scenario,
    ScenarioSet,
    adoption_scenarios,
    logistic_fleet,
    sample_scenarios,
    trajectory,
)

__all__ = [
    "CapacityRule",
    "LinearCapacity",
    "RolloutComparison",
    "RolloutPlan",
    "Scenario",
    "ScenarioSet",
    "ServiceLevelCapacity",
    "adoption_scenarios",
    "compare",
    "flow_trajectory",
    "flows_to_demand",
    "logistic_fleet",
    "mean_value_plan",
    "myopic_plan",
    "plan_rollout",
    "sample_scenarios",
    "trajectory",
]
