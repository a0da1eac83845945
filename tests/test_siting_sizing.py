"""Tests of joint siting and sizing (size_stations): hand-solved cases, verify, Pyomo parity, properties."""

from __future__ import annotations

import dataclasses

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
    StationDesign,
    UnknownNodeError,
    VerificationError,
)
from swapnet.optim import SolveOptions, solve_pyomo
from swapnet.siting import size_stations

EXACT = SolveOptions(mip_gap=0.0)
LINE = RoadNetwork.from_edges([("A", "B", 1.0), ("B", "C", 1.0), ("C", "D", 5.0)])
# 47.5 kWh pack charged 20 -> 100 % at 95 % efficiency needs 40 kWh from the grid: 1 h on a 40 kW charger
PACK = BatteryPack("test", 47.5, 400, cost_cny=1000.0)
DESIGN = StationDesign(
    "test", bays=1, batteries=10, chargers=10, charger_kw=40.0, grid_kw=1000.0, swap_minutes=3.0,
    capex_cny=0.0, opex_cny_per_year=0.0, lifetime_years=10.0,
)  # fmt: skip


def flat_demand(nodes: list[str], daily: list[float]) -> NodeDemand:
    return NodeDemand(nodes, daily, DailyProfile.flat())


def test_hand_solved_single_station() -> None:
    # 240 swaps/day flat -> 10 per hour; charge time 1 h -> 10 chargers; stock (1 h + 1 h buffer) -> 20 packs.
    # Annualised at rate 0 over 10 years: 20 * 1000 / 10 + 10 * 500 / 10 = 2,500 CNY/year.
    sites = CandidateSites.from_nodes(["B"], fixed_cost=[0.0])
    plan = size_stations(
        LINE, flat_demand(["A"], [240.0]), sites, DESIGN, PACK, service_km=1.5, charger_cost=500.0, rate=0.0,
        options=EXACT,
    ).verify()  # fmt: skip
    st_ = plan.details["stations"]
    assert plan.sites == ("B",)
    assert st_["chargers"].tolist() == [10] and st_["batteries"].tolist() == [20]
    assert plan.objective == pytest.approx(2500.0)
    assert plan.covered == pytest.approx(10.0)
    assert plan.details["lost_swaps_per_day"] == pytest.approx(0.0)


def test_bay_limit_forces_a_second_station_or_loss() -> None:
    # 720/day -> 30 per hour, one bay does 20 per hour: the second site must open (cheap) to serve the rest
    sites = CandidateSites.from_nodes(["B", "C"], fixed_cost=[0.0, 0.0])
    plan = size_stations(
        LINE, flat_demand(["A", "B"], [360.0, 360.0]), sites, DESIGN, PACK, service_km=2.0,
        charger_cost=500.0, rate=0.0, options=EXACT,
    ).verify()  # fmt: skip
    assert set(plan.sites) == {"B", "C"}
    assert plan.details["stations"]["swaps_per_hour"].sum() == pytest.approx(30.0)
    # a site out of reach cannot help: only B within 0.5 km of B's demand, A's demand is then lost
    plan2 = size_stations(
        LINE, flat_demand(["A", "B"], [360.0, 360.0]), sites, DESIGN, PACK, service_km=0.5,
        charger_cost=500.0, rate=0.0, penalty_per_swap=1.0, options=EXACT,
    ).verify()  # fmt: skip
    assert plan2.details["lost_swaps_per_day"] == pytest.approx(360.0)


def test_penalty_below_cost_leaves_demand_unserved() -> None:
    sites = CandidateSites.from_nodes(["B"], fixed_cost=[1e9])
    plan = size_stations(
        LINE, flat_demand(["A"], [240.0]), sites, DESIGN, PACK, service_km=2.0, penalty_per_swap=1.0, rate=0.0,
        options=EXACT,
    ).verify()  # fmt: skip
    assert plan.sites == ()
    assert plan.objective == pytest.approx(365 * 240.0)


def test_grid_limit_caps_chargers() -> None:
    # 200 kW site grid -> at most 5 chargers of 40 kW -> at most 5 swaps/h charged
    sites = CandidateSites.from_nodes(["B"], fixed_cost=[0.0], grid_kw=[200.0])
    plan = size_stations(
        LINE, flat_demand(["A"], [240.0]), sites, DESIGN, PACK, service_km=2.0, rate=0.0, options=EXACT,
    ).verify()  # fmt: skip
    assert plan.details["stations"]["chargers"].tolist() == [5]
    assert plan.covered == pytest.approx(5.0)


def test_operated_stations_keep_the_sized_grid() -> None:
    # operations run a sized station on the grid it was sized for (200 kW here), not the design's 1000 kW
    from swapnet.operations import stations_from_plan

    sites = CandidateSites.from_nodes(["B", "C"], fixed_cost=[0.0, 0.0], grid_kw=[200.0, np.inf])
    plan = size_stations(
        LINE, flat_demand(["A", "C"], [240.0, 24.0]), sites, DESIGN, PACK, service_km=1.0, rate=0.0, options=EXACT,
    ).verify()  # fmt: skip
    grid = {s.label: s.grid_kw for s in stations_from_plan(plan, DESIGN)}
    assert grid == {"B": 200.0, "C": DESIGN.grid_kw}


