"""The integer-sizes polish of rollout plans (``siting/rollout/polish.py``)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from swapnet import synthetic
from swapnet.assets import BatteryPack, StationDesign
from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting import plan_rollout
from swapnet.siting.rollout import sample_scenarios
from swapnet.siting.rollout import solve as solve_mod
from swapnet.siting.rollout.api import prepare
from swapnet.siting.rollout.assemble import make_plan
from swapnet.siting.rollout.model import build_model
from swapnet.siting.rollout.polish import _piece, expected_cost, polish_sizes
from swapnet.siting.rollout.solve import Solved, solve_extensive

EXACT = SolveOptions(mip_gap=0.0, seed=1)
DESIGN = StationDesign.choco_swap()
PACK = BatteryPack.catl_25_lfp()


def _case(seed: int, *, budget: float | None = None, shared: int = 1) -> tuple:
    net = synthetic.city_grid(5, 5, seed=seed)
    dem = synthetic.city_demand(net, total_swaps_per_day=2500.0, seed=seed)
    cand = synthetic.service_store_sites(net, 5, seed=seed)
    scen = sample_scenarios(dem, [0.6, 1.0, 1.5], 2, growth_sd=0.5, seed=seed, shared_years=shared)
    return prepare(net, scen, cand, DESIGN, PACK, service_km=2.5, budget=budget)


def _padded(inst, sv: Solved, extra: int) -> tuple:
    """The optimal plan with ``extra`` more batteries and chargers at every open station (still feasible)."""
    B = np.minimum(sv.B + extra * sv.Y, inst.maxb)
    C = np.minimum(sv.C + extra * sv.Y, inst.maxc)
    return sv.Y, B, C, sv.x, sv.u


def _plan(inst, inp, arrs: tuple, objective: float):
    Y, B, C, x, u = arrs
    sv = Solved(Y, B, C, x, u, objective, float("nan"), SolveStatus.FEASIBLE, "test", 0.0)
    return make_plan(inst, sv, inp, method="test", build_seconds=0.0, details={}, shared_years=1)


def test_expected_cost_is_the_models_objective() -> None:
    inst, _ = _case(1)
    sv = solve_extensive(inst, EXACT, None)
    assert expected_cost(inst, sv.Y, sv.B, sv.C, sv.u) == pytest.approx(sv.objective, rel=1e-9)


@pytest.mark.parametrize(("seed", "shared"), [(1, 1), (2, 1), (3, 0), (4, 2)])
def test_polish_removes_spare_sizes_and_the_plan_verifies(seed: int, shared: int) -> None:
    inst, inp = _case(seed, shared=shared)
    sv = solve_extensive(inst, EXACT, None)
    padded = _padded(inst, sv, 1)
    before = expected_cost(inst, padded[0], padded[1], padded[2], padded[4])
    assert before > sv.objective  # the padding costs something
    pol = polish_sizes(inst, *padded, shared, EXACT, None)
    assert pol is not None
    assert pol.objective < before
    assert pol.objective == pytest.approx(sv.objective, rel=1e-4)  # the optimum is within the window
    assert pol.stats["polish_gain"] == pytest.approx(before - pol.objective)
    assert (pol.B <= padded[1]).all() and (pol.C <= padded[2]).all()
    assert (pol.Y == sv.Y).all()  # openings kept
    plan = _plan(inst, inp, (pol.Y, pol.B, pol.C, pol.x, pol.u), pol.objective)
    plan.verify()
    assert plan.objective == pytest.approx(pol.objective, rel=1e-9)


def test_polish_of_the_optimum_gains_nothing() -> None:
    inst, _ = _case(2)
    sv = solve_extensive(inst, EXACT, None)
    pol = polish_sizes(inst, sv.Y, sv.B, sv.C, sv.x, sv.u, 1, EXACT, None)
    assert pol is None or pol.objective >= sv.objective * (1 - 1e-9)


def _cash(inst, Y, B, C) -> np.ndarray:
    """Cash capex of every scenario-year."""
    prev = [np.concatenate([np.zeros_like(a[:, :1]), a[:, :-1]], axis=1) for a in (Y, B, C)]
    return ((Y - prev[0]) @ inst.site_cash + inst.battery_cash * (B - prev[1]).sum(axis=2)
            + inst.charger_cash * (C - prev[2]).sum(axis=2))  # fmt: skip


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_polish_with_binding_budgets_keeps_them(seed: int) -> None:
    inst0, _ = _case(seed, shared=0)
    sv = solve_extensive(inst0, EXACT, None)
    padded = _padded(inst0, sv, 1)
    # each year's budget is the padded plan's largest spend that year: a smaller state in one year
    # spends more the year after, which a scenario spending the whole budget then cannot afford
    cap = _cash(inst0, *padded[:3]).max(axis=0)
    inst, inp = _case(seed, budget=[float(v) for v in cap], shared=0)
    before = expected_cost(inst, padded[0], padded[1], padded[2], padded[4])
    pol = polish_sizes(inst, *padded, 0, EXACT, None)
    assert pol is not None
    assert sv.objective * (1 - 1e-9) <= pol.objective < before
    assert (_cash(inst, pol.Y, pol.B, pol.C) <= inst.budget * (1 + 1e-9)).all()
    _plan(inst, inp, (pol.Y, pol.B, pol.C, pol.x, pol.u), pol.objective).verify()


def test_a_piece_equals_brute_force_over_its_window() -> None:
    inst, _ = _case(3, shared=0)
    sv = solve_extensive(inst, EXACT, None)
    Y, B, C, x, u = _padded(inst, sv, 1)
    s, t = 0, 1
    init = (Y[[s], t - 1], B[[s], t - 1], C[[s], t - 1])
    yl = Y[[s], t : t + 1]
    lock = (yl, np.full_like(yl, np.nan), np.full_like(yl, np.nan))
    sub = inst.restrict([s], years=[t], initial=init, lock=lock)
    got = _piece(sub, yl, B[[s], t : t + 1], C[[s], t : t + 1], x[[s], t : t + 1], u[[s], t : t + 1], EXACT, 1e18)
    open_j = np.flatnonzero(yl[0, 0] > 0.5)
    assert 1 <= open_j.size <= 5
    # brute force: every size in the window, the flows by the LP
    best = np.inf
    ranges = []
    for arr, prev in ((B, init[1]), (C, init[2])):
        for j in open_j:
            top = max(arr[s, t, j], prev[0, j])
            ranges.append(range(int(max(prev[0, j], top - 1)), int(top) + 1))
    for combo in itertools.product(*ranges):
        rm = build_model(sub)
        b = np.zeros(inst.m)
        c = np.zeros(inst.m)
        b[open_j] = combo[: open_j.size]
        c[open_j] = combo[open_j.size :]
        rm.lm.set_bounds(rm.B.index.ravel(), lb=b, ub=b)
        rm.lm.set_bounds(rm.C.index.ravel(), lb=c, ub=c)
        lp = rm.lm.solve(EXACT, relax=True)
        if lp.status == SolveStatus.OPTIMAL:
            best = min(best, float(lp.objective))
    v0 = expected_cost(sub, yl, B[[s], t : t + 1], C[[s], t : t + 1], u[[s], t : t + 1])
    if got is None:  # the plan's own sizes are optimal in the window
        assert v0 == pytest.approx(best, rel=1e-6)
        return
    nb, nc, _, nu = got
    assert expected_cost(sub, yl, nb, nc, nu) == pytest.approx(best, rel=1e-4)  # the piece's MIP gap


def test_the_decomposition_uses_the_polish_and_never_loses(monkeypatch: pytest.MonkeyPatch) -> None:
    net = synthetic.city_grid(5, 5, seed=7)
    dem = synthetic.city_demand(net, total_swaps_per_day=2500.0, seed=7)
    cand = synthetic.service_store_sites(net, 5, seed=7)
    scen = sample_scenarios(dem, [0.6, 1.0, 1.5], 3, growth_sd=0.5, seed=7)
    opts = SolveOptions(mip_gap=0.02, seed=1)
    kw = {"service_km": 2.5, "method": "decompose", "options": opts}
    with_polish = plan_rollout(net, scen, cand, DESIGN, PACK, **kw).verify()
    monkeypatch.setattr(solve_mod, "polish_sizes", lambda *a, **k: None)
    without = plan_rollout(net, scen, cand, DESIGN, PACK, **kw).verify()
    assert with_polish.objective <= without.objective * (1 + 1e-9)
    assert with_polish.bound == pytest.approx(without.bound, rel=1e-9)
    if with_polish.objective < without.objective * (1 - 1e-9):
        assert with_polish.details["polish_gain"] > 0
