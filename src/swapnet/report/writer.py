""":func:`write_report`: Markdown, HTML, CSV, GeoJSON, PNG and (optionally) a spreadsheet, from plans and results."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from swapnet.report._files import _write_csv, _write_text, atomic_write, markdown_table
from swapnet.report.figures import flow_map, operations_figure, plans_figure, plot_map, trip_lengths_figure
from swapnet.report.html import html_report
from swapnet.report.inputs import ReportInputs, SanityFlag, sanity_flags, stations_table

__all__ = ["CAPTIONS", "FIGURES", "FLOW_FIGURES", "TABLE_TITLES", "stations_geojson", "write_report"]

log = logging.getLogger("swapnet.report")

#: Titles of the report's tables, in report order.
TABLE_TITLES: dict[str, str] = {
    "flows": "Trips and refuelling (OD studies; trips per day)",
    "siting": "Siting summary",
    "stations": "Station sizes and one planned day (names, locations, sizes)",
    "operations": "Operations costs (one day, CNY)",
    "simulation": "Simulation KPIs (network, mean and 95 % CI half-width)",
    "plans": "Plan comparison (CNY per month, TCO in CNY, break-even km per month)",
    "operator": "Operator business case",
    "cash_flows": "Operator cash flows (CNY per year)",
    "plan_vs_simulation": "Plan against simulation (swaps per day per station; simulated mean and 95 % interval)",
    "unserved": "Unserved demand (swaps per day, by reason, and how each stage counts it)",
    "reach": "Demand with no candidate site within service_km (swaps per day; where the plan sends it)",
    "service_iterations": "Service-level loop (one row per round)",
    "routing": "Simulation routing",
    "stages": "What stopped each stage",
    "notes": "Conventions and warnings",
}

#: Figures of a full study (the operations and plans figures need those stages).
FIGURES: tuple[str, ...] = ("map.png", "operations.png", "plans.png")
#: Figures of OD (flow-siting) studies.
FLOW_FIGURES: tuple[str, ...] = ("map.png", "flows.png", "operations.png", "plans.png")

CAPTIONS: dict[str, str] = {
    "map.png": "Network, demand by service area and opened stations",
    "flow_map.png": "Refuelled trips per link and opened stations",
    "flows.png": "Offered and refuelled trips by trip length",
    "operations.png": "Charged inventory and charging power against the price",
    "plans.png": "Monthly user cost by plan and segment",
}


def stations_geojson(inp: ReportInputs, stations: pd.DataFrame | None = None) -> dict[str, Any]:
    """The opened stations as a GeoJSON FeatureCollection: one Point each, with name and size properties.

    Lon/lat networks give RFC 7946 coordinates (and ``"crs": "EPSG:4326"``);
    planar networks keep their coordinates and say so in ``crs``.
    """
    from swapnet.report.html import _jsonable

    st = stations_table(inp) if stations is None else stations
    lonlat = inp.network.coord_crs == "lonlat"
    xcol, ycol = ("lon", "lat") if lonlat else ("x", "y")
    feats: list[dict[str, Any]] = []
    for row in st.to_dict(orient="records"):
        props = {str(k): _jsonable(v) for k, v in row.items() if k not in (xcol, ycol)}
        geom = (
            {"type": "Point", "coordinates": [float(row[xcol]), float(row[ycol])]}
            if xcol in row and ycol in row
            else None
        )
        feats.append({"type": "Feature", "geometry": geom, "properties": props})
    crs = "EPSG:4326" if lonlat else f"planar ({inp.network.length_unit})"
    return {"type": "FeatureCollection", "crs": crs, "features": feats}


def _spreadsheet(path: Path, tables: dict[str, pd.DataFrame]) -> Path | None:
    try:
        import openpyxl  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
    except ImportError:
        return None

    def write(p: Path) -> None:
        with pd.ExcelWriter(p, engine="openpyxl") as xl:
            for name, df in tables.items():
                df.to_excel(xl, sheet_name=name[:31], index=False)

    return atomic_write(path, write)


def write_report(
    inputs: ReportInputs,
    outdir: str | Path,
    *,
    html: bool = True,
    spreadsheet: bool = False,
) -> list[Path]:
    """Write a report of a siting plan and whatever later stages are given.

    Files: ``report.md`` (tables, figures, sanity flags), ``report.html``
    (self-contained: interactive offline map, the same tables and the figures
    embedded), one CSV per table (``stations.csv`` with names, lon/lat or x/y,
    CRS and sizes), ``stations.geojson``, the PNG figures (``map.png``;
    ``operations.png`` with an operations plan; ``plans.png`` with a ``plans``
    table; ``flows.png`` for OD studies) and, with ``spreadsheet=True``,
    ``report.xlsx`` when openpyxl is installed (``pip install openpyxl``;
    otherwise the report says it was skipped).

    Parameters
    ----------
    inputs
        The network, siting plan and optional stages (:class:`ReportInputs`).
    outdir
        Output folder (created if needed).
    html
        Also write ``report.html``.
    spreadsheet
        Also write ``report.xlsx`` (all tables, one sheet each).

    Returns
    -------
    list of Path
        The files written, ``report.md`` first.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    tables = inputs.all_tables()
    tables["stations"] = stations_table(inputs, tables)
    files: list[Path] = [_write_csv(out / f"{name}.csv", df) for name, df in tables.items()]
    gj = stations_geojson(inputs, tables["stations"])
    text_gj = json.dumps(gj)

    def write_gj(p: Path) -> None:
        p.write_text(text_gj, encoding="utf-8")

    files.append(atomic_write(out / "stations.geojson", write_gj))
    if inputs.snap is not None:
        files.append(_write_csv(out / "snap.csv", inputs.snap))
    figs: list[tuple[Path, str]] = []
    if inputs.trips is not None:
        figs.append((flow_map(inputs, out / "map.png"), CAPTIONS["flow_map.png"]))
        figs.append((trip_lengths_figure(inputs, out / "flows.png"), CAPTIONS["flows.png"]))
    else:
        plot_map(inputs, out / "map.png")
        figs.append((out / "map.png", CAPTIONS["map.png"]))
    if inputs.operations is not None:
        figs.append((operations_figure(inputs, out / "operations.png"), CAPTIONS["operations.png"]))
    if "plans" in tables:
        figs.append((plans_figure(tables["plans"], out / "plans.png"), CAPTIONS["plans.png"]))
    flags = sanity_flags(inputs)
    notes: list[str] = []
    if spreadsheet:
        xl = _spreadsheet(out / "report.xlsx", tables)
        if xl is None:
            msg = "spreadsheet skipped: openpyxl is not installed (pip install openpyxl)"
            log.warning(msg)
            notes.append(msg)
        else:
            files.append(xl)
    extra: list[Path] = []
    if html:
        text = html_report(inputs, tables, TABLE_TITLES, figs, flags)
        extra.append(_write_text(out / "report.html", text))
    md = _write_text(out / "report.md", _markdown(inputs, tables, [p.name for p, _ in figs], flags, notes))
    return [md, *extra, *(p for p, _ in figs), *files]


