"""Tests of GeoJSON export and service areas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
import shapely.geometry
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet.assets import CandidateSites
from swapnet.demand import NodeDemand
from swapnet.errors import InvalidInputError
from swapnet.geo import (
    demand_to_geojson,
    network_to_geojson,
    service_areas,
    service_areas_to_geojson,
    sites_to_geojson,
    write_geojson,
)
from swapnet.network import RoadNetwork
from swapnet.synthetic import city_grid, random_geometric


def roundtrip(obj: dict[str, Any]) -> Any:
    return json.loads(json.dumps(obj, allow_nan=False))


def test_network_to_geojson_by_hand() -> None:
    g = RoadNetwork.from_edges(
        [(("a", 1), "b", 2.5)], coords={("a", 1): (0.0, 0.0), "b": (3.0, 4.0)}, name="tiny", coord_crs="lonlat"
    )
    gj = roundtrip(network_to_geojson(g))
    assert gj["type"] == "FeatureCollection"
    assert gj["name"] == "tiny" and gj["coord_crs"] == "lonlat"
    feats = gj["features"]
    assert isinstance(feats, list) and len(feats) == 3
    edge, na, nb = feats
    assert edge["geometry"] == {"type": "LineString", "coordinates": [[0.0, 0.0], [3.0, 4.0]]}
    assert edge["properties"] == {"kind": "edge", "u": ["a", 1], "v": "b", "length": 2.5}
    assert na["properties"] == {"kind": "node", "label": ["a", 1]}
    assert nb["geometry"] == {"type": "Point", "coordinates": [3.0, 4.0]}
    only_nodes = network_to_geojson(g, edges=False)
    assert len(only_nodes["features"]) == 2


def test_coords_required() -> None:
    g = RoadNetwork.from_edges([("a", "b", 1.0)])
    for call in (
        lambda: network_to_geojson(g),
        lambda: sites_to_geojson(CandidateSites(["s"], ["a"]), g),
        lambda: demand_to_geojson(NodeDemand(["a"], [1.0]), g),
        lambda: service_areas(g, ["a"], 1.0),
    ):
        with pytest.raises(InvalidInputError) as e:
            call()
        assert e.value.field == "network.coords"


def test_sites_to_geojson_is_strict_json() -> None:
    g = city_grid(3, 3)
    s = CandidateSites(["s1", "s2"], [0, 8], [1e6, 2e6], grid_kw=[600.0, np.inf], kind="store")
    gj = roundtrip(sites_to_geojson(s, g))
    f0, f1 = gj["features"]
    assert f0["geometry"] == {"type": "Point", "coordinates": [0.0, 0.0]}
    assert f1["geometry"]["coordinates"] == [2.0, 2.0]
    assert f0["properties"]["grid_kw"] == 600.0
    assert f1["properties"]["grid_kw"] is None  # no limit
    assert f1["properties"]["max_batteries"] is None
    assert f1["properties"]["label"] == "s2" and f1["properties"]["kind"] == "store"
    with_geom = CandidateSites(["p"], [4], geometry=[shapely.box(0, 0, 1, 1)])
    poly = roundtrip(sites_to_geojson(with_geom, g))["features"][0]["geometry"]
    assert shapely.geometry.shape(poly).equals(shapely.box(0, 0, 1, 1))


def test_demand_to_geojson_sums_duplicates() -> None:
    g = city_grid(2, 2)
    gj = roundtrip(demand_to_geojson(NodeDemand([3, 0, 3], [1.0, 2.0, 4.0]), g))
    props = {f["properties"]["node"]: f["properties"]["swaps_per_day"] for f in gj["features"]}
    assert props == {3: 5.0, 0: 2.0}


def test_service_area_diamond_by_hand() -> None:
    g = city_grid(5, 5, arterial_every=0)  # unit grid, centre node 12 at (2, 2)
    areas = service_areas(g, [12], 1.5)
    diamond = shapely.Polygon([(0.5, 2), (2, 0.5), (3.5, 2), (2, 3.5)])
    assert areas[12].equals(diamond)
    assert areas[12].area == pytest.approx(4.5)
    buffered = service_areas(g, [12], 1.5, method="buffer", buffer=0.1)
    assert buffered[12].contains(shapely.Point(2, 2))
    # reach ends on row 2 at x = 0.5 and 3.5; the block corner (0.5, 0.5) is off every road within reach
    assert buffered[12].covers(shapely.MultiPoint([(0.5, 2), (3.5, 2), (2, 0.5), (3, 2.5)]))
    assert not buffered[12].contains(shapely.Point(0.5, 0.5))
    assert buffered[12].area < diamond.buffer(0.1).area


def test_service_areas_for_sites_and_directed() -> None:
    g = city_grid(4, 4, arterial_every=0)
    sites = CandidateSites(["x", "y"], [0, 15])
    areas = service_areas(g, sites, 1.0)
    assert set(areas) == {"x", "y"}
    assert areas["x"].equals(shapely.Polygon([(0, 0), (1, 0), (0, 1)]))
    one_way = RoadNetwork.from_arrays([0, 1], [1, 2], [1.0, 1.0], directed=True, coords=[[0, 0], [1, 0], [2, 0]])
    # drivers reach node 2 from everywhere, node 0 only from itself
    assert service_areas(one_way, [2], 5.0)[2].equals(shapely.LineString([(0, 0), (2, 0)]))
    assert service_areas(one_way, [0], 5.0)[0].equals(shapely.Point(0, 0))
    with pytest.raises(InvalidInputError) as e:
        service_areas(g, [0], -1.0)
    assert e.value.field == "radius"
    with pytest.raises(InvalidInputError) as e:
        service_areas(g, [0], 1.0, method="voronoi")
    assert e.value.field == "method"


def test_service_areas_to_geojson_roundtrip() -> None:
    g = city_grid(4, 4, arterial_every=0)
    areas = service_areas(g, CandidateSites(["x"], [5]), 1.0)
    gj = roundtrip(service_areas_to_geojson(areas, properties={"x": {"radius_km": 1.0}}))
    f = gj["features"][0]
    assert f["properties"] == {"site": "x", "radius_km": 1.0}
    assert shapely.geometry.shape(f["geometry"]).equals(areas["x"])


def test_write_geojson_atomic(tmp_path: Path) -> None:
    g = city_grid(3, 3)
    path = tmp_path / "net.geojson"
    out = write_geojson(network_to_geojson(g), path, indent=1)
    assert out == path
    assert json.loads(path.read_text()) == roundtrip(network_to_geojson(g))
    before = path.read_text()
    with pytest.raises(InvalidInputError) as e:
        write_geojson({"type": "FeatureCollection", "features": [], "bad": float("nan")}, path)
    assert e.value.field == "obj"
    assert path.read_text() == before  # untouched on failure
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.geojson"]  # no temporary files left


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 40), st.integers(0, 10_000))
def test_network_geojson_roundtrips_through_shapely(n: int, seed: int) -> None:
    g = random_geometric(n, seed=seed)
    assert g.coords is not None
    gj = roundtrip(network_to_geojson(g))
    feats = gj["features"]
    assert isinstance(feats, list) and len(feats) == g.n_edges + g.n_nodes
    lines = [shapely.geometry.shape(f["geometry"]) for f in feats[: g.n_edges]]
    np.testing.assert_allclose(shapely.length(np.asarray(lines)), g.lengths)  # Euclidean lengths
    pts = shapely.geometry.shape(
        {"type": "MultiPoint", "coordinates": [f["geometry"]["coordinates"] for f in feats[g.n_edges :]]}
    )
    np.testing.assert_array_equal(shapely.get_coordinates(pts), g.coords)
    labels = [f["properties"]["label"] for f in feats[g.n_edges :]]
    assert labels == list(g.labels)
