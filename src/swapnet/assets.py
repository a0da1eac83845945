"""Physical assets: battery packs, swap-station designs and candidate station sites.

Units: energy kWh, power kW (grid side), time minutes or hours as named,
money CNY. Sources for preset values are in ``docs/domain.md`` (DOMAIN.md
tags: S sourced, S-3p weak source, D derived, A assumption).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from swapnet import _validate as _v
from swapnet.demand import DailyProfile
from swapnet.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

    from swapnet.network import RoadNetwork

__all__ = [
    "CNY_PER_USD",
    "PACK_CNY_PER_KWH",
    "PACK_USD_PER_KWH",
    "BatteryPack",
    "CandidateSites",
    "StationDesign",
    "capital_recovery_factor",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: China average battery pack price in 2024, USD per kWh (DOMAIN.md, S).
PACK_USD_PER_KWH = 94.0
#: Exchange rate assumed throughout, CNY per USD (assumption A; 2024-2025 range ~7.1-7.3).
CNY_PER_USD = 7.2
#: Default pack price, CNY per kWh (= 94 x 7.2 = 676.8; a 56 kWh pack ~ 37.9 k CNY, DOMAIN.md "~38 k").
PACK_CNY_PER_KWH = PACK_USD_PER_KWH * CNY_PER_USD

#: Station capex without batteries, CNY: midpoint of the sourced 3-5 M CNY range.
_STATION_CAPEX_CNY = 4.0e6
#: Yearly operating cost without electricity (maintenance, site rent, insurance, remote staff), CNY per year:
#: assumed 5 % of capex (A).
_STATION_OPEX_CNY = 0.05 * _STATION_CAPEX_CNY
#: Economic lifetime of a station, years (A).
_STATION_LIFETIME = 10.0
#: Station grid connection, kW (DOMAIN.md ~600 kW, seen 520-1,200 kW; S-3p).
_GRID_KW = 600.0


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    a = np.array(a, copy=True, order="C")
    a.flags.writeable = False
    return a


def _num(value: object, field: str, *, positive: bool = False) -> float:
    return _v.positive(value, field) if positive else _v.non_negative(value, field)


def _posint(value: object, field: str) -> int:
    return _v.integer(value, field, minimum=1)


def capital_recovery_factor(rate: float, years: float) -> float:
    """Capital recovery factor ``r (1 + r)^n / ((1 + r)^n - 1)``; ``1 / n`` when ``r = 0``.

    Multiplying an investment by it gives the constant yearly payment that repays
    it over ``n`` years at interest ``r``.

    Parameters
    ----------
    rate
        Yearly discount rate as a fraction (0.06 for 6 %), greater than -1.
    years
        Repayment period in years (positive).
    """
    try:
        r = float(rate)
    except (TypeError, ValueError):
        raise InvalidInputError("rate", rate, "must be a number") from None
    if not math.isfinite(r) or r <= -1:
        raise InvalidInputError("rate", rate, "must be finite and greater than -1")
    n = _num(years, "years", positive=True)
    if r == 0:
        return 1.0 / n
    g: float = (1.0 + r) ** n
    return r * g / (g - 1.0)


# ------------------------------------------------------------------------ packs
@dataclass(frozen=True, init=False)
class BatteryPack:
    """A swappable battery pack.

    Parameters
    ----------
    name
        Pack name.
    kwh
        Nominal energy, kWh (positive).
    range_km
        Vehicle range on a full pack, km (positive).
    chemistry
        Cell chemistry, e.g. ``"LFP"`` or ``"NCM"``.
    cost_cny
        Pack price, CNY. Default ``kwh * PACK_CNY_PER_KWH`` (94 USD/kWh at 7.2 CNY/USD).
    """

    name: str
    kwh: float
    range_km: float
    chemistry: str
    cost_cny: float

    def __init__(
        self, name: str, kwh: float, range_km: float, chemistry: str = "LFP", cost_cny: float | None = None
    ) -> None:
        k = _num(kwh, "kwh", positive=True)
        object.__setattr__(self, "name", str(name))
        object.__setattr__(self, "kwh", k)
        object.__setattr__(self, "range_km", _num(range_km, "range_km", positive=True))
        object.__setattr__(self, "chemistry", str(chemistry))
        object.__setattr__(self, "cost_cny", k * PACK_CNY_PER_KWH if cost_cny is None else _num(cost_cny, "cost_cny"))

    @property
    def kwh_per_km(self) -> float:
        """Energy use implied by range, kWh per km."""
        return self.kwh / self.range_km

    @classmethod
    def catl_25_lfp(cls) -> BatteryPack:
        """CATL Choco-swap #25 LFP: 56 kWh, 500 km (A/B class, wheelbase <= 2.9 m; likely the Aion UT super pack)."""
        return cls("CATL #25 LFP", 56.0, 500.0, "LFP")

    @classmethod
    def catl_25_ncm(cls) -> BatteryPack:
        """CATL Choco-swap #25 NCM: 70 kWh, 600 km."""
        return cls("CATL #25 NCM", 70.0, 600.0, "NCM")

    @classmethod
    def catl_20_lfp(cls) -> BatteryPack:
        """CATL Choco-swap #20 LFP: 42 kWh, 400 km (A0 class)."""
        return cls("CATL #20 LFP", 42.0, 400.0, "LFP")

    @classmethod
    def catl_20_ncm(cls) -> BatteryPack:
        """CATL Choco-swap #20 NCM: 52 kWh, 500 km (A0 class)."""
        return cls("CATL #20 NCM", 52.0, 500.0, "NCM")


