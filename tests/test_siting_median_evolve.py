"""The p-median's genetic search (``siting/_median_evolve.py``) against brute force, and its place in ``p_median``."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting import _median_evolve as evo
from swapnet.siting import _median_heuristics as heur
from swapnet.siting import _median_radius, p_median
from swapnet.siting._budget import Budget
from swapnet.siting._median_heuristics import _Sorted


def value(C: np.ndarray, w: np.ndarray, sites: list[int] | np.ndarray) -> float:  # type: ignore[type-arg]
    return float((w * C[:, list(sites)].min(axis=1)).sum())


def instance(seed: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 100
    sites = rng.random((m, 2)) * 100
    C = np.sqrt(((xy[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2))
    return C, rng.integers(1, 9, size=n).astype(float)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 7), st.integers(0, 2))
def test_drop_to_p_takes_the_cheapest_removal_each_time(seed: int, u: int, nfix: int) -> None:
    """Each step removes the site whose removal raises the cost least (by direct recomputation);
    fixed sites stay."""
    C, w = instance(seed, 15, 9)
    rng = np.random.default_rng(seed)
    sites = np.sort(rng.choice(9, size=u + 1, replace=False)).astype(np.int64)
    keep = np.zeros(9, dtype=bool)
    keep[sites[:nfix]] = True
    p = max(1, min(u, nfix))
    got = evo.drop_to_p(C, w, sites, p, keep, np.full(15, 1e12))
    left = list(int(j) for j in sites)
    while len(left) > p:
        costs = [(value(C, w, [s for s in left if s != j]), k) for k, j in enumerate(left) if not keep[j]]
        left.pop(min(costs)[1])
    assert list(got) == left
    assert keep[sites].sum() == keep[got].sum()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 4), st.booleans())
def test_evolve_never_worse_than_its_start_and_keeps_fixed(seed: int, p: int, with_fixed: bool) -> None:
    C, w = instance(seed, 20, 9)
    S = _Sorted.of(C, w)
    fx = np.array([seed % 9], dtype=np.int64) if with_fixed else np.zeros(0, dtype=np.int64)
    start = np.zeros(9, dtype=bool)
    start[fx] = True
    start[[j for j in range(9) if j not in fx][: p - fx.size]] = True
    ev = evo.evolve(S, C, w, p, fx, [start], Budget(time.perf_counter() + 5.0))
    assert ev.mask.sum() == p and ev.mask[fx].all()
    assert ev.value == pytest.approx(value(C, w, np.flatnonzero(ev.mask)))
    assert ev.value <= value(C, w, np.flatnonzero(start)) + 1e-9
    best = min(value(C, w, list(s)) for s in itertools.combinations(range(9), p) if all(int(f) in s for f in fx))
    assert ev.value >= best - 1e-9


def test_evolve_finds_the_brute_force_optimum_where_interchange_alone_stops_short() -> None:
    """On instances where interchange from the greedy plan is not optimal, the search reaches the optimum."""
    hits = tried = 0
    for seed in range(40):
        C, w = instance(seed, 60, 16)
        p = 5
        S = _Sorted.of(C, w)
        fx = np.zeros(0, dtype=np.int64)
        best = min(value(C, w, list(s)) for s in itertools.combinations(range(16), p))
        start = heur._interchange(S, w, heur._greedy_median(S, C, w, p, fx), fx, Budget(None))
        if value(C, w, np.flatnonzero(start)) <= best * (1 + 1e-9):
            continue
        tried += 1
        ev = evo.evolve(S, C, w, p, fx, [start], Budget(time.perf_counter() + 10.0))
        hits += ev.value <= best * (1 + 1e-9)
    assert tried >= 3
    assert hits == tried


def test_evolve_with_no_time_returns_the_given_plan() -> None:
    C, w = instance(3, 30, 10)
    S = _Sorted.of(C, w)
    start = np.zeros(10, dtype=bool)
    start[:3] = True
    ev = evo.evolve(S, C, w, 3, np.zeros(0, dtype=np.int64), [start], Budget(time.perf_counter() - 1.0))
    assert ev.pool == 1 and ev.children == 0
    assert np.array_equal(ev.mask, start)


def test_skipped_mip_runs_the_search_and_reports_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """When no MIP fits in the budget, p_median runs the genetic search, then the restarts: the plan is
    valid, never worse than the heuristic one, its bound below the brute-force optimum, and its phases
    are in the details."""
    monkeypatch.setattr(_median_radius, "_REDUCED_MAX_CELLS", 0)
    monkeypatch.setattr(_median_radius, "_MIP_NNZ_PER_SECOND", 1e-9)
    monkeypatch.setattr(heur, "_LAG_ITERS", 5)  # a weak bound, so that the Lagrangian alone proves nothing
    for seed in range(8):
        C, w = instance(100 + seed, 40, 12)
        p = 3
        want = min(value(C, w, list(s)) for s in itertools.combinations(range(12), p))
        plan = p_median(C, w, p, options=SolveOptions(time_limit=5.0)).verify()
        heuristic = p_median(C, w, p, method="heuristic")
        assert plan.objective <= heuristic.objective + 1e-9
        assert plan.objective >= want - 1e-9 * want
        assert plan.bound <= want + 1e-9 * want
        assert plan.status != SolveStatus.OPTIMAL or plan.objective <= want * (1 + 1e-4)
        assert plan.details["mip_skipped"]
        assert plan.details["evolve_pool"] >= 1
        assert plan.details["evolve_pool"] >= evo.MIN_POOL or plan.details["evolve_children"] == 0
        assert plan.details["evolve_seconds"] < 5.0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 4), st.sampled_from([1.0, 1e-6, 1e-9]))
def test_evolve_keeps_every_demand_served_with_impossible_pairs(seed: int, p: int, small: float) -> None:
    """With impossible pairs (``inf``) and weights of very different sizes, the search never trades a
    served demand for a cheaper plan that leaves it unserved."""
    rng = np.random.default_rng(seed)
    n, m = 24, 9
    C = np.round(rng.random((n, m)) * 50, 1)
    C[rng.random((n, m)) < 0.6] = np.inf
    start = np.zeros(m, dtype=bool)
    start[rng.choice(m, p, replace=False)] = True
    opened = np.flatnonzero(start)
    C[np.arange(n), opened[rng.integers(0, p, n)]] = np.round(rng.random(n) * 50, 1)  # the start serves all
    w = np.where(rng.random(n) < 0.3, small, rng.integers(1, 1000, n).astype(float))
    S = _Sorted.of(C, w)
    ev = evo.evolve(S, C, w, p, np.zeros(0, dtype=np.int64), [start], Budget(time.perf_counter() + 5.0))
    assert np.isfinite(C[:, ev.mask].min(axis=1)).all()
    assert ev.value <= value(C, w, opened) + 1e-9


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 4), st.sampled_from([1.0, 1e-3, 1e-6, 1e-9]), st.booleans())
def test_p_median_with_impossible_pairs_and_tiny_weights_matches_brute_force(
    seed: int, p: int, small: float, heuristic: bool
) -> None:
    """Impossible pairs and weights of very different sizes: the exact solve returns the brute-force
    optimum (never an unserved demand, never 'no solution' when some plan serves everyone), and the
    heuristic returns a plan that serves everyone."""
    rng = np.random.default_rng(seed)
    n, m = 20, 8
    C = np.round(rng.random((n, m)) * 50, 1)
    C[rng.random((n, m)) < 0.6] = np.inf
    serve = rng.choice(m, p, replace=False)
    C[np.arange(n), serve[rng.integers(0, p, n)]] = np.round(rng.random(n) * 50, 1)  # some plan serves all
    w = np.where(rng.random(n) < 0.3, small, rng.integers(1, 1000, n).astype(float))
    plans = [list(s) for s in itertools.combinations(range(m), p)]
    want = min(value(C, w, s) for s in plans)
    plan = p_median(C, w, p, method="heuristic" if heuristic else "milp").verify()
    got = value(C, w, [int(j) for j in plan.sites])
    assert np.isfinite(got)
    assert plan.objective == pytest.approx(got, rel=1e-9)
    if not heuristic:
        assert plan.status == SolveStatus.OPTIMAL
        assert got <= want * (1 + 1e-4) + 1e-12
