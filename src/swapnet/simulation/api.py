"""``simulate``: validate the inputs, route demand to stations, run replications, collect KPIs."""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from swapnet.assets import BatteryPack, CandidateSites, StationDesign
from swapnet.demand import DailyProfile, NodeDemand
from swapnet.errors import InvalidInputError
from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork
from swapnet.operations import OperationsPlan
from swapnet.simulation._limits import check_simulation_size
from swapnet.simulation.engine import ArrivalSource, StationSim, poisson_arrivals, run_replication
from swapnet.simulation.kpis import StationOutcome, measure_station
from swapnet.simulation.options import SimulationOptions
from swapnet.simulation.policies import ChargeCurve, cheapest_hours
from swapnet.simulation.result import KPI_COLUMNS, SimulationResult
from swapnet.simulation.routing import route_demand
from swapnet.simulation.stations import Transfer
from swapnet.simulation.transfers import resolve_moves
from swapnet.siting.plan import SitingPlan
from swapnet.stations import Station, stations_from_plan
from swapnet.tariff import TouTariff

__all__ = ["simulate"]

FloatArray = NDArray[np.float64]

_ARRIVALS, _SWAPS, _UNROUTED = 0, 1, 2


# ------------------------------------------------------------------- stations
def _plan_stations(plan: SitingPlan, design: StationDesign | None, candidates: CandidateSites | None) -> list[Station]:
    if design is None and plan.sized_stations is None:
        raise InvalidInputError("design", None, "simulating a SitingPlan needs the StationDesign of its stations")
    return _check_stations(stations_from_plan(plan, design, candidates=candidates))


def _legacy(
    options: SimulationOptions | None,
    operations: OperationsPlan | None,
    transfers: Sequence[Transfer],
    deprecated: dict[str, Any],
) -> tuple[SimulationOptions, OperationsPlan | None, Sequence[Transfer]]:
    """Resolve the former keywords of :func:`simulate` (each raises a :class:`DeprecationWarning`)."""
    if options is not None and not isinstance(options, SimulationOptions):
        raise InvalidInputError("options", options, "must be a SimulationOptions")
    opts = SimulationOptions() if options is None else options
    if not deprecated:
        return opts, operations, transfers
    names = SimulationOptions.names()
    unknown = [k for k in deprecated if k not in names and k != "rebalancing"]
    if unknown:
        raise TypeError(f"simulate() got an unexpected keyword argument {unknown[0]!r}")
    warnings.warn(
        f"simulate({', '.join(f'{k}=' for k in deprecated)}) is deprecated: pass options=SimulationOptions(...), "
        "operations= (an OperationsPlan) or transfers= (a list of Transfer)",
        DeprecationWarning,
        stacklevel=3,
    )
    reb = deprecated.pop("rebalancing", None)
    if isinstance(reb, OperationsPlan):
        operations = reb
    elif reb is not None:
        try:
            transfers = [*transfers, *reb]
        except TypeError:
            raise InvalidInputError("rebalancing", reb, "must be an OperationsPlan or a list of Transfer") from None
    return replace(opts, **deprecated), operations, transfers


def _check_stations(stations: Sequence[Any]) -> list[Station]:
    out = list(stations)
    if not out:
        raise InvalidInputError("stations", out, "needs at least one station")
    seen: set[Hashable] = set()
    for k, s in enumerate(out):
        if not isinstance(s, Station):
            raise InvalidInputError(f"stations[{k}]", s, "must be a Station (or pass a SitingPlan)")
        if s.hub or s.bays < 1:
            raise InvalidInputError(f"stations[{k}].bays", s.bays, "a simulated station needs at least one swap bay")
        if s.label in seen:
            raise InvalidInputError(f"stations[{k}].label", s.label, "station labels must be unique")
        seen.add(s.label)
    return out


