"""Station by station: the stations' MIPs without trucks, in this process or in a pool of processes.

Without trucks and without network-wide peak terms the stations share nothing, so the model is
block diagonal and each block (one station, ``4 T`` columns) is solved on its own. The pool follows
the convention of :mod:`swapnet.sweep`: workers start from a clean interpreter (``forkserver``,
else ``spawn``) because forking a process in which HiGHS has started threads can deadlock.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import os
import time
from typing import Any

import numpy as np

from swapnet.operations._procs import processes_allowed
from swapnet.operations.heuristics import STATION_EFFORT, StationResult, idle_station, solve_station, station_options
from swapnet.operations.instance import FloatArray, _Instance, _station_slice
from swapnet.optim import SolveOptions

__all__ = ["POOL_STARTUP_S", "solve_stations", "workers_for"]

POOL_STARTUP_S = 2.0
"""Seconds a pool of fresh interpreters needs before its first result (imports), budgeted up front."""


POOL_SAFETY = 0.9
"""Share of the budget until the pool tasks' common deadline (the rest collects results and absorbs
stragglers); the shares themselves follow the clock (:func:`solve_station_by`)."""
COLLECT_S = 0.3
"""Seconds kept at the end of a pool run to collect results (and do a straggler's greedy here)."""
MIN_POOL_MIP_S = 0.15
"""A pool is started only if it gives each station's MIP at least this long (greedy included)."""
POOL_GAIN = 1.25
"""A pool is started only if its workers' time after start-up is at least this multiple of the budget."""
GREEDY_S = 0.05
"""Rough seconds of one station's greedy schedule (with its LP), kept aside from its share."""
MIN_MIP_S = 0.3
"""A station whose share is below this gets the greedy schedule only (a MIP needs some time to help)."""
MIN_TASK_MIP_S = 0.1
"""The same for a pool task (its model is built already; a 0.2 s MIP from the greedy start still helps)."""


def workers_for(n_stations: int, seconds: float | None) -> int:
    """Processes worth starting: 1 for few stations or a short budget, else up to the cores (at most 4)."""
    cores = os.cpu_count() or 1
    if cores < 2 or n_stations < 16:
        return 1
    workers = min(cores, 4)
    if seconds is not None:
        avail = seconds - POOL_STARTUP_S
        if avail * workers < POOL_GAIN * seconds or POOL_SAFETY * avail * workers / n_stations < MIN_POOL_MIP_S:
            return 1  # the start-up would eat the gain, or each station's MIP would be too short to help
    return workers


def solve_stations(
    inst: _Instance,
    served_lb: FloatArray | None,
    options: SolveOptions,
    *,
    seconds: float | None,
    gap: float,
    workers: int = 1,
    bounds: bool = True,
    deadline: float | None = None,
    effort: float = STATION_EFFORT,
    window: bool = False,
) -> list[StationResult]:
    """Every station's MIP within ``seconds`` in all (``None``: no limit), at relative ``gap``.

    Each station gets an equal share of the time the workers have; a station that solves early
    leaves its share to the ones still queued (sequentially, the share is recomputed per station).
    ``effort`` is HiGHS's ``mip_heuristic_effort`` of each station's MIP; ``window`` adds the window
    step to each station's greedy schedule before its MIP (see
    :func:`~swapnet.operations.heuristics.solve_station`).
    """
    N = inst.N
    start = time.perf_counter()
    if seconds is not None and seconds <= 0:  # greedy schedules only
        return greedy_all(inst, served_lb, bounds=bounds, deadline=deadline)
    args = [(_station_slice(inst, s), None if served_lb is None else served_lb[s : s + 1]) for s in range(N)]
    if workers > 1 and not processes_allowed():
        workers = 1  # an unguarded main script would run again in every worker (see _procs)
    if workers <= 1:
        out: list[StationResult] = []
        for s, (one, lb) in enumerate(args):
            if seconds is None:
                out.append(solve_station((one, lb, station_options(options, None, gap, effort), True, False, window)))
                continue
            share = (seconds - (time.perf_counter() - start)) / (N - s) - GREEDY_S
            opts = station_options(options, share, gap, effort) if share >= MIN_MIP_S else None  # else greedy only
            out.append(solve_station((one, lb, opts, True, False, window)))
        return out
    end = None if seconds is None else time.monotonic() + POOL_SAFETY * seconds  # the tasks' common deadline
    import multiprocessing as mp

    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    try:
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method))
    except Exception:
        return solve_stations(inst, served_lb, options, seconds=seconds, gap=gap, effort=effort, window=window)
    try:
        opt = station_options(options, None, gap, effort)
        futs = [
            pool.submit(solve_station_by, (one, lb, opt, end, k, N, workers, window))
            for k, (one, lb) in enumerate(args)
        ]
        timeout = None if seconds is None else max(seconds - COLLECT_S - (time.perf_counter() - start), 0.0)
        done, _late = cf.wait(futs, timeout=timeout)
        out = []
        for f, (one, lb) in zip(futs, args, strict=True):
            if f in done and f.exception() is None:
                out.append(f.result())
            else:  # not back in time (or the pool broke): the greedy schedule, here
                f.cancel()
                out.append(solve_station((one, lb, None)))
        return out
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def solve_station_by(args: tuple[Any, ...]) -> StationResult:
    """One station's schedule in a pool task whose time share follows a common deadline.

    ``args`` is (one-station instance, lower bounds on swaps served or ``None``, options, deadline
    (:func:`time.monotonic`, system-wide) or ``None``, this task's place ``k`` in the queue, the number
    of tasks ``N``, workers ``W``[, the window step (default false)]). Tasks start in queue order, so
    when task ``k`` starts the ``N - k`` tasks left share the ``W`` workers until the deadline: its MIP
    gets ``W (deadline - now) / (N - k)`` seconds (at most the time left), less :data:`GREEDY_S`. A
    busy machine or a slow start shrinks the shares of the later tasks instead of overrunning, and
    time a station leaves unused goes to the
    rest. Below :data:`MIN_MIP_S` the greedy schedule alone is returned.
    """
    one, lb, opts, end, k, n, workers = args[:7]
    window = len(args) > 7 and bool(args[7])
    if end is None:
        return solve_station((one, lb, opts, True, False, window))
    left = end - time.monotonic()
    share = min(workers * left / max(n - k, 1), left) - GREEDY_S
    sub = dataclasses.replace(opts, time_limit=share) if share >= MIN_TASK_MIP_S else None
    return solve_station((one, lb, sub, True, False, window))