def test_verify_and_pyomo() -> None:
    sites = CandidateSites.from_nodes(["B", "C", "D"], fixed_cost=[3e5, 2e5, 1e5])
    plan = size_stations(
        LINE, flat_demand(["A", "C", "D"], [300.0, 200.0, 100.0]), sites, DESIGN, PACK, service_km=3.0, options=EXACT
    ).verify()  # fmt: skip
    value, _ = solve_pyomo(plan.to_pyomo(), EXACT)
    assert value == pytest.approx(plan.objective, rel=1e-7)
    with pytest.raises(VerificationError, match="objective"):
        dataclasses.replace(plan, objective=plan.objective * 0.5).verify()
    tampered = plan.details["stations"].copy()
    tampered["chargers"] = 0
    with pytest.raises(VerificationError, match="charging capacity"):
        dataclasses.replace(plan, details={**plan.details, "stations": tampered}).verify()


def test_bad_input() -> None:
    sites = CandidateSites.from_nodes(["B"], fixed_cost=[0.0])
    with pytest.raises(InvalidInputError, match="service_km"):
        size_stations(LINE, flat_demand(["A"], [1.0]), sites, DESIGN, PACK, service_km=-1.0)
    with pytest.raises(InvalidInputError, match="penalty_per_swap"):
        size_stations(LINE, flat_demand(["A"], [1.0]), sites, DESIGN, PACK, service_km=1.0, penalty_per_swap=-1)
    with pytest.raises(UnknownNodeError):
        size_stations(LINE, flat_demand(["Z"], [1.0]), sites, DESIGN, PACK, service_km=1.0)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.5, 8.0))
def test_more_service_distance_never_costs_more(seed: int, km: float) -> None:
    rng = np.random.default_rng(seed)
    nodes = ["A", "B", "C", "D"]
    dem = flat_demand(nodes, list(rng.integers(0, 400, 4).astype(float)))
    sites = CandidateSites.from_nodes(nodes, fixed_cost=list(rng.integers(1, 5, 4) * 1e5))
    a = size_stations(LINE, dem, sites, DESIGN, PACK, service_km=km, options=EXACT).verify()
    b = size_stations(LINE, dem, sites, DESIGN, PACK, service_km=km + 2.0, options=EXACT).verify()
    assert b.objective <= a.objective * (1 + 1e-9) + 1e-6


def test_fallback_reach_serves_only_nodes_out_of_reach() -> None:
    # A is 1 km from B; D is 6 km from B and 5 km from C. Sites B (free) and C (dear).
    sites = CandidateSites.from_nodes(["B", "C"], fixed_cost=[0.0, 1e9])
    dem = flat_demand(["A", "D"], [240.0, 24.0])
    kw = dict(service_km=2.0, charger_cost=500.0, rate=0.0, options=EXACT)
    plain = size_stations(LINE, dem, sites, DESIGN, PACK, **kw).verify()  # type: ignore[arg-type]
    un = plain.unserved
    assert un["demand"].tolist() == ["D"] and un["unserved_reason"].tolist() == ["no station within reach"]
    assert plain.details["lost_swaps_per_day"] == pytest.approx(24.0)
    assert plain.assignment.set_index("demand")["beyond_service_km"].to_dict() == {"A": False, "D": True}
    # a fallback of 6 km lets D's drivers go to B (6 km); 5.9 km does not reach it
    short = size_stations(LINE, dem, sites, DESIGN, PACK, fallback_km=5.9, **kw).verify()  # type: ignore[arg-type]
    assert short.unserved["demand"].tolist() == ["D"]
    fb = size_stations(LINE, dem, sites, DESIGN, PACK, fallback_km=6.0, **kw).verify()  # type: ignore[arg-type]
    assert fb.sites == ("B",) and len(fb.unserved) == 0
    a = fb.assignment.set_index("demand")
    assert a.loc["D", "site"] == "B" and bool(a.loc["D", "beyond_service_km"]) and not a.loc["A", "beyond_service_km"]
    assert fb.details["stations"]["swaps_per_hour"].tolist() == [pytest.approx(11.0)]
    assert fb.details["fallback_km"] == 6.0 and fb.details["service_km"] == 2.0


def test_fallback_reach_is_not_a_longer_service_distance() -> None:
    # B can charge only 5 swaps/h (200 kW grid); A (10/h) has B within reach, so the fallback does not let
    # it use C (2 km away, beyond service_km = 1.5): the rest of A is lost to capacity, not sent to C.
    sites = CandidateSites.from_nodes(["B", "C"], fixed_cost=[0.0, 1e6], grid_kw=[200.0, np.inf])
    plan = size_stations(
        LINE, flat_demand(["A"], [240.0]), sites, DESIGN, PACK, service_km=1.5, fallback_km=10.0, rate=0.0,
        options=EXACT,
    ).verify()  # fmt: skip
    assert plan.sites == ("B",)
    assert plan.unserved["unserved_reason"].tolist() == ["capacity"]
    # verify() refuses a plan that serves a node within reach of a site from beyond service_km
    a = plan.assignment.copy()
    a.loc[a["site"] == "B", "site"] = "C"
    st_ = plan.details["stations"].copy()
    st_["site"], st_["node"] = "C", "C"
    with pytest.raises(VerificationError, match="beyond the service distance"):
        dataclasses.replace(plan, sites=("C",), assignment=a, details={**plan.details, "stations": st_}).verify()


def test_fallback_reach_bad_input() -> None:
    sites = CandidateSites.from_nodes(["B"], fixed_cost=[0.0])
    for bad in (1.0, float("inf"), float("nan"), True):
        with pytest.raises(InvalidInputError, match="fallback_km"):
            size_stations(LINE, flat_demand(["A"], [1.0]), sites, DESIGN, PACK, service_km=2.0, fallback_km=bad)
