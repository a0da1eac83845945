r"""Integer-sizes polish: re-optimise the batteries and chargers of a plan with its openings fixed.

The large rollout solves (:func:`~swapnet.siting.rollout.heuristic.lp_guided`, the rounded
first stages of the decomposition) make batteries and chargers integral by rounding
each station's relaxed size up. Every station then carries up to one battery and one charger it
does not need, about 0.35 % of the expected cost on the benchmark. The polish takes a feasible
plan and, with every opening :math:`Y` kept, solves small MILPs over the sizes only, one tree
node's year at a time, in a window below the plan's sizes:

.. math::

    \max(B^{prev}_{j},\ \hat B_{j} - w) \le B_{j} \le \max(B^{prev}_{j},\ \hat B_{j}),
    \qquad \text{the same for } C_j,

with :math:`\hat B, \hat C` the plan's sizes in that year, :math:`B^{prev}, C^{prev}` the
(polished) sizes of the year before and :math:`w` = :data:`WINDOW`. The flows of the year are
free, so a station gives up its spare battery when its neighbours' spare capacity takes the
load it can no longer carry. Each piece is the rollout model of that year
(:meth:`RolloutInstance.restrict` with the previous state as its initial state and the openings
locked), so budgets, service targets and the capacity rule hold by construction; the plan's own
sizes are the MIP start (feasible, as the window's top is at least them).

* Shared years (``1..k``, decided by every scenario together) are polished first, as one model
  over all scenarios' flows of that year; skipped when the instance has a budget (a smaller state
  in year ``t`` spends more in year ``t + 1``, which the later pieces could not always absorb).
* The later years of each scenario follow, year by year from the polished state (in worker
  processes with ``options.threads > 1``).

**Guarantees.** Each piece is accepted only as HiGHS returns it (a feasible point of that year's
model); each scenario's polished years are then re-checked against the scenario's whole model
(every row and bound, integers integral), and a scenario that fails the check keeps its original later
years (with a budget, e.g. when a piece did not solve after a smaller state the year before). The
result is kept only when its expected cost, recomputed from the arrays
(:func:`expected_cost`), is below the plan's: the polish never returns a costlier or an
infeasible plan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from swapnet.optim import SolveOptions
from swapnet.siting.rollout.heuristic import feasible, run_tasks, workers_for
from swapnet.siting.rollout.instance import RolloutInstance
from swapnet.siting.rollout.model import build_model

__all__ = ["Polished", "expected_cost", "polish_sizes", "reserve_seconds"]

FloatArray = NDArray[np.float64]

WINDOW = 1
"""How far below the plan's own size (batteries, chargers) a piece may go."""

PIECE_SECONDS = 0.5
"""Longest HiGHS run of one piece (one tree node's year), seconds."""

PIECE_GAP = 1e-4
"""Relative MIP gap of a piece (its bound is tight: the window leaves little to branch on)."""

MIN_SECONDS = 5.0
"""No polish with less time than this left."""

POOL_SECONDS = 3.0
"""Time kept back for starting the worker processes (the tasks' own clocks start after it)."""

RESERVE_SHARE = 0.1
"""Most of a solve's time limit :func:`reserve_seconds` asks for."""


def reserve_seconds(inst: RolloutInstance, k: int, options: SolveOptions) -> float:
    """Seconds a caller should leave for the polish: pieces at their time limit, over the workers (with slack).

    :data:`POOL_SECONDS` plus 1.5 x :data:`PIECE_SECONDS` per shared year and per later
    scenario-year per worker, at most :data:`RESERVE_SHARE` of ``options.time_limit``
    (18.75 s for the benchmark's 10 scenarios x 4 later years on 2 workers; measured 12-17 s).
    """
    w = workers_for(options, inst.S)
    est = (POOL_SECONDS if w > 1 else 0.0) + 1.5 * PIECE_SECONDS * (k + inst.S * (inst.T - k) / w)
    limit = options.time_limit
    return est if limit is None else min(est, RESERVE_SHARE * float(limit))


@dataclass(frozen=True, eq=False)
class Polished:
    """A polished plan's arrays (``(S, T, m)`` states, flows as in the plan) and its expected cost.

    ``stats``: ``polish_seconds``, ``polish_gain`` (expected cost saved, CNY),
    ``polish_pieces`` (pieces solved) and ``polish_reverted`` (scenarios that kept their years).
    """

    Y: FloatArray
    B: FloatArray
    C: FloatArray
    x: FloatArray
    u: FloatArray
    objective: float
    stats: dict[str, float] = field(default_factory=dict)


