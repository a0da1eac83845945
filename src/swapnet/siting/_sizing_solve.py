"""The large-instance path of :func:`~swapnet.siting.size_stations`: Lagrangian bound, plans, reduced MIP.

1. Projected subgradient on the multipliers of the demand rows (:mod:`~swapnet.siting._sizing_lagrange`),
   Polyak steps towards the best plan, deflected by the previous direction (Camerini, Fratta and
   Maffioli), the step halved after :data:`PATIENCE` rounds without a better bound. While the bound
   improves, plans are built from the relaxed solution's open sites (:func:`~swapnet.siting.
   _sizing_primal.build_plan`: transportation LP, repair of unserved demand, greedy closing), within
   :data:`PLAN_SHARE` of the time.
2. The best plan's sites are closed, least used first, by pushing their flows along augmenting paths to
   open sites with spare capacity (:func:`~swapnet.siting._sizing_primal.drain_sites`).
   Then a large-neighbourhood search re-solves the plan with HiGHS: first (only without a time limit,
   or with :data:`CORE_SHARE` above zero) one window of all open sites and those the relaxation opens
   (:func:`~swapnet.siting._sizing_lns.improve_core`), then small windows of neighbouring sites,
   everything outside the window frozen (:func:`~swapnet.siting._sizing_lns.search`; with ``threads``
   above one, that many windows with disjoint footprints at once in worker processes,
   :func:`~swapnet.siting._sizing_workers.parallel_search`). These get the time the first
   phase leaves (it stops once its bound stalls, see :data:`STALL_ROUNDS`), so the budget is used.
3. The subgradient resumes from the best multipliers with a small step towards the better plan.
4. Reduced-cost fixing at the best multipliers: a site whose opening (closing) lifts the bound above
   the best plan is closed (opened). When at most :data:`MIP_MAX_FREE` sites stay free, HiGHS solves
   the sizing MILP on them, started from the best plan, in the rest of the budget.

The bound returned is ``max(Lagrangian bound, min(best plan, reduced MILP's bound))``: every plan
better than the best one respects the fixings, so the reduced MILP's bound holds for it. The status is
"optimal" only when that bound proves the plan within the requested gap.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from swapnet.optim import LinearModel, SolveOptions, SolveStatus
from swapnet.optim.model import Solution
from swapnet.optim.status import SolveReport, proven, rel_gap
from swapnet.siting._sizing_lagrange import FloatArray, Levels, SizingData, evaluate, initial_multipliers, levels
from swapnet.siting._sizing_lns import improve_core
from swapnet.siting._sizing_lns import search as lns_search
from swapnet.siting._sizing_primal import Plan, build_plan, drain_sites, plan_cost
from swapnet.siting._sizing_workers import parallel_search

LARGE_CELLS = 5_000_000
"""``size_stations`` takes this path when demand nodes x candidate sites reaches this many cells."""

LAGRANGE_SHARE = 0.4
"""Share of the budget for the first subgradient phase (it stops earlier once its bound stalls)."""

DRAIN_SHARE = 0.15
"""After the first subgradient phase, the closing along augmenting paths gets this share of what is left."""

CORE_SHARE = 0.0
"""Share of the plan-search time (after the closing) for the core window's MILP, before the small windows.
Zero skips it in a timed call: on the national benchmark 21 s of core gained nothing, while the small
windows gain about 0.01 % of the plan a second."""

LNS_SHARE = 0.95
"""The window search (:mod:`~swapnet.siting._sizing_lns`) runs until this share of what is left after
the first subgradient phase; the second phase gets the rest."""

RESERVE_SHARE = 0.02
"""Share of the budget kept back at the end (the second subgradient phase stops before it)."""

THETA_RESTART = 0.05
"""Step factor of the second subgradient phase (from the best multipliers, towards the drained plan)."""

MIP_MAX_FREE = 200
"""The reduced MILP runs only when reduced-cost fixing leaves at most this many sites free."""

UNTIMED_SECONDS = 120.0
"""Length of the subgradient phase when the call has no time limit."""

THETA0 = 2.0
"""First Polyak step factor."""

PATIENCE = 40
"""Rounds without a better bound before the step factor is halved."""

DEFLECT = True
"""Deflect each subgradient by the previous direction (fewer zig-zags)."""

PLAN_SHARE = 0.3
"""Largest share of the subgradient phase spent on building plans."""

STALL_ROUNDS = 300
"""A subgradient phase stops once its bound has risen by less than :data:`STALL_RISE` over this many rounds."""

STALL_RISE = 5e-5
"""Relative rise of the bound over :data:`STALL_ROUNDS` rounds below which the subgradient phase stops: on
the national benchmark the bound is then within about 0.004 % of where 3,500 rounds take it, and the
time left goes to the plan search."""


def window_workers(threads: int | None) -> int:
    """Windows solved at once: ``threads`` when given, else half the machine's cores (HiGHS's own
    default), at least one."""
    if threads is not None:
        return max(1, int(threads))
    return max(1, (os.cpu_count() or 1) // 2)


def is_large(n: int, m: int) -> bool:
    """Whether an instance of ``n`` demand nodes and ``m`` candidates takes the Lagrangian path."""
    return n * m >= LARGE_CELLS


def solve_lagrangian(
    lm: LinearModel, d: SizingData, opts: SolveOptions, deadline: float | None
) -> tuple[Solution, dict[str, Any]]:
    """Solve the sizing model ``lm`` (built by ``size_stations``, pairs in the order of ``d``) by the
    method of the module docstring; returns a :class:`~swapnet.optim.model.Solution` of ``lm`` and the
    phase figures (seconds, rounds, fixings) for the plan's details. Without a ``deadline`` the
    subgradient phase gets :data:`UNTIMED_SECONDS` and the MIP runs to the requested gap."""
    t_start = time.perf_counter()
    lev = levels(d)
    if deadline is None:
        u = UNTIMED_SECONDS
        sub_end, drain_end, lns_end, deadline = t_start + u, t_start + 1.5 * u, t_start + 2.5 * u, np.inf
        end2 = lns_end + 0.5 * u
    else:
        total = deadline - t_start
        sub_end, end2 = t_start + LAGRANGE_SHARE * total, deadline - RESERVE_SHARE * total
    best_lb, best_lam, best, rounds, plans = subgradient(d, lev, sub_end, deadline, opts.mip_gap)
    lag_seconds = time.perf_counter() - t_start
    t1 = time.perf_counter()
    if np.isfinite(deadline):  # the subgradient may converge early: the plan search gets what is left
        rest = end2 - t1
        drain_end, lns_end = t1 + DRAIN_SHARE * rest, t1 + LNS_SHARE * rest
    if rel_gap(best.cost, best_lb) > opts.mip_gap:
        drained = drain_sites(d, best, drain_end)
        if drained.cost < best.cost:
            best = drained
    drain_seconds = time.perf_counter() - t1
    t1 = time.perf_counter()
    windows = improved = 0
    core_gain = worker_gb = 0.0
    if rel_gap(best.cost, best_lb) > opts.mip_gap:
        core_end = min(lns_end, t1 + CORE_SHARE * (lns_end - t1)) if np.isfinite(lns_end) else t1 + UNTIMED_SECONDS
        if core_end > t1:  # a timed call skips the core window when CORE_SHARE is 0
            hint = evaluate(d, lev, best_lam).is_open
            core = improve_core(d, best, hint, max(core_end - time.perf_counter(), 1.0))
            core_gain, best = best.cost - core.cost, core
        workers = window_workers(opts.threads)
        if workers > 1:
            best, windows, improved, worker_gb = parallel_search(d, best, lns_end, workers, seed=opts.seed)
        if workers == 1 or lns_end - time.perf_counter() > 1.0:  # serial, or the workers stopped early
            best, w1, i1 = lns_search(d, best, lns_end, seed=opts.seed)
            windows, improved = windows + w1, improved + i1
    lns_seconds = time.perf_counter() - t1
    t1 = time.perf_counter()
    if rel_gap(best.cost, best_lb) > opts.mip_gap and time.perf_counter() < end2:
        lb2, lam2, best, rounds2, plans2 = subgradient(
            d, lev, end2, deadline, opts.mip_gap, start=(best_lam, THETA_RESTART, best)
        )
        rounds, plans = rounds + rounds2, plans + plans2
        if lb2 > best_lb:
            best_lb, best_lam = lb2, lam2
    lag_seconds += time.perf_counter() - t1
    # reduced-cost fixing at the best multipliers
    r = evaluate(d, lev, best_lam)
    fix0 = np.zeros(d.m, dtype=bool)
    fix1 = np.zeros(d.m, dtype=bool)
    if d.max_stations is None:
        margin = 1e-9 * abs(best.cost)
        forced_open = np.minimum(d.fixed, r.value)  # a closed site's term once it must open
        fix0 = (~r.is_open) & (best_lb + forced_open > best.cost + margin)
        fix1 = r.is_open & (best_lb - r.value > best.cost + margin)
    fix0 |= d.cap <= 0
    details: dict[str, Any] = {
        "lagrangian_seconds": lag_seconds,
        "lagrangian_rounds": rounds,
        "lagrangian_bound": best_lb,
        "heuristic_plans": plans,
        "heuristic_objective": best.cost,
        "drain_seconds": drain_seconds,
        "lns_seconds": lns_seconds,
        "core_mip_gain": core_gain,
        "lns_windows": windows,
        "lns_workers": window_workers(opts.threads),
        "lns_worker_peak_gb": worker_gb,
        "lns_improved": improved,
        "sites_fixed_closed": int(fix0.sum()),
        "sites_fixed_open": int(fix1.sum()),
    }
    bound = best_lb
    x_best = _column_vector(lm, d, best)
    mip_report: SolveReport | None = None
    left = deadline - time.perf_counter()
    free = d.m - int(fix0.sum()) - int(fix1.sum())
    if rel_gap(best.cost, best_lb) > opts.mip_gap and left > 1.0 and free <= MIP_MAX_FREE:
        y = lm.block("open").index
        lm.set_bounds(y[fix0], ub=0.0)
        lm.set_bounds(y[fix1], lb=1.0)
        sol = lm.solve(opts, start=x_best, deadline=deadline if np.isfinite(deadline) else None)
        mip_report = sol.report
        details["mip_seconds"] = sol.report.solve_seconds
        if sol.x is not None:
            yv = np.round(sol.values("open")) > 0.5
            xv = np.maximum(sol.values("served"), 0.0)
            cand = Plan(yv, xv, sol.values("unserved"), 0.0)
            cand = Plan(yv, cand.x, cand.u, plan_cost(d, yv, cand.x, cand.u))
            if cand.cost < best.cost:
                best, x_best = cand, _column_vector(lm, d, cand)
        if np.isfinite(sol.report.bound):
            bound = max(bound, min(best.cost, sol.report.bound))
    bound = min(bound, best.cost)
    gap = rel_gap(best.cost, bound)
    status = SolveStatus.OPTIMAL if proven(best.cost, bound, opts.mip_gap, "min") else SolveStatus.TIME_LIMIT
    rep0 = mip_report
    report = SolveReport(
        status=status,
        objective=best.cost,
        bound=bound,
        gap=gap,
        build_seconds=0.0,
        solve_seconds=time.perf_counter() - t_start,
        n_rows=lm.n_rows if rep0 is None else rep0.n_rows,
        n_cols=lm.n_cols if rep0 is None else rep0.n_cols,
        n_nonzeros=lm.n_entries if rep0 is None else rep0.n_nonzeros,
        n_integer=3 * d.m,
        solver="lagrangian+highs",
    )
    return Solution(report, x_best, lm), details


def _column_vector(lm: LinearModel, d: SizingData, plan: Plan) -> FloatArray:
    """The plan as a full column vector of ``lm`` (open, batteries, chargers, served, unserved)."""
    x = np.zeros(lm.n_cols)
    load = np.asarray(np.bincount(d.jj, weights=plan.x, minlength=d.m), dtype=np.float64)
    b, c = d.sizes(load)
    yv = plan.is_open.astype(np.float64)
    for name, val in (("open", yv), ("batteries", b * yv), ("chargers", c * yv), ("served", plan.x),
                      ("unserved", plan.u)):  # fmt: skip
        x[lm.block(name).index] = val
    return x


def _stalled(history: list[float]) -> bool:
    """Whether the best bound rose by less than :data:`STALL_RISE` (relative) over the last
    :data:`STALL_ROUNDS` rounds."""
    if len(history) <= STALL_ROUNDS or not np.isfinite(history[-STALL_ROUNDS - 1]):
        return False
    return history[-1] - history[-STALL_ROUNDS - 1] < STALL_RISE * max(1.0, abs(history[-1]))


def subgradient(
    d: SizingData,
    lev: Levels,
    end: float,
    deadline: float,
    mip_gap: float,
    start: tuple[FloatArray, float, Plan] | None = None,
) -> tuple[float, FloatArray, Plan, int, int]:
    """Projected subgradient with Polyak steps until ``end``; returns the best bound, its multipliers,
    the best plan (built from the relaxed solutions) and the numbers of rounds and plans. ``start``
    (multipliers, step factor, plan) continues an earlier run."""
    reachable = np.zeros(d.n, dtype=bool)
    reachable[d.ii] = True
    if start is None:
        lam = initial_multipliers(d)
        lam[~reachable] = d.lost[~reachable]
        theta, best = THETA0, None
    else:
        lam, theta, best = start[0].copy(), start[1], start[2]
    best_lb, best_lam = -np.inf, lam.copy()
    stall, rounds, plans = 0, 0, 0
    history: list[float] = []  # best bound after each round
    plan_time, t_begin = 0.0, time.perf_counter()
    direction: FloatArray | None = None
    while True:
        r = evaluate(d, lev, lam)
        rounds += 1
        improved = not np.isfinite(best_lb) or r.bound > best_lb + 1e-9 * max(1.0, abs(best_lb))
        if improved:
            best_lb, best_lam, stall = r.bound, lam.copy(), 0
        else:
            stall += 1
            if stall >= PATIENCE:
                theta, stall = theta / 2.0, 0
        now = time.perf_counter()
        if best is None or (improved and plan_time <= PLAN_SHARE * (now - t_begin)):
            tp = time.perf_counter()
            cand = build_plan(d, r.is_open, r.value, deadline)
            plan_time += time.perf_counter() - tp
            plans += 1
            if best is None or cand.cost < best.cost:
                best = cand
        ub = best.cost
        history.append(best_lb)
        if time.perf_counter() >= end or theta < 1e-6 or rel_gap(ub, best_lb) <= mip_gap or _stalled(history):
            break
        g = np.where(reachable, d.h - r.served, 0.0)
        g = np.where((lam >= d.lost) & (g > 0), 0.0, g)
        g = np.where((lam <= 0) & (g < 0), 0.0, g)
        if DEFLECT and direction is not None:  # Camerini, Fratta and Maffioli's deflection
            dd = float(direction @ direction)
            beta = 1.5 * max(0.0, -float(g @ direction)) / dd if dd > 0 else 0.0
            g = g + beta * direction
        direction = g
        norm = float(g @ g)
        if norm <= 1e-18:
            break
        step = theta * max(ub - r.bound, 1e-6 * abs(ub)) / norm
        lam = np.clip(lam + step * g, 0.0, d.lost)
    return best_lb, best_lam, best, rounds, plans
