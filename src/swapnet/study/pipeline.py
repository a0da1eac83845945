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
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import numpy as np

from swapnet.assets import BatteryPack, CandidateSites, StationDesign
from swapnet.demand import DailyProfile, NodeDemand
from swapnet.economics import BaaSPlan, OperatorCase, PlanUsers, UserSegment, compare_plans
from swapnet.flows import ODFlows
from swapnet.io import load_network
from swapnet.io.demand_files import DemandFile
from swapnet.io.graphs import NetworkFile
from swapnet.io.sites import SiteFile
from swapnet.network import RoadNetwork
from swapnet.operations import OperationsPlan, TruckFleet, demand_at_stations, plan_operations
from swapnet.optim import SolveOptions
from swapnet.simulation import SimulationOptions, SimulationResult, simulate
from swapnet.siting import (
    flow_capturing,
    flow_refueling,
    max_coverage,
    p_median,
    set_cover,
    size_stations,
)
from swapnet.stations import stations_from_plan
from swapnet.study import own_data
from swapnet.study._schema import DAYS_PER_MONTH, FLOW_MODELS, StudyError
from swapnet.study.flows import flow_station_swaps, flow_tables, od_trips, trip_swaps
from swapnet.study.model import StudySpec
from swapnet.study.notes import notes_table, stage_table
from swapnet.study.result import StudyResult, TripDemand
from swapnet.study.rollout_stage import run_rollout
from swapnet.study.service import ServiceLoop, close_service_loop
from swapnet.study.spec_inputs import DemandSpec
from swapnet.study.stages import Appraisal, Inputs, Sited
from swapnet.study.tables import (
    plan_vs_simulation,
    reach_table,
    routing_table,
    study_tables,
    unique_names,
    unserved_table,
)
from swapnet.synthetic import city_demand, city_grid, service_store_sites
from swapnet.tariff import TouTariff

__all__ = [
    "appraise",
    "build_inputs",
    "operate",
    "run_pipeline",
    "simulate_sited",
    "site",
]


def build_inputs(study: StudySpec) -> Inputs:
    """Stage 1: build the network, demand, candidate sites, pack, design and tariff."""
    net = study.network
    table = None
    nfile: NetworkFile | None = None
    if net.kind == "city_grid":
        network = city_grid(net.rows, net.cols, spacing_km=net.spacing_km, seed=net.seed)
    elif net.path is not None:
        nfile = own_data.load_network(study)
        network = nfile.network
    else:
        assert net.dataset is not None
        network, table = load_network(net.dataset)
        if net.largest_component and not network.is_connected():
            network = network.largest_component()
            if table is not None:  # trips with an end outside the kept component cannot be made
                kept = set(network.labels)
                ok = [k for k, (o, d) in enumerate(zip(table.origins, table.destinations, strict=True))
                      if o in kept and d in kept]  # fmt: skip
                table = ODFlows([table.origins[k] for k in ok], [table.destinations[k] for k in ok], table.volumes[ok])
    dm = study.demand
    pack, design = study.pack.build(), study.design.build()
    tariff = study.tariff.build(own_data.base_dir(study))
    if dm.kind == "file" or study.sites.kind == "file":
        inputs = _own_inputs(study, network, nfile, pack, design, tariff)
    elif dm.kind == "od":
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
    if nfile is not None and inputs.network_file is None:  # OD and synthetic-demand studies on a file network
        inputs = replace(inputs, network_file=nfile)
    return inputs


def _own_inputs(
    study: StudySpec,
    network: RoadNetwork,
    nfile: NetworkFile | None,
    pack: BatteryPack,
    design: StationDesign,
    tariff: TouTariff,
) -> Inputs:
    """Stage 1 with a demand file and/or a sites file (``kind = "file"``)."""
    dm = study.demand
    dfile: DemandFile | None = None
    if dm.kind == "file":
        dfile = own_data.load_demand(study, network, nfile.crs if nfile is not None else None)
        demand = dfile.demand
    else:
        weights = None
        if network.coords is not None:
            w = city_demand(
                network, total_swaps_per_day=1.0, seed=dm.seed, centre_weight=dm.centre_weight, noise=dm.noise
            )
            weights = w.as_dict()
        demand = NodeDemand.from_segments(network, [s.fleet_segment() for s in dm.segments], weights=weights)
    sfile: SiteFile | None = None
    if study.sites.kind == "file":
        sfile = own_data.load_sites(study, network, design.capex_cny, nfile.crs if nfile is not None else None)
        sites = sfile.sites
    elif study.sites.kind == "nodes":
        labels = list(network.labels)
        sites = CandidateSites(labels, labels, design.capex_cny, kind="node")
    else:
        assert study.sites.n is not None
        if study.sites.n > network.n_nodes:
            raise StudyError("sites.n", study.sites.n, f"more sites than network nodes ({network.n_nodes})")
        sites = service_store_sites(network, study.sites.n, seed=study.sites.seed, demand=demand)
    return Inputs(
        network,
        demand,
        sites,
        pack,
        design,
        tariff,
        described=f"{demand.total:,.0f} swaps/day",
        network_file=nfile,
        sites_file=sfile,
        demand_file=dfile,
    )


