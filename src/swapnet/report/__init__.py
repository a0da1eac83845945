"""Reports: Markdown and a self-contained HTML page, CSV/GeoJSON exports and PNG figures.

:func:`write_report` takes a :class:`ReportInputs` — the network and siting
plan a Python user has, plus whatever later stages exist (operations plan,
simulation result, operator case) — and writes ``report.md``, ``report.html``
(an interactive map that renders offline), one CSV per table (``stations.csv``
with names, lon/lat and sizes), ``stations.geojson`` and the figures. Every file
is written to a temporary file first and moved into place (:func:`atomic_write`).
:func:`plot_map` draws the map alone. Studies (:mod:`swapnet.study`) build a
:class:`ReportInputs` and call the same function; this package never imports
the study.
"""

from swapnet.report._files import atomic_write, markdown_table
from swapnet.report.figures import axis_labels, distinct_colours, plot_map
from swapnet.report.html import html_report, map_svg
from swapnet.report.inputs import ReportInputs, SanityFlag, TripsLike, default_tables, sanity_flags, stations_table
from swapnet.report.writer import CAPTIONS, FIGURES, FLOW_FIGURES, TABLE_TITLES, stations_geojson, write_report

__all__ = [
    "CAPTIONS",
    "FIGURES",
    "FLOW_FIGURES",
    "TABLE_TITLES",
    "ReportInputs",
    "SanityFlag",
    "TripsLike",
    "atomic_write",
    "axis_labels",
    "default_tables",
    "distinct_colours",
    "html_report",
    "map_svg",
    "markdown_table",
    "plot_map",
    "sanity_flags",
    "stations_geojson",
    "stations_table",
    "write_report",
]
