r"""The window search of :mod:`~swapnet.siting._sizing_lns` with several windows solved at once.

Two windows :math:`W_1, W_2` may be solved side by side when their *footprints* are disjoint; the
footprint of :math:`W` is :math:`W` and every site sharing a demand node in reach with it (its
neighbours in :func:`~swapnet.siting._sizing_lns.site_graph`). A window's MILP changes only the flows
of the nodes :math:`N(W)` in its reach, the openings of :math:`W` and the loads of the sites its nodes
reach, all inside its footprint. With disjoint footprints neither window sees a node, a flow or a
frozen site's spare load the other changes, so each result, solved against the plan as it was when
the window was sent, still holds for the plan as it is when the result comes back, and the changes
add up. The main process merges a result (the window's openings, its nodes' flows and unserved
demand), re-costs the whole plan exactly (:func:`~swapnet.siting._sizing_primal.plan_cost`) and
keeps it only when it is cheaper.

Workers are fresh Python processes running this module (``python -m swapnet.siting._window_worker``,
so the caller's script is never imported again, unlike :mod:`multiprocessing`'s ``spawn``), each
reading the :class:`~swapnet.siting._sizing_lagrange.SizingData` once from its standard input; a
task carries the current plan (about 1 MB on the national benchmark) and the window's sites, and the
answer comes back as a pickle on the worker's standard output. HiGHS runs one thread in each. A worker
that dies or stops answering ends the parallel search with the plan merged so far (the caller then
goes on serially).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from swapnet.siting._sizing_lagrange import IntArray, SizingData
from swapnet.siting._sizing_lns import WINDOW_SECONDS, WINDOW_SITES, improve_window, site_graph, window
from swapnet.siting._sizing_primal import Plan, plan_cost

BoolArray = NDArray[np.bool_]

SEED_TRIES = 50
"""Seeds drawn for a window whose footprint misses every window in flight before the search waits."""

WORKER_COMMAND = (sys.executable, "-m", "swapnet.siting._window_worker")
"""The command that starts one worker process."""

GRACE_SECONDS = 10.0
"""A worker that has not answered this long after its window's time limit is given up."""


def serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """The worker's loop: read the instance, then answer each task ``(plan, sites, seconds)`` with the
    window's better plan or ``None`` and the worker's peak memory so far (GB), until a ``None`` task."""
    d: SizingData = pickle.load(inp)
    while True:
        task = pickle.load(inp)
        if task is None:
            return
        plan, sites, seconds = task
        new = improve_window(d, plan, sites, seconds)
        answer = (new if new.cost < plan.cost else None, peak_memory_gb())
        pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


def peak_memory_gb() -> float:
    """This process's peak resident memory since it started (Linux ``VmHWM``; NaN elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024**2  # kB
    except OSError:
        pass
    return float("nan")


class WorkerError(RuntimeError):
    """A worker process died or did not answer in time."""


class Workers:
    """Worker processes for windows (module docstring); use as a context manager."""

    def __init__(self, d: SizingData, count: int) -> None:
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])  # the directory holding the swapnet package
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "") if env.get("PYTHONPATH") else src
        cmd = [*WORKER_COMMAND]
        self.procs = [
            subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env) for _ in range(count)
        ]
        self.selector = selectors.DefaultSelector()
        self.idle = list(range(count))
        self.tags: dict[int, Any] = {}
        self.peak_gb = [0.0] * count  # each worker's peak resident memory as last reported
        for k, proc in enumerate(self.procs):
            self.selector.register(proc.stdout, selectors.EVENT_READ, k)  # type: ignore[arg-type]
        try:
            for proc in self.procs:
                self._send(proc, d)
        except WorkerError:
            self.tags = {0: None}  # stop them without waiting
            self.__exit__()
            raise

    @staticmethod
    def _send(proc: subprocess.Popen[bytes], obj: object) -> None:
        try:
            assert proc.stdin is not None
            pickle.dump(obj, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            proc.stdin.flush()
        except OSError as exc:  # a broken pipe: the worker is gone
            raise WorkerError(str(exc)) from exc

    def submit(self, plan: Plan, sites: IntArray, seconds: float, tag: Any) -> None:
        """Send a window to an idle worker (there must be one: :attr:`idle`)."""
        k = self.idle.pop()
        self.tags[k] = tag
        self._send(self.procs[k], (plan, sites, seconds))

    def collect(self, timeout: float) -> list[tuple[Any, Plan | None]]:
        """The answers of the workers that finish within ``timeout`` seconds (at least one unless it
        passes), with their tags."""
        answers = []
        for key, _ in self.selector.select(max(timeout, 0.0)):
            k = int(key.data)
            try:
                answer, peak = pickle.load(self.procs[k].stdout)  # type: ignore[arg-type]
            except (EOFError, OSError, pickle.UnpicklingError, TypeError, ValueError) as exc:
                raise WorkerError(f"worker {k} died or answered garbage") from exc
            self.peak_gb[k] = max(self.peak_gb[k], float(peak))
            answers.append((self.tags.pop(k), answer))
            self.idle.append(k)
        return answers

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            with contextlib.suppress(WorkerError):
                self._send(proc, None)
            with contextlib.suppress(OSError):  # the flush of a broken pipe; the file is closed all the same
                if proc.stdin is not None:
                    proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=GRACE_SECONDS if not self.tags else 0.5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self.selector.close()


def footprint(graph_ptr: IntArray, graph_idx: IntArray, sites: IntArray, m: int) -> BoolArray:
    """The window's sites and every site sharing a demand node with one of them."""
    mask = np.zeros(m, dtype=bool)
    mask[sites] = True
    for s in sites.tolist():
        mask[graph_idx[graph_ptr[s] : graph_ptr[s + 1]]] = True
    return mask


