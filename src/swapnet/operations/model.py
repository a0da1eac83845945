r"""Operations MILP: charging schedules, battery inventory and rebalancing between stations.

Time is a horizon of :math:`T` periods of :math:`\Delta` hours (``periods`` per day times ``days``),
either **cyclic** (the end state is the start state, the natural steady-state day) or starting
from a given state (every rack charged unless ``OpsStation.initial_charged`` says otherwise).

Charging at period resolution, exactly
--------------------------------------
A depleted pack needs :math:`e = \text{kWh}\,(1 - \text{soc}_0) / \eta` from the grid. On a
charger of :math:`p` kW it charges for :math:`\tau = e/p` hours, i.e. :math:`L = \lceil \tau/\Delta
\rceil` periods: at full power :math:`p` in the first :math:`L-1` periods and at the average power
:math:`(e - p\Delta(L-1))/\Delta` in the last. A pack that starts charging in period :math:`t`
occupies a charger in periods :math:`t, \dots, t+L-1` and is charged (available to swap) from period
:math:`t+L` on. Each period's energy is therefore exact; the power is exact as a period average.

Variables (station :math:`s`, period :math:`t`)
----------------------------------------------
:math:`n_{st} \in \mathbb{Z}_+` packs starting to charge; :math:`x_{st} \ge 0` swaps served
(lost swaps :math:`d_{st} - x_{st}`); :math:`F_{st}, E_{st} \ge 0` charged and depleted packs at the
end of period :math:`t`. Trucks: for each allowed pair :math:`(a, b)` and departure period
:math:`t`, integer trips :math:`k_{abt}` and integer loads of charged :math:`f_{abt}` and depleted
:math:`g_{abt}` packs; travel takes :math:`\theta_{ab} \ge 1` periods (network distance / speed,
rounded up).

Constraints (``define_*`` families)
-----------------------------------
* charged balance: :math:`F_{st} = F_{s,t-1} + n_{s,t-L_s} - x_{st} - \sum_b f_{sbt} + \sum_a f_{a,s,t-\theta_{as}}`
* depleted balance: :math:`E_{st} = E_{s,t-1} + x_{st} - n_{st} - \sum_b g_{sbt} + \sum_a g_{a,s,t-\theta_{as}}`
* chargers: :math:`\sum_{j<L_s} n_{s,t-j} \le C_s`
* grid: :math:`\sum_{j<L_s} p_{sj}\, n_{s,t-j} \le G_s` (only where :math:`C_s p_s > G_s`)
* swaps: :math:`x_{st} \le \min(d_{st}, \text{bays}_s \cdot 60\Delta / \text{swap\_minutes}_s)`
* racks: :math:`F_{st} + E_{st} + \sum_{j<L_s} n_{s,t-j} \le B_s`, and the packs are conserved:
  at the end of the horizon each station holds exactly :math:`B_s` (no trucks) or the network
  (stations plus packs on trucks) holds :math:`\sum_s B_s`
* trucks: :math:`f_{abt} + g_{abt} \le Q k_{abt}`; trucks busy at any time (a trip occupies its
  truck for the round trip :math:`\theta_{ab} + \theta_{ba}`) :math:`\le K`
* peak: :math:`\sum_s \sum_j p_{sj} n_{s,t-j} \le P^{\max}` (a limit, or a variable priced by a demand charge)
* whole swaps (cyclic horizons, a valid inequality, see :func:`_strengthen`):
  :math:`\sum_t x_{st} \le \lfloor \sum_t \min(d_{st}, \text{bay capacity}) \rfloor`

Rolling horizon
---------------
``plan_operations(..., cyclic=False, horizon=H, step=S)`` solves windows of ``H`` periods and keeps
the first ``S`` of each; the next window starts from the exact state (packs per station, charges in
progress as fixed ``history`` columns, committed truck trips as fixed deliveries and busy trucks).

Objective
---------
electricity :math:`\sum \pi_t \Delta\,\text{kW}_{st}` + degradation :math:`\delta\,\text{kWh}_{\text{pack}}
\sum n` + rebalancing :math:`\sum k_{abt}(c_{\text{trip}} + c_{\text{km}}\,(\ell_{ab}+\ell_{ba}))`
+ lost swaps :math:`\lambda \sum (d - x)` + demand charge :math:`\gamma P^{\max}`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from swapnet.assets import BatteryPack
from swapnet.errors import InfeasibleError, InvalidInputError, UnknownNodeError, VerificationError
from swapnet.network import RoadNetwork
from swapnet.operations.stations import OpsStation, TruckFleet
from swapnet.optim import LinearModel, SolveOptions, SolveReport, SolveStatus
from swapnet.tariff import TouTariff

__all__ = ["OperationsPlan", "plan_operations"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


# ----------------------------------------------------------------------------- instance
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


# ---------------------------------------------------------------------- model families
def _lagged(
    inst: _Instance, start: IntArray, weights: FloatArray | None, hist: IntArray | None = None
) -> tuple[IntArray, IntArray, FloatArray]:
    """Triplets (row = s*T + t, col, val) of ``sum_j w_sj n_{s,t-j}`` over lags j < L_s.

    ``hist`` (N, Lmax): columns of the starts before the horizon (periods -Lmax .. -1), used for
    lags that reach before period 0 when the horizon is not cyclic.
    """
    N, T = inst.N, inst.T
    Lmax = inst.prof.shape[1]
    rows, cols, vals = [], [], []
    s_idx, t_idx = np.meshgrid(np.arange(N), np.arange(T), indexing="ij")
    for j in range(int(inst.L.max(initial=0))):
        ok = j < inst.L[s_idx]
        src = t_idx - j
        if inst.cyclic:
            src = src % T
        elif hist is None:
            ok &= src >= 0
        w = np.ones((N, T)) if weights is None else np.broadcast_to(weights[:, j : j + 1], (N, T))
        ok &= w != 0
        rows.append((s_idx * T + t_idx)[ok])
        si, ti = s_idx[ok], src[ok]
        if hist is not None and not inst.cyclic:
            cols.append(np.where(ti >= 0, start[si, np.maximum(ti, 0)], hist[si, np.minimum(ti, -1) + Lmax]))
        else:
            cols.append(start[si, ti])
        vals.append(w[ok])
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def _build(inst: _Instance, relax: bool = False) -> LinearModel:
    N, T = inst.N, inst.T
    lm = LinearModel("operations")
    start = lm.add_vars(
        "start",
        (N, T),
        ub=np.broadcast_to(inst.chargers[:, None], (N, T)),
        cost=_energy_cost(inst) + inst.degradation * inst.pack_kwh_in,
        integer=not relax,
    )
    hist = None
    if inst.hist is not None and not inst.cyclic:
        # charges started before the horizon (a rolling window's carried-over state): fixed columns
        hist = lm.add_vars("history", inst.hist.shape, lb=inst.hist, ub=inst.hist, cost=_history_cost(inst)).index
    served_ub = np.minimum(inst.demand, inst.swap_cap[:, None])
    served = lm.add_vars("served", (N, T), ub=served_ub, cost=-inst.lost_penalty)
    lm.offset = inst.lost_penalty * float(inst.demand.sum())
    bat = np.broadcast_to(inst.batteries[:, None], (N, T))
    full = lm.add_vars("charged", (N, T), ub=bat)
    empty = lm.add_vars("depleted", (N, T), ub=bat)
    P = len(inst.pa)
    D = len(inst.deps)
    have_trucks = inst.fleet is not None and P > 0 and D > 0
    if have_trucks:
        assert inst.fleet is not None
        q = inst.fleet.capacity
        count = inst.fleet.count
        trip_cost = inst.fleet.cost_per_trip + inst.fleet.cost_per_km * inst.km
        trips = lm.add_vars(
            "trips", (P, D), ub=inst.fleet.count, cost=np.broadcast_to(trip_cost[:, None], (P, D)), integer=not relax
        )
        # round trips a -> b -> a: loads out (charged, depleted) and loads back
        ok_dep = _departure_ok(inst)
        lub = np.where(ok_dep, float(q), 0.0)
        loads = {nm: lm.add_vars(nm, (P, D), ub=lub, integer=not relax) for nm in _LOADS}
    s_idx, t_idx = np.meshgrid(np.arange(N), np.arange(T), indexing="ij")
    row = (s_idx * T + t_idx).ravel()
    prev = (t_idx - 1) % T if inst.cyclic else t_idx - 1
    has_prev = (np.ones((N, T), bool) if inst.cyclic else prev >= 0).ravel()
    prev_col_f = full.index[s_idx, np.maximum(prev, 0)].ravel()
    prev_col_e = empty.index[s_idx, np.maximum(prev, 0)].ravel()
    E0 = inst.batteries - inst.F0 if inst.E0 is None else inst.E0
    rhs_f = np.where(t_idx == 0, 0.0 if inst.cyclic else 1.0, 0.0) * inst.F0[:, None]
    rhs_e = np.where(t_idx == 0, 0.0 if inst.cyclic else 1.0, 0.0) * E0[:, None]
    if inst.fixed_f is not None:
        rhs_f = rhs_f + inst.fixed_f
    if inst.fixed_g is not None:
        rhs_e = rhs_e + inst.fixed_g

    def truck_terms(kind: str) -> tuple[IntArray, IntArray, FloatArray]:
        """Balance triplets of the loads of ``kind`` ("charged"/"depleted"): out of a at d, into b at
        d + theta_ab; back out of b at d + theta_ab, into a at d + round trip."""
        if not have_trucks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        dep = np.broadcast_to(inst.deps[None, :], (P, D))
        mid = dep + inst.theta[:, None]
        end = dep + inst.round_trip[:, None]
        pa = np.broadcast_to(inst.pa[:, None], (P, D))
        pb = np.broadcast_to(inst.pb[:, None], (P, D))
        ok = _departure_ok(inst)
        out, back = loads[f"out_{kind}"].index, loads[f"back_{kind}"].index
        rows = [pa * T + dep, pb * T + mid % T, pb * T + mid % T, pa * T + end % T]
        cols = [out, out, back, back]
        sign = [1.0, -1.0, 1.0, -1.0]
        return (
            np.concatenate([r[ok] for r in rows]),
            np.concatenate([c[ok] for c in cols]),
            np.concatenate([np.full(int(ok.sum()), v) for v in sign]),
        )

    # charged balance: F_t - F_{t-1} - n_{t-L} + x_t + out_f - in_f = F0 [t = 0, not cyclic]
    done_src = t_idx - inst.L[:, None]
    done_ok = np.ones((N, T), bool) if inst.cyclic or hist is not None else done_src >= 0
    if hist is not None:
        done_col = np.where(
            done_src >= 0,
            start.index[s_idx, np.maximum(done_src, 0)],
            hist[s_idx, np.minimum(done_src, -1) + inst.prof.shape[1]],
        )
    else:
        done_col = start.index[s_idx, done_src % T]
    tr, tc_, tv = truck_terms("charged")
    lm.add_constraints(
        "charged_balance",
        rows=np.concatenate([row, row[has_prev], row[done_ok.ravel()], row, tr]),
        cols=np.concatenate([full.index.ravel(), prev_col_f[has_prev], done_col[done_ok], served.index.ravel(), tc_]),
        vals=np.concatenate(
            [np.ones(N * T), -np.ones(int(has_prev.sum())), -np.ones(int(done_ok.sum())), np.ones(N * T), tv]
        ),
        lo=rhs_f.ravel(),
        hi=rhs_f.ravel(),
        n=N * T,
    )
    # depleted balance: E_t - E_{t-1} - x_t + n_t + out_g - in_g = B - F0 [t = 0, not cyclic]
    tr, tc_, tv = truck_terms("depleted")
    lm.add_constraints(
        "depleted_balance",
        rows=np.concatenate([row, row[has_prev], row, row, tr]),
        cols=np.concatenate(
            [empty.index.ravel(), prev_col_e[has_prev], served.index.ravel(), start.index.ravel(), tc_]
        ),
        vals=np.concatenate([np.ones(N * T), -np.ones(int(has_prev.sum())), -np.ones(N * T), np.ones(N * T), tv]),
        lo=rhs_e.ravel(),
        hi=rhs_e.ravel(),
        n=N * T,
    )
    # chargers in use
    r, c, v = _lagged(inst, start.index, None, hist)
    lm.add_constraints("chargers", rows=r, cols=c, vals=v, hi=np.repeat(inst.chargers, T), n=N * T)
    # grid limit where the chargers could exceed it
    tight = inst.chargers * inst.prof[:, 0] > inst.grid + 1e-9
    if tight.any():
        r, c, v = _lagged(inst, start.index, inst.prof, hist)
        keep = tight[r // T]
        sel = np.flatnonzero(tight)
        remap = np.full(N, -1)
        remap[sel] = np.arange(sel.size)
        rr = remap[r[keep] // T] * T + r[keep] % T
        lm.add_constraints("grid", rows=rr, cols=c[keep], vals=v[keep], hi=np.repeat(inst.grid[sel], T), n=sel.size * T)
    # racks and conservation
    r, c, v = _lagged(inst, start.index, None, hist)
    last = t_idx.ravel() == T - 1
    if have_trucks:
        lm.add_constraints(
            "racks",
            rows=np.concatenate([row, row, r]),
            cols=np.concatenate([full.index.ravel(), empty.index.ravel(), c]),
            vals=np.concatenate([np.ones(2 * N * T), v]),
            hi=np.repeat(inst.batteries, T),
            n=N * T,
        )
        # network total at the end of the horizon (stations + packs on the road)
        out_road, back_road = _on_road_at_end(inst)
        tcols = np.concatenate(
            [loads[f"out_{k}"].index[out_road] for k in ("charged", "depleted")]
            + [loads[f"back_{k}"].index[back_road] for k in ("charged", "depleted")]
        )
        endr = np.flatnonzero(last)
        sel_r = np.isin(r, endr)
        lm.add_constraints(
            "conservation",
            rows=np.zeros(2 * N + int(sel_r.sum()) + tcols.size, dtype=np.int64),
            cols=np.concatenate([full.index[:, T - 1], empty.index[:, T - 1], c[sel_r], tcols]),
            vals=1.0,
            lo=float(inst.batteries.sum()) - inst.fixed_road_end,
            hi=float(inst.batteries.sum()) - inst.fixed_road_end,
            n=1,
        )
        # fleet size: trucks busy in each period
        dep = np.broadcast_to(inst.deps[None, :], (P, D))
        busy_r, busy_c = [], []
        for k in range(int(inst.round_trip.max())):
            ok = k < inst.round_trip[:, None]
            tt = dep + k
            ok = ok & (tt < T) if not inst.cyclic else ok
            busy_r.append((tt % T)[np.broadcast_to(ok, (P, D))])
            busy_c.append(trips.index[np.broadcast_to(ok, (P, D))])
        free = float(count) - (np.zeros(T) if inst.fixed_busy is None else inst.fixed_busy)
        lm.add_constraints("fleet", rows=np.concatenate(busy_r), cols=np.concatenate(busy_c), vals=1.0, hi=free, n=T)
        for leg in ("out", "back"):
            lm.add_constraints(
                f"truck_load_{leg}",
                rows=np.tile(np.arange(P * D), 3),
                cols=np.concatenate(
                    [loads[f"{leg}_charged"].index.ravel(), loads[f"{leg}_depleted"].index.ravel(), trips.index.ravel()]
                ),
                vals=np.concatenate([np.ones(2 * P * D), np.full(P * D, -float(q))]),
                hi=0.0,
                n=P * D,
            )
    else:
        sel_r = np.isin(r, np.flatnonzero(last))
        rr = r[sel_r] // T
        lm.add_constraints(
            "conservation",
            rows=np.concatenate([np.arange(N), np.arange(N), rr]),
            cols=np.concatenate([full.index[:, T - 1], empty.index[:, T - 1], c[sel_r]]),
            vals=1.0,
            lo=inst.batteries,
            hi=inst.batteries,
            n=N,
        )
    # peak power
    if inst.peak_limit is not None or inst.demand_charge > 0:
        r, c, v = _lagged(inst, start.index, inst.prof, hist)
        tt = r % T
        if inst.demand_charge > 0:
            pmax = lm.add_vars(
                "peak_kw",
                1,
                cost=inst.demand_charge,
                lb=inst.peak_floor,
                ub=np.inf if inst.peak_limit is None else max(inst.peak_limit, inst.peak_floor),
            )
            lm.add_constraints(
                "peak",
                rows=np.concatenate([tt, np.arange(T)]),
                cols=np.concatenate([c, np.full(T, pmax.start)]),
                vals=np.concatenate([v, -np.ones(T)]),
                hi=0.0,
                n=T,
            )
        else:
            lm.add_constraints("peak", rows=tt, cols=c, vals=v, hi=float(inst.peak_limit), n=T)  # type: ignore[arg-type]
    if inst.strengthen:
        _strengthen(inst, lm)
    return lm


def _strengthen(inst: _Instance, lm: LinearModel) -> None:
    r"""Valid inequalities that cut off fractional points but no integer schedule.

    **Whole served swaps per cyclic horizon.** Summing the depleted balance of station :math:`s`
    over a cyclic horizon, the inventory terms cancel:
    :math:`\sum_t x_{st} = \sum_t n_{st} + \sum_t (\text{out}^E_{st} - \text{in}^E_{st})`. Starts
    and truck loads are integers, so every integer schedule serves a *whole* number of swaps per
    station and horizon, and :math:`\sum_t x_{st} \le \lfloor \sum_t \min(d_{st}, \text{bay
    capacity}) \rfloor`. The LP relaxation, with fractional packs, serves the fractional remainder
    too; this cut charges the penalty for it (up to one lost swap per station). Without a cyclic
    horizon the end inventory is free to be fractional and the cut would not be valid.
    """
    if not inst.cyclic:
        return
    N, T = inst.N, inst.T
    sv = lm.block("served")
    cap = np.minimum(inst.demand, inst.swap_cap[:, None]).sum(axis=1)
    lm.add_constraints(
        "whole_swaps",
        rows=np.repeat(np.arange(N), T),
        cols=sv.index.ravel(),
        vals=1.0,
        hi=np.floor(cap + 1e-9),
        n=N,
    )


# ------------------------------------------------------------------------------ result
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
        As in :class:`~swapnet.optim.SolveReport`. For a rolling-horizon plan (``horizon=``),
        ``bound`` is the LP relaxation of the monolithic model over the whole horizon, ``gap`` is
        ``(objective - bound) / objective`` and ``status`` is ``feasible`` (no optimality proof)
        unless one window covered the whole horizon.
    build_seconds, solve_seconds
        Model building vs solver time (the warm-start heuristic, itself a small MIP, counts as solving).
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
        return _build(self._inst, self._relax).to_pyomo()

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


# --------------------------------------------------------------------------- entry point
def plan_operations(
    stations: Sequence[OpsStation],
    demand: Any,
    tariff: TouTariff,
    *,
    periods: int,
    days: int = 1,
    pack: BatteryPack | None = None,
    trucks: TruckFleet | None = None,
    hubs: Sequence[OpsStation] | None = None,
    network: RoadNetwork | None = None,
    cyclic: bool = True,
    start_soc: float = 0.2,
    lost_penalty: float = 200.0,
    allow_lost: bool = True,
    degradation_cny_per_kwh: float = 0.0,
    peak_kw_limit: float | None = None,
    demand_charge_cny_per_kw: float = 0.0,
    relax: bool = False,
    horizon: int | None = None,
    step: int | None = None,
    options: SolveOptions | None = None,
) -> OperationsPlan:
    """Plan charging and battery transfers for open stations over a horizon.

    Parameters
    ----------
    stations
        Open stations (:class:`OpsStation`; see :func:`stations_from_plan` for a ``SitingPlan``).
    demand
        Swap forecast: an array ``(n_stations, periods)`` (repeated over ``days``) or
        ``(n_stations, periods * days)``, or a :class:`~swapnet.demand.NodeDemand` whose nodes
        must each host a station (its demand splits evenly over the stations at that node).
    tariff
        Time-of-use tariff; prices per period come from :meth:`TouTariff.price_per_period`.
    periods
        Periods per day (must divide the 1,440 minutes of a day, e.g. 24 or 96).
    days
        Days in the horizon.
    pack
        Battery pack (default CATL #25 LFP, 56 kWh).
    trucks
        Optional :class:`TruckFleet`; needs ``network`` for distances.
    hubs
        Optional charging hubs (:meth:`OpsStation.hub_site`).
    network
        Road network for truck distances (km).
    cyclic
        End state = start state; otherwise start from every station's ``initial_charged``.
    start_soc
        State of charge of returned packs.
    lost_penalty
        CNY per lost swap.
    allow_lost
        When false, every forecast swap must be served; if that is impossible an
        :class:`~swapnet.errors.InfeasibleError` names the first station and period that fall short.
    degradation_cny_per_kwh
        Battery wear cost per kWh charged into packs.
    peak_kw_limit
        Optional cap on the network's total charging power.
    demand_charge_cny_per_kw
        Price of the horizon's peak network kW (a monthly demand charge prorated to the horizon).
    relax
        Solve the LP relaxation (integrality dropped): a fast bound and a fractional schedule.
    horizon, step
        Rolling-horizon mode (needs ``cyclic=False``): solve windows of ``horizon`` periods, keep
        the first ``step`` (default ``horizon``) of each and start the next window from the exact
        state at that point: charged and depleted packs, packs still on chargers (with their
        remaining power profile and completion period), and trucks still on the road (their loads
        and the trucks they occupy). The last window ends with the horizon and is kept whole.
        ``options`` apply to each window. The plan's ``bound`` is the LP relaxation of the
        monolithic model over the whole horizon (solved within the time limit times the number of
        windows; NaN if not reached) and ``gap`` is ``(cost - bound) / cost``, an upper bound on
        the rolling plan's distance from the monolithic optimum; ``details["windows"]``
        lists each window's start, length, kept periods, status, objective and gap. The stitched
        plan is verified like any other (:meth:`OperationsPlan.verify`).
    options
        Solver options.

    Returns
    -------
    OperationsPlan

    Raises
    ------
    InvalidInputError
        For invalid inputs (the message names the field and its value), e.g. ``horizon`` with a
        cyclic horizon.
    InfeasibleError
        When no schedule exists (or, with ``allow_lost=False``, when some swap cannot be served).
    """
    t0 = time.perf_counter()
    inst = _instance(
        stations,
        demand,
        tariff,
        periods=periods,
        days=days,
        pack=pack or BatteryPack.catl_25_lfp(),
        trucks=trucks,
        hubs=hubs or (),
        network=network,
        cyclic=cyclic,
        start_soc=start_soc,
        lost_penalty=lost_penalty,
        degradation=degradation_cny_per_kwh,
        peak_limit=peak_kw_limit,
        demand_charge=demand_charge_cny_per_kw,
    )
    if horizon is not None or step is not None:
        return _plan_rolling(inst, horizon, step, relax=relax, allow_lost=allow_lost, options=options)
    sol, lm, build_s, solve_s = _solve(inst, relax, allow_lost, options, t0, lp_bound=True)
    return _result(inst, sol, lm, build_s, solve_s, relax)


def _solve(
    inst: _Instance,
    relax: bool,
    allow_lost: bool,
    options: SolveOptions | None,
    t0: float,
    *,
    lp_bound: bool,
    where: str = "",
) -> tuple[Any, LinearModel, float, float]:
    """Build and solve one model; returns the solution, the model, build and solve seconds."""
    lm = _build(inst, relax)
    if not allow_lost:
        sv = lm.block("served")
        lm.set_bounds(sv.index, lb=inst.demand)
        if (inst.demand > inst.swap_cap[:, None] + 1e-9).any():
            s, t = np.argwhere(inst.demand > inst.swap_cap[:, None] + 1e-9)[0]
            raise InfeasibleError(
                f"{where}station {inst.labels[s]!r}, period {t}: demand {inst.demand[s, t]:g} exceeds the bays' "
                f"{inst.swap_cap[s]:g} swaps per period"
            )
    build_s = time.perf_counter() - t0
    th = time.perf_counter()
    start = None if relax else _round_and_fix(inst, lm, options or SolveOptions())
    bound = -np.inf
    if lp_bound and not relax and "trips" in lm.blocks:
        # the MIP's own root LP can be slow with trucks; an interior-point LP gives the bound quickly
        lp = lm.solve(dataclasses.replace(_remaining(options, t0) or SolveOptions(), lp_method="ipm"), relax=True)
        bound = lp.objective if lp.x is not None else -np.inf
    heur_s = time.perf_counter() - th
    sol = lm.solve(_remaining(options, t0), relax=relax, start=start)
    if sol.x is not None and bound > sol.report.bound:
        gap = abs(sol.report.objective - bound) / max(abs(sol.report.objective), 1e-9)
        sol = dataclasses.replace(sol, report=dataclasses.replace(sol.report, bound=bound, gap=gap))
    if sol.status == SolveStatus.INFEASIBLE:
        if not allow_lost:
            raise InfeasibleError(where + _why_short(inst, relax, options))
        raise InfeasibleError(where + "the operations model is infeasible (check racks, initial state and truck times)")
    if sol.x is None:
        raise InfeasibleError(f"{where}no feasible schedule found ({sol.status.value}); give more time")
    return sol, lm, build_s + sol.report.build_seconds, heur_s + sol.report.solve_seconds


# ---------------------------------------------------------------------- rolling horizon
def _trip_flows(inst: _Instance, tp: _Trips) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Net charged and depleted packs each departure delivers per station and period (N, T), and the
    trucks busy per period (T,), for trips within a horizon that is not cyclic."""
    N, T = inst.N, inst.T
    df = np.zeros((N, T))
    dg = np.zeros((N, T))
    busy = np.zeros(T)
    a, b = inst.pa[tp.pair], inst.pb[tp.pair]
    mid = tp.dep + inst.theta[tp.pair]
    end = tp.dep + inst.round_trip[tp.pair]
    ld = tp.loads
    for arr, out_a, into_b, out_b, into_a in (
        (df, ld["out_charged"], ld["out_charged"], ld["back_charged"], ld["back_charged"]),
        (dg, ld["out_depleted"], ld["out_depleted"], ld["back_depleted"], ld["back_depleted"]),
    ):
        np.add.at(arr, (a, tp.dep), -out_a)
        np.add.at(arr, (b, mid), into_b)
        np.add.at(arr, (b, mid), -out_b)
        np.add.at(arr, (a, end), into_a)
    for i in range(tp.dep.size):
        busy[tp.dep[i] : end[i]] += tp.k[i]
    return df, dg, busy


def _window(
    inst: _Instance,
    t0: int,
    h: int,
    state: tuple[FloatArray, FloatArray, FloatArray | None],
    flows: tuple[FloatArray, FloatArray, FloatArray],
    peak_floor: float,
) -> _Instance:
    """Periods ``t0 .. t0 + h - 1`` of ``inst`` starting from a carried-over state.

    ``state`` is (charged, depleted, starts of the previous Lmax periods); ``flows`` the net charged
    and depleted deliveries and busy trucks of trips already under way, over the whole horizon.
    """
    sl = slice(t0, t0 + h)
    F0, E0, hist = state
    df, dg, busy = flows
    deps = inst.deps[(inst.deps >= t0) & (inst.deps < t0 + h)] - t0
    return dataclasses.replace(
        inst,
        demand=inst.demand[:, sl],
        price=inst.price[sl],
        T=h,
        F0=F0,
        E0=E0,
        hist=hist,
        fixed_f=df[:, sl],
        fixed_g=dg[:, sl],
        fixed_busy=busy[sl],
        fixed_road_end=0.0,  # trips committed earlier all end inside the window (see _plan_rolling)
        peak_floor=peak_floor,
        deps=deps,
    )


def _plan_rolling(
    inst: _Instance,
    horizon: int | None,
    step: int | None,
    *,
    relax: bool,
    allow_lost: bool,
    options: SolveOptions | None,
) -> OperationsPlan:
    """Solve windows of ``horizon`` periods, keep the first ``step`` of each, carry the state over.

    The state carried into the next window is exact: charged and depleted packs at each station,
    the starts of the last Lmax periods (packs still on chargers, with their remaining power profile
    and completion period), and every committed truck trip (loads still to be delivered, trucks
    still busy). A window's round trips must end inside it, so trips committed by one window end
    before the end of the next: nothing is on the road at a window's end that the window did not
    decide itself.
    """
    T, N = inst.T, inst.N
    if inst.cyclic:
        raise InvalidInputError("cyclic", True, "a rolling horizon needs a given start state: pass cyclic=False")
    if horizon is None or isinstance(horizon, bool) or int(horizon) != horizon or horizon < 1:
        raise InvalidInputError("horizon", horizon, "must be a positive whole number of periods")
    step = horizon if step is None else step
    if isinstance(step, bool) or int(step) != step or not (1 <= step <= horizon):
        raise InvalidInputError("step", step, f"must be a whole number of periods in 1..horizon={horizon}")
    horizon, step = int(horizon), int(step)
    Lmax = inst.prof.shape[1]
    n, x, F, E = (np.zeros((N, T)) for _ in range(4))
    df, dg, busy = np.zeros((N, T)), np.zeros((N, T)), np.zeros(T)
    parts: list[_Trips] = []
    Fc, Ec = inst.F0.copy(), inst.batteries - inst.F0
    windows: list[dict[str, Any]] = []
    build_s = solve_s = 0.0
    biggest: SolveReport | None = None
    t0 = 0
    while t0 < T:
        h = min(horizon, T - t0)
        keep = h if t0 + h >= T else step
        hist = None
        if t0 > 0:
            hist = np.zeros((N, Lmax))
            lo = max(t0 - Lmax, 0)
            hist[:, Lmax - (t0 - lo) :] = n[:, lo:t0]
        peak_floor = 0.0
        if inst.demand_charge > 0 and t0 > 0:
            peak_floor = float(_pipeline(inst, n)[1][:, :t0].sum(axis=0).max(initial=0.0))
        w = _window(inst, t0, h, (Fc, Ec, hist), (df, dg, busy), peak_floor)
        where = f"rolling window at periods {t0}..{t0 + h - 1} (periods below relative to it): "
        sol, lm, b_s, s_s = _solve(w, relax, allow_lost, options, time.perf_counter(), lp_bound=True, where=where)
        build_s += b_s
        solve_s += s_s
        sl = slice(t0, t0 + keep)
        for arr, name in ((n, "start"), (x, "served"), (F, "charged"), (E, "depleted")):
            arr[:, sl] = sol.values(name)[:, :keep]
        tp = _solution_trips(w, sol, lm, relax)
        tp = tp.take(tp.dep < keep)
        tp = dataclasses.replace(tp, dep=tp.dep + t0)
        if tp.dep.size:
            parts.append(tp)
            f1, g1, b1 = _trip_flows(inst, tp)
            df += f1
            dg += g1
            busy += b1
        r = sol.report
        windows.append(
            {"start": t0, "periods": h, "kept": keep, "status": r.status.value, "objective": r.objective, "gap": r.gap}
        )
        if biggest is None or r.n_nonzeros > biggest.n_nonzeros:
            biggest = r
        Fc, Ec = F[:, t0 + keep - 1].copy(), E[:, t0 + keep - 1].copy()
        t0 += keep
    assert biggest is not None
    # the bound: LP relaxation of the monolithic model over the whole horizon
    tb = time.perf_counter()
    # (interior point, within the time limit times the number of windows; NaN bound if not reached)
    opts = options or SolveOptions()
    limit = None if opts.time_limit is None else opts.time_limit * len(windows)
    lp = _build(inst, relax=True).solve(dataclasses.replace(opts, lp_method="ipm", time_limit=limit), relax=True)
    bound_s = time.perf_counter() - tb
    tps = _Trips.concat(parts) if inst.fleet is not None else None
    if tps is not None and tps.dep.size:
        order = np.lexsort((tps.pair, tps.dep))
        tps = tps.take(order)
    status = SolveStatus(windows[0]["status"]) if len(windows) == 1 else SolveStatus.FEASIBLE
    report = dataclasses.replace(
        biggest, status=status, build_seconds=build_s, solve_seconds=solve_s + bound_s, bound=lp.objective
    )
    plan = _assemble(
        inst,
        (n, x, F, E),
        tps,
        report,
        build_s,
        solve_s + bound_s,
        relax,
        {
            "rows": biggest.n_rows,
            "cols": biggest.n_cols,
            "nonzeros": biggest.n_nonzeros,
            "horizon": horizon,
            "step": step,
            "windows": tuple(MappingProxyType(wd) for wd in windows),
            "bound": "LP relaxation of the monolithic model over the whole horizon",
            "gap": "(stitched cost - bound) / stitched cost: how far the rolling plan can be from the "
            "monolithic optimum at most (includes that LP's own integrality gap)",
        },
    )
    gap = abs(plan.objective - lp.objective) / max(abs(plan.objective), 1e-9) if lp.x is not None else float("inf")
    report = dataclasses.replace(report, objective=plan.objective, gap=gap)
    return dataclasses.replace(plan, bound=lp.objective, gap=gap, status=status, report=report)


def _remaining(options: SolveOptions | None, t0: float) -> SolveOptions | None:
    """``options`` with the time limit reduced by the time already spent since ``t0``."""
    if options is None or options.time_limit is None:
        return options
    left = max(options.time_limit - (time.perf_counter() - t0), 1.0)
    return dataclasses.replace(options, time_limit=left)


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


def _round_and_fix(inst: _Instance, lm: LinearModel, opts: SolveOptions) -> FloatArray | None:
    """A feasible schedule to warm-start the MIP, station by station from the LP's neighbourhood.

    Without trucks and network-wide peak terms the stations decouple. For each station the LP
    relaxation is solved, then a small MIP in which each charging start may only take the floor or
    the ceiling of its LP value. The stations' schedules, with idle trucks, form the start of the
    full MIP (when a network peak cap makes it infeasible, the solver just ignores it). Returns
    ``None`` when a station's small MIP finds nothing.
    """
    N, T = inst.N, inst.T
    budget = None if opts.time_limit is None else max(0.2 * opts.time_limit / max(N, 1), 0.2)
    sub_opts = dataclasses.replace(opts, time_limit=budget, mip_gap=max(opts.mip_gap, 1e-3), log=False)
    served_lb = lm.arrays()[1][lm.block("served").index]
    x0 = np.zeros(lm.n_cols)
    peak = np.zeros(T)
    for s in range(N):
        one = _station_slice(inst, s)
        m1 = _build(one)
        m1.set_bounds(m1.block("served").index, lb=served_lb[s])
        lp = m1.solve(sub_opts, relax=True)
        if lp.x is None:
            return None
        n_star = lp.values("start")
        m1.set_bounds(m1.block("start").index, lb=np.floor(n_star + 1e-6), ub=np.ceil(n_star - 1e-6))
        sub = m1.solve(sub_opts)
        if sub.x is None:
            return None
        for name in ("start", "served", "charged", "depleted", "history"):
            if name in m1.blocks:
                x0[lm.block(name).index[s]] = sub.values(name)[0]
        hist = m1.block("history").index if "history" in m1.blocks else None
        r, c, v = _lagged(one, m1.block("start").index, one.prof, hist)
        kw = np.zeros(T)
        np.add.at(kw, r, v * sub.x[c])
        peak += kw
    if "peak_kw" in lm.blocks:
        x0[lm.block("peak_kw").start] = max(peak.max(initial=0.0), inst.peak_floor)
    return x0


def _why_short(inst: _Instance, relax: bool, options: SolveOptions | None) -> str:
    sol = _build(inst, relax).solve(options, relax=relax)
    if sol.x is None:
        return "no-loss requirement cannot be met (and the relaxed model has no solution either)"
    lost = inst.demand - sol.values("served")
    s, t = np.argwhere(lost > 1e-6)[0] if (lost > 1e-6).any() else (0, 0)
    return (
        f"no-loss requirement cannot be met: station {inst.labels[s]!r} falls short by {lost[s, t]:.3g} swaps "
        f"in period {t} (and {float(lost.sum()):.3g} swaps in all)"
    )


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


def _result(inst: _Instance, sol: Any, lm: LinearModel, build_s: float, solve_s: float, relax: bool) -> OperationsPlan:
    r = sol.report
    return _assemble(
        inst,
        (sol.values("start"), sol.values("served"), sol.values("charged"), sol.values("depleted")),
        _solution_trips(inst, sol, lm, relax) if inst.fleet is not None else None,
        r,
        build_s,
        solve_s,
        relax,
        {"rows": r.n_rows, "cols": r.n_cols, "nonzeros": r.n_nonzeros},
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
