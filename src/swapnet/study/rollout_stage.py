"""The study's rollout stage: plan the ``[rollout]`` section (:class:`~swapnet.study.rollout.RolloutSpec`).

The section and its outcome type live in :mod:`swapnet.study.rollout` (below the study spec and
result); this module runs it on the study's inputs (see that module's docstring for the keys).
"""

from __future__ import annotations

from typing import Any

from swapnet.economics import monthly_cost
from swapnet.optim import SolveOptions
from swapnet.siting.rollout import (
    ScenarioSet,
    adoption_scenarios,
    compare,
    plan_rollout,
    sample_scenarios,
    trajectory,
)
from swapnet.siting.rollout.report import rollout_tables
from swapnet.study._schema import StudyError, _require
from swapnet.study.model import StudySpec
from swapnet.study.rollout import RolloutOutcome, RolloutSpec
from swapnet.study.stages import Inputs

__all__ = ["run_rollout"]


def _scenarios(spec: RolloutSpec, study: StudySpec, inputs: Inputs) -> ScenarioSet:
    assert inputs.demand is not None
    base_fleet = float(sum(s.vehicles for s in study.demand.segments))
    _require(base_fleet > 0, "demand.segments", base_fleet, "the rollout needs vehicles to scale the demand by")
    fleets = spec.fleets()
    if spec.scenarios == "three":
        probs = {"low": spec.low_probability, "mid": 1 - spec.low_probability - spec.high_probability,
                 "high": spec.high_probability}  # fmt: skip
        return adoption_scenarios(inputs.demand, base_fleet, fleets, probs, shared_years=spec.shared_years)
    mid = fleets["mid"] / base_fleet
    if spec.scenarios == "sampled":
        return sample_scenarios(inputs.demand, mid, spec.samples, growth_sd=spec.growth_sd, seed=spec.seed,
                                shared_years=spec.shared_years)  # fmt: skip
    return ScenarioSet.of(list(trajectory(inputs.demand, mid)))


def _margin(spec: RolloutSpec, study: StudySpec, inputs: Inputs) -> tuple[float, float]:
    if spec.revenue_per_swap is not None:
        rev = spec.revenue_per_swap
    else:
        sold = study.plans[study.economics.operator_plan].build()
        users = [(s.user_segment(), s.vehicles * s.baas_share) for s in study.demand.segments]
        money = sum(n * monthly_cost(sold, u)["total"] for u, n in users)
        swaps = sum(s.vehicles * u.swaps_per_month for (u, _), s in zip(users, study.demand.segments, strict=True))
        rev = money / swaps if swaps > 0 else 0.0
    if spec.cost_per_swap is not None:
        cost = spec.cost_per_swap
    else:
        cost = inputs.design.grid_energy_per_swap_kwh(inputs.pack) * inputs.tariff.mean_price
    return float(rev), float(cost)


def run_rollout(study: StudySpec, inputs: Inputs) -> RolloutOutcome:
    """Plan the rollout of ``study.rollout`` on the study's network, sites and design."""
    spec = study.rollout
    assert spec is not None
    if inputs.demand is None:
        raise StudyError("rollout", "od", 'needs node demand (demand.kind = "segments")')
    service_km = spec.service_km if spec.service_km is not None else study.siting.service_km
    if service_km is None:
        raise StudyError("rollout.service_km", None, "required when [siting] has no service_km")
    scen = _scenarios(spec, study, inputs)
    rev, cost = _margin(spec, study, inputs)
    kw: dict[str, Any] = dict(
        service_km=service_km,
        penalty_per_swap=spec.penalty_per_swap if spec.penalty_per_swap is not None else study.siting.penalty_per_swap,
        revenue_per_swap=rev, cost_per_swap=cost, budget=spec.budget_cny, min_service=spec.min_service,
        first_year=spec.first_year, rate=study.economics.discount_rate,
        options=SolveOptions(time_limit=spec.time_limit, mip_gap=spec.mip_gap),
    )  # fmt: skip
    args = (inputs.network, scen, inputs.sites, inputs.design, inputs.pack)
    if spec.baselines and scen.n_scenarios > 1:
        comp = compare(*args, **kw)
        plan = comp.plan
    else:
        comp, plan = None, plan_rollout(*args, **kw)
    plan.verify()
    return RolloutOutcome(plan, comp, rollout_tables(plan, comp))
