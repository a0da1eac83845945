r"""A bound with non-anticipativity: multi-cut Benders with the shared years kept whole in the master.

The stochastic programme's LP relaxation splits at the last shared year :math:`k`:

.. math::

    \min_{z,\ x_{1..k}} \; F(z, x_{1..k}) + \sum_s p_s\, Q_s(z_k),

with :math:`F` the expected cost of years :math:`1..k` (the extensive LP of those years, every
scenario's flows against the **same** states :math:`z`, budgets and service targets included) and
:math:`Q_s(z_k)` scenario :math:`s`'s LP of years :math:`k+1..T` given the last shared year's states
(:mod:`~swapnet.siting.rollout.lpworkers`). :math:`Q_s` is convex and piecewise linear; each
solve gives a safe affine minorant (a cut). The *master* LP

.. math::

    \min F(z, x_{1..k}) + \sum_s p_s \theta_s \quad\text{s.t.}\quad
    \theta_s \ge c_{si} + g_{si}^\top z_k \ \ \forall i

is a relaxation of the stochastic programme's LP, itself a relaxation of the MILP, so **its
optimum is a valid lower bound** after every round, whatever the cuts. Its solution
:math:`\bar z` is the next point: the scenarios' later-year LPs are re-solved there (warm), which
also gives an upper bound of the LP, :math:`F(\bar z, \bar x) + \sum_s p_s Q_s(\bar z_k)`, and
one new cut per scenario. The cuts' slopes are the values of the later years' monotone lower
bounds and budget rows, small and well scaled (the costs of the shared years are exact in the
master, unlike cuts on the whole scenario value, whose slopes carry the annuities), so the bound
rises in few rounds. The point of the best upper bound is the LP's (near-)optimal shared first
stage: rounded, the decomposition's first candidate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from swapnet.optim._highs import _use_threads, new_highs, scaled_lp
from swapnet.siting.rollout.instance import RolloutInstance
from swapnet.siting.rollout.lpworkers import LPOut, LPPool, run_time, stop_after
from swapnet.siting.rollout.model import build_model

__all__ = ["BendersResult", "Master", "benders_bound"]

FloatArray = NDArray[np.float64]

TOLERANCE = 1e-3
"""Stop when the LP's upper and lower bound are this close (relative)."""

MAX_ROUNDS = 50
"""Most rounds."""

ROUND_MARGIN = 1.2
"""No further round with less time left than this times the last round took."""


@dataclass(frozen=True)
class BendersResult:
    """The bound (``nan`` without one), the LP upper bound, the best shared states (3, k, m), a history."""

    bound: float
    upper: float
    z: FloatArray | None
    rounds: int
    seconds: float
    history: list[tuple[float, float, float]] = field(default_factory=list)
    """``(seconds, lower, upper)`` after each round."""