def greedy_all(
    inst: _Instance, served_lb: FloatArray | None, *, bounds: bool = True, deadline: float | None = None
) -> list[StationResult]:
    """Every station's greedy schedule; faster variants, then the idle schedule, as ``deadline`` nears."""
    out: list[StationResult] = []
    t0 = time.perf_counter()
    for s in range(inst.N):
        one, lb = _station_slice(inst, s), _row(served_lb, s)
        now = time.perf_counter()
        per = (now - t0) / s if s else 0.0
        left = None if deadline is None else deadline - now
        if left is not None and left < 0.3 * per * (inst.N - s):
            out.append(idle_station(one, lb))
        elif left is not None and left < per * (inst.N - s):
            out.append(solve_station((one, lb, None, False, True)))
        else:
            out.append(solve_station((one, lb, None, bounds)))
    return out


def _row(a: FloatArray | None, s: int) -> FloatArray | None:
    return None if a is None else a[s : s + 1]


def combined(results: list[StationResult]) -> tuple[float, float]:
    """Objective and bound of the stations together (sums; the bound is -inf if one station has none)."""
    obj = float(sum(r.objective for r in results))
    bnd = float(sum(r.bound for r in results)) if all(np.isfinite(r.bound) for r in results) else -np.inf
    return obj, bnd


POLISH_S = 1.0
"""Seconds of MIP per station when the stations with the largest gaps are polished first."""


def polish(
    inst: _Instance,
    results: list[StationResult],
    served_lb: FloatArray | None,
    options: SolveOptions,
    *,
    seconds: float,
    gap: float,
    effort: float = STATION_EFFORT,
    window: bool = False,
) -> list[StationResult]:
    """Re-solve the stations with the largest absolute gaps first, from their schedules, within ``seconds``.

    Each gets :data:`POLISH_S` (less when little time is left) of its own MIP, warm-started from its
    greedy schedule; a better schedule or bound replaces the old one. Sequential, in this process.
    """
    start = time.perf_counter()
    out = list(results)
    lost = [r.objective - r.bound if np.isfinite(r.bound) else r.objective for r in results]
    for s in np.argsort(lost)[::-1]:
        left = seconds - (time.perf_counter() - start)
        if left < MIN_MIP_S or lost[s] <= gap * abs(results[s].objective):
            break
        res = solve_station(
            (
                _station_slice(inst, int(s)),
                _row(served_lb, int(s)),
                station_options(options, min(POLISH_S, left), gap, effort),
                True,
                False,
                window,
            )
        )
        old = out[s]
        if np.isfinite(res.objective) and res.objective <= old.objective + 1e-9:
            out[s] = dataclasses.replace(res, bound=max(res.bound, old.bound))
        elif np.isfinite(res.bound) and res.bound > old.bound:
            out[s] = dataclasses.replace(old, bound=min(res.bound, old.objective))
    return out
