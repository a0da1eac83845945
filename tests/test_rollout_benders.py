"""The non-anticipative bound of the rollout decomposition: safe cuts, persistent LPs, Benders (``benders.py``)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from swapnet import synthetic
from swapnet.assets import BatteryPack, StationDesign
from swapnet.operations._procs import processes_allowed
from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting import plan_rollout
from swapnet.siting.rollout import sample_scenarios
from swapnet.siting.rollout.api import prepare
from swapnet.siting.rollout.benders import TOLERANCE, Master, benders_bound
from swapnet.siting.rollout.lpworkers import LPPool, ScenarioLP
from swapnet.siting.rollout.model import build_model
from swapnet.siting.rollout.solve import _key

EXACT = SolveOptions(mip_gap=0.0, seed=1)
DESIGN = StationDesign.choco_swap()
PACK = BatteryPack.catl_25_lfp()


def _instance(seed: int, budget: float | None = None, years: tuple[float, ...] = (0.6, 1.0, 1.5)):
    net = synthetic.city_grid(5, 5, seed=seed)
    dem = synthetic.city_demand(net, total_swaps_per_day=2500.0, seed=seed)
    cand = synthetic.service_store_sites(net, 5, seed=seed)
    scen = sample_scenarios(dem, list(years), 4, growth_sd=0.5, seed=seed)
    inst, _ = prepare(net, scen, cand, DESIGN, PACK, service_km=2.5, budget=budget)
    return net, scen, cand, inst


def _state(inst, rng: np.random.Generator) -> np.ndarray:
    Y = (rng.random(inst.m) < 0.6).astype(float) * rng.random(inst.m)  # fractional openings too (the LP's)
    B = rng.random(inst.m) * inst.maxb * Y
    C = rng.random(inst.m) * inst.maxc * Y
    if inst.c_ge_b:
        C = np.minimum(np.maximum(C, B), inst.maxc * Y)
    return np.stack([Y, B, C])


def _later_value(inst, s: int, z: np.ndarray) -> float:
    """Q_s(z) from a fresh model: scenario s's later years with the year-1 states z as their initial state."""
    sub = inst.restrict([s], list(range(1, inst.T)), initial=tuple(a[None, :] for a in z))
    lp = build_model(sub).lm.solve(EXACT, relax=True)
    assert lp.status == SolveStatus.OPTIMAL
    return float(lp.objective)


@pytest.mark.parametrize(("seed", "budget"), [(1, None), (2, None), (3, 3e6)])
def test_warm_re_solves_equal_fresh_solves_and_cuts_lie_below_everywhere(seed: int, budget: float | None) -> None:
    _, _, _, inst = _instance(seed, budget)
    rng = np.random.default_rng(seed)
    for s in range(inst.S):
        lp = ScenarioLP(inst.restrict([s], list(range(1, inst.T))), 1, s)
        points = [_state(inst, rng) for _ in range(4)]
        outs = [lp.solve(z, None) for z in points]  # one instance, re-solved warm at each point in turn
        for z, out in zip(points, outs, strict=True):
            assert out.ok
            q = _later_value(inst, s, z)
            assert out.value == pytest.approx(q, rel=1e-7, abs=1e-3)
            assert out.const + float(np.sum(out.grad * z)) == pytest.approx(q, rel=1e-6, abs=1e-2)  # tight at z
            for other in points:  # an affine minorant of Q_s over the states
                assert out.const + float(np.sum(out.grad * other)) <= _later_value(inst, s, other) + 1e-6 * abs(q)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_cut_from_any_multipliers_is_a_minorant(seed: int) -> None:
    _, _, _, inst = _instance(seed, 3e6)
    rng = np.random.default_rng(seed)
    lp = ScenarioLP(inst.restrict([0], list(range(1, inst.T))), 1, 0)
    for _ in range(5):
        y = rng.normal(scale=1e4, size=lp.rlo.size)  # arbitrary, not optimal, wrong signs included
        z = _state(inst, rng)
        const, grad = lp.cut(y, z.ravel())
        for other in (z, _state(inst, rng)):
            assert const + float(grad @ other.ravel()) <= _later_value(inst, 0, other) + 1e-6


def test_the_pool_in_processes_equals_the_pool_in_process() -> None:
    _, _, _, inst = _instance(4)
    z = _state(inst, np.random.default_rng(4))
    with LPPool(inst, 1, 1) as here, LPPool(inst, 1, 2) as there:
        a = here.solve(dict.fromkeys(range(inst.S), z), None)
        b = there.solve(dict.fromkeys(range(inst.S), z), None)
        assert len(there.procs) == 2 or not processes_allowed()
    for s in range(inst.S):
        assert a[s].ok and b[s].ok
        assert a[s].value == pytest.approx(b[s].value, rel=1e-9)


@pytest.mark.parametrize("seed", [1, 5])
def test_benders_converges_to_the_stochastic_lp(seed: int) -> None:
    _, _, _, inst = _instance(seed)
    ext = build_model(inst).lm.solve(EXACT, relax=True).objective
    with LPPool(inst, 1, 1) as pool:
        br = benders_bound(inst, 1, pool, None, Master(inst, 1))
    assert br.bound <= ext * (1 + 1e-9)
    assert br.bound >= ext - TOLERANCE * abs(ext)
    assert br.upper >= ext * (1 - 1e-9)  # a feasible point of the LP
    assert br.z is not None and br.z.shape == (3, 1, inst.m)
    lows = [h[1] for h in br.history]
    assert all(b >= a - 1e-6 * abs(a) for a, b in itertools.pairwise(lows))  # the bound only rises


@pytest.mark.parametrize("shared", [0, 3])
def test_decompose_without_later_or_without_shared_years_keeps_a_valid_bound(shared: int) -> None:
    net, scen, cand, _ = _instance(2, years=(0.6, 1.0, 1.5))
    kw = {"service_km": 2.5, "shared_years": shared, "options": EXACT}
    lists = list(scen.scenarios)
    ext = plan_rollout(net, lists, cand, DESIGN, PACK, method="extensive", **kw).verify()
    dec = plan_rollout(net, lists, cand, DESIGN, PACK, method="decompose", **kw).verify()
    tol = 1e-7 * abs(ext.objective)
    assert np.isfinite(dec.bound) and dec.bound <= ext.objective + tol
    assert dec.objective >= ext.objective - tol


def test_first_stage_key_ignores_signed_zero_and_float_noise() -> None:
    """The candidate loop's "already seen" key: -0.0, 0.0 and 1e-12 noise give one stage; a real change does not."""
    a = (np.array([1.0, 0.0]), np.array([3.0, -0.0]), np.array([2.0, 0.0]))
    b = (np.array([1.0, -0.0]), np.array([3.0 + 1e-12, 0.0]), np.array([2.0, 0.0]))
    c = (np.array([1.0, 0.0]), np.array([4.0, 0.0]), np.array([2.0, 0.0]))
    assert _key(a) == _key(b)
    assert _key(a) != _key(c)
