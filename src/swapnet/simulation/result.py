"""The result of :func:`~swapnet.simulation.simulate`: KPIs with confidence intervals, time series, plots."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from swapnet.errors import InvalidInputError
from swapnet.simulation.plot import plot_time_of_day

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["KPI_COLUMNS", "KPI_RANGES", "SimulationResult", "kpi_interval", "mean_ci"]

#: KPI columns of :attr:`SimulationResult.replication_kpis` and :attr:`SimulationResult.network_replication_kpis`.
KPI_COLUMNS: tuple[str, ...] = (
    "requests",
    "served",
    "lost",
    "lost_no_battery",
    "lost_no_station",
    "service_level",
    "wait_mean_min",
    "wait_p95_min",
    "bay_utilisation",
    "charger_utilisation",
    "charged_inventory_mean",
    "queue_mean",
    "energy_kwh",
    "energy_cost_cny",
    "peak_kw",
)


def mean_ci(values: Any, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the Student-t confidence interval of independent replications.

    NaN values (a KPI undefined in a replication, e.g. a waiting time with no driver served) are
    dropped; the half-width is NaN with fewer than two values left.
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    m = float(x.mean())
    if x.size < 2:
        return m, float("nan")
    sd = float(x.std(ddof=1))
    q = float(stats.t.ppf(0.5 + confidence / 2.0, x.size - 1))
    return m, q * sd / math.sqrt(x.size)


#: Range of each KPI: confidence intervals are clipped to it (a service level is never above 1,
#: a count never negative).
KPI_RANGES: dict[str, tuple[float, float]] = {
    **{k: (0.0, math.inf) for k in KPI_COLUMNS},
    "service_level": (0.0, 1.0),
    "bay_utilisation": (0.0, 1.0),
    "charger_utilisation": (0.0, 1.0),
}


def kpi_interval(values: Any, kpi: str, confidence: float = 0.95) -> tuple[float, float, float, float]:
    """``(mean, half_width, low, high)`` of a KPI over replications (see :func:`mean_ci`).

    ``low``/``high`` are ``mean -/+ half_width`` clipped to the KPI's range (:data:`KPI_RANGES`);
    both are NaN when the half-width is.
    """
    m, h = mean_ci(values, confidence)
    lo, hi = KPI_RANGES.get(kpi, (-math.inf, math.inf))
    if math.isnan(h):
        return m, h, float("nan"), float("nan")
    return m, h, max(lo, m - h), min(hi, m + h)


def _check_conf(confidence: float) -> float:
    c = float(confidence)
    if not 0 < c < 1:
        raise InvalidInputError("confidence", confidence, "must be in (0, 1)")
    return c


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Outcome of simulating a station network over stochastic days.

    All KPIs cover the observation window after the warm-up; each replication is an independent
    sample, and :meth:`station_kpis` / :meth:`network_kpis` report means with Student-t confidence
    intervals over replications.

    KPIs (columns)
    --------------
    requests, served, lost
        Drivers arriving in the window (all days together), served, lost.
    lost_no_battery
        Drivers who found no charged pack and did not get one within their patience.
    lost_no_station
        Requests from demand nodes with no reachable or assigned station (network level only).
    service_level
        ``served / requests``.
    wait_mean_min, wait_p95_min
        Mean and 95th percentile of the wait from arrival to the start of the swap of served drivers, minutes.
    bay_utilisation, charger_utilisation
        Busy fraction of bays and of charging slots (of all ``chargers``; the grid may allow fewer at once).
    charged_inventory_mean
        Time-average charged packs on hand (free or promised to a driver waiting for a bay).
    queue_mean
        Time-average drivers waiting (for a pack or a bay).
    energy_kwh, energy_cost_cny
        Grid energy for charging in the window, kWh, and its cost at the tariff, CNY (NaN without a tariff).
    peak_kw
        Highest bin-average grid power, kW (bins of ``bin_minutes``); for the network, of the sum over stations.

    Attributes
    ----------
    stations
        Station labels.
    days, warmup_days, replications, seed
        The run's settings (``days`` observed after ``warmup_days``).
    bin_minutes
        Width of the time-series bins.
    replication_kpis
        One row per replication and station: ``replication``, ``station`` and the KPI columns.
    network_replication_kpis
        One row per replication: ``replication`` and the KPI columns for the whole network.
    energy
        One row per replication, station and tariff period: ``energy_kwh``, ``cost_cny``.
    timeseries
        Mean over replications per station and bin of the window: ``station``, ``time_h`` (bin start,
        hours from the start of the run), ``day``, ``hour`` (time of day of the bin start), ``charged``
        (mean charged packs on hand), ``queue`` (mean drivers waiting), ``charging_kw`` (mean grid power).
    final_inventory
        Where every station's packs are at the end of each replication (``charged``, ``promised``,
        ``swapping``, ``depleted``, ``charging``, ``arriving``), with ``total`` and ``batteries`` (the
        stock at the start plus packs received minus packs sent): the two are always equal.
    transfers
        Executed rebalancing moves: ``replication``, ``time_h``, ``source``, ``target``, ``kind``,
        ``planned``, ``moved``.
    event_log
        With ``event_log=True``: ``replication``, ``station``, ``time_h``, ``event`` (``arrival``,
        ``swap_start``, ``swap_end``, ``lost``, ``charge_start``, ``charge_end``, ``transfer``),
        ``driver`` (index of the arrival at that station, -1 for pack events) and ``packs``.
    runtime_seconds
        Wall-clock time of the run.
    """

    stations: tuple[Hashable, ...]
    days: int
    warmup_days: int
    replications: int
    seed: int
    bin_minutes: int
    replication_kpis: pd.DataFrame
    network_replication_kpis: pd.DataFrame
    energy: pd.DataFrame
    timeseries: pd.DataFrame
    final_inventory: pd.DataFrame
    transfers: pd.DataFrame
    event_log: pd.DataFrame | None
    runtime_seconds: float

    # ------------------------------------------------------------------ tables
    def station_kpis(self, confidence: float = 0.95) -> pd.DataFrame:
        """Per station: the mean over replications of each KPI, ``<kpi>_ci`` (the CI half-width) and
        ``<kpi>_low``/``<kpi>_high`` (the interval clipped to the KPI's range, :data:`KPI_RANGES`).

        Indexed by station label.
        """
        conf = _check_conf(confidence)
        rows = []
        for st, grp in self.replication_kpis.groupby("station", sort=False):
            row: dict[str, Any] = {"station": st}
            for col in KPI_COLUMNS:
                m, h, lo, hi = kpi_interval(grp[col].to_numpy(dtype=np.float64), col, conf)
                row[col] = m
                row[f"{col}_ci"] = h
                row[f"{col}_low"] = lo
                row[f"{col}_high"] = hi
            rows.append(row)
        return pd.DataFrame(rows).set_index("station")

    def network_kpis(self, confidence: float = 0.95) -> pd.DataFrame:
        """Network KPIs: one row per KPI with ``mean``, ``ci`` (half-width), ``low`` and ``high`` (the
        interval clipped to the KPI's range, :data:`KPI_RANGES`)."""
        conf = _check_conf(confidence)
        out = []
        for col in KPI_COLUMNS:
            m, h, lo, hi = kpi_interval(self.network_replication_kpis[col].to_numpy(dtype=np.float64), col, conf)
            out.append({"kpi": col, "mean": m, "ci": h, "low": lo, "high": hi})
        return pd.DataFrame(out).set_index("kpi")

    def energy_by_period(self, *, network: bool = False, confidence: float = 0.95) -> pd.DataFrame:
        """Energy (kWh) and its cost (CNY) by tariff period with CI half-widths.

        Per station and period, or for the whole network per period with ``network=True``.
        """
        conf = _check_conf(confidence)
        e = self.energy
        keys = ["period"] if network else ["station", "period"]
        per_rep = e.groupby(["replication", *keys], sort=False)[["energy_kwh", "cost_cny"]].sum().reset_index()
        rows = []
        for key, grp in per_rep.groupby(keys, sort=False):
            ktuple = key if isinstance(key, tuple) else (key,)
            row: dict[str, Any] = dict(zip(keys, ktuple, strict=True))
            for col in ("energy_kwh", "cost_cny"):
                m, h = mean_ci(grp[col].to_numpy(dtype=np.float64), conf)
                row[col] = m
                row[f"{col}_ci"] = h
            rows.append(row)
        return pd.DataFrame(rows)

    def by_time_of_day(self, column: str = "charged") -> pd.DataFrame:
        """Mean of a time-series column by time of day (rows) and station (columns), over all observed days."""
        if column not in ("charged", "queue", "charging_kw"):
            raise InvalidInputError("column", column, "must be 'charged', 'queue' or 'charging_kw'")
        ts = self.timeseries
        tab = ts.pivot_table(index="hour", columns="station", values=column, aggfunc="mean", sort=False)
        return tab[[s for s in self.stations if s in tab.columns]]

    def summary(self) -> str:
        """A few lines: service level, waiting, lost swaps, energy and cost for the network."""
        k = self.network_kpis()

        def fmt(name: str, digits: int = 3) -> str:
            m, h = float(k.at[name, "mean"]), float(k.at[name, "ci"])  # type: ignore[arg-type]
            return f"{m:.{digits}g}" + ("" if math.isnan(h) else f" ± {h:.2g}")

        return (
            f"{len(self.stations)} stations, {self.replications} replications x {self.days} days "
            f"(+{self.warmup_days} warm-up): service level {fmt('service_level')}, "
            f"lost {fmt('lost')} of {fmt('requests')} requests, wait mean {fmt('wait_mean_min')} min "
            f"(p95 {fmt('wait_p95_min')}), energy {fmt('energy_kwh')} kWh, cost {fmt('energy_cost_cny')} CNY, "
            f"peak {fmt('peak_kw')} kW [{self.runtime_seconds:.1f} s]"
        )

    def __repr__(self) -> str:
        return f"SimulationResult({len(self.stations)} stations, {self.replications} x {self.days} days)"

    # ------------------------------------------------------------------ plots
    def plot_inventory(self, stations: Sequence[Hashable] | None = None, ax: Any = None) -> Figure:
        """Mean charged packs on hand over the day, one line per station (matplotlib Figure)."""
        return plot_time_of_day(self.by_time_of_day("charged"), self.bin_minutes, "charged packs on hand", stations, ax)

    def plot_queues(self, stations: Sequence[Hashable] | None = None, ax: Any = None) -> Figure:
        """Mean drivers waiting over the day, one line per station (matplotlib Figure)."""
        return plot_time_of_day(self.by_time_of_day("queue"), self.bin_minutes, "drivers waiting", stations, ax)

    def plot_charging(self, stations: Sequence[Hashable] | None = None, ax: Any = None) -> Figure:
        """Mean charging power over the day, one line per station (matplotlib Figure)."""
        return plot_time_of_day(
            self.by_time_of_day("charging_kw"), self.bin_minutes, "charging power (kW)", stations, ax
        )
