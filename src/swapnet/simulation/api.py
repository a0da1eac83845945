"""``simulate``: validate the inputs, route demand to stations, run replications, collect KPIs."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from swapnet.assets import BatteryPack, CandidateSites, StationDesign
from swapnet.demand import DailyProfile, NodeDemand
from swapnet.errors import InvalidInputError
from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork
from swapnet.simulation.engine import ArrivalSource, StationSim, TransferEvent, poisson_arrivals, run_replication
from swapnet.simulation.kpis import StationOutcome, measure_station
from swapnet.simulation.policies import ChargeCurve, cheapest_hours
from swapnet.simulation.result import KPI_COLUMNS, SimulationResult
from swapnet.simulation.stations import Transfer
from swapnet.siting.plan import SitingPlan
from swapnet.stations import Station, stations_from_plan
from swapnet.tariff import TouTariff

__all__ = ["simulate"]

FloatArray = NDArray[np.float64]

_ARRIVALS, _SWAPS, _UNROUTED = 0, 1, 2


# ------------------------------------------------------------------ validation
def _int_arg(value: object, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(field, value, f"must be an integer >= {minimum}")
    if int(value) < minimum:
        raise InvalidInputError(field, value, f"must be an integer >= {minimum}")
    return int(value)


def _float_arg(value: object, field: str, *, lo: float = 0.0, positive: bool = False) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(field, value, "must be a number") from None
    if not math.isfinite(v) or v < lo or (positive and v <= 0):
        raise InvalidInputError(field, value, "must be finite and " + ("positive" if positive else f">= {lo:g}"))
    return v


def _swap_sampler(swap_time: str | ArrayLike) -> tuple[str, FloatArray | None]:
    if isinstance(swap_time, str):
        if swap_time not in ("deterministic", "exponential"):
            raise InvalidInputError("swap_time", swap_time, "must be 'deterministic', 'exponential' or samples")
        return swap_time, None
    try:
        x = np.asarray(swap_time, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InvalidInputError("swap_time", swap_time, "empirical swap times must be numbers (minutes)") from None
    if x.size == 0 or not np.isfinite(x).all() or (x <= 0).any():
        raise InvalidInputError("swap_time", swap_time, "empirical swap times must be positive, finite minutes")
    return "empirical", x / 60.0


# ------------------------------------------------------------------- stations
def _plan_stations(plan: SitingPlan, design: StationDesign | None, candidates: CandidateSites | None) -> list[Station]:
    if design is None and plan.sized_stations is None:
        raise InvalidInputError("design", None, "simulating a SitingPlan needs the StationDesign of its stations")
    return _check_stations(stations_from_plan(plan, design, candidates=candidates))


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


# --------------------------------------------------------------------- routing
def _route(
    stations: list[Station],
    demand: NodeDemand | ODFlows | ArrayLike,
    *,
    plan: SitingPlan | None,
    network: RoadNetwork | None,
    station_choice: str,
    speed_kmh: float,
    range_km: float,
    trip_profile: DailyProfile,
) -> tuple[list[ArrivalSource], FloatArray]:
    """Arrival sources per station and the ``(24,)`` hourly rate of requests with no station."""
    m = len(stations)
    unrouted = np.zeros(24)
    if isinstance(demand, ODFlows):
        if station_choice != "nearest":
            raise InvalidInputError("station_choice", station_choice, "OD-flow demand is routed to the nearest station")
        if network is None:
            raise InvalidInputError("network", None, "OD-flow demand needs the road network of its paths")
        return _route_flows(stations, demand, network, range_km, trip_profile, speed_kmh)
    if not isinstance(demand, NodeDemand):
        try:
            r = np.asarray(demand, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInputError("demand", demand, "must be a NodeDemand or an array of swaps per hour") from None
        if r.shape != (m, 24):
            raise InvalidInputError("demand", r.shape, f"a rate array needs shape (stations, 24) = ({m}, 24)")
        bad = ~np.isfinite(r) | (r < 0)
        if bad.any():
            i, h = (int(x) for x in np.argwhere(bad)[0])
            raise InvalidInputError(f"demand[{i}, {h}]", float(r[i, h]), "rates must be finite and non-negative")
        return [ArrivalSource(k, r[k].copy(), 0.0, k) for k in range(m)], unrouted
    hourly = demand.hourly()
    n = len(demand)
    labels = [s.label for s in stations]
    snodes = [s.node for s in stations]
    if network is not None:
        demand.check(network)
        network.index_of(snodes, field="stations.node")
        dist = network.distances(demand.nodes, snodes)
    else:
        dist = np.full((n, m), np.inf)
        first: dict[Hashable, int] = {}
        for j, nd in enumerate(snodes):
            first.setdefault(nd, j)
        for i, nd in enumerate(demand.nodes):
            if nd in first:
                dist[i, first[nd]] = 0.0
    share = np.zeros((n, m))
    if station_choice == "nearest":
        for i in range(n):
            row = dist[i]
            if np.isfinite(row).any():
                share[i, int(np.argmin(row))] = 1.0
            elif network is None and demand.daily[i] > 0:
                raise InvalidInputError(
                    "network",
                    None,
                    f"demand node {demand.nodes[i]!r} is not a station node; give a network to route it",
                )
    elif station_choice == "assignment":
        if plan is None:
            raise InvalidInputError("station_choice", station_choice, "'assignment' needs a SitingPlan")
        a = plan.assignment
        if not {"demand", "site"} <= set(a.columns):
            raise InvalidInputError("plan.assignment", list(a.columns), "needs columns demand and site")
        dpos: dict[Hashable, int] = {}
        for i, nd in enumerate(demand.nodes):
            dpos.setdefault(nd, i)
        spos = {lab: j for j, lab in enumerate(labels)}
        w = a["swaps_per_hour"].to_numpy(dtype=np.float64) if "swaps_per_hour" in a.columns else np.ones(len(a))
        weights = np.zeros((n, m + 1))
        for d, s, wk in zip(a["demand"].tolist(), a["site"].tolist(), w.tolist(), strict=True):
            if d not in dpos:
                continue  # the plan may list demand points that this NodeDemand does not have
            if s is None or (isinstance(s, float) and math.isnan(s)):
                weights[dpos[d], m] += wk
            elif s in spos:
                weights[dpos[d], spos[s]] += wk
            else:
                raise InvalidInputError("plan.assignment", s, "assigned to a site that is not a simulated station")
        tot = weights.sum(axis=1)
        for i in range(n):
            if tot[i] <= 0 and demand.daily[i] > 0:
                raise InvalidInputError("demand", demand.nodes[i], "demand node not in the plan's assignment")
        share = np.where(tot[:, None] > 0, weights[:, :m] / np.maximum(tot, 1e-300)[:, None], 0.0)
        dist = np.where(np.isfinite(dist), dist, 0.0) if network is None else dist
    else:
        raise InvalidInputError("station_choice", station_choice, "must be 'nearest' or 'assignment'")
    sources: list[ArrivalSource] = []
    key = 0
    for i in range(n):
        for j in np.flatnonzero(share[i] > 0).tolist():
            d = float(dist[i, j])
            travel = d / speed_kmh if math.isfinite(d) else 0.0
            sources.append(ArrivalSource(j, hourly[i] * share[i, j], travel, key))
            key += 1
        unrouted += hourly[i] * (1.0 - share[i].sum())
    return sources, np.maximum(unrouted, 0.0)


def _route_flows(
    stations: list[Station],
    flows: ODFlows,
    network: RoadNetwork,
    range_km: float,
    profile: DailyProfile,
    speed_kmh: float,
) -> tuple[list[ArrivalSource], FloatArray]:
    """Swap requests of vehicles driving OD trips (see the ``demand`` parameter of :func:`simulate`).

    A trip of length ``L`` starts with a remaining range uniform on ``(0, range_km)``; it needs a swap
    when that range ``x`` is below ``L`` and the driver swaps at the last path node reached before
    ``x``, at the station nearest to that node. Node ``k`` of a path (``c_k`` km from the origin) thus
    sends ``volume * share_h * (min(c_{k+1}, L') - min(c_k, L')) / range_km`` requests per hour,
    ``L' = min(L, range_km)``, arriving ``(c_k + d(k, station)) / speed_kmh`` hours after the trip starts.
    """
    snodes = [s.node for s in stations]
    network.index_of(snodes, field="stations.node")
    paths = flows.path_indices(network)
    touched = np.unique(np.concatenate(paths)) if paths else np.zeros(0, dtype=np.int64)
    pos = {int(v): i for i, v in enumerate(touched.tolist())}
    dist = network.distances([network.label(int(v)) for v in touched], snodes) if touched.size else np.zeros((0, 0))
    nearest = np.argmin(dist, axis=1) if touched.size else np.zeros(0, dtype=np.int64)
    near_d = dist[np.arange(touched.size), nearest] if touched.size else np.zeros(0)
    shares = np.asarray(profile.shares, dtype=np.float64)
    acc: dict[tuple[int, int], float] = {}
    unrouted = 0.0
    for path, vol in zip(paths, flows.volumes.tolist(), strict=True):
        if vol <= 0 or path.size < 2:
            continue
        seg = network.edge_lengths(path[:-1], path[1:])
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        reach = min(float(cum[-1]), range_km)
        mass = np.diff(np.minimum(cum, reach)) / range_km  # swap probability at nodes 0..K-1
        for k in np.flatnonzero(mass > 0).tolist():
            i = pos[int(path[k])]
            w = vol * float(mass[k])
            if not math.isfinite(float(near_d[i])):
                unrouted += w
                continue
            delay = round((float(cum[k]) + float(near_d[i])) / speed_kmh * 3600.0)  # seconds
            key = (int(nearest[i]), delay)
            acc[key] = acc.get(key, 0.0) + w
    sources = [ArrivalSource(j, shares * w, delay / 3600.0, n) for n, ((j, delay), w) in enumerate(sorted(acc.items()))]
    return sources, shares * unrouted


# ------------------------------------------------------------------ rebalancing
def _resolve_transfers(
    rebalancing: Any,
    stations: list[Station],
    network: RoadNetwork | None,
    speed_kmh: float,
    total_days: int,
) -> tuple[list[TransferEvent], dict[int, FloatArray] | None, float]:
    """Transfers in absolute time and, for an operations plan with a schedule, charging kW per station/period."""
    pos = {s.label: j for j, s in enumerate(stations)}
    horizon = 24.0 * total_days

    def travel(a: int, b: int, minutes: float | None) -> float:
        if minutes is not None:
            return minutes / 60.0
        if network is None:
            return 0.0
        d = float(network.distances([stations[a].node], [stations[b].node])[0, 0])
        if not math.isfinite(d):
            raise InvalidInputError("rebalancing", (stations[a].label, stations[b].label), "stations not connected")
        return d / speed_kmh

    def index(lab: Hashable, field: str) -> int:
        if lab not in pos:
            raise InvalidInputError(field, lab, "not a simulated station")
        return pos[lab]

    events: list[TransferEvent] = []
    if rebalancing is None:
        return events, None, 1.0
    if hasattr(rebalancing, "trips") or hasattr(rebalancing, "schedule"):
        trips = getattr(rebalancing, "trips", None)
        schedule = getattr(rebalancing, "schedule", None)
        ppd = _periods_per_day(rebalancing, schedule)
        period_h = 24.0 / ppd
        length = ppd
        for df in (trips, schedule):
            if isinstance(df, pd.DataFrame) and len(df) and "period" in df.columns:
                top = int(df["period"].max()) + 1
                length = max(length, -(-top // ppd) * ppd)
        if isinstance(trips, pd.DataFrame) and len(trips):
            for p, a, b, nbat, kind, tt in _plan_moves(trips, index, travel, period_h):
                t0 = p * period_h
                while t0 < horizon:
                    events.append(TransferEvent(t0, a, b, nbat, kind, tt))
                    t0 += length * period_h
        caps: dict[int, FloatArray] | None = None
        if isinstance(schedule, pd.DataFrame) and len(schedule):
            kwcol = next((c for c in ("charging_kw", "kw") if c in schedule.columns), None)
            if kwcol is None or not {"station", "period"} <= set(schedule.columns):
                raise InvalidInputError(
                    "rebalancing.schedule", list(schedule.columns), "needs columns station, period, charging_kw"
                )
            caps = {}
            for lab, p, kw in zip(
                schedule["station"].tolist(), schedule["period"].tolist(), schedule[kwcol].tolist(), strict=True
            ):
                j = index(lab, "rebalancing.schedule.station")
                arr = caps.setdefault(j, np.zeros(length))
                arr[int(p)] += float(kw)
        events.sort(key=lambda e: e.time_h)
        return events, caps, period_h
    try:
        items = list(rebalancing)
    except TypeError:
        raise InvalidInputError(
            "rebalancing", rebalancing, "must be a list of Transfer or an object with trips/schedule DataFrames"
        ) from None
    for k, tr in enumerate(items):
        if not isinstance(tr, Transfer):
            raise InvalidInputError(f"rebalancing[{k}]", tr, "must be a Transfer")
        a, b = index(tr.source, f"rebalancing[{k}].source"), index(tr.target, f"rebalancing[{k}].target")
        tt = travel(a, b, tr.travel_minutes)
        kind = 0 if tr.kind == "charged" else 1
        if tr.daily:
            for day in range(total_days):
                events.append(TransferEvent(day * 24.0 + tr.hour, a, b, tr.batteries, kind, tt))
        elif tr.hour < horizon:
            events.append(TransferEvent(tr.hour, a, b, tr.batteries, kind, tt))
    events.sort(key=lambda e: e.time_h)
    return events, None, 1.0


def _periods_per_day(plan: Any, schedule: Any) -> int:
    """Periods per day of an operations plan: ``periods_per_day``, ``24 / period_hours``, the schedule's
    ``hour`` column (start hour of periods 0 and 1), else 24."""
    ppd = getattr(plan, "periods_per_day", None)
    if ppd is None and getattr(plan, "period_hours", None) is not None:
        ppd = round(24.0 / float(plan.period_hours))
    if ppd is None and isinstance(schedule, pd.DataFrame) and {"period", "hour"} <= set(schedule.columns):
        first = schedule.drop_duplicates("period").set_index("period")["hour"]
        if 0 in first.index and 1 in first.index:
            dt = (float(first.loc[1]) - float(first.loc[0])) % 24.0
            if dt > 0:
                ppd = round(24.0 / dt)
    ppd = 24 if ppd is None else ppd
    if isinstance(ppd, bool) or not isinstance(ppd, (int, np.integer)) or ppd <= 0 or (24 * 3600) % int(ppd):
        raise InvalidInputError("rebalancing.periods_per_day", ppd, "must divide the day into whole seconds")
    return int(ppd)


def _plan_moves(
    trips: pd.DataFrame, index: Any, travel: Any, period_h: float
) -> list[tuple[float, int, int, int, int, float]]:
    """Moves ``(period, source, target, packs, kind, travel_h)`` from an operations plan's ``trips``.

    Two layouts are read: ``batteries`` (+ optional ``kind``) per row, travel time from the network; or
    ``charged``/``depleted`` carried out at ``period`` and arriving in period ``arrival``, with
    optional ``charged_back``/``depleted_back`` carried back from ``arrival`` to ``return``.
    """
    cols = set(trips.columns)
    if not {"from", "to", "period"} <= cols:
        raise InvalidInputError("rebalancing.trips", sorted(cols), "needs columns from, to, period")
    out: list[tuple[float, int, int, int, int, float]] = []
    rows = trips.to_dict("records")
    if "batteries" in cols:
        for row in rows:
            kd = row.get("kind", "charged")
            if kd not in ("charged", "depleted"):
                raise InvalidInputError("rebalancing.trips.kind", kd, "must be 'charged' or 'depleted'")
            a, b = index(row["from"], "rebalancing.trips.from"), index(row["to"], "rebalancing.trips.to")
            n = round(float(row["batteries"]))
            if n > 0:
                out.append((float(row["period"]), a, b, n, 0 if kd == "charged" else 1, travel(a, b, None)))
        return out
    if not {"charged", "depleted"} <= cols:
        raise InvalidInputError(
            "rebalancing.trips", sorted(cols), "needs a batteries column or charged and depleted columns"
        )
    for row in rows:
        a, b = index(row["from"], "rebalancing.trips.from"), index(row["to"], "rebalancing.trips.to")
        p = float(row["period"])
        arr = float(row["arrival"]) if "arrival" in cols else None
        go = (arr - p) * period_h if arr is not None else travel(a, b, None)
        for kind, col in ((0, "charged"), (1, "depleted")):
            n = round(float(row[col]))
            if n > 0:
                out.append((p, a, b, n, kind, go))
        if arr is None:
            continue
        ret = float(row["return"]) if "return" in cols else arr + (arr - p)
        for kind, col in ((0, "charged_back"), (1, "depleted_back")):
            n = round(float(row.get(col, 0.0)))
            if n > 0:
                out.append((arr, b, a, n, kind, (ret - arr) * period_h))
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
    days: int = 1,
    replications: int = 10,
    warmup_days: int = 0,
    seed: int = 0,
    patience_minutes: float = 0.0,
    swap_time: str | ArrayLike = "deterministic",
    charging_policy: str | None = None,
    reserve: float = 0.25,
    charge_curve: str = "constant",
    start_soc: float = 0.2,
    end_soc: float = 1.0,
    station_choice: str = "nearest",
    speed_kmh: float = 30.0,
    trip_profile: DailyProfile | None = None,
    rebalancing: Sequence[Transfer] | Any | None = None,
    bin_minutes: int = 60,
    event_log: bool = False,
    progress: bool = True,
) -> SimulationResult:
    """Play stochastic days on a network of swap stations and measure service, inventory and energy.

    Swap requests arrive as Poisson processes with hourly rates; each goes to a station (the nearest
    by travel time, or as the plan assigns it) and queues there first come, first served for a charged
    pack and a bay. Returned packs charge on the station's chargers under a charging policy, and packs
    can be moved between stations by scheduled transfers. See ``docs/simulation.md`` for the model.

    Parameters
    ----------
    stations
        :class:`Station` objects, or a :class:`~swapnet.siting.SitingPlan`: a sized plan
        (``plan.sized_stations`` with site, node, batteries, chargers) or any plan's ``sites`` built to
        ``design`` (nodes from ``candidates``, else the site labels are taken as nodes).
    demand
        A :class:`~swapnet.demand.NodeDemand` (Poisson rate at each node and hour =
        ``daily * hourly share``); an array ``(stations, 24)`` of requests per hour arriving directly
        at each station; or :class:`~swapnet.flows.ODFlows` (trips per day, starting by
        ``trip_profile``) of vehicles with the pack's ``range_km``: a trip of length ``L`` needs a swap
        with probability ``min(L, range) / range`` (remaining range at the start uniform), made at the
        last path node before the range runs out, at the station nearest to that node.
    pack
        The battery pack (kWh sets the charging time).
    network
        Road network for travel times (distance / ``speed_kmh``) and nearest stations. Without it,
        node demand must sit at station nodes.
    design
        Station design for plans (bays, charger and grid kW, swap minutes, efficiency).
    candidates
        Candidate sites of a plan: site nodes and per-site grid limits.
    tariff
        Time-of-use tariff for energy costs and the ``"cheapest"`` policy.
    days, warmup_days
        Observed days and warm-up days before them (discarded); the run covers ``warmup_days + days``.
    replications
        Independent replications (confidence intervals need at least 2).
    seed
        Seed; replication ``r`` uses ``SeedSequence(seed, spawn_key=(r, ...))`` streams per source and
        station, so the same seed gives the same result and scenarios share random numbers.
    patience_minutes
        How long a driver who finds no charged pack waits for one (0: leaves at once).
    swap_time
        ``"deterministic"`` (each station's ``swap_minutes``), ``"exponential"`` (mean ``swap_minutes``)
        or an array of observed swap times in minutes, drawn with replacement.
    charging_policy
        ``"asap"``, ``"cheapest"`` (needs ``tariff``) or ``"plan"`` (follows ``rebalancing.schedule``).
        Default: ``"plan"`` when ``rebalancing`` has a schedule, else ``"asap"``.
    reserve
        Under ``"cheapest"`` and ``"plan"``: charge at full capacity while free charged plus charging
        packs are fewer than ``reserve * batteries``.
    charge_curve
        ``"constant"`` power or ``"cccv"`` with a taper above 80 % state of charge.
    start_soc, end_soc
        State of charge of returned and of charged packs.
    station_choice
        ``"nearest"`` (shortest travel time) or ``"assignment"`` (the plan's ``assignment``, split by its
        ``swaps_per_hour`` column when present; rows with no site count as ``lost_no_station``).
    speed_kmh
        Travel speed for travel times, km/h.
    trip_profile
        Start times of OD trips over the day (default :meth:`DailyProfile.urban`).
    rebalancing
        ``None``, a list of :class:`Transfer`, or an operations-plan-like object with DataFrames
        ``trips`` (columns ``from``, ``to``, ``period``, ``batteries``, optional ``kind``) and/or
        ``schedule`` (``station``, ``period``, ``charging_kw``) and optional ``periods_per_day``
        (default 24). Periods count from midnight of the first day; the plan repeats after its last day.
    bin_minutes
        Width of time-series bins (divides 60); also the averaging window of ``peak_kw``.
    event_log
        Also return a per-event log (large for long runs).
    progress
        Show a progress bar on standard error.

    Returns
    -------
    SimulationResult

    Raises
    ------
    InvalidInputError
        On negative rates, stations without chargers that receive demand, negative patience, plan
        stations or transfers that do not match the simulated stations, and other bad arguments.
    """
    t_start = time.perf_counter()
    if not isinstance(pack, BatteryPack):
        raise InvalidInputError("pack", pack, "must be a BatteryPack")
    plan = stations if isinstance(stations, SitingPlan) else None
    sts = _plan_stations(plan, design, candidates) if plan is not None else _check_stations(stations)  # type: ignore[arg-type]
    days_ = _int_arg(days, "days", 1)
    reps = _int_arg(replications, "replications", 1)
    warm = _int_arg(warmup_days, "warmup_days", 0)
    seed_ = _int_arg(seed, "seed", 0)
    patience_h = _float_arg(patience_minutes, "patience_minutes") / 60.0
    speed = _float_arg(speed_kmh, "speed_kmh", positive=True)
    res = _float_arg(reserve, "reserve")
    if res > 1:
        raise InvalidInputError("reserve", reserve, "is a fraction of the batteries, in [0, 1]")
    s0 = _float_arg(start_soc, "start_soc")
    s1 = _float_arg(end_soc, "end_soc")
    if s1 > 1 or s0 >= s1:
        raise InvalidInputError("end_soc", end_soc, f"needs start_soc < end_soc <= 1 (start_soc={start_soc})")
    bmin = _int_arg(bin_minutes, "bin_minutes", 1)
    if 60 % bmin:
        raise InvalidInputError("bin_minutes", bin_minutes, "must divide 60")
    if tariff is not None and not isinstance(tariff, TouTariff):
        raise InvalidInputError("tariff", tariff, "must be a TouTariff")
    swap_kind, samples = _swap_sampler(swap_time)
    m = len(sts)
    total_days = warm + days_
    horizon = 24.0 * total_days
    start_h = 24.0 * warm
    bin_h = bmin / 60.0

    if trip_profile is not None and not isinstance(trip_profile, DailyProfile):
        raise InvalidInputError("trip_profile", trip_profile, "must be a DailyProfile")
    sources, unrouted = _route(
        sts, demand, plan=plan, network=network, station_choice=station_choice, speed_kmh=speed,
        range_km=pack.range_km, trip_profile=trip_profile or DailyProfile.urban(),
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
    events, plan_kw, period_h = _resolve_transfers(rebalancing, sts, network, speed, total_days)
    policy = charging_policy
    if policy is None:
        policy = "plan" if plan_kw is not None else "asap"
    if policy not in ("asap", "cheapest", "plan"):
        raise InvalidInputError("charging_policy", charging_policy, "must be 'asap', 'cheapest' or 'plan'")
    if policy == "cheapest" and tariff is None:
        raise InvalidInputError("tariff", None, "the 'cheapest' charging policy needs a tariff")
    if policy == "plan" and plan_kw is None:
        raise InvalidInputError("charging_policy", "plan", "needs rebalancing= an operations plan with a schedule")

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
