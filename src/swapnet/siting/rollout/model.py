r"""The multi-year rollout MILP, one ``define_<family>()`` per constraint family.

Sets: years :math:`t = 1..T`; scenarios :math:`s` with probability :math:`p_s`; nodes :math:`n`
of the scenario tree (:math:`n(s,t)` is the node of scenario :math:`s` in year :math:`t`, with
parent :math:`a(n)` and probability :math:`P_n = \sum_{s: n(s,t)=n} p_s`); candidates :math:`j`;
demand groups :math:`g` (see :mod:`~swapnet.siting.rollout.instance`) and pairs :math:`(g, j)`
within the service distance.

Variables (cumulative states of tree node :math:`n`): :math:`Y_{nj} \in \{0,1\}` open,
integers :math:`B_{nj}` batteries and :math:`C_{nj}` chargers; per scenario-year
:math:`x_{stgj} \ge 0` peak-hour swaps of group :math:`g` served at :math:`j` and
:math:`u_{stg} \ge 0` unserved peak-hour swaps.

Objective (expected discounted cost, CNY; :math:`\delta_t = (1+r)^{-(t-1)}`):

.. math::

    \min \sum_n P_n \delta_{t(n)} \sum_j \big[(K_j\,\mathrm{CRF} + O) Y_{nj}
        + P_b\,\mathrm{CRF}\,B_{nj} + P_c\,\mathrm{CRF}\,C_{nj}\big]
    + \sum_{s,t} p_s \delta_t \sum_g 365\,(\pi + \mu)\,\rho_{stg}\,u_{stg}
    - \sum_{s,t} p_s \delta_t\, 365\,\mu \sum_g \rho_{stg} H_{stg}

Capital is charged as its annuity (capital recovery factor over the design lifetime) in every
year from the purchase on, so the horizon's end does not make late investments look free and a
one-year rollout is exactly :func:`~swapnet.siting.size_stations`. :math:`\pi` is the penalty per
lost swap, :math:`\mu` the margin per swap (revenue minus variable cost), :math:`\rho` the ratio
of daily to peak-hour swaps and :math:`H` the peak-hour swaps. With a margin the objective is
minus the NPV (annuity basis) of the rollout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from swapnet.optim import LinearModel, VarBlock
from swapnet.siting.rollout.instance import RolloutInstance

__all__ = ["RolloutModel", "build_model"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class RolloutModel:
    """A built rollout MILP with its variable blocks."""

    lm: LinearModel
    inst: RolloutInstance
    Y: VarBlock
    B: VarBlock
    C: VarBlock
    x: VarBlock
    u: VarBlock

    def vector(self, Y: FloatArray, B: FloatArray, C: FloatArray, x: FloatArray, u: FloatArray) -> FloatArray:
        """The full column vector at a plan: ``(S, T, m)`` states of the instance's scenarios and years, its flows."""
        year, _, _, rep = self.inst.tree()
        v = np.zeros(self.lm.n_cols)
        for blk, arr in ((self.Y, Y), (self.B, B), (self.C, C)):
            v[blk.index.ravel()] = arr[rep, year].ravel()
        v[self.x.index.ravel()] = x.ravel()
        v[self.u.index.ravel()] = u.ravel()
        return v


def define_variables(lm: LinearModel, inst: RolloutInstance, *, integer_sizes: bool = True) -> tuple[VarBlock, ...]:
    r"""State and flow variables with their costs (the objective above).

    Year-1 nodes start from the initial state :math:`(Y^0, B^0, C^0)`: :math:`Y_{nj} \ge Y^0_j`
    etc. (the lower bound of the monotone family), and locked states (``inst.lock``) are fixed by
    their bounds.
    """
    year, parent, P, rep = inst.tree()
    n, m = inst.n_nodes, inst.m
    w = (P * inst.delta[year])[:, None]
    lo = [np.zeros((n, m)) for _ in range(3)]
    hi = [np.ones((n, m)), np.broadcast_to(inst.maxb, (n, m)).copy(), np.broadcast_to(inst.maxc, (n, m)).copy()]
    roots = parent < 0
    for a, init in zip(lo, inst.initial, strict=True):
        a[roots] = init[rep[roots]]
    if inst.lock is not None:
        for a, b, lk in zip(lo, hi, inst.lock, strict=True):
            v = lk[rep, year]
            fix = ~np.isnan(v)
            a[fix] = v[fix]
            b[fix] = v[fix]
    Y = lm.add_vars("open", (n, m), lb=lo[0], ub=hi[0], cost=w * inst.site_year, binary=True)
    B = lm.add_vars("batteries", (n, m), lb=lo[1], ub=hi[1], cost=w * inst.battery_year, integer=integer_sizes)
    C = lm.add_vars("chargers", (n, m), lb=lo[2], ub=hi[2], cost=w * inst.charger_year, integer=integer_sizes)
    S, T, k = inst.S, inst.T, inst.pair_g.size
    x = lm.add_vars("served", (S, T, k))
    wst = inst.prob[:, None] * inst.delta[None, :]
    u = lm.add_vars("unserved", (S, T, inst.G), cost=wst[:, :, None] * inst.lost)
    lm.offset = float((wst * inst.const).sum())
    return Y, B, C, x, u