# --------------------------------------------------------------------- stations
@dataclass(frozen=True)
class StationDesign:
    """A swap-station design with its capacity and cost figures.

    Parameters
    ----------
    name
        Design name.
    bays
        Swap bays (lanes) working in parallel (positive integer).
    batteries
        Packs stocked in the station (positive integer).
    chargers
        Charging slots (positive integer, at most ``batteries``).
    charger_kw
        Grid-side power of one charging slot, kW (positive, at most ``grid_kw``).
    grid_kw
        Station grid connection available for charging, kW (positive).
    swap_minutes
        Time a bay is occupied per swap, minutes (positive).
    capex_cny
        Investment without batteries, CNY (non-negative).
    opex_cny_per_year
        Operating cost without electricity, CNY per year (non-negative).
    lifetime_years
        Economic lifetime, years (positive).
    charging_efficiency
        Fraction of grid energy stored in the pack (0 < eta <= 1). Default 0.95
        (assumption: AC/DC conversion plus battery losses of a few percent).
    nameplate_swaps_per_day
        The maker's stated daily capacity, for reference only (not used in formulas).

    Notes
    -----
    The steady-state capacity model (all rates per hour) is

    * bay capacity ``B = bays * 60 / swap_minutes``;
    * power per busy slot ``p = min(charger_kw, grid_kw / chargers)`` (the grid
      is shared equally when all slots charge);
    * charge time ``t = kwh * (end_soc - start_soc) / (eta * p)`` hours;
    * charging capacity ``C = chargers / t = eta * min(chargers * charger_kw, grid_kw) / (kwh * (end_soc - start_soc))``
      -- equivalently ``min(chargers, grid_kw / charger_kw)`` effective slots at
      full power; the grid limit is applied once, not twice;
    * swaps per hour ``min(B, C)``.
    """

    name: str
    bays: int
    batteries: int
    chargers: int
    charger_kw: float
    grid_kw: float
    swap_minutes: float
    capex_cny: float = _STATION_CAPEX_CNY
    opex_cny_per_year: float = _STATION_OPEX_CNY
    lifetime_years: float = _STATION_LIFETIME
    charging_efficiency: float = 0.95
    nameplate_swaps_per_day: float | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "bays", _posint(self.bays, "bays"))
        s(self, "batteries", _posint(self.batteries, "batteries"))
        s(self, "chargers", _posint(self.chargers, "chargers"))
        if self.chargers > self.batteries:
            raise InvalidInputError("chargers", self.chargers, f"more charging slots than batteries ({self.batteries})")
        s(self, "charger_kw", _num(self.charger_kw, "charger_kw", positive=True))
        s(self, "grid_kw", _num(self.grid_kw, "grid_kw", positive=True))
        if self.charger_kw > self.grid_kw:
            raise InvalidInputError(
                "charger_kw", self.charger_kw, f"exceeds the grid connection grid_kw={self.grid_kw}"
            )
        s(self, "swap_minutes", _num(self.swap_minutes, "swap_minutes", positive=True))
        s(self, "capex_cny", _num(self.capex_cny, "capex_cny"))
        s(self, "opex_cny_per_year", _num(self.opex_cny_per_year, "opex_cny_per_year"))
        s(self, "lifetime_years", _num(self.lifetime_years, "lifetime_years", positive=True))
        eta = _num(self.charging_efficiency, "charging_efficiency", positive=True)
        if eta > 1:
            raise InvalidInputError("charging_efficiency", eta, "must be in (0, 1]")
        s(self, "charging_efficiency", eta)
        if self.nameplate_swaps_per_day is not None:
            s(self, "nameplate_swaps_per_day", _num(self.nameplate_swaps_per_day, "nameplate_swaps_per_day"))

    # ------------------------------------------------------------------ presets
    @classmethod
    def choco_swap(cls) -> StationDesign:
        """CATL Choco-swap passenger station.

        30 packs (top of the sourced 14-30), ~100 s per swap on one bay
        (nameplate ~822 swaps/day, i.e. bay-limited). Assumed: one slot per
        pack at 40 kW, 600 kW grid, 4 M CNY capex, 5 % of capex opex, 10 years.
        """
        return cls(
            "Choco-swap", bays=1, batteries=30, chargers=30, charger_kw=40.0, grid_kw=_GRID_KW,
            swap_minutes=100.0 / 60.0, nameplate_swaps_per_day=822.0,
        )  # fmt: skip

    @classmethod
    def nio_pss2(cls) -> StationDesign:
        """NIO Power Swap Station 2.0: 13 packs, ~3 min per swap, nameplate 312 swaps/day.

        Assumed: one bay, one 40 kW slot per pack, 600 kW grid, 4 M CNY capex.
        """
        return cls(
            "NIO PSS 2.0", bays=1, batteries=13, chargers=13, charger_kw=40.0, grid_kw=_GRID_KW,
            swap_minutes=3.0, nameplate_swaps_per_day=312.0,
        )  # fmt: skip

    @classmethod
    def nio_pss3(cls) -> StationDesign:
        """NIO Power Swap Station 3.0: 21 packs, ~2.5 min per swap, nameplate 408 swaps/day.

        62.5 kW charging modules (S-3p). Assumed: one bay, one slot per pack,
        600 kW grid, 4 M CNY capex.
        """
        return cls(
            "NIO PSS 3.0", bays=1, batteries=21, chargers=21, charger_kw=62.5, grid_kw=_GRID_KW,
            swap_minutes=2.5, nameplate_swaps_per_day=408.0,
        )  # fmt: skip

    @classmethod
    def nio_pss4(cls) -> StationDesign:
        """NIO Power Swap Station 4.0: 23 packs, 144 s per swap, nameplate 480 swaps/day.

        Assumed: one bay, one 62.5 kW slot per pack (as PSS 3.0), 600 kW grid, 4 M CNY capex.
        """
        return cls(
            "NIO PSS 4.0", bays=1, batteries=23, chargers=23, charger_kw=62.5, grid_kw=_GRID_KW,
            swap_minutes=2.4, nameplate_swaps_per_day=480.0,
        )  # fmt: skip

    # ------------------------------------------------------------------ capacity
    @property
    def bay_capacity_per_hour(self) -> float:
        """Swaps per hour the bays can perform: ``bays * 60 / swap_minutes``."""
        return self.bays * 60.0 / self.swap_minutes

    @property
    def slot_power_kw(self) -> float:
        """Grid-side power per slot when all slots charge, kW: ``min(charger_kw, grid_kw / chargers)``."""
        return min(self.charger_kw, self.grid_kw / self.chargers)

    @property
    def charging_power_kw(self) -> float:
        """Total charging power the station can draw, kW: ``min(chargers * charger_kw, grid_kw)``."""
        return min(self.chargers * self.charger_kw, self.grid_kw)

    def grid_energy_per_swap_kwh(self, pack: BatteryPack, start_soc: float = 0.2, end_soc: float = 1.0) -> float:
        """Grid energy to recharge one returned pack, kWh: ``kwh * (end_soc - start_soc) / charging_efficiency``."""
        a, b = _soc_pair(start_soc, end_soc)
        return pack.kwh * (b - a) / self.charging_efficiency

    def charge_hours(self, pack: BatteryPack, start_soc: float = 0.2, end_soc: float = 1.0) -> float:
        """Hours to charge one pack from ``start_soc`` to ``end_soc`` when all slots are busy.

        ``kwh * (end_soc - start_soc) / (charging_efficiency * min(charger_kw, grid_kw / chargers))``.
        A constant-power (no CC-CV taper) approximation.
        """
        return self.grid_energy_per_swap_kwh(pack, start_soc, end_soc) / self.slot_power_kw

    def charging_capacity_per_hour(self, pack: BatteryPack, start_soc: float = 0.2, end_soc: float = 1.0) -> float:
        """Packs recharged per hour in steady state: ``chargers / charge_hours(pack, ...)``.

        Equal to ``charging_efficiency * min(chargers * charger_kw, grid_kw) / (kwh * (end_soc - start_soc))``.
        """
        return self.chargers / self.charge_hours(pack, start_soc, end_soc)

    def swaps_per_hour(self, pack: BatteryPack, start_soc: float = 0.2, end_soc: float = 1.0) -> float:
        """Steady-state swaps per hour: ``min(bay_capacity_per_hour, charging_capacity_per_hour(pack, ...))``."""
        return min(self.bay_capacity_per_hour, self.charging_capacity_per_hour(pack, start_soc, end_soc))

    def swaps_per_day(
        self, pack: BatteryPack, profile: DailyProfile | None = None, start_soc: float = 0.2, end_soc: float = 1.0
    ) -> float:
        """Largest daily number of swaps the station can serve.

        Without ``profile``: ``24 * swaps_per_hour(pack)`` (demand spread evenly).

        With a profile (hourly shares ``s_h``), the largest ``D`` such that, in a
        fluid model of a repeating day,

        * the busiest hour fits the bays: ``D * max_h s_h <= B``;
        * the day's packs can be recharged: ``D <= 24 * C``;
        * the stock of ``batteries`` packs covers every run of hours where
          demand outpaces charging: ``D * sum_{h in W} s_h - C * |W| <= batteries``
          for every window ``W`` of consecutive hours (wrapping midnight),

        with ``B`` and ``C`` the bay and charging capacities per hour. The fluid
        model counts packs on charge as stock, so it is slightly optimistic for
        small stations.
        """
        c = self.charging_capacity_per_hour(pack, start_soc, end_soc)
        b = self.bay_capacity_per_hour
        if profile is None:
            return 24.0 * min(b, c)
        s = np.asarray(profile.shares)
        cum = np.concatenate([[0.0], np.cumsum(np.concatenate([s, s]))])
        start = np.arange(24)[:, None]
        length = np.arange(1, 25)[None, :]
        window = cum[start + length] - cum[start]  # (24 starts, 24 lengths) share of the day
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            buffer_limit = np.where(window > 0, (self.batteries + c * length) / window, np.inf)
        return float(min(b / s.max(), 24.0 * c, buffer_limit.min()))

    # --------------------------------------------------------------------- cost
    def capex_with_batteries(self, pack: BatteryPack) -> float:
        """Investment including the stocked packs, CNY: ``capex_cny + batteries * pack.cost_cny``."""
        return self.capex_cny + self.batteries * pack.cost_cny

    def annualised_capex(self, rate: float, years: float | None = None, *, pack: BatteryPack | None = None) -> float:
        """Equivalent yearly capital cost, CNY per year.

        ``capex * capital_recovery_factor(rate, years)``, where ``capex`` includes
        the stocked packs when ``pack`` is given and ``years`` defaults to
        :attr:`lifetime_years`.
        """
        capex = self.capex_cny if pack is None else self.capex_with_batteries(pack)
        return capex * capital_recovery_factor(rate, self.lifetime_years if years is None else years)


