"""One model solved within a budget (used by the API and by each rolling window).

The time limit is a budget for the whole call, split up front:

1. build the model (vectorised, milliseconds);
2. **a plan at once**: the idle schedule (:func:`~swapnet.operations.heuristics.idle_start`), then
   every station's greedy schedule without trucks (:func:`~swapnet.operations.heuristics.greedy_starts`,
   milliseconds each; past :data:`GREEDY_SHARE` of the budget a quicker variant, then idle);
3. **a bound at once**: the floor and the pooled relaxation (:mod:`~swapnet.operations.bounds`,
   milliseconds, before anything else); with trucks, the road-pool relaxation's LP
   (:mod:`~swapnet.operations.road_pool`, about a second, within :data:`ROAD_POOL_SHARE` of the
   budget) and the root LP by interior point in a process of its own beside the heuristics when
   the budget is at least :data:`BACKGROUND_LP_MIN_S` (else here within :data:`LP_SHARE` of the
   budget, only if the road-pool bound did not come);
4. the stations' MIPs from their greedy schedules (all of them if the share allows, else the largest
   gaps first), then the full MIP from the best plan for what is left.

Without trucks and network-wide peak terms the stations decouple and step 2 *is* the solve: every
station's MIP to the requested gap in the whole budget, the bound the sum of the stations' bounds.
``details["decomposition"]`` says which way was taken. The returned plan is the best found; its
status is ``optimal`` only when the bound proves the requested gap, else ``time_limit``. An
:class:`~swapnet.errors.InfeasibleError` is raised only on proof (the solver's, or a station's on
its own without trucks) or when not even the idle schedule is feasible and nothing was found.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, NamedTuple

import numpy as np

from swapnet.errors import InfeasibleError
from swapnet.operations._procs import processes_allowed
from swapnet.operations.bounds import BackgroundLP, floor_bound, lp_bound, pooled_bound
from swapnet.operations.decompose import POOL_STARTUP_S, combined, polish, solve_stations, workers_for
from swapnet.operations.formulation import build_model
from swapnet.operations.heuristics import (
    DECOUPLED_EFFORT,
    StationResult,
    feasible,
    idle_start,
    idle_station,
    objective_of,
    station_starts,
)
from swapnet.operations.instance import FloatArray, _Instance, _station_slice
from swapnet.operations.road_pool import road_pool_bound
from swapnet.optim import LinearModel, SolveOptions, SolveReport, SolveStatus
from swapnet.optim.model import Solution

GREEDY_SHARE = 0.85
"""Past this share of the budget the greedy switches to its quick variant, then to idle schedules."""
HEURISTIC_SHARE = 0.25
"""Share of the budget for the stations' schedules when the stations are coupled (trucks, peak)."""
BACKGROUND_LP_MIN_S = 20.0
"""With trucks and at least this budget, the LP bound runs in a process of its own, beside the heuristics."""
MIP_SHARE = 0.15
"""Share of the budget kept for the full MIP at the end (when the LP bound runs in the background)."""
LP_SHARE = 0.4
"""Cap on the share of the budget for the root LP bound (with trucks)."""
POOLED_SECONDS = 1.0
"""Cap on the pooled-relaxation bound (it usually takes milliseconds)."""
ROAD_POOL_SHARE = 0.25
"""Cap on the share of the budget for the road-pool bound (with trucks; it usually takes a second)."""
ROAD_POOL_SECONDS = 30.0
"""Cap on the road-pool bound's seconds (and its time without a time limit)."""
MIN_STATION_SECONDS = 0.5
"""Below this share per station the stations' MIPs are skipped (they rarely beat the greedy)."""
STATION_SECONDS = 2.0
"""Time per station's MIP when there is no time limit and the stations only seed the full MIP."""


_Out = tuple[Solution, LinearModel, float, float, dict[str, Any]]


