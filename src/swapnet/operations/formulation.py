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

Constraints (one ``define_<family>`` function each, see :data:`FAMILIES`)
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
* whole swaps (cyclic horizons, a valid inequality, see :func:`define_whole_swaps`):
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

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from swapnet.errors import InvalidInputError
from swapnet.operations.instance import (
    _LOADS,
    FloatArray,
    IntArray,
    _departure_ok,
    _energy_cost,
    _history_cost,
    _Instance,
    _on_road_at_end,
)
from swapnet.optim import LinearModel
from swapnet.optim.model import VarBlock

__all__ = [
    "FAMILIES",
    "Columns",
    "build_model",
    "define_charged_balance",
    "define_chargers",
    "define_conservation",
    "define_depleted_balance",
    "define_fleet",
    "define_grid",
    "define_peak",
    "define_racks",
    "define_truck_load",
    "define_variables",
    "define_whole_swaps",
]


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


@dataclass(frozen=True)
class Columns:
    """The model's variable blocks (see :func:`define_variables`)."""

    start: VarBlock
    served: VarBlock
    charged: VarBlock
    depleted: VarBlock
    history: IntArray | None = None
    trips: VarBlock | None = None
    loads: Mapping[str, VarBlock] = field(default_factory=dict)

    @property
    def trucks(self) -> bool:
        """Whether the model has truck columns."""
        return self.trips is not None


def _grid(inst: _Instance) -> tuple[IntArray, IntArray, IntArray]:
    """(N, T) station and period indices and the flat row ``s * T + t``."""
    s_idx, t_idx = np.meshgrid(np.arange(inst.N), np.arange(inst.T), indexing="ij")
    return s_idx, t_idx, (s_idx * inst.T + t_idx).ravel()


def define_variables(lm: LinearModel, inst: _Instance, relax: bool = False) -> Columns:
    r"""Columns and objective.

    :math:`n_{st} \in \{0..C_s\}` (cost: the exact energy of a charge started in :math:`t` at that
    period's prices, plus degradation), :math:`x_{st} \in [0, \min(d_{st}, \text{bays}_s)]` (cost
    :math:`-\lambda`, with the offset :math:`\lambda \sum d` the lost swaps cost :math:`\lambda
    \sum (d - x)`), :math:`F_{st}, E_{st} \in [0, B_s]`; a rolling window's charges still running
    (``history``, fixed). With trucks: trips :math:`k_{abt} \in \{0..K\}` at
    :math:`c_{\text{trip}} + c_{\text{km}} \ell_{ab}` each, and loads out and back
    :math:`\in \{0..Q\}` (0 where the round trip would leave a non-cyclic horizon).
    """
    N, T = inst.N, inst.T
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
    P, D = len(inst.pa), len(inst.deps)
    if inst.fleet is None or P == 0 or D == 0:
        return Columns(start, served, full, empty, hist)
    q = inst.fleet.capacity
    trip_cost = inst.fleet.cost_per_trip + inst.fleet.cost_per_km * inst.km
    trips = lm.add_vars(
        "trips", (P, D), ub=inst.fleet.count, cost=np.broadcast_to(trip_cost[:, None], (P, D)), integer=not relax
    )
    # round trips a -> b -> a: loads out (charged, depleted) and loads back
    lub = np.where(_departure_ok(inst), float(q), 0.0)
    loads = {nm: lm.add_vars(nm, (P, D), ub=lub, integer=not relax) for nm in _LOADS}
    return Columns(start, served, full, empty, hist, trips, loads)


def _truck_terms(inst: _Instance, cols: Columns, kind: str) -> tuple[IntArray, IntArray, FloatArray]:
    """Balance triplets of the loads of ``kind`` ("charged"/"depleted"): out of a at d, into b at
    d + theta_ab; back out of b at d + theta_ab, into a at d + round trip."""
    if not cols.trucks:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    T = inst.T
    P, D = len(inst.pa), len(inst.deps)
    dep = np.broadcast_to(inst.deps[None, :], (P, D))
    mid = dep + inst.theta[:, None]
    end = dep + inst.round_trip[:, None]
    pa = np.broadcast_to(inst.pa[:, None], (P, D))
    pb = np.broadcast_to(inst.pb[:, None], (P, D))
    ok = _departure_ok(inst)
    out, back = cols.loads[f"out_{kind}"].index, cols.loads[f"back_{kind}"].index
    rows = [pa * T + dep, pb * T + mid % T, pb * T + mid % T, pa * T + end % T]
    cc = [out, out, back, back]
    sign = [1.0, -1.0, 1.0, -1.0]
    return (
        np.concatenate([r[ok] for r in rows]),
        np.concatenate([c[ok] for c in cc]),
        np.concatenate([np.full(int(ok.sum()), v) for v in sign]),
    )


