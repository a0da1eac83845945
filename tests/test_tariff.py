"""Tests of TouTariff."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet.errors import InvalidInputError
from swapnet.tariff import TouTariff

VALLEY, FLAT, PEAK = 0.52 * 0.38, 0.52, 0.52 * 1.7  # 0.1976, 0.52, 0.884 CNY/kWh


def test_guangdong_prices_per_hour_by_hand() -> None:
    t = TouTariff.guangdong()
    expected = [VALLEY] * 8 + [FLAT] * 2 + [PEAK] * 2 + [FLAT] * 2 + [PEAK] * 5 + [FLAT] * 5
    np.testing.assert_allclose(t.prices, expected)
    assert t.price_at(3) == pytest.approx(0.1976)
    assert t.price_at(10) == pytest.approx(0.884)
    assert t.price_at(12.5) == pytest.approx(0.52)
    assert t.price_at(18.99) == pytest.approx(0.884)
    assert t.price_at(19) == pytest.approx(0.52)
    assert t.periods[0] == "valley" and t.periods[15] == "peak" and t.periods[13] == "flat"
    np.testing.assert_array_equal(t.hours_of("peak"), [10, 11, 14, 15, 16, 17, 18])
    assert t.period_names == ("valley", "flat", "peak")
    # mean: (8 * 0.1976 + 9 * 0.52 + 7 * 0.884) / 24
    assert t.mean_price == pytest.approx((8 * 0.1976 + 9 * 0.52 + 7 * 0.884) / 24)
    assert t.demand_charge_cny_per_kw_month == 0.0
    assert not t.prices.flags.writeable


def test_guangdong_critical_peak() -> None:
    t = TouTariff.guangdong(critical_peak=True)
    crit = PEAK * 1.25  # 1.105
    np.testing.assert_array_equal(t.hours_of("critical"), [11, 15, 16])
    assert t.price_at(11) == pytest.approx(1.105)
    assert t.price_at(16.5) == pytest.approx(crit)
    assert t.price_at(10) == pytest.approx(PEAK)
    assert t.price_at(17) == pytest.approx(PEAK)
    other = TouTariff.guangdong(1.0, ratios=(2.0, 1.0, 0.5), critical_peak=True, critical_multiplier=1.5)
    assert other.price_at(15) == pytest.approx(3.0)
    assert other.price_at(0) == pytest.approx(0.5)


def test_price_at_vectorised_and_modulo() -> None:
    t = TouTariff.guangdong()
    np.testing.assert_allclose(t.price_at([0.0, 10.5, 24.0 + 14, -1.0]), [VALLEY, PEAK, PEAK, FLAT])
    with pytest.raises(InvalidInputError):
        t.price_at(float("nan"))


def test_price_per_period() -> None:
    t = TouTariff.guangdong()
    q = t.price_per_period(96)
    assert q.shape == (96,)
    assert q[40] == pytest.approx(PEAK)  # 10:00
    blocks = t.price_per_period(12)
    assert blocks[4] == pytest.approx(FLAT)  # 8-10 h
    assert blocks[6] == pytest.approx(FLAT)  # 12-14 h
    assert blocks[9] == pytest.approx((PEAK + FLAT) / 2)  # 18-20 h
    assert t.price_per_period(1)[0] == pytest.approx(t.mean_price)
    for bad in (0, 5, 25, 100):
        with pytest.raises(InvalidInputError) as e:
            t.price_per_period(bad)
        assert e.value.field == "periods_per_day"


def test_cost_by_hand() -> None:
    t = TouTariff.guangdong()
    # 100 kW for the whole day in 15-minute periods: 100 * sum(prices) kWh-weighted
    assert t.cost(np.full(96, 100.0), 0.25) == pytest.approx(100 * t.prices.sum())
    # 600 kW during the 8 valley hours only: 4.8 MWh at 0.1976 = 948.48 CNY
    kw = np.zeros(24)
    kw[:8] = 600.0
    assert t.cost(kw, 1.0) == pytest.approx(948.48)
    # two days of 2-hour periods
    assert t.cost(np.full(24, 10.0), 2.0) == pytest.approx(2 * 10 * t.prices.sum())
    # station-by-period matrix
    per = t.cost_per_period(np.ones((3, 24)), 1.0)
    assert per.shape == (3, 24)
    assert t.demand_charge(500.0) == 0.0
    assert TouTariff.flat(1.0, demand_charge_cny_per_kw_month=30.0).demand_charge(500.0, 2) == 30000.0


@pytest.mark.parametrize(
    ("kw", "dt", "field"),
    [
        ([1.0, -1.0], 1.0, "kw_profile"),
        ([1.0, float("nan")], 1.0, "kw_profile"),
        ([1.0], 0.7, "period_hours"),
        ([1.0], 0.0, "period_hours"),
        ([1.0], 5.0, "period_hours"),
    ],
)
def test_cost_validation(kw: list[float], dt: float, field: str) -> None:
    with pytest.raises(InvalidInputError) as e:
        TouTariff.guangdong().cost(kw, dt)
    assert e.value.field == field


def test_flat_and_default_period_names() -> None:
    f = TouTariff.flat(0.6)
    assert f.period_names == ("flat",)
    assert f.mean_price == pytest.approx(0.6)
    tiers = TouTariff([0.1] * 12 + [0.3] * 12)
    assert tiers.periods[0] == "tier0" and tiers.periods[23] == "tier1"
    with pytest.raises(InvalidInputError) as e:
        TouTariff.flat(-0.1)
    assert e.value.field == "price"


def test_from_periods_with_wrap() -> None:
    t = TouTariff.from_periods({"night": (0.2, [(22, 6)]), "day": (0.8, [(6, 22)])}, name="two-part")
    assert t.price_at(23) == 0.2 and t.price_at(5) == 0.2 and t.price_at(6) == 0.8
    assert t.name == "two-part"
    assert t == TouTariff.from_periods({"night": (0.2, [(22, 6)]), "day": (0.8, [(6, 22)])}, name="two-part")


def test_from_periods_errors_name_the_hour() -> None:
    with pytest.raises(InvalidInputError) as e:
        TouTariff.from_periods({"a": (0.1, [(0, 12)]), "b": (0.2, [(13, 24)])})
    assert e.value.field == "hours" and e.value.value == [12]
    with pytest.raises(InvalidInputError) as e:
        TouTariff.from_periods({"a": (0.1, [(0, 13)]), "b": (0.2, [(12, 24)])})
    assert e.value.field == "hours" and e.value.value == 12
    assert "'a'" in str(e.value) and "'b'" in str(e.value)
    with pytest.raises(InvalidInputError) as e:
        TouTariff.from_periods({"a": (-0.1, [(0, 24)])})
    assert e.value.field == "periods['a'].price"
    with pytest.raises(InvalidInputError) as e:
        TouTariff.from_periods({"a": (0.1, [(0, 25)])})
    assert e.value.field == "periods['a']"
    with pytest.raises(InvalidInputError):
        TouTariff.from_periods({"a": (0.1, [(3, 3)])})


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (([0.1] * 23,), {}, "prices"),
        (([0.1] * 23 + [float("inf")],), {}, "prices[23]"),
        (([0.1] * 24, ["x"] * 23), {}, "periods"),
        (([0.1] * 24,), {"demand_charge_cny_per_kw_month": -1.0}, "demand_charge_cny_per_kw_month"),
    ],
)
def test_constructor_validation(args: tuple[object, ...], kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidInputError) as e:
        TouTariff(*args, **kwargs)  # type: ignore[arg-type]
    assert e.value.field == field


def test_to_frame() -> None:
    df = TouTariff.guangdong().to_frame()
    assert list(df.columns) == ["hour", "period", "price"]
    assert len(df) == 24
    assert df.loc[14, "period"] == "peak"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 5, allow_nan=False), min_size=24, max_size=24),
    st.sampled_from([1, 2, 3, 4, 6, 8, 12, 24, 48, 96]),
)
def test_period_prices_preserve_daily_mean(prices: list[float], periods: int) -> None:
    t = TouTariff(prices)
    q = t.price_per_period(periods)
    assert q.mean() == pytest.approx(t.mean_price, abs=1e-12)
    # the cost of a constant draw does not depend on the period length
    assert t.cost(np.full(periods, 7.0), 24 / periods) == pytest.approx(7.0 * sum(prices), abs=1e-9)
