"""The operations instance: every input of the model and of the independent verification, as arrays.

:func:`_instance` validates the public inputs of :func:`~swapnet.operations.plan_operations` and
derives the charge profile (periods per charge and kW per lag), prices per period, truck pairs,
travel times and departure grid.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from swapnet.assets import BatteryPack
from swapnet.errors import InvalidInputError, UnknownNodeError
from swapnet.network import RoadNetwork
from swapnet.operations.stations import OpsStation, TruckFleet
from swapnet.tariff import TouTariff

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class _Instance:
    """Everything the model and the independent verification need, as arrays."""

    labels: tuple[Hashable, ...]
    hub: NDArray[np.bool_]
    batteries: FloatArray
    chargers: FloatArray
    grid: FloatArray
    swap_cap: FloatArray  # swaps per period
    demand: FloatArray  # (N, T)
    price: FloatArray  # (T,) CNY/kWh
    dt: float  # hours per period
    T: int
    cyclic: bool
    F0: FloatArray
    L: IntArray  # periods per charge, per station
    prof: FloatArray  # (N, Lmax) kW per lag
    pack_kwh_in: float  # energy into the pack per charge
    lost_penalty: float
    degradation: float  # CNY per kWh into the pack
    peak_limit: float | None
    demand_charge: float  # CNY per kW of horizon peak
    # trucks
    pa: IntArray
    pb: IntArray
    theta: IntArray
    round_trip: IntArray
    km: FloatArray  # round-trip km per pair
    deps: IntArray  # allowed departure periods
    fleet: TruckFleet | None
    # valid inequalities (see _strengthen); part of the formulation, so to_pyomo() carries them too
    strengthen: bool = True
    # state carried into a rolling-horizon window (None / 0: a fresh start)
    E0: FloatArray | None = None  # depleted packs at the start (default batteries - F0)
    hist: FloatArray | None = None  # (N, Lmax) packs started in periods -Lmax .. -1, still charging
    fixed_f: FloatArray | None = None  # (N, T) net charged packs delivered by trucks already under way
    fixed_g: FloatArray | None = None  # (N, T) net depleted packs delivered by trucks already under way
    fixed_busy: FloatArray | None = None  # (T,) trucks busy on trips already under way
    fixed_road_end: float = 0.0  # packs on trips already under way across the end of the horizon
    peak_floor: float = 0.0  # network kW peak already reached before the horizon

    @property
    def N(self) -> int:  # noqa: N802
        return len(self.labels)


def _pipeline(inst: _Instance, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Packs on charge and grid kW per station and period, recomputed from the starts ``n`` (N, T)."""
    N, T = n.shape
    charging = np.zeros((N, T))
    kw = np.zeros((N, T))
    for j in range(int(inst.L.max(initial=0))):
        rolled = np.roll(n, j, axis=1)
        if not inst.cyclic:
            rolled[:, :j] = 0
        on = j < inst.L
        charging[on] += rolled[on]
        kw += inst.prof[:, j : j + 1] * rolled
    return charging, kw


def _energy_cost(inst: _Instance) -> FloatArray:
    """CNY of one charge started in each period (N, T): exact per-period energy times that period's price.

    Without a cyclic horizon only the energy drawn inside the horizon counts (a charge still running
    at the end pays for the periods it has run), as in :attr:`OperationsPlan.costs`.
    """
    N, T = inst.N, inst.T
    cost = np.zeros((N, T))
    t = np.arange(T)
    for j in range(inst.prof.shape[1]):
        inside = np.ones(T) if inst.cyclic else (t + j < T).astype(float)
        cost += inst.prof[:, j : j + 1] * inst.dt * (inst.price[(t + j) % T] * inside)[None, :]
    return cost


def _history_cost(inst: _Instance) -> FloatArray:
    """CNY drawn inside the horizon by the charges of :attr:`_Instance.hist` (N, Lmax)."""
    N, Lmax = inst.prof.shape
    cost = np.zeros((N, Lmax))
    for k in range(Lmax):  # started in period k - Lmax
        for j in range(Lmax - k, Lmax):
            t = k - Lmax + j
            if t < inst.T:
                cost[:, k] += inst.prof[:, j] * inst.dt * inst.price[t]
    return cost


_LOADS = ("out_charged", "out_depleted", "back_charged", "back_depleted")
_TRIP_COLUMNS = (
    "from",
    "to",
    "period",
    "arrival",
    "return",
    "trips",
    "charged",
    "depleted",
    "charged_back",
    "depleted_back",
    "km",
)


