"""The service-level capacity rule of the rollout, the LP-guided heuristic and the worker pool."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import synthetic
from swapnet.assets import BatteryPack, StationDesign
from swapnet.errors import InvalidInputError
from swapnet.optim import SolveOptions
from swapnet.siting import plan_rollout
from swapnet.siting.queueing import pack_loss
from swapnet.siting.rollout import LinearCapacity, ServiceLevelCapacity, sample_scenarios
from swapnet.siting.rollout.api import prepare
from swapnet.siting.rollout.heuristic import feasible, lp_guided, run_tasks
from swapnet.siting.rollout.model import build_model

DESIGN = StationDesign.choco_swap()
PACK = BatteryPack.catl_25_lfp()
EXACT = SolveOptions(mip_gap=0.0, seed=1)
RULE = ServiceLevelCapacity.from_design(DESIGN, PACK, 0.98)


def _city(n: int = 5, rows: int = 5, total: float = 2500.0, seed: int = 3) -> tuple:
    net = synthetic.city_grid(rows, rows, seed=seed)
    dem = synthetic.city_demand(net, total_swaps_per_day=total, seed=seed)
    cand = synthetic.service_store_sites(net, n, seed=seed)
    return net, dem, cand


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=1e-3, max_value=1.0))
def test_every_station_sized_by_the_rule_meets_the_service_level(share: float) -> None:
    load = share * RULE.bay_per_hour
    b = int(np.ceil(RULE.batteries_per_station + RULE.batteries_per_swap_hour * load - 1e-9))
    c = int(np.ceil(RULE.chargers_per_station + RULE.chargers_per_swap_hour * load - 1e-9))
    assert c >= b  # one charger per pack (the model keeps it with its charger_per_pack rows)
    loss = pack_loss(load, b, c, RULE.charge_hours, swap_hours=RULE.swap_hours, bays=RULE.bays).ravel()[0]
    assert loss <= 1 - RULE.service_level + 1e-12
    assert RULE.check(np.array([load]), np.array([float(b)]), np.array([float(c)]), 1e-9) == []


def test_the_rule_is_tighter_at_a_higher_service_level_and_catches_small_stations() -> None:
    hi = ServiceLevelCapacity.from_design(DESIGN, PACK, 0.995)
    load = 0.5 * min(RULE.bay_per_hour, hi.bay_per_hour)
    need = [r.batteries_per_station + r.batteries_per_swap_hour * load for r in (RULE, hi)]
    assert need[1] >= need[0]
    assert RULE.check(np.array([load]), np.array([1.0]), np.array([1.0]), 1e-9)  # one pack: far below the target
    with pytest.raises(InvalidInputError, match="service_level"):
        ServiceLevelCapacity.from_design(DESIGN, PACK, 1.0)


def test_rollout_with_the_service_level_rule_meets_it_at_every_station() -> None:
    net, dem, cand = _city(5, rows=5, total=3000)
    scen = sample_scenarios(dem, [1.0, 1.6], 2, seed=2)
    plan = plan_rollout(net, scen, cand, DESIGN, PACK, service_km=2.5, capacity=RULE, options=EXACT).verify()
    st_ = plan.stations
    busy = st_[st_["swaps_per_hour"] > 1e-9]
    assert len(busy) > 0
    loss = pack_loss(busy["swaps_per_hour"].to_numpy(), busy["batteries"].to_numpy(), busy["chargers"].to_numpy(),
                     RULE.charge_hours, swap_hours=RULE.swap_hours, bays=RULE.bays)  # fmt: skip
    assert (loss <= 1 - RULE.service_level + 1e-9).all()
    assert (busy["chargers"] >= busy["batteries"]).all()
    # the mean-rate rule without a buffer needs fewer packs: the service level costs something
    lean = LinearCapacity.from_design(DESIGN, PACK, 0.0)
    cheap = plan_rollout(net, scen, cand, DESIGN, PACK, service_km=2.5, capacity=lean, options=EXACT)
    assert cheap.objective <= plan.objective * (1 + 1e-9)


def test_lp_guided_plan_is_feasible_and_bracketed_by_the_lp_and_the_optimum() -> None:
    net, dem, cand = _city(6, rows=6, total=3000, seed=2)
    scen = sample_scenarios(dem, [0.5, 1.0, 1.5], 2, seed=1)
    inst, _ = prepare(net, scen, cand, DESIGN, PACK, service_km=2.5, budget=40e6)
    rm = build_model(inst)
    x, bound, duals = lp_guided(rm, EXACT, None)
    assert x is not None and feasible(rm, x) and duals is not None and duals.shape == x.shape
    exact = plan_rollout(net, scen, cand, DESIGN, PACK, service_km=2.5, budget=40e6, options=EXACT)
    cost = rm.lm.arrays()[0]
    assert bound <= exact.objective * (1 + 1e-9) <= (float(cost @ x) + rm.lm.offset) * (1 + 2e-9)


def test_decomposition_in_two_processes_matches_one_process() -> None:
    net, dem, cand = _city(5, rows=5, total=2500, seed=4)
    scen = sample_scenarios(dem, [1.0, 1.4, 1.8], 3, seed=3)
    one = plan_rollout(net, scen, cand, DESIGN, PACK, service_km=2.5, method="decompose", options=EXACT).verify()
    two = plan_rollout(net, scen, cand, DESIGN, PACK, service_km=2.5, method="decompose",
                       options=SolveOptions(mip_gap=0.0, seed=1, threads=2)).verify()  # fmt: skip
    assert two.objective == pytest.approx(one.objective, rel=1e-9)
    assert two.bound == pytest.approx(one.bound, rel=1e-9) and one.bound <= one.objective * (1 + 1e-9)
    assert run_tasks(divmod, [(7, 2), (9, 4)], 2) == [(3, 1), (2, 1)]
