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
import time
from typing import Any

import numpy as np

from swapnet.operations.formulation import build_model
from swapnet.operations.instance import FloatArray, IntArray, _energy_cost, _Instance, _pipeline
from swapnet.operations.station_cuts import Cuts, add_cuts, cut_bound
from swapnet.operations.station_window import window_applies, window_starts
from swapnet.optim import LinearModel, SolveOptions, SolveStatus

__all__ = ["StationResult", "feasible", "idle_start", "solve_station", "station_starts"]

_TIE = 1e-9
WINDOW_ROUNDS = 3
"""Rounds of the window step (each cuts the day at another period; see :func:`greedy_station`)."""
WINDOW_SECONDS = 0.04
"""Cap on each window round's exact MIP (the interval LP before it takes milliseconds)."""
CUT_SECONDS = 0.1
"""Seconds at most of one station's cut loop (:func:`~swapnet.operations.station_cuts.cut_bound`)."""
WINDOW_SHARE = 0.15
"""Cap on each window round's exact MIP as a share of the station's time limit."""
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
    cuts: Cuts | None = None  # the interval cuts behind the bound (station_cuts), for the station's MIP


def solve_station(args: tuple[Any, ...]) -> StationResult:
    """One station's schedule (no trucks); picklable for a process pool.

    ``args`` is (one-station instance, lower bounds on swaps served or ``None``, options or ``None``[,
    whether to compute the station's LP bound (default true)[, quick greedy (default false)[, the
    window step (default false)]]]). First the greedy schedule (:func:`greedy_station`, milliseconds),
    with the window step improved by :data:`WINDOW_ROUNDS` rounds of
    :func:`~swapnet.operations.station_window.window_starts` (each round's exact MIP within
    :data:`WINDOW_SECONDS`, at most :data:`WINDOW_SHARE` of the time limit); with options, the
    station's MIP from it within what is left of their time limit. Without either the idle schedule is returned (status
    ``no_solution``; an infinite objective if even that is infeasible); a proven infeasibility has
    status ``infeasible``.
    """
    one, served_lb, opts = args[:3]
    flags = args[3:]
    t0 = time.perf_counter()
    window = len(flags) > 2 and bool(flags[2])
    limit = None if opts is None else opts.time_limit
    greedy = greedy_station(
        one,
        served_lb,
        bound=bool(flags[0]) if flags else True,
        quick=len(flags) > 1 and bool(flags[1]),
        window_rounds=WINDOW_ROUNDS if window else 0,
        window_seconds=None if limit is None else min(WINDOW_SECONDS, WINDOW_SHARE * limit),
    )
    if window and opts is not None and limit is not None:  # the MIP gets what the window step left
        opts = dataclasses.replace(opts, time_limit=max(limit - (time.perf_counter() - t0), 0.05))
    if greedy is not None and greedy.status == SolveStatus.INFEASIBLE:
        return greedy
    if opts is None:
        if greedy is not None:
            return greedy
        if served_lb is None or not served_lb.any():  # doing nothing is allowed: no MIP without a budget
            return idle_station(one, served_lb)
        opts = SolveOptions(time_limit=1.0, threads=1)
    if greedy is not None and greedy.objective <= greedy.bound + opts.mip_gap * abs(greedy.objective):
        return dataclasses.replace(greedy, status=SolveStatus.OPTIMAL)  # the bound proves the schedule
    m = build_model(one)
    if served_lb is not None:
        m.set_bounds(m.block("served").index, lb=served_lb)
    if greedy is not None and greedy.cuts is not None:
        add_cuts(m, greedy.cuts)  # the same columns: the cuts were found on this station's LP
    x0 = None
    if greedy is not None:
        x0 = np.zeros(m.n_cols)
        for name, val in greedy.values.items():
            x0[m.block(name).index] = val
    sol = m.solve(opts, start=x0)
    lp_bound = -np.inf if greedy is None else greedy.bound
    mip_bound = float(sol.report.bound) if np.isfinite(sol.report.bound) else -np.inf
    bound = max(lp_bound, mip_bound)
    if sol.x is not None and (greedy is None or sol.objective <= greedy.objective + 1e-9):
        vals = {b: sol.values(b) for b in _BLOCKS if b in m.blocks}
        return StationResult(vals, sol.objective, min(bound, sol.objective), sol.status)
    if sol.status == SolveStatus.INFEASIBLE:
        return StationResult({}, np.inf, np.inf, sol.status)
    if greedy is not None:
        return dataclasses.replace(greedy, bound=bound, status=SolveStatus.TIME_LIMIT)
    idle = idle_start(one, m) if served_lb is None or not served_lb.any() else None
    if idle is None:
        return StationResult({}, np.inf, bound, sol.status)
    vals = {b: m.block(b).values(idle) for b in _BLOCKS if b in m.blocks}
    return StationResult(vals, objective_of(m, idle), bound, sol.status)


