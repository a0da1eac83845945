"""Tests of the seeded synthetic generators."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet.demand import NodeDemand
from swapnet.errors import InvalidInputError
from swapnet.network import RoadNetwork
from swapnet.synthetic import city_demand, city_grid, random_geometric, service_store_sites


def same(a: RoadNetwork, b: RoadNetwork) -> bool:
    assert a.coords is not None and b.coords is not None
    return (
        a.labels == b.labels
        and np.array_equal(a.tails, b.tails)
        and np.array_equal(a.heads, b.heads)
        and np.array_equal(a.lengths, b.lengths)
        and np.array_equal(a.coords, b.coords)
    )


# ------------------------------------------------------------------ city_grid
def test_city_grid_by_hand() -> None:
    g = city_grid(3, 4)  # arterials: row 0 and column 0 (every 4th), speedup 2
    assert g.n_nodes == 12
    assert g.n_edges == 3 * 3 + 2 * 4
    assert g.labels == tuple(range(12))
    assert g.coords is not None
    np.testing.assert_array_equal(g.coords[6], [2.0, 1.0])  # node r*cols + c = 1*4 + 2
    assert g.edge_lengths([0], [1])[0] == 0.5  # row 0 is an arterial
    assert g.edge_lengths([5], [6])[0] == 1.0
    assert g.edge_lengths([0], [4])[0] == 0.5  # column 0 is an arterial
    assert g.edge_lengths([1], [5])[0] == 1.0
    # node 0 -> node 11 (r=2, c=3): along arterial row 0 (3 x 0.5) then up column 3 (2 x 1)
    assert g.distances([0], [11])[0, 0] == pytest.approx(3.5)


def test_city_grid_options() -> None:
    plain = city_grid(4, 4, spacing_km=0.5, arterial_every=0)
    np.testing.assert_allclose(plain.lengths, 0.5)
    fast = city_grid(5, 5, arterial_every=2, arterial_speedup=4.0)
    assert fast.edge_lengths([10], [11])[0] == 0.25  # row 2 is an arterial
    jittered = city_grid(4, 4, jitter=0.5, seed=3)
    assert jittered.coords is not None
    regular = city_grid(4, 4).coords
    assert regular is not None
    assert 0 < np.abs(jittered.coords - regular).max() <= 0.25  # up to jitter * spacing / 2 per axis


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rows": 0, "cols": 3}, "rows"),
        ({"rows": 2, "cols": 2.5}, "cols"),
        ({"rows": 2, "cols": 2, "spacing_km": 0.0}, "spacing_km"),
        ({"rows": 2, "cols": 2, "arterial_speedup": 0.5}, "arterial_speedup"),
        ({"rows": 2, "cols": 2, "jitter": 1.0}, "jitter"),
        ({"rows": 2, "cols": 2, "drop_fraction": 1.0}, "drop_fraction"),
        ({"rows": 2, "cols": 2, "drop_fraction": -0.1}, "drop_fraction"),
    ],
)
def test_city_grid_validation(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidInputError) as e:
        city_grid(**kwargs)  # type: ignore[arg-type]
    assert e.value.field == field


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.floats(0, 0.95), st.floats(0, 0.9), st.integers(0, 1000))
def test_city_grid_connected_and_deterministic(rows: int, cols: int, drop: float, jitter: float, seed: int) -> None:
    g = city_grid(rows, cols, drop_fraction=drop, jitter=jitter, seed=seed)
    assert g.is_connected()
    m = rows * (cols - 1) + cols * (rows - 1)
    n = rows * cols
    assert g.n_edges == m - min(round(drop * m), m - (n - 1))
    assert same(g, city_grid(rows, cols, drop_fraction=drop, jitter=jitter, seed=seed))


# ------------------------------------------------------------ random_geometric
def test_random_geometric_lengths_are_euclidean() -> None:
    g = random_geometric(60, seed=1, size_km=5.0)
    assert g.coords is not None
    assert g.coords.min() >= 0 and g.coords.max() <= 5.0
    d = g.coords[g.heads] - g.coords[g.tails]
    np.testing.assert_allclose(g.lengths, np.hypot(d[:, 0], d[:, 1]))
    assert g.is_connected()


def test_random_geometric_connect_flag() -> None:
    loose = random_geometric(50, radius=0.3, seed=2, connect=False)
    joined = random_geometric(50, radius=0.3, seed=2)
    assert not loose.is_connected()
    assert joined.is_connected()
    # connecting only adds edges: one per extra component (a spanning forest of the components)
    assert joined.n_edges == loose.n_edges + len(loose.components()) - 1


def test_random_geometric_validation() -> None:
    with pytest.raises(InvalidInputError) as e:
        random_geometric(0)
    assert e.value.field == "n"
    with pytest.raises(InvalidInputError) as e:
        random_geometric(5, radius=-1.0)
    assert e.value.field == "radius"
    assert random_geometric(1).n_nodes == 1


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 120), st.floats(0.05, 5.0), st.integers(0, 10_000))
def test_random_geometric_connected_and_deterministic(n: int, radius: float, seed: int) -> None:
    g = random_geometric(n, radius=radius, seed=seed)
    assert g.is_connected()
    assert same(g, random_geometric(n, radius=radius, seed=seed))


# --------------------------------------------------------------------- sites
def test_service_store_sites() -> None:
    g = city_grid(10, 10, seed=0)
    s = service_store_sites(g, 12, seed=5)
    assert s.labels[0] == "store-001" and s.labels[-1] == "store-012"
    assert len(set(s.nodes)) == 12
    assert ((s.fixed_cost >= 3e6) & (s.fixed_cost <= 5e6)).all()
    assert ((s.grid_kw >= 520) & (s.grid_kw <= 1200)).all()
    np.testing.assert_array_equal(s.grid_kw % 10, 0)
    assert s.kind == ("service_store",) * 12
    assert s.geometry is not None and s.geometry[0].x == g.coords[s.indices(g)[0], 0]  # type: ignore[index]
    s.check(g)
    again = service_store_sites(g, 12, seed=5)
    assert again.nodes == s.nodes
    np.testing.assert_array_equal(again.fixed_cost, s.fixed_cost)
    assert service_store_sites(g, 10, seed=1, grid_kw_range=None).grid_kw.tolist() == [np.inf] * 10


def test_service_store_sites_cluster_near_centre() -> None:
    g = city_grid(21, 21)
    assert g.coords is not None
    centre = np.array([10.0, 10.0])
    near = service_store_sites(g, 40, seed=3, cluster=4.0)
    spread = service_store_sites(g, 40, seed=3, cluster=0.0)
    dist = [np.hypot(*(g.coords[x.indices(g)] - centre).T).mean() for x in (near, spread)]
    assert dist[0] < dist[1]


def test_service_store_sites_follow_demand() -> None:
    g = city_grid(5, 5)
    demand = NodeDemand([3, 7, 9], [10.0, 1.0, 5.0])
    s = service_store_sites(g, 3, seed=0, demand=demand)
    assert set(s.nodes) == {3, 7, 9}
    with pytest.raises(InvalidInputError) as e:
        service_store_sites(g, 4, seed=0, demand=demand)
    assert e.value.field == "n"


def test_service_store_sites_without_coords_is_uniform() -> None:
    g = RoadNetwork.from_edges([("a", "b", 1.0), ("b", "c", 1.0)])
    s = service_store_sites(g, 3, seed=0)
    assert set(s.nodes) == {"a", "b", "c"}
    assert s.geometry is None


# -------------------------------------------------------------------- demand
def test_city_demand() -> None:
    g = city_grid(9, 9)
    d = city_demand(g, total_swaps_per_day=1170.0, seed=4, noise=0.0)
    assert d.total == pytest.approx(1170.0)
    assert d.nodes == g.labels
    assert d.daily[40] == d.daily.max()  # the centre node (4, 4)
    assert d.daily[0] == d.daily.min()  # a corner
    flat = city_demand(g, total_swaps_per_day=81.0, centre_weight=0.0, noise=0.0)
    np.testing.assert_allclose(flat.daily, 1.0)
    a = city_demand(g, total_swaps_per_day=500.0, seed=9)
    b = city_demand(g, total_swaps_per_day=500.0, seed=9)
    np.testing.assert_array_equal(a.daily, b.daily)
    assert a.total == pytest.approx(500.0)


def test_city_demand_needs_coords() -> None:
    g = RoadNetwork.from_edges([("a", "b", 1.0)])
    with pytest.raises(InvalidInputError) as e:
        city_demand(g, total_swaps_per_day=10.0)
    assert e.value.field == "network.coords"
    with pytest.raises(InvalidInputError) as e:
        city_demand(city_grid(2, 2), total_swaps_per_day=-1.0)
    assert e.value.field == "total_swaps_per_day"