def expected_cost(inst: RolloutInstance, Y: FloatArray, B: FloatArray, C: FloatArray, u: FloatArray) -> float:
    r"""The rollout objective of a plan, from its arrays (``(S, T, m)`` states, ``(S, T, G)`` unserved).

    .. math::

        \sum_{s,t} p_s \delta_t \Big[\sum_j \big(k_j Y_{stj} + k_b B_{stj} + k_c C_{stj}\big)
            + \sum_g \ell_{stg} u_{stg} + c_{st}\Big]

    (:mod:`~swapnet.siting.rollout.model`: annuities and opex of the states, the cost of lost
    swaps and the constant margin part), equal to the model's objective at the plan.
    """
    w = inst.prob[:, None] * inst.delta[None, :]
    year = Y @ inst.site_year + inst.battery_year * B.sum(axis=2) + inst.charger_year * C.sum(axis=2)
    return float((w * (year + (inst.lost * u).sum(axis=2) + inst.const)).sum())


Piece = tuple[FloatArray, FloatArray, FloatArray, FloatArray]
"""A polished year: batteries, chargers, flows and unserved swaps."""


def _piece(sub: RolloutInstance, Y: FloatArray, B: FloatArray, C: FloatArray, x: FloatArray, u: FloatArray,
           options: SolveOptions, deadline: float) -> Piece | None:  # fmt: skip
    """One year of ``sub`` (one year, its scenarios ``(S', 1, .)`` arrays) re-sized in the window.

    ``sub.initial`` is the (polished) state before the year and its openings are locked. Returns
    the new batteries, chargers, flows and unserved swaps (same shapes), or ``None`` when HiGHS
    returns no point at least as good as the start.
    """
    left = deadline - time.perf_counter()
    if left <= 0.05:
        return None
    rm = build_model(sub)
    prevB, prevC = sub.initial[1][:, None], sub.initial[2][:, None]
    hiB, hiC = np.maximum(B, prevB) * Y, np.maximum(C, prevC) * Y
    rep = sub.tree()[3]
    for blk, hi, prev in ((rm.B, hiB, prevB), (rm.C, hiC, prevC)):
        top = hi[rep, 0]
        rm.lm.set_bounds(blk.index.ravel(), lb=np.maximum(prev[rep, 0], top - WINDOW), ub=top)
    start = rm.vector(Y, hiB, hiC, x, u)
    opts = replace(options, mip_gap=PIECE_GAP, time_limit=min(PIECE_SECONDS, left))
    sol = rm.lm.solve(opts, start=start, deadline=deadline)
    if sol.x is None or not sol.status.has_solution:
        return None
    cost = rm.lm.arrays()[0]
    if float(cost @ sol.x) > float(cost @ start) - 1e-9 * max(1.0, abs(float(cost @ start))):
        return None
    node = sub.node_of
    nB = np.round(rm.B.values(sol.x))[node]
    nC = np.round(rm.C.values(sol.x))[node]
    return nB, nC, rm.x.values(sol.x), rm.u.values(sol.x)


ScenarioArrays = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]
"""``(Y, B, C, x, u)`` of one scenario, ``(1, T, .)``."""


def _scenario_task(item: tuple[RolloutInstance, int, ScenarioArrays], options: SolveOptions,
                   seconds: float) -> tuple[ScenarioArrays, int, bool]:  # fmt: skip
    """Polish years ``k..T-1`` of one scenario (``item``: its instance, ``k`` and arrays); a worker task.

    Returns the arrays (the original later years if the polished scenario fails the check against
    its whole model), the pieces solved and whether the scenario was reverted.
    """
    sub, k, (Y, B, C, x, u) = item
    deadline = time.perf_counter() + seconds
    nB, nC, nx, nu = B.copy(), C.copy(), x.copy(), u.copy()
    pieces = 0
    for t in range(k, sub.T):
        init = sub.initial if t == 0 else (Y[:, t - 1], nB[:, t - 1], nC[:, t - 1])
        lock = (Y[:, t : t + 1], np.full_like(Y[:, t : t + 1], np.nan), np.full_like(Y[:, t : t + 1], np.nan))
        yr = sub.restrict(years=[t], initial=init, lock=lock)
        got = _piece(yr, Y[:, t : t + 1], nB[:, t : t + 1], nC[:, t : t + 1], nx[:, t : t + 1], nu[:, t : t + 1],
                     options, deadline)  # fmt: skip
        if got is None:
            continue
        pieces += 1
        nB[:, t], nC[:, t], nx[:, t], nu[:, t] = got[0][:, 0], got[1][:, 0], got[2][:, 0], got[3][:, 0]
    rm = build_model(sub)
    if not feasible(rm, rm.vector(Y, nB, nC, nx, nu)):
        return (Y, B, C, x, u), pieces, True
    return (Y, nB, nC, nx, nu), pieces, False