def _markdown(
    inp: ReportInputs,
    tables: dict[str, pd.DataFrame],
    figures: Sequence[str],
    flags: Sequence[SanityFlag],
    notes: Sequence[str],
) -> str:
    lines = [f"# {inp.title}", ""]
    if inp.summary:
        lines += [inp.summary, ""]
    if inp.timings:
        lines += ["Stage times (s): " + ", ".join(f"{k} {v:.1f}" for k, v in inp.timings.items()) + ".", ""]
    if flags:
        lines += ["## Sanity flags", ""]
        lines += [f"- **{f.metric}** = {f.shown} ({f.limit}): {f.why}" for f in flags]
        lines.append("")
    for n in notes:
        lines += [f"Note: {n}.", ""]
    if inp.attribution:
        lines += [f"Map data {inp.attribution}.", ""]
    if inp.snap is not None and len(inp.snap):
        d = inp.snap["distance_m"]
        lines += [
            "## Snap table",
            "",
            f"{len(d)} sites snapped to their nearest node: median {d.median():,.0f} m, max {d.max():,.0f} m "
            "(full table in `snap.csv`).",
            "",
        ]
    for name, title in TABLE_TITLES.items():
        if name in tables:
            lines += [f"## {title}", "", markdown_table(tables[name]), ""]
    lines += ["## Figures", ""]
    caps = dict(CAPTIONS)
    if inp.trips is not None:
        caps["map.png"] = CAPTIONS["flow_map.png"]
    for f in figures:
        lines += [f"![{caps.get(f, f)}]({f})", ""]
    lines += ["The interactive map is in `report.html` (one file; opens offline).", ""]
    return "\n".join(lines)
