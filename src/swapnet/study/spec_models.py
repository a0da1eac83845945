"""Study sections describing the models: siting, operations, simulation, plans, economics, solver."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from swapnet.economics import BaaSPlan
from swapnet.errors import InvalidInputError
from swapnet.study._schema import FLOW_MODELS, MATRIX_MODELS, PLAN_PRESETS, StudyError, _Key, _require, _table


@dataclass(frozen=True)
class SitingSpec:
    """``[siting]``: which stations to open.

    Attributes
    ----------
    model
        ``"size_stations"`` (open and size stations to serve the peak hour within ``service_km``),
        ``"p_median"`` (open ``p`` stations closest to demand, built to the design as it is),
        ``"set_cover"`` (the fewest/cheapest stations putting all demand within ``service_km``),
        ``"max_coverage"`` (open ``p`` stations covering the most demand within ``service_km``),
        ``"flow_refueling"`` (FRLM, Kuby & Lim 2005: open ``p`` stations refuelling the most trips of
        range ``range_km``) or ``"flow_capturing"`` (FCLM, Hodgson 1990: open ``p`` stations on the paths
        of the most trips).
    service_km
        Service distance, km (``size_stations``, ``set_cover``, ``max_coverage``; positive).
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
    service_level
        Target share of drivers served at each station (``size_stations``; e.g. ``0.98``). Stations are
        sized by the queueing model (``size_stations(..., service_level=)``), then the study simulates
        them with the plan's routing and resizes every station whose simulated service (or its lower
        95 % bound) is below target, until all meet it or reach their site limits.
    service_iterations
        Most simulate-and-resize rounds of the ``service_level`` loop (positive).
    fallback_km
        Reach for demand out of reach (``size_stations``; at least ``service_km``): a node with no
        candidate site within ``service_km`` may be served by a station within ``fallback_km`` (its
        drivers travel further); every other node is still served within ``service_km``. The report's
        ``reach`` table lists those nodes and how far their station is. ``None`` (default): they stay
        unserved ("no station within reach").
    """

    model: str = "size_stations"
    service_km: float | None = None
    p: int | None = None
    max_stations: int | None = None
    penalty_per_swap: float = 200.0
    range_km: float | None = None
    method: str = "milp"
    service_level: float | None = None
    service_iterations: int = 8
    fallback_km: float | None = None

    _SCHEMA = MappingProxyType(
        {
            "model": _Key("str", "size_stations", choices=("size_stations", *MATRIX_MODELS, *FLOW_MODELS)),
            "service_km": _Key("float", None, minimum=0.0, exclusive=True, nullable=True),
            "p": _Key("int", None, minimum=1, nullable=True),
            "max_stations": _Key("int", None, minimum=1, nullable=True),
            "penalty_per_swap": _Key("float", 200.0, minimum=0.0),
            "range_km": _Key("float", None, minimum=0.0, exclusive=True, nullable=True),
            "method": _Key("str", "milp", choices=("milp", "greedy")),
            "service_level": _Key("float", None, minimum=0.0, exclusive=True, maximum=0.9999, nullable=True),
            "service_iterations": _Key("int", 8, minimum=1),
            "fallback_km": _Key("float", None, minimum=0.0, exclusive=True, nullable=True),
        }
    )

    @classmethod
    def parse(cls, raw: Any, path: str = "siting") -> SitingSpec:
        """Validate a ``[siting]`` table."""
        v = _table(raw, path, cls._SCHEMA)
        model = v["model"]
        if model in ("size_stations", "set_cover", "max_coverage"):
            _require(v["service_km"] is not None, f"{path}.service_km", None, f'required when model = "{model}"')
        if model == "set_cover":
            _require(
                v["p"] is None, f"{path}.p", v["p"], 'not used when model = "set_cover" (it opens as few as it needs)'
            )
        elif model != "size_stations":
            _require(v["p"] is not None, f"{path}.p", None, f'required when model = "{model}"')
        if model == "flow_refueling":
            _require(v["range_km"] is not None, f"{path}.range_km", None, 'required when model = "flow_refueling"')
        else:
            _require(
                v["range_km"] is None, f"{path}.range_km", v["range_km"], 'only used when model = "flow_refueling"'
            )
        if model not in FLOW_MODELS:
            _require(v["method"] == "milp", f"{path}.method", v["method"], "only used by the flow models")
        if v["service_level"] is not None:
            _require(
                model == "size_stations", f"{path}.service_level", v["service_level"], 'needs model = "size_stations"'
            )
        if v["fallback_km"] is not None:
            _require(model == "size_stations", f"{path}.fallback_km", v["fallback_km"], 'needs model = "size_stations"')
            _require(
                v["fallback_km"] >= v["service_km"], f"{path}.fallback_km", v["fallback_km"],
                f"must be at least service_km ({v['service_km']:g})",
            )  # fmt: skip
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
    threads
        Solver threads (default 1: the same answer whatever else runs on the machine).
    """

    periods: int = 24
    trucks: int = 0
    truck_capacity: int = 20
    truck_every: int = 1
    time_limit: float = 30.0
    mip_gap: float | None = None
    lost_penalty: float = 200.0
    threads: int = 1

    _SCHEMA = MappingProxyType(
        {
            "periods": _Key("int", 24, minimum=1, maximum=1440),
            "trucks": _Key("int", 0, minimum=0, maximum=10000),
            "truck_capacity": _Key("int", 20, minimum=1, maximum=100000),
            "truck_every": _Key("int", 1, minimum=1),
            "time_limit": _Key("float", 30.0, minimum=0.0, exclusive=True, maximum=1e6),
            "mip_gap": _Key("float", None, minimum=0.0, below=1.0, nullable=True),
            "lost_penalty": _Key("float", 200.0, minimum=0.0),
            "threads": _Key("int", 1, minimum=1, maximum=1024),
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
    routing
        ``"plan"`` (default): drivers go where the siting plan assigns them, the demand operations
        plans for; ``"nearest"``: each driver to the nearest station.
    """

    days: int = 1
    replications: int = 3
    seed: int = 0
    warmup_days: int = 0
    charging_policy: str | None = None
    routing: str = "plan"

    _SCHEMA = MappingProxyType(
        {
            "days": _Key("int", 1, minimum=1, maximum=3660),
            "replications": _Key("int", 3, minimum=2, maximum=10000),
            "seed": _Key("int", 0, minimum=0),
            "warmup_days": _Key("int", 0, minimum=0, maximum=3660),
            "charging_policy": _Key("str", None, choices=("asap", "cheapest"), nullable=True),
            "routing": _Key("str", "plan", choices=("plan", "nearest")),
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

    def build(self) -> BaaSPlan:
        """The :class:`~swapnet.economics.BaaSPlan`."""
        if self.preset is None:
            return BaaSPlan(**dict(self.fields))
        base: BaaSPlan = getattr(BaaSPlan, self.preset)()
        return replace(base, **dict(self.fields))


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
            "months": _Key("int", 60, minimum=1, maximum=1200),
            "rate": _Key("float", 0.06, minimum=0.0, maximum=1.0),
            "operator_plan": _Key("int", 0, minimum=0),
            "horizon_years": _Key("int", 10, minimum=1, maximum=100),
            "discount_rate": _Key("float", 0.08, minimum=0.0, maximum=1.0),
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
    threads
        Solver threads for siting (default 1: the same answer whatever else runs on the machine).
    """

    time_limit: float = 60.0
    mip_gap: float = 0.01
    threads: int = 1

    _SCHEMA = MappingProxyType(
        {
            "time_limit": _Key("float", 60.0, minimum=0.0, exclusive=True, maximum=1e6),
            "mip_gap": _Key("float", 0.01, minimum=0.0, below=1.0),
            "threads": _Key("int", 1, minimum=1, maximum=1024),
        }
    )
