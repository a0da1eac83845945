r"""The road-pool relaxation: a lower bound with trucks that keeps every station apart.

Trucks make the operations model hard (integer trips, loads and travel times couple every
station), and its root LP is slow. This relaxation keeps each station's own rows exactly (charged
and depleted balances, chargers, grid, racks, whole swaps, the network peak) and replaces the trucks
by one **pool** -- "the road" -- that every station with a truck partner may hand packs to and take
packs from in any period. The pool holds charged and depleted packs (inventories :math:`R^F_t,
R^E_t \ge 0`) for free and delivers them at once or later.

Columns: hand-overs :math:`u^F_{st}, u^E_{st} \ge 0` (station to pool) and take-overs
:math:`w^F_{st}, w^E_{st} \ge 0` (pool to station). Rows added to the station model:

* balances: :math:`+u^F_{st} - w^F_{st}` in the charged balance of :math:`(s, t)` and
  :math:`+u^E_{st} - w^E_{st}` in the depleted one (the trucks' terms, with the pool as partner);
* pool: :math:`R^F_t = R^F_{t-1} + \sum_s (u^F_{st} - w^F_{st})`, the same for :math:`R^E`
  (cyclic, or from an empty pool);
* conservation: the stations' packs at the end plus :math:`R^F_{T-1} + R^E_{T-1}` hold the
  network's packs (the packs on the road at the end are the pool's);
* fleet window: :math:`\sum_{t-\theta_1 < t' \le t} \sum_s (u^F_{st'} + u^E_{st'}) \le 2Q(K -
  \text{busy}_t)`, with :math:`\theta_1` the shortest one-way trip;
* fleet total: :math:`\sum_{st} (u^F_{st} + u^E_{st}) \le 2Q \sum_t (K - \text{busy}_t) / \rho`,
  with :math:`\rho` the shortest round trip.

Each hand-over at station :math:`s` costs :math:`r_s = \min_{(s, b)} c_{sb} / (2Q)`, the cheapest
trip :math:`c_{sb} = c_{\text{trip}} + c_{\text{km}} \ell_{sb}` from :math:`s` per pack it can carry
on its two legs.

Why it is a relaxation: map a truck plan to the pool. A trip :math:`(a, b)` leaving at :math:`d`
hands its outbound loads over at :math:`a` in :math:`d`, the pool delivers them to :math:`b` at
:math:`d + \theta_{ab}`; the loads carried back are handed over at :math:`b` then and delivered to
:math:`a` at :math:`d + \theta_{ab} + \theta_{ba}`. The stations' rows are unchanged, the pool's
inventory is the packs on the road (non-negative, conserved), and a trip carries at most :math:`Q`
packs a leg, so its hand-overs cost at most :math:`Q r_a + Q r_b \le c_{ab}` -- what the trip costs.
A trip with a hand-over in the window :math:`(t - \theta_1, t]` is on the road in period
:math:`t` (a trip is busy from its departure to its return, and each leg lasts at least
:math:`\theta_1`), so at most :math:`K - \text{busy}_t` trips hand over in that window, at most
:math:`2Q` packs each; and trips occupy at most :math:`\sum_t (K - \text{busy}_t)` truck-periods,
at least :math:`\rho` each. Every cost term of the truck model is thus matched or undercut, and the
relaxation's optimum is a valid lower bound of the operations optimum.

Its LP has about :math:`8NT` columns and no trip variables; on the national-car instance (30
stations x 96 periods, 23,232 columns) it solved in 1.3-2.1 s (measured, load 1-2.4), where the
truck model's root LP took 11.4 s.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from swapnet.operations.formulation import FAMILIES, _add_racks, _held, _lagged, define_variables
from swapnet.operations.instance import _departure_ok, _Instance
from swapnet.operations.station_cuts import cut_bound
from swapnet.optim import LinearModel, SolveOptions

__all__ = ["road_pool_bound", "road_pool_model"]


def _without_trucks(inst: _Instance) -> _Instance:
    """``inst`` with its truck columns removed (the stations' rows and the network peak stay)."""
    empty = np.zeros(0, dtype=np.int64)
    return dataclasses.replace(
        inst, pa=empty, pb=empty, theta=empty, round_trip=empty, km=np.zeros(0), deps=empty, fleet=None
    )


_KINDS = ("charged", "depleted")


def _when(inst: _Instance) -> tuple[np.ndarray, np.ndarray]:
    r"""(N, T) masks of the periods in which a station may hand packs over and take them.

    A trip :math:`(a, b)` leaving in an allowed departure period :math:`d` hands over at :math:`a` in
    :math:`d` and at :math:`b` in :math:`d + \theta_{ab}` (its load back), and delivers at :math:`b` in
    :math:`d + \theta_{ab}` and at :math:`a` in :math:`d + \theta_{ab} + \theta_{ba}`.
    """
    N, T = inst.N, inst.T
    ok = _departure_ok(inst)
    P, D = ok.shape
    dep = np.broadcast_to(inst.deps[None, :], (P, D))
    mid = dep + inst.theta[:, None]
    end = dep + inst.round_trip[:, None]
    a = np.broadcast_to(inst.pa[:, None], (P, D))
    b = np.broadcast_to(inst.pb[:, None], (P, D))
    hand = np.zeros((N, T), bool)
    take = np.zeros((N, T), bool)
    hand[a[ok], dep[ok] % T] = True
    hand[b[ok], mid[ok] % T] = True
    take[b[ok], mid[ok] % T] = True
    take[a[ok], end[ok] % T] = True
    return hand, take


def road_pool_model(inst: _Instance, relax: bool = True) -> LinearModel | None:
    """The road-pool relaxation of ``inst``: its LP, or with ``relax=False`` its MIP (integer charge
    starts; ``None`` without trucks: there is nothing to relax)."""
    fleet = inst.fleet
    if fleet is None or fleet.count == 0 or len(inst.pa) == 0:
        return None
    N, T = inst.N, inst.T
    q = float(fleet.capacity)
    base = _without_trucks(inst)
    lm = LinearModel("operations road pool")
    cols = define_variables(lm, base, relax=relax)
    for name, define in FAMILIES.items():
        if name != "conservation":  # the network's, with the pool, below
            define(lm, base, cols)
    _add_racks(lm, base, cols)
    trip = fleet.cost_per_trip + fleet.cost_per_km * inst.km
    rate = np.full(N, np.inf)
    np.minimum.at(rate, inst.pa, trip / (2.0 * q))
    send_cost = np.where(np.isfinite(rate), rate, 0.0)[:, None] * np.ones((1, T))
    hand_ok, take_ok = _when(inst)
    bat = inst.batteries[:, None]
    u = {k: lm.add_vars(f"hand_{k}", (N, T), ub=np.where(hand_ok, bat, 0.0), cost=send_cost) for k in _KINDS}
    w = {k: lm.add_vars(f"take_{k}", (N, T), ub=np.where(take_ok, bat, 0.0)) for k in _KINDS}
    pool = {k: lm.add_vars(f"pool_{k}", T) for k in _KINDS}
    flat = np.arange(N * T)
    t_of = np.tile(np.arange(T), N)
    prev = np.arange(T) - 1
    has_prev = np.ones(T, bool) if inst.cyclic else prev >= 0
    for k in _KINDS:
        lm.add_entries(
            f"{k}_balance",
            rows=np.concatenate([flat, flat]),
            cols=np.concatenate([u[k].index.ravel(), w[k].index.ravel()]),
            vals=np.concatenate([np.ones(N * T), -np.ones(N * T)]),
        )
        # R_t - R_{t-1} - sum_s u_st + sum_s w_st = 0
        lm.add_constraints(
            f"pool_{k}",
            rows=np.concatenate([np.arange(T), np.arange(T)[has_prev], t_of, t_of]),
            cols=np.concatenate(
                [pool[k].index, pool[k].index[prev[has_prev] % T], u[k].index.ravel(), w[k].index.ravel()]
            ),
            vals=np.concatenate([np.ones(T), -np.ones(int(has_prev.sum())), -np.ones(N * T), np.ones(N * T)]),
            lo=0.0,
            hi=0.0,
            n=T,
        )
    # conservation: stations' packs at the end (racks, chargers) plus the pool's
    r, c, _ = _lagged(base, cols.start.index, None, cols.history)
    at_end = r % T == T - 1
    total = float(_held(base).sum()) - inst.fixed_road_end
    end_cols = np.concatenate(
        [
            cols.charged.index[:, T - 1],
            cols.depleted.index[:, T - 1],
            c[at_end],
            [pool["charged"].index[T - 1], pool["depleted"].index[T - 1]],
        ]
    )
    zeros = np.zeros(end_cols.size, np.int64)
    lm.add_constraints("conservation", rows=zeros, cols=end_cols, vals=1.0, lo=total, hi=total, n=1)
    # the fleet: hand-overs in any window of the shortest one-way trip, and in all
    free = float(fleet.count) - (np.zeros(T) if inst.fixed_busy is None else inst.fixed_busy)
    free = np.maximum(free, 0.0)
    theta1 = int(max(inst.theta.min(), 1))
    hand = np.concatenate([u["charged"].index, u["depleted"].index])  # (2N, T)
    wr, wc = [], []
    for lag in range(theta1):
        src = np.arange(T) - lag
        ok = np.ones(T, bool) if inst.cyclic else src >= 0
        wr.append(np.repeat(np.arange(T)[ok][None, :], 2 * N, axis=0).ravel())
        wc.append(hand[:, src[ok] % T].ravel())
    lm.add_constraints("fleet_window", rows=np.concatenate(wr), cols=np.concatenate(wc), vals=1.0, hi=2 * q * free, n=T)
    rho = float(max(inst.round_trip.min(), 1))
    lm.add_constraints(
        "fleet_total", rows=np.zeros(hand.size, np.int64), cols=hand.ravel(), vals=1.0, hi=2 * q * free.sum() / rho, n=1
    )
    return lm


def road_pool_bound(inst: _Instance, options: SolveOptions, seconds: float) -> tuple[float, str]:
    """Lower bound from the road-pool relaxation's LP within ``seconds`` (``-inf`` if none), and a note.

    The LP is solved by simplex (a vertex, so the value is exact to HiGHS's tolerances); a small
    relative margin covers them.
    """
    t0 = time.perf_counter()
    lm = road_pool_model(inst)
    if lm is None:
        return -np.inf, "no trucks"
    rows = lm.n_rows
    value, cuts = cut_bound(inst, lm, max(seconds - (time.perf_counter() - t0), 0.05), limit_lp=True)
    took = time.perf_counter() - t0
    if value is None:
        return -np.inf, f"not solved within {took:.2f} s"
    value -= 1e-7 * max(1.0, abs(value))
    n_cuts = 0 if cuts is None else cuts.n
    return float(value), f"LP of {rows:,} rows x {lm.n_cols:,} columns and {n_cuts:,} interval cuts in {took:.2f} s"