def idle_station(one: _Instance, served_lb: FloatArray | None = None) -> StationResult:
    """One station's idle schedule (no bound); an infinite objective where it is infeasible."""
    m = build_model(one)
    if served_lb is not None:
        m.set_bounds(m.block("served").index, lb=served_lb)
    idle = idle_start(one, m)
    if idle is None:
        return StationResult({}, np.inf, -np.inf, SolveStatus.NO_SOLUTION)
    vals = {b: m.block(b).values(idle) for b in _BLOCKS if b in m.blocks}
    return StationResult(vals, objective_of(m, idle), -np.inf, SolveStatus.FEASIBLE)


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


STATION_EFFORT = 0.3
"""HiGHS ``mip_heuristic_effort`` of a station's MIP (default 0.05) when the stations only seed the full
model (trucks, a network peak)."""
DECOUPLED_EFFORT = 1.0
"""The same when the stations decouple and their MIPs are the solve: at a few tenths of a second per
station the primal side is the gap (the root bound barely moves); measured on ten stations of the
200-station benchmark at 0.4 s each, effort 1.0 gives 0.40 % where 0.3 gives 0.75 %."""


def station_options(
    opts: SolveOptions, seconds: float | None, gap: float, effort: float = STATION_EFFORT
) -> SolveOptions:
    """Options for one station's MIP: its time share, a modest gap, one thread, no log."""
    extra: dict[str, Any] = {"mip_heuristic_effort": effort, **opts.highs_options}
    return dataclasses.replace(opts, time_limit=seconds, mip_gap=gap, threads=1, log=False, highs_options=extra)


def _swap_times(d: FloatArray, total: int) -> IntArray:
    """Period in which the k-th whole swap (k = 1..total) of the cumulative demand ``d`` happens."""
    cum = np.cumsum(d)
    return np.searchsorted(cum, np.arange(1, total + 1) - 1e-9).astype(np.int64)