def _departure_ok(inst: _Instance) -> NDArray[np.bool_]:
    """(P, D): departures allowed (not cyclic: the round trip must end within the horizon)."""
    ok = np.ones((len(inst.pa), len(inst.deps)), dtype=bool)
    if not inst.cyclic:
        ok &= inst.deps[None, :] + inst.round_trip[:, None] <= inst.T - 1
    return ok


def _on_road_at_end(inst: _Instance) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(P, D) masks of outbound and return legs under way across the end of the last period."""
    T = inst.T
    dep = inst.deps[None, :]
    mid = dep + inst.theta[:, None]
    end = dep + inst.round_trip[:, None]
    out = mid > T - 1
    back = (mid <= T - 1) & (end > T - 1)
    ok = _departure_ok(inst)
    return out & ok, back & ok


def _station_slice(inst: _Instance, s: int) -> _Instance:
    """Station ``s`` alone, without trucks or network-wide peak terms."""
    return _subset(inst, np.arange(s, s + 1))


def _subset(inst: _Instance, idx: IntArray) -> _Instance:
    """Stations ``idx`` alone, without trucks or network-wide peak terms."""
    one = idx
    empty = np.zeros(0, dtype=np.int64)
    return dataclasses.replace(
        inst,
        labels=tuple(inst.labels[int(i)] for i in idx),
        hub=inst.hub[one],
        batteries=inst.batteries[one],
        chargers=inst.chargers[one],
        grid=inst.grid[one],
        swap_cap=inst.swap_cap[one],
        demand=inst.demand[one],
        F0=inst.F0[one],
        L=inst.L[one],
        prof=inst.prof[one],
        peak_limit=None,
        demand_charge=0.0,
        pa=empty,
        pb=empty,
        theta=empty,
        round_trip=empty,
        km=np.zeros(0),
        deps=empty,
        fleet=None,
        E0=None if inst.E0 is None else inst.E0[one],
        hist=None if inst.hist is None else inst.hist[one],
        fixed_f=None if inst.fixed_f is None else inst.fixed_f[one],
        fixed_g=None if inst.fixed_g is None else inst.fixed_g[one],
        fixed_busy=None,
        fixed_road_end=0.0,
        peak_floor=0.0,
    )


def _instance(
    stations: Sequence[OpsStation],
    demand: Any,
    tariff: TouTariff,
    *,
    periods: int,
    days: int,
    pack: BatteryPack,
    trucks: TruckFleet | None,
    hubs: Sequence[OpsStation],
    network: RoadNetwork | None,
    cyclic: bool,
    start_soc: float,
    lost_penalty: float,
    degradation: float,
    peak_limit: float | None,
    demand_charge: float,
) -> _Instance:
    if isinstance(periods, bool) or int(periods) != periods or periods < 1 or 1440 % int(periods):
        raise InvalidInputError("periods", periods, "periods per day must divide the 1,440 minutes of a day")
    if isinstance(days, bool) or int(days) != days or days < 1:
        raise InvalidInputError("days", days, "must be a positive integer")
    periods, days = int(periods), int(days)
    T = periods * days
    dt = 24.0 / periods
    st = list(stations)
    if not st:
        raise InvalidInputError("stations", st, "need at least one station")
    for h in hubs:
        if not h.hub:
            raise InvalidInputError("hubs", h.label, "build hubs with OpsStation.hub_site (hub=True)")
    allst = st + list(hubs)
    labels = tuple(s.label for s in allst)
    if len(set(labels)) != len(labels):
        raise InvalidInputError("stations", labels, "station labels must be unique")
    for name, val in (
        ("lost_penalty", lost_penalty),
        ("degradation_cny_per_kwh", degradation),
        ("demand_charge_cny_per_kw", demand_charge),
    ):
        if not math.isfinite(val) or val < 0:
            raise InvalidInputError(name, val, "must be finite and non-negative")
    if peak_limit is not None and (not math.isfinite(peak_limit) or peak_limit < 0):
        raise InvalidInputError("peak_kw_limit", peak_limit, "must be finite and non-negative")
    if not (0.0 <= start_soc < 1.0):
        raise InvalidInputError("start_soc", start_soc, "must be in [0, 1)")
    N = len(allst)
    dem = _demand_matrix(demand, st, periods, days)
    full = np.zeros((N, T))
    full[: len(st)] = dem
    kwh_in = pack.kwh * (1.0 - start_soc)
    eta = 0.95
    e_grid = kwh_in / eta
    kw = np.array([s.charger_kw for s in allst])
    tau = e_grid / kw  # hours
    L = np.maximum(np.ceil(tau / dt - 1e-9).astype(np.int64), 1)
    Lmax = int(L.max())
    prof = np.zeros((N, Lmax))
    for s in range(N):
        prof[s, : L[s] - 1] = kw[s]
        prof[s, L[s] - 1] = (e_grid - kw[s] * dt * (L[s] - 1)) / dt
    if (L > T).any():
        s = int(np.argmax(L > T))
        raise InvalidInputError("periods", periods, f"a charge at station {labels[s]!r} outlasts the horizon")
    price = np.tile(tariff.price_per_period(periods), days)
    F0 = np.array([s.batteries if s.initial_charged is None else s.initial_charged for s in allst], dtype=float)
    pa = pb = theta = rt = np.zeros(0, dtype=np.int64)
    km = np.zeros(0)
    deps = np.zeros(0, dtype=np.int64)
    if trucks is not None and trucks.count > 0:
        if network is None:
            raise InvalidInputError("network", None, "trucks need a road network for distances")
        nodes = [s.node for s in allst]
        if any(nd is None for nd in nodes):
            raise InvalidInputError("stations", [s.label for s in allst if s.node is None], "need nodes for trucks")
        try:
            dist = network.distances(nodes, nodes)
        except UnknownNodeError as err:
            raise UnknownNodeError("station.node", err.value, "not a node of the network") from None
        order = np.argsort(np.where(np.eye(N, dtype=bool), np.inf, dist), axis=1)[:, : trucks.max_partners]
        hub_idx = np.flatnonzero([s.hub for s in allst])
        pairs = {(a, int(b)) for a in range(N) for b in order[a] if a != b and np.isfinite(dist[a, b])}
        pairs |= {(a, int(h)) for a in range(N) for h in hub_idx if a != h and np.isfinite(dist[a, h])}
        pairs |= {(b, a) for a, b in pairs}
        arr = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
        pa, pb = arr[:, 0], arr[:, 1]
        theta = np.maximum(np.ceil(dist[pa, pb] / trucks.speed_kmh / dt - 1e-9).astype(np.int64), 1)
        rt = theta + np.maximum(np.ceil(dist[pb, pa] / trucks.speed_kmh / dt - 1e-9).astype(np.int64), 1)
        if (rt > T).any():
            k = int(np.argmax(rt > T))
            raise InvalidInputError(
                "trucks",
                (labels[pa[k]], labels[pb[k]]),
                f"round trip of {int(rt[k])} periods is longer than the horizon",
            )
        km = dist[pa, pb] + dist[pb, pa]
        deps = np.arange(0, T, trucks.every, dtype=np.int64)
    return _Instance(
        labels=labels,
        hub=np.array([s.hub for s in allst]),
        batteries=np.array([s.batteries for s in allst], float),
        chargers=np.array([s.chargers for s in allst], float),
        grid=np.array([s.grid_kw for s in allst]),
        swap_cap=np.array([s.bays * 60.0 * dt / s.swap_minutes for s in allst]),
        demand=full,
        price=price,
        dt=dt,
        T=T,
        cyclic=cyclic,
        F0=F0,
        L=L,
        prof=prof,
        pack_kwh_in=kwh_in,
        lost_penalty=float(lost_penalty),
        degradation=float(degradation),
        peak_limit=peak_limit,
        demand_charge=float(demand_charge),
        pa=pa,
        pb=pb,
        theta=theta,
        round_trip=rt,
        km=km,
        deps=deps,
        fleet=trucks,
    )


def _demand_matrix(demand: Any, st: list[OpsStation], periods: int, days: int) -> FloatArray:
    S = len(st)
    T = periods * days
    if hasattr(demand, "per_period") and hasattr(demand, "nodes"):
        per = np.asarray(demand.per_period(periods), dtype=np.float64)
        at_node: dict[Hashable, list[int]] = {}
        for i, s in enumerate(st):
            at_node.setdefault(s.node, []).append(i)
        out = np.zeros((S, periods))
        for k, nd in enumerate(demand.nodes):
            if per[k].sum() == 0:
                continue
            idx = at_node.get(nd)
            if idx is None:
                raise InvalidInputError("demand", nd, "swap demand at a node with no station")
            out[idx] += per[k] / len(idx)
        return np.tile(out, days)
    d = np.asarray(demand, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != S or d.shape[1] not in (periods, T):
        raise InvalidInputError("demand", d.shape, f"expected ({S}, {periods}) or ({S}, {T})")
    bad = ~np.isfinite(d) | (d < 0)
    if bad.any():
        s, t = np.argwhere(bad)[0]
        raise InvalidInputError(f"demand[{s}, {t}]", float(d[s, t]), "swap demand must be finite and non-negative")
    return np.tile(d, days) if d.shape[1] == periods and T != periods else d.copy()