def solve_options(study: StudySpec) -> SolveOptions:
    """The siting models' solver options (``[solver]``)."""
    sv = study.solver
    return SolveOptions(time_limit=sv.time_limit, mip_gap=sv.mip_gap, threads=sv.threads)


def site(study: StudySpec, inputs: Inputs) -> Sited:
    """Stage 2: solve and verify the siting model; derive the demand at the opened stations."""
    st, dm = study.siting, study.demand
    network, sites, sopts = inputs.network, inputs.sites, solve_options(study)
    fixed = list(inputs.sites_file.existing) if inputs.sites_file is not None else None
    if fixed and st.model in ("size_stations", *FLOW_MODELS):
        raise StudyError(
            "siting.model",
            st.model,
            f"cannot keep the {len(fixed)} existing stations open (sites file column 'existing'); "
            "use p_median, set_cover or max_coverage",
        )
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
            service_level=st.service_level,
            fallback_km=st.fallback_km,
            options=sopts,
        )
    elif st.model == "p_median":
        assert st.p is not None
        siting = p_median(network, None, st.p, demand=inputs.demand, candidates=sites, fixed=fixed, options=sopts)
    elif st.model == "set_cover":
        assert st.service_km is not None
        siting = set_cover(network, st.service_km, demand=inputs.demand, candidates=sites, fixed=fixed, options=sopts)
    elif st.model == "max_coverage":
        assert st.service_km is not None and st.p is not None
        siting = max_coverage(
            network, None, st.service_km, st.p, demand=inputs.demand, candidates=sites, fixed=fixed, options=sopts
        )
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
    stations = stations_from_plan(siting, inputs.design, inputs.pack, nodes=list(site_nodes), candidates=sites)
    if inputs.flows is None:
        assert inputs.demand is not None
        at_stations = demand_at_stations(siting, inputs.demand, nodes=list(site_nodes))
        return Sited(siting, site_nodes, stations, inputs.demand, at_stations, None)
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
    return Sited(siting, site_nodes, stations, at_stations, at_stations, trips)


def operate(study: StudySpec, inputs: Inputs, sited: Sited) -> OperationsPlan:
    """Stage 3: plan and verify one day of operations on the sited stations."""
    op = study.operations
    trucks = TruckFleet(count=op.trucks, capacity=op.truck_capacity, every=op.truck_every) if op.trucks else None
    gap = study.solver.mip_gap if op.mip_gap is None else op.mip_gap
    return plan_operations(
        sited.stations,
        sited.at_stations,
        inputs.tariff,
        periods=op.periods,
        pack=inputs.pack,
        trucks=trucks,
        network=inputs.network if trucks is not None else None,
        lost_penalty=op.lost_penalty,
        options=SolveOptions(time_limit=op.time_limit, mip_gap=gap, threads=op.threads),
    ).verify()


def simulate_sited(study: StudySpec, inputs: Inputs, sited: Sited) -> SimulationResult:
    """Stage 4: simulate the sited stations with the plan's routing (``[simulation] routing = "plan"``:
    each node's drivers split over stations as ``siting.assignment`` says, the demand operations plans
    for) or the nearest station; OD studies: the stations' derived hourly swap rates."""
    sm = study.simulation
    return simulate(
        sited.siting,
        sited.at_stations.hourly() if sited.trips is not None else sited.demand,
        pack=inputs.pack,
        network=inputs.network,
        design=inputs.design,
        candidates=inputs.sites,
        tariff=inputs.tariff,
        options=SimulationOptions(
            days=sm.days,
            replications=sm.replications,
            warmup_days=sm.warmup_days,
            seed=sm.seed,
            charging_policy=sm.charging_policy,
            station_choice="assignment" if sm.routing == "plan" and sited.trips is None else "nearest",
            progress=False,
        ),
    )