def greedy_starts(one: _Instance, passes: int = 1, late: bool = True, cheapest: bool = True) -> FloatArray:
    r"""Integer charge starts of one station by earliest-deadline, cheapest-slot list scheduling.

    Every charge is a job: it may start once its depleted pack is back (*release*) and must start
    :math:`L` periods before the swap that needs the pack (*deadline*). On a cyclic horizon with
    :math:`B` packs the pack of the :math:`k`-th swap of the day serves the :math:`(k+B)`-th (FIFO,
    wrapping into the next day); from a given start the depleted packs at hand and then the swaps'
    packs serve, in order, the swaps the charged stock cannot. Jobs are taken by deadline; each gets
    the cheapest start in its window (energy at each period's price, degradation is the same
    everywhere) where a charger and the grid connection are free for its :math:`L` periods. A job
    without such a start takes the earliest free start after its window (``late``; its swap is lost
    but the pack keeps cycling) or is dropped. ``passes`` times each job is then taken out and put
    back at the cheapest start then free. With ``cheapest=False`` each job takes its earliest free start
    instead (fewer lost swaps where chargers or the grid are scarce, dearer energy). Returns the starts
    ``(T,)``.
    """
    T = one.T
    L = int(one.L[0])
    prof = one.prof[0, :L]
    cost = _energy_cost(one)[0] if cheapest else np.zeros(T)  # else: as soon as possible
    cap = np.minimum(one.demand[0], one.swap_cap[0])
    B = round(float(one.batteries[0]))
    if one.cyclic:
        K = int(np.floor(cap.sum() + 1e-9))
        if K == 0 or B == 0:
            return np.zeros(T)
        u = _swap_times(cap, K)  # period in which the k-th swap is complete: its pack is back
        begins = np.searchsorted(np.cumsum(cap), np.arange(K) + 1e-9, side="right")  # ... has begun
        j = np.arange(K) + B  # the swap this pack serves next (FIFO), counted over following days
        release = u
        deadline = begins[j % K] + T * (j // K) - L
    else:
        Lmax = one.prof.shape[1]
        supply = np.full(T, float(one.F0[0]))
        if one.hist is not None:
            for kk in range(Lmax):
                t = kk - Lmax + L
                if 0 <= t < T:
                    supply[t:] += one.hist[0, kk]
        if one.fixed_f is not None:
            supply += np.cumsum(one.fixed_f[0])
        short = np.maximum(np.cumsum(cap) - supply, 0.0)  # swaps the charged stock cannot serve by t
        need_n = int(np.floor(short[-1] + 1e-9))
        E0 = float((one.batteries - one.F0)[0] if one.E0 is None else one.E0[0])
        K = int(np.floor(cap.sum() + 1e-9))
        rel = np.concatenate([np.zeros(int(np.floor(E0 + 1e-9)), np.int64), _swap_times(cap, K)])
        need = np.searchsorted(short, np.arange(1, need_n + 1) - 1e-9).astype(np.int64)
        m = min(rel.size, need.size)
        release, deadline = rel[:m], need[:m] - L
    used = np.zeros(T)  # chargers busy per period
    kw = np.zeros(T)  # grid kW per period
    if not one.cyclic and one.hist is not None:  # charges already running hold their chargers and grid
        back = one.prof.shape[1]
        for kk in range(back):  # started in period kk - back
            for lag in range(L):
                if 0 <= kk - back + lag < T:
                    used[kk - back + lag] += one.hist[0, kk]
                    kw[kk - back + lag] += one.hist[0, kk] * prof[lag]
    lags = np.arange(L)
    horizon = 2 * T if one.cyclic else T
    slot_of = np.full(release.size, -1)

    def occupy(t: int, sign: float) -> None:
        occ = (t + lags) % T if one.cyclic else t + lags
        keep = occ < T
        used[occ[keep]] += sign
        kw[occ[keep]] += sign * prof[keep]

    def place(i: int) -> None:
        lo, hi = int(release[i]), int(deadline[i])
        slot = np.arange(lo, min(hi, lo + horizon - 1) + 1) % T
        occ = (slot[:, None] + lags[None, :]) % T if one.cyclic else slot[:, None] + lags[None, :]
        inside = occ < T
        occ = np.minimum(occ, T - 1)
        ok = ((used[occ] + 1 <= one.chargers[0] + 1e-9) | ~inside).all(axis=1)
        ok &= ((kw[occ] + prof[None, :] <= one.grid[0] + 1e-6) | ~inside).all(axis=1)
        if ok.any():
            best = int(slot[ok][np.argmin(cost[slot[ok]] + _TIE * np.arange(int(ok.sum())))])
            slot_of[i] = best
            occupy(best, 1.0)
        elif late:  # no start in time: the earliest free one after (one swap is lost, the pack keeps cycling)
            for t in range(hi + 1 if one.cyclic else max(hi + 1, lo), lo + horizon):
                if not one.cyclic and t + L > T:
                    break
                ts = t % T
                occ1 = (ts + lags) % T if one.cyclic else ts + lags
                if (used[occ1] + 1 <= one.chargers[0] + 1e-9).all() and (kw[occ1] + prof <= one.grid[0] + 1e-6).all():
                    slot_of[i] = ts
                    occupy(ts, 1.0)
                    return

    order = np.argsort(deadline, kind="stable")
    for i in order:
        place(int(i))
    for _ in range(passes):  # take each charge out and put it back at the cheapest start now free
        for i in order[::-1]:
            if slot_of[i] >= 0:
                occupy(int(slot_of[i]), -1.0)
                slot_of[i] = -1
            place(int(i))
    n = np.zeros(T)
    np.add.at(n, slot_of[slot_of >= 0], 1.0)
    return n


def greedy_station(
    one: _Instance,
    served_lb: FloatArray | None = None,
    bound: bool = True,
    quick: bool = False,
    window_rounds: int = 0,
    window_seconds: float | None = None,
) -> StationResult | None:
    """One station's schedule from :func:`greedy_starts`: the starts fixed, swaps and stock by LP.

    The LP (the station's model with the starts fixed) serves as many swaps as those starts allow
    and is exact. Three variants are tried (``quick``: the first that works) and the cheapest kept;
    with ``bound`` the station's LP relaxation gives its bound. ``None`` when every variant is
    infeasible (e.g. a no-loss requirement the greedy misses).
    """
    lp = build_model(one, relax=True)
    if served_lb is not None:
        lp.set_bounds(lp.block("served").index, lb=served_lb)
    lower = -np.inf
    cuts = None
    if bound:  # the station's LP relaxation with interval cuts: a valid bound (a proof when infeasible)
        value, cuts = cut_bound(one, lp, CUT_SECONDS)
        if value == np.inf:
            return StationResult({}, np.inf, np.inf, SolveStatus.INFEASIBLE)
        lower = -np.inf if value is None else value
    best: StationResult | None = None
    for late, cheapest in ((True, True), (False, True), (True, False)):
        if quick and best is not None:
            break
        n = greedy_starts(one, passes=1 if cheapest else 0, late=late, cheapest=cheapest)
        best = _better(one, n, served_lb, lower, best)
    if best is not None and not quick:
        best = _one_more_charge(one, best, served_lb, lower)
    if best is not None and window_rounds > 0 and window_applies(one):
        still = 0  # rounds in a row without a better schedule
        for k in range(window_rounds):  # each round cuts the day at another period (see station_window)
            v = best.values
            cand = window_starts(one, v["start"][0], v["served"][0], v["charged"][0], _cut(k, one.T), window_seconds)
            new = (
                None
                if cand is None or np.array_equal(cand, v["start"][0])
                else _better(one, cand, served_lb, lower, best)
            )
            still = 0 if new is not None and new is not best else still + 1
            best = best if new is None else new
            if still >= 2:
                break
    return best if best is None or cuts is None else dataclasses.replace(best, cuts=cuts)


ADD_TRIES = 8
"""Cheapest free start periods :func:`_one_more_charge` tries for a charge the greedy left out."""


def _one_more_charge(one: _Instance, best: StationResult, served_lb: FloatArray | None, lower: float) -> StationResult:
    """Add the charges the greedy schedule left out while it loses whole servable swaps.

    The list scheduling keeps each pack's first-in-first-out order, so on a busy day a charge whose
    window is full is dropped (or started late, which a cyclic day cannot absorb: every charge
    started must serve a swap) and a whole swap is lost that a reordered schedule serves. Here each
    of the :data:`ADD_TRIES` cheapest starts where a charger and the grid are free for the whole
    charge and a depleted pack is at hand is tried as one more charge (the fixed-start LP says
    whether the stock allows it and what it serves); the best is kept, and this is repeated while a
    whole swap is still lost and a try helps.
    """
    T, L = one.T, int(one.L[0])
    prof = one.prof[0, :L]
    cost = _energy_cost(one)[0]
    servable = float(np.minimum(one.demand[0], one.swap_cap[0]).sum())
    lag = (np.arange(T)[:, None] + np.arange(L)[None, :]) % T  # periods a start in t occupies
    inside = np.ones(T, bool) if one.cyclic else np.arange(T) + L <= T
    for _ in range(int(np.floor(servable + 1e-9))):
        n = best.values["start"][0]
        if servable - float(best.values["served"][0].sum()) < 1.0 - 1e-6:
            break
        charging, grid_kw = _pipeline(one, n[None, :])  # chargers and kW in use per period
        used, kw = charging[0], grid_kw[0]
        ok = (used[lag] + 1 <= one.chargers[0] + 1e-9).all(axis=1) & (kw[lag] + prof <= one.grid[0] + 1e-6).all(axis=1)
        ok &= inside
        ok &= np.roll(best.values["depleted"][0], 1) >= 1.0 - 1e-6  # a depleted pack at hand
        tries = np.flatnonzero(ok)[np.argsort(cost[ok], kind="stable")][:ADD_TRIES]
        found = best
        for t in tries:
            more = n.copy()
            more[t] += 1
            found = _better(one, more, served_lb, lower, found) or found
        if found is best:
            break
        best = found
    return best


def _cut(k: int, T: int) -> int:
    """The ``k``-th cut period: midnight, noon, then the quarters and eighths of the day."""
    order = (0, 4, 2, 6, 1, 5, 3, 7)
    return (order[k % 8] * T) // 8


def _better(
    one: _Instance, n: FloatArray, served_lb: FloatArray | None, lower: float, best: StationResult | None
) -> StationResult | None:
    """The station's schedule with integer starts ``n`` fixed (swaps and stock by LP) if it beats ``best``."""
    m = build_model(one, relax=True)
    m.set_bounds(m.block("start").index, lb=n[None, :], ub=n[None, :])
    if served_lb is not None:
        m.set_bounds(m.block("served").index, lb=served_lb)
    sol = m.solve(SolveOptions(), relax=True)
    if sol.x is None or (best is not None and sol.objective >= best.objective - 1e-9):
        return best
    vals = {b: sol.values(b) for b in _BLOCKS if b in m.blocks}
    vals["start"] = np.round(vals["start"])
    return StationResult(vals, sol.objective, min(lower, sol.objective), SolveStatus.FEASIBLE)
