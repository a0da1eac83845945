"""Tests of the LinearModel HiGHS wrapper: quiet output, deadlines, duals, extra options."""

from __future__ import annotations

import time

import numpy as np
import pytest

from swapnet.errors import InvalidInputError, SwapnetError
from swapnet.optim import LinearModel, SolveOptions, SolveStatus
from swapnet.optim.model import new_highs


def _knapsack(n: int, seed: int = 0) -> LinearModel:
    rng = np.random.default_rng(seed)
    m = LinearModel("knap", sense="max")
    x = m.add_vars("x", n, binary=True, cost=rng.integers(50, 100, n).astype(float))
    m.add_constraints(
        "cap", rows=np.zeros((3, n), dtype=np.int64).ravel() + np.repeat(np.arange(3), n),
        cols=np.tile(x.index, 3), vals=rng.integers(40, 60, 3 * n).astype(float), hi=20.0 * n, n=3,
    )  # fmt: skip
    return m


def test_no_banner_when_log_is_off(capfd: pytest.CaptureFixture[str]) -> None:
    new_highs(log=False)
    sol = _knapsack(6).solve()
    sol.model.solve(relax=True)
    out, err = capfd.readouterr()
    assert sol.status == SolveStatus.OPTIMAL
    assert "HiGHS" not in out and "HiGHS" not in err


def test_log_on_prints(capfd: pytest.CaptureFixture[str]) -> None:
    _knapsack(4).solve(SolveOptions(log=True))
    out, _ = capfd.readouterr()
    assert "HiGHS" in out


def test_deadline_caps_the_solve() -> None:
    m = _knapsack(400, seed=3)
    t = time.perf_counter()
    sol = m.solve(SolveOptions(mip_gap=0.0), deadline=time.perf_counter() + 0.5)
    assert time.perf_counter() - t < 0.5 + 5.0
    assert sol.status in (SolveStatus.TIME_LIMIT, SolveStatus.OPTIMAL, SolveStatus.NO_SOLUTION)


def test_lp_duals_give_reduced_costs() -> None:
    # max 3x0 + 2x1 + x2, x0 + x1 + x2 <= 1, 0 <= x <= 1: x2 at 0 with reduced cost <= -1
    m = LinearModel("lp", sense="max")
    x = m.add_vars("x", 3, ub=1.0, cost=[3.0, 2.0, 1.0])
    m.add_constraints("c", rows=[0, 0, 0], cols=x.index, vals=1.0, hi=1.0)
    sol = m.solve()
    assert sol.col_dual is not None and sol.row_dual is not None
    assert sol.col_dual[2] <= -1.0 + 1e-9
    # LP duality: forcing x2 = 1 costs at least -col_dual[2]
    m.set_bounds([2], lb=1.0)
    assert m.solve().objective <= sol.objective + sol.col_dual[2] + 1e-9
    assert _knapsack(5).solve().col_dual is None  # MIPs have no duals


def test_highs_options_are_passed() -> None:
    sol = _knapsack(8).solve(SolveOptions(highs_options={"mip_heuristic_effort": 0.5}))
    assert sol.status == SolveStatus.OPTIMAL
    with pytest.raises(InvalidInputError, match="no_such_option"):
        _knapsack(3).solve(SolveOptions(highs_options={"no_such_option": 1}))
    assert issubclass(InvalidInputError, SwapnetError)


def test_interrupt_stops_an_overrunning_solver() -> None:
    # HiGHS's own limit is overridden to 1000 s: only the interrupt callback can stop it after ~0.5 + grace s
    m = _knapsack(400, seed=3)
    t = time.perf_counter()
    sol = m.solve(SolveOptions(mip_gap=0.0, time_limit=0.5, highs_options={"time_limit": 1000.0}))
    assert time.perf_counter() - t < 0.5 + 5.0
    assert sol.status in (SolveStatus.TIME_LIMIT, SolveStatus.OPTIMAL)


def test_thread_count_can_change_between_solves() -> None:
    # HiGHS sizes one scheduler per process at its first run; another count used to fail ("Not Set")
    m = _knapsack(30, seed=1)
    ref = m.solve(SolveOptions(mip_gap=0.0))
    for threads in (1, None, 2, 1):
        sol = m.solve(SolveOptions(mip_gap=0.0, threads=threads))
        assert sol.status == SolveStatus.OPTIMAL
        assert sol.objective == pytest.approx(ref.objective)
