"""``plan_rollout``: open and size swap stations year by year as the fleet grows, under uncertain adoption."""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from swapnet import _validate
from swapnet.assets import BatteryPack, CandidateSites, StationDesign
from swapnet.demand import NodeDemand
from swapnet.errors import InvalidInputError
from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork
from swapnet.optim import SolveOptions
from swapnet.siting._budget import Budget
from swapnet.siting.plan import default_options
from swapnet.siting.rollout.assemble import Inputs, make_plan
from swapnet.siting.rollout.capacity import CapacityRule, LinearCapacity
from swapnet.siting.rollout.instance import RolloutInstance, build_instance
from swapnet.siting.rollout.od import flow_trajectory
from swapnet.siting.rollout.plan import RolloutPlan
from swapnet.siting.rollout.scenarios import Scenario, ScenarioSet
from swapnet.siting.rollout.solve import FloatArray, Solved, solve
from swapnet.siting.sizing import CHARGER_CNY

__all__ = ["plan_rollout", "prepare"]


def prepare(*args: Any, **kwargs: Any) -> tuple[RolloutInstance, Inputs]:
    """Check the arguments of :func:`plan_rollout` (same signature; ``method`` and ``options`` ignored).

    The one place the rollout's arguments are checked (through :mod:`swapnet._validate`), for
    :func:`plan_rollout` and the baselines alike; returns the instance and the inputs kept for
    :meth:`RolloutPlan.verify`.
    """
    try:
        bound = inspect.signature(plan_rollout).bind(*args, **kwargs)
    except TypeError as err:
        raise InvalidInputError("plan_rollout", sorted(kwargs), str(err)) from None
    bound.apply_defaults()
    return _checked(bound.arguments)


def _checked(a: Mapping[str, Any]) -> tuple[RolloutInstance, Inputs]:
    """Validate the bound arguments ``a`` of :func:`plan_rollout` and build the instance."""
    network, candidates, design, pack = a["network"], a["candidates"], a["design"], a["pack"]
    for name, cls in (("network", RoadNetwork), ("candidates", CandidateSites), ("design", StationDesign),
                      ("pack", BatteryPack)):  # fmt: skip
        if not isinstance(a[name], cls):
            raise InvalidInputError(name, type(a[name]).__name__, f"must be a {cls.__name__}")
    v = {f: _validate.non_negative(a[f], f) for f in _NON_NEGATIVE}
    demand = a["demand"]
    if isinstance(demand, Sequence) and demand and all(isinstance(d, ODFlows) for d in demand):
        demand = flow_trajectory(network, demand)  # OD flows per year: swaps at both ends (docs/rollout.md)
    scen = ScenarioSet.of(demand, shared_years=_validate.integer(a["shared_years"], "shared_years", minimum=0))
    rule = a["capacity"] if a["capacity"] is not None else LinearCapacity.from_design(design, pack, v["buffer_hours"])
    if not isinstance(rule, CapacityRule):
        raise InvalidInputError("capacity", type(rule).__name__, "needs the CapacityRule attributes and check()")
    inst = build_instance(
        network, scen, candidates, design, pack, rule, service_km=v["service_km"],
        penalty_per_swap=v["penalty_per_swap"], charger_cost=v["charger_cost"], rate=v["rate"],
        revenue_per_swap=v["revenue_per_swap"], cost_per_swap=v["cost_per_swap"], budget=a["budget"],
        min_service=a["min_service"], first_year=_validate.integer(a["first_year"], "first_year"),
    )  # fmt: skip
    inp = Inputs(network, scen, candidates, design, pack, rule, v["service_km"], v["penalty_per_swap"],
                 v["charger_cost"], v["rate"], v["revenue_per_swap"], v["cost_per_swap"], inst.budget,
                 inst.min_service)  # fmt: skip
    return inst, inp


_NON_NEGATIVE = ("service_km", "penalty_per_swap", "buffer_hours", "charger_cost", "rate", "revenue_per_swap",
                 "cost_per_swap")  # fmt: skip


