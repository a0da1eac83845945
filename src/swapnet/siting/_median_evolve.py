r"""A steady-state genetic search for p-median plans (Alp, Erkut & Drezner 2003), for budgets no MIP fits in.

Local optima of the interchange (:func:`~swapnet.siting._median_heuristics._interchange`) differ by
whole arrangements of sites: on the 10,000 x 1,000, p = 20 benchmark instance, thirty random starts
end between 0.2 % and 1.9 % above the best plan known. Moving between them needs many sites to move
at once, which is what recombination does:

* a **pool** of plans: the caller's (the interchange and Lagrangian plans) and random plans improved
  by interchange;
* a **child** of two random members: the union of their sites, from which the site whose removal
  raises the cost least is dropped until ``p`` are left (the removal cost of ``j`` is
  :math:`\sum_{i:\, near(i) = j} w_i (d2_i - d1_i)`), then improved by interchange;
* the child replaces the pool's worst member when it is better and not already in the pool.

Fixed sites are in every plan and are never dropped. Everything is seeded. The search stops at its
deadline, once its best plan meets the bound, or once :data:`STALE_CHILDREN` children in a row did
not enter the pool. A pool that cannot be built in its share of the time (very large instances, where
one interchange from a random plan takes too long; see :data:`SLOW_POOL`) ends the search as soon as
the pace of its random plans shows it, with the best plan so far.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from swapnet.optim.model import proven
from swapnet.siting._budget import Budget
from swapnet.siting._median_heuristics import _interchange, _Sorted

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

POOL_SIZE = 20
"""Plans in the pool. 120 s runs on the 10,000 x 1,000, p = 20 benchmark instance: pool 20 reached
4,323,508 at 45 s (seed 1) and 4,325,157 (seed 2), pool 40 reached 4,323,508 at 71 s (seed 3)."""

POOL_SHARE = 0.4
"""Share of the search's time the pool may take; with fewer than :data:`MIN_POOL` plans by then the
search ends with the best of them."""

SLOW_POOL = 0.5
"""The search ends after its first random plan when, at that plan's pace, its share of the time would
hold less than this share of the pool (national p-median, 20,000 x 3,000, p = 300: one interchange from
a random plan takes 5.6 s, and 4 children in 41 s improved nothing, where subgradient restarts lower
the gap)."""

MIN_POOL = 4
"""Fewest plans a pool needs for recombination to be worth its time."""

STALE_CHILDREN = 100
"""The search stops after this many children in a row that did not enter the pool (it has converged)."""

SEED = 20031
"""Seed of the search's random choices (fixed, so a call's choices do not depend on anything else)."""


@dataclass(frozen=True)
class Evolution:
    """What :func:`evolve` found and did."""

    mask: BoolArray
    """The best plan (mask of open sites)."""
    value: float
    """Its weighted cost."""
    pool: int
    """Distinct plans in the pool (recombination needs :data:`MIN_POOL`: fewer, when the instance has
    fewer local optima or its pool could not be built in time, and the best of them is returned)."""
    children: int
    """Children made."""
    improved: int
    """Children that were better than every plan before them."""
    seconds: float
    """Wall time of the search."""


def drop_to_p(C: FloatArray, w: FloatArray, sites: IntArray, p: int, keep: BoolArray, big: FloatArray) -> IntArray:
    r"""Drop sites from ``sites`` until ``p`` are left, each time the one whose removal costs least.

    The removal cost of site ``j`` is :math:`\sum_{i:\, near(i) = j} w_i (d2_i - d1_i)` with ``d1``,
    ``d2`` each demand's nearest and second-nearest cost among the sites left (infinite costs count as
    ``big``, one value per demand). Sites with ``keep`` (fixed) are never dropped.
    """
    left = list(int(j) for j in sites)
    D = np.minimum(C[:, left], big[:, None])
    while len(left) > p:
        part = np.partition(D, 1, axis=1)
        near = np.argmin(D, axis=1)
        loss = np.bincount(near, weights=w * (part[:, 1] - part[:, 0]), minlength=len(left))
        loss[keep[left]] = np.inf
        k = int(np.argmin(loss))
        left.pop(k)
        D = np.delete(D, k, axis=1)
    return np.asarray(left, dtype=np.int64)


def evolve(
    S: _Sorted,
    C: FloatArray,
    w: FloatArray,
    p: int,
    fx: IntArray,
    starts: list[BoolArray],
    budget: Budget,
    *,
    bound: float = -np.inf,
    mip_gap: float = 0.0,
    pool_size: int = POOL_SIZE,
    seed: int = SEED,
) -> Evolution:
    """Genetic search over p-median plans until ``budget`` runs out (see the module's docstring).

    Parameters
    ----------
    S, C, w
        The sorted rows, the cost matrix and the (positive) weights of the demand rows.
    p, fx
        Sites to open and the fixed ones.
    starts
        Plans to put in the pool first (each a mask of ``p`` open sites including ``fx``).
    budget
        When to stop at the latest.
    bound, mip_gap
        A lower bound: the search also stops once its best plan is within ``mip_gap`` of it. It stops,
        too, after :data:`STALE_CHILDREN` children in a row that did not enter the pool.
    """
    t0 = time.perf_counter()
    m = S.shape[1]
    fixed = np.zeros(m, dtype=bool)
    fixed[fx] = True
    rng = np.random.default_rng(seed)
    pool: list[BoolArray] = []
    values: list[float] = []

    def add(mask: BoolArray) -> None:
        if not any(np.array_equal(mask, q) for q in pool):
            pool.append(mask)
            values.append(S.value(w, mask))

    for s in starts:
        add(s)
    t_pool = time.perf_counter()
    pool_end = Budget(budget.share(POOL_SHARE))
    free = np.flatnonzero(~fixed)
    slow = False
    for k in range(3 * pool_size):  # small instances have fewer distinct local optima than the pool's size
        if len(pool) >= pool_size or pool_end.expired():
            break
        start = fixed.copy()
        start[rng.choice(free, p - fx.size, replace=False)] = True
        plan = _interchange(S, w, start, fx, pool_end)
        if not pool_end.expired():  # a plan cut short by the deadline is no local optimum: not kept
            add(plan)
        per_plan = (time.perf_counter() - t_pool) / (k + 1)
        if pool_end.end is not None and (pool_end.end - t_pool) < per_plan * pool_size * SLOW_POOL:
            slow = True  # too large for recombination in this budget: the time goes back to the caller
            break
    children = improved = stale = 0
    while (
        not slow
        and len(pool) >= MIN_POOL
        and not budget.expired()
        and stale < STALE_CHILDREN
        and not proven(min(values), bound, mip_gap)
    ):
        a, b = rng.choice(len(pool), 2, replace=False)
        union = np.flatnonzero(pool[a] | pool[b])
        child = np.zeros(m, dtype=bool)
        child[drop_to_p(C, w, union, p, fixed, S.big)] = True
        child = _interchange(S, w, child, fx, budget)
        children += 1
        value = S.value(w, child)
        worst = int(np.argmax(values))
        stale += 1
        if value < values[worst] and not any(np.array_equal(child, q) for q in pool):
            improved += value < min(values)
            pool[worst], values[worst], stale = child, value, 0
    best = int(np.argmin(values))  # a member leaves only for a better child, so the best never gets worse
    return Evolution(pool[best], values[best], len(pool), children, improved, time.perf_counter() - t0)