def _soc_pair(start_soc: float, end_soc: float) -> tuple[float, float]:
    a = _num(start_soc, "start_soc")
    b = _num(end_soc, "end_soc")
    if b > 1:
        raise InvalidInputError("end_soc", end_soc, "must be at most 1")
    if a >= b:
        raise InvalidInputError("start_soc", start_soc, f"must be below end_soc={end_soc}")
    return a, b


# ---------------------------------------------------------------- candidate sites
def _limit(values: ArrayLike | None, n: int, field: str) -> FloatArray:
    if values is None:
        return np.full(n, np.inf)
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(field, values, "must be numbers") from None
    if a.ndim == 0:
        a = np.full(n, float(a))
    a = a.ravel()
    if a.size != n:
        raise InvalidInputError(field, a.size, f"needs one value per site ({n})")
    bad = np.isnan(a) | (a < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"{field}[{k}]", float(a[k]), "must be non-negative (inf for no limit)")
    return a


@dataclass(frozen=True, eq=False, init=False, repr=False)
class CandidateSites:
    """Candidate swap-station sites (e.g. service stores), each at a network node.

    Parameters
    ----------
    labels
        Unique site ids.
    nodes
        Network node of each site (several sites may share a node).
    fixed_cost
        Cost of opening each site (CNY, or any unit used consistently), finite
        and non-negative; a scalar applies to all sites.
    max_batteries, max_chargers
        Per-site upper limits on stocked packs and charging slots; ``None``
        means no limit (``inf``).
    grid_kw
        Per-site grid connection limit, kW; ``None`` means no limit (``inf``).
    geometry
        Optional shapely geometry per site (e.g. the store's footprint or point).
    kind
        Optional site type per site (``"service_store"``, ``"partner_outlet"``...);
        a single string applies to all.

    Attributes
    ----------
    labels, nodes : tuple
    fixed_cost, max_batteries, max_chargers, grid_kw : numpy.ndarray
        Read-only float arrays, one value per site.
    geometry : tuple or None
    kind : tuple of str
        ``""`` where not given.
    """

    labels: tuple[Hashable, ...]
    nodes: tuple[Hashable, ...]
    fixed_cost: FloatArray
    max_batteries: FloatArray
    max_chargers: FloatArray
    grid_kw: FloatArray
    geometry: tuple[Any, ...] | None
    kind: tuple[str, ...]

    def __init__(
        self,
        labels: Iterable[Hashable],
        nodes: Iterable[Hashable],
        fixed_cost: ArrayLike = 0.0,
        *,
        max_batteries: ArrayLike | None = None,
        max_chargers: ArrayLike | None = None,
        grid_kw: ArrayLike | None = None,
        geometry: Iterable[Any] | None = None,
        kind: str | Iterable[str] | None = None,
    ) -> None:
        labs = tuple(labels)
        nds = tuple(nodes)
        n = len(labs)
        if len(nds) != n:
            raise InvalidInputError("nodes", len(nds), f"needs one node per site ({n})")
        seen: set[Hashable] = set()
        for lab in labs:
            if lab in seen:
                raise InvalidInputError("labels", lab, "site labels must be unique")
            seen.add(lab)
        try:
            fc = np.asarray(fixed_cost, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInputError("fixed_cost", fixed_cost, "must be numbers") from None
        fc = np.full(n, float(fc)) if fc.ndim == 0 else fc.ravel()
        if fc.size != n:
            raise InvalidInputError("fixed_cost", fc.size, f"needs one value per site ({n})")
        bad = ~np.isfinite(fc) | (fc < 0)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"fixed_cost[{k}]", float(fc[k]), "must be finite and non-negative")
        geo: tuple[Any, ...] | None = None
        if geometry is not None:
            geo = tuple(geometry)
            if len(geo) != n:
                raise InvalidInputError("geometry", len(geo), f"needs one geometry per site ({n})")
        if kind is None:
            kinds: tuple[str, ...] = ("",) * n
        elif isinstance(kind, str):
            kinds = (kind,) * n
        else:
            kinds = tuple(str(k) for k in kind)
            if len(kinds) != n:
                raise InvalidInputError("kind", len(kinds), f"needs one kind per site ({n})")
        s = object.__setattr__
        s(self, "labels", labs)
        s(self, "nodes", nds)
        s(self, "fixed_cost", _frozen(fc))
        s(self, "max_batteries", _frozen(_limit(max_batteries, n, "max_batteries")))
        s(self, "max_chargers", _frozen(_limit(max_chargers, n, "max_chargers")))
        s(self, "grid_kw", _frozen(_limit(grid_kw, n, "grid_kw")))
        s(self, "geometry", geo)
        s(self, "kind", kinds)

    @classmethod
    def from_nodes(
        cls,
        nodes: Iterable[Hashable],
        fixed_cost: ArrayLike = 0.0,
        *,
        labels: Iterable[Hashable] | None = None,
        max_batteries: ArrayLike | None = None,
        max_chargers: ArrayLike | None = None,
        grid_kw: ArrayLike | None = None,
        kind: str | Iterable[str] | None = None,
    ) -> CandidateSites:
        """One site per node; labels default to the node labels themselves."""
        nds = tuple(nodes)
        return cls(
            nds if labels is None else labels,
            nds,
            fixed_cost,
            max_batteries=max_batteries,
            max_chargers=max_chargers,
            grid_kw=grid_kw,
            kind=kind,
        )

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"CandidateSites({len(self)} sites at {len(set(self.nodes))} nodes)"

    def position(self, labels: Iterable[Hashable]) -> IntArray:
        """Positions (0..len-1) of site ``labels``.

        Raises
        ------
        InvalidInputError
            When a label is not a site.
        """
        index = {lab: i for i, lab in enumerate(self.labels)}
        seq = list(labels)
        out = np.empty(len(seq), dtype=np.int64)
        for k, lab in enumerate(seq):
            i = index.get(lab)
            if i is None:
                raise InvalidInputError("labels", lab, "not a candidate site")
            out[k] = i
        return out

    def check(self, network: RoadNetwork) -> None:
        """Raise :class:`~swapnet.errors.UnknownNodeError` when a site's node is not in ``network``."""
        network.index_of(self.nodes, field="sites.nodes")

    def indices(self, network: RoadNetwork) -> IntArray:
        """Internal network indices of the sites' nodes (checks them)."""
        return network.index_of(self.nodes, field="sites.nodes")

    def subset(self, labels: Iterable[Hashable]) -> CandidateSites:
        """The sites named by ``labels``, in that order."""
        pos = self.position(labels)
        return self._take(pos)

    def _take(self, pos: IntArray) -> CandidateSites:
        return CandidateSites(
            [self.labels[int(i)] for i in pos],
            [self.nodes[int(i)] for i in pos],
            self.fixed_cost[pos],
            max_batteries=self.max_batteries[pos],
            max_chargers=self.max_chargers[pos],
            grid_kw=self.grid_kw[pos],
            geometry=None if self.geometry is None else [self.geometry[int(i)] for i in pos],
            kind=[self.kind[int(i)] for i in pos],
        )

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with columns ``label``, ``node``, ``fixed_cost``, ``max_batteries``,
        ``max_chargers``, ``grid_kw``, ``kind`` (and ``geometry`` when present)."""
        import pandas as pd

        data: dict[str, Any] = {
            "label": list(self.labels),
            "node": list(self.nodes),
            "fixed_cost": np.asarray(self.fixed_cost),
            "max_batteries": np.asarray(self.max_batteries),
            "max_chargers": np.asarray(self.max_chargers),
            "grid_kw": np.asarray(self.grid_kw),
            "kind": list(self.kind),
        }
        if self.geometry is not None:
            data["geometry"] = list(self.geometry)
        return pd.DataFrame(data)
