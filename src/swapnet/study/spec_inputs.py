"""Study sections describing the inputs: network, demand, sites, pack, design, tariff."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from swapnet.assets import BatteryPack, StationDesign
from swapnet.demand import FleetSegment
from swapnet.economics import UserSegment
from swapnet.io.datasets import DATASETS
from swapnet.study._schema import (
    _NO_OD_DATASETS,
    DESIGN_PRESETS,
    PACK_PRESETS,
    PROFILES,
    SEGMENT_KINDS,
    StudyError,
    _dataset_key,
    _join,
    _Key,
    _require,
    _suggest,
    _table,
    _value,
)
from swapnet.tariff import TouTariff


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

    def fleet_segment(self) -> FleetSegment:
        """The :class:`~swapnet.demand.FleetSegment`."""
        make = getattr(FleetSegment, self.kind)
        seg: FleetSegment = make(self.vehicles)
        if self.swaps_per_vehicle_month is not None:
            seg = make(self.vehicles, self.swaps_per_vehicle_month)
        return seg

    def user_segment(self) -> UserSegment:
        """The matching :class:`~swapnet.economics.UserSegment` (one vehicle's month)."""
        user: UserSegment = getattr(UserSegment, self.kind)(self.fleet_segment().swaps_per_vehicle_month)
        return user


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

    def user_segment(self) -> UserSegment:
        """The :class:`~swapnet.economics.UserSegment` of ``segment`` (``"od"`` demand)."""
        make = getattr(UserSegment, self.segment)
        user: UserSegment = make() if self.swaps_per_vehicle_month is None else make(self.swaps_per_vehicle_month)
        return user


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

    def build(self) -> BatteryPack:
        """The :class:`~swapnet.assets.BatteryPack`."""
        pack: BatteryPack = getattr(BatteryPack, self.preset)()
        return pack


@dataclass(frozen=True)
class DesignSpec:
    """``[design]``: the station design, by preset name (one of :data:`DESIGN_PRESETS`)."""

    preset: str = "choco_swap"

    _SCHEMA = MappingProxyType({"preset": _Key("str", "choco_swap", choices=DESIGN_PRESETS)})

    def build(self) -> StationDesign:
        """The :class:`~swapnet.assets.StationDesign`."""
        design: StationDesign = getattr(StationDesign, self.preset)()
        return design


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

    def build(self) -> TouTariff:
        """The :class:`~swapnet.tariff.TouTariff`."""
        return TouTariff.guangdong(self.flat_price, critical_peak=self.critical_peak)