class Master:
    """The master LP in a persistent HiGHS instance (cuts are added as rows; re-solves start from the last basis)."""

    def __init__(self, inst: RolloutInstance, k: int) -> None:

        head = inst.restrict(years=list(range(k)))
        rm = build_model(head)
        cost, lb, ub, _, A, rlo, rhi = rm.lm.arrays()
        self.S, self.k, self.m = inst.S, k, inst.m
        self.prob = inst.prob
        self.offset = float(rm.lm.offset)
        lp, self.sigma, _ = scaled_lp(cost, lb, ub, A, rlo, rhi)
        h = new_highs()
        h.setOptionValue("solver", "simplex")
        h.passModel(lp)
        n0 = cost.size
        nodes = [int(head.node_of[0, t]) for t in range(k)]
        self.states = np.stack([np.stack([blk.index[nd] for nd in nodes]) for blk in (rm.Y, rm.B, rm.C)])  # (3,k,m)
        self.last = self.states[:, k - 1].ravel().astype(np.int32)
        h.addCols(self.S, self.prob / self.sigma, np.zeros(self.S), np.zeros(self.S), 0,
                  np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))  # fmt: skip
        self.theta = np.arange(n0, n0 + self.S, dtype=np.int32)
        self.first_cost = cost
        self.h = h
        self.cuts = 0
        self._cold = True
        self._end = [float("inf")]
        stop_after(h, self._end)

    def free_theta(self) -> None:
        """Let :math:`\\theta` take any value (it is fixed at 0 until the first cuts: years 1..k alone)."""
        import highspy

        inf = np.full(self.S, highspy.kHighsInf)
        self.h.changeColsBounds(self.S, self.theta, -inf, inf)

    def add_cuts(self, res: dict[int, LPOut]) -> None:
        """One row per scenario with a finite cut: :math:`\\theta_s - g^\\top z_k \\ge c` (scaled by a power of two)."""
        import highspy

        for s, r in res.items():
            if not (r.ok and np.isfinite(r.const)):
                continue
            g = r.grad.ravel()
            nz = np.flatnonzero(g)
            scale = float(2.0 ** np.round(np.log2(max(1.0, float(np.abs(g).max(initial=0.0))))))
            idx = np.concatenate([[self.theta[s]], self.last[nz]]).astype(np.int32)
            val = np.concatenate([[1.0], -g[nz]]) / scale
            self.h.addRow(r.const / scale, highspy.kHighsInf, idx.size, idx, val)
            self.cuts += 1

    def solve(self, seconds: float | None) -> tuple[float, float, FloatArray | None]:
        """``(optimum, cost of years 1..k, shared states (3, k, m))``; ``nan`` and ``None`` if not optimal."""
        import highspy

        h = self.h
        # the first (cold) solve by interior point with crossover (a basis for the warm re-solves), then simplex
        h.setOptionValue("solver", "ipm" if self._cold else "simplex")
        h.setOptionValue("run_crossover", "on")
        self._cold = False
        limit = 1e9 if seconds is None else max(float(seconds), 1e-3)
        h.setOptionValue("time_limit", run_time(h) + limit)  # HiGHS's clock runs over all runs of an instance
        self._end[0] = time.perf_counter() + limit * 1.05 + 0.5
        _use_threads(h, 1)  # one thread; resets the process-wide scheduler if another solve changed it
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return float("nan"), float("nan"), None
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        value = float(h.getInfo().objective_function_value) * self.sigma + self.offset
        head = value - float(self.prob @ x[self.theta])
        return value, head, x[self.states]


def _z_last(z: FloatArray) -> FloatArray:
    return np.asarray(z[:, -1], dtype=np.float64)


def benders_bound(inst: RolloutInstance, k: int, pool: LPPool, deadline: float | None,
                  master: Master | None = None) -> BendersResult:  # fmt: skip
    """The bound of the module docstring by ``deadline`` (``pool``: the later years' LPs, ``1 <= k < T``)."""
    t0 = time.perf_counter()
    S = inst.S
    ms = master if master is not None else Master(inst, k)
    z = np.stack([np.broadcast_to(np.asarray(a[0], dtype=np.float64), (k, inst.m)) for a in inst.initial])
    lower, upper, best = float("nan"), float("inf"), None
    history: list[tuple[float, float, float]] = []
    rounds, last, head = 0, 0.0, float("nan")
    # round 0: the later years at the initial states in the workers while the master solves years 1..k alone
    pool.submit(dict.fromkeys(range(S), _z_last(z)), deadline)
    ms.solve(None if deadline is None else deadline - time.perf_counter())
    res = pool.collect()
    ms.free_theta()
    while rounds < MAX_ROUNDS:
        t1 = time.perf_counter()
        if not all(res[s].ok for s in range(S)):
            break  # out of time (the later years are feasible from any state: nothing is ever forced to close)
        if rounds and np.isfinite(head):
            value = head + float(sum(inst.prob[s] * res[s].value for s in range(S)))
            if value < upper:
                upper, best = value, z
        ms.add_cuts(res)
        mv, head, mz = ms.solve(None if deadline is None else deadline - time.perf_counter())
        rounds += 1
        if mz is None:
            break
        lower = mv if not np.isfinite(lower) else max(lower, mv)
        z = mz
        history.append((time.perf_counter() - t0, lower, upper))
        if np.isfinite(upper) and upper - lower <= TOLERANCE * abs(upper):
            break
        left = float("inf") if deadline is None else deadline - time.perf_counter()
        if rounds > 1 and left < ROUND_MARGIN * last:
            break
        res = pool.solve(dict.fromkeys(range(S), _z_last(z)), deadline)
        last = time.perf_counter() - t1
    if best is None and rounds:
        best = z  # no upper bound yet: the master's last point
    return BendersResult(lower, upper, best, rounds, time.perf_counter() - t0, history)