class _Run(NamedTuple):
    """One solve's inputs and clock: the instance, its model, the no-loss lower bounds on swaps served
    (``None`` with losses allowed), options, deadline (``None``: none), build seconds, the time the solve
    started and the prefix of error messages (the rolling window)."""

    inst: _Instance
    lm: LinearModel
    served_lb: FloatArray | None
    opts: SolveOptions
    deadline: float | None
    build_s: float
    ts: float
    where: str


def _solve(
    inst: _Instance,
    relax: bool,
    allow_lost: bool,
    options: SolveOptions | None,
    t0: float,
    *,
    where: str = "",
) -> _Out:
    """Build and solve one model within ``options.time_limit`` counted from ``t0``.

    Returns the solution (its report carries the best bound found), the model, build and solve
    seconds, and details (``decomposition``, ``heuristic_objective``, ``bounds``).
    """
    opts = options or SolveOptions()
    deadline = None if opts.time_limit is None else t0 + opts.time_limit
    lm = build_model(inst, relax)
    served_lb = None
    if not allow_lost:
        over = inst.demand > inst.swap_cap[:, None] + 1e-9
        if over.any():
            s, t = np.argwhere(over)[0]
            raise InfeasibleError(
                f"{where}station {inst.labels[s]!r}, period {t}: demand {inst.demand[s, t]:g} exceeds the bays' "
                f"{inst.swap_cap[s]:g} swaps per period"
            )
        served_lb = inst.demand
        lm.set_bounds(lm.block("served").index, lb=inst.demand)
    build_s = time.perf_counter() - t0
    ts = time.perf_counter()
    if relax:
        sol = lm.solve(opts, relax=True, deadline=deadline)
        _raise_if_none(inst, sol, allow_lost, opts, where)
        return sol, lm, build_s, time.perf_counter() - ts, {"decomposition": "monolithic (LP relaxation)"}
    coupled = "trips" in lm.blocks or "peak" in lm.families
    run = _Run(inst, lm, served_lb, opts, deadline, build_s, ts, where)
    return _by_station(run) if not coupled and inst.N >= 2 else _monolithic(run)


def _left(deadline: float | None, margin: float = 0.0) -> float | None:
    return None if deadline is None else max(deadline - time.perf_counter() - margin, 0.05)


def _by_station(run: _Run) -> _Out:
    inst, lm, served_lb, opts, deadline, build_s, ts, where = run
    secs = _left(deadline, margin=0.3)
    workers = workers_for(inst.N, secs) if processes_allowed() else 1
    if workers > 1 or secs is None:
        res = solve_stations(
            inst,
            served_lb,
            opts,
            seconds=secs,
            gap=opts.mip_gap,
            workers=workers,
            effort=DECOUPLED_EFFORT,
            window=True,
        )
        left = _left(deadline, margin=0.5)
        if workers > 1 and left is not None and left > 0.5:  # stations proved early left time: polish
            _raise_if_station_infeasible(inst, res, opts, where)
            res = polish(
                inst, res, served_lb, opts, seconds=left, gap=opts.mip_gap, effort=DECOUPLED_EFFORT, window=True
            )
    else:  # greedy schedules with their LP bounds at once, then the largest gaps first
        cut = None if deadline is None else deadline - 0.5
        res = solve_stations(inst, served_lb, opts, seconds=0.0, gap=opts.mip_gap, deadline=cut)
        _raise_if_station_infeasible(inst, res, opts, where)
        left = _left(deadline, margin=0.3) or 0.0
        res = polish(inst, res, served_lb, opts, seconds=left, gap=opts.mip_gap, effort=DECOUPLED_EFFORT, window=True)
    _raise_if_station_infeasible(inst, res, opts, where)
    if any(not np.isfinite(r.objective) for r in res):
        s = next(i for i, r in enumerate(res) if not np.isfinite(r.objective))
        raise InfeasibleError(f"{where}no feasible schedule found for station {inst.labels[s]!r}; give more time")
    x = station_starts(inst, lm, res)
    obj, _ = combined(res)
    # a station without a bound of its own still costs at least its floor (all cost terms are >= 0)
    bnd = float(
        sum(r.bound if np.isfinite(r.bound) else floor_bound(_station_slice(inst, s)) for s, r in enumerate(res))
    )
    pooled = pooled_bound(inst, opts, min(POOLED_SECONDS, _left(deadline) or POOLED_SECONDS))
    bound = min(max(bnd, pooled, floor_bound(inst)), obj)
    all_opt = all(r.status == SolveStatus.OPTIMAL for r in res)
    details = {
        "decomposition": f"stations ({workers} process{'es' if workers > 1 else ''})",
        "why": "no trucks and no network-wide peak terms: the stations decouple",
        "bounds": {"stations": bnd, "pooled": pooled, "floor": floor_bound(inst)},
        "bound_seconds": {"stations": time.perf_counter() - ts},
    }
    sol = _solution(lm, x, obj, bound, SolveStatus.OPTIMAL if all_opt else _status(obj, bound, opts), ts)
    return sol, lm, build_s, time.perf_counter() - ts, details


