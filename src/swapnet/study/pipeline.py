"""The study pipeline: five stages, each a function of the study and the earlier stages' typed output.

1. :func:`build_inputs` -- network, demand, candidate sites, pack, design, tariff (:class:`Inputs`);
2. :func:`site` -- the verified siting plan and the demand at its stations (:class:`Sited`);
3. :func:`operate` -- the verified operations plan of one day on the sited stations;
4. :func:`simulate_sited` -- the simulation of the sited stations;
5. :func:`appraise` -- plan comparison and the operator's business case (:class:`Appraisal`).

:func:`run_pipeline` chains them, times them and assembles the :class:`~swapnet.study.StudyResult`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from swapnet.assets import BatteryPack, CandidateSites, StationDesign
from swapnet.demand import DailyProfile, NodeDemand
from swapnet.economics import OperatorCase, PlanUsers, UserSegment, compare_plans
from swapnet.flows import ODFlows
from swapnet.io import load_network
from swapnet.network import RoadNetwork
from swapnet.operations import OperationsPlan, TruckFleet, demand_at_stations, plan_operations, stations_from_plan
from swapnet.optim import SolveOptions
from swapnet.simulation import SimulationResult, simulate
from swapnet.siting import SitingPlan, flow_capturing, flow_refueling, p_median, size_stations
from swapnet.study._schema import DAYS_PER_MONTH, StudyError
from swapnet.study.flows import flow_station_swaps, flow_tables, od_trips, trip_swaps
from swapnet.study.result import StudyResult, TripDemand
from swapnet.study.tables import study_tables, unique_names
from swapnet.synthetic import city_demand, city_grid, service_store_sites
from swapnet.tariff import TouTariff

if TYPE_CHECKING:
    from swapnet.study.spec import Study

__all__ = [
    "Appraisal",
    "Inputs",
    "Sited",
    "appraise",
    "build_inputs",
    "operate",
    "run_pipeline",
    "simulate_sited",
    "site",
]


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


@dataclass(frozen=True, eq=False)
class Sited:
    """Stage 2's output: the verified plan, its station nodes and the demand the stations see."""

    siting: SitingPlan
    site_nodes: tuple[Hashable, ...]
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


def build_inputs(study: Study) -> Inputs:
    """Stage 1: build the network, demand, candidate sites, pack, design and tariff."""
    net = study.network
    table = None
    if net.kind == "city_grid":
        network = city_grid(net.rows, net.cols, spacing_km=net.spacing_km, seed=net.seed)
    else:
        assert net.dataset is not None
        network, table = load_network(net.dataset)
    dm = study.demand
    pack, design, tariff = study.pack.build(), study.design.build(), study.tariff.build()
    if dm.kind == "od":
        flows, lengths, all_trips, short_trips = od_trips(study, network, table)
        if len(flows) == 0:
            raise StudyError("demand.min_trip_km", dm.min_trip_km, "no trip left to serve (all shorter or unreachable)")
        labels = list(network.labels)
        sites = CandidateSites(labels, labels, design.capex_cny, kind="node")
        what = f"{len(flows):,} OD flows, {flows.total:,.0f} swap-seeking EV trips/day"
        inputs = Inputs(network, None, sites, pack, design, tariff, flows, lengths, all_trips, short_trips, what)
    else:
        segments = [s.fleet_segment() for s in dm.segments]
        weights = None
        if network.coords is not None:
            w = city_demand(
                network, total_swaps_per_day=1.0, seed=dm.seed, centre_weight=dm.centre_weight, noise=dm.noise
            )
            weights = w.as_dict()
        demand = NodeDemand.from_segments(network, segments, weights=weights)
        if study.sites.kind == "nodes":
            labels = list(network.labels)
            sites = CandidateSites(labels, labels, design.capex_cny, kind="node")
        else:
            n_sites = study.sites.n
            assert n_sites is not None
            if n_sites > network.n_nodes:
                raise StudyError("sites.n", n_sites, f"more sites than network nodes ({network.n_nodes})")
            sites = service_store_sites(network, n_sites, seed=study.sites.seed, demand=demand)
        inputs = Inputs(network, demand, sites, pack, design, tariff, described=f"{demand.total:,.0f} swaps/day")
    st = study.siting
    if st.p is not None and st.p > len(inputs.sites):
        raise StudyError("siting.p", st.p, f"more stations than candidate sites ({len(inputs.sites)})")
    return inputs


def solve_options(study: Study) -> SolveOptions:
    """The siting models' solver options (``[solver]``)."""
    return SolveOptions(time_limit=study.solver.time_limit, mip_gap=study.solver.mip_gap)


