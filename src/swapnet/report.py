"""Study reports: Markdown tables, CSV files and PNG figures, written atomically.

:func:`write_report` turns a :class:`~swapnet.study.StudyResult` into ``report.md`` with its tables
(siting summary, station sizes, operations costs, simulation KPIs, plan comparison, operator cash
flows), one CSV per table and three figures (network map with stations and service areas,
inventory and charging power against the price, plan comparison). Studies of OD trips (flow siting)
also get a trip table, a map of refuelled trips per link with the stations' daily swaps instead of
service areas, and a histogram of offered and refuelled trips by length. Every file is written to a
temporary file in the output folder first and moved into place with :func:`os.replace`, so a
reader never sees a half-written file.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from swapnet.study import StudyResult

__all__ = ["atomic_write", "markdown_table", "write_report"]

#: Titles of the report's tables, in report order.
TABLE_TITLES: dict[str, str] = {
    "flows": "Trips and refuelling (OD studies; trips per day)",
    "siting": "Siting summary",
    "stations": "Station sizes and one planned day",
    "operations": "Operations costs (one day, CNY)",
    "simulation": "Simulation KPIs (network, mean and 95 % CI half-width)",
    "plans": "Plan comparison (CNY per month, TCO in CNY, break-even km per month)",
    "operator": "Operator business case",
    "cash_flows": "Operator cash flows (CNY per year)",
}


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


_UMASK = _umask()

FIGURES: tuple[str, ...] = ("map.png", "operations.png", "plans.png")
#: Figures of OD (flow-siting) studies.
FLOW_FIGURES: tuple[str, ...] = ("map.png", "flows.png", "operations.png", "plans.png")


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically: ``write`` fills a temporary file in the same folder, then it is renamed.

    Parameters
    ----------
    path
        Final file.
    write
        Called with the temporary file's path.

    Returns
    -------
    Path
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_text(path: Path, text: str) -> Path:
    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    return atomic_write(path, write)


def _write_csv(path: Path, df: pd.DataFrame) -> Path:
    def write(p: Path) -> None:
        df.to_csv(p, index=False)

    return atomic_write(path, write)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if math.isnan(x):
            return "-"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x != 0 and abs(x) < 0.01:
            return f"{x:.2e}"
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:,.3f}".rstrip("0").rstrip(".")
    return str(v).replace("|", "\\|")


def markdown_table(df: pd.DataFrame, *, index: bool = False) -> str:
    """A DataFrame as a GitHub-flavoured Markdown table (numbers rounded for reading).

    Parameters
    ----------
    df
        The table.
    index
        Include the index as the first column.
    """
    frame = df.reset_index() if index else df
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def write_report(result: StudyResult, outdir: Path) -> list[Path]:
    """Write ``report.md``, one CSV per table and the PNG figures into ``outdir``.

    Parameters
    ----------
    result
        A study run's result.
    outdir
        Output folder (created if needed).

    Returns
    -------
    list of Path
        The files written, ``report.md`` first.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for name, df in result.tables.items():
        files.append(_write_csv(outdir / f"{name}.csv", df))
    if result.trips is not None:
        figs = [_flow_map(result, outdir / "map.png"), _trip_lengths(result, outdir / "flows.png")]
    else:
        figs = [_map(result, outdir / "map.png")]
    figs.append(_operations(result, outdir / "operations.png"))
    figs.append(_plans(result, outdir / "plans.png"))
    md = _markdown(result, [f.name for f in figs])
    if result.rollout is not None:  # the multi-year rollout's section and figures (swapnet.siting.rollout.report)
        from swapnet.siting.rollout.report import rollout_markdown, write_figures

        extra = write_figures(result.rollout.plan, result.network, outdir)
        figs += extra
        md += "\n" + rollout_markdown(result.rollout.plan, result.rollout.comparison, [f.name for f in extra])
    report = _write_text(outdir / "report.md", md)
    return [report, *figs, *files]