def plan_rollout(
    network: RoadNetwork,
    demand: ScenarioSet | Scenario | Sequence[Scenario] | Sequence[NodeDemand] | Sequence[ODFlows],
    candidates: CandidateSites,
    design: StationDesign,
    pack: BatteryPack,
    *,
    service_km: float,
    shared_years: int = 1,
    penalty_per_swap: float = 200.0,
    buffer_hours: float = 1.0,
    charger_cost: float = CHARGER_CNY,
    rate: float = 0.08,
    revenue_per_swap: float = 0.0,
    cost_per_swap: float = 0.0,
    budget: float | Sequence[float] | None = None,
    min_service: float | Sequence[float] | None = None,
    capacity: CapacityRule | None = None,
    first_year: int = 1,
    method: str = "auto",
    options: SolveOptions | None = None,
) -> RolloutPlan:
    """Plan a multi-year rollout: which candidates open in which year, with how many batteries and chargers.

    The model (``docs/rollout.md``, :mod:`swapnet.siting.rollout.model`) minimises the expected
    discounted cost — capital annuities of everything bought so far, opex of open stations and the
    penalty for lost swaps, minus the margin of served swaps when ``revenue_per_swap`` is given —
    over years ``1..T`` and the demand scenarios. Stations stay open once opened; batteries and
    chargers are only added. Decisions of years ``1..shared_years`` are shared by every scenario
    (a two-stage stochastic programme; pass a :class:`ScenarioSet` with ``tree=`` for a
    multi-stage tree). With one year and one scenario it is :func:`~swapnet.siting.size_stations`.

    Parameters
    ----------
    network
        Road network (km).
    demand
        One trajectory (a sequence of :class:`~swapnet.demand.NodeDemand`, one per year), one
        :class:`Scenario`, a list of scenarios (probabilities summing to one) or a
        :class:`ScenarioSet` (e.g. from :func:`adoption_scenarios` or the SAA sampler
        :func:`sample_scenarios`). OD flows per year (a sequence of :class:`~swapnet.ODFlows`,
        volumes in swaps per day) are placed half at each end
        (:func:`~swapnet.siting.rollout.flows_to_demand`; other rules through
        :func:`~swapnet.siting.rollout.flow_trajectory`).
    candidates, design, pack
        Candidate sites (fixed cost = site capex, CNY), station design and pack, as in
        :func:`~swapnet.siting.size_stations`.
    service_km
        A node may be served by candidates within this network distance.
    shared_years
        Years whose decisions every scenario shares (ignored for a :class:`ScenarioSet`, which
        carries its tree).
    penalty_per_swap, buffer_hours, charger_cost, rate
        As in :func:`~swapnet.siting.size_stations`; ``rate`` also discounts the years.
    revenue_per_swap, cost_per_swap
        Margin per served swap (CNY): revenue (e.g. a plan's fees per swap from
        :mod:`swapnet.economics`) and variable cost (electricity); with them the objective is
        minus the NPV.
    budget
        Cash capex limit per year (one value for every year or one per year), CNY.
    min_service
        Minimum share of peak-hour swaps served in every scenario, per year (or one value).
    capacity
        Capacity rule: default :class:`LinearCapacity` of ``design`` and ``pack`` (the mean-rate
        rule of ``size_stations``); :class:`ServiceLevelCapacity` for service-level sizing with
        the queueing model of ``size_stations(service_level=...)``.
    first_year
        Label of year 1 (e.g. 2026).
    method
        ``"auto"``, ``"extensive"`` or ``"decompose"`` (see :mod:`swapnet.siting.rollout.solve`).
    options
        Solver options; ``time_limit`` is the budget of the whole call.

    Returns
    -------
    RolloutPlan

    Raises
    ------
    InvalidInputError
        Naming the bad argument.
    InfeasibleError
        When no plan meets the budgets and service targets.
    """
    given = dict(locals())  # the parameters: nothing else is bound yet
    t0 = time.perf_counter()
    inst, inp = _checked(given)
    opts = default_options(options)
    _validate.choice(method, "method", ("auto", "extensive", "decompose"))
    return solve_instance(inst, inp, method, opts, t0)


def solve_instance(
    inst: RolloutInstance,
    inp: Inputs,
    method: str,
    opts: SolveOptions,
    t0: float,
    *,
    first_stages: list[tuple[FloatArray, FloatArray, FloatArray]] | None = None,
    starts: list[Solved] | None = None,
) -> RolloutPlan:
    """Solve a prepared instance (see :func:`plan_rollout`); ``starts``: feasible plans to start from."""
    budget = Budget.of(opts, t0)
    t1 = time.perf_counter()
    sv, stats = solve(inst, method, opts, budget, first_stages, starts)
    k = _shared(inst)
    return make_plan(inst, sv, inp, method=sv.method, build_seconds=t1 - t0, details=stats, shared_years=k)


def _shared(inst: RolloutInstance) -> int:
    k = 0
    while k < inst.T and np.all(inst.node_of[:, k] == inst.node_of[0, k]):
        k += 1
    return k
