"""Tests of DailyProfile, FleetSegment and NodeDemand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet.demand import URBAN_PROFILE_PERCENT, DailyProfile, FleetSegment, NodeDemand
from swapnet.errors import InvalidInputError, UnknownNodeError
from swapnet.network import RoadNetwork


def line(n: int = 4) -> RoadNetwork:
    """Nodes 0..n-1 on the x axis, 1 km apart."""
    return RoadNetwork.from_arrays(
        np.arange(n - 1), np.arange(1, n), np.ones(n - 1), coords=np.column_stack([np.arange(n), np.zeros(n)])
    )


# ---------------------------------------------------------------- DailyProfile
def test_urban_profile_is_normalised_source_values() -> None:
    p = DailyProfile.urban()
    assert p.shares.shape == (24,)
    assert p.shares.sum() == pytest.approx(1.0)
    # the published percentages sum to 99.8; hour 16 (6.3 %) is the busiest
    assert p.shares[16] == pytest.approx(6.3 / 99.8)
    assert p.shares[4] == pytest.approx(0.1 / 99.8)
    assert p.peak_hour == 16
    assert not p.shares.flags.writeable


def test_highway_is_flatter_than_urban_and_flat_is_uniform() -> None:
    u, hw, f = DailyProfile.urban(), DailyProfile.highway(), DailyProfile.flat()
    assert hw.peak_share < u.peak_share
    assert hw.shares.min() > u.shares.min()
    # 50/50 blend: hour 4 = 0.5 * 0.1/99.8 + 0.5/24
    assert hw.shares[4] == pytest.approx(0.5 * 0.1 / 99.8 + 0.5 / 24)
    np.testing.assert_allclose(f.shares, 1 / 24)


def test_profile_normalises_counts() -> None:
    p = DailyProfile([2.0] + [0.0] * 22 + [6.0])
    assert p.shares[0] == 0.25
    assert p.shares[23] == 0.75


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ([1.0] * 23, "shares"),
        ([1.0] * 25, "shares"),
        ([0.0] * 24, "shares"),
        ([1.0] * 23 + [-1.0], "shares[23]"),
        ([1.0] * 5 + [float("nan")] + [1.0] * 18, "shares[5]"),
    ],
)
def test_profile_rejects_bad_shares(values: list[float], field: str) -> None:
    with pytest.raises(InvalidInputError) as e:
        DailyProfile(values)
    assert e.value.field == field


def test_resample_by_hand() -> None:
    p = DailyProfile(np.arange(24, dtype=float))  # share of hour h is h / 276
    q = p.resample(96)
    assert q.shape == (96,)
    assert q[4] == pytest.approx(1 / 276 / 4)  # first quarter of hour 1
    two_hour = p.resample(12)
    assert two_hour[0] == pytest.approx((0 + 1) / 276)
    assert two_hour[11] == pytest.approx((22 + 23) / 276)
    np.testing.assert_allclose(p.resample(24), p.shares)
    assert p.resample(1)[0] == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [0, -24, 7, 36, 100, 2.5, True])
def test_resample_rejects_non_dividing_periods(bad: object) -> None:
    with pytest.raises(InvalidInputError) as e:
        DailyProfile.flat().resample(bad)  # type: ignore[arg-type]
    assert e.value.field == "periods_per_day"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 100, allow_nan=False), min_size=24, max_size=24).filter(lambda v: sum(v) > 1e-6),
    st.sampled_from([1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 96, 288]),
)
def test_resampled_profiles_sum_to_one(values: list[float], periods: int) -> None:
    q = DailyProfile(values).resample(periods)
    assert q.shape == (periods,)
    assert q.sum() == pytest.approx(1.0)
    assert (q >= 0).all()


def test_profile_equality_and_hash() -> None:
    assert DailyProfile.urban() == DailyProfile.urban()
    assert DailyProfile.urban() != DailyProfile.flat()
    assert len({DailyProfile.urban(), DailyProfile.urban()}) == 1


# ---------------------------------------------------------------- FleetSegment
def test_segment_presets_and_swaps_per_day() -> None:
    assert FleetSegment.private(1).swaps_per_vehicle_month == 4.5
    assert FleetSegment.ride_hailing(1).swaps_per_vehicle_month == 15.0
    assert FleetSegment.taxi(1).swaps_per_vehicle_month == 37.0
    # 304 taxis * 37 swaps/month / 30.4 days = 370 swaps/day
    assert FleetSegment.taxi(304).swaps_per_day == pytest.approx(370.0)
    assert FleetSegment.private(100, 3.0).swaps_per_day == pytest.approx(300 / 30.4)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"vehicles": -1, "swaps_per_vehicle_month": 3}, "vehicles"),
        ({"vehicles": float("nan"), "swaps_per_vehicle_month": 3}, "vehicles"),
        ({"vehicles": 1, "swaps_per_vehicle_month": -3}, "swaps_per_vehicle_month"),
    ],
)
def test_segment_validation(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as e:
        FleetSegment("x", **kwargs)
    assert e.value.field == field


# ------------------------------------------------------------------ NodeDemand
def test_node_demand_hourly_and_peak_by_hand() -> None:
    shares = np.zeros(24)
    shares[8], shares[18] = 1.0, 3.0  # 25 % at 8 h, 75 % at 18 h
    d = NodeDemand(["a", "b"], [100.0, 40.0], DailyProfile(shares))
    h = d.hourly()
    assert h.shape == (2, 24)
    assert h[0, 8] == 25.0 and h[0, 18] == 75.0
    np.testing.assert_allclose(d.peak_hour(), [75.0, 30.0])
    assert d.total == 140.0
    p = d.per_period(12)  # 2-hour blocks: 8 h is in block 4, 18 h in block 9
    assert p[1, 4] == 10.0 and p[1, 9] == 30.0
    np.testing.assert_allclose(d.per_period(96).sum(axis=1), [100.0, 40.0])
    assert not d.daily.flags.writeable


def test_node_demand_per_node_profiles() -> None:
    rows = np.zeros((2, 24))
    rows[0, 0] = 2.0
    rows[1, 12] = 5.0
    d = NodeDemand([1, 2], [10.0, 20.0], rows)
    assert isinstance(d.profile, np.ndarray)
    assert d.hourly()[0, 0] == 10.0
    assert d.hourly()[1, 12] == 20.0
    np.testing.assert_allclose(d.peak_hour(), [10.0, 20.0])


@pytest.mark.parametrize(
    ("daily", "profile", "field"),
    [
        ([1.0, -2.0], None, "daily[1]"),
        ([1.0, float("nan")], None, "daily[1]"),
        ([1.0], None, "daily"),
        ([1.0, 2.0], np.ones((2, 23)), "profile"),
        ([1.0, 2.0], np.ones((3, 24)), "profile"),
        ([1.0, 2.0], np.vstack([np.ones(24), np.zeros(24)]), "profile[1]"),
    ],
)
def test_node_demand_validation(daily: list[float], profile: object, field: str) -> None:
    with pytest.raises(InvalidInputError) as e:
        NodeDemand(["a", "b"], daily, profile)  # type: ignore[arg-type]
    assert e.value.field == field


def test_check_unknown_node() -> None:
    d = NodeDemand([0, 1, 99], [1.0, 1.0, 1.0])
    with pytest.raises(UnknownNodeError) as e:
        d.check(line(4))
    assert e.value.value == 99
    NodeDemand([0, 3], [1.0, 1.0]).check(line(4))


def test_scaled_and_aggregate() -> None:
    d = NodeDemand(["a", "b", "a"], [1.0, 2.0, 3.0], DailyProfile.flat())
    assert d.scaled(2).total == 12.0
    with pytest.raises(InvalidInputError):
        d.scaled(-1)
    agg = d.aggregate()
    assert agg.nodes == ("a", "b")
    np.testing.assert_allclose(agg.daily, [4.0, 2.0])
    assert d.as_dict() == {"a": 4.0, "b": 2.0}
    # per-node profiles merge swap-weighted: 1 swap at 0 h + 3 swaps at 12 h
    rows = np.zeros((3, 24))
    rows[0, 0] = rows[1, 5] = rows[2, 12] = 1.0
    agg2 = NodeDemand(["a", "b", "a"], [1.0, 2.0, 3.0], rows).aggregate()
    assert agg2.hourly()[0, 0] == pytest.approx(1.0)
    assert agg2.hourly()[0, 12] == pytest.approx(3.0)


def test_to_frame() -> None:
    df = NodeDemand(["a", "b"], [24.0, 48.0], DailyProfile.flat()).to_frame(hourly=True)
    assert list(df.columns[:4]) == ["node", "swaps_per_day", "peak_hour", "peak_hour_swaps"]
    assert df["peak_hour_swaps"].tolist() == [1.0, 2.0]
    assert df["h23"].tolist() == [1.0, 2.0]


# ------------------------------------------------------------- from_segments
def test_from_segments_uniform_and_weighted_by_hand() -> None:
    net = line(4)
    taxi = FleetSegment.taxi(304)  # 370 swaps/day
    d = NodeDemand.from_segments(net, [taxi])
    np.testing.assert_allclose(d.daily, [92.5] * 4)
    assert d.profile == taxi.profile
    w = NodeDemand.from_segments(net, [taxi], weights={0: 1.0, 3: 4.0})
    assert w.nodes == (0, 3)
    np.testing.assert_allclose(w.daily, [74.0, 296.0])


def test_from_segments_mixes_profiles_by_swaps() -> None:
    shares = np.zeros(24)
    shares[3] = 1.0
    night = FleetSegment("night", 30.4, 10.0, DailyProfile(shares))  # 10 swaps/day at 3 h
    day = FleetSegment("day", 30.4, 30.0, DailyProfile.flat())  # 30 swaps/day flat
    d = NodeDemand.from_segments(line(2), [night, day])
    assert d.total == pytest.approx(40.0)
    # hour 3 share: (10 + 30/24) / 40
    assert d.hourly()[0, 3] == pytest.approx((10 + 30 / 24) / 2)


def test_from_segments_sampled_is_seeded_and_integer_vehicles() -> None:
    net = line(5)
    segs = [FleetSegment.taxi(100), FleetSegment.private(1000, profile=DailyProfile.flat())]
    a = NodeDemand.from_segments(net, segs, sample=True, seed=7)
    b = NodeDemand.from_segments(net, segs, sample=True, seed=7)
    np.testing.assert_array_equal(a.daily, b.daily)
    assert a.total == pytest.approx(sum(s.swaps_per_day for s in segs))
    assert isinstance(a.profile, np.ndarray)  # segments mix differently at each node


def test_from_segments_validation() -> None:
    net = line(3)
    with pytest.raises(UnknownNodeError):
        NodeDemand.from_segments(net, [FleetSegment.taxi(1)], weights={"zz": 1.0})
    with pytest.raises(InvalidInputError) as e:
        NodeDemand.from_segments(net, [FleetSegment.taxi(1)], weights={0: -1.0})
    assert e.value.field == "weights[0]"
    with pytest.raises(InvalidInputError):
        NodeDemand.from_segments(net, [FleetSegment.taxi(1)], weights={0: 0.0})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=4),
    st.lists(st.floats(0, 10, allow_nan=False), min_size=6, max_size=6).filter(lambda w: sum(w) > 1e-3),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_allocation_conserves_total(vehicles: list[float], weights: list[float], sample: bool, seed: int) -> None:
    segs = [FleetSegment(f"s{k}", v, 3.0 + k) for k, v in enumerate(vehicles)]
    d = NodeDemand.from_segments(line(6), segs, weights=dict(enumerate(weights)), sample=sample, seed=seed)
    assert d.total == pytest.approx(sum(s.swaps_per_day for s in segs), rel=1e-9, abs=1e-9)
    assert (d.daily[np.asarray(weights) == 0] == 0).all()


# -------------------------------------------------------------- from_polygons
def test_from_polygons_by_hand() -> None:
    net = line(4)  # nodes at x = 0, 1, 2, 3
    areas = [
        (shapely.box(-0.5, -1, 1.5, 1), 10.0),  # contains nodes 0 and 1 -> 5 each
        (shapely.box(1.9, -1, 2.1, 1), 4.0),  # contains node 2
        (shapely.box(2.6, 5, 2.8, 6), 3.0),  # contains nothing; centroid (2.7, 5.5) nearest node 3
    ]
    d = NodeDemand.from_polygons(net, areas)
    assert d.nodes == (0, 1, 2, 3)
    np.testing.assert_allclose(d.daily, [5.0, 5.0, 4.0, 3.0])
    half = NodeDemand.from_polygons(net, areas, rate=0.5)
    assert half.total == pytest.approx(8.5)


def test_from_polygons_boundary_nodes_count_and_multipolygon() -> None:
    net = line(4)
    mp = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(3, -1, 4, 1)])  # node 0, 1 on edges; 3 on edge
    d = NodeDemand.from_polygons(net, [(mp, 9.0)])
    assert d.nodes == (0, 1, 3)
    np.testing.assert_allclose(d.daily, [3.0, 3.0, 3.0])


def test_from_polygons_errors() -> None:
    no_xy = RoadNetwork.from_edges([("a", "b", 1.0)])
    with pytest.raises(InvalidInputError) as e:
        NodeDemand.from_polygons(no_xy, [(shapely.box(0, 0, 1, 1), 1.0)])
    assert e.value.field == "network.coords"
    with pytest.raises(InvalidInputError) as e:
        NodeDemand.from_polygons(line(), [(shapely.Point(0, 0), 1.0)])
    assert e.value.field == "areas[0].geometry"
    with pytest.raises(InvalidInputError) as e:
        NodeDemand.from_polygons(line(), [(shapely.box(0, 0, 1, 1), -1.0)])
    assert e.value.field == "areas[0].amount"


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-1, 10), st.floats(-1, 10), st.floats(0.05, 4), st.floats(0, 100)), min_size=1, max_size=6
    )
)
def test_polygon_allocation_conserves_total(boxes: list[tuple[float, float, float, float]]) -> None:
    xs, ys = np.meshgrid(np.arange(10.0), np.arange(10.0))
    net = RoadNetwork.from_arrays([0], [1], [1.0], labels=range(100), coords=np.column_stack([xs.ravel(), ys.ravel()]))
    areas = [(shapely.box(x, y, x + s, y + s), a) for x, y, s, a in boxes]
    d = NodeDemand.from_polygons(net, areas)
    assert d.total == pytest.approx(sum(a for *_, a in boxes))


def test_urban_source_has_24_hours() -> None:
    assert len(URBAN_PROFILE_PERCENT) == 24
