"""Swap demand: daily profiles, fleet segments and swaps per day at network nodes.

Units
-----
Demand is counted in **swaps** (one depleted pack exchanged for a full one).
Daily amounts are swaps per day; hourly profiles are shares of a day's swaps
per hour of the day ``0..23`` (local time), summing to one.

Sources for the defaults are in ``docs/domain.md``: the urban station profile
comes from third-party station logs (DOMAIN.md, derived), the swap frequencies
per vehicle and month from fleet mileage studies (DOMAIN.md, derived).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from swapnet import _validate as _v
from swapnet._periods import _resample_shares
from swapnet.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

    from swapnet.network import RoadNetwork

__all__ = [
    "DAYS_PER_MONTH",
    "URBAN_PROFILE_PERCENT",
    "DailyProfile",
    "FleetSegment",
    "NodeDemand",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Average days per month used to turn monthly swap counts into daily ones (365.25 / 12 ~ 30.4).
DAYS_PER_MONTH = 30.4

#: Urban swap station: share of daily swaps (percent) in hours 0..23, from third-party station logs
#: (DOMAIN.md, tag D / S-3p). The published values sum to 99.8 %; :meth:`DailyProfile.urban` normalises.
URBAN_PROFILE_PERCENT: tuple[float, ...] = (
    1.8, 1.0, 0.4, 0.2, 0.1, 0.8, 2.4, 4.6, 5.4, 6.0, 6.0, 5.3,
    5.5, 5.6, 6.2, 5.5, 6.3, 5.9, 5.5, 5.9, 6.2, 5.8, 4.1, 3.3,
)  # fmt: skip

#: Weight of the flat profile in :meth:`DailyProfile.highway` (assumption, tag A).
HIGHWAY_FLAT_WEIGHT = 0.5


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    a = np.array(a, copy=True, order="C")
    a.flags.writeable = False
    return a


def _check_shares(values: ArrayLike, field: str) -> FloatArray:
    """Validate rows of 24 hourly weights and normalise each row to sum to one."""
    a = _v.array(values, field, lo=0.0)
    if a.ndim == 0 or a.shape[-1] != 24:
        raise InvalidInputError(field, a.shape, "needs 24 hourly values (hours 0..23)")
    s = a.sum(axis=-1, keepdims=True)
    if (s <= 0).any():
        row = int(np.flatnonzero(s.ravel() <= 0)[0])
        where = field if a.ndim == 1 else f"{field}[{row}]"
        raise InvalidInputError(where, 0.0, "hourly shares are all zero")
    out: FloatArray = a / s
    return out


def _check_amounts(values: ArrayLike, field: str) -> FloatArray:
    return _v.array(values, field, lo=0.0).ravel()


def _check_scalar(value: float, field: str, *, positive: bool = False) -> float:
    return _v.positive(value, field) if positive else _v.non_negative(value, field)


# --------------------------------------------------------------------- profiles
@dataclass(frozen=True, eq=False, init=False, repr=False)
class DailyProfile:
    """Shares of a day's swaps in each hour of the day.

    Parameters
    ----------
    shares
        24 finite, non-negative weights for hours ``0..23`` (not all zero). They
        are normalised on construction, so percentages or counts work too.
    name
        Optional label (``"urban"``, ``"highway"``, ...).

    Attributes
    ----------
    shares : numpy.ndarray
        Read-only ``(24,)`` float array summing to one (dimensionless).
    """

    shares: FloatArray
    name: str

    def __init__(self, shares: ArrayLike, name: str = "") -> None:
        s = _check_shares(shares, "shares")
        if s.ndim != 1:
            raise InvalidInputError("shares", s.shape, "needs exactly 24 values, one per hour")
        object.__setattr__(self, "shares", _frozen(s))
        object.__setattr__(self, "name", str(name))

    # ------------------------------------------------------------------ presets
    @classmethod
    def urban(cls) -> DailyProfile:
        """Urban swap-station profile from third-party station logs (DOMAIN.md).

        Night trough (0.1 % at 4 h), morning ramp from 6 h, a broad plateau of
        5-6 % per hour from 8 h to 21 h. The published percentages sum to 99.8 %
        and are normalised.
        """
        return cls(np.asarray(URBAN_PROFILE_PERCENT), name="urban")

    @classmethod
    def highway(cls) -> DailyProfile:
        """Highway service-area profile: flatter than urban (assumption).

        No hourly logs for highway stations were found; we assume a 50/50 blend
        of the urban profile and a flat profile (:data:`HIGHWAY_FLAT_WEIGHT`),
        i.e. long-distance traffic keeps a night share of about 2.1 % per hour
        and a daytime plateau near 5 %.
        """
        u = np.asarray(URBAN_PROFILE_PERCENT) / sum(URBAN_PROFILE_PERCENT)
        w = HIGHWAY_FLAT_WEIGHT
        return cls((1 - w) * u + w / 24.0, name="highway")

    @classmethod
    def flat(cls) -> DailyProfile:
        """Uniform profile: 1/24 of the day's swaps in every hour."""
        return cls(np.full(24, 1.0 / 24.0), name="flat")

    # ------------------------------------------------------------------ methods
    def resample(self, periods_per_day: int) -> FloatArray:
        """Shares per period for ``periods_per_day`` equal periods starting at midnight.

        Parameters
        ----------
        periods_per_day
            Number of periods, e.g. 96 for 15-minute periods or 12 for 2-hour
            blocks. Must be a multiple of 24 (each hour split evenly) or divide 24
            (consecutive hours summed).

        Returns
        -------
        numpy.ndarray
            ``(periods_per_day,)`` shares summing to one.

        Raises
        ------
        InvalidInputError
            When ``periods_per_day`` is not positive or neither divides nor is a multiple of 24.
        """
        return _resample_shares(np.asarray(self.shares), periods_per_day)

    @property
    def peak_share(self) -> float:
        """Largest hourly share (the busiest hour's fraction of daily swaps)."""
        return float(self.shares.max())

    @property
    def peak_hour(self) -> int:
        """Hour of day (0..23) with the largest share (first one on ties)."""
        return int(self.shares.argmax())

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with columns ``hour`` (0..23) and ``share``."""
        import pandas as pd

        return pd.DataFrame({"hour": np.arange(24), "share": np.asarray(self.shares)})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DailyProfile):
            return NotImplemented
        return self.name == other.name and bool(np.array_equal(self.shares, other.shares))

    def __hash__(self) -> int:
        return hash((self.name, self.shares.tobytes()))

    def __repr__(self) -> str:
        nm = f"{self.name!r}, " if self.name else ""
        return f"DailyProfile({nm}peak {self.peak_share:.1%} at {self.peak_hour} h)"


# --------------------------------------------------------------- fleet segments
@dataclass(frozen=True)
class FleetSegment:
    """A group of swap-capable vehicles with a common usage pattern.

    Parameters
    ----------
    name
        Segment name.
    vehicles
        Number of vehicles (finite, non-negative; fractional values allowed for scaled scenarios).
    swaps_per_vehicle_month
        Swaps per vehicle per month (finite, non-negative).
    profile
        When in the day the segment swaps; defaults to :meth:`DailyProfile.urban`.
    """

    name: str
    vehicles: float
    swaps_per_vehicle_month: float
    profile: DailyProfile = field(default_factory=DailyProfile.urban)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vehicles", _check_scalar(self.vehicles, "vehicles"))
        object.__setattr__(
            self, "swaps_per_vehicle_month", _check_scalar(self.swaps_per_vehicle_month, "swaps_per_vehicle_month")
        )
        if not isinstance(self.profile, DailyProfile):
            raise InvalidInputError("profile", self.profile, "must be a DailyProfile")

    @property
    def swaps_per_day(self) -> float:
        """Segment swaps per day: ``vehicles * swaps_per_vehicle_month / 30.4`` (see :data:`DAYS_PER_MONTH`)."""
        return self.vehicles * self.swaps_per_vehicle_month / DAYS_PER_MONTH

    @classmethod
    def private(
        cls, vehicles: float, swaps_per_vehicle_month: float = 4.5, *, profile: DailyProfile | None = None
    ) -> FleetSegment:
        """Private cars: 3 (40 km/day on 400 usable km) to 6 (NIO-like) swaps per month; default 4.5, the midpoint."""
        return cls("private", vehicles, swaps_per_vehicle_month, profile or DailyProfile.urban())

    @classmethod
    def ride_hailing(
        cls, vehicles: float, swaps_per_vehicle_month: float = 15.0, *, profile: DailyProfile | None = None
    ) -> FleetSegment:
        """Ride-hailing cars: 10-20 swaps per month (129 km/day, Beijing GPS study); default 15."""
        return cls("ride-hailing", vehicles, swaps_per_vehicle_month, profile or DailyProfile.urban())

    @classmethod
    def taxi(
        cls, vehicles: float, swaps_per_vehicle_month: float = 37.0, *, profile: DailyProfile | None = None
    ) -> FleetSegment:
        """Taxis: about 37 swaps per month (~500 km/day)."""
        return cls("taxi", vehicles, swaps_per_vehicle_month, profile or DailyProfile.urban())


# ------------------------------------------------------------------ node demand
@dataclass(frozen=True, eq=False, init=False, repr=False)
class NodeDemand:
    """Swaps per day at network nodes, with a 24-hour profile.

    Parameters
    ----------
    nodes
        Network node labels, one per entry (duplicates allowed; see :meth:`aggregate`).
    daily
        Swaps per day at each entry (finite, non-negative).
    profile
        One :class:`DailyProfile` shared by all entries, or an ``(n, 24)`` array
        of hourly weights, one row per entry (rows are normalised). Defaults to
        :meth:`DailyProfile.urban`.

    Attributes
    ----------
    nodes : tuple
        Node labels.
    daily : numpy.ndarray
        Read-only ``(n,)`` swaps per day.
    profile : DailyProfile or numpy.ndarray
        The shared profile or a read-only ``(n, 24)`` array of row-normalised shares.
    """

    nodes: tuple[Hashable, ...]
    daily: FloatArray
    profile: DailyProfile | FloatArray

    def __init__(
        self,
        nodes: Iterable[Hashable],
        daily: ArrayLike,
        profile: DailyProfile | ArrayLike | None = None,
    ) -> None:
        labs = tuple(nodes)
        d = _check_amounts(daily, "daily")
        if d.size != len(labs):
            raise InvalidInputError("daily", d.size, f"needs one value per node ({len(labs)})")
        prof: DailyProfile | FloatArray
        if profile is None:
            prof = DailyProfile.urban()
        elif isinstance(profile, DailyProfile):
            prof = profile
        else:
            p = _check_shares(profile, "profile")
            if p.shape != (len(labs), 24):
                raise InvalidInputError("profile", p.shape, f"expected a DailyProfile or shape ({len(labs)}, 24)")
            prof = _frozen(p)
        object.__setattr__(self, "nodes", labs)
        object.__setattr__(self, "daily", _frozen(d))
        object.__setattr__(self, "profile", prof)

    # ---------------------------------------------------------------- basics
    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        kind = repr(self.profile) if isinstance(self.profile, DailyProfile) else "per-node profiles"
        return f"NodeDemand({len(self)} nodes, {self.total:,.6g} swaps/day, {kind})"

    @property
    def total(self) -> float:
        """Total swaps per day."""
        return float(self.daily.sum())

    @property
    def shares(self) -> FloatArray:
        """``(n, 24)`` hourly shares of every entry (rows sum to one)."""
        if isinstance(self.profile, DailyProfile):
            return np.broadcast_to(self.profile.shares, (len(self), 24)).copy()
        return np.array(self.profile)

    def hourly(self) -> FloatArray:
        """Swaps in each hour of the day, ``(n, 24)`` (swaps per hour); rows sum to :attr:`daily`."""
        if isinstance(self.profile, DailyProfile):
            return np.outer(self.daily, self.profile.shares)
        out: FloatArray = self.daily[:, None] * self.profile
        return out

    def per_period(self, periods_per_day: int) -> FloatArray:
        """Swaps in each of ``periods_per_day`` equal periods, ``(n, P)``; rows sum to :attr:`daily`.

        Raises
        ------
        InvalidInputError
            When ``periods_per_day`` neither divides 24 nor is a multiple of 24.
        """
        if isinstance(self.profile, DailyProfile):
            return np.outer(self.daily, self.profile.resample(periods_per_day))
        out: FloatArray = self.daily[:, None] * _resample_shares(np.asarray(self.profile), periods_per_day)
        return out

    def peak_hour(self) -> FloatArray:
        """Swaps in the busiest hour of each entry, ``(n,)`` (swaps per hour)."""
        out: FloatArray = self.hourly().max(axis=1)
        return out

    def check(self, network: RoadNetwork) -> None:
        """Raise :class:`~swapnet.errors.UnknownNodeError` when a node is not in ``network``."""
        network.index_of(self.nodes, field="nodes")

    def indices(self, network: RoadNetwork) -> IntArray:
        """Internal node indices of :attr:`nodes` in ``network`` (checks them)."""
        return network.index_of(self.nodes, field="nodes")

    def scaled(self, factor: float) -> NodeDemand:
        """A copy with every daily amount multiplied by ``factor`` (finite, non-negative)."""
        f = _check_scalar(factor, "factor")
        return NodeDemand(self.nodes, self.daily * f, self.profile)

    def aggregate(self) -> NodeDemand:
        """Merge duplicate nodes by summing their swaps (first-appearance order).

        With per-node profiles, the merged profile is the swap-weighted mean of
        the merged rows (their plain mean when all of them have zero demand).
        Returns ``self`` when there are no duplicates.
        """
        index: dict[Hashable, int] = {}
        inv = np.fromiter((index.setdefault(lab, len(index)) for lab in self.nodes), dtype=np.int64, count=len(self))
        m = len(index)
        if m == len(self):
            return self
        daily = np.bincount(inv, weights=self.daily, minlength=m)
        labels = tuple(index)
        if isinstance(self.profile, DailyProfile):
            return NodeDemand(labels, daily, self.profile)
        hourly = np.zeros((m, 24))
        np.add.at(hourly, inv, self.hourly())
        plain = np.zeros((m, 24))
        np.add.at(plain, inv, np.asarray(self.profile))
        rows = np.where((daily > 0)[:, None], hourly, plain)
        return NodeDemand(labels, daily, rows)

    def as_dict(self) -> dict[Hashable, float]:
        """``{node: swaps per day}``, duplicates summed."""
        agg = self.aggregate()
        return dict(zip(agg.nodes, agg.daily.tolist(), strict=True))

    def to_frame(self, *, hourly: bool = False) -> pd.DataFrame:
        """A DataFrame with one row per entry.

        Columns ``node``, ``swaps_per_day``, ``peak_hour`` (busiest hour of day,
        0..23) and ``peak_hour_swaps`` (swaps in that hour); with ``hourly=True``
        also ``h00`` .. ``h23`` (swaps in each hour).
        """
        import pandas as pd

        h = self.hourly()
        data: dict[str, Any] = {
            "node": list(self.nodes),
            "swaps_per_day": np.asarray(self.daily),
            "peak_hour": h.argmax(axis=1) if len(self) else np.zeros(0, dtype=np.int64),
            "peak_hour_swaps": h.max(axis=1) if len(self) else np.zeros(0),
        }
        if hourly:
            for k in range(24):
                data[f"h{k:02d}"] = h[:, k]
        return pd.DataFrame(data)

    # ---------------------------------------------------------- constructors
    @classmethod
    def from_segments(
        cls,
        network: RoadNetwork,
        segments: Iterable[FleetSegment],
        *,
        weights: Mapping[Hashable, float] | None = None,
        sample: bool = False,
        seed: int | None = None,
    ) -> NodeDemand:
        """Allocate fleet segments' swaps to network nodes in proportion to ``weights``.

        Parameters
        ----------
        network
            Network whose nodes receive demand.
        segments
            Fleet segments; their daily swaps (:attr:`FleetSegment.swaps_per_day`) are allocated.
        weights
            ``{node: weight}`` (finite, non-negative, positive sum), e.g. population
            or parking spaces near each node. ``None`` spreads demand uniformly
            over all nodes. The result lists exactly these nodes.
        sample
            ``False`` (default): each node gets its expected share, fractional
            swaps included. ``True``: each segment's whole vehicles are drawn to
            nodes multinomially with probabilities ``weights / sum(weights)`` (a
            random home node per vehicle); a fractional vehicle remainder is
            spread proportionally. Either way the total is conserved exactly.
        seed
            Seed for ``numpy.random.default_rng`` when ``sample`` is true.

        Returns
        -------
        NodeDemand
            With a shared profile (the swap-weighted mix of the segments'
            profiles) unless sampling mixes segments differently per node.
        """
        segs = list(segments)
        for k, s in enumerate(segs):
            if not isinstance(s, FleetSegment):
                raise InvalidInputError(f"segments[{k}]", s, "must be a FleetSegment")
        if weights is None:
            labels: tuple[Hashable, ...] = network.labels
            w = np.ones(len(labels))
        else:
            labels = tuple(weights)
            network.index_of(labels, field="weights")
            w = _check_amounts([weights[lab] for lab in labels], "weights")
        if w.size == 0 or w.sum() <= 0:
            raise InvalidInputError("weights", w.tolist()[:5], "needs a positive total weight")
        p = w / w.sum()
        n = len(labels)
        if not segs:
            return cls(labels, np.zeros(n), DailyProfile.flat())
        profiles = np.stack([np.asarray(s.profile.shares) for s in segs])  # (S, 24)
        per_day = np.asarray([s.swaps_per_vehicle_month / DAYS_PER_MONTH for s in segs])  # swaps/vehicle/day
        vehicles = np.asarray([s.vehicles for s in segs])
        if sample:
            rng = np.random.default_rng(seed)
            whole = np.floor(vehicles)
            counts = np.stack([rng.multinomial(int(v), p) for v in whole]).astype(np.float64)  # (S, n)
            counts += np.outer(vehicles - whole, p)
            alloc = counts * per_day[:, None]  # (S, n) swaps/day
        else:
            alloc = np.outer(vehicles * per_day, p)
        daily = alloc.sum(axis=0)
        seg_totals = alloc.sum(axis=1)
        if _all_same(segs):
            return cls(labels, daily, segs[0].profile)
        mix_w = seg_totals if seg_totals.sum() > 0 else vehicles * per_day + 1.0
        mixed = DailyProfile(mix_w @ profiles, name="mixed")
        if not sample:
            return cls(labels, daily, mixed)
        hourly = alloc.T @ profiles  # (n, 24)
        rows = np.where((daily > 0)[:, None], hourly, mixed.shares[None, :])
        return cls(labels, daily, rows)

    @classmethod
    def from_polygons(
        cls,
        network: RoadNetwork,
        areas: Iterable[tuple[Any, float]],
        *,
        rate: float = 1.0,
        profile: DailyProfile | None = None,
    ) -> NodeDemand:
        """Allocate amounts given per polygon (zones, census tracts) to the nodes inside them.

        Each polygon's ``amount * rate`` swaps per day is split equally among
        the network nodes inside it or on its boundary (tested with the
        vectorised :func:`shapely.intersects_xy` on candidate pairs from an
        :class:`shapely.STRtree`). A polygon with no node inside gives its whole
        amount to the node nearest to its centroid. Polygons must use the
        network's coordinate system.

        Parameters
        ----------
        network
            Network with :attr:`~swapnet.network.RoadNetwork.coords`.
        areas
            ``(polygon, amount)`` pairs: shapely ``Polygon``/``MultiPolygon`` and
            a finite, non-negative amount (swaps per day, or population etc.
            when ``rate`` converts it).
        rate
            Swaps per day per unit of amount (1 when amounts are swaps per day;
            e.g. ``vehicles_per_person * swaps_per_vehicle_month / 30.4`` for population).
        profile
            Shared hourly profile (default urban).

        Returns
        -------
        NodeDemand
            One entry per node that receives demand, in network order.

        Raises
        ------
        InvalidInputError
            When the network has no coordinates, a geometry is not a non-empty
            polygon, or an amount is negative or not finite.
        """
        import shapely

        if network.coords is None:
            raise InvalidInputError("network.coords", None, "from_polygons needs a network with node coordinates")
        r = _check_scalar(rate, "rate")
        polys: list[Any] = []
        amounts: list[float] = []
        for k, item in enumerate(areas):
            try:
                geom, amount = item
            except (TypeError, ValueError):
                raise InvalidInputError(f"areas[{k}]", item, "expected a (polygon, amount) pair") from None
            if not isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)) or geom.is_empty:
                raise InvalidInputError(f"areas[{k}].geometry", geom, "must be a non-empty Polygon or MultiPolygon")
            polys.append(geom)
            amounts.append(_check_scalar(amount, f"areas[{k}].amount"))
        n = network.n_nodes
        daily = np.zeros(n)
        if polys:
            geoms = np.asarray(polys, dtype=object)
            amt = np.asarray(amounts) * r
            xs, ys = network.coords[:, 0], network.coords[:, 1]
            tree = shapely.STRtree(shapely.points(xs, ys))
            pi, ni = tree.query(geoms)  # bounding-box candidates
            inside = shapely.intersects_xy(geoms[pi], xs[ni], ys[ni])
            pi, ni = pi[inside], ni[inside]
            count = np.bincount(pi, minlength=len(polys))
            np.add.at(daily, ni, amt[pi] / count[pi])
            empty = np.flatnonzero(count == 0)
            if empty.size:
                c = shapely.centroid(geoms[empty])
                near = network.index_of(network.nearest_node(shapely.get_x(c), shapely.get_y(c)))
                np.add.at(daily, near, amt[empty])
        keep = np.flatnonzero(daily > 0)
        return cls(tuple(network.labels[int(i)] for i in keep), daily[keep], profile or DailyProfile.urban())


def _all_same(segs: Sequence[FleetSegment]) -> bool:
    first = segs[0].profile
    return all(s.profile == first for s in segs[1:])
