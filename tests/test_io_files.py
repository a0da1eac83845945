"""Own-data inputs: units, file readers, snapping, sites, demand and table tariffs."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from swapnet import RoadNetwork
from swapnet.errors import FileFormatError, InvalidInputError
from swapnet.io.demand_files import read_demand
from swapnet.io.graphs import UnitWarning, haversine_m, read_network
from swapnet.io.sites import read_sites, snap_points
from swapnet.tariff import TouTariff

OSM = Path("/work/shared/data/osm")
AGS = OSM / "aguascalientes.osm.bz2"
needs_osm = pytest.mark.skipif(not AGS.is_file(), reason="OSM extract not available")


def lonlat_grid(n: int = 5, step_deg: float = 0.001, unit_m: bool = True, **graph: object) -> nx.Graph:
    """An n x n lon/lat street grid near Aguascalientes; lengths are the true metres (or km)."""
    G: nx.Graph = nx.Graph(**graph)
    for i in range(n):
        for j in range(n):
            G.add_node((i, j), x=-102.3 + i * step_deg, y=21.88 + j * step_deg)
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                a, b = (i, j), (i + di, j + dj)
                if b in G:
                    d = float(haversine_m(G.nodes[a]["x"], G.nodes[a]["y"], G.nodes[b]["x"], G.nodes[b]["y"]))
                    G.add_edge(a, b, length=d if unit_m else d / 1000)
    return G


# ------------------------------------------------------------------ units
def test_plain_graph_needs_a_unit() -> None:
    G = lonlat_grid()
    with pytest.raises(InvalidInputError, match="length_unit"):
        RoadNetwork.from_networkx(G)
    net = RoadNetwork.from_networkx(G, length_unit="m")
    assert net.length_unit == "km"
    assert np.median(net.lengths) == pytest.approx(0.1, rel=0.1)  # ~100 m edges, in km


def test_osmnx_graph_with_crs_says_metres_and_lonlat() -> None:
    net = RoadNetwork.from_networkx(lonlat_grid(crs="epsg:4326"))
    assert net.coord_crs == "lonlat"
    assert 0.09 < float(np.median(net.lengths)) < 0.12


def test_metres_labelled_km_on_lonlat_graph_is_an_error_naming_the_right_unit() -> None:
    with pytest.raises(InvalidInputError, match="probably in 'm'"):
        RoadNetwork.from_networkx(lonlat_grid(crs="epsg:4326"), length_unit="km")
    with pytest.raises(InvalidInputError, match="probably in 'km'"):
        RoadNetwork.from_networkx(lonlat_grid(unit_m=False, crs="epsg:4326"))  # the crs says metres: wrong here
    assert RoadNetwork.from_networkx(lonlat_grid(unit_m=False, crs="epsg:4326"), length_unit="km").n_nodes == 25


def test_implausible_median_without_coordinates_warns() -> None:
    G = nx.path_graph(20)
    nx.set_edge_attributes(G, 400.0, "length")  # 400 "km" per street edge
    with pytest.warns(UnitWarning, match="median edge"):
        RoadNetwork.from_networkx(G, length_unit="mi")
    net = RoadNetwork.from_networkx(G, length_unit="m")
    assert net.lengths[0] == pytest.approx(0.4)


def test_unit_and_scale_exclusive_and_unknown_unit() -> None:
    G = nx.path_graph(3)
    nx.set_edge_attributes(G, 1.0, "length")
    with pytest.raises(InvalidInputError, match="not both"):
        RoadNetwork.from_networkx(G, length_unit="m", scale=0.001)
    with pytest.raises(InvalidInputError, match="length_unit"):
        RoadNetwork.from_networkx(G, length_unit="feet")
    assert RoadNetwork.from_networkx(G, length_unit="mi").lengths[0] == pytest.approx(1.609344)


def test_projected_graph_converted_to_lonlat() -> None:
    pyproj = pytest.importorskip("pyproj")
    G = lonlat_grid()
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32613", always_xy=True)
    for _, d in G.nodes(data=True):
        d["x"], d["y"] = tr.transform(d["x"], d["y"])
    G.graph["crs"] = "EPSG:32613"
    net = RoadNetwork.from_networkx(G)
    assert net.coord_crs == "lonlat"
    assert net.coords is not None and abs(net.coords[0, 0] + 102.3) < 1e-6


# ------------------------------------------------------------------ files
def test_graphml_round_trip(tmp_path: Path) -> None:
    G = lonlat_grid(crs="epsg:4326")
    nx.set_node_attributes(G, {n: str(d["x"]) for n, d in G.nodes(data=True)}, "x")  # OSMnx writes text
    H = nx.relabel_nodes(G, {n: f"{n[0]}-{n[1]}" for n in G.nodes})
    nx.set_edge_attributes(H, {e: str(v) for e, v in nx.get_edge_attributes(H, "length").items()}, "length")
    path = tmp_path / "g.graphml"
    nx.write_graphml(H, path)
    f = read_network(path)
    assert f.format == "graphml" and f.network.n_nodes == 25 and f.network.coord_crs == "lonlat"
    assert f.network.distances(["0-0"], ["4-4"])[0, 0] == pytest.approx(
        RoadNetwork.from_networkx(lonlat_grid(), length_unit="m").distances([(0, 0)], [(4, 4)])[0, 0]
    )
    plain = tmp_path / "plain.graphml"
    nx.write_graphml(nx.path_graph(3), plain)
    with pytest.raises(InvalidInputError, match="length_unit"):
        read_network(plain)


def test_edge_csv_and_tntp_need_units(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text("u,v,length,oneway\na,b,1.5,0\nb,c,2.0,1\n")
    with pytest.raises(InvalidInputError, match="length_unit"):
        read_network(p)
    net = read_network(p, length_unit="mi").network
    assert net.directed
    d = net.distances(["a", "c"], ["c", "a"])
    assert d[0, 0] == pytest.approx(3.5 * 1.609344) and np.isinf(d[1, 1])
    bad = tmp_path / "bad.csv"
    bad.write_text("u,v,length\na,b,xx\n")
    with pytest.raises(FileFormatError, match=r"bad\.csv:2"):
        read_network(bad, length_unit="km")
    t = tmp_path / "x_net.tntp"
    t.write_text(
        "<NUMBER OF ZONES> 1\n<NUMBER OF NODES> 2\n<FIRST THRU NODE> 1\n<NUMBER OF LINKS> 2\n<END OF METADATA>\n"
        "~ init term cap length fft b power speed toll type ;\n"
        "1 2 1 3 1 0 4 0 0 1 ;\n2 1 1 3 1 0 4 0 0 1 ;\n"
    )
    with pytest.raises(InvalidInputError, match="length_unit"):
        read_network(t)
    assert read_network(t, length_unit="mi").network.lengths[0] == pytest.approx(3 * 1.609344)
    with pytest.raises(InvalidInputError, match="unknown network file"):
        read_network(_touch(tmp_path / "n.shp"))


def _touch(p: Path) -> Path:
    p.write_text("")
    return p


@needs_osm
def test_osm_xml_reader_on_aguascalientes() -> None:
    f = read_network(AGS)
    net = f.network
    assert f.osm and f.attribution == "© OpenStreetMap contributors"
    assert net.directed and net.coord_crs == "lonlat"
    # the README's OSMnx figures are 1,010 nodes and 59 strongly connected components
    assert 800 <= net.n_nodes <= 1100 and f.components > 10
    assert 0.02 < float(np.median(net.lengths)) < 0.2  # city blocks, km
    big = read_network(AGS, largest_component=True)
    assert big.network.is_connected()
    assert big.network.n_nodes + len(big.dropped_nodes) == net.n_nodes
    with pytest.raises(InvalidInputError, match="computed in metres"):
        read_network(AGS, length_unit="km")


def test_osm_xml_small_file(tmp_path: Path) -> None:
    p = tmp_path / "t.osm"
    p.write_text(
        "<osm>"
        '<node id="1" lon="0.000" lat="0.0"/><node id="2" lon="0.001" lat="0.0"/>'
        '<node id="3" lon="0.002" lat="0.0"/><node id="4" lon="0.001" lat="0.001"/>'
        '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>'
        '<way id="11"><nd ref="2"/><nd ref="4"/><tag k="highway" v="primary"/><tag k="oneway" v="yes"/></way>'
        '<way id="12"><nd ref="3"/><nd ref="4"/><tag k="highway" v="footway"/></way>'
        "</osm>"
    )
    net = read_network(p).network
    assert set(net.labels) == {1, 2, 3, 4}
    d = net.distances([2, 4], [4, 2])
    assert d[0, 0] == pytest.approx(0.1106, rel=0.01)  # 0.001 deg of latitude
    assert np.isinf(d[1, 1])  # one-way, and the footway carries no cars


# ------------------------------------------------------------------ snapping and sites
def small_net() -> RoadNetwork:
    return RoadNetwork.from_networkx(lonlat_grid(crs="epsg:4326"))


def test_snap_distances_and_limit() -> None:
    net = small_net()
    s = snap_points(net, [-102.3, -102.2983], [21.88, 21.8807], ids=["a", "b"])
    assert s.nodes == ((0, 0), (2, 1))
    assert s.distance_m[0] == pytest.approx(0.0, abs=1e-6)
    assert s.distance_m[1] == pytest.approx(float(haversine_m(-102.2983, 21.8807, -102.298, 21.881)), rel=1e-6)
    with pytest.raises(InvalidInputError, match="'far'"):
        snap_points(net, [-102.3, -102.2], [21.88, 21.88], ids=["ok", "far"])


def test_swapped_and_projected_coordinates_are_detected() -> None:
    net = small_net()
    with pytest.raises(InvalidInputError, match="swapped"):
        snap_points(net, [21.88, 21.881], [-102.3, -102.299], ids=["a", "b"])
    with pytest.raises(InvalidInputError, match="projected"):
        snap_points(net, [779000.0], [2422000.0], ids=["utm"])
    planar = RoadNetwork.from_edges([(0, 1, 1.0), (1, 2, 1.0)], coords={0: (0, 0), 1: (1, 0), 2: (2, 0)})
    with pytest.raises(InvalidInputError, match="look like lon/lat"):
        snap_points(planar, [-102.3], [21.88], ids=["s"])
    assert snap_points(planar, [1.1], [0.2]).distance_m[0] == pytest.approx(np.hypot(100, 200))


def test_read_sites_csv_and_geojson(tmp_path: Path) -> None:
    net = small_net()
    p = tmp_path / "stores.csv"
    p.write_text(
        "id,name,lon,lat,fixed_cost,grid_kw,max_batteries,existing\n"
        "s1,Centro,-102.3,21.88,100,250,,true\n"
        "s2,,-102.2965,21.8815,,,20,0\n"
    )
    f = read_sites(p, net, fixed_cost=7.0)
    assert f.sites.labels == ("s1", "s2") and f.existing == ("s1",)
    assert f.names == {"s1": "Centro", "s2": "s2"}
    assert f.sites.fixed_cost.tolist() == [100.0, 7.0]
    assert f.sites.grid_kw[0] == 250.0 and np.isinf(f.sites.grid_kw[1])
    assert f.sites.max_batteries[1] == 20.0
    assert list(f.snap.columns) == ["site", "name", "node", "distance_m", "existing"]
    g = tmp_path / "stores.geojson"
    g.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-102.3, 21.88]},
                     "properties": {"id": "a", "name": "A"}},
                ],
            }
        )
    )  # fmt: skip
    assert read_sites(g, net).sites.nodes == ((0, 0),)
    far = tmp_path / "far.csv"
    far.write_text("id,lon,lat\nx,-102.3,21.88\ny,-102.0,21.88\n")
    with pytest.raises(InvalidInputError, match="'y'"):
        read_sites(far, net)
    dup = tmp_path / "dup.csv"
    dup.write_text("id,lon,lat\nx,-102.3,21.88\nx,-102.3,21.88\n")
    with pytest.raises(InvalidInputError, match="unique"):
        read_sites(dup, net)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,lon,lat,existing\nx,-102.3,21.88,maybe\n")
    with pytest.raises(InvalidInputError, match="existing"):
        read_sites(bad, net)


def test_read_demand_points_and_zones(tmp_path: Path) -> None:
    net = small_net()
    p = tmp_path / "d.csv"
    p.write_text("lon,lat,vehicles,segment\n-102.3,21.88,304,private\n-102.3,21.88,30.4,taxi\n-102.296,21.884,0,\n")
    f = read_demand(p, net)
    assert f.kind == "points" and f.demand.nodes == ((0, 0), (4, 4))
    assert f.demand.daily[0] == pytest.approx(304 * 4.5 / 30.4 + 30.4 * 37 / 30.4)
    assert dict(f.vehicles) == {"private": 304.0, "taxi": 30.4}
    q = tmp_path / "s.csv"
    q.write_text("x,y,swaps_per_day\n-102.3,21.88,5\n")
    assert read_demand(q, net).demand.total == pytest.approx(5.0)
    z = tmp_path / "z.geojson"
    square = [
        [-102.3005, 21.8795],
        [-102.2985, 21.8795],
        [-102.2985, 21.8815],
        [-102.3005, 21.8815],
        [-102.3005, 21.8795],
    ]
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [square]}}
    feature["properties"] = {"population": 1000}
    z.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(InvalidInputError, match="vehicles_per_person"):
        read_demand(z, net)
    zf = read_demand(z, net, vehicles_per_person=0.1)
    assert zf.kind == "zones" and len(zf.demand) == 4  # the 2 x 2 nodes inside the square
    assert zf.demand.total == pytest.approx(100 * 4.5 / 30.4)
    none = tmp_path / "n.csv"
    none.write_text("lon,lat\n-102.3,21.88\n")
    with pytest.raises(InvalidInputError, match="swaps_per_day"):
        read_demand(none, net)


# ------------------------------------------------------------------ table tariffs
def test_table_tariff_by_hour_and_by_period(tmp_path: Path) -> None:
    t = TouTariff.from_table({h: 0.3 if h < 8 else 0.9 for h in range(24)}, demand_charge_cny_per_kw_month=20)
    assert t.prices[0] == 0.3 and t.prices[12] == 0.9 and t.demand_charge_cny_per_kw_month == 20
    p = tmp_path / "t.csv"
    p.write_text("period,price,start,end\nvalley,0.2,22,6\npeak,1.1,6,22\n")
    t2 = TouTariff.read_csv(p)
    assert t2.prices[23] == 0.2 and t2.prices[6] == 1.1 and t2.periods[0] == "valley"
    with pytest.raises(InvalidInputError, match="hours without a price"):
        TouTariff.from_table({0: 0.1})
    with pytest.raises(InvalidInputError, match="given twice"):
        TouTariff.from_table(pd.DataFrame({"hour": [0, 0], "price": [1, 2]}))


# ------------------------------------------------------------------ service areas in metres
def test_lonlat_service_area_buffer_is_metres_on_the_ground() -> None:
    import math

    from swapnet.geo import service_areas

    net = small_net()
    area = service_areas(net, [(2, 2)], 0.0, method="buffer", buffer_m=100.0)[(2, 2)]
    x0, y0, x1, y1 = area.bounds
    lat = 21.882
    assert (x1 - x0) * 111_195 * math.cos(math.radians(lat)) == pytest.approx(200.0, rel=0.02)
    assert (y1 - y0) * 111_195 == pytest.approx(200.0, rel=0.02)
    default = service_areas(net, [(2, 2)], 0.5, method="buffer")[(2, 2)]  # radius/10 = 50 m buffer
    assert default.bounds[3] - default.bounds[1] < 0.02  # not degrees: a 0.05-degree buffer would be 11 km
    with pytest.raises(InvalidInputError, match="buffer_m"):
        service_areas(net, [(2, 2)], 0.5, method="buffer", buffer=0.001)


def test_projected_graphml_and_stores_in_its_crs(tmp_path: Path) -> None:
    pyproj = pytest.importorskip("pyproj")
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32613", always_xy=True)
    G = lonlat_grid()
    H = nx.Graph(crs="EPSG:32613")
    for n, d in G.nodes(data=True):
        x, y = tr.transform(d["x"], d["y"])
        H.add_node(f"{n[0]}-{n[1]}", x=x, y=y)
    for a, b, d in G.edges(data=True):
        H.add_edge(f"{a[0]}-{a[1]}", f"{b[0]}-{b[1]}", length=d["length"])
    path = tmp_path / "utm.graphml"
    nx.write_graphml(H, path)
    f = read_network(path)
    assert f.crs == "EPSG:32613" and f.network.coord_crs == "lonlat"
    x, y = tr.transform(-102.298, 21.881)
    stores = tmp_path / "s.csv"
    stores.write_text(f"id,x,y\na,{x + 20:.2f},{y:.2f}\n")
    with pytest.raises(InvalidInputError, match="projected"):
        read_sites(stores, f.network)  # UTM metres read as lon/lat: caught
    s = read_sites(stores, f.network, crs=f.crs)
    assert s.sites.nodes == ("2-1",) and s.snap["distance_m"].iloc[0] == pytest.approx(20.0, abs=0.5)
