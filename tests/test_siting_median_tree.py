"""The p-median's Lagrangian tree search (batched node bounds) against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from swapnet.siting import _median_bb as bb
from swapnet.siting import _median_heuristics as heur
from swapnet.siting._budget import Budget


def _value(C: np.ndarray, w: np.ndarray, S: tuple[int, ...]) -> float:  # type: ignore[type-arg]
    return float((w * C[:, list(S)].min(axis=1)).sum())


@pytest.mark.parametrize("batch", [1, 3, 16])
@pytest.mark.parametrize("integral", [False, True])
def test_tree_finds_the_brute_force_optimum(batch: int, integral: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """From weak multipliers and a random incumbent the finished tree's best plan is the optimum and its
    bound never exceeds it, whatever number of nodes share one vectorised subgradient run."""
    monkeypatch.setattr(bb, "_BATCH", batch)
    monkeypatch.setattr(bb, "_NODE_ITERS", 4)  # weak node bounds: the tree must branch
    rng = np.random.default_rng(11 + batch + 7 * integral)
    branched = 0
    for _ in range(12):
        n, m, p = int(rng.integers(8, 16)), int(rng.integers(5, 10)), int(rng.integers(1, 4))
        xy = rng.random((n + m, 2)) * 50
        C = np.sqrt(((xy[:n, None, :] - xy[None, n:, :]) ** 2).sum(axis=2))
        if integral:
            C = np.round(C)
        w = rng.integers(1, 6, n).astype(float)
        S = heur._Sorted.of(C)
        inc = np.zeros(m, dtype=bool)
        inc[rng.choice(m, p, replace=False)] = True
        ub = S.value(w, inc)
        res = bb.lagrangian_bb(
            S, w, p, np.zeros(m, dtype=bool), np.zeros(n), inc, ub, Budget(None), mip_gap=0.0, integral=integral
        )
        want = min(_value(C, w, T) for T in itertools.combinations(range(m), p))
        assert res.finished
        got = ub if res.mask is None else res.value
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
        if res.mask is not None:
            assert int(res.mask.sum()) == p
            assert S.value(w, res.mask) == pytest.approx(res.value, rel=1e-12)
        assert res.bound <= want + 1e-9 * max(1.0, want)
        branched += res.nodes > 1
    assert branched >= 3


def test_batched_subproblem_matches_one_node_at_a_time() -> None:
    """The subproblem of a stacked batch equals the subproblems of its nodes one by one."""
    rng = np.random.default_rng(3)
    n, m, p, k = 20, 9, 3, 5
    C = rng.random((n, m)) * 10
    w = rng.integers(1, 5, n).astype(float)
    R = bb._Rows.of(heur._Sorted.of(C), w)
    lam = rng.random((k, n)) * 25
    opened = np.zeros((k, m), dtype=bool)
    closed = np.zeros((k, m), dtype=bool)
    opened[1, 2] = True
    closed[2, [0, 4]] = True
    L, chosen, rho, served, _ = bb._subproblem(R, lam, p, opened, closed)
    for b in range(k):
        red = np.minimum(w[:, None] * C - lam[b][:, None], 0.0)
        assert np.allclose(rho[b], red.sum(axis=0))
        assert int(chosen[b].sum()) == p and not chosen[b][closed[b]].any() and chosen[b][opened[b]].all()
        free = ~opened[b] & ~closed[b]
        want_L = lam[b].sum() + rho[b][opened[b]].sum() + np.sort(rho[b][free])[: p - int(opened[b].sum())].sum()
        assert L[b] == pytest.approx(want_L)
        want_served = ((w[:, None] * C < lam[b][:, None]) & chosen[b][None, :]).sum(axis=1)
        assert np.array_equal(served[b], want_served)


def test_radius_nonzero_count_matches_the_built_model() -> None:
    """The count that decides whether the MIP after an unfinished tree can run (and so the tree's share)
    equals the built radius model's nonzeros, ties in the costs and partial level prefixes included."""
    from swapnet.siting._median_radius import _radius_model, _radius_nonzeros

    rng = np.random.default_rng(5)
    for _ in range(20):
        n, m = int(rng.integers(3, 40)), int(rng.integers(2, 25))
        C = np.round(rng.random((n, m)) * rng.choice([3.0, 10.0, 100.0]))  # few levels: many ties
        w = rng.integers(1, 5, n).astype(float)
        S = heur._Sorted.of(C, w)
        K = rng.integers(1, S.finite_lv + 1)
        lm = _radius_model(S, w, K, min(2, m), np.array([], dtype=np.int64))
        assert _radius_nonzeros(S, K) == lm.n_entries