def _monolithic(run: _Run) -> _Out:
    inst, lm, served_lb, opts, deadline, build_s, ts, where = run
    limit = opts.time_limit
    best = idle_start(inst, lm) if served_lb is None else None
    best_obj = objective_of(lm, best) if best is not None else np.inf
    # 1. the stations' own greedy schedules (no trucks), at once; with trucks and a long enough budget the
    # LP bound runs meanwhile in a process of its own
    heur_kind = "idle"
    has_trucks = "trips" in lm.blocks
    lp_cap = None if limit is None else LP_SHARE * limit
    background = None
    if has_trucks and limit is not None and limit >= BACKGROUND_LP_MIN_S:
        background = BackgroundLP.start(inst, opts, 0.8 * limit)
    workers = 1
    heur_obj, heur_s = best_obj, 0.0
    # cheap bounds first (milliseconds)
    bounds: dict[str, float] = {"floor": floor_bound(inst)}
    when: dict[str, float] = {}  # seconds into the solve at which each bound was known
    details: dict[str, Any] = {
        "decomposition": "monolithic",
        "why": "trucks couple the stations" if has_trucks else "a network-wide peak term couples the stations",
    }

    def consider(res: list[StationResult], kind: str) -> None:
        nonlocal best, best_obj, heur_kind
        if not has_trucks:  # without trucks a station's infeasibility is the model's
            _raise_if_station_infeasible(inst, res, opts, where)
        res = [r if np.isfinite(r.objective) else idle_station(_station_slice(inst, s)) for s, r in enumerate(res)]
        if all(np.isfinite(r.objective) for r in res):  # a station without a schedule of its own stays idle
            xh = station_starts(inst, lm, res)
            if feasible(lm, xh) and objective_of(lm, xh) < best_obj:
                best, best_obj, heur_kind = xh, objective_of(lm, xh), kind

    def proven() -> bool:
        """Whether the best plan and the best bound are already within the requested gap."""
        if background is not None and "lp" not in bounds and background.ready():
            take_background(0.0)
        return best is not None and _status(best_obj, min(max(bounds.values()), best_obj), opts) == SolveStatus.OPTIMAL

    def take_background(timeout: float) -> None:
        assert background is not None
        lp = background.result(timeout)
        bounds["lp"] = -np.inf if lp is None else lp
        when["lp"] = background.started - ts + background.seconds  # when it was known, in its process
        if np.isfinite(background.first_seconds):
            when["lp_first_round"] = background.started - ts + background.first_seconds
        details["lp_note"] = f"background: {background.note}, {background.seconds:.1f} s in its process"

    def finish(stage: str, sol: Solution | None = None) -> _Out:
        """The best plan found with the best bound; ``stage`` names the step after which the solve ended."""
        if background is not None and "lp" not in bounds:
            ready = background.ready()
            take_background(0.0)  # stops it
            if not ready and background.value is None:
                del bounds["lp"], when["lp"]  # not computed: stopped early
                details["lp_note"] = "background: still running when the solve ended (stopped)"
            elif not ready:
                details["lp_note"] += " (its next round was still running: stopped)"
        if sol is not None and sol.x is not None and sol.objective <= best_obj + 1e-9 * max(1.0, abs(best_obj)):
            x, obj = sol.x, sol.objective
        elif best is not None:
            x, obj = best, best_obj
        else:
            why = "no_solution" if sol is None else sol.status.value
            raise InfeasibleError(f"{where}no feasible schedule found ({why}); give more time")
        bound = min(max(bounds.values()), obj)
        from_mip = sol is not None and sol.status == SolveStatus.OPTIMAL and x is sol.x
        status = SolveStatus.OPTIMAL if from_mip else _status(obj, bound, opts)
        details.update(
            {
                "heuristic": heur_kind,
                "heuristic_objective": heur_obj,
                "heuristic_seconds": heur_s,
                "polish_workers": workers,
                "bounds": bounds,
                "bound_seconds": when,
                "stopped_after": stage,
            }
        )
        report = None if sol is None else sol.report
        return _solution(lm, x, obj, bound, status, ts, report), lm, build_s, time.perf_counter() - ts, details

    bounds["pooled"] = pooled_bound(inst, opts, POOLED_SECONDS if limit is None else min(POOLED_SECONDS, 0.05 * limit))
    when["pooled"] = time.perf_counter() - ts
    if has_trucks:  # the stations apart, the trucks relaxed to a pool: about the root LP's value, in a second
        rp_cap = ROAD_POOL_SECONDS if limit is None else min(ROAD_POOL_SECONDS, ROAD_POOL_SHARE * limit)
        bounds["road_pool"], details["road_pool_note"] = road_pool_bound(inst, opts, rp_cap)
        when["road_pool"] = time.perf_counter() - ts
    gap = max(opts.mip_gap, 0.002)
    cut = None if limit is None else ts + GREEDY_SHARE * limit
    # the stations' LP bounds (valid without trucks, and with them the order in which to polish)
    greedy = solve_stations(inst, served_lb, opts, seconds=0.0, gap=gap, deadline=cut)
    consider(greedy, "greedy")
    heur_obj, heur_s = best_obj, time.perf_counter() - ts
    if proven():  # early stop: the start and a valid bound agree to the requested gap
        return finish("greedy")
    # 2. the LP bound (here, unless it runs in the background)
    if has_trucks and background is None and not np.isfinite(bounds["road_pool"]):
        cap = lp_cap if deadline is None else min(lp_cap or np.inf, _left(deadline, 1.0) or 0.05)
        lp = lp_bound(lm, opts, cap)
        bounds["lp"] = -np.inf if lp is None else lp
        when["lp"] = time.perf_counter() - ts
        if proven():
            return finish("LP bound")
    # 2b. the stations' MIPs from their greedy schedules: all if the share allows, else the largest gaps first
    left = _left(deadline)
    if left is None or limit is None:
        secs = STATION_SECONDS * inst.N
    elif background is not None:  # the LP runs beside: polish until the MIP's share
        secs = max(left - MIP_SHARE * limit - 0.3, 0.0)
    else:
        secs = min(HEURISTIC_SHARE * limit, 0.5 * left)
    workers = 1 if background is not None else workers_for(inst.N, secs)  # the LP has the other core
    if secs * workers / max(inst.N, 1) >= MIN_STATION_SECONDS + (POOL_STARTUP_S if workers > 1 else 0.0) / inst.N:
        consider(solve_stations(inst, served_lb, opts, seconds=secs, gap=gap, workers=workers), "station MIPs")
    elif left is not None and secs >= 2 * MIN_STATION_SECONDS:
        polished = polish(inst, greedy, served_lb, opts, seconds=secs, gap=gap)
        consider(polished, "station MIPs (largest gaps first)")
    if proven():
        return finish("station MIPs")
    if background is not None:
        assert deadline is not None
        if "lp" not in bounds:  # not taken yet (a second take would read a closed pipe)
            take_background(_left(deadline, 0.3 + MIP_SHARE * (limit or 0.0)) or 0.0)
        if proven():
            return finish("LP bound")
    # 3. the full MIP from the best plan
    sol = lm.solve(opts, start=best, deadline=None if deadline is None else deadline - 0.3)
    if sol.status == SolveStatus.INFEASIBLE:
        _raise_if_none(inst, sol, served_lb is None, opts, where)
    bounds["mip"] = float(sol.report.bound) if np.isfinite(sol.report.bound) else -np.inf
    return finish("full MIP", sol)