def _previous(inst: _Instance, block: VarBlock) -> tuple[NDArray[np.bool_], IntArray]:
    """Which (s, t) have a previous period in the horizon, and that period's column (flat)."""
    s_idx, t_idx, _ = _grid(inst)
    prev = (t_idx - 1) % inst.T if inst.cyclic else t_idx - 1
    has_prev = (np.ones((inst.N, inst.T), bool) if inst.cyclic else prev >= 0).ravel()
    return has_prev, block.index[s_idx, np.maximum(prev, 0)].ravel()


def _start_rhs(inst: _Instance, state: FloatArray, fixed: FloatArray | None) -> FloatArray:
    """Right-hand side of a balance: the start state in period 0 (not cyclic) plus fixed deliveries."""
    t_idx = _grid(inst)[1]
    rhs = np.where(t_idx == 0, 0.0 if inst.cyclic else 1.0, 0.0) * state[:, None]
    return rhs if fixed is None else rhs + fixed


def define_charged_balance(lm: LinearModel, inst: _Instance, cols: Columns) -> None:
    r"""Charged packs: :math:`F_{st} = F_{s,t-1} + n_{s,t-L_s} - x_{st} - \sum_b f_{sbt} + \sum_a
    f_{a,s,t-\theta_{as}}`.

    Period :math:`t-1` wraps to :math:`T-1` on a cyclic horizon; otherwise :math:`F_{s,-1} = F^0_s`
    (the right-hand side) and charges started before the horizon come from ``history`` (or, on a
    fresh start, none). Truck loads leave :math:`a` at departure, arrive at :math:`b` after
    :math:`\theta_{ab}`, and the loads carried back arrive at :math:`a` at the end of the round
    trip; deliveries of trips committed earlier are part of the right-hand side.
    """
    N, T = inst.N, inst.T
    s_idx, t_idx, row = _grid(inst)
    has_prev, prev_col = _previous(inst, cols.charged)
    done_src = t_idx - inst.L[:, None]
    hist = cols.history
    done_ok = np.ones((N, T), bool) if inst.cyclic or hist is not None else done_src >= 0
    if hist is not None:
        done_col = np.where(
            done_src >= 0,
            cols.start.index[s_idx, np.maximum(done_src, 0)],
            hist[s_idx, np.minimum(done_src, -1) + inst.prof.shape[1]],
        )
    else:
        done_col = cols.start.index[s_idx, done_src % T]
    rhs = _start_rhs(inst, inst.F0, inst.fixed_f).ravel()
    tr, tc, tv = _truck_terms(inst, cols, "charged")
    lm.add_constraints(
        "charged_balance",
        rows=np.concatenate([row, row[has_prev], row[done_ok.ravel()], row, tr]),
        cols=np.concatenate(
            [cols.charged.index.ravel(), prev_col[has_prev], done_col[done_ok], cols.served.index.ravel(), tc]
        ),
        vals=np.concatenate(
            [np.ones(N * T), -np.ones(int(has_prev.sum())), -np.ones(int(done_ok.sum())), np.ones(N * T), tv]
        ),
        lo=rhs,
        hi=rhs,
        n=N * T,
    )