def polish_sizes(inst: RolloutInstance, Y: FloatArray, B: FloatArray, C: FloatArray, x: FloatArray, u: FloatArray,
                 k: int, options: SolveOptions, deadline: float | None) -> Polished | None:  # fmt: skip
    """The plan with its sizes polished (see the module docstring), or ``None`` when nothing is gained.

    Parameters
    ----------
    inst
        The instance (a two-stage tree: years ``1..k`` shared by every scenario).
    Y, B, C, x, u
        A feasible plan: ``(S, T, m)`` states, ``(S, T, pairs)`` flows, ``(S, T, G)`` unserved swaps.
    k
        Shared years.
    options
        Solver options (``threads``: worker processes for the scenarios).
    deadline
        :func:`time.perf_counter` instant by which to stop (``None``: no limit).
    """
    t0 = time.perf_counter()
    end = t0 + 3600.0 if deadline is None else deadline
    if end - t0 < MIN_SECONDS or inst.S == 0:
        return None
    before = expected_cost(inst, Y, B, C, u)
    nB, nC, nx, nu = B.copy(), C.copy(), x.copy(), u.copy()
    pieces, reverted = 0, 0
    if inst.budget is None:  # shared years: one model over every scenario's flows of the year
        for t in range(k):
            left = end - time.perf_counter()
            init = tuple(np.asarray(a, dtype=np.float64) for a in inst.initial) if t == 0 else (
                Y[:, t - 1], nB[:, t - 1], nC[:, t - 1])  # fmt: skip
            lock = (Y[:, t : t + 1], np.full_like(Y[:, t : t + 1], np.nan), np.full_like(Y[:, t : t + 1], np.nan))
            yr = inst.restrict(years=[t], initial=init, lock=lock)  # type: ignore[arg-type]
            got = _piece(yr, Y[:, t : t + 1], nB[:, t : t + 1], nC[:, t : t + 1], nx[:, t : t + 1], nu[:, t : t + 1],
                         options, time.perf_counter() + left / (inst.T - t))  # fmt: skip
            if got is not None:
                pieces += 1
                nB[:, t], nC[:, t], nx[:, t], nu[:, t] = got[0][:, 0], got[1][:, 0], got[2][:, 0], got[3][:, 0]
    shared_changed = pieces > 0
    if k < inst.T:
        items = [(inst.restrict([s]), k, (Y[[s]], nB[[s]], nC[[s]], nx[[s]], nu[[s]])) for s in range(inst.S)]
        w = workers_for(options, len(items))
        opts = replace(options, threads=1)
        waves = -(-len(items) // max(w, 1))
        secs = max(end - time.perf_counter() - (POOL_SECONDS if w > 1 else 0.0), 0.0) / waves * 0.9
        out = run_tasks(_scenario_task, [(it, opts, secs) for it in items], w)
        for s, (arr, n, rev) in enumerate(out):
            pieces += n
            reverted += int(rev)
            nB[s], nC[s], nx[s], nu[s] = arr[1][0], arr[2][0], arr[3][0], arr[4][0]
            if rev and shared_changed:  # its original later years after the polished shared years
                rm = build_model(inst.restrict([s]))
                if not feasible(rm, rm.vector(Y[[s]], nB[[s]], nC[[s]], nx[[s]], nu[[s]])):
                    return None
    after = expected_cost(inst, Y, nB, nC, nu)
    stats = {"polish_seconds": time.perf_counter() - t0, "polish_gain": before - after,
             "polish_pieces": float(pieces), "polish_reverted": float(reverted)}  # fmt: skip
    if not after < before:
        return None
    return Polished(Y, nB, nC, nx, nu, after, stats)
