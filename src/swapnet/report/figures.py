"""Report figures (PNG, matplotlib): the network map, charging against the price, plans, OD flows.

Rules every figure follows: a distinct colour per station however many there are
(:func:`distinct_colours`), legends outside the plotting area, every period of a
time series drawn (the last one included), and axes that name their unit
(degrees, km, mi).
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from swapnet.network import RoadNetwork
from swapnet.report._files import atomic_write
from swapnet.report.inputs import ReportInputs, served_mask

__all__ = ["axis_labels", "distinct_colours", "plot_map"]

_TAB20 = (
    *("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"),
    *("#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7"),
    *("#dbdb8d", "#9edae5"),
)


def distinct_colours(n: int) -> list[str]:
    """``n`` different colours as ``#rrggbb``: tab20 for up to 20, then golden-angle hues.

    Beyond 20 the hue steps by the golden angle (so neighbours in the list differ
    strongly) and lightness and saturation cycle through three levels; colours
    are unique (a repeat is replaced by a nudged hue).
    """
    if n <= len(_TAB20):
        return list(_TAB20[:n])
    out: list[str] = []
    seen: set[str] = set()
    k = 0
    while len(out) < n:
        h = (k * 0.618033988749895) % 1.0
        light = (0.42, 0.58, 0.34)[k % 3]
        sat = (0.75, 0.55, 0.9)[(k // 3) % 3]
        r, g, b = colorsys.hls_to_rgb(h, light, sat)
        c = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
        k += 1
        if c in seen:
            continue
        seen.add(c)
        out.append(c)
    return out


def axis_labels(net: RoadNetwork) -> tuple[str, str]:
    """Axis labels naming the coordinates' unit: degrees for lon/lat, else the network's length unit."""
    if net.coord_crs == "lonlat":
        return "longitude (degrees)", "latitude (degrees)"
    if net.length_unit in ("m", "km", "mi"):
        return f"x ({net.length_unit})", f"y ({net.length_unit})"
    return "x (coordinates of the source file)", "y (coordinates of the source file)"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> Path:
    """Save ``fig`` as PNG atomically and close it."""
    plt = _pyplot()
    try:
        atomic_write(path, lambda p: fig.savefig(p, dpi=100, format="png", bbox_inches="tight"))
    finally:
        plt.close(fig)
    return path


def _legend_outside(ax: Any) -> None:
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8, frameon=False)


def _aspect(ax: Any, net: RoadNetwork, xy: np.ndarray[Any, Any]) -> None:
    if net.coord_crs == "lonlat":
        ax.set_aspect(1.0 / max(math.cos(math.radians(float(np.mean(xy[:, 1])))), 0.2))
    else:
        ax.set_aspect("equal")


def _base_map(net: RoadNetwork, colour: str, ax: Any = None) -> tuple[Any, Any, np.ndarray[Any, Any] | None]:
    plt = _pyplot()
    from matplotlib.collections import LineCollection

    if ax is None:
        fig, ax = plt.subplots(figsize=(8.5, 7))
    else:
        fig = ax.figure
    if net.coords is None:
        ax.text(0.5, 0.5, "network has no coordinates", ha="center", va="center", transform=ax.transAxes)
        return fig, ax, None
    xy = np.asarray(net.coords, dtype=np.float64)
    segs = np.stack([xy[net.tails], xy[net.heads]], axis=1)
    ax.add_collection(LineCollection(list(segs), colors=colour, linewidths=0.5, zorder=1))
    return fig, ax, xy


def plot_map(inputs: ReportInputs, path: str | Path | None = None, *, ax: Any = None) -> Any:
    """Map of the network, the demand coloured by the station serving it, unserved demand and the stations.

    Parameters
    ----------
    inputs
        What to draw (network, siting plan, optionally demand and candidate sites).
    path
        When given, the figure is written there as PNG and closed.
    ax
        Draw into these matplotlib axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (closed when ``path`` is given).
    """
    net = inputs.network
    fig, ax, xy = _base_map(net, "0.85", ax)
    if xy is not None:
        nodes, daily, colour = served_mask(inputs)
        site_nodes = inputs.site_nodes()
        cols = distinct_colours(len(site_nodes))
        if nodes:
            idx = net.index_of(nodes)
            size = 4.0 + 60.0 * daily / max(float(daily.max(initial=0.0)), 1e-9)
            un = colour < 0
            if un.any():
                ax.scatter(xy[idx[un], 0], xy[idx[un], 1], s=size[un], c="0.35", marker="x", zorder=2,
                           label=f"unserved demand ({daily[un].sum():,.0f} swaps/day)")  # fmt: skip
            if (~un).any():
                ax.scatter(xy[idx[~un], 0], xy[idx[~un], 1], s=size[~un], c=[cols[c] for c in colour[~un]],
                           alpha=0.7, zorder=2, label="demand (colour: its station)")  # fmt: skip
        if inputs.sites is not None:
            cand = net.index_of(list(inputs.sites.nodes))
            ax.scatter(xy[cand, 0], xy[cand, 1], s=18, facecolors="none", edgecolors="k", linewidths=0.6, zorder=3,
                       label="candidate site")  # fmt: skip
        st = net.index_of(list(site_nodes)) if site_nodes else np.zeros(0, dtype=np.int64)
        if st.size:
            ax.scatter(xy[st, 0], xy[st, 1], s=110, c=cols, marker="*", edgecolors="k", linewidths=0.8, zorder=4,
                       label="station")  # fmt: skip
        _aspect(ax, net, xy)
        ax.autoscale()
        xl, yl = axis_labels(net)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title(f"{st.size} stations ({inputs.siting.model}) and their service areas")
        if inputs.attribution:
            ax.text(1.0, -0.09, inputs.attribution, transform=ax.transAxes, ha="right", va="top", fontsize=7)
        _legend_outside(ax)
    if path is not None:
        save_figure(fig, Path(path))
    return fig


def _closed_steps(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], end: float) -> tuple[Any, Any]:
    """Step data with the last period drawn to its end (``where="post"`` stops at the last start otherwise)."""
    if x.size == 0:
        return x, y
    return np.append(x, end), np.append(y, y[-1])


def operations_figure(inputs: ReportInputs, path: Path) -> Path:
    """Network charging power and charged inventory over the day against the tariff price."""
    plt = _pyplot()
    ops = inputs.operations
    assert ops is not None
    sch = ops.schedule
    hours = np.sort(sch["hour"].unique()).astype(np.float64)
    step = float(np.min(np.diff(hours))) if hours.size > 1 else 1.0
    end = float(hours[-1] + step) if hours.size else 24.0
    kw = sch.groupby("hour")["charging_kw"].sum().reindex(hours).to_numpy(dtype=np.float64)
    price = sch.groupby("hour")["price"].first().reindex(hours).to_numpy(dtype=np.float64)
    charged = sch.groupby("hour")["charged"].sum().reindex(hours).to_numpy(dtype=np.float64)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    ax1.step(*_closed_steps(hours, kw, end), where="post", color="tab:blue", label="planned charging power")
    sim = inputs.simulation
    if sim is not None and len(sim.timeseries):
        ts = sim.timeseries
        days = max(sim.days, 1)
        sk = ts.groupby("hour")["charging_kw"].sum() / days
        sx = sk.index.to_numpy(dtype=np.float64)
        sstep = float(np.min(np.diff(sx))) if sx.size > 1 else 1.0
        ax1.step(*_closed_steps(sx, sk.to_numpy(dtype=np.float64), float(sx[-1] + sstep)), where="post",
                 color="tab:cyan", linestyle="--", label="simulated charging power")  # fmt: skip
        sc = ts.groupby("hour")["charged"].sum() / days
        ax2.step(*_closed_steps(sx, sc.to_numpy(dtype=np.float64), float(sx[-1] + sstep)), where="post",
                 color="tab:olive", linestyle="--", label="simulated (mean)")  # fmt: skip
    ax1.set_ylabel("network charging power (kW)")
    axp = ax1.twinx()
    axp.step(*_closed_steps(hours, price, end), where="post", color="tab:red", label="price (right axis)")
    axp.set_ylabel("price (CNY/kWh)", color="tab:red")
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = axp.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, loc="upper left", bbox_to_anchor=(1.1, 1.0), fontsize=8, frameon=False)
    ax1.set_title("Charging against the time-of-use price")
    ax2.step(*_closed_steps(hours, charged, end), where="post", color="tab:green", label="planned (end of period)")
    ax2.set_ylabel("charged packs, all stations")
    ax2.set_xlabel("hour of day")
    _legend_outside(ax2)
    ax2.set_xlim(0, max(24.0, end))
    return save_figure(fig, path)


def plans_figure(tab: Any, path: Path) -> Path:
    """Monthly user cost by BaaS plan and segment (bars)."""
    plt = _pyplot()
    tab = tab.set_index("plan")
    cols = [c for c in tab.columns if str(c).startswith("monthly[")]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    n_plans = len(tab.index)
    width = 0.8 / max(n_plans, 1)
    x = np.arange(len(cols), dtype=np.float64)
    colours = distinct_colours(n_plans)
    for k, plan in enumerate(tab.index):
        vals = tab.loc[plan, cols].to_numpy(dtype=np.float64)
        ax.bar(x + (k - (n_plans - 1) / 2) * width, vals, width, label=str(plan), color=colours[k])
    ax.set_xticks(x)
    ax.set_xticklabels([str(c)[len("monthly[") : -1] for c in cols])
    ax.set_ylabel("user cost (CNY per month)")
    ax.set_title("BaaS plans by segment")
    _legend_outside(ax)
    return save_figure(fig, path)


def _edge_volumes(paths: Sequence[Any], volumes: Any) -> dict[tuple[int, int], float]:
    out: dict[tuple[int, int], float] = {}
    for p_, v in zip(paths, np.asarray(volumes, dtype=np.float64).tolist(), strict=True):
        p = np.asarray(p_, dtype=np.int64)
        if p.size < 2 or v <= 0:
            continue
        a, b = np.minimum(p[:-1], p[1:]), np.maximum(p[:-1], p[1:])
        for key in zip(a.tolist(), b.tolist(), strict=True):
            out[key] = out.get(key, 0.0) + v
    return out


def flow_map(inputs: ReportInputs, path: Path) -> Path:
    """Offered and refuelled EV trips per link, the stations and their daily swaps (OD studies)."""
    from matplotlib.collections import LineCollection

    net = inputs.network
    tr = inputs.trips
    assert tr is not None
    fig, ax, xy = _base_map(net, "0.8")
    if xy is None:
        return save_figure(fig, path)
    flows = tr.flows
    paths = [net.index_of(p) for p in net.shortest_paths(flows.origins, flows.destinations)]
    covered = inputs.siting.assignment["covered"].to_numpy(dtype=bool)
    vol = np.asarray(flows.volumes, dtype=np.float64)
    offered = _edge_volumes(paths, vol)
    refuelled = _edge_volumes(paths, np.where(covered, vol, 0.0))
    top = max(offered.values(), default=1.0)

    def draw(vols: dict[tuple[int, int], float], colour: str, label: str, z: int) -> None:
        if vols:
            keys = list(vols)
            lines = [np.stack([xy[a], xy[b]]) for a, b in keys]
            widths = [0.5 + 7.0 * vols[k] / top for k in keys]
            ax.add_collection(LineCollection(lines, colors=colour, linewidths=widths, zorder=z, label=label))

    draw(offered, "tab:orange", "offered EV trips (width)", 2)
    draw(refuelled, "tab:blue", "refuelled EV trips (width)", 3)
    st = net.index_of(list(inputs.site_nodes()))
    swaps = tr.station_swaps["swaps_per_day"].to_numpy(dtype=np.float64)
    size = 60.0 + 340.0 * swaps / max(float(swaps.max(initial=0.0)), 1e-9)
    ax.scatter(xy[st, 0], xy[st, 1], s=size, c="gold", marker="*", edgecolors="k", linewidths=0.8, zorder=4,
               label="station (size: swaps/day)")  # fmt: skip
    for k in range(len(st)):
        ax.annotate(f"{swaps[k]:,.0f}", xy[st[k]], textcoords="offset points", xytext=(6, 6), fontsize=7, zorder=5)
    _aspect(ax, net, xy)
    ax.autoscale()
    xl, yl = axis_labels(net)
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    share = tr.refuelled_trips_per_day / max(tr.trips_per_day, 1e-300)
    ax.set_title(f"{len(st)} stations ({inputs.siting.model}) refuel {share:.0%} of {tr.trips_per_day:,.0f} trips/day")
    _legend_outside(ax)
    return save_figure(fig, path)


def trip_lengths_figure(inputs: ReportInputs, path: Path) -> Path:
    """Offered and refuelled EV trips per day by trip length (OD studies)."""
    plt = _pyplot()
    tr = inputs.trips
    assert tr is not None
    L = np.asarray(tr.lengths, dtype=np.float64)
    vol = np.asarray(tr.flows.volumes, dtype=np.float64)
    covered = inputs.siting.assignment["covered"].to_numpy(dtype=bool)
    edges = np.histogram_bin_edges(L, bins=min(20, max(len(np.unique(L)), 1)))
    off, _ = np.histogram(L, bins=edges, weights=vol)
    ref, _ = np.histogram(L[covered], bins=edges, weights=vol[covered])
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = np.diff(edges)
    ax.bar(edges[:-1], off, width, align="edge", color="tab:orange", alpha=0.6, label="offered")
    ax.bar(edges[:-1], ref, width, align="edge", color="tab:blue", alpha=0.8, label="refuelled")
    r = inputs.range_km
    if r is not None:
        for x, lab in ((r / 2, "R/2"), (r, "R")):
            if x <= edges[-1]:
                ax.axvline(x, color="k", linestyle=":", linewidth=1)
                ax.text(x, ax.get_ylim()[1] * 0.95, f" {lab}", fontsize=8, va="top")
    unit = inputs.network.length_unit if inputs.network.length_unit in ("m", "km", "mi") else "network length units"
    ax.set_xlabel(f"trip length ({unit})")
    ax.set_ylabel("EV trips per day")
    ax.set_title("Which trips the stations refuel")
    _legend_outside(ax)
    return save_figure(fig, path)