def define_depleted_balance(lm: LinearModel, inst: _Instance, cols: Columns) -> None:
    r"""Depleted packs: :math:`E_{st} = E_{s,t-1} + x_{st} - n_{st} - \sum_b g_{sbt} + \sum_a
    g_{a,s,t-\theta_{as}}`.

    A swap turns a charged pack into a depleted one; a charge start takes a depleted pack onto a
    charger. :math:`E_{s,-1} = B_s - F^0_s` on a fresh start (or the carried-over state).
    """
    N, T = inst.N, inst.T
    row = _grid(inst)[2]
    has_prev, prev_col = _previous(inst, cols.depleted)
    E0 = inst.batteries - inst.F0 if inst.E0 is None else inst.E0
    rhs = _start_rhs(inst, E0, inst.fixed_g).ravel()
    tr, tc, tv = _truck_terms(inst, cols, "depleted")
    lm.add_constraints(
        "depleted_balance",
        rows=np.concatenate([row, row[has_prev], row, row, tr]),
        cols=np.concatenate(
            [cols.depleted.index.ravel(), prev_col[has_prev], cols.served.index.ravel(), cols.start.index.ravel(), tc]
        ),
        vals=np.concatenate([np.ones(N * T), -np.ones(int(has_prev.sum())), -np.ones(N * T), np.ones(N * T), tv]),
        lo=rhs,
        hi=rhs,
        n=N * T,
    )


def define_chargers(lm: LinearModel, inst: _Instance, cols: Columns) -> None:
    r"""Chargers in use: :math:`\sum_{j<L_s} n_{s,t-j} \le C_s` (a pack holds a charger for
    :math:`L_s` periods from its start)."""
    r, c, v = _lagged(inst, cols.start.index, None, cols.history)
    lm.add_constraints("chargers", rows=r, cols=c, vals=v, hi=np.repeat(inst.chargers, inst.T), n=inst.N * inst.T)


