"""Rollout report pieces: tables (DataFrames), PNG figures and a Markdown section.

* :func:`rollout_tables` — ``rollout_stations`` (openings and sizes by year and scenario),
  ``rollout_years`` (expected capex, service and cost by year), ``rollout_cash_flows`` (expected
  yearly cash flows and their NPV) and, with a comparison, ``rollout_baselines``;
* :func:`map_by_opening_year` — candidate sites and the stations coloured by their opening year;
* :func:`capex_and_service` — capex per year (bars) and the served share per scenario (lines);
* :func:`cash_flow_chart` — the expected yearly cash flows and the cumulative discounted NPV;
* :func:`rollout_markdown` — the report section that shows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from swapnet.network import RoadNetwork
from swapnet.siting.rollout.baselines import RolloutComparison
from swapnet.siting.rollout.plan import RolloutPlan

__all__ = [
    "ROLLOUT_FIGURES",
    "capex_and_service",
    "cash_flow_chart",
    "map_by_opening_year",
    "rollout_markdown",
    "rollout_tables",
]

#: File names of the rollout figures.
ROLLOUT_FIGURES: tuple[str, ...] = ("rollout_map.png", "rollout_years.png", "rollout_cash_flows.png")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    _pyplot().close(fig)
    tmp.replace(path)
    return path


def main_scenario(plan: RolloutPlan) -> str:
    """The most probable scenario (the first of equals): the one the map shows."""
    return plan.scenarios[int(np.argmax(plan.probabilities))]


def rollout_tables(plan: RolloutPlan, comparison: RolloutComparison | None = None) -> dict[str, pd.DataFrame]:
    """The rollout's report tables (see the module docstring)."""
    years = plan.by_year().reset_index()
    cols = ["year", "stations", "capex_cash", "capex_annuity", "opex", "penalty", "margin", "discounted",
            "demand_per_hour", "served_share", "swaps_per_day", "lost_swaps_per_day"]  # fmt: skip
    flows = plan.cash_flows().reset_index()
    flows["cumulative_discounted"] = flows["discounted"].cumsum()
    out = {
        "rollout_stations": plan.stations.copy(),
        "rollout_years": years[cols],
        "rollout_cash_flows": flows,
    }
    if comparison is not None:
        tab = comparison.table()
        vals = comparison.values()
        tab.attrs.update(vals)
        out["rollout_baselines"] = tab
    return out


def map_by_opening_year(plan: RolloutPlan, network: RoadNetwork, path: Path, scenario: str | None = None) -> Path:
    """Candidates (rings) and stations (filled, coloured by opening year) of ``scenario`` (default the main one)."""
    plt = _pyplot()
    sc = scenario or main_scenario(plan)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    xy = network.coords
    if xy is None:
        ax.text(0.5, 0.5, "network has no coordinates", ha="center", transform=ax.transAxes)
        return _save(fig, path)
    tail, head = network.tails, network.heads
    ax.plot(np.stack([xy[tail, 0], xy[head, 0]]), np.stack([xy[tail, 1], xy[head, 1]]), color="0.88", lw=0.5,
            zorder=1)  # fmt: skip
    st = plan.stations[(plan.stations["scenario"] == sc)]
    opened = st[st["opened"]]
    last = st[st["year"] == plan.years[-1]].set_index("site")
    idx = network.index_of(list(opened["node"]))
    size = 30 + 3 * last.reindex(opened["site"])["batteries"].to_numpy(dtype=float)
    cmap = plt.get_cmap("viridis", len(plan.years))
    sc_ = ax.scatter(xy[idx, 0], xy[idx, 1], c=opened["year"], cmap=cmap, vmin=plan.years[0] - 0.5,
                     vmax=plan.years[-1] + 0.5, s=size, edgecolors="k", linewidths=0.6, zorder=3)  # fmt: skip
    cb = fig.colorbar(sc_, ax=ax, ticks=list(plan.years))
    cb.set_label("opening year")
    ax.set_aspect("equal")
    ax.set_xlabel("x (km)")
    ax.set_ylabel("y (km)")
    ax.set_title(f"Stations by opening year (scenario {sc}; size ~ batteries in {plan.years[-1]})")
    return _save(fig, path)