def site(study: Study, inputs: Inputs) -> Sited:
    """Stage 2: solve and verify the siting model; derive the demand at the opened stations."""
    st, dm = study.siting, study.demand
    network, sites, sopts = inputs.network, inputs.sites, solve_options(study)
    if st.model == "size_stations":
        assert st.service_km is not None and inputs.demand is not None
        siting = size_stations(
            network,
            inputs.demand,
            sites,
            inputs.design,
            inputs.pack,
            service_km=st.service_km,
            penalty_per_swap=st.penalty_per_swap,
            max_stations=st.max_stations,
            options=sopts,
        )
    elif st.model == "p_median":
        assert st.p is not None
        siting = p_median(network, None, st.p, demand=inputs.demand, candidates=sites, options=sopts)
    elif st.model == "flow_refueling":
        assert st.range_km is not None and inputs.flows is not None
        siting = flow_refueling(
            network, inputs.flows, st.range_km, st.p, candidates=list(sites.nodes), options=sopts, method=st.method
        )
    else:
        assert inputs.flows is not None
        siting = flow_capturing(
            network, inputs.flows, st.p, candidates=list(sites.nodes), options=sopts, method=st.method
        )
    siting = siting.verify()
    node_of = dict(zip(sites.labels, sites.nodes, strict=True))
    site_nodes = tuple(node_of[s] for s in siting.sites)
    if inputs.flows is None:
        assert inputs.demand is not None
        at_stations = demand_at_stations(siting, inputs.demand, nodes=list(site_nodes))
        return Sited(siting, site_nodes, inputs.demand, at_stations, None)
    assert inputs.lengths is not None
    s_q = trip_swaps(inputs.lengths, range_km=st.range_km, swaps_per_trip=dm.swaps_per_trip)
    table_sw = flow_station_swaps(siting, s_q, site_nodes)
    trips = TripDemand(
        inputs.flows, inputs.lengths, inputs.all_trips_per_day, inputs.short_trips_per_day, s_q, table_sw
    )
    if table_sw.attrs["swaps"] <= 0:
        bad = ("siting.range_km", st.range_km) if st.range_km is not None else ("siting.p", st.p)
        raise StudyError(bad[0], bad[1], "no trip can be refuelled by the stations; nothing to operate")
    profile = getattr(DailyProfile, dm.profile)()
    at_stations = NodeDemand(site_nodes, table_sw["swaps_per_day"].to_numpy(dtype=np.float64), profile)
    return Sited(siting, site_nodes, at_stations, at_stations, trips)


def operate(study: Study, inputs: Inputs, sited: Sited) -> OperationsPlan:
    """Stage 3: plan and verify one day of operations on the sited stations."""
    op = study.operations
    stations = stations_from_plan(sited.siting, inputs.design, nodes=list(sited.site_nodes))
    trucks = TruckFleet(count=op.trucks, capacity=op.truck_capacity, every=op.truck_every) if op.trucks else None
    gap = study.solver.mip_gap if op.mip_gap is None else op.mip_gap
    return plan_operations(
        stations,
        sited.at_stations,
        inputs.tariff,
        periods=op.periods,
        pack=inputs.pack,
        trucks=trucks,
        network=inputs.network if trucks is not None else None,
        lost_penalty=op.lost_penalty,
        options=SolveOptions(time_limit=op.time_limit, mip_gap=gap),
    ).verify()


def simulate_sited(study: Study, inputs: Inputs, sited: Sited) -> SimulationResult:
    """Stage 4: simulate the sited stations (OD studies: the stations' derived hourly swap rates)."""
    sm = study.simulation
    return simulate(
        sited.siting,
        sited.at_stations.hourly() if sited.trips is not None else sited.demand,
        pack=inputs.pack,
        network=inputs.network,
        design=inputs.design,
        candidates=inputs.sites,
        tariff=inputs.tariff,
        days=sm.days,
        replications=sm.replications,
        warmup_days=sm.warmup_days,
        seed=sm.seed,
        charging_policy=sm.charging_policy,
        progress=False,
    )


