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

Workers are separate processes (``spawn``), each holding the :class:`~swapnet.siting._sizing_lagrange.
SizingData` once; a task carries the current plan (about 1 MB on the national benchmark) and the
window's sites. HiGHS runs one thread in each.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from swapnet.siting._sizing_lagrange import IntArray, SizingData
from swapnet.siting._sizing_lns import WINDOW_SECONDS, WINDOW_SITES, improve_window, site_graph, window
from swapnet.siting._sizing_primal import Plan, plan_cost

BoolArray = NDArray[np.bool_]

SEED_TRIES = 50
"""Seeds drawn for a window whose footprint misses every window in flight before the search waits."""

_DATA: list[SizingData] = []
"""The worker process's copy of the instance (set once by :func:`_start_worker`)."""


def _start_worker(d: SizingData) -> None:
    _DATA[:] = [d]


def _solve(plan: Plan, sites: IntArray, seconds: float) -> Plan | None:
    """Worker task: the window's better plan, or ``None`` when it found none."""
    new = improve_window(_DATA[0], plan, sites, seconds)
    return new if new.cost < plan.cost else None


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
) -> tuple[Plan, int, int]:
    """:func:`~swapnet.siting._sizing_lns.search` with up to ``workers`` windows in flight (module
    docstring); the same passes over the sites and the same stop after a pass without a gain. Returns
    the plan, the windows solved and the windows whose merge improved the plan."""
    rng = np.random.default_rng(seed)
    graph = site_graph(d)
    ptr, idx = graph.indptr.astype(np.int64), graph.indices.astype(np.int64)
    covered = np.zeros(d.m, dtype=bool)
    busy = np.zeros(d.m, dtype=bool)
    usable = d.cap > 0
    tried = improved = 0
    gained = False
    flying: dict[Future[Plan | None], tuple[IntArray, BoolArray]] = {}
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_start_worker,
                                 initargs=(d,)) as pool:  # fmt: skip
            while True:
                left = deadline - time.perf_counter()
                while len(flying) < workers and left >= 1.0:
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
                    flying[pool.submit(_solve, plan, w, min(WINDOW_SECONDS, left - 0.5))] = (w, fp)
                if not flying:
                    break
                done, _ = wait(flying, return_when=FIRST_COMPLETED)
                for fut in done:
                    w, fp = flying.pop(fut)
                    busy &= ~fp
                    tried += 1
                    new = fut.result()
                    if new is None:
                        continue
                    cand = merge(d, plan, new, w)
                    if cand.cost < plan.cost - 1e-9 * abs(plan.cost):
                        plan, improved, gained = cand, improved + 1, True
    except (BrokenProcessPool, OSError):  # a worker died or none could start: keep what was merged
        pass
    return plan, tried, improved


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
