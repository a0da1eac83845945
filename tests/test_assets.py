"""Tests of BatteryPack, StationDesign capacity and cost, and CandidateSites."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet.assets import PACK_CNY_PER_KWH, BatteryPack, CandidateSites, StationDesign, capital_recovery_factor
from swapnet.demand import DailyProfile
from swapnet.errors import InvalidInputError, UnknownNodeError
from swapnet.network import RoadNetwork


# ------------------------------------------------------------------ packs
def test_pack_presets() -> None:
    assert (BatteryPack.catl_25_lfp().kwh, BatteryPack.catl_25_lfp().range_km) == (56.0, 500.0)
    assert (BatteryPack.catl_25_ncm().kwh, BatteryPack.catl_25_ncm().range_km) == (70.0, 600.0)
    assert (BatteryPack.catl_20_lfp().kwh, BatteryPack.catl_20_lfp().range_km) == (42.0, 400.0)
    assert (BatteryPack.catl_20_ncm().kwh, BatteryPack.catl_20_ncm().range_km) == (52.0, 500.0)
    assert BatteryPack.catl_25_ncm().chemistry == "NCM"


def test_pack_cost_default_94_usd_per_kwh_at_7_2() -> None:
    assert abs(PACK_CNY_PER_KWH - 676.8) < 1e-9
    # 56 kWh * 94 USD * 7.2 = 37,900.8 CNY (DOMAIN.md "~38 k CNY")
    assert BatteryPack.catl_25_lfp().cost_cny == pytest.approx(37900.8)
    assert BatteryPack("x", 10, 100, cost_cny=5000).cost_cny == 5000.0
    assert BatteryPack.catl_25_lfp().kwh_per_km == pytest.approx(0.112)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kwh": 0, "range_km": 100}, "kwh"),
        ({"kwh": float("nan"), "range_km": 100}, "kwh"),
        ({"kwh": 10, "range_km": -1}, "range_km"),
        ({"kwh": 10, "range_km": 100, "cost_cny": -5}, "cost_cny"),
    ],
)
def test_pack_validation(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidInputError) as e:
        BatteryPack("x", **kwargs)  # type: ignore[arg-type]
    assert e.value.field == field


# --------------------------------------------------------------- stations
def test_station_presets_from_domain() -> None:
    c = StationDesign.choco_swap()
    assert c.batteries == 30 and c.swap_minutes == pytest.approx(100 / 60) and c.nameplate_swaps_per_day == 822
    p2, p3, p4 = StationDesign.nio_pss2(), StationDesign.nio_pss3(), StationDesign.nio_pss4()
    assert (p2.batteries, p3.batteries, p4.batteries) == (13, 21, 23)
    assert (p2.swap_minutes, p3.swap_minutes, p4.swap_minutes) == (3.0, 2.5, 2.4)
    assert (p2.nameplate_swaps_per_day, p3.nameplate_swaps_per_day, p4.nameplate_swaps_per_day) == (312, 408, 480)
    assert p3.charger_kw == 62.5
    for s in (c, p2, p3, p4):
        assert 3e6 <= s.capex_cny <= 5e6
        assert s.grid_kw == 600.0


def test_capacity_by_hand_pss2() -> None:
    s = StationDesign.nio_pss2()
    pack = BatteryPack.catl_25_lfp()
    assert s.bay_capacity_per_hour == pytest.approx(20.0)  # 60 / 3
    assert s.slot_power_kw == 40.0  # min(40, 600 / 13 = 46.2)
    # 56 kWh * 0.8 / 0.95 = 47.16 kWh from the grid, at 40 kW -> 1.179 h
    assert s.grid_energy_per_swap_kwh(pack) == pytest.approx(56 * 0.8 / 0.95)
    assert s.charge_hours(pack) == pytest.approx(56 * 0.8 / 0.95 / 40)
    # 13 slots * 40 kW = 520 kW < 600 kW grid: 0.95 * 520 / 44.8 = 11.03 packs/h
    assert s.charging_capacity_per_hour(pack) == pytest.approx(0.95 * 520 / 44.8)
    assert s.swaps_per_hour(pack) == pytest.approx(0.95 * 520 / 44.8)
    assert s.swaps_per_day(pack) == pytest.approx(24 * 0.95 * 520 / 44.8)


def test_capacity_by_hand_choco_grid_limited() -> None:
    s = StationDesign.choco_swap()
    pack = BatteryPack.catl_25_lfp()
    assert s.bay_capacity_per_hour == pytest.approx(36.0)  # 100 s per swap
    assert s.slot_power_kw == 20.0  # 600 kW over 30 slots
    assert s.charging_power_kw == 600.0
    # grid limit applied once: 0.95 * 600 / 44.8 = 12.72 packs/h, not 15 slots at 20 kW
    assert s.charging_capacity_per_hour(pack) == pytest.approx(0.95 * 600 / 44.8)
    assert s.swaps_per_day(pack) < s.nameplate_swaps_per_day  # type: ignore[operator]
    # a partial charge 0.5 -> 1.0 takes 56 * 0.5 / 0.95 / 20 hours
    assert s.charge_hours(pack, 0.5, 1.0) == pytest.approx(56 * 0.5 / 0.95 / 20)


def test_swaps_per_day_with_peaked_profile_by_hand() -> None:
    # B = 2 * 60 / 1 = 120/h; 50 kWh pack, 0.2 -> 1.0, eta 1, 10 slots x 40 kW on 400 kW: t = 1 h, C = 10/h
    s = StationDesign("t", bays=2, batteries=10, chargers=10, charger_kw=40, grid_kw=400, swap_minutes=1,
                      charging_efficiency=1.0)  # fmt: skip
    pack = BatteryPack("p", 50.0, 300.0)
    assert s.charging_capacity_per_hour(pack) == pytest.approx(10.0)
    one_hour = np.zeros(24)
    one_hour[7] = 1.0
    # every swap in hour 7: the 10 stocked packs plus 10 recharged within the hour
    assert s.swaps_per_day(pack, DailyProfile(one_hour)) == pytest.approx(20.0)
    # a flat profile reaches the steady state 24 * min(B, C)
    assert s.swaps_per_day(pack, DailyProfile.flat()) == pytest.approx(240.0)
    two_hours = np.zeros(24)
    two_hours[[7, 8]] = 1.0
    # window of both hours: D - 2C <= 10 -> D <= 30; single hour: D/2 - C <= 10 -> D <= 40
    assert s.swaps_per_day(pack, DailyProfile(two_hours)) == pytest.approx(30.0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 10, allow_nan=False), min_size=24, max_size=24).filter(lambda v: sum(v) > 1e-3),
    st.integers(1, 40),
    st.floats(50, 2000),
)
def test_profile_never_beats_steady_state(shares: list[float], batteries: int, grid_kw: float) -> None:
    s = StationDesign("t", 1, batteries, batteries, 40.0, grid_kw, 2.0)
    pack = BatteryPack.catl_25_lfp()
    with_profile = s.swaps_per_day(pack, DailyProfile(shares))
    assert 0 < with_profile <= s.swaps_per_day(pack) * (1 + 1e-12)
    bigger = dataclasses.replace(s, grid_kw=grid_kw * 2)
    assert bigger.swaps_per_day(pack, DailyProfile(shares)) >= with_profile * (1 - 1e-12)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"bays": 0}, "bays"),
        ({"bays": 1.5}, "bays"),
        ({"bays": True}, "bays"),
        ({"batteries": -3}, "batteries"),
        ({"chargers": 14}, "chargers"),
        ({"charger_kw": 700.0}, "charger_kw"),
        ({"charger_kw": 0.0}, "charger_kw"),
        ({"grid_kw": float("inf")}, "grid_kw"),
        ({"swap_minutes": 0.0}, "swap_minutes"),
        ({"capex_cny": -1.0}, "capex_cny"),
        ({"opex_cny_per_year": float("nan")}, "opex_cny_per_year"),
        ({"lifetime_years": 0.0}, "lifetime_years"),
        ({"charging_efficiency": 1.2}, "charging_efficiency"),
    ],
)
def test_station_validation_names_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as e:
        dataclasses.replace(StationDesign.nio_pss2(), **changes)  # type: ignore[arg-type]
    assert e.value.field == field
    assert field in str(e.value)


def test_soc_validation() -> None:
    s, p = StationDesign.nio_pss2(), BatteryPack.catl_25_lfp()
    with pytest.raises(InvalidInputError) as e:
        s.charge_hours(p, 0.8, 0.5)
    assert e.value.field == "start_soc"
    with pytest.raises(InvalidInputError) as e:
        s.charge_hours(p, 0.2, 1.1)
    assert e.value.field == "end_soc"


def test_annualised_capex() -> None:
    s = StationDesign.nio_pss2()
    crf = 0.06 * 1.06**10 / (1.06**10 - 1)  # 0.13587
    assert capital_recovery_factor(0.06, 10) == pytest.approx(crf)
    assert s.annualised_capex(0.06) == pytest.approx(4e6 * crf)
    assert s.annualised_capex(0.0, 8) == pytest.approx(4e6 / 8)
    pack = BatteryPack.catl_25_lfp()
    assert s.capex_with_batteries(pack) == pytest.approx(4e6 + 13 * 37900.8)
    assert s.annualised_capex(0.06, pack=pack) == pytest.approx((4e6 + 13 * 37900.8) * crf)
    with pytest.raises(InvalidInputError):
        capital_recovery_factor(-1.0, 10)
    with pytest.raises(InvalidInputError):
        capital_recovery_factor(0.05, 0)


# ------------------------------------------------------------ candidate sites
def net() -> RoadNetwork:
    return RoadNetwork.from_edges([("a", "b", 1.0), ("b", "c", 2.0)])


def test_sites_defaults_and_frame() -> None:
    s = CandidateSites(["s1", "s2"], ["a", "c"], [100.0, 200.0], kind="store")
    assert len(s) == 2
    assert np.isinf(s.max_batteries).all() and np.isinf(s.grid_kw).all()
    assert s.kind == ("store", "store")
    assert not s.fixed_cost.flags.writeable
    df = s.to_frame()
    assert list(df.columns) == ["label", "node", "fixed_cost", "max_batteries", "max_chargers", "grid_kw", "kind"]
    assert df["fixed_cost"].tolist() == [100.0, 200.0]
    s.check(net())
    np.testing.assert_array_equal(s.indices(net()), [0, 2])


def test_sites_subset_and_from_nodes() -> None:
    s = CandidateSites(["s1", "s2", "s3"], ["a", "b", "c"], 5.0, grid_kw=[600, 800, 1000], max_batteries=[10, 20, 30])
    sub = s.subset(["s3", "s1"])
    assert sub.labels == ("s3", "s1")
    assert sub.nodes == ("c", "a")
    np.testing.assert_array_equal(sub.grid_kw, [1000.0, 600.0])
    with pytest.raises(InvalidInputError):
        s.subset(["nope"])
    f = CandidateSites.from_nodes(["a", "c"], [1.0, 2.0])
    assert f.labels == ("a", "c") and f.nodes == ("a", "c")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"labels": ["x", "x"], "nodes": ["a", "b"]}, "labels"),
        ({"labels": ["x", "y"], "nodes": ["a"]}, "nodes"),
        ({"labels": ["x", "y"], "nodes": ["a", "b"], "fixed_cost": [1.0, -1.0]}, "fixed_cost[1]"),
        ({"labels": ["x", "y"], "nodes": ["a", "b"], "fixed_cost": [1.0, math.inf]}, "fixed_cost[1]"),
        ({"labels": ["x", "y"], "nodes": ["a", "b"], "fixed_cost": [1.0, 2.0, 3.0]}, "fixed_cost"),
        ({"labels": ["x", "y"], "nodes": ["a", "b"], "max_batteries": [1.0, float("nan")]}, "max_batteries[1]"),
        ({"labels": ["x", "y"], "nodes": ["a", "b"], "grid_kw": [-1.0, 1.0]}, "grid_kw[0]"),
        ({"labels": ["x", "y"], "nodes": ["a", "b"], "kind": ["k"]}, "kind"),
        ({"labels": ["x", "y"], "nodes": ["a", "b"], "geometry": [None]}, "geometry"),
    ],
)
def test_sites_validation(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as e:
        CandidateSites(**kwargs)  # type: ignore[arg-type]
    assert e.value.field == field


def test_sites_check_unknown_node() -> None:
    with pytest.raises(UnknownNodeError) as e:
        CandidateSites(["s"], ["zz"]).check(net())
    assert e.value.value == "zz"
