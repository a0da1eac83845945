"""Numerical safety of the siting models: badly scaled inputs against brute force, bounds against status."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import InvalidInputError
from swapnet.optim import LinearModel, SolveOptions, SolveStatus
from swapnet.optim.model import GAP_SLACK
from swapnet.siting import SitingPlan, _median_heuristics, max_coverage, p_median, set_cover

EXACT = SolveOptions(mip_gap=0.0)


def brute_median(C: np.ndarray, w: np.ndarray, p: int) -> float:
    return min(float((w * C[:, list(S)].min(axis=1)).sum()) for S in itertools.combinations(range(C.shape[1]), p))


def brute_coverage(C: np.ndarray, w: np.ndarray, r: float, p: int) -> float:
    A = C <= r
    return max(float(w[A[:, list(S)].any(axis=1)].sum()) for S in itertools.combinations(range(C.shape[1]), p))


def assert_status_agrees(plan: SitingPlan, sense: str = "min") -> None:
    """Never ``optimal`` unless the bound proves it; the bound never beats the plan."""
    assert np.isfinite(plan.objective)
    if plan.status == SolveStatus.OPTIMAL:
        assert np.isfinite(plan.bound)
        assert plan.gap <= max(EXACT.mip_gap, GAP_SLACK) * (1 + 1e-9)
    if np.isfinite(plan.bound):
        scale = max(abs(plan.objective), abs(plan.bound))
        if sense == "min":
            assert plan.bound <= plan.objective + 1e-9 * scale
        else:
            assert plan.bound >= plan.objective - 1e-9 * scale


def test_max_coverage_tiny_weights_hand_solved() -> None:
    # site 0 covers demand 0 and 1 (2e-9), site 1 covers everything (3e-9)
    C = np.array([[1.0, 0.0, 3.0], [1.0, 1.0, 1.0], [3.0, 1.0, 1.0]])
    plan = max_coverage(C, np.full(3, 1e-9), 1.0, p=1, options=EXACT).verify()
    assert plan.sites == (1,)
    assert plan.objective == pytest.approx(3e-9, rel=1e-12)
    assert plan.status == SolveStatus.OPTIMAL
    assert_status_agrees(plan, "max")


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**31 - 1),
    exponent=st.sampled_from([-12, -9, -3, 0, 6, 12, 30]),
)
def test_max_coverage_any_weight_scale_equals_brute_force(seed: int, exponent: int) -> None:
    rng = np.random.default_rng(seed)
    C = rng.integers(0, 4, size=(6, 5)).astype(float)
    w = rng.integers(1, 9, size=6) * 10.0**exponent
    plan = max_coverage(C, w, 1.0, p=2, options=EXACT).verify()
    want = brute_coverage(C, w, 1.0, 2)
    assert plan.objective == pytest.approx(want, rel=1e-9)
    assert plan.status == SolveStatus.OPTIMAL
    assert_status_agrees(plan, "max")


def test_p_median_mixed_magnitudes_equal_brute_force() -> None:
    """Costs mixing 1e12 and 1e-9 on random 5 x 5 instances, p = 2: every plan optimal and reported so."""
    rng = np.random.default_rng(20261201)
    for _ in range(300):
        C = np.where(rng.random((5, 5)) < 0.5, 1e12, 1e-9) * rng.integers(1, 10, size=(5, 5))
        w = rng.integers(1, 5, size=5).astype(float)
        plan = p_median(C, w, 2, options=EXACT).verify()
        want = brute_median(C, w, 2)
        assert plan.objective == pytest.approx(want, rel=1e-9), (C, w)
        assert plan.status == SolveStatus.OPTIMAL
        assert_status_agrees(plan)
        assert not (plan.bound == 0.0 and plan.gap == 1.0)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), exponent=st.sampled_from([-9, 0, 9]))
def test_p_median_capacitated_scaled_equals_unscaled(seed: int, exponent: int) -> None:
    # scaling every cost by 10**k scales the optimum by 10**k
    rng = np.random.default_rng(seed)
    C = rng.integers(1, 20, size=(6, 4)).astype(float)
    w = rng.integers(1, 4, size=6).astype(float)
    cap = float(w.sum())  # one site can hold everything, two certainly
    base = p_median(C, w, 2, capacity=cap / 1.5, options=EXACT)
    plan = p_median(C * 10.0**exponent, w, 2, capacity=cap / 1.5, options=EXACT).verify()
    assert plan.objective == pytest.approx(base.objective * 10.0**exponent, rel=1e-9)
    assert_status_agrees(plan)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), exponent=st.sampled_from([-9, 0, 12]))
def test_set_cover_any_cost_scale(seed: int, exponent: int) -> None:
    rng = np.random.default_rng(seed)
    C = rng.integers(0, 3, size=(6, 5)).astype(float)
    C[:, 0] = 0.0  # site 0 covers everything, so a cover exists
    c = rng.integers(1, 9, size=5) * 10.0**exponent
    plan = set_cover(C, 0.0, site_costs=c, options=EXACT).verify()
    A = C <= 0.0
    want = min(
        float(c[list(S)].sum())
        for k in range(1, 6)
        for S in itertools.combinations(range(5), k)
        if A[:, list(S)].any(axis=1).all()
    )
    assert plan.objective == pytest.approx(want, rel=1e-9)
    assert_status_agrees(plan)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: p_median(np.array([[1e300, 1.0], [1.0, 1e300]]), None, 1), "cost[0, 0]"),
        (lambda: max_coverage(np.ones((2, 2)), [1.0, 1e200], 1.0, p=1), "weights[1]"),
        (lambda: set_cover(np.zeros((2, 2)), 0.0, site_costs=[1.0, 1e150]), "site_costs[1]"),
        (lambda: p_median(np.ones((2, 2)), None, 1, capacity=[1e300, 5.0]), "capacity"),
    ],
)
def test_unsafe_magnitudes_are_refused_naming_the_field(call: object, field: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        call()  # type: ignore[operator]
    assert err.value.field.startswith(field)


def test_linear_model_tiny_objective_is_solved_relatively() -> None:
    # max 1e-9 x0 + 2e-9 x1 with x0 + x1 <= 1, binary: the optimum is x1 (HiGHS's absolute gap would accept x0)
    lm = LinearModel("tiny", sense="max")
    x = lm.add_vars("x", 2, cost=[1e-9, 2e-9], binary=True)
    lm.add_constraints("one", rows=[0, 0], cols=x.index, vals=1.0, hi=1.0)
    start = np.array([1.0, 0.0])
    sol = lm.solve(EXACT, start=start)
    assert sol.values("x").tolist() == [0.0, 1.0]
    assert sol.report.bound == pytest.approx(2e-9, rel=1e-9)


def test_linear_model_row_scaling_keeps_tiny_rows_feasible() -> None:
    # a row with coefficients 1e-9 (capacity in tiny units): min x s.t. 1e-9 x >= 3e-9, x integer
    lm = LinearModel("rows")
    x = lm.add_vars("x", 1, cost=1.0, integer=True, ub=10.0)
    lm.add_constraints("need", rows=[0], cols=x.index, vals=1e-9, lo=3e-9)
    sol = lm.solve(EXACT)
    assert sol.values("x").tolist() == [3.0]


@pytest.mark.parametrize("integral", [True, False])
def test_p_median_tree_search_equals_brute_force(integral: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Instances with a Lagrangian gap go through fixing and the tree search; every one matches brute force."""
    monkeypatch.setattr(_median_heuristics, "_LAG_ITERS", 3)  # a weak root bound: the tree must prove
    rng = np.random.default_rng(7 if integral else 8)
    through_tree = 0
    for k in range(40):
        n, m, p = 24, 11, 3
        xy = rng.random((n, 2)) * 100
        C = np.sqrt(((xy[:, None, :] - xy[None, :m, :]) ** 2).sum(axis=2))
        C = np.floor(C) if integral else C
        w = rng.integers(1, 5, size=n).astype(float)
        fixed = [int(rng.integers(m))] if k % 4 == 0 else None
        plan = p_median(C, w, p, fixed=fixed, options=EXACT).verify()
        combos = [S for S in itertools.combinations(range(m), p) if fixed is None or fixed[0] in S]
        want = min(float((w * C[:, list(S)].min(axis=1)).sum()) for S in combos)
        assert plan.objective == pytest.approx(want, rel=1e-9)
        assert plan.status == SolveStatus.OPTIMAL
        assert_status_agrees(plan)
        through_tree += "bb_nodes" in plan.details
    assert through_tree >= 30  # the tree search (not only the Lagrangian bound) did the proving
