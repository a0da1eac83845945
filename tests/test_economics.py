"""Tests of swapnet.economics against hand-computed values (arithmetic in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import BatteryPack, Station, StationDesign, TouTariff
from swapnet.assets import capital_recovery_factor
from swapnet.economics import (
    BaaSPlan,
    OperatorCase,
    Ownership,
    PlanUsers,
    UserSegment,
    annuity,
    break_even_km,
    compare_plans,
    discounted_payback,
    grid2,
    irr,
    monthly_cost,
    npv,
    payback_period,
    tornado,
    total_cost_of_ownership,
)
from swapnet.errors import InvalidInputError
from swapnet.operations import plan_operations
from swapnet.simulation import SimulationOptions, simulate


# ----------------------------------------------------------------------- finance
def test_npv_simple_stream() -> None:
    # -100 + 60/1.1 + 60.5/1.21 = -100 + 54.5454... + 50 = 4.5454... = 50/11
    assert npv(0.1, [-100, 60, 60.5]) == pytest.approx(50 / 11, rel=1e-12)
    assert npv(0.0, [-100, 60, 60.5]) == pytest.approx(20.5)


def test_irr_one_period() -> None:
    # -100 + 110/(1+r) = 0  ->  r = 0.10
    assert irr([-100, 110]) == pytest.approx(0.10, abs=1e-10)


def test_irr_against_polynomial_roots() -> None:
    # with x = 1/(1+r): 500 x^3 + 400 x^2 + 300 x - 1000 = 0; one positive real root
    roots = np.roots([500.0, 400.0, 300.0, -1000.0])
    x = [z.real for z in roots if abs(z.imag) < 1e-12 and z.real > 0]
    assert len(x) == 1
    expected = 1.0 / x[0] - 1.0  # ~ 0.0890
    assert irr([-1000, 300, 400, 500]) == pytest.approx(expected, abs=1e-10)
    assert npv(irr([-1000, 300, 400, 500]), [-1000, 300, 400, 500]) == pytest.approx(0.0, abs=1e-7)


def test_irr_no_sign_change_is_nan() -> None:
    assert math.isnan(irr([100, 100]))
    assert math.isnan(irr([-100, -5]))


def test_payback_interpolates() -> None:
    # cumulative -100, -70, -30, +20: recovered during year 3 -> 2 + 30/50 = 2.6
    assert payback_period([-100, 30, 40, 50]) == pytest.approx(2.6)
    # -100 then +200 in year 1: 100/200 = 0.5
    assert payback_period([-100, 200]) == pytest.approx(0.5)
    assert payback_period([-100, 10, 10]) == math.inf
    assert payback_period([5, 10]) == 0.0


def test_discounted_payback() -> None:
    # at 10 %: -100, 55/1.1 = 50, 60.5/1.21 = 50 -> cumulative -100, -50, 0 -> 1 + 50/50 = 2
    assert discounted_payback(0.1, [-100, 55, 60.5]) == pytest.approx(2.0)
    assert discounted_payback(0.1, [-100, 55, 50]) == math.inf


def test_annuity_is_crf_times_principal() -> None:
    # CRF(10 %, 2) = 0.1 * 1.21 / 0.21 = 0.576190...; x 1000 = 576.19
    assert annuity(1000.0, 0.1, 2) == pytest.approx(121 / 0.21, rel=1e-12)
    assert annuity(1000.0, 0.1, 2) == pytest.approx(1000 * capital_recovery_factor(0.1, 2))
    assert annuity(1200.0, 0.0, 12) == pytest.approx(100.0)


@settings(derandomize=True, max_examples=40, deadline=None)
@given(
    c0=st.floats(-1e6, -1.0),
    rest=st.lists(st.floats(0.0, 1e6), min_size=1, max_size=8).filter(lambda xs: max(xs) > 1.0),
    r1=st.floats(-0.5, 2.0),
    dr=st.floats(0.01, 1.0),
)
def test_npv_decreasing_in_rate(c0: float, rest: list[float], r1: float, dr: float) -> None:
    flows = [c0, *rest]
    assert npv(r1 + dr, flows) < npv(r1, flows)


def test_finance_bad_inputs() -> None:
    with pytest.raises(InvalidInputError) as e:
        npv(-1.0, [1.0])
    assert e.value.field == "rate"
    with pytest.raises(InvalidInputError) as e:
        npv(0.1, [])
    assert e.value.field == "cashflows"


# ------------------------------------------------------------------------- plans
def _capped_plan() -> BaaSPlan:
    return BaaSPlan(
        "capped",
        300.0,
        included_swaps_per_month=10,
        included_km_per_month=2000.0,
        fee_per_swap_cny=20.0,
        fee_per_kwh_cny=1.0,
        min_billed_kwh_per_swap=20.0,
        extra_km_package=(500.0, 100.0),
    )


def test_monthly_cost_caps_and_packages() -> None:
    seg = UserSegment("s", km_per_month=3100.0, swaps_per_month=12.0, kwh_per_swap=15.0)
    c = monthly_cost(_capped_plan(), seg)
    # rent 300; swaps 20 x (12 - 10) = 40; kWh 1.0 x 12 x max(15, 20) = 240;
    # km: excess 1100 -> ceil(1100/500) = 3 packages x 100 = 300; total 880
    assert c == pytest.approx({"rent": 300.0, "swap_fees": 40.0, "kwh_fees": 240.0, "extra_km": 300.0, "total": 880.0})
    # exactly one package's worth of excess (500 km) buys one package
    assert monthly_cost(_capped_plan(), UserSegment("s", 2500.0, 12.0, 15.0))["extra_km"] == 100.0
    # over the cap with no package on sale: cannot be served
    no_pkg = BaaSPlan("nopkg", 100.0, included_km_per_month=1000.0)
    assert monthly_cost(no_pkg, UserSegment("s", 1001.0, 3.0, 40.0))["total"] == math.inf


def test_presets() -> None:
    private = UserSegment.private()
    # 4.5 swaps x 400 km = 1800 km; 44.8 kWh per swap
    assert private.km_per_month == pytest.approx(1800.0)
    assert private.kwh_per_swap == pytest.approx(44.8)
    # NIO: 728 + 1.5 x 4.5 x 44.8 = 728 + 302.4 = 1030.4
    assert monthly_cost(BaaSPlan.nio_baas_75(), private)["total"] == pytest.approx(1030.4)
    # family (assumed): 399 + 302.4 + one 500-km package (excess 300 km) 100 = 801.4
    assert monthly_cost(BaaSPlan.choco_family(), private)["total"] == pytest.approx(801.4)
    assert BaaSPlan.choco_swap_unlimited().monthly_rent_cny == 599.0
    assert BaaSPlan.evogo_block().monthly_rent_cny == 399.0
    assert Ownership.aion_ut_super().battery_price_difference() == 40_000.0
    assert UserSegment.taxi().km_per_month == pytest.approx(14_800.0)


def test_tco_with_deposit_refund() -> None:
    plan = BaaSPlan("dep", 100.0, deposit_cny=1000.0)
    seg = UserSegment("s", 1000.0, 2.0, 40.0)
    # no discounting: 1000 deposit + 12 x 100 - 1000 refund = 1200
    assert total_cost_of_ownership(plan, seg, 12, 0.0) == pytest.approx(1200.0)
    # yearly rate 1.01^12 - 1 is 1 %/month: 1000 + 100/1.01 + (100 - 1000)/1.01^2 = 216.74...
    rate = 1.01**12 - 1
    assert total_cost_of_ownership(plan, seg, 2, rate) == pytest.approx(1000 + 100 / 1.01 + (100 - 1000) / 1.01**2)


def test_tco_with_buyout_and_ownership() -> None:
    plan = BaaSPlan(
        "buy", 100.0, fee_per_kwh_cny=1.0, deposit_cny=500.0, buyout_after_months=2, buyout_price_cny=2000.0
    )
    seg = UserSegment("s", 1000.0, 10.0, 10.0)  # kWh fees 1 x 10 x 10 = 100 per month
    # 500 deposit + 2 x (100 rent + 100 kWh) + (2000 buyout - 500 refund) + 2 x 100 kWh = 2600
    assert total_cost_of_ownership(plan, seg, 4, 0.0) == pytest.approx(2600.0)
    own = Ownership("own", 89_900.0, 49_900.0, fee_per_kwh_cny=0.0, battery_life_months=96)
    # 40,000 up front, half the battery value left after 48 of 96 months: 40,000 - 20,000
    assert total_cost_of_ownership(own, seg, 48, 0.0) == pytest.approx(20_000.0)


def test_break_even_km_linear_plans() -> None:
    seg = UserSegment("s", 400.0, 1.0, 0.0)  # 400 km per swap, no kWh fees
    flat = BaaSPlan("flat", 100.0)
    per_swap = BaaSPlan("per swap", 0.0, included_swaps_per_month=0, fee_per_swap_cny=10.0)
    # 100 = 10 x km / 400  ->  km = 4000
    assert break_even_km(flat, per_swap, seg) == pytest.approx(4000.0, abs=1e-6)
    seg40 = UserSegment("s", 400.0, 1.0, 40.0)
    a = BaaSPlan("a", 500.0, fee_per_kwh_cny=1.5)
    b = BaaSPlan("b", 300.0, fee_per_kwh_cny=2.0)
    # a: 500 + 1.5 x 40 x km/400 = 500 + 0.15 km; b: 300 + 0.2 km -> 0.05 km = 200 -> km = 4000
    assert break_even_km(a, b, seg40) == pytest.approx(4000.0, abs=1e-6)
    # never equal within the range
    assert math.isnan(break_even_km(flat, BaaSPlan("cheap", 50.0), seg))


def test_break_even_km_against_cap_without_package() -> None:
    seg = UserSegment("s", 400.0, 1.0, 0.0)
    capped = BaaSPlan("capped", 100.0, included_km_per_month=1234.0)
    unlimited = BaaSPlan("unl", 200.0)
    # capped is cheaper until the cap, impossible beyond it
    assert break_even_km(capped, unlimited, seg) == pytest.approx(1234.0, abs=1e-6)


def test_break_even_km_with_mileage_packages() -> None:
    seg = UserSegment("s", 400.0, 1.0, 0.0)
    family = BaaSPlan("family", 399.0, included_km_per_month=1500.0, extra_km_package=(500.0, 100.0))
    unlimited = BaaSPlan("unl", 599.0)
    # family = 399 + 100 x ceil((km - 1500)/500): 499 on (1500, 2000], 599 on (2000, 2500] -> tie from 2000 km
    assert break_even_km(family, unlimited, seg) == pytest.approx(2000.0, abs=1e-6)


def test_compare_plans_frame() -> None:
    segs = [UserSegment.private(), UserSegment.taxi()]
    df = compare_plans([BaaSPlan.nio_baas_75(), BaaSPlan.choco_swap_unlimited(), Ownership.aion_ut_super()], segs)
    assert list(df.index) == ["NIO BaaS 75", "Choco-swap unlimited", "Aion UT super (owned battery)"]
    assert df.loc["NIO BaaS 75", "monthly[private]"] == pytest.approx(1030.4)
    assert math.isnan(df.loc["NIO BaaS 75", "break_even_km[private]"])
    assert df.shape == (3, 6)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"monthly_rent_cny": -1.0}, "monthly_rent_cny"),
        ({"monthly_rent_cny": 1.0, "included_km_per_month": -5.0}, "included_km_per_month"),
        ({"monthly_rent_cny": 1.0, "included_swaps_per_month": -1}, "included_swaps_per_month"),
        ({"monthly_rent_cny": 1.0, "fee_per_kwh_cny": -0.1}, "fee_per_kwh_cny"),
        ({"monthly_rent_cny": 1.0, "deposit_cny": -10.0}, "deposit_cny"),
        ({"monthly_rent_cny": 1.0, "extra_km_package": (0.0, 10.0)}, "extra_km_package.km"),
        ({"monthly_rent_cny": 1.0, "extra_km_package": (100.0, -10.0)}, "extra_km_package.price"),
        ({"monthly_rent_cny": 1.0, "buyout_after_months": 0}, "buyout_after_months"),
    ],
)
def test_plan_bad_inputs_name_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as e:
        BaaSPlan("bad", **kwargs)  # type: ignore[arg-type]
    assert e.value.field == field


def test_segment_and_ownership_bad_inputs() -> None:
    with pytest.raises(InvalidInputError) as e:
        UserSegment("s", -1.0, 1.0)
    assert e.value.field == "km_per_month"
    with pytest.raises(InvalidInputError) as e:
        Ownership("o", 100.0, 200.0)
    assert e.value.field == "car_price_without_battery_cny"
    with pytest.raises(InvalidInputError) as e:
        total_cost_of_ownership(BaaSPlan("p", 1.0), UserSegment.private(), 0)
    assert e.value.field == "months"


# ---------------------------------------------------------------------- operator
PACK = BatteryPack("test", 47.5, 400, cost_cny=1000.0)
DESIGN = StationDesign(
    "test", bays=1, batteries=10, chargers=10, charger_kw=40.0, grid_kw=1000.0, swap_minutes=3.0,
    capex_cny=5e5, opex_cny_per_year=0.0, lifetime_years=10.0,
)  # fmt: skip


def _toy_case() -> OperatorCase:
    plan = BaaSPlan("rent", 100.0)
    seg = UserSegment("s", 4000.0, 10.0, 10.0)
    return OperatorCase(
        stations=1,
        capex_per_station_cny=1000.0,
        batteries_per_station=2,
        pack_cost_cny=100.0,
        opex_per_station_cny_per_year=100.0,
        electricity_cny_per_year=50.0,
        users=[PlanUsers(plan, seg, 1)],
        degradation_cny_per_kwh=0.1,
        horizon_years=2,
        discount_rate=0.1,
        salvage_cny=100.0,
    )


def test_operator_two_year_toy() -> None:
    case = _toy_case()
    df = case.cash_flows()
    # capex 1000 + 2 x 100 = 1200; revenue 12 x 100 = 1200/yr; kWh 12 x 10 x 10 = 1200 -> wear 120/yr
    # net years 1, 2: 1200 - 50 - 120 - 100 = 930, plus 100 salvage in year 2 = 1030
    assert list(df["net"]) == pytest.approx([-1200.0, 930.0, 1030.0])
    assert list(df["revenue[rent]"]) == pytest.approx([0.0, 1200.0, 1200.0])
    assert list(df["cumulative"]) == pytest.approx([-1200.0, -270.0, 760.0])
    # NPV = -1200 + 930/1.1 + 1030/1.21 = -1200 + 845.4545 + 851.2397 = 496.694
    assert case.npv() == pytest.approx(-1200 + 930 / 1.1 + 1030 / 1.21)
    assert df["discounted"].sum() == pytest.approx(case.npv())
    assert npv(case.irr(), [-1200, 930, 1030]) == pytest.approx(0.0, abs=1e-6)
    # payback: 1 + 270/1030
    assert case.payback() == pytest.approx(1 + 270 / 1030)
    assert case.summary()["npv"] == pytest.approx(case.npv())


def test_electricity_per_year_from_a_real_two_day_operations_plan() -> None:
    # a 2-day plan's costs cover both days; a year is 365 of its days, not 365 of its horizons
    sts = [Station.from_design(lab, None, DESIGN, batteries=8, chargers=3) for lab in ("a", "b")]
    plan = plan_operations(sts, np.full((2, 24), 0.5), TouTariff.guangdong(), periods=24, days=2, pack=PACK).verify()
    assert plan.days == 2
    case = OperatorCase.from_operations(plan, sts, PACK, horizon_years=1)
    assert case.electricity_cost_cny_per_year == pytest.approx(365.0 * plan.costs["energy"] / 2.0)
    assert case.cash_flows().loc[1, "energy"] == pytest.approx(-365.0 * plan.costs_per_day["energy"])
    assert (case.stations, case.batteries_per_station, case.capex_per_station_cny) == (2, 8, DESIGN.capex_cny)
    assert OperatorCase.from_operations(plan, sts, PACK, extra_batteries_per_station=3).batteries_per_station == 11
    # the same stations simulated over 3 days: electricity from the simulated cost per day
    sim = simulate(list(sts), np.full((2, 24), 0.5), pack=PACK, tariff=TouTariff.guangdong(),
                   options=SimulationOptions(days=3, replications=2, progress=False))  # fmt: skip
    per_day = float(sim.network_replication_kpis["energy_cost_cny"].mean()) / 3.0
    from_sim = OperatorCase.from_simulation(sim, sts, PACK)
    assert from_sim.electricity_cost_cny_per_year == pytest.approx(365.0 * per_day)
    with pytest.raises(InvalidInputError, match=r"OperatorCase\.from_operations"):
        OperatorCase(1, 1000.0, 0, 0.0, 0.0, electricity_cny_per_year=plan)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="stations"):
        OperatorCase.from_operations(plan, sts[:1], PACK)
    with pytest.raises(InvalidInputError, match="tariff"):
        no_tariff = simulate(list(sts), np.full((2, 24), 0.5), pack=PACK, options=SimulationOptions(progress=False))
        OperatorCase.from_simulation(no_tariff, sts, PACK)


def test_break_even_swaps() -> None:
    one = OperatorCase(1, 730_000.0, 0, 0.0, 0.0, horizon_years=1, discount_rate=0.0)
    # 730,000 = s x 365 x 10 -> s = 200 swaps/day
    assert one.break_even_swaps_per_station_day(10.0) == pytest.approx(200.0)
    two = OperatorCase(2, 365_000.0, 0, 0.0, 36_500.0, horizon_years=2, discount_rate=0.1)
    s = two.break_even_swaps_per_station_day(10.0)
    # NPV(s) = -730,000 + sum_t (2 x 365 x 10 x s - 73,000) / 1.1^t = 0
    x = 7300.0 * s - 73_000.0
    assert npv(0.1, [-730_000.0, x, x]) == pytest.approx(0.0, abs=1e-6)
    # closed form: (730,000 + 73,000 A) / (7,300 A), A = 1/1.1 + 1/1.21
    A = 1 / 1.1 + 1 / 1.21
    assert s == pytest.approx((730_000 + 73_000 * A) / (7300 * A))


def test_operator_bad_inputs() -> None:
    with pytest.raises(InvalidInputError) as e:
        OperatorCase(0, 1.0, 1, 1.0, 1.0)
    assert e.value.field == "stations"
    with pytest.raises(InvalidInputError) as e:
        OperatorCase(1, -1.0, 1, 1.0, 1.0)
    assert e.value.field == "capex_per_station_cny"
    with pytest.raises(InvalidInputError) as e:
        OperatorCase(1, 1.0, 1, 1.0, 1.0, electricity_cny_per_year="lots")
    assert e.value.field == "electricity_cny_per_year"
    with pytest.raises(InvalidInputError) as e:
        _toy_case().break_even_swaps_per_station_day(0.0)
    assert e.value.field == "margin_cny_per_swap"


# ------------------------------------------------------------------- sensitivity
def test_tornado_and_grid2() -> None:
    def fn(a: float, b: float) -> float:
        return a + 10 * b

    df = tornado(fn, {"a": 1.0, "b": 1.0}, 0.5)
    # b: 0.5 -> 6, 1.5 -> 16 (swing 10); a: 0.5 -> 10.5, 1.5 -> 11.5 (swing 1)
    assert list(df.index) == ["b", "a"]
    assert df.loc["b", "low"] == pytest.approx(6.0)
    assert df.loc["b", "high"] == pytest.approx(16.0)
    assert df.loc["a", "swing"] == pytest.approx(1.0)
    assert df.loc["a", "base"] == pytest.approx(11.0)
    df2 = tornado(fn, {"a": 1.0, "b": 1.0}, {"a": (0.0, 2.0)})
    assert list(df2.index) == ["a"]
    with pytest.raises(InvalidInputError):
        tornado(fn, {"a": 1.0, "b": 1.0}, {"c": (0.0, 1.0)})
    g = grid2(fn, ("a", [0.0, 1.0]), ("b", [1.0, 2.0, 3.0]))
    assert g.shape == (2, 3)
    assert g.loc[1.0, 3.0] == pytest.approx(31.0)
