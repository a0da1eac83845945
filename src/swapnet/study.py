"""Study files: a whole planning study (network -> demand -> siting -> operations -> simulation -> economics).

A study is described by a TOML file (see ``docs/study.md``) and read into :class:`Study`, a tree of
frozen dataclasses. :meth:`Study.from_toml` / :meth:`Study.from_dict` check every key *before*
anything is solved: unknown keys fail with their full path and a "did you mean ...?" suggestion,
wrong types and impossible values fail with their path (e.g. ``demand.segments[1].vehicles``), and
missing sections are named. :meth:`Study.run` chains the models and writes a report
(:func:`swapnet.report.write_report`).
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
]

#: Battery-pack presets (names of :class:`~swapnet.assets.BatteryPack` class methods).
PACK_PRESETS: tuple[str, ...] = ("catl_25_lfp", "catl_25_ncm", "catl_20_lfp", "catl_20_ncm")
#: Station-design presets (names of :class:`~swapnet.assets.StationDesign` class methods).
DESIGN_PRESETS: tuple[str, ...] = ("choco_swap", "nio_pss2", "nio_pss3", "nio_pss4")
#: BaaS plan presets (names of :class:`~swapnet.economics.BaaSPlan` class methods).
PLAN_PRESETS: tuple[str, ...] = ("nio_baas_75", "choco_swap_unlimited", "choco_family", "evogo_block")
#: Fleet-segment kinds (names of :class:`~swapnet.demand.FleetSegment` class methods).
SEGMENT_KINDS: tuple[str, ...] = ("private", "ride_hailing", "taxi")

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
        return cls(**v)

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
    """

    kind: str
    vehicles: float
    swaps_per_vehicle_month: float | None = None

    _SCHEMA = MappingProxyType(
        {
            "kind": _Key("str", choices=SEGMENT_KINDS),
            "vehicles": _Key("float", minimum=0.0),
            "swaps_per_vehicle_month": _Key("float", None, minimum=0.0, nullable=True),
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
    """``[demand]``: fleets whose swaps spread over the nodes, denser downtown.

    Attributes
    ----------
    segments
        Fleet segments (at least one).
    seed
        Seed of the spatial noise.
    centre_weight
        How strongly demand concentrates in the centre (see :func:`swapnet.synthetic.city_demand`).
    noise
        Log-standard deviation of the node weights' noise.
    """

    segments: tuple[SegmentSpec, ...]
    seed: int = 0
    centre_weight: float = 1.0
    noise: float = 0.3

    _SCHEMA = MappingProxyType(
        {
            "seed": _Key("int", 0, minimum=0),
            "centre_weight": _Key("float", 1.0, minimum=0.0),
            "noise": _Key("float", 0.3, minimum=0.0),
        }
    )

    @classmethod
    def parse(cls, raw: Any, path: str = "demand") -> DemandSpec:
        """Validate a ``[demand]`` table."""
        if not isinstance(raw, Mapping):
            raise StudyError(path, raw, "must be a table")
        rest = {k: v for k, v in raw.items() if k != "segments"}
        schema = {**cls._SCHEMA, "segments": _Key("str")}
        for key in rest:
            if key not in schema:
                raise StudyError(_join(path, str(key)), rest[key], _suggest(str(key), list(schema)))
        v = _table(rest, path, cls._SCHEMA)
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


@dataclass(frozen=True)
class SitesSpec:
    """``[sites]``: candidate sites, placed like a chain of service stores.

    Attributes
    ----------
    kind
        ``"service_stores"`` (:func:`swapnet.synthetic.service_store_sites`, weighted by demand).
    n
        Number of candidate sites (positive, at most the number of nodes).
    seed
        Random seed.
    """

    kind: str = "service_stores"
    n: int = 60
    seed: int = 0

    _SCHEMA = MappingProxyType(
        {
            "kind": _Key("str", "service_stores", choices=("service_stores",)),
            "n": _Key("int", minimum=1),
            "seed": _Key("int", 0, minimum=0),
        }
    )


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
        ``"size_stations"`` (open and size stations to serve the peak hour within ``service_km``) or
        ``"p_median"`` (open ``p`` stations closest to demand, built to the design as it is).
    service_km
        Service distance, km (``size_stations``; positive).
    p
        Number of stations (``p_median``; at most ``sites.n``).
    max_stations
        Optional cap on the number of stations (``size_stations``).
    penalty_per_swap
        Cost of one unserved peak-hour swap, CNY (``size_stations``).
    """

    model: str = "size_stations"
    service_km: float | None = None
    p: int | None = None
    max_stations: int | None = None
    penalty_per_swap: float = 200.0

    _SCHEMA = MappingProxyType(
        {
            "model": _Key("str", "size_stations", choices=("size_stations", "p_median")),
            "service_km": _Key("float", None, minimum=0.0, exclusive=True, nullable=True),
            "p": _Key("int", None, minimum=1, nullable=True),
            "max_stations": _Key("int", None, minimum=1, nullable=True),
            "penalty_per_swap": _Key("float", 200.0, minimum=0.0),
        }
    )

    @classmethod
    def parse(cls, raw: Any, path: str = "siting") -> SitingSpec:
        """Validate a ``[siting]`` table."""
        v = _table(raw, path, cls._SCHEMA)
        if v["model"] == "size_stations":
            _require(v["service_km"] is not None, f"{path}.service_km", None, 'required when model = "size_stations"')
        else:
            _require(v["p"] is not None, f"{path}.p", None, 'required when model = "p_median"')
        return cls(**v)


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
        Index (0-based) in ``plans`` of the plan the operator sells; every fleet vehicle subscribes.
    horizon_years
        Operator horizon, years.
    discount_rate
        Operator's yearly discount rate.
    degradation_cny_per_kwh
        Battery wear per kWh delivered, CNY.
    """

    months: int = 60
    rate: float = 0.06
    operator_plan: int = 0
    horizon_years: int = 10
    discount_rate: float = 0.08
    degradation_cny_per_kwh: float = 0.0

    _SCHEMA = MappingProxyType(
        {
            "months": _Key("int", 60, minimum=1),
            "rate": _Key("float", 0.06, minimum=0.0),
            "operator_plan": _Key("int", 0, minimum=0),
            "horizon_years": _Key("int", 10, minimum=1),
            "discount_rate": _Key("float", 0.08, minimum=0.0),
            "degradation_cny_per_kwh": _Key("float", 0.0, minimum=0.0),
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
        sites = _simple(SitesSpec, d["sites"], "sites")
        nn = network.n_nodes
        if nn is not None:
            _require(sites.n <= nn, "sites.n", sites.n, f"more sites than network nodes ({nn})")
        siting = SitingSpec.parse(d["siting"])
        if siting.p is not None:
            _require(siting.p <= sites.n, "siting.p", siting.p, f"more stations than candidate sites ({sites.n})")
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


def _run(study: Study, *, progress: bool) -> StudyResult:
    import numpy as np

    from swapnet.demand import NodeDemand
    from swapnet.economics import OperatorCase, PlanUsers, compare_plans
    from swapnet.operations import TruckFleet, demand_at_stations, plan_operations, stations_from_plan
    from swapnet.optim import SolveOptions
    from swapnet.simulation import simulate
    from swapnet.siting import p_median, size_stations
    from swapnet.synthetic import city_demand, city_grid, service_store_sites

    timings: dict[str, float] = {}

    def say(msg: str) -> None:
        if progress:
            print(msg, flush=True)

    # 1. inputs
    t = time.perf_counter()
    net = study.network
    if net.kind == "city_grid":
        network = city_grid(net.rows, net.cols, spacing_km=net.spacing_km, seed=net.seed)
    else:
        from swapnet.io import load_network

        assert net.dataset is not None
        network, _ = load_network(net.dataset)
    dm = study.demand
    segments = [s.fleet_segment() for s in dm.segments]
    weights = None
    if network.coords is not None:
        w = city_demand(network, total_swaps_per_day=1.0, seed=dm.seed, centre_weight=dm.centre_weight, noise=dm.noise)
        weights = w.as_dict()
    demand = NodeDemand.from_segments(network, segments, weights=weights)
    n_sites = study.sites.n
    if n_sites > network.n_nodes:
        raise StudyError("sites.n", n_sites, f"more sites than network nodes ({network.n_nodes})")
    sites = service_store_sites(network, n_sites, seed=study.sites.seed, demand=demand)
    pack, design, tariff = study.pack.build(), study.design.build(), study.tariff.build()
    timings["inputs"] = time.perf_counter() - t
    say(
        f"[1/6] inputs: {network.n_nodes} nodes, {demand.total:,.0f} swaps/day, {len(sites)} candidate sites "
        f"({timings['inputs']:.1f} s)"
    )

    # 2. siting
    t = time.perf_counter()
    sv = study.solver
    sopts = SolveOptions(time_limit=sv.time_limit, mip_gap=sv.mip_gap)
    st = study.siting
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
    else:
        assert st.p is not None
        siting = p_median(network, None, st.p, demand=demand, candidates=sites, options=sopts)
    siting = siting.verify()
    node_of = dict(zip(sites.labels, sites.nodes, strict=True))
    site_nodes = tuple(node_of[s] for s in siting.sites)
    timings["siting"] = time.perf_counter() - t
    say(f"[2/6] {siting.summary()}")

    # 3. operations
    t = time.perf_counter()
    op = study.operations
    stations = stations_from_plan(siting, design, nodes=list(site_nodes))
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

    # 4. simulation
    t = time.perf_counter()
    sm = study.simulation
    sim = simulate(
        siting,
        demand,
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
    labels = _unique([p.name for p in plans])
    users = [s.user_segment() for s in dm.segments]
    comparison = compare_plans(dict(zip(labels, plans, strict=True)), users, months=ec.months, rate=ec.rate)
    sized = siting.details.get("stations")
    if sized is not None and len(sized):
        batteries = round(float(np.mean(sized["batteries"].to_numpy(dtype=float))))
    else:
        batteries = design.batteries
    sold = plans[ec.operator_plan]
    operator = OperatorCase(
        stations=max(len(siting.sites), 1),
        capex_per_station_cny=design.capex_cny,
        batteries_per_station=int(batteries),
        pack_cost_cny=pack.cost_cny,
        opex_per_station_cny_per_year=design.opex_cny_per_year,
        electricity_cny_per_year=ops,
        users=tuple(PlanUsers(sold, u, s.vehicles) for u, s in zip(users, dm.segments, strict=True)),
        degradation_cny_per_kwh=ec.degradation_cny_per_kwh,
        horizon_years=ec.horizon_years,
        discount_rate=ec.discount_rate,
    )
    timings["economics"] = time.perf_counter() - t
    summ = operator.summary()
    say(
        f"[5/6] economics: {len(plans)} plans x {len(users)} segments; operator NPV {summ['npv']:,.0f} CNY, "
        f"IRR {summ['irr']:.1%} ({timings['economics']:.1f} s)"
    )
    tables = _tables(siting, ops, sim, comparison, operator)
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
    )


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