# --------------------------------------------------------------------- progress
class _Progress:
    """A one-line progress bar on standard error, shown once a run has taken half a second."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self.done = 0
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.shown = False

    def step(self, k: int = 1) -> None:
        self.done += k
        if not self.enabled:
            return
        now = time.perf_counter()
        finished = self.done >= self.total
        if now - self.t0 < 0.5 and not self.shown:
            return
        if now - self.last < 0.2 and not finished:
            return
        self.last = now
        self.shown = True
        bar = "#" * int(30 * self.done / self.total)
        sys.stderr.write(f"\rsimulate [{bar:<30}] {self.done}/{self.total} station-replications {now - self.t0:5.1f}s")
        if finished:
            sys.stderr.write("\n")
        sys.stderr.flush()


# ------------------------------------------------------------------------ main
def simulate(
    stations: Sequence[Station] | SitingPlan,
    demand: NodeDemand | ODFlows | ArrayLike,
    *,
    pack: BatteryPack,
    network: RoadNetwork | None = None,
    design: StationDesign | None = None,
    candidates: CandidateSites | None = None,
    tariff: TouTariff | None = None,
    operations: OperationsPlan | None = None,
    transfers: Sequence[Transfer] = (),
    options: SimulationOptions | None = None,
    **deprecated: Any,
) -> SimulationResult:
    """Play stochastic days on a network of swap stations and measure service, inventory and energy.

    Swap requests arrive as Poisson processes with hourly rates; each goes to a station (the nearest
    by travel time, or as the plan assigns it) and queues there first come, first served for a charged
    pack and a bay. Returned packs charge on the station's chargers under a charging policy, and packs
    can be moved between stations by scheduled transfers. See ``docs/simulation.md`` for the model.

    Parameters
    ----------
    stations
        :class:`~swapnet.Station` objects, or a :class:`~swapnet.siting.SitingPlan` turned into
        stations by :func:`~swapnet.stations_from_plan` (a sized plan's batteries, chargers and grid;
        any other plan's ``sites`` built to ``design``, nodes and grid limits from ``candidates``).
    demand
        A :class:`~swapnet.demand.NodeDemand` (Poisson rate at each node and hour =
        ``daily * hourly share``); an array ``(stations, 24)`` of requests per hour arriving directly
        at each station; or :class:`~swapnet.flows.ODFlows` (trips per day, starting by
        ``options.trip_profile``) of vehicles with the pack's ``range_km``: a trip of length ``L``
        needs a swap with probability ``min(L, range) / range`` (remaining range at the start
        uniform), made at the last path node before the range runs out, at the station nearest to
        that node.
    pack
        The battery pack (kWh sets the charging time).
    network
        Road network for travel times (distance / ``speed_kmh``) and nearest stations. Without it,
        node demand must sit at station nodes.
    design
        Station design for unsized plans (bays, charger and grid kW, swap minutes, efficiency).
    candidates
        Candidate sites of a plan: site nodes and per-site grid limits.
    tariff
        Time-of-use tariff for energy costs and the ``"cheapest"`` policy.
    operations
        An :class:`~swapnet.operations.OperationsPlan` to follow: its truck trips move packs (from
        midnight of the first day, the plan's ``days`` repeating until the run ends) and its
        schedule caps each station's charging (policy ``"plan"``, the default with a plan).
    transfers
        Scheduled :class:`Transfer` moves (on top of the plan's trips).
    options
        :class:`SimulationOptions` (days, replications, seed, patience, swap times, charging policy,
        routing, outputs); default ``SimulationOptions()``.
    **deprecated
        The former keywords: each option by name, and ``rebalancing`` (an operations plan or a list
        of transfers). They still work and raise a :class:`DeprecationWarning`.

    Returns
    -------
    SimulationResult

    Raises
    ------
    InvalidInputError
        On negative rates, stations without chargers that receive demand, plan stations or transfers
        that do not match the simulated stations, and other bad arguments.
    """
    t_start = time.perf_counter()
    opts, operations, transfers = _legacy(options, operations, transfers, deprecated)
    if not isinstance(pack, BatteryPack):
        raise InvalidInputError("pack", pack, "must be a BatteryPack")
    plan = stations if isinstance(stations, SitingPlan) else None
    sts = _plan_stations(plan, design, candidates) if plan is not None else _check_stations(stations)  # type: ignore[arg-type]
    days_, reps, warm, seed_ = opts.days, opts.replications, opts.warmup_days, opts.seed
    patience_h = opts.patience_minutes / 60.0
    speed, res, s0, s1, bmin = opts.speed_kmh, opts.reserve, opts.start_soc, opts.end_soc, opts.bin_minutes
    if tariff is not None and not isinstance(tariff, TouTariff):
        raise InvalidInputError("tariff", tariff, "must be a TouTariff")
    swap_kind, samples = opts.swap_kind, opts.swap_samples_h
    m = len(sts)
    total_days = warm + days_
    horizon = 24.0 * total_days
    start_h = 24.0 * warm
    bin_h = bmin / 60.0

    sources, unrouted = route_demand(
        sts, demand, plan=plan, network=network, station_choice=opts.station_choice, speed_kmh=speed,
        range_km=pack.range_km, trip_profile=opts.trip_profile or DailyProfile.urban(),
    )  # fmt: skip
    daily = np.zeros(m)
    for src in sources:
        daily[src.station] += float(src.rates.sum())
    for j, s in enumerate(sts):
        if daily[j] > 0 and s.parallel_charging == 0:
            field = f"stations[{j}].chargers" if s.chargers == 0 else f"stations[{j}].grid_kw"
            value = s.chargers if s.chargers == 0 else s.grid_kw
            raise InvalidInputError(
                field, value, f"station {s.label!r} receives {daily[j]:.4g} swaps/day but cannot charge any pack"
            )
    check_simulation_size(
        requests_per_day=float(daily.sum()), total_days=total_days, stations=m,
        bins=round((horizon - start_h) / bin_h), replications=reps,
    )  # fmt: skip
    moves = resolve_moves(operations, transfers, sts, network, speed, total_days)
    events, plan_kw, period_h = list(moves.events), moves.plan_kw, moves.period_h
    policy = opts.charging_policy
    if policy is None:
        policy = "plan" if plan_kw is not None else "asap"
    if policy == "cheapest" and tariff is None:
        raise InvalidInputError("tariff", None, "the 'cheapest' charging policy needs a tariff")
    if policy == "plan" and plan_kw is None:
        raise InvalidInputError("charging_policy", "plan", "needs operations= an OperationsPlan")
    charge_curve, event_log, progress = opts.charge_curve, opts.event_log, opts.progress

    curves = [
        ChargeCurve.build(pack, s.charger_kw, s.charging_efficiency, start_soc=s0, end_soc=s1, kind=charge_curve)
        for s in sts
    ]
    caps: list[list[int] | None] = []
    cap_period = 1.0
    for j, s in enumerate(sts):
        if policy == "asap":
            caps.append(None)
        elif policy == "cheapest":
            assert tariff is not None
            mask = cheapest_hours(tariff, daily[j], curves[j].duration_h, s.parallel_charging)
            caps.append([s.parallel_charging if ok else 0 for ok in mask.tolist()])
        else:
            assert plan_kw is not None
            kw = plan_kw.get(j)
            cap_period = period_h
            if kw is None:
                caps.append(None)  # a station the schedule does not mention charges as soon as possible
            else:
                caps.append([min(s.parallel_charging, math.ceil(x / s.charger_kw - 1e-9)) for x in kw.tolist()])
    reserves = [math.ceil(res * s.batteries - 1e-9) if policy != "asap" else 0 for s in sts]
    prices = None if tariff is None else np.asarray(tariff.prices, dtype=np.float64)

    by_station: list[list[ArrivalSource]] = [[] for _ in range(m)]
    for src in sources:
        by_station[src.station].append(src)

    bar = _Progress(reps * m, progress)
    rep_rows: list[dict[str, Any]] = []
    net_rows: list[dict[str, Any]] = []
    energy_rows: list[dict[str, Any]] = []
    inv_rows: list[dict[str, Any]] = []
    tr_rows: list[dict[str, Any]] = []
    logs: list[pd.DataFrame] = []
    n_bins = round((horizon - start_h) / bin_h)
    ts_sum = np.zeros((3, m, n_bins))
    periods = tariff.periods if tariff is not None else ("all",) * 24
    period_names = tuple(dict.fromkeys(periods))

    for r in range(reps):
        sims: list[StationSim] = []
        for j, s in enumerate(sts):
            parts = []
            for src in by_station[j]:
                rng = np.random.default_rng(np.random.SeedSequence(seed_, spawn_key=(r, _ARRIVALS, src.key)))
                t = poisson_arrivals(rng, src.rates, total_days) + src.travel_h
                parts.append(t[t < horizon])
            arr = np.sort(np.concatenate(parts)) if parts else np.zeros(0)
            rng = np.random.default_rng(np.random.SeedSequence(seed_, spawn_key=(r, _SWAPS, j)))
            mean_h = s.swap_minutes / 60.0
            if swap_kind == "deterministic":
                dur = np.full(arr.size, mean_h)
            elif swap_kind == "exponential":
                dur = rng.exponential(mean_h, arr.size)
            else:
                assert samples is not None
                dur = rng.choice(samples, arr.size)
            sims.append(
                StationSim(
                    arr, dur, bays=s.bays, batteries=s.batteries, charged=s.charged_at_start,
                    parallel=s.parallel_charging, charge_h=curves[j].duration_h, patience_h=patience_h,
                    caps=caps[j], period_h=cap_period, reserve=reserves[j],
                )
            )  # fmt: skip
        if events:
            moved = run_replication(sims, events, horizon)
            for ev, mv in zip(events, moved, strict=True):
                tr_rows.append({
                    "replication": r, "time_h": ev.time_h, "source": sts[ev.source].label,
                    "target": sts[ev.target].label, "kind": "charged" if ev.kind == 0 else "depleted",
                    "planned": ev.batteries, "moved": mv,
                })  # fmt: skip
        outcomes: list[StationOutcome] = []
        for j, s in enumerate(sts):
            sim = sims[j]
            if not events:
                sim.advance(horizon, drain=True)
            out = measure_station(
                sim, charged0=s.charged_at_start, chargers=s.chargers, curve=curves[j],
                start_h=start_h, horizon_h=horizon, bin_h=bin_h,
            )  # fmt: skip
            outcomes.append(out)
            sc = dict(out.scalars)
            sc["energy_cost_cny"] = float(out.energy_hod @ prices) if prices is not None else float("nan")
            rep_rows.append({"replication": r, "station": s.label, **sc})
            for pname in period_names:
                hrs = np.array([p == pname for p in periods])
                e = float(out.energy_hod[hrs].sum())
                c = float(out.energy_hod[hrs] @ prices[hrs]) if prices is not None else float("nan")
                energy_rows.append({"replication": r, "station": s.label, "period": pname, "energy_kwh": e,
                                    "cost_cny": c})  # fmt: skip
            ts_sum[0, j] += out.charged
            ts_sum[1, j] += out.queue
            ts_sum[2, j] += out.kw
            inv = sim.inventory()
            sent = -sum(x for x in sim.rec.transfer_charged if x < 0) - sum(
                x for x in sim.rec.transfer_depleted if x < 0
            )
            got = sum(x for x in sim.rec.transfer_charged if x > 0) + sum(x for x in sim.rec.transfer_depleted if x > 0)
            inv_rows.append({
                "replication": r, "station": s.label, **inv, "total": sum(inv.values()),
                "batteries": s.batteries + got + inv["arriving"] - sent,
            })  # fmt: skip
            if event_log:
                logs.append(_event_log(r, s.label, sim, curves[j].duration_h))
            bar.step()
        rng = np.random.default_rng(np.random.SeedSequence(seed_, spawn_key=(r, _UNROUTED, 0)))
        no_station = float(rng.poisson(float(unrouted.sum()) * days_)) if unrouted.sum() > 0 else 0.0
        net_rows.append(
            {"replication": r, **_network_row(rep_rows[-m:], outcomes, no_station, [s.bays for s in sts],
                                              [s.chargers for s in sts], horizon - start_h)}
        )  # fmt: skip

    timeseries = _timeseries(ts_sum / reps, sts, start_h, bin_h)
    return SimulationResult(
        stations=tuple(s.label for s in sts),
        days=days_,
        warmup_days=warm,
        replications=reps,
        seed=seed_,
        bin_minutes=bmin,
        replication_kpis=pd.DataFrame(rep_rows, columns=["replication", "station", *KPI_COLUMNS]),
        network_replication_kpis=pd.DataFrame(net_rows, columns=["replication", *KPI_COLUMNS]),
        energy=pd.DataFrame(energy_rows, columns=["replication", "station", "period", "energy_kwh", "cost_cny"]),
        timeseries=timeseries,
        final_inventory=pd.DataFrame(inv_rows),
        transfers=pd.DataFrame(
            tr_rows, columns=["replication", "time_h", "source", "target", "kind", "planned", "moved"]
        ),
        event_log=pd.concat(logs, ignore_index=True) if event_log and logs else None,
        runtime_seconds=time.perf_counter() - t_start,
    )


def _network_row(
    rows: list[dict[str, Any]],
    outcomes: list[StationOutcome],
    no_station: float,
    bays: list[int],
    chargers: list[int],
    span_h: float,
) -> dict[str, Any]:
    def tot(col: str) -> float:
        return float(sum(r[col] for r in rows))

    requests = tot("requests") + no_station
    served = tot("served")
    waits = np.concatenate([o.waits_min for o in outcomes]) if outcomes else np.zeros(0)
    kw = np.sum([o.kw for o in outcomes], axis=0) if outcomes else np.zeros(0)
    bay_busy = sum(r["bay_utilisation"] * b for r, b in zip(rows, bays, strict=True))
    chg = [(r["charger_utilisation"], c) for r, c in zip(rows, chargers, strict=True) if c > 0]
    return {
        "requests": requests,
        "served": served,
        "lost": tot("lost") + no_station,
        "lost_no_battery": tot("lost_no_battery"),
        "lost_no_station": no_station,
        "service_level": served / requests if requests else float("nan"),
        "wait_mean_min": float(waits.mean()) if waits.size else float("nan"),
        "wait_p95_min": float(np.percentile(waits, 95)) if waits.size else float("nan"),
        "bay_utilisation": bay_busy / sum(bays),
        "charger_utilisation": sum(u * c for u, c in chg) / sum(c for _, c in chg) if chg else float("nan"),
        "charged_inventory_mean": tot("charged_inventory_mean"),
        "queue_mean": tot("queue_mean"),
        "energy_kwh": tot("energy_kwh"),
        "energy_cost_cny": tot("energy_cost_cny"),
        "peak_kw": float(np.max(kw)) if np.size(kw) else 0.0,
    }


def _timeseries(mean: FloatArray, sts: list[Station], start_h: float, bin_h: float) -> pd.DataFrame:
    m, nb = mean.shape[1], mean.shape[2]
    t = start_h + np.arange(nb) * bin_h
    return pd.DataFrame(
        {
            "station": np.repeat(np.array([s.label for s in sts], dtype=object), nb),
            "time_h": np.tile(t, m),
            "day": np.tile(np.floor(t / 24.0).astype(np.int64), m),
            "hour": np.tile(np.mod(t, 24.0), m),
            "charged": mean[0].ravel(),
            "queue": mean[1].ravel(),
            "charging_kw": mean[2].ravel(),
        }
    )


def _event_log(rep: int, label: Hashable, sim: StationSim, charge_h: float) -> pd.DataFrame:
    rec = sim.rec
    a = sim.arrivals
    dur = np.asarray(sim.dur, dtype=np.float64)
    sidx = np.asarray(rec.served_idx, dtype=np.int64)
    s = np.asarray(rec.served_start, dtype=np.float64)
    lidx = np.asarray(rec.lost_idx, dtype=np.int64)
    cs = np.asarray(rec.charge_start, dtype=np.float64)
    tt = np.asarray(rec.transfer_time, dtype=np.float64)
    tp = np.asarray(rec.transfer_charged, dtype=np.int64) + np.asarray(rec.transfer_depleted, dtype=np.int64)
    pat = sim.patience_h
    parts = [
        (a, "arrival", np.arange(a.size), np.zeros(a.size, dtype=np.int64)),
        (s, "swap_start", sidx, np.ones(s.size, dtype=np.int64)),
        (s + dur[sidx], "swap_end", sidx, np.ones(s.size, dtype=np.int64)),
        (a[lidx] + pat, "lost", lidx, np.zeros(lidx.size, dtype=np.int64)),
        (cs, "charge_start", np.full(cs.size, -1), np.ones(cs.size, dtype=np.int64)),
        (cs + charge_h, "charge_end", np.full(cs.size, -1), np.ones(cs.size, dtype=np.int64)),
        (tt, "transfer", np.full(tt.size, -1), tp),
    ]
    df = pd.DataFrame(
        {
            "replication": rep,
            "station": [label] * sum(p[0].size for p in parts),
            "time_h": np.concatenate([p[0] for p in parts]),
            "event": np.concatenate([np.full(p[0].size, p[1], dtype=object) for p in parts]),
            "driver": np.concatenate([p[2] for p in parts]).astype(np.int64),
            "packs": np.concatenate([p[3] for p in parts]),
        }
    )
    return df.sort_values("time_h", kind="stable").reset_index(drop=True)