def define_monotone(lm: LinearModel, inst: RolloutInstance, Y: VarBlock, B: VarBlock, C: VarBlock) -> None:
    r"""Once open, a station stays open; batteries and chargers are only added.

    .. math:: Y_{nj} \ge Y_{a(n)j},\quad B_{nj} \ge B_{a(n)j},\quad C_{nj} \ge C_{a(n)j}
    """
    _, parent, _, _ = inst.tree()
    kids = np.flatnonzero(parent >= 0)
    if kids.size == 0:
        return
    m = inst.m
    r = np.arange(kids.size * m)
    for name, blk in (("stay_open", Y), ("keep_batteries", B), ("keep_chargers", C)):
        idx = blk.index
        cols = np.concatenate([idx[kids].ravel(), idx[parent[kids]].ravel()])
        vals = np.concatenate([np.ones(r.size), -np.ones(r.size)])
        lm.add_constraints(name, rows=np.concatenate([r, r]), cols=cols, vals=vals, lo=0.0, n=r.size)


def define_limits(lm: LinearModel, inst: RolloutInstance, Y: VarBlock, B: VarBlock, C: VarBlock) -> None:
    r"""Batteries and chargers only at open stations, up to the site's limits.

    .. math:: B_{nj} \le \bar b_j Y_{nj},\qquad C_{nj} \le \bar c_j Y_{nj}
    """
    n, m = inst.n_nodes, inst.m
    r = np.arange(n * m)
    for name, blk, cap in (("battery_limit", B, inst.maxb), ("charger_limit", C, inst.maxc)):
        cols = np.concatenate([blk.index.ravel(), Y.index.ravel()])
        vals = np.concatenate([np.ones(r.size), -np.tile(cap, n)])
        lm.add_constraints(name, rows=np.concatenate([r, r]), cols=cols, vals=vals, hi=0.0, n=r.size)


def define_demand(lm: LinearModel, inst: RolloutInstance, x: VarBlock, u: VarBlock) -> None:
    r"""Every peak-hour swap is served or lost: :math:`\sum_j x_{stgj} + u_{stg} = H_{stg}`."""
    S, T, G, k = inst.S, inst.T, inst.G, inst.pair_g.size
    st = np.arange(S * T)
    rows_x = (st[:, None] * G + inst.pair_g[None, :]).ravel()
    rows = np.concatenate([rows_x, np.arange(S * T * G)])
    cols = np.concatenate([x.index.ravel(), u.index.ravel()])
    h = inst.H.ravel()
    lm.add_constraints("demand", rows=rows, cols=cols, vals=1.0, lo=h, hi=h, n=S * T * G)
    del k


def define_capacity(lm: LinearModel, inst: RolloutInstance, Y: VarBlock, B: VarBlock, C: VarBlock, x: VarBlock) -> None:
    r"""The capacity rule at every station, scenario and year (load :math:`L_{stj} = \sum_g x_{stgj}`).

    .. math::

        L_{stj} \le \beta\,Y_{n(s,t)j},\qquad a_c L_{stj} + c_0 Y_{n(s,t)j} \le C_{n(s,t)j},\qquad
        a_b L_{stj} + b_0 Y_{n(s,t)j} \le B_{n(s,t)j}

    (bays, chargers and batteries; :class:`~swapnet.siting.rollout.LinearCapacity` gives
    :math:`\beta, a_c, a_b` as in :func:`~swapnet.siting.size_stations` with :math:`b_0 = c_0 = 0`,
    :class:`~swapnet.siting.rollout.ServiceLevelCapacity` an affine service-level rule).
    """
    S, T, m = inst.S, inst.T, inst.m
    st = np.arange(S * T)
    rows_x = (st[:, None] * m + inst.pair_j[None, :]).ravel()
    node = inst.node_of.ravel()  # (S*T,)
    state_rows = np.arange(S * T * m)
    open_cols = Y.index[node].ravel()
    for name, coef, blk, scale, fixed in (
        ("bays", 1.0, Y, inst.bay, 0.0),
        ("charging", inst.a_c, C, 1.0, inst.c0),
        ("battery_stock", inst.a_b, B, 1.0, inst.b0),
    ):
        state_cols = blk.index[node].ravel()  # (S*T, m) -> node's state of every site
        rows = [rows_x, state_rows]
        cols = [x.index.ravel(), state_cols]
        vals = [np.full(rows_x.size, coef), np.full(state_rows.size, -scale)]
        if fixed:  # the per-station part of an affine rule
            rows.append(state_rows)
            cols.append(open_cols)
            vals.append(np.full(state_rows.size, fixed))
        lm.add_constraints(name, rows=np.concatenate(rows), cols=np.concatenate(cols), vals=np.concatenate(vals),
                           hi=0.0, n=S * T * m)  # fmt: skip


