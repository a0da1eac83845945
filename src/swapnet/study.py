"""Study files: a whole planning study (network -> demand -> siting -> operations -> simulation -> economics).

A study is described by a TOML file (see ``docs/study.md``) and read into :class:`Study`, a tree of
frozen dataclasses. :meth:`Study.from_toml` / :meth:`Study.from_dict` check every key *before*
anything is solved: unknown keys fail with their full path and a "did you mean ...?" suggestion,
wrong types and impossible values fail with their path (e.g. ``demand.segments[1].vehicles``), and
missing sections are named. :meth:`Study.run` chains the models and writes a report
(:func:`swapnet.report.write_report`). Studies of OD trips (``demand.kind = "od"``) site stations
with the flow models (FRLM / FCLM) and derive each station's daily swaps from the trips it refuels
(:func:`trip_swaps`, :func:`flow_station_swaps`) before operations, simulation and economics.
"""

from __future__ import annotations

import difflib
import math
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from swapnet.errors import InvalidInputError

__all__ = [
    "DESIGN_PRESETS",
    "PACK_PRESETS",
    "PLAN_PRESETS",
    "SEGMENT_KINDS",
    "DemandSpec",
    "DesignSpec",
    "EconomicsSpec",
    "NetworkSpec",
    "OperationsSpec",
    "PackSpec",
    "PlanSpec",
    "SegmentSpec",
    "SimulationSpec",
    "SitesSpec",
    "SitingSpec",
    "SolverSpec",
    "Study",
    "StudyError",
    "StudyResult",
    "TariffSpec",
    "TripDemand",
    "flow_station_swaps",
    "trip_swaps",
]

#: Battery-pack presets (names of :class:`~swapnet.assets.BatteryPack` class methods).
PACK_PRESETS: tuple[str, ...] = ("catl_25_lfp", "catl_25_ncm", "catl_20_lfp", "catl_20_ncm")
#: Station-design presets (names of :class:`~swapnet.assets.StationDesign` class methods).
DESIGN_PRESETS: tuple[str, ...] = ("choco_swap", "nio_pss2", "nio_pss3", "nio_pss4")
#: BaaS plan presets (names of :class:`~swapnet.economics.BaaSPlan` class methods).
PLAN_PRESETS: tuple[str, ...] = ("nio_baas_75", "choco_swap_unlimited", "choco_family", "evogo_block")
#: Fleet-segment kinds (names of :class:`~swapnet.demand.FleetSegment` class methods).
SEGMENT_KINDS: tuple[str, ...] = ("private", "ride_hailing", "taxi")

#: Flow-based siting models (they need ``demand.kind = "od"`` and a dataset network).
FLOW_MODELS: tuple[str, ...] = ("flow_refueling", "flow_capturing")
#: Hourly profiles for OD demand (names of :class:`~swapnet.demand.DailyProfile` presets).
PROFILES: tuple[str, ...] = ("urban", "highway", "flat")
#: Days per month used to turn daily swaps into monthly ones (as :class:`~swapnet.demand.FleetSegment`).
DAYS_PER_MONTH = 30.4
# datasets without an OD table (normalised names as in swapnet.io.load_network)
_NO_OD_DATASETS = frozenset({"dcnybos", "25node"})


def _dataset_key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_SECTIONS_REQUIRED: tuple[str, ...] = ("network", "demand", "sites", "siting")
_SECTIONS_OPTIONAL: tuple[str, ...] = (
    "name",
    "pack",
    "design",
    "tariff",
    "operations",
    "simulation",
    "plans",
    "economics",
    "solver",
)


class StudyError(InvalidInputError):
    """A study file is invalid; ``field`` is the full key path (e.g. ``demand.segments[1].vehicles``)."""


# ------------------------------------------------------------------ validation helpers
_MISSING: Any = object()


@dataclass(frozen=True)
class _Key:
    """One key of a table: its type, default, limits and choices."""

    kind: str  # "int", "float", "str", "bool"
    default: Any = _MISSING
    minimum: float | None = None
    exclusive: bool = False
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    nullable: bool = False


