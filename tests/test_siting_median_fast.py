"""The p-median's incremental bookkeeping against direct recomputation (sorted rows, greedy, swaps, tree counts)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting import _median_bb as bb
from swapnet.siting import _median_heuristics as heur
from swapnet.siting import _median_radius, p_median


@st.composite
def cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, int]:  # type: ignore[type-arg]
    n = draw(st.integers(1, 12))
    m = draw(st.integers(2, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    C = np.round(rng.random((n, m)) * 10, 1)  # ties
    if draw(st.booleans()):  # impossible pairs; every row keeps one finite entry
        C[rng.random((n, m)) < 0.3] = np.inf
        C[np.arange(n), rng.integers(0, m, n)] = np.round(rng.random(n) * 10, 1)
    w = np.round(rng.random(n) * 5, 1) + 0.1
    return C, w, draw(st.integers(1, m)), draw(st.integers(0, 2**31 - 1))


@settings(max_examples=80, deadline=None)
@given(cases())
def test_swap_positions_equal_recomputed_positions(case: tuple[np.ndarray, np.ndarray, int, int]) -> None:  # type: ignore[type-arg]
    C, _, p, seed = case
    S = heur._Sorted.of(C)
    m = C.shape[1]
    rng = np.random.default_rng(seed)
    mask = np.zeros(m, dtype=bool)
    mask[rng.choice(m, p, replace=False)] = True
    if mask.all():
        return
    f1, f2 = S.open_positions(mask)
    for _ in range(5):  # a chain of swaps, each updated from the last
        out_site = int(rng.choice(np.flatnonzero(mask)))
        in_site = int(rng.choice(np.flatnonzero(~mask)))
        mask = mask.copy()
        mask[out_site], mask[in_site] = False, True
        f1, f2 = heur._swap_positions(S, mask, f1, f2, out_site, in_site)
        want1, want2 = S.open_positions(mask)
        assert np.array_equal(f1, want1)
        assert np.array_equal(f2, want2)


@settings(max_examples=80, deadline=None)
@given(cases())
def test_greedy_adds_the_best_site_each_step(case: tuple[np.ndarray, np.ndarray, int, int]) -> None:  # type: ignore[type-arg]
    C, w, p, _ = case
    S = heur._Sorted.of(C)
    got = heur._greedy_median(S, C, w, p, np.zeros(0, dtype=np.int64))
    assert got.sum() == p
    Cb = np.minimum(C, S.big[:, None])
    chosen: list[int] = []
    for _ in range(p):  # the plain greedy: argmax of the gain over every closed site (first on ties)
        cur = Cb[:, chosen].min(axis=1) if chosen else np.full(C.shape[0], np.inf)
        vals = [float((w * np.minimum(cur, Cb[:, j])).sum()) if j not in chosen else np.inf for j in range(C.shape[1])]
        best = min(vals)
        ties = [j for j, v in enumerate(vals) if v <= best + 1e-9 * max(1.0, abs(best))]
        j = int(np.flatnonzero(got[ties])[0]) if got[ties].any() else -1
        assert j >= 0, "greedy took a site that is not among the best of its step"
        chosen.append(ties[j])
    assert set(chosen) == set(np.flatnonzero(got).tolist())


@settings(max_examples=80, deadline=None)
@given(cases(), st.integers(0, 2**31 - 1))
def test_tree_row_counts_from_any_start(case: tuple[np.ndarray, np.ndarray, int, int], seed: int) -> None:  # type: ignore[type-arg]
    C, w, _, _ = case
    S = heur._Sorted.of(C)
    R = bb._Rows.of(S, w)
    n, m = C.shape
    rng = np.random.default_rng(seed)
    lam = rng.random(n) * 60.0
    want = (w[:, None] * S.srt < lam[:, None]).sum(axis=1)
    assert np.array_equal(R.count(lam, None), want)
    assert np.array_equal(R.count(lam, rng.integers(0, m + 1, n)), want)  # from a wrong start: still exact
    assert np.array_equal(R.count(lam, want), want)
    t0 = np.array(want)
    assert np.array_equal(heur._count_from(S.srt, lam / w, t0), (S.srt < (lam / w)[:, None]).sum(axis=1))


def test_budget_restarts_keep_bound_and_plan_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """When no MIP fits in the budget, the subgradient restarts only ever raise a valid bound."""
    monkeypatch.setattr(_median_radius, "_REDUCED_MAX_CELLS", 0)  # the large-instance path
    monkeypatch.setattr(_median_radius, "_MIP_NNZ_PER_SECOND", 1e-9)  # and no MIP fits in any budget
    monkeypatch.setattr(heur, "_LAG_ITERS", 5)  # a weak first bound, so that restarts have work to do
    rng = np.random.default_rng(5)
    restarted = 0
    for _ in range(15):
        n, m, p = 18, 8, 3
        xy = rng.random((n, 2)) * 100
        C = np.sqrt(((xy[:, None, :] - xy[None, :m, :]) ** 2).sum(axis=2))
        w = rng.integers(1, 9, size=n).astype(float)
        plan = p_median(C, w, p, options=SolveOptions(time_limit=5.0)).verify()
        want = min(float((w * C[:, list(S)].min(axis=1)).sum()) for S in itertools.combinations(range(m), p))
        assert plan.objective >= want - 1e-9 * want
        assert plan.bound <= want + 1e-9 * want
        assert plan.status != SolveStatus.OPTIMAL or plan.objective <= want * (1 + 1e-4)
        restarted += int(plan.details.get("restart_rounds", 0) > 0)
    assert restarted >= 10
