"""The queueing model of service-level sizing: published Erlang values, the birth-death chain by brute
force, insensitivity checked by simulation, and size_stations(..., service_level=) end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import (
    BatteryPack,
    CandidateSites,
    DailyProfile,
    InvalidInputError,
    NodeDemand,
    RoadNetwork,
    Station,
    StationDesign,
    simulate,
    stations_from_plan,
)
from swapnet.optim import SolveOptions, SolveStatus
from swapnet.simulation import SimulationOptions
from swapnet.siting import size_stations
from swapnet.siting.queueing import bay_wait_hours, erlang_b, pack_loss, size_for_loss
from swapnet.siting.sizing import resize_stations

PACK = BatteryPack("test", 47.5, 400, cost_cny=1000.0)  # 40 kWh from the grid: 1 h on a 40 kW charger
DESIGN = StationDesign(
    "test", bays=2, batteries=10, chargers=10, charger_kw=40.0, grid_kw=1000.0, swap_minutes=3.0,
    capex_cny=1e6, opex_cny_per_year=0.0, lifetime_years=10.0,
)  # fmt: skip
LINE = RoadNetwork.from_edges([("A", "B", 1.0), ("B", "C", 1.0), ("C", "D", 5.0)])


def test_erlang_b_published_values() -> None:
    # tables: B(10, 5) = 0.018385, B(1, 1) = 0.5, B(20, 12) = 0.009796
    assert erlang_b(10, 5.0) == pytest.approx(0.0183846, rel=1e-5)
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b([0, 20], [3.0, 12.0]) == pytest.approx([1.0, 0.0097956], rel=1e-4)


@settings(max_examples=40, deadline=None)
@given(lam=st.floats(0.1, 30.0), b=st.integers(1, 40), c=st.integers(1, 40), tc=st.floats(0.2, 3.0))
def test_pack_loss_is_the_birth_death_chain(lam: float, b: int, c: int, tc: float) -> None:
    # brute force: p_n proportional to prod_{j<=n} a / min(j, c), n = 0..b (M/M/c/b; Erlang B when c >= b)
    a = lam * tc
    w = [1.0]
    for n in range(1, b + 1):
        w.append(w[-1] * a / min(n, c))
    want = w[-1] / sum(w)
    assert pack_loss(lam, b, c, tc) == pytest.approx(want, rel=1e-9, abs=1e-15)


def test_loss_falls_with_packs_and_chargers_and_bays_add_waiting() -> None:
    lam, tc = 12.0, 1.0
    by_b = pack_loss(lam, np.arange(12, 40), 14, tc)
    assert (np.diff(by_b) <= 1e-15).all()
    by_c = pack_loss(lam, 30, np.arange(12, 31), tc)
    assert (np.diff(by_c) <= 1e-15).all()
    assert pack_loss(0.0, 0, 0, tc) == 0.0 and pack_loss(1.0, 0, 3, tc) == 1.0 and pack_loss(1.0, 3, 0, tc) == 1.0
    # swap stage: Erlang C wait of M/M/1 at rho = 0.5 is rho s / (1 - rho) = s
    assert bay_wait_hours(10.0, 1, 0.05) == pytest.approx(0.05)
    assert math.isinf(float(bay_wait_hours(30.0, 1, 0.05)))  # saturated bay
    assert pack_loss(30.0, 50, 50, tc, swap_hours=0.05, bays=1) == 1.0
    with pytest.raises(InvalidInputError, match="charge_hours"):
        pack_loss(1.0, 3, 3, 0.0)


def test_erlang_loss_is_insensitive_to_the_charge_time_distribution() -> None:
    # c = b: the simulated share of drivers finding no pack matches B(b, lambda * t_c) whatever the charge
    # curve; the simulator's charge is deterministic (1 h), the formula assumes only the mean
    lam, b = 8.0, 10
    st_ = Station("s", "s", batteries=b, chargers=b, charger_kw=40.0, grid_kw=400.0, bays=50, swap_minutes=0.01)
    opts = SimulationOptions(days=20, warmup_days=1, replications=8, seed=3, progress=False)
    res = simulate([st_], np.full((1, 24), lam), pack=PACK, options=opts)
    k = res.network_kpis()
    got = 1.0 - float(k.loc["service_level", "mean"])
    want = float(erlang_b(b, lam * (1.0 + 0.01 / 60)))
    assert got == pytest.approx(want, abs=3 * float(k.loc["service_level", "ci"]) + 0.005)


def test_size_for_loss_is_the_cheapest_pair_meeting_the_target() -> None:
    b, c, loss = size_for_loss(
        [12.0], 0.02, 1.0, max_batteries=[80], max_chargers=[40], pack_cost=1.0, charger_cost=3.0
    )
    assert loss[0] <= 0.02
    # brute force over every pair with b >= c
    best = min(
        (1.0 * bb + 3.0 * cc, cc, bb)
        for cc in range(1, 41)
        for bb in range(cc, 81)
        if pack_loss(12.0, bb, cc, 1.0) <= 0.02
    )
    assert (int(b[0]), int(c[0])) == (best[2], best[1])
    # out of reach within the limits: the limits themselves, with their loss
    b2, c2, l2 = size_for_loss([12.0], 0.02, 1.0, max_batteries=[14], max_chargers=[10])
    assert (int(b2[0]), int(c2[0])) == (14, 10) and l2[0] > 0.02


def test_service_level_sizing_meets_the_target_in_simulation_where_mean_rate_does_not() -> None:
    demand = NodeDemand(["A", "B"], [240.0, 120.0], DailyProfile.flat())  # 10 and 5 swaps per hour
    sites = CandidateSites.from_nodes(["B"], fixed_cost=[1e6])
    mean = size_stations(LINE, demand, sites, DESIGN, PACK, service_km=2.0, options=SolveOptions(mip_gap=0.0))
    sl = size_stations(
        LINE, demand, sites, DESIGN, PACK, service_km=2.0, service_level=0.98, options=SolveOptions(mip_gap=0.0)
    ).verify()
    assert sl.status == SolveStatus.FEASIBLE and math.isnan(sl.gap)  # no optimality claim
    tm, ts = mean.sized_stations, sl.sized_stations
    assert tm is not None and ts is not None
    assert ts["model_loss"].iloc[0] <= 0.02
    mean_loss = pack_loss(15.0, int(tm["batteries"].iloc[0]), int(tm["chargers"].iloc[0]), 1.0, swap_hours=0.05, bays=2)
    assert mean_loss > 0.02  # chargers at 100 % in the busiest hour
    opts = SimulationOptions(
        days=5, warmup_days=1, replications=10, seed=2, station_choice="assignment", progress=False
    )
    s_mean = simulate(mean, demand, pack=PACK, network=LINE, options=opts).network_kpis()
    s_sl = simulate(sl, demand, pack=PACK, network=LINE, options=opts).network_kpis()
    assert s_mean.loc["service_level", "mean"] < 0.98 <= s_sl.loc["service_level", "low"]
    # a tighter target only adds packs or chargers, and the plan still verifies
    tighter = resize_stations(sl, {"B": 0.005}).verify()
    t2 = tighter.sized_stations
    assert t2 is not None and t2["model_loss"].iloc[0] <= 0.005
    assert (t2["batteries"] >= ts["batteries"]).all() and (t2["chargers"] >= ts["chargers"]).all()
    assert tighter.objective > sl.objective
    assert stations_from_plan(tighter)[0].batteries == t2["batteries"].iloc[0]
    with pytest.raises(InvalidInputError, match="service_level"):
        size_stations(LINE, demand, sites, DESIGN, PACK, service_km=2.0, service_level=1.0)
    with pytest.raises(InvalidInputError, match="plan"):
        resize_stations(mean, {"B": 0.01})


def test_every_plan_names_its_unserved_demand_and_why() -> None:
    # D is 6 km from B (beyond service_km): no station within reach; B's one pack (1 h charge + 1 h buffer)
    # serves 0.5 of A's 2 swaps per hour
    demand = NodeDemand(["A", "D"], [48.0, 24.0], DailyProfile.flat())
    sites = CandidateSites.from_nodes(["B"], fixed_cost=[0.0], max_chargers=[1], max_batteries=[1])
    plan = size_stations(LINE, demand, sites, DESIGN, PACK, service_km=2.0, options=SolveOptions(mip_gap=0.0))
    un = plan.unserved.set_index("demand")
    assert un.loc["D", "unserved_reason"] == "no station within reach"
    assert un.loc["A", "unserved_reason"] == "capacity"
    assert un.loc["D", "swaps_per_hour"] == pytest.approx(1.0) and un.loc["A", "swaps_per_hour"] == pytest.approx(1.5)
