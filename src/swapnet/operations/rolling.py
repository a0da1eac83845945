"""Rolling horizon: windows solved one after the other, each from the exact state the last one left."""

from __future__ import annotations

import dataclasses
import time
from types import MappingProxyType
from typing import Any

import numpy as np

from swapnet.errors import InvalidInputError
from swapnet.operations.bounds import floor_bound, lp_bound, pooled_bound
from swapnet.operations.engine import POOLED_SECONDS, _solve
from swapnet.operations.formulation import build_model
from swapnet.operations.instance import FloatArray, _Instance, _pipeline
from swapnet.operations.plan import OperationsPlan, _assemble, _solution_trips, _Trips
from swapnet.optim import SolveOptions, SolveReport, SolveStatus


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


def plan_rolling(
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
        sol, lm, b_s, s_s, _info = _solve(w, relax, allow_lost, options, time.perf_counter(), where=where)
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
            {
                "start": t0,
                "periods": h,
                "kept": keep,
                "status": r.status.value,
                "objective": r.objective,
                "gap": r.gap,
                "heuristic": _info.get("heuristic", ""),
                "heuristic_objective": _info.get("heuristic_objective", float("nan")),
            }
        )
        if biggest is None or r.n_nonzeros > biggest.n_nonzeros:
            biggest = r
        Fc, Ec = F[:, t0 + keep - 1].copy(), E[:, t0 + keep - 1].copy()
        t0 += keep
    assert biggest is not None
    # the bound: the best of the monolithic LP relaxation over the whole horizon (interior point, within
    # one window's time limit), the pooled relaxation and the floor; with one window, its own bound
    tb = time.perf_counter()
    opts = options or SolveOptions()
    bounds = {"floor": floor_bound(inst), "pooled": pooled_bound(inst, opts, POOLED_SECONDS)}
    lp = lp_bound(build_model(inst, relax=True), opts, opts.time_limit)
    bounds["lp"] = -np.inf if lp is None else lp
    if len(windows) == 1:
        bounds["window"] = biggest.bound if np.isfinite(biggest.bound) else -np.inf
    best_bound = max(bounds.values())
    bound_s = time.perf_counter() - tb
    tps = _Trips.concat(parts) if inst.fleet is not None else None
    if tps is not None and tps.dep.size:
        order = np.lexsort((tps.pair, tps.dep))
        tps = tps.take(order)
    status = SolveStatus(windows[0]["status"]) if len(windows) == 1 else SolveStatus.FEASIBLE
    report = dataclasses.replace(
        biggest, status=status, build_seconds=build_s, solve_seconds=solve_s + bound_s, bound=best_bound
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
            "bound": "best of the monolithic LP relaxation over the whole horizon, the pooled relaxation "
            "and the floor (see swapnet.operations.bounds)",
            "bounds": bounds,
            "gap": "(stitched cost - bound) / stitched cost: how far the rolling plan can be from the "
            "monolithic optimum at most (includes that bound's own integrality gap)",
        },
    )
    bound = min(best_bound, plan.objective)
    gap = abs(plan.objective - bound) / max(abs(plan.objective), 1e-9) if np.isfinite(bound) else float("inf")
    report = dataclasses.replace(report, objective=plan.objective, bound=bound, gap=gap)
    return dataclasses.replace(plan, bound=bound, gap=gap, status=status, report=report)
