"""Plot helpers for simulation results (matplotlib, imported lazily)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from swapnet.errors import InvalidInputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_time_of_day"]


def plot_time_of_day(
    table: pd.DataFrame,
    bin_minutes: int,
    ylabel: str,
    stations: Sequence[Hashable] | None = None,
    ax: Any = None,
) -> Figure:
    """Plot a time-series column averaged by time of day, one step line per station.

    Parameters
    ----------
    table
        Values by time of day (rows, bin starts in hours) and station (columns), as
        :meth:`~swapnet.simulation.SimulationResult.by_time_of_day` returns them.
    bin_minutes
        Width of the bins, minutes.
    ylabel
        Label of the y axis.
    stations
        Stations to draw (default all; at most 12 get a legend entry).
    ax
        A matplotlib Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    tab = table
    chosen = list(tab.columns) if stations is None else list(stations)
    for s in chosen:
        if s not in tab.columns:
            raise InvalidInputError("stations", s, "not a simulated station")
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4))
    else:
        fig = ax.figure
    hours = tab.index.to_numpy(dtype=float)
    width = bin_minutes / 60.0
    for s in chosen:
        ax.step([*list(hours), hours[-1] + width], [*tab[s].tolist(), tab[s].iloc[-1]], where="post", label=str(s))
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel("time of day (h)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if 0 < len(chosen) <= 12:
        ax.legend(fontsize="small", ncol=2)
    out: Figure = fig
    return out