def capex_and_service(plan: RolloutPlan, path: Path) -> Path:
    """Expected cash capex per year (bars) and the served share of peak-hour swaps per scenario (lines)."""
    plt = _pyplot()
    by = plan.by_year()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.bar(by.index, by["capex_cash"] / 1e6, color="tab:blue", alpha=0.7, label="capex (expected)")
    ax.set_xlabel("year")
    ax.set_ylabel("capex, M CNY")
    ax2 = ax.twinx()
    for sc, g in plan.service.groupby("scenario", sort=False):
        ax2.plot(g["year"], 100 * g["served_share"], marker="o", lw=1, label=f"served ({sc})")
    ax2.set_ylabel("peak-hour swaps served, %")
    ax2.set_ylim(0, 105)
    ax.set_xticks(list(plan.years))
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2[:8], l1 + l2[:8], fontsize=7, loc="lower right")
    ax.set_title("Capex and service by year")
    return _save(fig, path)


def cash_flow_chart(plan: RolloutPlan, path: Path) -> Path:
    """Expected yearly cash flows (margin, opex, capex) and the cumulative discounted net."""
    plt = _pyplot()
    cf = plan.cash_flows()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    w = 0.27
    x = np.asarray(cf.index, dtype=float)
    for k, (col, colour) in enumerate((("margin", "tab:green"), ("opex", "tab:orange"), ("capex", "tab:red"))):
        ax.bar(x + (k - 1) * w, cf[col] / 1e6, width=w, color=colour, label=col)
    ax.plot(x, cf["discounted"].cumsum() / 1e6, color="k", marker="o", label="cumulative discounted net")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set_xticks(list(plan.years))
    ax.set_xlabel("year")
    ax.set_ylabel("M CNY")
    ax.set_title(f"Cash flows (expected); NPV {plan.npv() / 1e6:,.1f} M CNY over the rollout")
    ax.legend(fontsize=8)
    return _save(fig, path)


def write_figures(plan: RolloutPlan, network: RoadNetwork, outdir: Path) -> list[Path]:
    """The three rollout figures (:data:`ROLLOUT_FIGURES`) in ``outdir``."""
    outdir = Path(outdir)
    return [
        map_by_opening_year(plan, network, outdir / ROLLOUT_FIGURES[0]),
        capex_and_service(plan, outdir / ROLLOUT_FIGURES[1]),
        cash_flow_chart(plan, outdir / ROLLOUT_FIGURES[2]),
    ]


def _md_table(df: pd.DataFrame, floatfmt: str = ",.4g") -> str:
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    rows = []
    for r in df.itertuples(index=False):
        cells = [format(v, floatfmt) if isinstance(v, (float, np.floating)) else str(v) for v in r]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, sep, *rows])


def rollout_markdown(
    plan: RolloutPlan, comparison: RolloutComparison | None, figures: Sequence[str] = ROLLOUT_FIGURES
) -> str:
    """The report's rollout section (Markdown)."""
    years = rollout_tables(plan)["rollout_years"]
    lines = [
        "## Rollout",
        "",
        plan.summary(),
        "",
        f"Scenarios: {', '.join(f'{s} ({p:.0%})' for s, p in zip(plan.scenarios, plan.probabilities, strict=True))}; "
        f"decisions of the first {plan.details.get('shared_years', 0)} year(s) shared by all.",
        "",
        _md_table(years[["year", "stations", "capex_cash", "served_share", "lost_swaps_per_day", "discounted"]]),
        "",
        f"NPV of the expected cash flows: {plan.npv():,.0f} CNY.",
        "",
    ]
    if comparison is not None:
        v = comparison.values()
        lines += [
            _md_table(comparison.table()),
            "",
            f"Value of foresight {v['value_of_foresight']:,.0f} CNY ({v['value_of_foresight_share']:.2%}), "
            f"VSS {v['vss']:,.0f} CNY ({v['vss_share']:.2%}); EVPI between {v['evpi_lower']:,.0f} and "
            f"{v['evpi_upper']:,.0f} CNY (proven from the bounds and plans; {v['evpi']:,.0f} CNY at the plans). "
            "VSS and the value of foresight carry the plans' gaps.",
            "",
        ]
    lines += [f"![{f}]({f})" for f in figures]
    return "\n".join(lines) + "\n"
