"""Tests of ODFlows: validation, builders, gravity model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import InvalidInputError, ODFlows, RoadNetwork, UnknownNodeError


def line() -> RoadNetwork:
    return RoadNetwork.from_edges([("A", "B", 2.0), ("B", "C", 3.0)])


def test_basic_and_frame() -> None:
    f = ODFlows(["A", "B"], ["C", "C"], [10.0, 5.0])
    assert len(f) == 2 and f.total == 15.0
    df = f.to_frame()
    assert list(df.columns) == ["origin", "destination", "volume"]
    assert df["volume"].sum() == 15.0


@pytest.mark.parametrize("vol", [-1.0, float("nan"), float("inf")])
def test_bad_volumes(vol: float) -> None:
    with pytest.raises(InvalidInputError, match=r"volumes\[1\]"):
        ODFlows(["A", "B"], ["C", "C"], [1.0, vol])


def test_length_mismatch() -> None:
    with pytest.raises(InvalidInputError, match="equal lengths"):
        ODFlows(["A"], ["B", "C"], [1.0])


def test_paths_must_match_endpoints_and_be_walks() -> None:
    with pytest.raises(InvalidInputError, match=r"paths\[0\]"):
        ODFlows(["A"], ["C"], [1.0], paths=[["A", "B"]])
    f = ODFlows(["A"], ["C"], [1.0], paths=[["A", "C"]])
    with pytest.raises(InvalidInputError, match="not joined"):
        f.check(line())
    g = ODFlows(["A"], ["Z"], [1.0])
    with pytest.raises(UnknownNodeError, match="destinations"):
        g.check(line())
    h = ODFlows(["A"], ["C"], [1.0], paths=[["A", "Q", "C"]])
    with pytest.raises(UnknownNodeError, match="Q"):
        h.check(line())


def test_shortest_paths_filled_in() -> None:
    f = ODFlows(["A", "C"], ["C", "A"], [1.0, 2.0]).with_shortest_paths(line())
    assert f.paths == (("A", "B", "C"), ("C", "B", "A"))
    assert [p.tolist() for p in f.path_indices(line())] == [[0, 1, 2], [2, 1, 0]]


def test_from_matrix() -> None:
    m = np.array([[5.0, 1.0, 0.0], [2.0, 0.0, 3.0], [0.0, 0.0, 0.0]])
    f = ODFlows.from_matrix(m, ["x", "y", "z"])
    assert list(zip(f.origins, f.destinations, f.volumes.tolist(), strict=True)) == [
        ("x", "y", 1.0),
        ("y", "x", 2.0),
        ("y", "z", 3.0),
    ]
    g = ODFlows.from_matrix(m, drop_zero=False, drop_diagonal=False)
    assert len(g) == 9 and g.total == m.sum()
    assert np.array_equal(g.to_matrix([0, 1, 2]), m)
    with pytest.raises(InvalidInputError, match=r"matrix\[0, 1\]"):
        ODFlows.from_matrix([[0.0, -1.0], [0.0, 0.0]])


def test_gravity_hand_computed() -> None:
    net = line()
    f = ODFlows.gravity(net, {"A": 10.0, "B": 20.0, "C": 5.0}, beta=1.5)
    got = dict(zip(zip(f.origins, f.destinations, strict=True), f.volumes.tolist(), strict=True))
    assert got[("A", "B")] == pytest.approx(200 / 2**1.5)
    assert got[("A", "C")] == pytest.approx(50 / 5**1.5)
    assert got[("B", "C")] == pytest.approx(100 / 3**1.5)
    assert len(f) == 3  # one flow per unordered pair
    both = ODFlows.gravity(net, {"A": 10.0, "B": 20.0, "C": 5.0}, symmetric=False)
    assert len(both) == 6 and both.total == pytest.approx(2 * f.total)
    with pytest.raises(InvalidInputError, match="beta"):
        ODFlows.gravity(net, {"A": 1.0, "B": 1.0}, beta=-1)
    with pytest.raises(InvalidInputError, match="weights"):
        ODFlows.gravity(net, {"A": -1.0, "B": 1.0})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=9, max_size=9),
)
def test_matrix_round_trip(values: list[float]) -> None:
    m = np.array(values).reshape(3, 3)
    f = ODFlows.from_matrix(m, drop_diagonal=False)
    assert np.allclose(f.to_matrix(list(range(3))), m)
    sel = f.select(f.volumes > 1.0)
    assert sel.total == pytest.approx(m[m > 1.0].sum())
