"""Primal heuristics: feasible schedules to return on a time limit and to warm-start the MIP."""

from __future__ import annotations

import dataclasses

import numpy as np

from swapnet.operations.formulation import _lagged, build_model
from swapnet.operations.instance import FloatArray, _Instance, _station_slice
from swapnet.optim import LinearModel, SolveOptions


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
        m1 = build_model(one)
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