def merge(d: SizingData, plan: Plan, new: Plan, sites: IntArray) -> Plan:
    """``plan`` with the window's part of ``new`` (its sites' openings, its nodes' flows and unserved
    demand), exactly re-costed."""
    in_w = np.zeros(d.m, dtype=bool)
    in_w[sites] = True
    in_n = np.zeros(d.n, dtype=bool)
    in_n[d.ii[in_w[d.jj]]] = True
    is_open = plan.is_open.copy()
    is_open[sites] = new.is_open[sites]
    take = in_n[d.ii]
    x = np.where(take, new.x, plan.x)
    u = np.where(in_n, new.u, plan.u)
    return Plan(is_open, x, u, plan_cost(d, is_open, x, u))


def parallel_search(
    d: SizingData, plan: Plan, deadline: float, workers: int, seed: int = 0, size: int = WINDOW_SITES
) -> tuple[Plan, int, int, float]:
    """:func:`~swapnet.siting._sizing_lns.search` with up to ``workers`` windows in flight (module
    docstring); the same passes over the sites and the same stop after a pass without a gain. Returns
    the plan, the windows solved, the windows whose merge improved the plan and the largest peak
    memory a worker reported (GB; 0 when none answered)."""
    rng = np.random.default_rng(seed)
    graph = site_graph(d)
    ptr, idx = graph.indptr.astype(np.int64), graph.indices.astype(np.int64)
    covered = np.zeros(d.m, dtype=bool)
    busy = np.zeros(d.m, dtype=bool)
    usable = d.cap > 0
    tried = improved = 0
    gained = False
    flying = 0
    peak = 0.0
    try:
        with Workers(d, workers) as pool:
            while True:
                left = deadline - time.perf_counter()
                while pool.idle and left >= 1.0:
                    if not (~covered & usable).any():  # a pass over every site is done
                        if not gained:
                            break  # nothing gained (yet): wait for the windows in flight, or stop
                        covered[:] = False
                        gained = False
                    seeds = np.flatnonzero(~covered & usable & ~busy)
                    found = _free_window(graph, ptr, idx, seeds, busy, size, rng)
                    if found is None:
                        break  # every window tried overlaps one in flight: wait
                    w, fp = found
                    covered[w] = True
                    busy |= fp
                    pool.submit(plan, w, min(WINDOW_SECONDS, left - 0.5), (w, fp))
                    flying += 1
                if not flying:
                    break
                answers = pool.collect(deadline + WINDOW_SECONDS + GRACE_SECONDS - time.perf_counter())
                peak = max(pool.peak_gb)
                if not answers:
                    raise WorkerError("no worker answered in time")
                for (w, fp), new in answers:
                    busy &= ~fp
                    flying -= 1
                    tried += 1
                    if new is None:
                        continue
                    cand = merge(d, plan, new, w)
                    if cand.cost < plan.cost - 1e-9 * abs(plan.cost):
                        plan, improved, gained = cand, improved + 1, True
    except WorkerError:  # keep what was merged; the caller goes on serially
        pass
    return plan, tried, improved, peak


def _free_window(
    graph: sp.csr_matrix,
    ptr: IntArray,
    idx: IntArray,
    seeds: IntArray,
    busy: BoolArray,
    size: int,
    rng: np.random.Generator,
) -> tuple[IntArray, BoolArray] | None:
    """A window grown from one of ``seeds`` (drawn by ``rng``) whose footprint misses ``busy``, or
    ``None`` after :data:`SEED_TRIES` draws."""
    if seeds.size == 0:
        return None
    for _ in range(SEED_TRIES):
        w = window(graph, int(rng.choice(seeds)), size)
        fp = footprint(ptr, idx, w, busy.size)
        if not (fp & busy).any():
            return w, fp
    return None
