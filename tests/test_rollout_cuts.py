"""The rollout decomposition's bound against the stochastic LP and the scenario-LP bound (through ``plan_rollout``)."""

from __future__ import annotations

import pytest

from swapnet import synthetic
from swapnet.assets import BatteryPack, StationDesign
from swapnet.optim import SolveOptions
from swapnet.siting import plan_rollout
from swapnet.siting.rollout import sample_scenarios
from swapnet.siting.rollout.api import prepare
from swapnet.siting.rollout.benders import TOLERANCE
from swapnet.siting.rollout.model import build_model

EXACT = SolveOptions(mip_gap=0.0, seed=1)
DESIGN = StationDesign.choco_swap()
PACK = BatteryPack.catl_25_lfp()


def _case(seed: int) -> tuple:
    net = synthetic.city_grid(5, 5, seed=seed)
    dem = synthetic.city_demand(net, total_swaps_per_day=2500.0, seed=seed)
    cand = synthetic.service_store_sites(net, 5, seed=seed)
    scen = sample_scenarios(dem, [0.6, 1.0, 1.5], 4, growth_sd=0.5, seed=seed)
    return net, scen, cand


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_benders_bound_is_the_stochastic_lp_and_at_least_the_scenario_lp_bound(seed: int) -> None:
    net, scen, cand = _case(seed)
    ext = plan_rollout(net, scen, cand, DESIGN, PACK, service_km=2.5, method="extensive", options=EXACT).verify()
    inst, _ = prepare(net, scen, cand, DESIGN, PACK, service_km=2.5)
    ext_lp = build_model(inst).lm.solve(EXACT, relax=True)  # the stochastic programme's LP relaxation
    scen_lp = sum(q * build_model(inst.restrict([s])).lm.solve(EXACT, relax=True).objective
                  for s, q in enumerate(inst.prob))  # fmt: skip
    dec = plan_rollout(net, scen, cand, DESIGN, PACK, service_km=2.5, method="decompose", options=EXACT).verify()
    d = dec.details
    assert d["benders_rounds"] >= 1
    tol = 1e-7 * abs(ext.objective)
    assert dec.bound <= ext_lp.objective + tol  # a relaxation of the stochastic LP: valid
    assert dec.bound >= ext_lp.objective - TOLERANCE * abs(ext_lp.objective) - tol  # and converged to it
    assert dec.bound >= scen_lp - tol  # never weaker than dropping non-anticipativity
    assert d["benders_bound"] <= d["lp_relaxation_upper"] + tol
    assert dec.bound <= ext.objective + tol and dec.objective >= ext.objective - tol