def define_charger_per_pack(lm: LinearModel, inst: RolloutInstance, B: VarBlock, C: VarBlock) -> None:
    r"""With a rule that asks for it (``one_charger_per_pack``): :math:`B_{nj} \le C_{nj}`."""
    if not inst.c_ge_b:
        return
    r = np.arange(B.size)
    lm.add_constraints("charger_per_pack", rows=np.concatenate([r, r]), cols=np.concatenate([B.index.ravel(),
                       C.index.ravel()]), vals=np.concatenate([np.ones(r.size), -np.ones(r.size)]), hi=0.0,
                       n=r.size)  # fmt: skip


def define_linking(lm: LinearModel, inst: RolloutInstance, Y: VarBlock, x: VarBlock) -> None:
    r"""Strengthening (optional): a group is served only at open stations, :math:`x_{stgj} \le H_{stg} Y_{n(s,t)j}`.

    Implied by the bay family for integer :math:`Y`; tightens the LP relaxation.
    """
    S, T, k = inst.S, inst.T, inst.pair_g.size
    node = inst.node_of.ravel()
    r = np.arange(S * T * k)
    ycols = Y.index[node][:, inst.pair_j].ravel()
    hval = inst.H.reshape(S * T, -1)[:, inst.pair_g].ravel()
    keep = hval > 0
    rk = np.arange(int(keep.sum()))
    cols = np.concatenate([x.index.ravel()[keep], ycols[keep]])
    lm.add_constraints(
        "serve_if_open", rows=np.concatenate([rk, rk]), cols=cols,
        vals=np.concatenate([np.ones(rk.size), -hval[keep]]), hi=0.0, n=rk.size,
    )  # fmt: skip
    del r


def define_budget(lm: LinearModel, inst: RolloutInstance, Y: VarBlock, B: VarBlock, C: VarBlock) -> None:
    r"""Cash capex of each tree node within the year's budget :math:`W_t`.

    .. math::

        \sum_j K_j (Y_{nj} - Y_{a(n)j}) + P_b (B_{nj} - B_{a(n)j}) + P_c (C_{nj} - C_{a(n)j}) \le W_{t(n)}

    (for year-1 nodes the parent state is the initial state, moved to the right-hand side).
    """
    if inst.budget is None:
        return
    year, parent, _, rep = inst.tree()
    n, m = inst.n_nodes, inst.m
    rows, cols, vals = [], [], []
    hi = inst.budget[year].astype(np.float64).copy()
    roots = parent < 0
    for blk, price, init in zip(
        (Y, B, C),
        (inst.site_cash, np.full(m, inst.battery_cash), np.full(m, inst.charger_cash)),
        inst.initial,
        strict=True,
    ):
        idx = blk.index
        rows.append(np.repeat(np.arange(n), m))
        cols.append(idx.ravel())
        vals.append(np.tile(price, n))
        kids = np.flatnonzero(~roots)
        rows.append(np.repeat(kids, m))
        cols.append(idx[parent[kids]].ravel())
        vals.append(-np.tile(price, kids.size))
        hi[roots] += init[rep[roots]] @ price
    lm.add_constraints("budget", rows=np.concatenate(rows), cols=np.concatenate(cols), vals=np.concatenate(vals),
                       hi=hi, n=n)  # fmt: skip


def define_service(lm: LinearModel, inst: RolloutInstance, x: VarBlock) -> None:
    r"""Minimum service per scenario and year: :math:`\sum_{g,j} x_{stgj} \ge \sigma_t \sum_g H_{stg}`."""
    if inst.min_service is None:
        return
    S, T, k = inst.S, inst.T, inst.pair_g.size
    rows = np.repeat(np.arange(S * T), k)
    lo = (inst.min_service[None, :] * inst.H.sum(axis=2)).ravel()
    lm.add_constraints("min_service", rows=rows, cols=x.index.ravel(), vals=1.0, lo=lo, n=S * T)


def build_model(inst: RolloutInstance, *, linking: bool = True, integer_sizes: bool = True) -> RolloutModel:
    """The whole MILP of ``inst`` (see the module docstring).

    ``integer_sizes=False`` makes batteries and chargers continuous: a relaxation (its bound is a
    bound of the MILP) whose plans become feasible by rounding the sizes up (see
    :func:`~swapnet.siting.rollout.solve.round_sizes`).
    """
    lm = LinearModel("rollout")
    Y, B, C, x, u = define_variables(lm, inst, integer_sizes=integer_sizes)
    define_monotone(lm, inst, Y, B, C)
    define_limits(lm, inst, Y, B, C)
    define_demand(lm, inst, x, u)
    define_capacity(lm, inst, Y, B, C, x)
    define_charger_per_pack(lm, inst, B, C)
    if linking:
        define_linking(lm, inst, Y, x)
    define_budget(lm, inst, Y, B, C)
    define_service(lm, inst, x)
    return RolloutModel(lm, inst, Y, B, C, x, u)
