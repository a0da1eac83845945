r"""Value-function cuts on the shared first stage: a bound with non-anticipativity (multi-cut L-shaped).

Let :math:`z = (Y, B, C)` be the states of the shared years :math:`1..k` and :math:`V_s(z)` the
optimum of scenario :math:`s`'s LP relaxation with those states fixed (by column bounds). The
stochastic programme's LP relaxation is :math:`\min_z \sum_s p_s V_s(z)` over the first-stage
polytope :math:`Z` (site limits, monotone states, the shared years' budgets), and the MILP's
optimum is at least that. :math:`V_s` is convex and piecewise linear in :math:`z` (the fixed
values enter only the column bounds); solving the LP at a point :math:`\bar z` with reduced costs
:math:`d` of the fixed columns gives, by LP duality (the dual solution stays feasible for every
:math:`z`, and its objective is linear in the bounds),

.. math:: V_s(z) \ge V_s(\bar z) + d^\top (z - \bar z) \quad \text{for every } z.

Every evaluation of a candidate first stage (each scenario solved with it locked, starting from
its LP) yields one such cut per scenario, and each scenario's unlocked LP optimum
:math:`\underline V_s = \min_z V_s(z)` bounds :math:`V_s` from below. The *master LP*

.. math::

    \min_{z \in Z,\ \theta} \sum_s p_s \theta_s \quad \text{s.t.}\quad
    \theta_s \ge \underline V_s,\qquad
    \theta_s \ge V_s(\bar z_i) + d_{si}^\top (z - \bar z_i)\ \ \forall i

is a relaxation of :math:`\min_z \sum_s p_s V_s(z)`, so its optimum is a valid lower bound of the
rollout, never below the scenario-LP bound :math:`\sum_s p_s \underline V_s`; its solution
:math:`z^*` (rounded) is the next candidate first stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from swapnet.optim import LinearModel, SolveOptions, SolveStatus, VarBlock
from swapnet.siting.rollout.instance import RolloutInstance

__all__ = ["Cut", "master_bound", "master_model", "round_first_stage"]

FloatArray = NDArray[np.float64]
FirstStage = tuple[FloatArray, FloatArray, FloatArray]


@dataclass(frozen=True)
class Cut:
    """:math:`\\theta_s \\ge` ``value`` + ``grad`` . (z - ``point``); ``grad`` and ``point`` are (3, k, m)."""

    scenario: int
    value: float
    grad: FloatArray
    point: FloatArray


def master_bound(inst: RolloutInstance, k: int, cuts: list[Cut], floor: FloatArray, options: SolveOptions,
                 deadline: float | None) -> tuple[float, FirstStage | None]:  # fmt: skip
    """The master LP's optimum (``nan`` if unsolved) and its first stage (see the module docstring).

    ``floor``: each scenario's unlocked LP optimum :math:`\\underline V_s` (finite).
    """
    lm = master_model(inst, k, cuts, floor)[0]
    sol = lm.solve(options, relax=True, deadline=deadline)
    if sol.x is None or sol.status != SolveStatus.OPTIMAL:
        return float("nan"), None
    return float(sol.objective), (sol.values("open"), sol.values("batteries"), sol.values("chargers"))


def master_model(inst: RolloutInstance, k: int, cuts: list[Cut], floor: FloatArray, *,
                 theta_cost: bool = True) -> tuple[LinearModel, VarBlock]:  # fmt: skip
    """The master LP (see the module docstring) and its ``theta`` block; the states are blocks ``open`` etc.

    ``theta_cost=False``: the same rows with a zero objective (for a projection onto a level set).
    """
    m, S = inst.m, inst.S
    lm = LinearModel("rollout_master")
    init = [np.asarray(a[0], dtype=np.float64) for a in inst.initial]
    lo_y = np.zeros((k, m))
    lo_y[0] = init[0]
    Y = lm.add_vars("open", (k, m), lb=lo_y, ub=1.0)
    B = lm.add_vars("batteries", (k, m), ub=np.broadcast_to(inst.maxb, (k, m)))
    C = lm.add_vars("chargers", (k, m), ub=np.broadcast_to(inst.maxc, (k, m)))
    theta = lm.add_vars("theta", S, lb=floor, cost=inst.prob if theta_cost else 0.0)
    r = np.arange(k * m)
    for name, blk, cap in (("battery_limit", B, inst.maxb), ("charger_limit", C, inst.maxc)):
        lm.add_constraints(name, rows=np.concatenate([r, r]), cols=np.concatenate([blk.index.ravel(), Y.index.ravel()]),
                           vals=np.concatenate([np.ones(r.size), -np.tile(cap, k)]), hi=0.0, n=r.size)  # fmt: skip
    if inst.c_ge_b:
        lm.add_constraints("charger_per_pack", rows=np.concatenate([r, r]),
                           cols=np.concatenate([B.index.ravel(), C.index.ravel()]),
                           vals=np.concatenate([np.ones(r.size), -np.ones(r.size)]), hi=0.0, n=r.size)  # fmt: skip
    prices = (inst.site_cash, np.full(m, inst.battery_cash), np.full(m, inst.charger_cash))
    for t in range(k):
        for i, blk in enumerate((Y, B, C)):  # states only grow (year 1: from the initial state)
            cols = [blk.index[t]] + ([blk.index[t - 1]] if t else [])
            vals = [np.ones(m)] + ([-np.ones(m)] if t else [])
            lm.add_constraints(f"monotone_{i}_{t}", rows=np.tile(np.arange(m), len(cols)), cols=np.concatenate(cols),
                               vals=np.concatenate(vals), lo=init[i] if t == 0 else 0.0, n=m)  # fmt: skip
        if inst.budget is not None:
            bcols = [blk.index[t] for blk in (Y, B, C)] + ([blk.index[t - 1] for blk in (Y, B, C)] if t else [])
            bvals = list(prices) + ([-p for p in prices] if t else [])
            spent = sum(float(init[i] @ prices[i]) for i in range(3)) if t == 0 else 0.0
            lm.add_constraints(f"budget_{t}", rows=np.zeros(sum(c.size for c in bcols), dtype=np.int64),
                               cols=np.concatenate(bcols), vals=np.concatenate(bvals),
                               hi=float(inst.budget[t]) + spent, n=1)  # fmt: skip
    if cuts:
        zcols = np.concatenate([Y.index.ravel(), B.index.ravel(), C.index.ravel()])
        rows, cols, vals, lo = [], [], [], []
        for i, c in enumerate(cuts):
            g = c.grad.ravel()
            rows += [np.full(zcols.size + 1, i)]
            cols += [np.concatenate([[theta.index[c.scenario]], zcols])]
            vals += [np.concatenate([[1.0], -g])]
            lo.append(c.value - float(g @ c.point.ravel()))
        lm.add_constraints("cuts", rows=np.concatenate(rows), cols=np.concatenate(cols), vals=np.concatenate(vals),
                           lo=np.array(lo), n=len(cuts))  # fmt: skip
    return lm, theta


def round_first_stage(inst: RolloutInstance, z: FirstStage) -> FirstStage:
    """A master first stage made integral: opening above 1/2, sizes rounded up within the limits, monotone."""
    Y = np.maximum.accumulate((np.asarray(z[0]) > 0.5).astype(np.float64), axis=0)
    B = np.minimum(np.ceil(np.asarray(z[1]) - 1e-7), inst.maxb) * Y
    C = np.minimum(np.ceil(np.asarray(z[2]) - 1e-7), inst.maxc) * Y
    if inst.c_ge_b:
        C = np.maximum(C, B)
    return Y, np.maximum.accumulate(B, axis=0), np.maximum.accumulate(C, axis=0)
