"""The result of :func:`~swapnet.operations.plan_operations` and its independent verification."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from swapnet.errors import VerificationError
from swapnet.operations.formulation import build_model
from swapnet.operations.instance import _LOADS, _TRIP_COLUMNS, FloatArray, IntArray, _Instance, _pipeline
from swapnet.optim import LinearModel, SolveReport, SolveStatus

__all__ = ["OperationsPlan"]


@dataclass(frozen=True, eq=False)
class OperationsPlan:
    """A charging and rebalancing schedule.

    Attributes
    ----------
    schedule
        One row per station and period: ``station``, ``period``, ``hour`` (start of the period),
        ``demand``, ``served``, ``lost`` (swaps), ``starts`` (packs starting to charge),
        ``charging`` (packs on charge), ``charged``, ``depleted`` (packs at the end of the period),
        ``charging_kw`` (period-average grid power), ``price`` (CNY/kWh).
    trips
        One row per truck departure: ``from``, ``to``, ``period``, ``arrival``, ``trips``,
        ``charged``, ``depleted`` (packs carried out), ``return`` (period the truck is back),
        ``charged_back``, ``depleted_back`` (packs carried back), ``km`` (round trip per truck). A trip
        leaves ``from`` in ``period``, unloads and reloads at ``to`` in ``arrival`` and unloads at
        ``from`` in ``return``; with a cyclic horizon, periods past the end wrap to the next day.
    costs
        CNY by term: ``energy``, ``degradation``, ``rebalancing``, ``lost_swaps``, ``demand_charge``, ``total``.
    peak_kw
        Highest network charging power (period average), kW.
    objective, bound, gap, status
        As in :class:`~swapnet.optim.SolveReport`. ``bound`` is the best valid lower bound found
        (see :mod:`swapnet.operations.bounds`; always finite), ``status`` is ``optimal`` only when it
        proves the requested gap, else ``time_limit``. For a rolling-horizon plan (``horizon=``),
        ``bound`` bounds the monolithic model over the whole horizon, ``gap`` is
        ``(objective - bound) / objective`` and ``status`` is ``feasible`` (no optimality proof)
        unless one window covered the whole horizon.
    build_seconds, solve_seconds
        Model building vs everything else (heuristics, bounds, solver).
    details
        ``rows``, ``cols``, ``nonzeros``; ``decomposition`` (``"stations (k processes)"`` or
        ``"monolithic"``) and ``why``; ``bounds`` (each bound found, CNY) and ``bound_seconds``
        (when each was known); ``heuristic`` and ``heuristic_objective`` (the best schedule before
        the MIP); ``charge_periods``, ``period_hours``; rolling plans add ``windows``.
    """

    schedule: pd.DataFrame
    trips: pd.DataFrame
    costs: MappingProxyType[str, float]
    peak_kw: float
    objective: float
    bound: float
    gap: float
    status: SolveStatus
    build_seconds: float
    solve_seconds: float
    report: SolveReport | None = None
    details: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    _inst: _Instance | None = field(default=None, repr=False)
    _relax: bool = field(default=False, repr=False)

    @property
    def period_hours(self) -> float:
        """Length of one period, hours."""
        assert self._inst is not None
        return float(self._inst.dt)

    @property
    def periods_per_day(self) -> int:
        """Periods in one day (``24 / period_hours``)."""
        return round(24.0 / self.period_hours)

    @property
    def days(self) -> int:
        """Days in the planned horizon (``periods / periods_per_day``)."""
        assert self._inst is not None
        return max(1, round(self._inst.T / self.periods_per_day))

    @property
    def costs_per_day(self) -> MappingProxyType[str, float]:
        """:attr:`costs` divided by :attr:`days`: CNY per day by term (``costs`` is per horizon)."""
        d = self.days
        return MappingProxyType({k: float(v) / d for k, v in self.costs.items()})

    @property
    def lost_swaps(self) -> float:
        """Total lost swaps over the horizon."""
        return float(self.schedule["lost"].sum())

    def station_kw(self) -> pd.DataFrame:
        """Charging kW as a period x station table."""
        return self.schedule.pivot(index="period", columns="station", values="charging_kw")

    def summary(self) -> str:
        """One line: cost, lost swaps, peak kW, status."""
        gap = f", gap {self.gap:.2%}" if self.gap > 0 else ""
        return (
            f"operations: total {self.costs['total']:,.0f} CNY (energy {self.costs['energy']:,.0f}, "
            f"rebalancing {self.costs['rebalancing']:,.0f}), lost {self.lost_swaps:,.1f} swaps, "
            f"peak {self.peak_kw:,.0f} kW [{self.status.value}{gap}; build {self.build_seconds:.2f}s, "
            f"solve {self.solve_seconds:.2f}s]"
        )

    def to_pyomo(self) -> Any:
        """The MILP as a Pyomo ``ConcreteModel`` (see :meth:`swapnet.optim.LinearModel.to_pyomo`)."""
        assert self._inst is not None
        return build_model(self._inst, self._relax).to_pyomo()

    def verify(self, tol: float = 1e-6) -> OperationsPlan:
        """Recompute every balance and limit from :attr:`schedule` and :attr:`trips` alone.

        Raises
        ------
        VerificationError
            Listing each violated balance, limit or cost.
        """
        assert self._inst is not None
        problems = _verify(self, self._inst, tol)
        if problems:
            raise VerificationError(problems)
        return self


def _verify(plan: OperationsPlan, inst: _Instance, tol: float) -> list[str]:
    N, T = inst.N, inst.T
    sch = plan.schedule.sort_values(["station", "period"], key=lambda c: c.map(_order(inst, c)))
    get = {
        k: sch[k].to_numpy(dtype=float).reshape(N, T)
        for k in ("demand", "served", "lost", "starts", "charging", "charged", "depleted", "charging_kw")
    }
    out: list[str] = []
    eps = tol * max(1.0, float(inst.batteries.max(initial=1.0)))
    n = get["starts"]
    if not plan._relax and np.abs(n - np.round(n)).max(initial=0) > eps:
        out.append("starts are not integer")
    if (get["served"] < -eps).any() or (get["served"] > get["demand"] + eps).any():
        out.append("served outside [0, demand]")
    if (get["served"] > inst.swap_cap[:, None] + eps).any():
        out.append("swaps exceed bay capacity")
    if np.abs(get["lost"] - (get["demand"] - get["served"])).max(initial=0) > eps:
        out.append("lost != demand - served")
    if np.abs(get["demand"] - inst.demand).max(initial=0) > eps:
        out.append("demand column differs from the forecast")
    charging, kw = _pipeline(inst, n)
    if np.abs(charging - get["charging"]).max(initial=0) > eps:
        out.append("charging column differs from the packs started within the charge time")
    if np.abs(kw - get["charging_kw"]).max(initial=0) > tol * max(1.0, float(kw.max(initial=1.0))):
        out.append("charging_kw differs from the exact charging profile")
    if (charging > inst.chargers[:, None] + eps).any():
        s, t = np.argwhere(charging > inst.chargers[:, None] + eps)[0]
        out.append(f"station {inst.labels[s]!r} period {t}: more packs on charge than chargers")
    if (kw > inst.grid[:, None] * (1 + tol) + tol).any():
        s, t = np.argwhere(kw > inst.grid[:, None] * (1 + tol) + tol)[0]
        out.append(f"station {inst.labels[s]!r} period {t}: grid limit exceeded")
    # truck flows per station and period
    fin = np.zeros((N, T))
    fout = np.zeros((N, T))
    gin = np.zeros((N, T))
    gout = np.zeros((N, T))
    tr = plan.trips
    on_road = np.zeros(T + 1)  # packs on trucks during each period (index T: across the end)
    if len(tr):
        pos = {lab: i for i, lab in enumerate(inst.labels)}
        a = tr["from"].map(pos).to_numpy(dtype=np.int64)
        b = tr["to"].map(pos).to_numpy(dtype=np.int64)
        dep, mid, end = (tr[c].to_numpy(dtype=np.int64) for c in ("period", "arrival", "return"))
        fc, gc, fb, gb, k = (
            tr[c].to_numpy(dtype=float) for c in ("charged", "depleted", "charged_back", "depleted_back", "trips")
        )
        assert inst.fleet is not None
        if (fc + gc > inst.fleet.capacity * k + eps).any() or (fb + gb > inst.fleet.capacity * k + eps).any():
            out.append("truck load above capacity")
        if not inst.cyclic and (end > T - 1).any():
            out.append("a round trip ends after the horizon")
        np.add.at(fout, (a, dep % T), fc)
        np.add.at(gout, (a, dep % T), gc)
        np.add.at(fin, (b, mid % T), fc)
        np.add.at(gin, (b, mid % T), gc)
        np.add.at(fout, (b, mid % T), fb)
        np.add.at(gout, (b, mid % T), gb)
        np.add.at(fin, (a, end % T), fb)
        np.add.at(gin, (a, end % T), gb)
        busy = np.zeros(T)
        for i in range(len(tr)):
            span = np.arange(dep[i], end[i])
            span = span % T if inst.cyclic else span[span < T]
            np.add.at(busy, span, k[i])
        if (busy > inst.fleet.count + eps).any():
            out.append(f"more than {inst.fleet.count} trucks busy in period {int(np.argmax(busy))}")
        on_road[T] = float((fc + gc)[mid > T - 1].sum() + (fb + gb)[(mid <= T - 1) & (end > T - 1)].sum())
    # packs whose charge started L_s periods earlier are charged now
    src = np.arange(T)[None, :] - inst.L[:, None]
    done = np.take_along_axis(n, src % T, axis=1)
    if not inst.cyclic:
        done[src < 0] = 0.0
    F, E = get["charged"], get["depleted"]
    Fp = np.roll(F, 1, axis=1)
    Ep = np.roll(E, 1, axis=1)
    if not inst.cyclic:
        Fp[:, 0] = inst.F0
        Ep[:, 0] = inst.batteries - inst.F0
    bal_f = F - (Fp + done - get["served"] - fout + fin)
    bal_e = E - (Ep + get["served"] - n - gout + gin)
    for name, bal in (("charged", bal_f), ("depleted", bal_e)):
        if np.abs(bal).max(initial=0) > eps:
            s, t = np.argwhere(np.abs(bal) > eps)[0]
            out.append(f"{name} balance broken at station {inst.labels[s]!r}, period {t}")
    if (F < -eps).any() or (E < -eps).any():
        out.append("negative inventory")
    held = F + E + charging
    if (held > inst.batteries[:, None] + eps).any():
        out.append("a station holds more packs than its racks")
    if abs(held[:, T - 1].sum() + on_road[T] - inst.batteries.sum()) > eps:
        out.append("packs were created or lost (network total changed)")
    # costs
    energy = float((kw * inst.price[None, :]).sum() * inst.dt)
    degr = inst.degradation * inst.pack_kwh_in * float(n.sum())
    lost = inst.lost_penalty * float(get["lost"].sum())
    reb = 0.0
    if len(tr):
        assert inst.fleet is not None
        km_trip = tr["km"].to_numpy(dtype=float)
        reb = float((k * (inst.fleet.cost_per_trip + inst.fleet.cost_per_km * km_trip)).sum())
    peak = float(kw.sum(axis=0).max(initial=0.0))
    if inst.peak_limit is not None and peak > inst.peak_limit * (1 + tol) + tol:
        out.append(f"peak {peak:g} kW above the limit {inst.peak_limit:g}")
    dch = inst.demand_charge * peak
    want = {"energy": energy, "degradation": degr, "rebalancing": reb, "lost_swaps": lost, "demand_charge": dch}
    for key, val in want.items():
        if abs(plan.costs[key] - val) > tol * max(1.0, abs(val)):
            out.append(f"cost {key} {plan.costs[key]:.10g} != recomputed {val:.10g}")
    total = sum(want.values())
    if abs(plan.objective - total) > tol * max(1.0, abs(total)):
        out.append(f"objective {plan.objective:.10g} != recomputed {total:.10g}")
    return out


def _order(inst: _Instance, col: pd.Series) -> dict[Any, int]:
    if col.name == "station":
        return {lab: i for i, lab in enumerate(inst.labels)}
    return {v: v for v in col.unique()}


def _theta_back(inst: _Instance, a: IntArray, b: IntArray) -> IntArray:
    key = {(int(x), int(y)): int(t) for x, y, t in zip(inst.pa, inst.pb, inst.theta, strict=True)}
    return np.array([key.get((int(y), int(x)), 0) for x, y in zip(a, b, strict=True)], dtype=np.int64)


@dataclass(frozen=True)
class _Trips:
    """Truck departures as arrays: pair index, departure period, trips and the four loads."""

    pair: IntArray
    dep: IntArray
    k: FloatArray
    loads: dict[str, FloatArray]

    @staticmethod
    def empty() -> _Trips:
        z = np.zeros(0)
        return _Trips(np.zeros(0, np.int64), np.zeros(0, np.int64), z, {nm: z for nm in _LOADS})

    def take(self, keep: NDArray[Any]) -> _Trips:
        return _Trips(self.pair[keep], self.dep[keep], self.k[keep], {nm: v[keep] for nm, v in self.loads.items()})

    @staticmethod
    def concat(parts: Sequence[_Trips]) -> _Trips:
        if not parts:
            return _Trips.empty()
        return _Trips(
            np.concatenate([p.pair for p in parts]),
            np.concatenate([p.dep for p in parts]),
            np.concatenate([p.k for p in parts]),
            {nm: np.concatenate([p.loads[nm] for p in parts]) for nm in _LOADS},
        )


def _solution_trips(inst: _Instance, sol: Any, lm: LinearModel, relax: bool) -> _Trips:
    if "trips" not in lm.blocks:
        return _Trips.empty()
    k = sol.values("trips")
    pi, di = np.nonzero(k > 0.5 if not relax else k > 1e-9)
    return _Trips(pi, inst.deps[di], k[pi, di], {nm: sol.values(nm)[pi, di] for nm in _LOADS})


def _result(
    inst: _Instance,
    sol: Any,
    lm: LinearModel,
    build_s: float,
    solve_s: float,
    relax: bool,
    info: dict[str, Any] | None = None,
) -> OperationsPlan:
    r = sol.report
    return _assemble(
        inst,
        (sol.values("start"), sol.values("served"), sol.values("charged"), sol.values("depleted")),
        _solution_trips(inst, sol, lm, relax) if inst.fleet is not None else None,
        r,
        build_s,
        solve_s,
        relax,
        {"rows": r.n_rows, "cols": r.n_cols, "nonzeros": r.n_nonzeros, **(info or {})},
    )


def _assemble(
    inst: _Instance,
    arrays: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    tp: _Trips | None,
    r: SolveReport,
    build_s: float,
    solve_s: float,
    relax: bool,
    details: dict[str, Any],
) -> OperationsPlan:
    """The plan from per-station arrays (starts, served, charged, depleted) and truck departures."""
    N, T = inst.N, inst.T
    n, x, F, E = arrays
    charging, kw = _pipeline(inst, n)
    hours = (np.arange(T) * inst.dt) % 24
    schedule = pd.DataFrame(
        {
            "station": np.repeat(np.array(inst.labels, dtype=object), T),
            "period": np.tile(np.arange(T), N),
            "hour": np.tile(hours, N),
            "demand": inst.demand.ravel(),
            "served": x.ravel(),
            "lost": (inst.demand - x).ravel(),
            "starts": n.ravel(),
            "charging": charging.ravel(),
            "charged": F.ravel(),
            "depleted": E.ravel(),
            "charging_kw": kw.ravel(),
            "price": np.tile(inst.price, N),
        }
    )
    if tp is not None:
        pi, dep = tp.pair, tp.dep
        trips = pd.DataFrame(
            {
                "from": [inst.labels[int(inst.pa[p])] for p in pi],
                "to": [inst.labels[int(inst.pb[p])] for p in pi],
                "period": dep,
                "arrival": dep + inst.theta[pi],
                "return": dep + inst.round_trip[pi],
                "trips": tp.k,
                "charged": tp.loads["out_charged"],
                "depleted": tp.loads["out_depleted"],
                "charged_back": tp.loads["back_charged"],
                "depleted_back": tp.loads["back_depleted"],
                "km": inst.km[pi],
            }
        )
        fleet = inst.fleet
        assert fleet is not None
        reb = float((trips["trips"] * (fleet.cost_per_trip + fleet.cost_per_km * trips["km"])).sum())
    else:
        trips = pd.DataFrame(columns=list(_TRIP_COLUMNS))
        reb = 0.0
    peak = float(kw.sum(axis=0).max(initial=0.0))
    costs = {
        "energy": float((kw * inst.price[None, :]).sum() * inst.dt),
        "degradation": inst.degradation * inst.pack_kwh_in * float(n.sum()),
        "rebalancing": reb,
        "lost_swaps": inst.lost_penalty * float((inst.demand - x).sum()),
        "demand_charge": inst.demand_charge * peak,
    }
    costs["total"] = sum(costs.values())
    return OperationsPlan(
        schedule=schedule,
        trips=trips,
        costs=MappingProxyType(costs),
        peak_kw=peak,
        objective=costs["total"],
        bound=r.bound,
        gap=r.gap,
        status=r.status,
        build_seconds=build_s,
        solve_seconds=solve_s,
        report=r,
        details=MappingProxyType({**details, "charge_periods": inst.L.tolist(), "period_hours": inst.dt}),
        _inst=inst,
        _relax=relax,
    )
