r"""Primal heuristics: a feasible schedule always, quickly, to return on a time limit and to start the MIP.

Two layers:

* :func:`idle_start` -- the *idle* schedule: no charge starts, no swaps, no trips; every pack stays
  where it is (charges already running finish). With lost swaps allowed it is feasible for every
  cyclic horizon and every fresh start, so a plan always exists. It is checked against the model's
  own rows and bounds, never assumed.
* :func:`station_starts` -- the stations' schedules without trucks, each station's small MIP solved
  to a modest gap within its share of the budget (in a process pool when there are many stations,
  see :mod:`swapnet.operations.decompose`). A station that finds nothing within its share keeps its
  idle schedule, so the layer never fails where the idle schedule is feasible. With idle trucks
  these schedules are feasible for the full model (the racks hold, the packs are conserved at every
  station) and are the MIP start.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from swapnet.operations.formulation import build_model
from swapnet.operations.instance import FloatArray, _Instance
from swapnet.optim import LinearModel, SolveOptions, SolveStatus

__all__ = ["StationResult", "feasible", "idle_start", "solve_station", "station_starts"]

_BLOCKS = ("start", "served", "charged", "depleted", "history")


def feasible(lm: LinearModel, x: FloatArray, tol: float = 1e-6) -> bool:
    """Whether ``x`` satisfies every bound, row and integrality of ``lm`` (checked independently)."""
    _cost, lb, ub, integ, A, rlo, rhi = lm.arrays()
    scale = tol * max(1.0, float(np.abs(x).max(initial=0.0)))
    if (x < lb - scale).any() or (x > ub + scale).any():
        return False
    if integ.any() and np.abs(x[integ] - np.round(x[integ])).max(initial=0.0) > scale:
        return False
    ax = A @ x
    slack = scale * np.maximum(1.0, np.abs(ax))
    return not bool((ax < rlo - slack).any() or (ax > rhi + slack).any())


def idle_start(inst: _Instance, lm: LinearModel) -> FloatArray | None:
    """The idle schedule as a full column vector of ``lm``, or ``None`` if it is not feasible there.

    Nothing starts and nothing is served: each station's charged packs are its initial ones plus the
    charges already running as they finish, plus deliveries of trucks already under way; its depleted
    packs stay. On a cyclic horizon every pack is charged (the steady state of doing nothing).
    """
    N, T = inst.N, inst.T
    x = np.zeros(lm.n_cols)
    if inst.cyclic:
        F = np.broadcast_to(inst.batteries[:, None], (N, T))
        E = np.zeros((N, T))
    else:
        done = np.zeros((N, T))
        if inst.hist is not None:
            Lmax = inst.prof.shape[1]
            for s in range(N):
                for k in range(Lmax):  # started in period k - Lmax, done in k - Lmax + L
                    t = k - Lmax + int(inst.L[s])
                    if 0 <= t < T:
                        done[s, t] += inst.hist[s, k]
            x[lm.block("history").index] = inst.hist
        ff = np.zeros((N, T)) if inst.fixed_f is None else inst.fixed_f
        fg = np.zeros((N, T)) if inst.fixed_g is None else inst.fixed_g
        E0 = inst.batteries - inst.F0 if inst.E0 is None else inst.E0
        F = inst.F0[:, None] + np.cumsum(done + ff, axis=1)
        E = E0[:, None] + np.cumsum(fg, axis=1)
    x[lm.block("charged").index] = F
    x[lm.block("depleted").index] = E
    if "peak_kw" in lm.blocks:
        x[lm.block("peak_kw").start] = inst.peak_floor
    return x if feasible(lm, x) else None


@dataclasses.dataclass(frozen=True)
class StationResult:
    """One station's schedule without trucks: block values, objective, bound and status."""

    values: dict[str, FloatArray]
    objective: float
    bound: float
    status: SolveStatus


def solve_station(args: tuple[_Instance, FloatArray | None, SolveOptions]) -> StationResult:
    """Solve one station's MIP (no trucks); picklable for a process pool.

    ``args`` is (one-station instance, lower bounds on swaps served or ``None``, options). On no
    solution within the time limit the idle schedule is returned (status ``no_solution`` and an
    infinite objective if even that is infeasible); a proven infeasibility has status ``infeasible``.
    """
    one, served_lb, opts = args
    m = build_model(one)
    if served_lb is not None:
        m.set_bounds(m.block("served").index, lb=served_lb)
    sol = m.solve(opts)
    if sol.x is not None:
        vals = {b: sol.values(b) for b in _BLOCKS if b in m.blocks}
        return StationResult(vals, sol.objective, float(sol.report.bound), sol.status)
    bound = -np.inf if sol.status != SolveStatus.INFEASIBLE else np.inf
    idle = idle_start(one, m) if served_lb is None or not served_lb.any() else None
    if idle is None:
        return StationResult({}, np.inf, bound, sol.status)
    cost = m.arrays()[0]
    vals = {b: m.block(b).values(idle) for b in _BLOCKS if b in m.blocks}
    return StationResult(vals, float(cost @ idle) + m.offset, bound, sol.status)


def station_starts(inst: _Instance, lm: LinearModel, results: list[StationResult]) -> FloatArray:
    """The full column vector of ``lm`` from the stations' schedules (idle trucks, the peak as reached)."""
    x = np.zeros(lm.n_cols)
    for s, res in enumerate(results):
        for name, val in res.values.items():
            x[lm.block(name).index[s]] = val[0]
    if "peak_kw" in lm.blocks:
        A = lm.arrays()[4]
        rows = np.asarray(lm.family_rows("peak"))
        x[lm.block("peak_kw").start] = max(float((A[rows] @ x).max(initial=0.0)), inst.peak_floor)
    return x


def objective_of(lm: LinearModel, x: FloatArray) -> float:
    """Objective of ``lm`` at ``x``."""
    return float(lm.arrays()[0] @ x) + lm.offset


def station_options(opts: SolveOptions, seconds: float | None, gap: float) -> SolveOptions:
    """Options for one station's MIP: its time share, a modest gap, one thread, no log."""
    extra: dict[str, Any] = {"mip_heuristic_effort": 0.3, **opts.highs_options}
    return dataclasses.replace(opts, time_limit=seconds, mip_gap=gap, threads=1, log=False, highs_options=extra)