def _status(obj: float, bound: float, opts: SolveOptions) -> SolveStatus:
    gap = abs(obj - bound) / max(abs(obj), 1e-9)
    return SolveStatus.OPTIMAL if gap <= opts.mip_gap + 1e-12 else SolveStatus.TIME_LIMIT


def _solution(
    lm: LinearModel,
    x: FloatArray,
    obj: float,
    bound: float,
    status: SolveStatus,
    ts: float,
    base: SolveReport | None = None,
) -> Solution:
    _c, _lb, _ub, integ, A, _rlo, _rhi = lm.arrays()
    gap = abs(obj - bound) / max(abs(obj), 1e-9) if np.isfinite(bound) else float("inf")
    report = SolveReport(
        status=status,
        objective=obj,
        bound=bound,
        gap=0.0 if status == SolveStatus.OPTIMAL and gap < 1e-12 else gap,
        build_seconds=0.0 if base is None else base.build_seconds,
        solve_seconds=time.perf_counter() - ts,
        n_rows=lm.n_rows,
        n_cols=lm.n_cols,
        n_nonzeros=int(A.nnz),
        n_integer=int(integ.sum()),
    )
    xr = np.where(integ, np.round(x), x)
    return Solution(report, xr, lm)


def _raise_if_station_infeasible(inst: _Instance, res: list[StationResult], opts: SolveOptions, where: str) -> None:
    """A station proven infeasible on its own (no trucks): name it and the first period short."""
    for s, r in enumerate(res):
        if r.status == SolveStatus.INFEASIBLE:
            from swapnet.operations.instance import _station_slice

            raise InfeasibleError(where + _why_short(_station_slice(inst, s), opts))


