"""Tests of the CSV dataset loaders (swapnet.io.tables) and of data_dir / load_network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import write  # shared helper (tests/ is on sys.path under pytest)

from swapnet import FileFormatError, InvalidInputError, ODFlows, RoadNetwork
from swapnet.io import (
    DATASETS,
    data_dir,
    irish_node_table,
    korean_node_names,
    load_network,
    parse_dms,
    read_25node,
    read_25node_junex,
    read_dc_ny_bos,
    read_irish_highway,
    read_irish_traffic,
    read_korean_expressway,
)
from swapnet.io import datasets as datasets_module

# ---------------------------------------------------------------- every shipped network loads
FACTS = {
    # name: (nodes, edges, directed, has OD flows, length unit, coordinate crs or None)
    "SiouxFalls": (24, 76, True, True, "unit", "lonlat"),
    "Anaheim": (416, 914, True, True, "km", "lonlat"),
    "Chicago-Sketch": (933, 2950, True, True, "km", "planar"),
    "Berlin-Friedrichshain": (224, 523, True, True, "unknown", "planar"),
    "Eastern-Massachusetts": (74, 258, True, True, "km", None),
    "KoreanExpressway": (324, 441, False, True, "km", "lonlat"),
    "25node": (25, 43, False, False, "unit", "planar"),
    "DC-NY-BOS": (317, 510, False, False, "km", None),
    "IrishHighway": (90, 152, False, True, "km", "lonlat"),
}


def test_facts_cover_every_dataset() -> None:
    assert set(FACTS) == set(DATASETS)


@pytest.mark.parametrize("name", list(FACTS))
def test_every_network_loads(data: Path, name: str) -> None:
    nodes, edges, directed, has_flows, unit, crs = FACTS[name]
    net, flows = load_network(name, root=data)
    assert isinstance(net, RoadNetwork)
    assert (net.n_nodes, net.n_edges, net.directed) == (nodes, edges, directed)
    assert net.length_unit == unit
    if crs is None:
        assert net.coords is None
    else:
        assert net.coords is not None
        assert net.coord_crs == crs
    assert (flows is not None) == has_flows
    if flows is not None:
        assert isinstance(flows, ODFlows)
        assert len(flows) > 0
        flows.check(net)  # every OD endpoint is a node
        assert bool((flows.volumes > 0).all())
        assert not any(o == d for o, d in zip(flows.origins, flows.destinations, strict=True))


def test_load_network_name_forms_and_errors(data: Path) -> None:
    a, _ = load_network("chicago_sketch", root=data)
    b, _ = load_network("Chicago-Sketch", root=data)
    assert a.n_edges == b.n_edges
    with pytest.raises(InvalidInputError, match="unknown dataset"):
        load_network("Atlantis", root=data)
    with pytest.raises(InvalidInputError, match="not an option"):
        load_network("DC-NY-BOS", root=data, directed=True)
    with pytest.raises(InvalidInputError, match="variant"):
        load_network("25node", root=data, variant="other")


# ---------------------------------------------------------------- data_dir
def test_data_dir_finds_shared_data(data: Path) -> None:
    assert data.name == "networks"
    assert (data / "SiouxFalls" / "SiouxFalls_net.tntp").is_file()


def test_data_dir_env_var(data: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SWAPNET_DATA", str(data.parent))  # shared/data
    assert data_dir() == data.resolve()
    monkeypatch.setenv("SWAPNET_DATA", str(data))  # shared/data/networks
    assert data_dir() == data.resolve()
    monkeypatch.setenv("SWAPNET_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(InvalidInputError, match="SWAPNET_DATA"):
        data_dir()


def test_data_dir_walks_up_from_cwd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "shared" / "data" / "networks").mkdir(parents=True)
    (tmp_path / "clone" / "tests").mkdir(parents=True)
    monkeypatch.delenv("SWAPNET_DATA", raising=False)
    monkeypatch.chdir(tmp_path / "clone" / "tests")
    assert data_dir() == (tmp_path / "shared" / "data" / "networks").resolve()


def test_data_dir_not_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SWAPNET_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets_module, "__file__", str(tmp_path / "pkg" / "datasets.py"))
    with pytest.raises(InvalidInputError, match="SWAPNET_DATA"):
        data_dir()


# ---------------------------------------------------------------- Korean expressway
def test_korean_expressway(data: Path) -> None:
    folder = data / "KoreanExpressway"
    net, flows = read_korean_expressway(folder)
    assert net.labels == tuple(range(1, 325))
    assert net.coords is not None
    lon, lat = net.coords[:, 0], net.coords[:, 1]
    assert bool(((lon > 124) & (lon < 132) & (lat > 33) & (lat < 39)).all())
    assert net.coords[0].tolist() == [128.8958127, 35.16407146]  # node.csv: lat 35.16, lon 128.90
    # the 324x324 matrix without its diagonal
    assert flows.total == 962_506_430 - 1_399_102
    directed, _ = read_korean_expressway(folder / "2011", directed=True)
    assert (directed.n_edges, directed.directed) == (882, True)
    np.testing.assert_allclose(directed.distances(), net.distances())
    names = korean_node_names(folder)
    assert len(names) == 324
    assert names[1] == "가락"


def test_korean_variants_and_errors(tmp_path: Path) -> None:
    node = ["Name,Latitude,Longitude,Object-ID,Easting,Northing", "가,35.0,128.0,1,0,0", "나,36.0,129.0,2,0,0"]
    arcs = ["OID,From_Name,To_Name,From_No,To_No,Revised Distance", "1,가,나,1,2,5.3"]
    twoway = ["Node_ID,From_Name,To_Name,From_No,To_No,Revised Distance", "1,가,나,1,2,5.3", "2,나,가,2,1,5.3"]
    demand = ["0,7", "3,0"]
    results = []
    for k, (newline, bom) in enumerate([("\n", False), ("\r", True), ("\r\n", True)]):
        d = tmp_path / f"v{k}" / "2011"
        write(d / "node.csv", node, newline=newline, bom=bom)
        write(d / "arc_oneway.csv", arcs, newline=newline, bom=bom)
        write(d / "arc_twoway.csv", twoway, newline=newline, bom=bom)
        write(d / "demand_matrix.csv", demand, newline=newline, bom=bom)
        net, flows = read_korean_expressway(d.parent)
        results.append((net.lengths.tolist(), net.coords.tolist() if net.coords is not None else None, flows.total))
        assert korean_node_names(d) == {1: "가", 2: "나"}
    assert results[0] == results[1] == results[2] == ([5.3], [[128.0, 35.0], [129.0, 36.0]], 10.0)
    d = tmp_path / "bad" / "2011"
    write(d / "node.csv", node, newline="\r", bom=True)
    write(d / "arc_oneway.csv", [*arcs, "2,나,다,2,3,1.0"], newline="\r", bom=True)
    write(d / "demand_matrix.csv", demand, newline="\r", bom=True)
    with pytest.raises(FileFormatError, match="To_No 3 is not a known node") as exc:
        read_korean_expressway(d)
    assert exc.value.line == 3
    assert "arc_oneway.csv:3" in str(exc.value)
    write(d / "arc_oneway.csv", arcs, newline="\r", bom=True)
    write(d / "demand_matrix.csv", ["0,7", "3,x"], newline="\r", bom=True)
    with pytest.raises(FileFormatError, match="demand 'x' is not a number") as exc:
        read_korean_expressway(d)
    assert exc.value.line == 2
    write(d / "demand_matrix.csv", ["0,7"], newline="\r", bom=True)
    with pytest.raises(FileFormatError, match="1 rows, expected 2"):
        read_korean_expressway(d)
    with pytest.raises(InvalidInputError, match=r"node\.csv"):
        read_korean_expressway(tmp_path)


# ---------------------------------------------------------------- 25-node network
def test_25node_copies_agree(data: Path) -> None:
    net, weights = read_25node(data / "25node")
    assert (net.n_nodes, net.n_edges) == (25, 43)
    assert weights[4] == 50.0
    assert sum(weights.values()) == 1018.0
    jnet, jweights, jflows = read_25node_junex(data / "25node")
    assert jweights[4] == 32.0
    assert sum(jweights.values()) == 1000.0
    np.testing.assert_array_equal(jnet.distances(), net.distances())
    # the JuneX2000 OD table is the gravity model W_i W_j / d_ij^1.5 with its own weights
    i = jnet.index_of(jflows.origins)
    j = jnet.index_of(jflows.destinations)
    dij = jnet.distances()[i, j]
    assert jnet.labels == tuple(range(1, 26))
    w = np.array([jweights[k] for k in range(1, 26)])
    np.testing.assert_allclose(jflows.volumes, w[i] * w[j] / dij**1.5, rtol=1e-6)
    assert len(jflows) == 25 * 24


def test_25node_optboy_format_errors(tmp_path: Path) -> None:
    write(tmp_path / "NODES.txt", ["1\t5\t0.0\t0.0", "2\t7\t1.0\t0.0"])
    write(tmp_path / "ARCS.txt", ["1\t4\t1\t2"], newline="\r\n")
    net, w = read_25node(tmp_path)
    assert net.lengths.tolist() == [4.0]
    assert w == {1: 5.0, 2: 7.0}
    write(tmp_path / "ARCS.txt", ["1\t4\t1\t2", "2\tfour\t2\t1"], newline="\r")
    with pytest.raises(FileFormatError, match="length 'four'") as exc:
        read_25node(tmp_path)
    assert exc.value.line == 2


# ---------------------------------------------------------------- DC-NY-BOS
def test_dc_ny_bos(data: Path) -> None:
    net, pop = read_dc_ny_bos(data / "DC-NY-BOS")
    assert (net.n_nodes, net.n_edges, net.directed) == (317, 510, False)
    assert len(pop) == 123
    assert pop[1] == 382818.0
    miles, _ = read_dc_ny_bos(data / "DC-NY-BOS", unit="mile")
    assert miles.length_unit == "mi"
    np.testing.assert_allclose(miles.lengths * 1.609344, net.lengths, rtol=0.01, atol=0.01)
    assert net.is_connected()
    with pytest.raises(InvalidInputError, match="unit"):
        read_dc_ny_bos(data / "DC-NY-BOS", unit="furlong")


def test_dc_ny_bos_format(tmp_path: Path) -> None:
    head = "A_Node,B_Node,Length (km),Length (mile),Link_ID"
    links = [head, "1,2,17.74,11.02,1", "2,1,17.74,11.02,1", "2,3,5.0,3.1,2", "3,2,5.0,3.1,2"]
    pops = ["Node_ID,Population", "1,100", "3,50"]
    for newline, bom in (("\r\n", False), ("\r", True), ("\n", True)):
        write(tmp_path / "DC_BOS_NY Network.csv", links, newline=newline, bom=bom)
        write(tmp_path / "Network demand nodes.csv", pops, newline=newline, bom=bom)
        net, pop = read_dc_ny_bos(tmp_path)
        assert net.lengths.tolist() == [17.74, 5.0]
        assert pop == {1: 100.0, 3: 50.0}
    write(tmp_path / "DC_BOS_NY Network.csv", [*links[:4], "3,2,5.5,3.1,2"], newline="\r\n")
    with pytest.raises(FileFormatError, match="Link_ID 2 disagrees") as exc:
        read_dc_ny_bos(tmp_path)
    assert exc.value.line == 5
    write(tmp_path / "DC_BOS_NY Network.csv", [*links[:2], "", "2,3,5.0,3.1,2", "2,3,?,3.1,3"], newline="\r")
    with pytest.raises(FileFormatError, match="Length \\(km\\) '\\?' is not a number") as exc:
        read_dc_ny_bos(tmp_path)
    assert exc.value.line == 5  # blank lines still count
    write(tmp_path / "DC_BOS_NY Network.csv", links, newline="\n")
    write(tmp_path / "Network demand nodes.csv", [*pops, "9,1"])
    with pytest.raises(FileFormatError, match="Node_ID 9 is not a known node") as exc:
        read_dc_ny_bos(tmp_path)
    assert exc.value.line == 4
    write(tmp_path / "DC_BOS_NY Network.csv", ["A_Node,B_Node,Length (mile),Link_ID", "1,2,3.0,1"])
    with pytest.raises(FileFormatError, match="no column 'Length \\(km\\)'") as exc:
        read_dc_ny_bos(tmp_path)
    assert exc.value.line == 1


# ---------------------------------------------------------------- Irish highway
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("54°57'01\"N", 54 + 57 / 60 + 1 / 3600),
        ("8°21'30\"W", -(8 + 21 / 60 + 30 / 3600)),
        ("10°01'14\"W", -(10 + 1 / 60 + 14 / 3600)),
        ("33°52'S", -(33 + 52 / 60)),
        ("151°12′30″E", 151 + 12 / 60 + 30 / 3600),
        (" 12.5 ", 12.5),
    ],
)
def test_parse_dms(text: str, value: float) -> None:
    assert parse_dms(text) == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("text", ["54°57'01\"", "north", "54°61'00\"N", "54°57'61\"N", ""])
def test_parse_dms_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_dms(text)


def test_irish_highway(data: Path) -> None:
    net, pop = read_irish_highway(data / "IrishHighway")
    assert (net.n_nodes, net.n_edges, net.directed) == (90, 152, False)
    assert net.coord_crs == "lonlat"
    assert net.coords is not None
    assert net.coords[0].tolist() == pytest.approx([-(8 + 21 / 60 + 30 / 3600), 54 + 57 / 60 + 1 / 3600])
    assert pop[37] == 1_263_219.0  # Dublin
    assert pop[51] == 4726.0 + 795.0  # "4726+795"
    assert pop[44] == 0.0  # "/"
    table = irish_node_table(data / "IrishHighway")
    assert list(table.columns) == ["node", "lon", "lat", "settlement", "population", "classification"]
    assert table.loc[table.node == 37, "settlement"].item() == "Dublin"
    assert set(table.classification) == {"Center", "Connection"}
    flows = read_irish_traffic(data / "IrishHighway")
    centres = set(table.node[table.classification == "Center"])
    assert set(flows.origins) <= centres
    assert len(set(flows.origins)) == 60
    flows.check(net)


def test_irish_format_errors(tmp_path: Path) -> None:
    nodes = [
        "Nodes,Latitude,Longtitude,Degree,Settlement,Population,Classification",
        '1,"54°57\'01""N","8°21\'30""W",1,A,10,Center',
        '2,"54°56\'56""N","7°42\'56""W",1,B,/,Connection',
    ]
    links = ["Origin,Destination, Edge Length (km)", "1,2,79.1 ", "2,1,79.1"]
    write(tmp_path / "Irish_Highway_Nodes.csv", nodes, newline="\r\n", bom=True)
    write(tmp_path / "Irish_Highway_Links.csv", links, newline="\r\n", bom=True)
    net, pop = read_irish_highway(tmp_path)
    assert (net.n_edges, net.lengths.tolist(), pop) == (1, [79.1], {1: 10.0, 2: 0.0})
    bad = [*nodes[:2], '2,"54°56\'56""N","7°42\'56""X",1,B,/,Connection']
    write(tmp_path / "Irish_Highway_Nodes.csv", bad, newline="\r", bom=True)
    with pytest.raises(FileFormatError, match="degree-minute-second") as exc:
        read_irish_highway(tmp_path)
    assert exc.value.line == 3
    bad = [*nodes[:2], '2,"54°56\'56""N","7°42\'56""W",1,B,many,Connection']
    write(tmp_path / "Irish_Highway_Nodes.csv", bad)
    with pytest.raises(FileFormatError, match="population 'many'") as exc:
        read_irish_highway(tmp_path)
    assert exc.value.line == 3


def test_irish_traffic_bad_workbook(tmp_path: Path) -> None:
    (tmp_path / "Irish_Highway_Traffic_Flow.xlsx").write_bytes(b"not a zip")
    with pytest.raises(FileFormatError, match="xlsx"):
        read_irish_traffic(tmp_path)
