"""Tests of the TNTP readers and writers (swapnet.io.tntp) and of load_network on the TNTP datasets."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from conftest import write  # shared helper (tests/ is on sys.path under pytest)
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import FileFormatError, InvalidInputError, ODFlows, RoadNetwork
from swapnet.io import (
    load_network,
    read_tntp_flow,
    read_tntp_network,
    read_tntp_nodes,
    read_tntp_trips,
    write_tntp_network,
    write_tntp_trips,
)

# ---------------------------------------------------------------- a small hand-made network
NET = [
    "<NUMBER OF ZONES> 2",
    "<NUMBER OF NODES> 4",
    "<FIRST THRU NODE> 1",
    "<NUMBER OF LINKS> 5",
    "<ORIGINAL HEADER>~ \tInit node \tTerm node \t;",
    "<END OF METADATA>\t\t\t",
    "",
    "",
    "~\tinit_node\tterm_node\tcapacity\tlength\tfree_flow_time\tb\tpower\tspeed\ttoll\tlink_type\t;",
    "\t1\t2\t100\t1.5\t3\t0.15\t4\t0\t0\t1\t;",
    "\t2\t1\t100\t1.5\t3\t0.15\t4\t0\t0\t1\t;  ",
    " 2   3  100  2.0  4  0.15  4  0  0  1 ;",
    "\t3\t4\t100\t0\t0\t0.15\t4\t0\t0\t1\t;",
    "\t4\t1\t100\t7.25\t9\t0.15\t4\t0\t0\t1\t;",
]
NODES = ["Node \tX \tY \t;", "1 \t0.5 \t \t1.0 \t \t;", "2\t1.5\t2.0\t;", "3\t2.5\t3.0\t;", "4\t3.5\t4.0\t;"]
TRIPS = [
    "<NUMBER OF ZONES> 3",
    "<TOTAL OD FLOW> 21.5",
    "<END OF METADATA>",
    "",
    "~ a comment",
    "Origin \t1 ",
    "    1 :      0.0;     2 :    10.0;     3 :    2.5; ",
    "",
    "Origin 2",
    "1 \t: \t4.0; \t3 \t: \t5.0; \t",
    "2 : 0.0;",
    "Origin   3",
    "    3 :      0.0;",
]


def test_small_network(tmp_path: Path) -> None:
    net = read_tntp_network(write(tmp_path / "x_net.tntp", NET), write(tmp_path / "x_node.tntp", NODES))
    assert isinstance(net, RoadNetwork)
    assert net.directed
    assert net.labels == (1, 2, 3, 4)
    assert net.name == "x"
    assert net.length_unit == "unknown"
    assert net.no_through is None
    assert net.tails.tolist() == [0, 1, 1, 2, 3]
    assert net.heads.tolist() == [1, 0, 2, 3, 0]
    assert net.lengths.tolist() == [1.5, 1.5, 2.0, 0.0, 7.25]
    assert net.coords is not None
    assert net.coords.tolist() == [[0.5, 1.0], [1.5, 2.0], [2.5, 3.0], [3.5, 4.0]]
    ff = read_tntp_network(tmp_path / "x_net.tntp", length="free_flow_time", scale=2.0, length_unit="min")
    assert ff.lengths.tolist() == [6.0, 6.0, 8.0, 0.0, 18.0]
    assert ff.length_unit == "min"
    assert ff.coords is None


def test_isolated_nodes_are_kept(tmp_path: Path) -> None:
    lines = [ln.replace("<NUMBER OF NODES> 4", "<NUMBER OF NODES> 6") for ln in NET]
    net = read_tntp_network(write(tmp_path / "n.tntp", lines))
    assert net.labels == (1, 2, 3, 4, 5, 6)
    assert np.isinf(net.distances([1], [6])[0, 0])


def test_bad_arguments(tmp_path: Path) -> None:
    p = write(tmp_path / "n.tntp", NET)
    with pytest.raises(InvalidInputError, match="length"):
        read_tntp_network(p, length="capacity")
    with pytest.raises(InvalidInputError, match="scale"):
        read_tntp_network(p, scale=0.0)


def test_small_trips(tmp_path: Path) -> None:
    p = write(tmp_path / "t.tntp", TRIPS)
    f = read_tntp_trips(p)
    assert isinstance(f, ODFlows)
    assert list(zip(f.origins, f.destinations, f.volumes.tolist(), strict=True)) == [
        (1, 2, 10.0),
        (1, 3, 2.5),
        (2, 1, 4.0),
        (2, 3, 5.0),
    ]
    assert all(type(x) is int for x in f.origins + f.destinations)
    every = read_tntp_trips(p, drop_zero=False, drop_diagonal=False)
    assert len(every) == 7
    assert every.total == 21.5
    assert len(read_tntp_trips(p, drop_zero=False)) == 4 + 0  # zeros here are all diagonal
    assert len(read_tntp_trips(p, drop_diagonal=False)) == 4


@pytest.mark.parametrize(
    ("newline", "bom"), [("\n", False), ("\r\n", False), ("\r", False), ("\n", True), ("\r\n", True), ("\r", True)]
)
def test_line_endings_and_bom_parse_identically(tmp_path: Path, newline: str, bom: bool) -> None:
    ref_net = read_tntp_network(write(tmp_path / "a_net.tntp", NET), write(tmp_path / "a_node.tntp", NODES))
    ref_trips = read_tntp_trips(write(tmp_path / "a_trips.tntp", TRIPS), drop_zero=False)
    net = read_tntp_network(
        write(tmp_path / "b_net.tntp", NET, newline=newline, bom=bom),
        write(tmp_path / "b_node.tntp", NODES, newline=newline, bom=bom),
    )
    trips = read_tntp_trips(write(tmp_path / "b_trips.tntp", TRIPS, newline=newline, bom=bom), drop_zero=False)
    for attr in ("tails", "heads", "lengths", "coords"):
        np.testing.assert_array_equal(getattr(net, attr), getattr(ref_net, attr))
    assert net.labels == ref_net.labels
    assert trips.origins == ref_trips.origins
    assert trips.destinations == ref_trips.destinations
    np.testing.assert_array_equal(trips.volumes, ref_trips.volumes)


def test_line_numbers_survive_cr_line_endings(tmp_path: Path) -> None:
    lines = list(NET)
    lines[11] = " 2   3  100  two  4  0.15  4  0  0  1 ;"
    for newline in ("\n", "\r", "\r\n"):
        p = write(tmp_path / "bad_net.tntp", lines, newline=newline, bom=True)
        with pytest.raises(FileFormatError) as exc:
            read_tntp_network(p)
        assert exc.value.line == 12
        assert "bad_net.tntp:12" in str(exc.value)


# ---------------------------------------------------------------- first-through-node rule
def shortcut_net(first_thru: int) -> list[str]:
    # 2 -> 1 -> 3 costs 2, the direct 2 -> 3 costs 10: the short way passes through zone 1.
    return [
        "<NUMBER OF ZONES> 1",
        "<NUMBER OF NODES> 3",
        f"<FIRST THRU NODE> {first_thru}",
        "<NUMBER OF LINKS> 4",
        "<END OF METADATA>",
        "~ init term cap length fft",
        "2 1 0 1 1 ;",
        "1 3 0 1 1 ;",
        "2 3 0 10 10 ;",
        "3 2 0 10 10 ;",
    ]


def test_first_thru_node_rule_blocks_paths_through_zones(tmp_path: Path) -> None:
    free = read_tntp_network(write(tmp_path / "free.tntp", shortcut_net(1)))
    zoned = read_tntp_network(write(tmp_path / "zoned.tntp", shortcut_net(2)))
    assert free.no_through is None
    assert zoned.no_through is not None
    assert zoned.no_through.tolist() == [True, False, False]
    assert free.distances([2], [3])[0, 0] == 2.0
    assert zoned.distances([2], [3])[0, 0] == 10.0  # may not pass through zone 1
    assert zoned.shortest_paths([2], [3]) == [(2, 3)]
    # ... but zone 1 may still start and end paths
    assert zoned.distances([1], [3])[0, 0] == 1.0
    assert zoned.distances([2], [1])[0, 0] == 1.0
    assert zoned.distances([3], [1])[0, 0] == 11.0


# ---------------------------------------------------------------- malformed files
def expect_error(path: Path, line: int | None, match: str, *, trips: bool = False) -> FileFormatError:
    with pytest.raises(FileFormatError, match=match) as exc:
        if trips:
            read_tntp_trips(path)
        else:
            read_tntp_network(path)
    assert exc.value.line == line
    assert path.name in str(exc.value)
    if line is not None:
        assert f"{path.name}:{line}:" in str(exc.value)
    return exc.value


def test_bad_number_in_link(tmp_path: Path) -> None:
    lines = list(NET)
    lines[12] = "\t3\t4\t100\t1,5\t0\t0.15\t4\t0\t0\t1\t;"
    expect_error(write(tmp_path / "bad_number_net.tntp", lines), 13, "length '1,5' is not a number")


def test_bad_node_id(tmp_path: Path) -> None:
    lines = list(NET)
    lines[10] = "\t2.0\t1\t100\t1.5\t3\t0.15\t4\t0\t0\t1\t;"
    expect_error(write(tmp_path / "bad_id.tntp", lines), 11, "init_node '2.0' is not an integer")


def test_too_few_links(tmp_path: Path) -> None:
    lines = NET[:-1]  # header says 5
    expect_error(write(tmp_path / "few.tntp", lines), 4, "declares 5 links but the file has 4")


def test_too_many_links(tmp_path: Path) -> None:
    lines = [*NET, "\t4\t2\t100\t1\t1\t0.15\t4\t0\t0\t1\t;"]
    expect_error(write(tmp_path / "many.tntp", lines), 15, "more links than the 5 declared")


def test_node_out_of_range(tmp_path: Path) -> None:
    lines = list(NET)
    lines[13] = "\t4\t5\t100\t7.25\t9\t0.15\t4\t0\t0\t1\t;"
    expect_error(write(tmp_path / "range.tntp", lines), 14, r"node 5 outside 1\.\.4")


def test_self_loop_and_negative_length(tmp_path: Path) -> None:
    lines = list(NET)
    lines[13] = "\t4\t4\t100\t7.25\t9\t0.15\t4\t0\t0\t1\t;"
    expect_error(write(tmp_path / "loop.tntp", lines), 14, "self-loop at node 4")
    lines = list(NET)
    lines[9] = "\t1\t2\t100\t-1.5\t3\t0.15\t4\t0\t0\t1\t;"
    expect_error(write(tmp_path / "neg.tntp", lines), 10, "negative length")


def test_short_row_and_header_problems(tmp_path: Path) -> None:
    lines = list(NET)
    lines[9] = "\t1\t2\t100\t;"
    expect_error(write(tmp_path / "short.tntp", lines), 10, "at least 4 fields")
    expect_error(write(tmp_path / "noend.tntp", NET[:5]), None, "END OF METADATA")
    expect_error(write(tmp_path / "nonodes.tntp", [NET[0], *NET[2:]]), None, "missing <NUMBER OF NODES>")
    lines = list(NET)
    lines[3] = "<NUMBER OF LINKS> five"
    expect_error(write(tmp_path / "five.tntp", lines), 4, "NUMBER OF LINKS")


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "latin1.tntp"
    p.write_bytes("\n".join(NET[:6]).encode() + b"\n\n~ caf\xe9\n")
    expect_error(p, 8, "not UTF-8")


def test_node_file_problems(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match=r"no coordinates for nodes \[4\]"):
        read_tntp_nodes(write(tmp_path / "a.tntp", NODES[:-1]), 4)
    with pytest.raises(FileFormatError, match="listed twice") as exc:
        read_tntp_nodes(write(tmp_path / "b.tntp", [*NODES, "2\t9\t9\t;"]), 4)
    assert exc.value.line == 6
    with pytest.raises(FileFormatError, match="x coordinate 'east'") as exc:
        read_tntp_nodes(write(tmp_path / "c.tntp", [*NODES[:3], "3\teast\t3.0\t;", NODES[4]]), 4)
    assert exc.value.line == 4


def test_truncated_trip_item(tmp_path: Path) -> None:
    lines = list(TRIPS)
    lines[9] = "1 \t: \t4.0; \t3 \t: \t5.0"  # missing ';'
    expect_error(write(tmp_path / "trunc.tntp", lines), 10, "malformed OD item '3 : 5.0'", trips=True)
    lines = list(TRIPS)
    lines[6] = "    1 :      0.0;     2 :  "
    expect_error(write(tmp_path / "trunc2.tntp", lines), 7, "malformed OD item '2 :'", trips=True)


def test_bad_trip_values(tmp_path: Path) -> None:
    lines = list(TRIPS)
    lines[10] = "2 : 0.O;"
    expect_error(write(tmp_path / "val.tntp", lines), 11, "volume '0.O' is not a number", trips=True)
    lines = list(TRIPS)
    lines[12] = "    x3 :      0.0;"
    expect_error(write(tmp_path / "dest.tntp", lines), 13, "destination zone 'x3'", trips=True)
    lines = list(TRIPS)
    lines[10] = "2 : -1.0;"
    expect_error(write(tmp_path / "neg.tntp", lines), 11, "negative volume", trips=True)
    lines = list(TRIPS)
    lines[10] = "4 : 0.0;"
    expect_error(write(tmp_path / "zone.tntp", lines), 11, r"destination zone 4 outside 1\.\.3", trips=True)
    lines = list(TRIPS)
    lines[11] = "Origin 0"
    expect_error(write(tmp_path / "orig.tntp", lines), 12, r"origin zone 0 outside", trips=True)
    lines = list(TRIPS)
    lines[5] = "Origin"
    expect_error(write(tmp_path / "noorig.tntp", lines), 6, "without a zone number", trips=True)
    lines = list(TRIPS)
    lines[4] = "1 : 3.0;"
    expect_error(write(tmp_path / "stray.tntp", lines), 5, "expected 'Origin <zone>'", trips=True)


def test_first_bad_trip_token_is_reported(tmp_path: Path) -> None:
    lines = ["Origin 1", " 2.5 : 1.0;", "Origin x", " 1 : 2;", "Origin 2", " 1 : inf;"]
    expect_error(write(tmp_path / "order.tntp", lines), 2, "destination zone '2.5' is not an integer", trips=True)
    expect_error(write(tmp_path / "order2.tntp", lines[2:]), 1, "origin zone 'x' is not an integer", trips=True)
    expect_error(write(tmp_path / "order3.tntp", lines[4:]), 2, "volume 'inf' is not a finite number", trips=True)
    no_header = ["Origin 1", " 2 : 1.0;", "Origin 2", " -1 : 1.0;"]
    expect_error(write(tmp_path / "neg_zone.tntp", no_header), 4, r"destination zone -1 outside 1\.\.", trips=True)
    padded = ["<NUMBER OF ZONES> 3", "<END OF METADATA>", "Origin 01", " 002 : 1.0;"]
    f = read_tntp_trips(write(tmp_path / "padded.tntp", padded))
    assert (f.origins, f.destinations) == ((1,), (2,))


def test_total_od_flow_is_checked(tmp_path: Path) -> None:
    lines = list(TRIPS)
    lines[1] = "<TOTAL OD FLOW> 21.6"
    expect_error(
        write(tmp_path / "total.tntp", lines), 2, "TOTAL OD FLOW> is 21.6 but the items sum to 21.5", trips=True
    )
    lines[1] = "<TOTAL OD FLOW> 21.500001"  # within the relative 1e-6
    assert read_tntp_trips(write(tmp_path / "total2.tntp", lines)).total == 21.5
    assert read_tntp_trips(write(tmp_path / "nohead.tntp", TRIPS[4:])).total == 21.5


# ---------------------------------------------------------------- writers and round trips
@st.composite
def networks(draw: st.DrawFn) -> RoadNetwork:
    n = draw(st.integers(1, 7))
    m = 0 if n == 1 else draw(st.integers(0, 12))
    tails = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    shifts = draw(st.lists(st.integers(1, max(n - 1, 1)), min_size=m, max_size=m))
    heads = [(t + s) % n for t, s in zip(tails, shifts, strict=True)]
    lengths = draw(st.lists(st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False), min_size=m, max_size=m))
    k = draw(st.integers(0, n))
    coords = None
    if draw(st.booleans()):
        xy = st.floats(-1e7, 1e7, allow_nan=False, allow_infinity=False)
        coords = np.array(draw(st.lists(st.tuples(xy, xy), min_size=n, max_size=n)), dtype=float).reshape(n, 2)
    return RoadNetwork.from_arrays(
        tails,
        heads,
        lengths,
        labels=list(range(1, n + 1)),
        directed=draw(st.booleans()),
        coords=coords,
        no_through=np.arange(n) < k,
    )


@settings(max_examples=30, derandomize=True, deadline=None)
@given(networks())
def test_network_round_trip(net: RoadNetwork) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p, q = Path(tmp) / "r_net.tntp", Path(tmp) / "r_node.tntp"
        write_tntp_network(net, p, q if net.coords is not None else None)
        back = read_tntp_network(p, q if net.coords is not None else None)
    assert back.labels == net.labels
    assert back.directed
    if net.no_through is None:
        assert back.no_through is None
    else:
        assert back.no_through is not None
        np.testing.assert_array_equal(back.no_through, net.no_through)
    if net.coords is None:
        assert back.coords is None
    else:
        np.testing.assert_array_equal(back.coords, net.coords)
    t, h, w = net.tails, net.heads, net.lengths
    if not net.directed:
        t, h, w = np.r_[t, h], np.r_[h, t], np.r_[w, w]
    np.testing.assert_array_equal(back.tails, t)
    np.testing.assert_array_equal(back.heads, h)
    np.testing.assert_array_equal(back.lengths, w)  # written with round-trip precision
    np.testing.assert_allclose(back.distances(), net.distances(), rtol=1e-12)


@st.composite
def flows(draw: st.DrawFn) -> ODFlows:
    z = draw(st.integers(1, 6))
    k = draw(st.integers(0, 15))
    zone = st.integers(1, z)
    o = draw(st.lists(zone, min_size=k, max_size=k))
    d = draw(st.lists(zone, min_size=k, max_size=k))
    v = draw(st.lists(st.floats(0.0, 1e9, allow_nan=False, allow_infinity=False), min_size=k, max_size=k))
    return ODFlows(o, d, v)


@settings(max_examples=30, derandomize=True, deadline=None)
@given(flows(), st.integers(1, 6))
def test_trips_round_trip(f: ODFlows, per_line: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "r_trips.tntp"
        write_tntp_trips(f, p, per_line=per_line)
        back = read_tntp_trips(p, drop_zero=False, drop_diagonal=False)
    order = np.argsort(np.asarray(f.origins, dtype=np.int64), kind="stable")
    assert back.origins == tuple(f.origins[i] for i in order)
    assert back.destinations == tuple(f.destinations[i] for i in order)
    np.testing.assert_array_equal(back.volumes, f.volumes[order])


def test_writer_rejects_non_tntp_labels(tmp_path: Path) -> None:
    net = RoadNetwork.from_edges([("a", "b", 1.0)])
    with pytest.raises(InvalidInputError, match="integer node labels"):
        write_tntp_network(net, tmp_path / "x.tntp")
    gap = RoadNetwork.from_arrays([0], [1], [1.0], labels=[1, 3])
    with pytest.raises(InvalidInputError, match=r"exactly 1\.\.2"):
        write_tntp_network(gap, tmp_path / "x.tntp")
    odd = RoadNetwork.from_arrays([0], [1], [1.0], labels=[1, 2, 3], no_through=[False, True, False])
    with pytest.raises(InvalidInputError, match="no-through"):
        write_tntp_network(odd, tmp_path / "x.tntp")
    with pytest.raises(InvalidInputError, match="no coordinates"):
        write_tntp_network(gap.subnetwork([1]), tmp_path / "x.tntp", tmp_path / "y.tntp")
    with pytest.raises(InvalidInputError, match="positive integer"):
        write_tntp_trips(ODFlows(["a"], [1], [1.0]), tmp_path / "t.tntp")
    with pytest.raises(InvalidInputError, match="zones"):
        write_tntp_trips(ODFlows([1], [5], [1.0]), tmp_path / "t.tntp", zones=3)


# ---------------------------------------------------------------- the shipped TNTP data
def test_sioux_falls(data: Path) -> None:
    d = data / "SiouxFalls"
    net = read_tntp_network(d / "SiouxFalls_net.tntp", d / "SiouxFalls_node.tntp")
    assert net.n_nodes == 24
    assert net.n_edges == 76
    assert net.labels == tuple(range(1, 25))
    assert net.no_through is None  # FIRST THRU NODE 1
    trips = read_tntp_trips(d / "SiouxFalls_trips.tntp")
    assert trips.total == 360_600.0
    assert len(trips) == 528
    assert len(read_tntp_trips(d / "SiouxFalls_trips.tntp", drop_zero=False, drop_diagonal=False)) == 24 * 24


def test_sioux_falls_distances_match_networkx(data: Path) -> None:
    net, _ = load_network("SiouxFalls", root=data)
    G = net.to_networkx()
    ref = dict(nx.all_pairs_dijkstra_path_length(G, weight="length"))
    d = net.distances()
    expected = np.array([[ref[a][b] for b in net.labels] for a in net.labels])
    np.testing.assert_allclose(d, expected, rtol=1e-12)
    assert d[0, 23] == 15.0  # 1-3-12-13-24: 4 + 4 + 3 + 4


def test_sioux_falls_flow_file(data: Path) -> None:
    flow = read_tntp_flow(data / "SiouxFalls" / "SiouxFalls_flow.tntp")
    assert list(flow.columns) == ["from", "to", "volume", "cost"]
    assert len(flow) == 76
    assert flow.iloc[0].tolist() == pytest.approx([1, 2, 4494.6576464564205, 6.0008162373543197])


def test_chicago_sketch(data: Path) -> None:
    d = data / "Chicago-Sketch"
    net = read_tntp_network(d / "ChicagoSketch_net.tntp", d / "ChicagoSketch_node.tntp")
    assert (net.n_nodes, net.n_edges) == (933, 2950)
    assert net.coords is not None
    t0 = time.perf_counter()
    listed = read_tntp_trips(d / "ChicagoSketch_trips.tntp", drop_zero=False, drop_diagonal=False)
    elapsed = time.perf_counter() - t0
    # The README's "142,890 OD entries" counts every listed item, zeros included.
    assert len(listed) == 142_890
    assert listed.total == pytest.approx(1_260_907.44, rel=1e-9)
    assert int((listed.volumes > 0).sum()) == 93_513
    default = read_tntp_trips(d / "ChicagoSketch_trips.tntp")
    assert len(default) == 93_135  # nonzero and off-diagonal
    assert bool((default.volumes > 0).all())
    assert elapsed < 3.0  # typically ~0.2 s; see benchmarks/io_parse.py


TNTP_FACTS = {
    # name: (nodes, links, zones below FIRST THRU NODE, OD total, length unit)
    "SiouxFalls": (24, 76, 0, 360_600.0, "unit"),
    "Anaheim": (416, 914, 38, 104_694.40, "km"),
    "Chicago-Sketch": (933, 2950, 0, 1_260_907.44 - 123_414.0, "km"),
    "Berlin-Friedrichshain": (224, 523, 23, 11_205.1, "unknown"),
    "Eastern-Massachusetts": (74, 258, 0, 65_576.37543099989, "km"),
}


@pytest.mark.parametrize("name", list(TNTP_FACTS))
def test_load_tntp_datasets(data: Path, name: str) -> None:
    nodes, links, zones, total, unit = TNTP_FACTS[name]
    net, trips = load_network(name, root=data)
    assert (net.n_nodes, net.n_edges) == (nodes, links)
    assert net.directed
    assert net.length_unit == unit
    assert int(0 if net.no_through is None else net.no_through.sum()) == zones
    if zones:
        assert net.no_through is not None
        assert net.no_through[:zones].all()
    assert trips is not None
    assert trips.total == pytest.approx(total, rel=1e-9)  # diagonal dropped (only Chicago has any)
    assert bool((net.lengths >= 0).all())


def test_chicago_diagonal_total(data: Path) -> None:
    d = data / "Chicago-Sketch" / "ChicagoSketch_trips.tntp"
    diag = read_tntp_trips(d, drop_diagonal=False).total - read_tntp_trips(d).total
    assert diag > 0  # Chicago lists intra-zonal trips; load_network drops them by default


def test_unit_conversions(data: Path) -> None:
    ana, _ = load_network("Anaheim", root=data)
    assert ana.lengths[0] == pytest.approx(5280 * 0.0003048)  # one mile of feet, in km
    assert ana.coord_crs == "lonlat"
    assert ana.coords is not None
    assert ana.coords[0].tolist() == pytest.approx([-117.880141713707729, 33.871155530597115])
    chi, _ = load_network("Chicago-Sketch", root=data)
    assert chi.lengths[0] == pytest.approx(0.86267 * 1.609344)
    raw, _ = load_network("Chicago-Sketch", root=data, scale=1.0, length_unit="mi")
    assert (raw.lengths[0], raw.length_unit) == (0.86267, "mi")
    fft, _ = load_network("Anaheim", root=data, length="free_flow_time")
    assert (fft.lengths[0], fft.length_unit) == (1.090458488, "min")


def test_berlin_zero_length_links_and_coords(data: Path) -> None:
    net, _ = load_network("Berlin-Friedrichshain", root=data)
    assert int((net.lengths == 0).sum()) > 0
    assert net.coords is not None
    assert net.coords[0].tolist() == [0.974312, 1.85107]