def _markdown(result: StudyResult, figures: Sequence[str]) -> str:
    s = result.study
    t = result.timings
    if result.trips is not None:
        tr = result.trips
        where = f"{s.network.kind}, {s.network.dataset}" if s.network.dataset else s.network.kind
        source = (
            "the dataset's OD table"
            if s.demand.source == "dataset"
            else f"gravity flows (beta {s.demand.gravity_beta:g})"
        )
        what = (
            f"Network: {result.network.n_nodes:,} nodes ({where}); {tr.trips_per_day:,.0f} swap-seeking EV trips/day "
            f"on {len(tr.flows):,} OD flows from {source} (ev_share {s.demand.ev_share:g}, swap_share "
            f"{s.demand.swap_share:g}); {tr.refuelled_trips_per_day:,.0f} refuelled by the stations, "
            f"{result.demand.total:,.0f} swaps/day; {len(result.sites)} candidate sites; pack {result.pack.name}; "
            f"design {result.design.name}; tariff {result.tariff.name}."
        )
    else:
        what = (
            f"Network: {result.network.n_nodes:,} nodes ({s.network.kind}); demand {result.demand.total:,.0f} "
            f"swaps/day from {', '.join(f'{g.vehicles:,.0f} {g.kind}' for g in s.demand.segments)} vehicles; "
            f"{len(result.sites)} candidate sites; pack {result.pack.name}; design {result.design.name}; "
            f"tariff {result.tariff.name}."
        )
    lines = [
        f"# Study: {s.name}",
        "",
        what,
        "",
        "Stage times (s): " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()) + ".",
        "",
    ]
    for name, title in TABLE_TITLES.items():
        if name in result.tables:
            lines += [f"## {title}", "", markdown_table(result.tables[name]), ""]
    flow_study = result.trips is not None
    captions = {
        "map.png": "Refuelled trips per link and opened stations"
        if flow_study
        else "Network, demand by service area and opened stations",
        "flows.png": "Offered and refuelled trips by trip length",
        "operations.png": "Charged inventory and charging power against the price",
        "plans.png": "Monthly user cost by plan and segment",
    }
    lines += ["## Figures", ""]
    for f in figures:
        lines += [f"![{captions.get(f, f)}]({f})", ""]
    return "\n".join(lines)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    plt = _pyplot()
    try:
        fig.tight_layout()
        atomic_write(path, lambda p: fig.savefig(p, dpi=100, format="png"))
    finally:
        plt.close(fig)
    return path


def _base_map(net: Any, colour: str) -> tuple[Any, Any, np.ndarray[Any, np.dtype[np.float64]] | None]:
    """A figure with the network's links drawn in ``colour``; ``xy`` is ``None`` (and the axes say so)
    when the network has no coordinates."""
    plt = _pyplot()
    from matplotlib.collections import LineCollection

    fig, ax = plt.subplots(figsize=(7.5, 7))
    if net.coords is None:
        ax.text(0.5, 0.5, "network has no coordinates", ha="center", va="center", transform=ax.transAxes)
        return fig, ax, None
    xy = np.asarray(net.coords, dtype=np.float64)
    segs = np.stack([xy[net.tails], xy[net.heads]], axis=1)
    ax.add_collection(LineCollection(list(segs), colors=colour, linewidths=0.5, zorder=1))
    return fig, ax, xy


def _map(result: StudyResult, path: Path) -> Path:
    net = result.network
    fig, ax, xy = _base_map(net, "0.85")
    if xy is None:
        return _save(fig, path)
    # service areas: colour each demand node by its station
    asg = result.siting.assignment
    demand_idx = net.index_of(list(result.demand.nodes))
    daily = np.asarray(result.demand.daily, dtype=np.float64)
    site_pos = {s: k for k, s in enumerate(result.siting.sites)}
    colour = np.full(len(demand_idx), -1, dtype=np.int64)
    if "demand" in asg.columns and "site" in asg.columns:
        node_row = {n: i for i, n in enumerate(result.demand.nodes)}
        for d, site in zip(asg["demand"], asg["site"], strict=True):
            if site is not None and site in site_pos and d in node_row:
                colour[node_row[d]] = site_pos[site]
    size = 4.0 + 60.0 * daily / max(float(daily.max(initial=0.0)), 1e-9)
    un = colour < 0
    ax.scatter(xy[demand_idx[un], 0], xy[demand_idx[un], 1], s=size[un], c="0.6", marker="x", zorder=2,
               label="unserved")  # fmt: skip
    ax.scatter(xy[demand_idx[~un], 0], xy[demand_idx[~un], 1], s=size[~un], c=colour[~un] % 20, cmap="tab20",
               vmin=0, vmax=19, alpha=0.7, zorder=2, label="demand (by station)")  # fmt: skip
    cand = net.index_of(list(result.sites.nodes))
    ax.scatter(xy[cand, 0], xy[cand, 1], s=18, facecolors="none", edgecolors="k", linewidths=0.6, zorder=3,
               label="candidate site")  # fmt: skip
    st = net.index_of(list(result.site_nodes))
    ax.scatter(xy[st, 0], xy[st, 1], s=110, c=np.arange(len(st)) % 20, cmap="tab20", vmin=0, vmax=19,
               marker="*", edgecolors="k", linewidths=0.8, zorder=4, label="station")  # fmt: skip
    ax.set_aspect("equal")
    ax.autoscale()
    ax.set_xlabel("x (km)")
    ax.set_ylabel("y (km)")
    ax.set_title(f"{len(st)} stations and their service areas")
    ax.legend(loc="upper right", fontsize=8)
    return _save(fig, path)