def appraise(study: StudySpec, inputs: Inputs, sited: Sited, ops: OperationsPlan) -> Appraisal:
    """Stage 5: compare the BaaS plans and build the operator's business case."""
    ec, dm, design = study.economics, study.demand, inputs.design
    plans = [p.build() for p in study.plans]
    labels_p = unique_names([p.name for p in plans])
    sold = plans[ec.operator_plan]
    users: list[UserSegment]
    kwh = design.grid_energy_per_swap_kwh(inputs.pack)  # the study's pack through the design's charger
    if sited.trips is not None:
        user = replace(dm.user_segment(), kwh_per_swap=kwh)
        users = [user]
        # subscriber-equivalents: the swaps served per month over one subscriber's swaps per month
        equiv = sited.demand.total * DAYS_PER_MONTH / user.swaps_per_month
        subscribers: tuple[PlanUsers, ...] = (PlanUsers(sold, user, dm.baas_share * equiv),)
    elif dm.kind == "file":
        users, subscribers = _file_subscribers(dm, sold, sited.demand, inputs.demand_file)
    else:
        users = [replace(s.user_segment(), kwh_per_swap=kwh) for s in dm.segments]
        subscribers = tuple(
            PlanUsers(sold, u, s.vehicles * s.baas_share) for u, s in zip(users, dm.segments, strict=True)
        )
    comparison = compare_plans(dict(zip(labels_p, plans, strict=True)), users, months=ec.months, rate=ec.rate)
    n_sub = float(sum(u.count for u in subscribers))
    n_st = max(len(sited.stations), 1)
    # the subscribers' packs, spread over the stations (OperatorCase counts packs per station)
    extra = math.ceil(n_sub / n_st - 1e-9) if ec.vehicle_packs else 0
    operator = OperatorCase.from_operations(
        ops,
        sited.stations,
        inputs.pack,
        design=design,
        users=subscribers,
        extra_batteries_per_station=extra,
        degradation_cny_per_kwh=ec.degradation_cny_per_kwh,
        horizon_years=ec.horizon_years,
        discount_rate=ec.discount_rate,
    )
    return Appraisal(comparison, operator, len(plans), len(users), n_sub)


def _file_subscribers(
    dm: DemandSpec, sold: BaaSPlan, demand: NodeDemand, dfile: DemandFile | None
) -> tuple[list[UserSegment], tuple[PlanUsers, ...]]:
    """Users and subscribers of a demand file: its vehicles per segment, else swap-equivalents of ``segment``."""
    if dfile is not None and dfile.vehicles:
        rate = {dm.segment: dm.swaps_per_vehicle_month} if dm.swaps_per_vehicle_month is not None else {}
        users = [getattr(UserSegment, k)(rate[k]) if k in rate else getattr(UserSegment, k)() for k in dfile.vehicles]
        subs = tuple(PlanUsers(sold, u, n * dm.baas_share) for u, n in zip(users, dfile.vehicles.values(), strict=True))
        return users, subs
    user = dm.user_segment()
    equiv = demand.total * DAYS_PER_MONTH / user.swaps_per_month
    return [user], (PlanUsers(sold, user, dm.baas_share * equiv),)


def run_pipeline(study: StudySpec, *, progress: bool) -> StudyResult:
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
    loop: ServiceLoop | None = None
    if study.siting.service_level is not None:
        t = time.perf_counter()
        loop = close_service_loop(study, inputs, sited)
        sited = loop.sited
        timings["service_level"] = time.perf_counter() - t
        last = loop.iterations.iloc[-1]
        say(
            f"[2/6] service level {study.siting.service_level:.3g}: {len(loop.iterations)} rounds, {loop.stopped}; "
            f"all demand served {last['all_demand_service']:.4f} (low {last['all_demand_service_low']:.4f}), "
            f"at stations {last['network_service']:.4f} (low {last['network_service_low']:.4f}), "
            f"lowest station {last['min_station_service']:.4f} ({timings['service_level']:.1f} s)"
        )

    t = time.perf_counter()
    ops = operate(study, inputs, sited)
    timings["operations"] = time.perf_counter() - t
    say(f"[3/6] {ops.summary()}")

    t = time.perf_counter()
    sim = simulate_sited(study, inputs, sited) if loop is None else loop.simulation
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
    if loop is not None:
        tables["service_iterations"] = loop.iterations
    tables["plan_vs_simulation"] = plan_vs_simulation(ops, sim)
    tables["unserved"] = unserved_table(sited, ops, sim)
    if study.siting.model == "size_stations":
        assert study.siting.service_km is not None
        tables["reach"] = reach_table(sited, inputs.network, inputs.sites, study.siting.service_km)
    if sited.trips is None:
        tables["routing"] = routing_table(sited, inputs.network, study.simulation.routing)
    tables["stages"] = stage_table(study, sited, ops, sim, loop)
    tables["notes"] = notes_table(study, inputs, ops, tables.get("reach"))
    for line in tables["notes"]["note"]:
        if str(line).startswith("warning"):
            say(f"      {line}")
    if sited.trips is not None:
        tables = flow_tables(tables, sited.trips, sited.siting)
    rollout = None
    if study.rollout is not None:  # the optional multi-year rollout (swapnet.study.rollout)
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
        **_own_fields(inputs),
        rollout=rollout,
    )


def _own_fields(inputs: Inputs) -> dict[str, Any]:
    """The :class:`StudyResult` fields of own-data inputs (names, snap table, attribution, dropped nodes)."""
    out: dict[str, Any] = {}
    if inputs.sites_file is not None:
        out["site_names"] = MappingProxyType(dict(inputs.sites_file.names))
        out["snap"] = inputs.sites_file.snap
    if inputs.network_file is not None:
        out["attribution"] = inputs.network_file.attribution
        out["dropped_nodes"] = len(inputs.network_file.dropped_nodes)
    return out
