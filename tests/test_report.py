"""Reports from plans a Python user has: files, exports, figures, sanity flags and the HTML in a real browser."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from swapnet.assets import BatteryPack, CandidateSites, StationDesign
from swapnet.demand import FleetSegment, NodeDemand
from swapnet.economics import BaaSPlan, OperatorCase, PlanUsers, UserSegment
from swapnet.network import RoadNetwork
from swapnet.operations import plan_operations, stations_from_plan
from swapnet.optim import SolveOptions
from swapnet.report import ReportInputs, axis_labels, distinct_colours, plot_map, sanity_flags, write_report
from swapnet.report.figures import _closed_steps
from swapnet.siting import p_median
from swapnet.synthetic import city_demand, city_grid
from swapnet.tariff import TouTariff

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def lonlat_city() -> tuple[RoadNetwork, NodeDemand, CandidateSites]:
    """A 6 x 6 lon/lat street grid (110 m blocks) with demand and 8 candidate stores."""
    import networkx as nx

    G = nx.grid_2d_graph(6, 6)
    H = nx.Graph(crs="epsg:4326")
    for i, j in G.nodes:
        H.add_node(f"n{i}{j}", x=-102.30 + 0.00107 * i, y=21.88 + 0.001 * j)
    for (a, b), (c, d) in G.edges:
        H.add_edge(f"n{a}{b}", f"n{c}{d}", length=110.0)
    net = RoadNetwork.from_networkx(H)
    w = city_demand(net, total_swaps_per_day=1.0, seed=3)
    demand = NodeDemand.from_segments(net, [FleetSegment.private(3000)], weights=w.as_dict())
    nodes = ["n00", "n05", "n22", "n33", "n50", "n55", "n14", "n41"]
    sites = CandidateSites([f"S{k}" for k in range(8)], nodes, 1.0)
    return net, demand, sites


def report_inputs(with_ops: bool = True) -> ReportInputs:
    net, demand, sites = lonlat_city()
    plan = p_median(net, None, 3, demand=demand, candidates=sites).verify()
    ops = None
    design = StationDesign.choco_swap()
    if with_ops:
        from swapnet.operations import demand_at_stations

        node_of = dict(zip(sites.labels, sites.nodes, strict=True))
        nodes = [node_of[s] for s in plan.sites]
        ops = plan_operations(
            stations_from_plan(plan, design, nodes=nodes),
            demand_at_stations(plan, demand, nodes=nodes),
            TouTariff.guangdong(),
            periods=24,
            pack=BatteryPack.catl_25_lfp(),
            options=SolveOptions(time_limit=5, mip_gap=0.05),
        ).verify()
    names = {f"S{k}": f"Store <{k}> & Co" for k in range(8)}
    return ReportInputs(
        network=net,
        siting=plan,
        demand=demand,
        sites=sites,
        design=design,
        operations=ops,
        names=names,
        attribution="© OpenStreetMap contributors",
        title="test report",
    )


def test_write_report_from_python_plans(tmp_path: Path) -> None:
    inp = report_inputs()
    files = write_report(inp, tmp_path)
    names = {f.name for f in files}
    assert files[0].name == "report.md"
    assert {"report.html", "map.png", "operations.png", "stations.csv", "stations.geojson", "siting.csv"} <= names
    st = pd.read_csv(tmp_path / "stations.csv")
    assert list(st.columns[:6]) == ["site", "name", "node", "lon", "lat", "crs"]
    assert set(st["crs"]) == {"EPSG:4326"} and st["name"].str.startswith("Store").all()
    assert (st["batteries"] == StationDesign.choco_swap().batteries).all()
    assert ((st["lon"] > -102.31) & (st["lon"] < -102.29)).all()
    gj = json.loads((tmp_path / "stations.geojson").read_text(encoding="utf-8"))
    assert gj["crs"] == "EPSG:4326" and len(gj["features"]) == 3
    f0 = gj["features"][0]
    assert f0["geometry"]["type"] == "Point" and "batteries" in f0["properties"] and "name" in f0["properties"]
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "© OpenStreetMap contributors" in md and "![" in md
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.count('class="station"') == 3
    assert "Store &lt;" in html and "<0>" not in html  # names are escaped
    assert "data:image/png;base64," in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_report_without_later_stages_and_planar_network(tmp_path: Path) -> None:
    net = city_grid(5, 5, spacing_km=1.0, seed=0)
    demand = NodeDemand(list(net.labels), np.ones(net.n_nodes))
    plan = p_median(net, None, 2, demand=demand, candidates=list(net.labels)).verify()
    files = write_report(ReportInputs(network=net, siting=plan, demand=demand), tmp_path, html=False)
    assert {f.name for f in files} >= {"report.md", "map.png", "stations.csv"}
    st = pd.read_csv(tmp_path / "stations.csv")
    assert {"x", "y"} <= set(st.columns) and st["crs"].iloc[0] == "planar (km)"
    assert not (tmp_path / "report.html").exists()


def test_spreadsheet_export_or_clear_skip(tmp_path: Path) -> None:
    files = write_report(report_inputs(with_ops=False), tmp_path, html=False, spreadsheet=True)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    if importlib.util.find_spec("openpyxl") is None:
        assert "spreadsheet skipped: openpyxl is not installed" in md
        assert not (tmp_path / "report.xlsx").exists()
    else:
        assert tmp_path / "report.xlsx" in files


def test_distinct_colours_axis_units_and_last_period() -> None:
    for n in (5, 20, 21, 300):
        c = distinct_colours(n)
        assert len(c) == n == len(set(c))
    net, _, _ = lonlat_city()
    assert axis_labels(net) == ("longitude (degrees)", "latitude (degrees)")
    assert axis_labels(city_grid(3, 3)) == ("x (km)", "y (km)")
    x, y = _closed_steps(np.arange(24.0), np.arange(24.0), 24.0)
    assert x[-1] == 24.0 and y[-1] == 23.0  # the 23-24 h period is drawn


def test_map_legend_sits_outside_the_data() -> None:
    fig = plot_map(report_inputs(with_ops=False))
    fig.canvas.draw()
    ax = fig.axes[0]
    leg = ax.get_legend()
    assert leg is not None
    assert leg.get_window_extent().x0 >= ax.get_window_extent().x1
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_sanity_flags() -> None:
    inp = report_inputs(with_ops=False)
    user = UserSegment.private()
    rich = OperatorCase(
        stations=1,
        capex_per_station_cny=10_000.0,
        batteries_per_station=1,
        pack_cost_cny=1_000.0,
        opex_per_station_cny_per_year=0.0,
        users=(PlanUsers(BaaSPlan.choco_swap_unlimited(), user, 500.0),),
    )
    from dataclasses import replace

    found = {f.metric: f for f in sanity_flags(replace(inp, operator=rich))}
    assert set(found) >= {"operator IRR", "payback (years)"}
    assert found["operator IRR"].value > 0.5 and found["operator IRR"].shown.endswith("%")
    assert found["payback (years)"].value < 1.0
    assert sanity_flags(inp) == []


def test_report_does_not_import_the_study() -> None:
    import ast

    import swapnet.report

    pkg = Path(swapnet.report.__file__).parent
    imported: set[str] = set()
    for f in pkg.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
    assert "swapnet.siting" in imported  # the walk sees the real imports
    assert not [m for m in imported if m.startswith("swapnet.study")]


def _dump_dom(html: Path) -> str:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
            "--virtual-time-budget=5000", "--dump-dom", html.as_uri(),
        ]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")
def test_html_report_in_headless_chromium(tmp_path: Path) -> None:
    write_report(report_inputs(), tmp_path)
    page = tmp_path / "report.html"
    dom = _dump_dom(page)
    assert 'data-map-ready="1"' in dom  # the map script ran to its end
    assert 'data-stations="3"' in dom
    assert not re.search(r"<html[^>]*data-js-error", dom)
    assert '<pre id="js-errors"></pre>' in dom
    assert dom.count('class="station"') == 3
    # the markers got their on-screen radius from the script (r="1" is the placeholder)
    radii = [float(r) for r in re.findall(r'class="station"[^>]*? r="([0-9.e+-]+)"', dom)]
    assert len(radii) == 3 and all(r != 1.0 for r in radii)
    # a click on a station opens its popup with the store's name and size
    clicked = tmp_path / "clicked.html"
    click = (
        "<script>document.querySelector('circle.station')"
        ".dispatchEvent(new MouseEvent('click',{bubbles:true}));</script>"
    )
    clicked.write_text(page.read_text(encoding="utf-8").replace("</body>", click + "</body>"), encoding="utf-8")
    pop = re.search(r'<div id="popup"([^>]*)>(.*?)</div>', _dump_dom(clicked), re.S)
    assert pop is not None and "hidden" not in pop.group(1)
    assert "Store &lt;" in pop.group(2) and "batteries" in pop.group(2) and "lon" in pop.group(2)
    # the opt-in tile layer adds Web Mercator tiles of the view and credits OSM, without script errors
    tiles = tmp_path / "tiles.html"
    on = (
        "<script>var t=document.getElementById('tiles-on');t.checked=true;t.dispatchEvent(new Event('change'));"
        "document.body.setAttribute('data-tiles',String(document.querySelectorAll('#tiles image').length));</script>"
    )
    tiles.write_text(page.read_text(encoding="utf-8").replace("</body>", on + "</body>"), encoding="utf-8")
    tdom = _dump_dom(tiles)
    assert not re.search(r"<html[^>]*data-js-error", tdom)
    if 'data-tiles="0"' not in tdom:  # the browser thinks it is online: tiles near lon -102.3, lat 21.88
        z, x, y = (int(v) for v in re.findall(r"tile\.openstreetmap\.org/(\d+)/(\d+)/(\d+)\.png", tdom)[0])
        n = 2**z
        assert abs(x - (-102.3 + 180) / 360 * n) < 3
        assert abs(y - (1 - np.arcsinh(np.tan(np.radians(21.88))) / np.pi) / 2 * n) < 3
    # the error capture is real: a broken copy of the page reports its error in the DOM
    broken = tmp_path / "broken.html"
    broken.write_text(page.read_text(encoding="utf-8").replace("</body>", "<script>nosuchfunction();</script></body>"))
    bad = _dump_dom(broken)
    assert re.search(r'<html[^>]*data-js-error="1"', bad) and "nosuchfunction is not defined" in bad