def appraise(study: Study, inputs: Inputs, sited: Sited, ops: OperationsPlan) -> Appraisal:
    """Stage 5: compare the BaaS plans and build the operator's business case."""
    ec, dm, design, siting = study.economics, study.demand, inputs.design, sited.siting
    plans = [p.build() for p in study.plans]
    labels_p = unique_names([p.name for p in plans])
    sold = plans[ec.operator_plan]
    users: list[UserSegment]
    if sited.trips is not None:
        user = dm.user_segment()
        users = [user]
        # subscriber-equivalents: the swaps served per month over one subscriber's swaps per month
        equiv = sited.demand.total * DAYS_PER_MONTH / user.swaps_per_month
        subscribers: tuple[PlanUsers, ...] = (PlanUsers(sold, user, dm.baas_share * equiv),)
    else:
        users = [s.user_segment() for s in dm.segments]
        subscribers = tuple(
            PlanUsers(sold, u, s.vehicles * s.baas_share) for u, s in zip(users, dm.segments, strict=True)
        )
    comparison = compare_plans(dict(zip(labels_p, plans, strict=True)), users, months=ec.months, rate=ec.rate)
    sized = siting.details.get("stations")
    if sized is not None and len(sized):
        batteries = round(float(np.mean(sized["batteries"].to_numpy(dtype=float))))
    else:
        batteries = design.batteries
    n_sub = float(sum(u.count for u in subscribers))
    n_st = max(len(siting.sites), 1)
    if ec.vehicle_packs:  # the subscribers' packs, spread over the stations (OperatorCase counts packs per station)
        batteries += math.ceil(n_sub / n_st - 1e-9)
    operator = OperatorCase(
        stations=n_st,
        capex_per_station_cny=design.capex_cny,
        batteries_per_station=int(batteries),
        pack_cost_cny=inputs.pack.cost_cny,
        opex_per_station_cny_per_year=design.opex_cny_per_year,
        electricity_cny_per_year=ops,
        users=subscribers,
        degradation_cny_per_kwh=ec.degradation_cny_per_kwh,
        horizon_years=ec.horizon_years,
        discount_rate=ec.discount_rate,
    )
    return Appraisal(comparison, operator, len(plans), len(users), n_sub)


def run_pipeline(study: Study, *, progress: bool) -> StudyResult:
    """Run the five stages, printing one line per stage when ``progress``."""
    timings: dict[str, float] = {}

    def say(msg: str) -> None:
        if progress:
            print(msg, flush=True)

    t = time.perf_counter()
    inputs = build_inputs(study)
    timings["inputs"] = time.perf_counter() - t
    say(
        f"[1/6] inputs: {inputs.network.n_nodes} nodes, {inputs.described}, {len(inputs.sites)} candidate sites "
        f"({timings['inputs']:.1f} s)"
    )

    t = time.perf_counter()
    sited = site(study, inputs)
    timings["siting"] = time.perf_counter() - t
    extra = ""
    if sited.trips is not None:
        trips = sited.trips
        extra = (
            f"; {trips.refuelled_trips_per_day:,.0f} of {trips.trips_per_day:,.0f} trips/day refuelled "
            f"({trips.refuelled_trips_per_day / trips.trips_per_day:.1%}), {sited.demand.total:,.0f} swaps/day"
        )
    say(f"[2/6] {sited.siting.summary()}{extra}")

    t = time.perf_counter()
    ops = operate(study, inputs, sited)
    timings["operations"] = time.perf_counter() - t
    say(f"[3/6] {ops.summary()}")

    t = time.perf_counter()
    sim = simulate_sited(study, inputs, sited)
    timings["simulation"] = time.perf_counter() - t
    say(f"[4/6] simulation: {sim.summary()}")

    t = time.perf_counter()
    econ = appraise(study, inputs, sited, ops)
    timings["economics"] = time.perf_counter() - t
    summ = econ.operator.summary()
    say(
        f"[5/6] economics: {econ.plans} plans x {econ.segments} segments; {econ.subscribers:,.0f} subscribers; "
        f"operator NPV {summ['npv']:,.0f} CNY, IRR {summ['irr']:.1%} ({timings['economics']:.1f} s)"
    )
    tables = study_tables(sited.siting, ops, sim, econ.comparison, econ.operator)
    if sited.trips is not None:
        tables = flow_tables(tables, sited.trips, sited.siting)
    rollout = None
    if study.rollout is not None:  # the optional multi-year rollout (swapnet.study.rollout)
        from swapnet.study.rollout import run_rollout

        t = time.perf_counter()
        rollout = run_rollout(study, inputs)
        timings["rollout"] = time.perf_counter() - t
        tables = {**tables, **rollout.tables}
        say(f"[+] {rollout.plan.summary()} ({timings['rollout']:.1f} s)")
    return StudyResult(
        study=study,
        network=inputs.network,
        demand=sited.demand,
        sites=inputs.sites,
        pack=inputs.pack,
        design=inputs.design,
        tariff=inputs.tariff,
        siting=sited.siting,
        site_nodes=sited.site_nodes,
        operations=ops,
        simulation=sim,
        operator=econ.operator,
        tables=MappingProxyType(tables),
        timings=MappingProxyType(timings),
        trips=sited.trips,
        rollout=rollout,
    )