def _suggest(key: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(options), n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    return f"unknown key; expected one of {', '.join(sorted(options))}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _value(value: Any, path: str, spec: _Key) -> Any:
    if value is None and spec.nullable:
        return None
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise StudyError(path, value, "must be an integer")
        num: float = value
    elif spec.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise StudyError(path, value, "must be a number")
        if not math.isfinite(float(value)):
            raise StudyError(path, value, "must be finite")
        value = float(value)
        num = value
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            raise StudyError(path, value, "must be true or false")
        return value
    else:
        if not isinstance(value, str):
            raise StudyError(path, value, "must be a string")
        if spec.choices is not None and value not in spec.choices:
            close = difflib.get_close_matches(value, list(spec.choices), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise StudyError(path, value, f"must be one of {', '.join(spec.choices)}{hint}")
        return value
    if spec.minimum is not None:
        if spec.exclusive and not num > spec.minimum:
            raise StudyError(path, value, f"must be greater than {spec.minimum:g}")
        if not spec.exclusive and num < spec.minimum:
            raise StudyError(path, value, f"must be at least {spec.minimum:g}")
    if spec.maximum is not None and num > spec.maximum:
        raise StudyError(path, value, f"must be at most {spec.maximum:g}")
    return value


def _table(raw: Any, path: str, schema: Mapping[str, _Key]) -> dict[str, Any]:
    """Check a TOML table against ``schema``; returns every key with defaults filled in."""
    if not isinstance(raw, Mapping):
        raise StudyError(path, raw, "must be a table")
    for key in raw:
        if key not in schema:
            raise StudyError(_join(path, str(key)), raw[key], _suggest(str(key), list(schema)))
    out: dict[str, Any] = {}
    for key, spec in schema.items():
        if key in raw:
            out[key] = _value(raw[key], _join(path, key), spec)
        elif spec.default is _MISSING:
            raise StudyError(_join(path, key), None, "missing required key")
        else:
            out[key] = spec.default
    return out


def _require(cond: bool, path: str, value: Any, reason: str) -> None:
    if not cond:
        raise StudyError(path, value, reason)


# ------------------------------------------------------------------ sections
@dataclass(frozen=True)
class NetworkSpec:
    """``[network]``: a synthetic street grid or a shipped dataset.

    Attributes
    ----------
    kind
        ``"city_grid"`` (:func:`swapnet.synthetic.city_grid`) or ``"file"`` (:func:`swapnet.io.load_network`).
    rows, cols
        Grid nodes per column and row (``city_grid``).
    spacing_km
        Distance between neighbouring grid nodes, km.
    seed
        Random seed of the grid.
    dataset
        Dataset name for ``kind = "file"`` (e.g. ``"SiouxFalls"``).
    """

    kind: str = "city_grid"
    rows: int = 21
    cols: int = 21
    spacing_km: float = 1.0
    seed: int = 0
    dataset: str | None = None

    _SCHEMA = MappingProxyType(
        {
            "kind": _Key("str", "city_grid", choices=("city_grid", "file")),
            "rows": _Key("int", 21, minimum=2),
            "cols": _Key("int", 21, minimum=2),
            "spacing_km": _Key("float", 1.0, minimum=0.0, exclusive=True),
            "seed": _Key("int", 0, minimum=0),
            "dataset": _Key("str", None, nullable=True),
        }
    )

    @classmethod
    def parse(cls, raw: Any, path: str = "network") -> NetworkSpec:
        """Validate a ``[network]`` table."""
        v = _table(raw, path, cls._SCHEMA)
        if v["kind"] == "file":
            _require(v["dataset"] is not None, f"{path}.dataset", None, 'required when kind = "file"')
            from swapnet.io.datasets import DATASETS

            names = {_dataset_key(n): n for n in DATASETS}
            if _dataset_key(v["dataset"]) not in names:
                close = difflib.get_close_matches(v["dataset"], list(DATASETS), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise StudyError(
                    f"{path}.dataset", v["dataset"], f"unknown dataset; choose from {', '.join(DATASETS)}{hint}"
                )
        return cls(**v)

    @property
    def has_od(self) -> bool:
        """Whether the dataset ships an OD table (``False`` for grids, DC-NY-BOS and the 25-node default)."""
        return self.kind == "file" and self.dataset is not None and _dataset_key(self.dataset) not in _NO_OD_DATASETS

    @property
    def n_nodes(self) -> int | None:
        """Number of nodes when known before loading (grids)."""
        return self.rows * self.cols if self.kind == "city_grid" else None


@dataclass(frozen=True)
class SegmentSpec:
    """One fleet segment of ``demand.segments``.

    Attributes
    ----------
    kind
        ``"private"``, ``"ride_hailing"`` or ``"taxi"`` (:class:`~swapnet.demand.FleetSegment` presets).
    vehicles
        Number of vehicles (non-negative).
    swaps_per_vehicle_month
        Swaps per vehicle and month; ``None`` = the preset's (4.5, 15, 37).
    baas_share
        Share of the segment's vehicles that subscribe to the operator's plan (``economics.operator_plan``),
        in ``[0, 1]``; default 1 (every vehicle). Only the operator's revenue (and the battery wear billed
        with it) scales with it: every vehicle's swaps are still served and planned for.
    """

    kind: str
    vehicles: float
    swaps_per_vehicle_month: float | None = None
    baas_share: float = 1.0

    _SCHEMA = MappingProxyType(
        {
            "kind": _Key("str", choices=SEGMENT_KINDS),
            "vehicles": _Key("float", minimum=0.0),
            "swaps_per_vehicle_month": _Key("float", None, minimum=0.0, nullable=True),
            "baas_share": _Key("float", 1.0, minimum=0.0, maximum=1.0),
        }
    )

    def fleet_segment(self) -> Any:
        """The :class:`~swapnet.demand.FleetSegment`."""
        from swapnet.demand import FleetSegment

        make = getattr(FleetSegment, self.kind)
        seg = make(self.vehicles)
        if self.swaps_per_vehicle_month is not None:
            seg = make(self.vehicles, self.swaps_per_vehicle_month)
        return seg

    def user_segment(self) -> Any:
        """The matching :class:`~swapnet.economics.UserSegment` (one vehicle's month)."""
        from swapnet.economics import UserSegment

        return getattr(UserSegment, self.kind)(self.fleet_segment().swaps_per_vehicle_month)


@dataclass(frozen=True)
class DemandSpec:
    """``[demand]``: fleets whose swaps spread over the nodes, or origin-destination trips of EVs.

    Attributes
    ----------
    segments
        Fleet segments (``kind = "segments"``: at least one; empty for ``"od"``).
    seed
        Seed of the spatial noise (``segments``).
    centre_weight
        How strongly demand concentrates in the centre (see :func:`swapnet.synthetic.city_demand`).
    noise
        Log-standard deviation of the node weights' noise.
    kind
        ``"segments"`` (fleet segments spread over the nodes) or ``"od"`` (trips along paths, for the
        flow siting models).
    source
        ``"dataset"`` (the network dataset's OD table) or ``"gravity"`` (``W_i W_j / d_ij**beta`` with
        ``W`` the dataset's trip ends, or 1 per node without an OD table, scaled to ``trips_per_day``).
    trip_scale
        Dataset OD units -> one-way vehicle trips per day (e.g. 10 for Sioux Falls, whose table holds
        0.1 of the daily flows).
    trips_per_day
        Total one-way vehicle trips per day of the gravity flows (required for ``source = "gravity"``).
    gravity_beta
        Distance-decay exponent of the gravity flows.
    ev_share
        Share of the trips made by electric cars, ``(0, 1]`` (required for ``"od"``).
    swap_share
        Share of the EV trips made by swap-capable cars due for a swap, ``(0, 1]``.
    min_trip_km
        Leave out trips shorter than this (network length unit): they charge at home or at their ends.
    swaps_per_trip
        Swaps per refuelled one-way trip; ``None`` = automatic (see :func:`flow_station_swaps`).
    profile
        Hourly profile of the swaps at the stations: ``"urban"``, ``"highway"`` or ``"flat"``.
    segment
        The user segment (``private``, ``ride_hailing``, ``taxi``) whose monthly driving prices the plans.
    swaps_per_vehicle_month
        Swaps per subscriber and month (``None`` = the segment preset's); with ``"od"`` demand the
        operator's subscribers are the swaps per month served divided by it.
    baas_share
        Share of those subscriber-equivalents on the operator's plan (``"od"``; see
        :attr:`SegmentSpec.baas_share`).
    """

    segments: tuple[SegmentSpec, ...]
    seed: int = 0
    centre_weight: float = 1.0
    noise: float = 0.3
    kind: str = "segments"
    source: str = "dataset"
    trip_scale: float = 1.0
    trips_per_day: float | None = None
    gravity_beta: float = 1.5
    ev_share: float | None = None
    swap_share: float = 1.0
    min_trip_km: float = 0.0
    swaps_per_trip: float | None = None
    profile: str = "urban"
    segment: str = "private"
    swaps_per_vehicle_month: float | None = None
    baas_share: float = 1.0

    _SCHEMA = MappingProxyType(
        {
            "seed": _Key("int", 0, minimum=0),
            "centre_weight": _Key("float", 1.0, minimum=0.0),
            "noise": _Key("float", 0.3, minimum=0.0),
        }
    )
    _OD_SCHEMA = MappingProxyType(
        {
            "source": _Key("str", "dataset", choices=("dataset", "gravity")),
            "trip_scale": _Key("float", 1.0, minimum=0.0, exclusive=True),
            "trips_per_day": _Key("float", None, minimum=0.0, exclusive=True, nullable=True),
            "gravity_beta": _Key("float", 1.5, minimum=0.0),
            "ev_share": _Key("float", None, minimum=0.0, exclusive=True, maximum=1.0, nullable=True),
            "swap_share": _Key("float", 1.0, minimum=0.0, exclusive=True, maximum=1.0),
            "min_trip_km": _Key("float", 0.0, minimum=0.0),
            "swaps_per_trip": _Key("float", None, minimum=0.0, exclusive=True, nullable=True),
            "profile": _Key("str", "urban", choices=PROFILES),
            "segment": _Key("str", "private", choices=SEGMENT_KINDS),
            "swaps_per_vehicle_month": _Key("float", None, minimum=0.0, exclusive=True, nullable=True),
            "baas_share": _Key("float", 1.0, minimum=0.0, maximum=1.0),
        }
    )

    @classmethod
    def parse(cls, raw: Any, path: str = "demand") -> DemandSpec:
        """Validate a ``[demand]`` table."""
        if not isinstance(raw, Mapping):
            raise StudyError(path, raw, "must be a table")
        kind = _value(raw.get("kind", "segments"), f"{path}.kind", _Key("str", choices=("segments", "od")))
        rest = {k: v for k, v in raw.items() if k not in ("segments", "kind")}
        schema = {**cls._SCHEMA, **cls._OD_SCHEMA, "segments": _Key("str"), "kind": _Key("str")}
        for key in rest:
            if key not in schema:
                raise StudyError(_join(path, str(key)), rest[key], _suggest(str(key), list(schema)))
        own, other = (cls._SCHEMA, cls._OD_SCHEMA) if kind == "segments" else (cls._OD_SCHEMA, cls._SCHEMA)
        for key in rest:
            if key in other:
                raise StudyError(_join(path, str(key)), rest[key], f'not used when kind = "{kind}"')
        v = _table(rest, path, own)
        if kind == "od":
            _require(
                "segments" not in raw,
                f"{path}.segments",
                raw.get("segments"),
                'not used when kind = "od" (the subscribers follow from the swaps; see demand.segment)',
            )
            _require(v["ev_share"] is not None, f"{path}.ev_share", None, 'required when kind = "od"')
            if v["source"] == "gravity":
                _require(
                    v["trips_per_day"] is not None, f"{path}.trips_per_day", None, 'required when source = "gravity"'
                )
            else:
                _require(
                    v["trips_per_day"] is None,
                    f"{path}.trips_per_day",
                    v["trips_per_day"],
                    'only used when source = "gravity" (scale dataset trips with trip_scale)',
                )
            return cls(segments=(), kind="od", **v)
        segs: Any = raw.get("segments")
        _require(segs is not None, f"{path}.segments", None, "missing required key (a list of fleet segments)")
        _require(isinstance(segs, list) and len(segs) > 0, f"{path}.segments", segs, "must be a non-empty list")
        parsed = tuple(
            SegmentSpec(**_table(s, f"{path}.segments[{i}]", SegmentSpec._SCHEMA)) for i, s in enumerate(segs)
        )
        kinds = [s.kind for s in parsed]
        for i, k in enumerate(kinds):
            _require(kinds.index(k) == i, f"{path}.segments[{i}].kind", k, "segment kinds must be unique")
        _require(sum(s.fleet_segment().swaps_per_day for s in parsed) > 0, f"{path}.segments", segs, "no swaps at all")
        return cls(segments=parsed, **v)

    @property
    def trip_factor(self) -> float:
        """Dataset OD units -> swap-seeking EV trips per day: ``trip_scale * ev_share * swap_share`` (``"od"``)."""
        if self.source == "gravity":
            return (self.ev_share or 0.0) * self.swap_share
        return self.trip_scale * (self.ev_share or 0.0) * self.swap_share

    def user_segment(self) -> Any:
        """The :class:`~swapnet.economics.UserSegment` of ``segment`` (``"od"`` demand)."""
        from swapnet.economics import UserSegment

        make = getattr(UserSegment, self.segment)
        return make() if self.swaps_per_vehicle_month is None else make(self.swaps_per_vehicle_month)


@dataclass(frozen=True)
class SitesSpec:
    """``[sites]``: candidate sites, placed like a chain of service stores.

    Attributes
    ----------
    kind
        ``"service_stores"`` (:func:`swapnet.synthetic.service_store_sites`, weighted by demand) or
        ``"nodes"`` (every network node is a candidate, e.g. interchanges of a highway network).
    n
        Number of candidate sites (``service_stores``: required, positive, at most the number of nodes).
    seed
        Random seed.
    """

    kind: str = "service_stores"
    n: int | None = 60
    seed: int = 0

    _SCHEMA = MappingProxyType(
        {
            "kind": _Key("str", "service_stores", choices=("service_stores", "nodes")),
            "n": _Key("int", None, minimum=1, nullable=True),
            "seed": _Key("int", 0, minimum=0),
        }
    )

    @classmethod
    def parse(cls, raw: Any, path: str = "sites") -> SitesSpec:
        """Validate a ``[sites]`` table."""
        v = _table(raw, path, cls._SCHEMA)
        if v["kind"] == "service_stores":
            _require(v["n"] is not None, f"{path}.n", None, 'required when kind = "service_stores"')
        else:
            _require(v["n"] is None, f"{path}.n", v["n"], 'not used when kind = "nodes" (every node is a candidate)')
        return cls(**v)


@dataclass(frozen=True)
class PackSpec:
    """``[pack]``: the battery pack, by preset name (one of :data:`PACK_PRESETS`)."""

    preset: str = "catl_25_lfp"

    _SCHEMA = MappingProxyType({"preset": _Key("str", "catl_25_lfp", choices=PACK_PRESETS)})

    def build(self) -> Any:
        """The :class:`~swapnet.assets.BatteryPack`."""
        from swapnet.assets import BatteryPack

        return getattr(BatteryPack, self.preset)()


@dataclass(frozen=True)
class DesignSpec:
    """``[design]``: the station design, by preset name (one of :data:`DESIGN_PRESETS`)."""

    preset: str = "choco_swap"

    _SCHEMA = MappingProxyType({"preset": _Key("str", "choco_swap", choices=DESIGN_PRESETS)})

    def build(self) -> Any:
        """The :class:`~swapnet.assets.StationDesign`."""
        from swapnet.assets import StationDesign

        return getattr(StationDesign, self.preset)()


@dataclass(frozen=True)
class TariffSpec:
    """``[tariff]``: the electricity tariff.

    Attributes
    ----------
    kind
        ``"guangdong"`` (:meth:`swapnet.tariff.TouTariff.guangdong`).
    flat_price
        Flat-period price, CNY/kWh (non-negative).
    critical_peak
        Add the summer critical peak (11-12 h and 15-17 h).
    """

    kind: str = "guangdong"
    flat_price: float = 0.52
    critical_peak: bool = False

    _SCHEMA = MappingProxyType(
        {
            "kind": _Key("str", "guangdong", choices=("guangdong",)),
            "flat_price": _Key("float", 0.52, minimum=0.0),
            "critical_peak": _Key("bool", False),
        }
    )

    def build(self) -> Any:
        """The :class:`~swapnet.tariff.TouTariff`."""
        from swapnet.tariff import TouTariff

        return TouTariff.guangdong(self.flat_price, critical_peak=self.critical_peak)


@dataclass(frozen=True)
class SitingSpec:
    """``[siting]``: which stations to open.

    Attributes
    ----------
    model
        ``"size_stations"`` (open and size stations to serve the peak hour within ``service_km``),
        ``"p_median"`` (open ``p`` stations closest to demand, built to the design as it is),
        ``"flow_refueling"`` (FRLM, Kuby & Lim 2005: open ``p`` stations refuelling the most trips of
        range ``range_km``) or ``"flow_capturing"`` (FCLM, Hodgson 1990: open ``p`` stations on the paths
        of the most trips).
    service_km
        Service distance, km (``size_stations``; positive).
    p
        Number of stations (``p_median`` and the flow models; at most the number of candidates).
    max_stations
        Optional cap on the number of stations (``size_stations``).
    penalty_per_swap
        Cost of one unserved peak-hour swap, CNY (``size_stations``).
    range_km
        Vehicle range on a full pack, in the network's length unit (``flow_refueling``; positive).
    method
        ``"milp"`` (exact, warm-started from greedy) or ``"greedy"`` (flow models).
    """

    model: str = "size_stations"
    service_km: float | None = None
    p: int | None = None
    max_stations: int | None = None
    penalty_per_swap: float = 200.0
    range_km: float | None = None
    method: str = "milp"

    _SCHEMA = MappingProxyType(
        {
            "model": _Key("str", "size_stations", choices=("size_stations", "p_median", *FLOW_MODELS)),
            "service_km": _Key("float", None, minimum=0.0, exclusive=True, nullable=True),
            "p": _Key("int", None, minimum=1, nullable=True),
            "max_stations": _Key("int", None, minimum=1, nullable=True),
            "penalty_per_swap": _Key("float", 200.0, minimum=0.0),
            "range_km": _Key("float", None, minimum=0.0, exclusive=True, nullable=True),
            "method": _Key("str", "milp", choices=("milp", "greedy")),
        }
    )

    @classmethod
    def parse(cls, raw: Any, path: str = "siting") -> SitingSpec:
        """Validate a ``[siting]`` table."""
        v = _table(raw, path, cls._SCHEMA)
        model = v["model"]
        if model == "size_stations":
            _require(v["service_km"] is not None, f"{path}.service_km", None, 'required when model = "size_stations"')
        else:
            _require(v["p"] is not None, f"{path}.p", None, f'required when model = "{model}"')
        if model == "flow_refueling":
            _require(v["range_km"] is not None, f"{path}.range_km", None, 'required when model = "flow_refueling"')
        else:
            _require(
                v["range_km"] is None, f"{path}.range_km", v["range_km"], 'only used when model = "flow_refueling"'
            )
        if model not in FLOW_MODELS:
            _require(v["method"] == "milp", f"{path}.method", v["method"], "only used by the flow models")
        return cls(**v)

    @property
    def is_flow(self) -> bool:
        """Whether the model is a flow model (FRLM or FCLM)."""
        return self.model in FLOW_MODELS


@dataclass(frozen=True)
class OperationsSpec:
    """``[operations]``: the one-day charging and rebalancing MILP on the sited stations.

    Attributes
    ----------
    periods
        Periods per day (must divide 1,440 minutes: 24 = hourly, 96 = 15 minutes).
    trucks
        Rebalancing trucks (0 = none).
    truck_capacity
        Packs per truck.
    truck_every
        Trucks may leave every this many periods.
    time_limit
        Solver time limit, s (positive).
    mip_gap
        Relative MIP gap (``None`` = ``solver.mip_gap``).
    lost_penalty
        Cost of one lost swap, CNY.
    """

    periods: int = 24
    trucks: int = 0
    truck_capacity: int = 20
    truck_every: int = 1
    time_limit: float = 30.0
    mip_gap: float | None = None
    lost_penalty: float = 200.0

    _SCHEMA = MappingProxyType(
        {
            "periods": _Key("int", 24, minimum=1),
            "trucks": _Key("int", 0, minimum=0),
            "truck_capacity": _Key("int", 20, minimum=1),
            "truck_every": _Key("int", 1, minimum=1),
            "time_limit": _Key("float", 30.0, minimum=0.0, exclusive=True),
            "mip_gap": _Key("float", None, minimum=0.0, nullable=True),
            "lost_penalty": _Key("float", 200.0, minimum=0.0),
        }
    )

    @classmethod
    def parse(cls, raw: Any, path: str = "operations") -> OperationsSpec:
        """Validate an ``[operations]`` table."""
        v = _table(raw, path, cls._SCHEMA)
        _require(1440 % v["periods"] == 0, f"{path}.periods", v["periods"], "must divide the 1,440 minutes of a day")
        return cls(**v)


@dataclass(frozen=True)
class SimulationSpec:
    """``[simulation]``: stochastic days played on the sited stations.

    Attributes
    ----------
    days
        Observed days per replication (positive).
    replications
        Independent replications (at least 2 for confidence intervals).
    seed
        Random seed.
    warmup_days
        Discarded warm-up days.
    charging_policy
        ``"asap"`` or ``"cheapest"`` (``None``: the simulator's default).
    """

    days: int = 1
    replications: int = 3
    seed: int = 0
    warmup_days: int = 0
    charging_policy: str | None = None

    _SCHEMA = MappingProxyType(
        {
            "days": _Key("int", 1, minimum=1),
            "replications": _Key("int", 3, minimum=2),
            "seed": _Key("int", 0, minimum=0),
            "warmup_days": _Key("int", 0, minimum=0),
            "charging_policy": _Key("str", None, choices=("asap", "cheapest"), nullable=True),
        }
    )


@dataclass(frozen=True)
class PlanSpec:
    """One ``[[plans]]`` entry: a BaaS plan by preset, optionally overriding fields, or explicit fields.

    Attributes
    ----------
    preset
        One of :data:`PLAN_PRESETS`, or ``None`` for a plan given field by field (``name`` and
        ``monthly_rent_cny`` then required).
    fields
        Explicit :class:`~swapnet.economics.BaaSPlan` fields (override the preset's).
    """

    preset: str | None = None
    fields: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    _SCHEMA = MappingProxyType(
        {
            "preset": _Key("str", None, choices=PLAN_PRESETS, nullable=True),
            "name": _Key("str", None, nullable=True),
            "monthly_rent_cny": _Key("float", None, minimum=0.0, nullable=True),
            "included_swaps_per_month": _Key("float", None, minimum=0.0, nullable=True),
            "included_km_per_month": _Key("float", None, minimum=0.0, nullable=True),
            "fee_per_swap_cny": _Key("float", None, minimum=0.0, nullable=True),
            "fee_per_kwh_cny": _Key("float", None, minimum=0.0, nullable=True),
            "min_billed_kwh_per_swap": _Key("float", None, minimum=0.0, nullable=True),
            "extra_km_package_km": _Key("float", None, minimum=0.0, exclusive=True, nullable=True),
            "extra_km_package_cny": _Key("float", None, minimum=0.0, nullable=True),
            "deposit_cny": _Key("float", None, minimum=0.0, nullable=True),
        }
    )

    @classmethod
    def parse(cls, raw: Any, path: str) -> PlanSpec:
        """Validate one ``[[plans]]`` table."""
        v = _table(raw, path, cls._SCHEMA)
        preset = v.pop("preset")
        given = {k: x for k, x in v.items() if x is not None}
        if preset is None:
            for k in ("name", "monthly_rent_cny"):
                _require(k in given, f"{path}.{k}", None, "required when no preset is given")
        km, cny = given.pop("extra_km_package_km", None), given.pop("extra_km_package_cny", None)
        if (km is None) != (cny is None):
            bad = "extra_km_package_cny" if km is not None else "extra_km_package_km"
            raise StudyError(f"{path}.{bad}", None, "extra_km_package_km and extra_km_package_cny go together")
        if km is not None:
            given["extra_km_package"] = (km, cny)
        spec = cls(preset, MappingProxyType(given))
        try:
            spec.build()
        except InvalidInputError as e:
            raise StudyError(f"{path}.{e.field}", e.value, e.reason) from None
        return spec

    def build(self) -> Any:
        """The :class:`~swapnet.economics.BaaSPlan`."""
        from swapnet.economics import BaaSPlan

        if self.preset is None:
            return BaaSPlan(**dict(self.fields))
        return replace(getattr(BaaSPlan, self.preset)(), **dict(self.fields))


@dataclass(frozen=True)
class EconomicsSpec:
    """``[economics]``: user cost comparison and the operator's business case.

    Attributes
    ----------
    months
        Horizon of the users' total cost of ownership, months.
    rate
        Users' yearly discount rate.
    operator_plan
        Index (0-based) in ``plans`` of the plan the operator sells; each segment's ``baas_share`` of
        the vehicles subscribes to it.
    horizon_years
        Operator horizon, years.
    discount_rate
        Operator's yearly discount rate.
    degradation_cny_per_kwh
        Battery wear per kWh delivered, CNY.
    vehicle_packs
        Also buy one pack per subscriber (the rented pack in each car, which the plan's rent pays for)
        in year 0; default ``False`` (only the stations' packs, the earlier behaviour).
    """

    months: int = 60
    rate: float = 0.06
    operator_plan: int = 0
    horizon_years: int = 10
    discount_rate: float = 0.08
    degradation_cny_per_kwh: float = 0.0
    vehicle_packs: bool = False

    _SCHEMA = MappingProxyType(
        {
            "months": _Key("int", 60, minimum=1),
            "rate": _Key("float", 0.06, minimum=0.0),
            "operator_plan": _Key("int", 0, minimum=0),
            "horizon_years": _Key("int", 10, minimum=1),
            "discount_rate": _Key("float", 0.08, minimum=0.0),
            "degradation_cny_per_kwh": _Key("float", 0.0, minimum=0.0),
            "vehicle_packs": _Key("bool", False),
        }
    )


@dataclass(frozen=True)
class SolverSpec:
    """``[solver]``: defaults for the siting MILP.

    Attributes
    ----------
    time_limit
        Siting time limit, s (positive).
    mip_gap
        Relative MIP gap (also the operations default).
    """

    time_limit: float = 60.0
    mip_gap: float = 0.01

    _SCHEMA = MappingProxyType(
        {
            "time_limit": _Key("float", 60.0, minimum=0.0, exclusive=True),
            "mip_gap": _Key("float", 0.01, minimum=0.0),
        }
    )


def _check_flow_study(network: NetworkSpec, demand: DemandSpec, sites: SitesSpec, siting: SitingSpec) -> None:
    """Cross-section checks of flow studies (before anything is loaded or solved)."""
    if siting.is_flow:
        _require(
            network.kind == "file",
            "siting.model",
            siting.model,
            'needs a dataset network (network.kind = "file") for the trips\' paths',
        )
        _require(demand.kind == "od", "siting.model", siting.model, 'needs trips: set demand.kind = "od"')
        _require(
            sites.kind == "nodes",
            "sites.kind",
            sites.kind,
            f'must be "nodes" with siting.model = "{siting.model}" (stations at nodes on the paths)',
        )
        if demand.source == "dataset":
            _require(
                network.has_od,
                "demand.source",
                demand.source,
                f'network.dataset = {network.dataset!r} has no OD table; use source = "gravity"',
            )
    else:
        _require(
            demand.kind == "segments",
            "demand.kind",
            demand.kind,
            f'OD trips need a flow siting model ({", ".join(FLOW_MODELS)}), not "{siting.model}"',
        )


def _simple(cls: Any, raw: Any, path: str) -> Any:
    return cls(**_table(raw, path, cls._SCHEMA))


_DEFAULT_PLANS = (PlanSpec("choco_swap_unlimited"), PlanSpec("nio_baas_75"))


# ------------------------------------------------------------------ study
@dataclass(frozen=True)
class Study:
    """A planning study read from a TOML file (see ``docs/study.md``).

    Attributes
    ----------
    network, demand, sites, pack, design, tariff, siting, operations, simulation, plans, economics, solver
        The sections.
    name
        Study name (for the report title).
    source
        The file it was read from, if any.
    """

    network: NetworkSpec
    demand: DemandSpec
    sites: SitesSpec
    siting: SitingSpec
    pack: PackSpec = PackSpec()
    design: DesignSpec = DesignSpec()
    tariff: TariffSpec = TariffSpec()
    operations: OperationsSpec = OperationsSpec()
    simulation: SimulationSpec = SimulationSpec()
    plans: tuple[PlanSpec, ...] = _DEFAULT_PLANS
    economics: EconomicsSpec = EconomicsSpec()
    solver: SolverSpec = SolverSpec()
    name: str = "study"
    source: Path | None = None

    @classmethod
    def from_toml(cls, path: str | Path) -> Study:
        """Read and validate a study file.

        Raises
        ------
        StudyError
            For a missing file, bad TOML or any invalid key (the message names the key path).
        """
        p = Path(path)
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StudyError("path", str(p), "study file not found") from None
        except tomllib.TOMLDecodeError as e:
            raise StudyError("path", str(p), f"not valid TOML: {e}") from None
        return replace(cls.from_dict(raw), source=p)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Study:
        """Validate a study given as nested dicts (as :mod:`tomllib` returns them).

        Raises
        ------
        StudyError
            Unknown keys (with a suggestion), wrong types, impossible values, missing sections.
        """
        if not isinstance(d, Mapping):
            raise StudyError("study", d, "must be a table")
        known = (*_SECTIONS_REQUIRED, *_SECTIONS_OPTIONAL)
        for key in d:
            if key not in known:
                raise StudyError(str(key), d[key], _suggest(str(key), known).replace("key", "section", 1))
        missing = [s for s in _SECTIONS_REQUIRED if s not in d]
        if missing:
            raise StudyError(missing[0], None, "missing required section(s): " + ", ".join(f"[{s}]" for s in missing))
        name = d.get("name", "study")
        _require(isinstance(name, str), "name", name, "must be a string")
        network = NetworkSpec.parse(d["network"])
        demand = DemandSpec.parse(d["demand"])
        sites = SitesSpec.parse(d["sites"])
        nn = network.n_nodes
        if nn is not None and sites.n is not None:
            _require(sites.n <= nn, "sites.n", sites.n, f"more sites than network nodes ({nn})")
        siting = SitingSpec.parse(d["siting"])
        n_cand = sites.n if sites.kind == "service_stores" else nn
        if siting.p is not None and n_cand is not None:
            _require(siting.p <= n_cand, "siting.p", siting.p, f"more stations than candidate sites ({n_cand})")
        _check_flow_study(network, demand, sites, siting)
        raw_plans = d.get("plans")
        plans: tuple[PlanSpec, ...]
        if raw_plans is None:
            plans = _DEFAULT_PLANS
        else:
            _require(isinstance(raw_plans, list) and len(raw_plans) > 0, "plans", raw_plans, "must be a non-empty list")
            plans = tuple(PlanSpec.parse(p, f"plans[{i}]") for i, p in enumerate(raw_plans))
        economics = _simple(EconomicsSpec, d.get("economics", {}), "economics")
        _require(
            economics.operator_plan < len(plans),
            "economics.operator_plan",
            economics.operator_plan,
            f"no such plan (there are {len(plans)})",
        )
        return cls(
            network=network,
            demand=demand,
            sites=sites,
            siting=siting,
            pack=_simple(PackSpec, d.get("pack", {}), "pack"),
            design=_simple(DesignSpec, d.get("design", {}), "design"),
            tariff=_simple(TariffSpec, d.get("tariff", {}), "tariff"),
            operations=OperationsSpec.parse(d.get("operations", {})),
            simulation=_simple(SimulationSpec, d.get("simulation", {}), "simulation"),
            plans=plans,
            economics=economics,
            solver=_simple(SolverSpec, d.get("solver", {}), "solver"),
            name=name,
        )

    def run(self, outdir: str | Path, *, progress: bool = True) -> StudyResult:
        """Run the study and write its report into ``outdir``.

        Stages: network, demand and sites -> siting -> operations (one day on the sited stations)
        -> simulation -> economics -> report (``report.md``, CSV tables, PNG figures).

        Parameters
        ----------
        outdir
            Output folder (created if needed).
        progress
            Print one line per stage.

        Returns
        -------
        StudyResult
        """
        from swapnet.report import write_report

        result = _run(self, progress=progress)
        t0 = time.perf_counter()
        files = write_report(result, Path(outdir))
        timings = {**result.timings, "report": time.perf_counter() - t0}
        if progress:
            print(f"[6/6] report: {files[0]} and {len(files) - 1} more files ({timings['report']:.1f} s)", flush=True)
        return replace(result, files=tuple(files), timings=MappingProxyType(timings))


@dataclass(frozen=True)
class StudyResult:
    """Everything a study run produced.

    Attributes
    ----------
    study
        The study.
    network, demand, sites, pack, design, tariff
        The built inputs.
    siting
        The :class:`~swapnet.siting.SitingPlan` (verified).
    site_nodes
        Network node of each opened site, in ``siting.sites`` order.
    operations
        The :class:`~swapnet.operations.OperationsPlan` (verified).
    simulation
        The :class:`~swapnet.simulation.SimulationResult`.
    operator
        The operator's :class:`~swapnet.economics.OperatorCase`.
    tables
        KPI tables by name: ``siting``, ``stations``, ``operations``, ``simulation``, ``plans``,
        ``cash_flows``, ``operator``.
    timings
        Seconds per stage.
    files
        Files written by the report (``report.md`` first).
    """

    study: Study
    network: Any
    demand: Any
    sites: Any
    pack: Any
    design: Any
    tariff: Any
    siting: Any
    site_nodes: tuple[Any, ...]
    operations: Any
    simulation: Any
    operator: Any
    tables: Mapping[str, pd.DataFrame]
    timings: Mapping[str, float]
    files: tuple[Path, ...] = ()
    trips: TripDemand | None = None


@dataclass(frozen=True, eq=False)
class TripDemand:
    """The trips of an OD study (``demand.kind = "od"``) and how they turned into swaps.

    Attributes
    ----------
    flows
        Swap-seeking EV trips per day (:class:`~swapnet.flows.ODFlows`, one-way), after the
        ``min_trip_km`` filter: the siting model's input.
    lengths
        Shortest-path length of each flow, network length unit.
    all_trips_per_day
        One-way vehicle trips per day of the whole OD table (``trip_scale`` applied), before EV
        scaling and filtering.
    short_trips_per_day
        Swap-seeking EV trips per day left out as shorter than ``min_trip_km`` (or unreachable).
    swaps_per_trip
        Swaps per refuelled one-way trip of each flow (see :func:`flow_station_swaps`).
    station_swaps
        One row per station: ``site``, ``node``, ``swaps_per_day``, ``flows`` (refuelled flows using
        it) and ``trips_per_day`` (refuelled trips passing it).
    """

    flows: Any
    lengths: Any
    all_trips_per_day: float
    short_trips_per_day: float
    swaps_per_trip: Any
    station_swaps: pd.DataFrame

    @property
    def trips_per_day(self) -> float:
        """Swap-seeking EV trips per day offered to the siting model."""
        return float(self.flows.total)

    @property
    def refuelled_trips_per_day(self) -> float:
        """EV trips per day the stations refuel (FRLM) or capture (FCLM)."""
        return float(self.station_swaps.attrs.get("refuelled_trips", 0.0))


def trip_swaps(lengths: Any, *, range_km: float | None, swaps_per_trip: float | None) -> Any:
    """Swaps per refuelled one-way trip of each flow.

    ``swaps_per_trip`` when given; otherwise, for the FRLM (``range_km`` given),
    ``max(1, ceil(2 L / R)) / 2``: the fewest swaps a round trip of length ``2 L`` can need with range
    ``R`` (at least one, as the FRLM's round-trip rule requires), split over its two one-way legs; for
    the FCLM (no range), 1 (a captured trip is a swap-seeking trip that swaps once).

    Parameters
    ----------
    lengths
        Path length of each flow (network length unit).
    range_km
        Vehicle range (FRLM) or ``None`` (FCLM).
    swaps_per_trip
        Fixed swaps per trip, or ``None``.

    Returns
    -------
    numpy.ndarray
        One value per flow.
    """
    import numpy as np

    L = np.asarray(lengths, dtype=np.float64)
    if swaps_per_trip is not None:
        return np.full(L.shape, float(swaps_per_trip))
    if range_km is None:
        return np.ones(L.shape)
    return np.maximum(1.0, np.ceil(2.0 * L / range_km - 1e-9)) / 2.0


def flow_station_swaps(plan: Any, swaps: Any, nodes: Sequence[Any] | None = None) -> pd.DataFrame:
    """Daily swaps at each station of a flow siting plan (FRLM or FCLM).

    Each refuelled (captured) flow ``q`` with ``f_q`` trips per day and ``s_q`` swaps per trip
    (:func:`trip_swaps`) brings ``f_q s_q`` swaps per day, split equally over the open stations on its
    path (``plan.assignment["stations"]``). The stations' swaps thus sum to ``sum_q f_q s_q`` over the
    refuelled flows.

    Parameters
    ----------
    plan
        A :class:`~swapnet.siting.SitingPlan` of :func:`~swapnet.siting.flow_refueling` or
        :func:`~swapnet.siting.flow_capturing`.
    swaps
        ``s_q``, one value per flow (assignment row).
    nodes
        Network node of each site (default: the site labels).

    Returns
    -------
    pandas.DataFrame
        One row per site in ``plan.sites`` order: ``site``, ``node``, ``swaps_per_day``, ``flows``,
        ``trips_per_day``; ``attrs["refuelled_trips"]`` and ``attrs["swaps"]`` hold the totals.
    """
    import numpy as np

    a = plan.assignment
    vol = a["volume"].to_numpy(dtype=np.float64)
    cov = a["covered"].to_numpy(dtype=bool) & (vol > 0)
    s_q = np.asarray(swaps, dtype=np.float64)
    if s_q.shape != vol.shape:
        raise StudyError("swaps", s_q.shape, f"needs one value per flow ({vol.size})")
    pos = {site: k for k, site in enumerate(plan.sites)}
    m = len(pos)
    swaps_at, flows_at, trips_at = np.zeros(m), np.zeros(m, dtype=np.int64), np.zeros(m)
    stations_col = a["stations"].tolist()
    for q in np.flatnonzero(cov).tolist():
        on_path = [pos[k] for k in stations_col[q] if k in pos]
        if not on_path:  # a covered flow always has an open station on its path
            raise StudyError("siting", plan.model, f"flow {q} is covered but has no open station on its path")
        idx = np.asarray(on_path, dtype=np.int64)
        swaps_at[idx] += vol[q] * s_q[q] / idx.size
        flows_at[idx] += 1
        trips_at[idx] += vol[q]
    out = pd.DataFrame(
        {
            "site": list(plan.sites),
            "node": list(plan.sites) if nodes is None else list(nodes),
            "swaps_per_day": swaps_at,
            "flows": flows_at,
            "trips_per_day": trips_at,
        }
    )
    out.attrs["refuelled_trips"] = float(vol[cov].sum())
    out.attrs["swaps"] = float((vol[cov] * s_q[cov]).sum())
    return out


def _od_trips(study: Study, network: Any, table: Any) -> tuple[Any, Any, float, float]:
    """Swap-seeking EV trips of an OD study: (flows, lengths, all trips per day, short trips per day)."""
    import numpy as np

    from swapnet.flows import ODFlows

    dm = study.demand
    if dm.source == "gravity":
        if table is not None:
            ends: dict[Any, float] = dict.fromkeys(network.labels, 0.0)
            for o, d, v in zip(table.origins, table.destinations, table.volumes.tolist(), strict=True):
                ends[o] += v
                ends[d] += v
            weights = {k: w for k, w in ends.items() if w > 0}
        else:
            weights = dict.fromkeys(network.labels, 1.0)
        raw = ODFlows.gravity(network, weights, beta=dm.gravity_beta, symmetric=False)
        assert dm.trips_per_day is not None
        base = ODFlows(raw.origins, raw.destinations, raw.volumes * (dm.trips_per_day / max(raw.total, 1e-300)))
    else:
        if table is None:
            raise StudyError("demand.source", dm.source, f"network.dataset = {study.network.dataset!r} has no OD table")
        base = ODFlows(table.origins, table.destinations, table.volumes * dm.trip_scale)
    all_trips = base.total
    labels = list(dict.fromkeys([*base.origins, *base.destinations]))
    where = {lab: i for i, lab in enumerate(labels)}
    dist = network.distances(labels, labels)
    oi = np.asarray([where[o] for o in base.origins], dtype=np.int64)
    di = np.asarray([where[d] for d in base.destinations], dtype=np.int64)
    lengths = dist[oi, di] if len(base) else np.zeros(0)
    ev = base.volumes * (dm.ev_share or 0.0) * dm.swap_share
    keep = np.isfinite(lengths) & (lengths >= dm.min_trip_km) & (ev > 0) & (oi != di)
    short = float(ev[~keep].sum())
    flows = ODFlows(
        [base.origins[i] for i in np.flatnonzero(keep)], [base.destinations[i] for i in np.flatnonzero(keep)], ev[keep]
    )
    return flows, lengths[keep], all_trips, short


def _run(study: Study, *, progress: bool) -> StudyResult:
    import numpy as np

    from swapnet.assets import CandidateSites
    from swapnet.demand import DailyProfile, NodeDemand
    from swapnet.economics import OperatorCase, PlanUsers, compare_plans
    from swapnet.operations import TruckFleet, demand_at_stations, plan_operations, stations_from_plan
    from swapnet.optim import SolveOptions
    from swapnet.simulation import simulate
    from swapnet.siting import flow_capturing, flow_refueling, p_median, size_stations
    from swapnet.synthetic import city_demand, city_grid, service_store_sites

    timings: dict[str, float] = {}

    def say(msg: str) -> None:
        if progress:
            print(msg, flush=True)

    # 1. inputs
    t = time.perf_counter()
    net = study.network
    table = None
    if net.kind == "city_grid":
        network = city_grid(net.rows, net.cols, spacing_km=net.spacing_km, seed=net.seed)
    else:
        from swapnet.io import load_network

        assert net.dataset is not None
        network, table = load_network(net.dataset)
    dm = study.demand
    pack, design, tariff = study.pack.build(), study.design.build(), study.tariff.build()
    od = dm.kind == "od"
    flows: Any = None
    lengths: Any = None
    all_trips = short_trips = 0.0
    if od:
        flows, lengths, all_trips, short_trips = _od_trips(study, network, table)
        if len(flows) == 0:
            raise StudyError("demand.min_trip_km", dm.min_trip_km, "no trip left to serve (all shorter or unreachable)")
        demand: Any = None
        labels = list(network.labels)
        sites = CandidateSites(labels, labels, design.capex_cny, kind="node")
        what = f"{len(flows):,} OD flows, {flows.total:,.0f} swap-seeking EV trips/day"
    else:
        segments = [s.fleet_segment() for s in dm.segments]
        weights = None
        if network.coords is not None:
            w = city_demand(
                network, total_swaps_per_day=1.0, seed=dm.seed, centre_weight=dm.centre_weight, noise=dm.noise
            )
            weights = w.as_dict()
        demand = NodeDemand.from_segments(network, segments, weights=weights)
        if study.sites.kind == "nodes":
            labels = list(network.labels)
            sites = CandidateSites(labels, labels, design.capex_cny, kind="node")
        else:
            n_sites = study.sites.n
            assert n_sites is not None
            if n_sites > network.n_nodes:
                raise StudyError("sites.n", n_sites, f"more sites than network nodes ({network.n_nodes})")
            sites = service_store_sites(network, n_sites, seed=study.sites.seed, demand=demand)
        what = f"{demand.total:,.0f} swaps/day"
    st = study.siting
    if st.p is not None and st.p > len(sites):
        raise StudyError("siting.p", st.p, f"more stations than candidate sites ({len(sites)})")
    timings["inputs"] = time.perf_counter() - t
    say(f"[1/6] inputs: {network.n_nodes} nodes, {what}, {len(sites)} candidate sites ({timings['inputs']:.1f} s)")

    # 2. siting
    t = time.perf_counter()
    sv = study.solver
    sopts = SolveOptions(time_limit=sv.time_limit, mip_gap=sv.mip_gap)
    if st.model == "size_stations":
        assert st.service_km is not None
        siting = size_stations(
            network,
            demand,
            sites,
            design,
            pack,
            service_km=st.service_km,
            penalty_per_swap=st.penalty_per_swap,
            max_stations=st.max_stations,
            options=sopts,
        )
    elif st.model == "p_median":
        assert st.p is not None
        siting = p_median(network, None, st.p, demand=demand, candidates=sites, options=sopts)
    elif st.model == "flow_refueling":
        assert st.range_km is not None
        siting = flow_refueling(
            network, flows, st.range_km, st.p, candidates=list(sites.nodes), options=sopts, method=st.method
        )
    else:
        siting = flow_capturing(network, flows, st.p, candidates=list(sites.nodes), options=sopts, method=st.method)
    siting = siting.verify()
    node_of = dict(zip(sites.labels, sites.nodes, strict=True))
    site_nodes = tuple(node_of[s] for s in siting.sites)
    trips: TripDemand | None = None
    if od:
        assert flows is not None
        s_q = trip_swaps(lengths, range_km=st.range_km, swaps_per_trip=dm.swaps_per_trip)
        table_sw = flow_station_swaps(siting, s_q, site_nodes)
        trips = TripDemand(flows, lengths, all_trips, short_trips, s_q, table_sw)
        if table_sw.attrs["swaps"] <= 0:
            bad = ("siting.range_km", st.range_km) if st.range_km is not None else ("siting.p", st.p)
            raise StudyError(bad[0], bad[1], "no trip can be refuelled by the stations; nothing to operate")
        profile = getattr(DailyProfile, dm.profile)()
        at_stations = NodeDemand(site_nodes, table_sw["swaps_per_day"].to_numpy(dtype=np.float64), profile)
        demand = at_stations
    timings["siting"] = time.perf_counter() - t
    extra = ""
    if trips is not None:
        extra = (
            f"; {trips.refuelled_trips_per_day:,.0f} of {trips.trips_per_day:,.0f} trips/day refuelled "
            f"({trips.refuelled_trips_per_day / trips.trips_per_day:.1%}), {demand.total:,.0f} swaps/day"
        )
    say(f"[2/6] {siting.summary()}{extra}")

    # 3. operations
    t = time.perf_counter()
    op = study.operations
    stations = stations_from_plan(siting, design, nodes=list(site_nodes))
    if not od:
        at_stations = demand_at_stations(siting, demand, nodes=list(site_nodes))
    trucks = TruckFleet(count=op.trucks, capacity=op.truck_capacity, every=op.truck_every) if op.trucks else None
    ops = plan_operations(
        stations,
        at_stations,
        tariff,
        periods=op.periods,
        pack=pack,
        trucks=trucks,
        network=network if trucks is not None else None,
        lost_penalty=op.lost_penalty,
        options=SolveOptions(time_limit=op.time_limit, mip_gap=sv.mip_gap if op.mip_gap is None else op.mip_gap),
    ).verify()
    timings["operations"] = time.perf_counter() - t
    say(f"[3/6] {ops.summary()}")

    # 4. simulation (OD studies: the stations' derived hourly swap rates arrive at the stations)
    t = time.perf_counter()
    sm = study.simulation
    sim = simulate(
        siting,
        at_stations.hourly() if od else demand,
        pack=pack,
        network=network,
        design=design,
        candidates=sites,
        tariff=tariff,
        days=sm.days,
        replications=sm.replications,
        warmup_days=sm.warmup_days,
        seed=sm.seed,
        charging_policy=sm.charging_policy,
        progress=False,
    )
    timings["simulation"] = time.perf_counter() - t
    say(f"[4/6] simulation: {sim.summary()}")

    # 5. economics
    t = time.perf_counter()
    ec = study.economics
    plans = [p.build() for p in study.plans]
    labels_p = _unique([p.name for p in plans])
    sold = plans[ec.operator_plan]
    if od:
        user = dm.user_segment()
        users = [user]
        # subscriber-equivalents: the swaps served per month over one subscriber's swaps per month
        equiv = demand.total * DAYS_PER_MONTH / user.swaps_per_month
        subscribers: tuple[Any, ...] = (PlanUsers(sold, user, dm.baas_share * equiv),)
    else:
        users = [s.user_segment() for s in dm.segments]
        subscribers = tuple(
            PlanUsers(sold, u, s.vehicles * s.baas_share) for u, s in zip(users, dm.segments, strict=True)
        )
    comparison = compare_plans(dict(zip(labels_p, plans, strict=True)), users, months=ec.months, rate=ec.rate)
    sized = siting.details.get("stations")
    if sized is not None and len(sized):
        batteries = round(float(np.mean(sized["batteries"].to_numpy(dtype=float))))
    else:
        batteries = design.batteries
    n_sub = sum(u.count for u in subscribers)
    n_st = max(len(siting.sites), 1)
    if ec.vehicle_packs:  # the subscribers' packs, spread over the stations (OperatorCase counts packs per station)
        batteries += math.ceil(n_sub / n_st - 1e-9)
    operator = OperatorCase(
        stations=n_st,
        capex_per_station_cny=design.capex_cny,
        batteries_per_station=int(batteries),
        pack_cost_cny=pack.cost_cny,
        opex_per_station_cny_per_year=design.opex_cny_per_year,
        electricity_cny_per_year=ops,
        users=subscribers,
        degradation_cny_per_kwh=ec.degradation_cny_per_kwh,
        horizon_years=ec.horizon_years,
        discount_rate=ec.discount_rate,
    )
    timings["economics"] = time.perf_counter() - t
    summ = operator.summary()
    say(
        f"[5/6] economics: {len(plans)} plans x {len(users)} segments; {n_sub:,.0f} subscribers; operator NPV "
        f"{summ['npv']:,.0f} CNY, IRR {summ['irr']:.1%} ({timings['economics']:.1f} s)"
    )
    tables = _tables(siting, ops, sim, comparison, operator)
    if trips is not None:
        tables = _flow_tables(tables, trips, siting)
    return StudyResult(
        study=study,
        network=network,
        demand=demand,
        sites=sites,
        pack=pack,
        design=design,
        tariff=tariff,
        siting=siting,
        site_nodes=site_nodes,
        operations=ops,
        simulation=sim,
        operator=operator,
        tables=MappingProxyType(tables),
        timings=MappingProxyType(timings),
        trips=trips,
    )


def _flow_tables(tables: dict[str, pd.DataFrame], trips: TripDemand, siting: Any) -> dict[str, pd.DataFrame]:
    """Add the trip summary (``flows``) and the derived swaps per station to an OD study's tables."""
    import numpy as np

    out = dict(tables)
    sw = trips.station_swaps[["site", "node", "swaps_per_day", "flows", "trips_per_day"]]
    out["stations"] = sw.merge(tables["stations"], on="site", how="left")
    covered = siting.assignment["covered"].to_numpy(dtype=bool)
    vol = trips.flows.volumes
    L = np.asarray(trips.lengths, dtype=np.float64)
    rows = [
        ("all one-way trips per day (OD table x trip_scale)", trips.all_trips_per_day),
        ("swap-seeking EV trips per day (x ev_share x swap_share)", trips.trips_per_day + trips.short_trips_per_day),
        ("  of which shorter than min_trip_km (left out)", trips.short_trips_per_day),
        ("EV trips per day offered to the siting model", trips.trips_per_day),
        ("OD flows offered", float(len(trips.flows))),
        ("refuelled EV trips per day", trips.refuelled_trips_per_day),
        ("refuelled share of offered trips", trips.refuelled_trips_per_day / max(trips.trips_per_day, 1e-300)),
        ("refuelled OD flows", float(covered.sum())),
        ("mean trip length (offered, trip-weighted)", float((vol * L).sum() / max(vol.sum(), 1e-300))),
        ("mean trip length (refuelled, trip-weighted)",
         float((vol * L)[covered].sum() / max(vol[covered].sum(), 1e-300))),
        ("swaps per day at the stations", float(trips.station_swaps["swaps_per_day"].sum())),
    ]  # fmt: skip
    out = {"flows": pd.DataFrame(rows, columns=["metric", "value"]), **out}
    return out


def _unique(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        label, k = n, 2
        while label in out:
            label, k = f"{n} ({k})", k + 1
        out.append(label)
    return out


def _tables(siting: Any, ops: Any, sim: Any, comparison: pd.DataFrame, operator: Any) -> dict[str, pd.DataFrame]:
    siting_tab = pd.DataFrame(
        [
            {
                "model": siting.model,
                "stations": len(siting.sites),
                "objective": siting.objective,
                "bound": siting.bound,
                "gap": siting.gap,
                "covered": siting.covered,
                "status": siting.status.value,
                "solve_seconds": siting.solve_seconds,
            }
        ]
    )
    sized = siting.details.get("stations")
    stations = sized.copy() if sized is not None else pd.DataFrame({"site": list(siting.sites)})
    sch = ops.schedule
    per_station = sch.groupby("station", sort=False)[["demand", "served", "lost"]].sum()
    per_station["peak_kw"] = sch.groupby("station", sort=False)["charging_kw"].max()
    stations = stations.merge(
        per_station.rename(columns=lambda c: f"ops_{c}"), left_on="site", right_index=True, how="left"
    )
    op_costs = pd.DataFrame(
        {
            "term": [*ops.costs.keys(), "peak_kw", "lost_swaps"],
            "value": [*ops.costs.values(), ops.peak_kw, ops.lost_swaps],
        }
    )
    sim_kpis = sim.network_kpis().reset_index()
    cash = operator.cash_flows().reset_index()
    op_summary = pd.DataFrame(
        [
            {"metric": "capex_cny", "value": operator.capex_cny},
            {"metric": "electricity_cny_per_year", "value": operator.electricity_cost_cny_per_year},
            *({"metric": k, "value": v} for k, v in operator.summary().items()),
        ]
    )
    plans = comparison.reset_index().rename(columns={"index": "plan"})
    return {
        "siting": siting_tab,
        "stations": stations,
        "operations": op_costs,
        "simulation": sim_kpis,
        "plans": plans,
        "cash_flows": cash,
        "operator": op_summary,
    }
