"""What a report is made of: :class:`ReportInputs`, default tables, the stations table and sanity flags.

A report needs a network and a siting plan; every later stage (operations plan,
simulation result, operator case) is optional, so a pipeline built in Python
gets a report at whatever stage it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from swapnet.assets import CandidateSites, StationDesign
from swapnet.demand import NodeDemand
from swapnet.economics import OperatorCase
from swapnet.network import RoadNetwork
from swapnet.operations import OperationsPlan
from swapnet.simulation import SimulationResult
from swapnet.siting import SitingPlan

__all__ = ["ReportInputs", "SanityFlag", "TripsLike", "default_tables", "sanity_flags", "stations_table"]

#: Plausible ranges behind the sanity flags.
MAX_PLAUSIBLE_IRR = 0.50
MIN_PLAUSIBLE_PAYBACK_YEARS = 1.0
MAX_PLAUSIBLE_LOST_SHARE = 0.05


class TripsLike(Protocol):
    """The trips of an OD study, as the report reads them (a study's ``TripDemand``)."""

    @property
    def flows(self) -> Any: ...  # an ODFlows: origins, destinations, volumes
    @property
    def lengths(self) -> Any: ...
    @property
    def station_swaps(self) -> pd.DataFrame: ...
    @property
    def trips_per_day(self) -> float: ...
    @property
    def refuelled_trips_per_day(self) -> float: ...


@dataclass(frozen=True)
class ReportInputs:
    """Everything :func:`~swapnet.report.write_report` can show; only ``network`` and ``siting`` are required.

    Attributes
    ----------
    network
        The road network (coordinates needed for maps).
    siting
        The siting plan.
    demand
        Node demand the siting served (demand dots, unserved demand on the map).
    sites
        Candidate sites (their nodes; open ones are ``siting.sites``).
    design
        The station design: stations the siting did not size (p-median, coverage models) are
        built to it, and the stations table shows its batteries, chargers and grid kW.
    operations, simulation, operator
        Later stages, each optional.
    tables
        Tables by name (see :data:`~swapnet.report.TABLE_TITLES`); ``None`` builds
        them with :func:`default_tables` from the stages given.
    title
        Report title.
    summary
        One paragraph describing the inputs (first paragraph of the report).
    timings
        Seconds per stage, printed when given.
    names
        Display name per site label (store names), for popups and exports.
    snap
        Snap table (site, node, distance_m ...) of sites read from a file.
    attribution
        Credit line for the map (e.g. "© OpenStreetMap contributors").
    service_buffer_m
        Radius in metres of the buffer drawn around each station's served
        demand nodes (its service area); ``None`` picks twice the median edge
        length (at least 100 m).
    trips
        OD studies: the trips (flow maps and a trip-length figure instead of service areas).
    range_km
        OD studies: the vehicles' range, marked on the trip-length figure.
    """

    network: RoadNetwork
    siting: SitingPlan
    demand: NodeDemand | None = None
    sites: CandidateSites | None = None
    design: StationDesign | None = None
    operations: OperationsPlan | None = None
    simulation: SimulationResult | None = None
    operator: OperatorCase | None = None
    tables: Mapping[str, pd.DataFrame] | None = None
    title: str = "swapnet report"
    summary: str = ""
    timings: Mapping[str, float] = field(default_factory=dict)
    names: Mapping[Any, str] = field(default_factory=dict)
    snap: pd.DataFrame | None = None
    attribution: str | None = None
    service_buffer_m: float | None = None
    trips: TripsLike | None = None
    range_km: float | None = None

    def site_nodes(self) -> tuple[Hashable, ...]:
        """Network node of each opened site, in ``siting.sites`` order."""
        if self.sites is not None:
            node_of = dict(zip(self.sites.labels, self.sites.nodes, strict=True))
            return tuple(node_of.get(s, s) for s in self.siting.sites)
        st = self.siting.details.get("stations")
        if isinstance(st, pd.DataFrame) and {"site", "node"} <= set(st.columns):
            node_of = dict(zip(st["site"], st["node"], strict=True))
            return tuple(node_of.get(s, s) for s in self.siting.sites)
        return tuple(self.siting.sites)  # matrix models on a network: sites are nodes

    def all_tables(self) -> dict[str, pd.DataFrame]:
        """The given tables, or :func:`default_tables`."""
        return dict(self.tables) if self.tables is not None else default_tables(self)


def default_tables(inp: ReportInputs) -> dict[str, pd.DataFrame]:
    """Report tables from the stages present: ``siting``, ``stations``, ``operations``, ``simulation``,
    ``cash_flows``, ``operator``."""
    s = inp.siting
    out: dict[str, pd.DataFrame] = {
        "siting": pd.DataFrame(
            [
                {
                    "model": s.model,
                    "stations": len(s.sites),
                    "objective": s.objective,
                    "bound": s.bound,
                    "gap": s.gap,
                    "covered": s.covered,
                    "status": s.status.value,
                    "solve_seconds": s.solve_seconds,
                }
            ]
        )
    }
    sized = s.details.get("stations")
    stations = sized.copy() if isinstance(sized, pd.DataFrame) else pd.DataFrame({"site": list(s.sites)})
    ops = inp.operations
    if ops is not None:
        sch = ops.schedule
        per = sch.groupby("station", sort=False)[["demand", "served", "lost"]].sum()
        per["peak_kw"] = sch.groupby("station", sort=False)["charging_kw"].max()
        stations = stations.merge(
            per.rename(columns=lambda c: f"ops_{c}"), left_on="site", right_index=True, how="left"
        )
        out["operations"] = pd.DataFrame(
            {
                "term": [*ops.costs.keys(), "peak_kw", "lost_swaps_count"],
                "value": [*ops.costs.values(), ops.peak_kw, ops.lost_swaps],
            }
        )
    out["stations"] = stations
    if inp.simulation is not None:
        out["simulation"] = inp.simulation.network_kpis().reset_index()
    if inp.operator is not None:
        op = inp.operator
        out["cash_flows"] = op.cash_flows().reset_index()
        out["operator"] = pd.DataFrame(
            [
                {"metric": "capex_cny", "value": op.capex_cny},
                {"metric": "electricity_cny_per_year", "value": op.electricity_cost_cny_per_year},
                *({"metric": k, "value": v} for k, v in op.summary().items()),
            ]
        )
    return out


def _lonlat(net: RoadNetwork, nodes: Sequence[Hashable]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None:
    if net.coords is None:
        return None
    xy = net.coords[net.index_of(list(nodes))] if len(nodes) else np.zeros((0, 2))
    return xy[:, 0], xy[:, 1]


def stations_table(inp: ReportInputs, tables: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per opened station: ``site``, ``name``, ``node``, ``lon``/``lat`` (or ``x``/``y``),
    ``crs``, then the size columns of the ``stations`` table (batteries, chargers ...)."""
    nodes = inp.site_nodes()
    sites = list(inp.siting.sites)
    base = pd.DataFrame({"site": sites, "name": [inp.names.get(s, str(s)) for s in sites], "node": list(nodes)})
    xy = _lonlat(inp.network, nodes)
    if xy is not None:
        a, b = ("lon", "lat") if inp.network.coord_crs == "lonlat" else ("x", "y")
        base[a], base[b] = xy
        base["crs"] = "EPSG:4326" if inp.network.coord_crs == "lonlat" else f"planar ({inp.network.length_unit})"
    tab = (tables or inp.all_tables()).get("stations")
    if tab is not None and "site" in tab.columns:
        extra = tab.drop(columns=[c for c in ("node", "name", "lon", "lat", "x", "y", "crs") if c in tab.columns])
        base = base.merge(extra, on="site", how="left")
    d = inp.design
    if d is not None and "batteries" not in base.columns:
        base["batteries"], base["chargers"], base["charging_kw"] = d.batteries, d.chargers, d.chargers * d.charger_kw
        grid = np.full(len(base), d.grid_kw)
        if inp.sites is not None and len(base):
            cap = inp.sites.grid_kw[inp.sites.position(list(base["site"]))]
            grid = np.minimum(grid, cap)
        base["grid_kw"] = grid
    return base


@dataclass(frozen=True)
class SanityFlag:
    """A number outside its plausible range: ``metric``, ``value``, ``limit`` and a reason."""

    metric: str
    value: float
    limit: str
    why: str

    @property
    def shown(self) -> str:
        """The value as read: a percentage for rates and shares, else three significant digits."""
        pct = "IRR" in self.metric or "share" in self.metric
        return f"{self.value:.1%}" if pct else f"{self.value:.3g}"


def sanity_flags(inp: ReportInputs) -> list[SanityFlag]:
    """Flags for implausible results: IRR > 50 %, payback < 1 year, lost swaps > 5 % (plan or simulation)."""
    out: list[SanityFlag] = []
    if inp.operator is not None:
        summ = inp.operator.summary()
        irr, payback = float(summ.get("irr", math.nan)), float(summ.get("payback", math.nan))
        if math.isfinite(irr) and irr > MAX_PLAUSIBLE_IRR:
            out.append(
                SanityFlag(
                    "operator IRR",
                    irr,
                    f"> {MAX_PLAUSIBLE_IRR:.0%}",
                    "implausibly high for a swap network: are the subscribers' packs and all costs counted?",
                )
            )
        if math.isfinite(payback) and payback < MIN_PLAUSIBLE_PAYBACK_YEARS:
            out.append(
                SanityFlag(
                    "payback (years)",
                    payback,
                    f"< {MIN_PLAUSIBLE_PAYBACK_YEARS:g}",
                    "stations rarely pay back within a year: check prices, costs and the pack count",
                )
            )
    ops = inp.operations
    if ops is not None:
        demand = float(ops.schedule["demand"].sum())
        if demand > 0 and ops.lost_swaps / demand > MAX_PLAUSIBLE_LOST_SHARE:
            out.append(
                SanityFlag(
                    "planned lost swaps (share)",
                    ops.lost_swaps / demand,
                    f"> {MAX_PLAUSIBLE_LOST_SHARE:.0%}",
                    "the operations plan turns away many drivers: stations too small or too few",
                )
            )
    if inp.simulation is not None:
        k = inp.simulation.network_kpis()
        mean = k["mean"].to_dict()
        req = float(mean.get("requests", 0.0))
        lost = float(mean.get("lost", 0.0))
        if req > 0 and lost / req > MAX_PLAUSIBLE_LOST_SHARE:
            out.append(
                SanityFlag(
                    "simulated lost swaps (share)",
                    lost / req,
                    f"> {MAX_PLAUSIBLE_LOST_SHARE:.0%}",
                    "the simulation loses many requests: stations too small or too few",
                )
            )
    return out


def served_mask(inp: ReportInputs) -> tuple[list[Hashable], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Demand nodes, their daily swaps and the position of their station in ``siting.sites`` (-1 = unserved)."""
    if inp.demand is None:
        return [], np.zeros(0), np.zeros(0, dtype=np.int64)
    nodes = list(inp.demand.nodes)
    daily = np.asarray(inp.demand.daily, dtype=np.float64)
    pos = {s: k for k, s in enumerate(inp.siting.sites)}
    colour = np.full(len(nodes), -1, dtype=np.int64)
    asg = inp.siting.assignment
    if "demand" in asg.columns and "site" in asg.columns:
        row = {n: i for i, n in enumerate(nodes)}
        cov = asg["covered"].to_numpy(dtype=bool) if "covered" in asg.columns else np.ones(len(asg), dtype=bool)
        for d, site, c in zip(asg["demand"], asg["site"], cov, strict=True):
            if c and site is not None and site in pos and d in row and colour[row[d]] < 0:
                colour[row[d]] = pos[site]
    return nodes, daily, colour
