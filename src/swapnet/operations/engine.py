"""One model solved within a budget: warm start, bound, MIP (used by the API and by each rolling window)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from swapnet.errors import InfeasibleError
from swapnet.operations.formulation import build_model
from swapnet.operations.heuristics import _round_and_fix
from swapnet.operations.instance import _Instance
from swapnet.optim import LinearModel, SolveOptions, SolveStatus


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
    lm = build_model(inst, relax)
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


def _remaining(options: SolveOptions | None, t0: float) -> SolveOptions | None:
    """``options`` with the time limit reduced by the time already spent since ``t0``."""
    if options is None or options.time_limit is None:
        return options
    left = max(options.time_limit - (time.perf_counter() - t0), 1.0)
    return dataclasses.replace(options, time_limit=left)


def _why_short(inst: _Instance, relax: bool, options: SolveOptions | None) -> str:
    sol = build_model(inst, relax).solve(options, relax=relax)
    if sol.x is None:
        return "no-loss requirement cannot be met (and the relaxed model has no solution either)"
    lost = inst.demand - sol.values("served")
    s, t = np.argwhere(lost > 1e-6)[0] if (lost > 1e-6).any() else (0, 0)
    return (
        f"no-loss requirement cannot be met: station {inst.labels[s]!r} falls short by {lost[s, t]:.3g} swaps "
        f"in period {t} (and {float(lost.sum()):.3g} swaps in all)"
    )