def _operations(result: StudyResult, path: Path) -> Path:
    plt = _pyplot()
    sch = result.operations.schedule
    hours = np.sort(sch["hour"].unique())
    kw = sch.groupby("hour")["charging_kw"].sum().reindex(hours).to_numpy(dtype=np.float64)
    price = sch.groupby("hour")["price"].first().reindex(hours).to_numpy(dtype=np.float64)
    charged = sch.groupby("hour")["charged"].sum().reindex(hours).to_numpy(dtype=np.float64)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    ax1.step(hours, kw, where="post", color="tab:blue", label="planned charging power")
    ts = result.simulation.timeseries
    if len(ts):
        sim_kw = ts.groupby("hour")["charging_kw"].sum() / max(result.simulation.days, 1)
        ax1.step(sim_kw.index.to_numpy(dtype=np.float64), sim_kw.to_numpy(dtype=np.float64), where="post",
                 color="tab:cyan", linestyle="--", label="simulated charging power")  # fmt: skip
        sim_ch = ts.groupby("hour")["charged"].sum() / max(result.simulation.days, 1)
        ax2.step(sim_ch.index.to_numpy(dtype=np.float64), sim_ch.to_numpy(dtype=np.float64), where="post",
                 color="tab:olive", linestyle="--", label="simulated (mean)")  # fmt: skip
    ax1.set_ylabel("network charging power (kW)")
    ax1.legend(loc="upper left", fontsize=8)
    axp = ax1.twinx()
    axp.step(hours, price, where="post", color="tab:red")
    axp.set_ylabel("price (CNY/kWh)", color="tab:red")
    ax1.set_title("Charging against the time-of-use price")
    ax2.step(hours, charged, where="post", color="tab:green", label="planned (end of period)")
    ax2.set_ylabel("charged packs, all stations")
    ax2.set_xlabel("hour of day")
    ax2.legend(loc="upper left", fontsize=8)
    ax2.set_xlim(0, 24)
    return _save(fig, path)


def _plans(result: StudyResult, path: Path) -> Path:
    plt = _pyplot()
    tab = result.tables["plans"].set_index("plan")
    cols = [c for c in tab.columns if str(c).startswith("monthly[")]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    n_plans = len(tab.index)
    width = 0.8 / max(n_plans, 1)
    x = np.arange(len(cols), dtype=np.float64)
    for k, plan in enumerate(tab.index):
        vals = tab.loc[plan, cols].to_numpy(dtype=np.float64)
        ax.bar(x + (k - (n_plans - 1) / 2) * width, vals, width, label=str(plan))
    ax.set_xticks(x)
    ax.set_xticklabels([str(c)[len("monthly[") : -1] for c in cols])
    ax.set_ylabel("user cost (CNY per month)")
    ax.set_title("BaaS plans by segment")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _edge_volumes(net: Any, paths: Sequence[Any], volumes: Any) -> dict[tuple[int, int], float]:
    """Trips per day on each (undirected) link, summed over the flows' node-index paths."""
    out: dict[tuple[int, int], float] = {}
    for path, v in zip(paths, np.asarray(volumes, dtype=np.float64).tolist(), strict=True):
        p = np.asarray(path, dtype=np.int64)
        if p.size < 2 or v <= 0:
            continue
        a, b = np.minimum(p[:-1], p[1:]), np.maximum(p[:-1], p[1:])
        for key in zip(a.tolist(), b.tolist(), strict=True):
            out[key] = out.get(key, 0.0) + v
    return out


