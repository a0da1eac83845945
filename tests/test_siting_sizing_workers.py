"""Tests of the parallel window search of the large size_stations path: windows with disjoint
footprints merge additively, and the search with two workers keeps the plan feasible and never worse."""

from __future__ import annotations

import time

import numpy as np
import pytest
from test_siting_sizing_lagrange import check_plan, exact_optimum  # tests/ is on sys.path

from swapnet.siting import _sizing_lns as lns
from swapnet.siting import _sizing_workers as workers
from swapnet.siting._sizing_lagrange import SizingData, evaluate, initial_multipliers, levels
from swapnet.siting._sizing_primal import Plan, build_plan


def chain(seed: int, m: int = 12) -> tuple[SizingData, Plan]:
    """Sites on a line; node ``i`` reaches sites ``i // 2`` and ``i // 2 + 1`` (so far-apart windows
    have disjoint footprints)."""
    rng = np.random.default_rng(seed)
    n = 2 * m
    ii = np.repeat(np.arange(n), 2)
    jj = np.minimum(np.repeat(np.arange(n) // 2, 2) + np.tile([0, 1], n), m - 1)
    keep = np.ones(ii.size, dtype=bool)
    keep[1:] = (ii[1:] != ii[:-1]) | (jj[1:] != jj[:-1])
    d = SizingData(
        ii=ii[keep].astype(np.int64), jj=jj[keep].astype(np.int64), h=np.round(rng.uniform(0.0, 6.0, n), 2),
        lost=rng.uniform(5.0, 30.0, n), fixed=rng.uniform(5.0, 60.0, m), pb=float(rng.uniform(0.5, 4.0)),
        pc=float(rng.uniform(0.5, 4.0)), a=rng.uniform(0.3, 2.5, m), t=rng.uniform(0.2, 1.5, m),
        maxb=rng.integers(4, 20, m).astype(float), maxc=rng.integers(3, 15, m).astype(float),
        bays=float(rng.uniform(3.0, 15.0)), max_stations=None,
    )  # fmt: skip
    r = evaluate(d, levels(d), initial_multipliers(d))
    return d, build_plan(d, r.is_open, r.value, deadline=1e18)


def test_a_footprint_is_the_window_and_its_neighbours() -> None:
    d, _ = chain(0)
    g = lns.site_graph(d)
    fp = workers.footprint(g.indptr.astype(np.int64), g.indices.astype(np.int64), np.array([4, 5]), d.m)
    np.testing.assert_array_equal(np.flatnonzero(fp), [3, 4, 5, 6])


@pytest.mark.parametrize("seed", range(8))
def test_windows_with_disjoint_footprints_merge_additively(seed: int) -> None:
    d, plan = chain(seed)
    opt = exact_optimum(d)
    left, right = np.array([1, 2]), np.array([8, 9])  # footprints 0-3 and 7-10
    a = lns.improve_window(d, plan, left, seconds=30.0, gap=0.0)
    b = lns.improve_window(d, plan, right, seconds=30.0, gap=0.0)
    both = workers.merge(d, workers.merge(d, plan, a, left), b, right)
    check_plan(d, both, opt)
    assert both.cost == pytest.approx(a.cost + b.cost - plan.cost, rel=1e-9, abs=1e-9)
    # merging in the other order gives the same plan
    other = workers.merge(d, workers.merge(d, plan, b, right), a, left)
    np.testing.assert_array_equal(other.is_open, both.is_open)
    np.testing.assert_allclose(other.x, both.x)


@pytest.mark.parametrize("seed", range(3))
def test_the_parallel_search_keeps_plans_feasible_and_never_worse(seed: int) -> None:
    d, plan = chain(seed, m=16)
    opt = exact_optimum(d)
    found, tried, improved, peak = workers.parallel_search(d, plan, time.perf_counter() + 20.0, 2, seed=seed, size=3)
    assert 0.0 < peak < 4.0  # GB, as the workers report it
    check_plan(d, found, opt)
    assert found.cost <= plan.cost
    assert tried >= 1 and 0 <= improved <= tried
    if improved:
        assert found.cost < plan.cost


@pytest.mark.parametrize("code", ["import sys; sys.exit(3)", "import sys; sys.stdin.buffer.read(10); print('x')"])
def test_workers_that_die_leave_the_plan_as_it_was(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """A worker that exits at once, or answers garbage, ends the parallel search without an error."""
    import sys

    d, plan = chain(1)
    monkeypatch.setattr(workers, "WORKER_COMMAND", (sys.executable, "-c", code))
    found, tried, improved, peak = workers.parallel_search(d, plan, time.perf_counter() + 5.0, 2)
    assert found is plan and tried == 0 and improved == 0 and peak == 0.0