def _raise_if_none(inst: _Instance, sol: Solution, allow_lost: bool, opts: SolveOptions, where: str) -> None:
    if sol.status == SolveStatus.INFEASIBLE:
        if not allow_lost:
            raise InfeasibleError(where + _why_short(inst, opts))
        raise InfeasibleError(where + "the operations model is infeasible (check racks, initial state and truck times)")
    if sol.x is None:
        raise InfeasibleError(f"{where}no feasible schedule found ({sol.status.value}); give more time")


def _why_short(inst: _Instance, options: SolveOptions) -> str:
    """Which station falls short first, from the model with losses allowed (the MIP, else its LP)."""
    sol = build_model(inst).solve(options)
    if sol.x is None:
        sol = build_model(inst, relax=True).solve(dataclasses.replace(options, time_limit=None), relax=True)
    if sol.x is None:
        return "no-loss requirement cannot be met (and the relaxed model has no solution either)"
    lost = inst.demand - sol.values("served")
    s, t = np.argwhere(lost > 1e-6)[0] if (lost > 1e-6).any() else (0, 0)
    return (
        f"no-loss requirement cannot be met: station {inst.labels[s]!r} falls short by {lost[s, t]:.3g} swaps "
        f"in period {t} (and {float(lost.sum()):.3g} swaps in all)"
    )