def define_grid(lm: LinearModel, inst: _Instance, cols: Columns) -> None:
    r"""Grid connection: :math:`\sum_{j<L_s} p_{sj}\, n_{s,t-j} \le G_s`, with :math:`p_{sj}` the
    kW a charge draws in its :math:`j`-th period; only at stations whose chargers could exceed it
    (:math:`C_s p_{s0} > G_s`)."""
    T = inst.T
    tight = inst.chargers * inst.prof[:, 0] > inst.grid + 1e-9
    if not tight.any():
        return
    r, c, v = _lagged(inst, cols.start.index, inst.prof, cols.history)
    keep = tight[r // T]
    sel = np.flatnonzero(tight)
    remap = np.full(inst.N, -1)
    remap[sel] = np.arange(sel.size)
    rr = remap[r[keep] // T] * T + r[keep] % T
    lm.add_constraints("grid", rows=rr, cols=c[keep], vals=v[keep], hi=np.repeat(inst.grid[sel], T), n=sel.size * T)


def define_racks(lm: LinearModel, inst: _Instance, cols: Columns) -> None:
    r"""Racks (with trucks): :math:`F_{st} + E_{st} + \sum_{j<L_s} n_{s,t-j} \le B_s`.

    Without trucks a station's packs are constant (the balances conserve them and
    :func:`define_conservation` fixes the total), so the rack limit holds by itself.
    """
    if cols.trucks:
        _add_racks(lm, inst, cols)


def _add_racks(lm: LinearModel, inst: _Instance, cols: Columns) -> None:
    """The rows of :func:`define_racks` (also those of relaxations that move packs between stations)."""
    N, T = inst.N, inst.T
    row = _grid(inst)[2]
    r, c, v = _lagged(inst, cols.start.index, None, cols.history)
    lm.add_constraints(
        "racks",
        rows=np.concatenate([row, row, r]),
        cols=np.concatenate([cols.charged.index.ravel(), cols.depleted.index.ravel(), c]),
        vals=np.concatenate([np.ones(2 * N * T), v]),
        hi=np.repeat(inst.batteries, T),
        n=N * T,
    )


def _held(inst: _Instance) -> FloatArray:
    """Packs each station ends the horizon with when trucks move nothing more (N,): :math:`B_s` on a
    cyclic horizon; else what it holds at the start (charged, depleted and on its chargers, see
    :attr:`~swapnet.operations.instance._Instance.hist`) plus the net deliveries of trips already
    under way. On a fresh start that is :math:`B_s`; in a later rolling window trucks may have moved
    packs, and a station on its own (the heuristics' subproblems) keeps what it has."""
    if inst.cyclic:
        return inst.batteries
    E0 = inst.batteries - inst.F0 if inst.E0 is None else inst.E0
    held = inst.F0 + E0
    if inst.hist is not None:  # started in period k - Lmax, still on a charger in period -1 if k >= Lmax - L_s
        Lmax = inst.hist.shape[1]
        on = np.arange(Lmax)[None, :] >= Lmax - inst.L[:, None]
        held = held + (inst.hist * on).sum(axis=1)
    for fixed in (inst.fixed_f, inst.fixed_g):
        if fixed is not None:
            held = held + fixed.sum(axis=1)
    return np.asarray(held, dtype=float)


def define_conservation(lm: LinearModel, inst: _Instance, cols: Columns) -> None:
    r"""Packs are conserved: at the end of the horizon
    :math:`F_{s,T-1} + E_{s,T-1} + \sum_{j<L_s} n_{s,T-1-j} = H_s` per station (no trucks), or
    :math:`\sum_s (\dots) + \text{packs on the road} = \sum_s H_s` (with trucks), where :math:`H_s`
    is :math:`B_s` on a cyclic horizon or a fresh start, and in a later rolling window what the
    station holds at the start plus the net deliveries of trips already under way (:func:`_held`).

    The balances carry each station's total unchanged from period to period apart from truck
    loads, so one row per station (or one for the network) suffices.
    """
    N, T = inst.N, inst.T
    t_idx = _grid(inst)[1]
    r, c, _ = _lagged(inst, cols.start.index, None, cols.history)
    last = t_idx.ravel() == T - 1
    sel_r = np.isin(r, np.flatnonzero(last))
    if not cols.trucks:
        held = _held(inst)
        lm.add_constraints(
            "conservation",
            rows=np.concatenate([np.arange(N), np.arange(N), r[sel_r] // T]),
            cols=np.concatenate([cols.charged.index[:, T - 1], cols.depleted.index[:, T - 1], c[sel_r]]),
            vals=1.0,
            lo=held,
            hi=held,
            n=N,
        )
        return
    out_road, back_road = _on_road_at_end(inst)
    tcols = np.concatenate(
        [cols.loads[f"out_{k}"].index[out_road] for k in ("charged", "depleted")]
        + [cols.loads[f"back_{k}"].index[back_road] for k in ("charged", "depleted")]
    )
    total = float(_held(inst).sum()) - inst.fixed_road_end
    lm.add_constraints(
        "conservation",
        rows=np.zeros(2 * N + int(sel_r.sum()) + tcols.size, dtype=np.int64),
        cols=np.concatenate([cols.charged.index[:, T - 1], cols.depleted.index[:, T - 1], c[sel_r], tcols]),
        vals=1.0,
        lo=total,
        hi=total,
        n=1,
    )


def define_fleet(lm: LinearModel, inst: _Instance, cols: Columns) -> None:
    r"""Fleet size: trucks busy in period :math:`t`,
    :math:`\sum_{(a,b)} \sum_{d \le t < d + \theta_{ab} + \theta_{ba}} k_{abd} \le K` (less the
    trucks still busy on trips committed earlier)."""
    if cols.trips is None:
        return
    assert inst.fleet is not None
    T = inst.T
    P, D = len(inst.pa), len(inst.deps)
    dep = np.broadcast_to(inst.deps[None, :], (P, D))
    busy_r, busy_c = [], []
    for k in range(int(inst.round_trip.max())):
        ok = k < inst.round_trip[:, None]
        tt = dep + k
        ok = ok & (tt < T) if not inst.cyclic else ok
        busy_r.append((tt % T)[np.broadcast_to(ok, (P, D))])
        busy_c.append(cols.trips.index[np.broadcast_to(ok, (P, D))])
    free = float(inst.fleet.count) - (np.zeros(T) if inst.fixed_busy is None else inst.fixed_busy)
    lm.add_constraints("fleet", rows=np.concatenate(busy_r), cols=np.concatenate(busy_c), vals=1.0, hi=free, n=T)


def define_truck_load(lm: LinearModel, inst: _Instance, cols: Columns) -> None:
    r"""Truck capacity: :math:`f_{abt} + g_{abt} \le Q k_{abt}` on the way out and the same for
    the loads carried back (families ``truck_load_out`` and ``truck_load_back``)."""
    if cols.trips is None:
        return
    assert inst.fleet is not None
    q = float(inst.fleet.capacity)
    PD = cols.trips.size
    for leg in ("out", "back"):
        lm.add_constraints(
            f"truck_load_{leg}",
            rows=np.tile(np.arange(PD), 3),
            cols=np.concatenate(
                [
                    cols.loads[f"{leg}_charged"].index.ravel(),
                    cols.loads[f"{leg}_depleted"].index.ravel(),
                    cols.trips.index.ravel(),
                ]
            ),
            vals=np.concatenate([np.ones(2 * PD), np.full(PD, -q)]),
            hi=0.0,
            n=PD,
        )


def define_peak(lm: LinearModel, inst: _Instance, cols: Columns) -> None:
    r"""Network peak: :math:`\sum_s \sum_{j<L_s} p_{sj} n_{s,t-j} \le P^{\max}` in every period.

    :math:`P^{\max}` is the limit (``peak_kw_limit``) or, with a demand charge :math:`\gamma`, a
    variable ``peak_kw`` costing :math:`\gamma` per kW, at least the peak already reached
    (``peak_floor``) and at most the limit.
    """
    if inst.peak_limit is None and inst.demand_charge <= 0:
        return
    T = inst.T
    r, c, v = _lagged(inst, cols.start.index, inst.prof, cols.history)
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
        assert inst.peak_limit is not None
        lm.add_constraints("peak", rows=tt, cols=c, vals=v, hi=float(inst.peak_limit), n=T)


def define_whole_swaps(lm: LinearModel, inst: _Instance, cols: Columns) -> None:
    r"""Whole served swaps per cyclic horizon (a valid inequality; only with ``inst.strengthen``).

    Summing the depleted balance of station :math:`s` over a cyclic horizon, the inventory terms
    cancel: :math:`\sum_t x_{st} = \sum_t n_{st} + \sum_t (\text{out}^E_{st} - \text{in}^E_{st})`.
    Starts and truck loads are integers, so every integer schedule serves a *whole* number of swaps
    per station and horizon, and :math:`\sum_t x_{st} \le \lfloor \sum_t \min(d_{st},
    \text{bay capacity}) \rfloor`. The LP relaxation, with fractional packs, serves the fractional
    remainder too; this cut charges the penalty for it (up to one lost swap per station). Without a
    cyclic horizon the end inventory is free to be fractional and the cut would not be valid.
    """
    if not inst.cyclic or not inst.strengthen:
        return
    N, T = inst.N, inst.T
    cap = np.minimum(inst.demand, inst.swap_cap[:, None]).sum(axis=1)
    lm.add_constraints(
        "whole_swaps",
        rows=np.repeat(np.arange(N), T),
        cols=cols.served.index.ravel(),
        vals=1.0,
        hi=np.floor(cap + 1e-9),
        n=N,
    )


Family = Callable[[LinearModel, _Instance, Columns], None]

FAMILIES: Mapping[str, Family] = MappingProxyType(
    {
        "charged_balance": define_charged_balance,
        "depleted_balance": define_depleted_balance,
        "chargers": define_chargers,
        "grid": define_grid,
        "racks": define_racks,
        "conservation": define_conservation,
        "fleet": define_fleet,
        "truck_load": define_truck_load,
        "peak": define_peak,
        "whole_swaps": define_whole_swaps,
    }
)
"""Every constraint family, in build order (name -> define function). Each has a golden test."""


def build_model(inst: _Instance, relax: bool = False, *, skip: Collection[str] = ()) -> LinearModel:
    """The operations MILP (or its LP relaxation): the columns, then every family of :data:`FAMILIES`.

    ``skip`` leaves families out (only the golden tests do that: they show each family binds).
    """
    unknown = set(skip) - set(FAMILIES)
    if unknown:
        raise InvalidInputError("skip", sorted(unknown), f"unknown constraint families; known: {sorted(FAMILIES)}")
    lm = LinearModel("operations")
    cols = define_variables(lm, inst, relax)
    for name, define in FAMILIES.items():
        if name not in skip:
            define(lm, inst, cols)
    return lm


_build = build_model