def _flow_map(result: StudyResult, path: Path) -> Path:
    """Network with every link's refuelled and offered EV trips, the stations and their daily swaps."""
    from matplotlib.collections import LineCollection

    net = result.network
    tr = result.trips
    assert tr is not None
    fig, ax, xy = _base_map(net, "0.8")
    if xy is None:
        return _save(fig, path)
    flows = tr.flows
    paths = [net.index_of(p) for p in net.shortest_paths(flows.origins, flows.destinations)]
    covered = result.siting.assignment["covered"].to_numpy(dtype=bool)
    vol = np.asarray(flows.volumes, dtype=np.float64)
    offered = _edge_volumes(net, paths, vol)
    refuelled = _edge_volumes(net, paths, np.where(covered, vol, 0.0))
    top = max(offered.values(), default=1.0)

    def draw(vols: dict[tuple[int, int], float], colour: str, label: str, z: int) -> None:
        if not vols:
            return
        keys = list(vols)
        lines = [np.stack([xy[a], xy[b]]) for a, b in keys]
        widths = [0.5 + 7.0 * vols[k] / top for k in keys]
        ax.add_collection(LineCollection(lines, colors=colour, linewidths=widths, zorder=z, label=label))

    draw(offered, "tab:orange", "offered EV trips (width)", 2)
    draw(refuelled, "tab:blue", "refuelled EV trips (width)", 3)
    sw = tr.station_swaps
    st = net.index_of(list(result.site_nodes))
    swaps = sw["swaps_per_day"].to_numpy(dtype=np.float64)
    size = 60.0 + 340.0 * swaps / max(float(swaps.max(initial=0.0)), 1e-9)
    ax.scatter(xy[st, 0], xy[st, 1], s=size, c="gold", marker="*", edgecolors="k", linewidths=0.8, zorder=4,
               label="station (size: swaps/day)")  # fmt: skip
    for k in range(len(st)):
        ax.annotate(f"{swaps[k]:,.0f}", xy[st[k]], textcoords="offset points", xytext=(6, 6), fontsize=7, zorder=5)
    ax.set_aspect("equal" if net.coord_crs != "lonlat" else 1.0 / max(np.cos(np.radians(np.mean(xy[:, 1]))), 0.2))
    ax.autoscale()
    unit = "lon" if net.coord_crs == "lonlat" else "x"
    ax.set_xlabel(unit)
    ax.set_ylabel("lat" if net.coord_crs == "lonlat" else "y")
    share = tr.refuelled_trips_per_day / max(tr.trips_per_day, 1e-300)
    ax.set_title(f"{len(st)} stations ({result.siting.model}) refuel {share:.0%} of {tr.trips_per_day:,.0f} trips/day")
    ax.legend(loc="best", fontsize=8)
    return _save(fig, path)


def _trip_lengths(result: StudyResult, path: Path) -> Path:
    """Offered and refuelled EV trips per day by trip length."""
    plt = _pyplot()
    tr = result.trips
    assert tr is not None
    L = np.asarray(tr.lengths, dtype=np.float64)
    vol = np.asarray(tr.flows.volumes, dtype=np.float64)
    covered = result.siting.assignment["covered"].to_numpy(dtype=bool)
    edges = np.histogram_bin_edges(L, bins=min(20, max(len(np.unique(L)), 1)))
    off, _ = np.histogram(L, bins=edges, weights=vol)
    ref, _ = np.histogram(L[covered], bins=edges, weights=vol[covered])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = np.diff(edges)
    ax.bar(edges[:-1], off, width, align="edge", color="tab:orange", alpha=0.6, label="offered")
    ax.bar(edges[:-1], ref, width, align="edge", color="tab:blue", alpha=0.8, label="refuelled")
    st = result.study.siting
    if st.range_km is not None:
        for x, lab in ((st.range_km / 2, "R/2"), (st.range_km, "R")):
            if x <= edges[-1]:
                ax.axvline(x, color="k", linestyle=":", linewidth=1)
                ax.text(x, ax.get_ylim()[1] * 0.95, f" {lab}", fontsize=8, va="top")
    ax.set_xlabel(f"trip length ({result.network.length_unit})")
    ax.set_ylabel("EV trips per day")
    ax.set_title("Which trips the stations refuel")
    ax.legend(fontsize=8)
    return _save(fig, path)
