"""The value-function cuts and the master-LP bound of the rollout decomposition (``siting/rollout/cuts.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from swapnet import synthetic
from swapnet.assets import BatteryPack, StationDesign
from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting import plan_rollout
from swapnet.siting.rollout import sample_scenarios
from swapnet.siting.rollout.api import prepare
from swapnet.siting.rollout.model import build_model
from swapnet.siting.rollout.solve import _scenario_task

EXACT = SolveOptions(mip_gap=0.0, seed=1)
DESIGN = StationDesign.choco_swap()
PACK = BatteryPack.catl_25_lfp()


def _case(seed: int) -> tuple:
    net = synthetic.city_grid(5, 5, seed=seed)
    dem = synthetic.city_demand(net, total_swaps_per_day=2500.0, seed=seed)
    cand = synthetic.service_store_sites(net, 5, seed=seed)
    scen = sample_scenarios(dem, [0.6, 1.0, 1.5], 4, growth_sd=0.5, seed=seed)
    return net, scen, cand


def _locked(inst, s: int, fs: tuple) -> object:
    T, m = inst.T, inst.m
    lock = tuple(np.concatenate([np.asarray(a)[None, None, :], np.full((1, T - 1, m), np.nan)], axis=1) for a in fs)
    return inst.restrict([s], lock=lock)


def _first_stage(inst, rng: np.random.Generator) -> tuple:
    Y = (rng.random(inst.m) < 0.6).astype(float)
    B = np.floor(rng.random(inst.m) * inst.maxb) * Y
    C = np.maximum(np.floor(rng.random(inst.m) * inst.maxc) * Y, B if inst.c_ge_b else 0.0)
    return Y, B, C


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_cut_never_exceeds_the_locked_lp_value_at_another_first_stage(seed: int) -> None:
    net, scen, cand = _case(seed)
    inst, _ = prepare(net, scen, cand, DESIGN, PACK, service_km=2.5)
    rng = np.random.default_rng(seed)
    for s in range(inst.S):
        zbar = _first_stage(inst, rng)
        sv = _scenario_task(_locked(inst, s, zbar), EXACT, None)
        assert sv.cut is not None and np.isfinite(sv.stats["cut_value"])
        assert sv.cut.shape == (3, inst.T, inst.m)
        for _ in range(4):
            z = _first_stage(inst, rng)
            lp = build_model(_locked(inst, s, z)).lm.solve(EXACT, relax=True)
            assert lp.status == SolveStatus.OPTIMAL
            cut = sv.stats["cut_value"] + float(np.sum(sv.cut[:, 0] * (np.stack(z) - np.stack(zbar))))
            assert cut <= lp.objective + 1e-6 * abs(lp.objective)  # the LP value function lies above its cuts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_master_bound_is_valid_and_at_least_the_scenario_lp_bound(seed: int) -> None:
    net, scen, cand = _case(seed)
    ext = plan_rollout(net, scen, cand, DESIGN, PACK, service_km=2.5, method="extensive", options=EXACT).verify()
    inst, _ = prepare(net, scen, cand, DESIGN, PACK, service_km=2.5)
    ext_lp = build_model(inst).lm.solve(EXACT, relax=True)  # the stochastic programme's LP relaxation
    dec = plan_rollout(net, scen, cand, DESIGN, PACK, service_km=2.5, method="decompose", options=EXACT).verify()
    d = dec.details
    assert d["cuts"] >= inst.S and d["master_rounds"] >= 1
    tol = 1e-7 * abs(ext.objective)
    assert dec.bound >= d["wait_and_see_lp_bound"] - tol  # never below the scenario-LP bound
    assert dec.bound <= ext_lp.objective + tol  # a relaxation of the extensive LP: valid
    assert dec.bound <= ext.objective + tol and dec.objective >= ext.objective - tol
