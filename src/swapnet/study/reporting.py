"""From a :class:`~swapnet.study.StudyResult` to the report's :class:`~swapnet.report.ReportInputs`.

The report package never imports the study; the study describes itself here and
calls :func:`swapnet.report.write_report` like any Python user would.
"""

from __future__ import annotations

from pathlib import Path

from swapnet.report import ReportInputs, write_report
from swapnet.siting.rollout.report import rollout_markdown, write_figures
from swapnet.study.result import StudyResult

__all__ = ["describe", "report_inputs", "write_study_report"]


def describe(result: StudyResult) -> str:
    """The report's first paragraph: what the network, demand, sites, pack, design and tariff were."""
    s = result.study
    net = s.network
    where = net.kind
    if net.dataset:
        where = f"{net.kind}, {net.dataset}"
    elif net.path is not None:
        where = f"file {Path(net.path).name}"
    tail = (
        f"{len(result.sites)} candidate sites; pack {result.pack.name}; design {result.design.name}; "
        f"tariff {result.tariff.name}."
    )
    dropped = f" ({result.dropped_nodes:,} nodes outside the largest component dropped)" if result.dropped_nodes else ""
    where += ")" + dropped
    if result.trips is not None:
        tr = result.trips
        source = (
            "the dataset's OD table"
            if s.demand.source == "dataset"
            else f"gravity flows (beta {s.demand.gravity_beta:g})"
        )
        return (
            f"Network: {result.network.n_nodes:,} nodes ({where}; {tr.trips_per_day:,.0f} swap-seeking EV trips/day "
            f"on {len(tr.flows):,} OD flows from {source} (ev_share {s.demand.ev_share:g}, swap_share "
            f"{s.demand.swap_share:g}); {tr.refuelled_trips_per_day:,.0f} refuelled by the stations, "
            f"{result.demand.total:,.0f} swaps/day; {tail}"
        )
    if s.demand.kind == "file":
        fleet = f"the demand file {Path(str(s.demand.path)).name}"
    else:
        fleet = ", ".join(f"{g.vehicles:,.0f} {g.kind}" for g in s.demand.segments) + " vehicles"
    return (
        f"Network: {result.network.n_nodes:,} nodes ({where}; demand {result.demand.total:,.0f} swaps/day "
        f"from {fleet}; {tail}"
    )


def report_inputs(result: StudyResult) -> ReportInputs:
    """The :class:`~swapnet.report.ReportInputs` of a study run."""
    return ReportInputs(
        network=result.network,
        siting=result.siting,
        demand=None if result.trips is not None else result.demand,
        sites=result.sites,
        design=result.design,
        operations=result.operations,
        simulation=result.simulation,
        operator=result.operator,
        tables=result.tables,
        title=f"Study: {result.study.name}",
        summary=describe(result),
        timings=result.timings,
        names=result.site_names,
        snap=result.snap,
        attribution=result.attribution,
        trips=result.trips,
        range_km=result.study.siting.range_km,
    )


def write_study_report(result: StudyResult, outdir: str | Path) -> list[Path]:
    """Write the study's report (Markdown, HTML, CSV, GeoJSON, figures) into ``outdir``."""
    files = write_report(report_inputs(result), outdir)
    if result.rollout is not None:  # the multi-year rollout's section and figures
        out = Path(outdir)
        extra = write_figures(result.rollout.plan, result.network, out)
        md = out / "report.md"
        text = md.read_text(encoding="utf-8")
        text += "\n" + rollout_markdown(result.rollout.plan, result.rollout.comparison, [f.name for f in extra])
        md.write_text(text, encoding="utf-8")
        files += extra
    return files
