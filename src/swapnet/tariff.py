"""Time-of-use electricity tariffs.

A :class:`TouTariff` holds an energy price for each hour of the day (CNY per
kWh, local time) with a period name per hour, and an optional demand
(capacity) charge in CNY per kW of monthly peak. The Guangdong preset follows
the 2021 provincial time-of-use notice (see ``docs/domain.md``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from swapnet import _validate as _v
from swapnet._periods import _periods_factor
from swapnet.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TouTariff"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _hours(rng: Any, name: str) -> IntArray:
    """Hours ``start..end-1`` of a ``(start, end)`` range; ``start > end`` wraps past midnight."""
    try:
        a, b = rng
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        raise InvalidInputError(f"periods[{name!r}]", rng, "expected (start_hour, end_hour) pairs") from None
    if not (fa.is_integer() and fb.is_integer() and 0 <= fa <= 24 and 0 <= fb <= 24) or fa == fb:
        raise InvalidInputError(
            f"periods[{name!r}]", rng, "hours must be whole numbers in 0..24 with start != end (start > end wraps)"
        )
    s, e = int(fa), int(fb)
    if s < e:
        return np.arange(s, e, dtype=np.int64)
    return np.concatenate([np.arange(s, 24), np.arange(0, e)]).astype(np.int64)


@dataclass(frozen=True, eq=False, init=False, repr=False)
class TouTariff:
    """A daily time-of-use electricity tariff.

    Parameters
    ----------
    prices
        24 energy prices for hours ``0..23``, CNY per kWh (finite, non-negative).
    periods
        Period name of each hour (``"valley"``, ``"flat"``, ``"peak"``,
        ``"critical"``...). Default: ``"flat"`` when all prices are equal,
        else ``"tier0"``, ``"tier1"``... by ascending price.
    demand_charge_cny_per_kw_month
        Demand (capacity) charge, CNY per kW of the month's peak draw (finite,
        non-negative; 0 where waived for swap facilities).
    name
        Optional label.

    Attributes
    ----------
    prices : numpy.ndarray
        Read-only ``(24,)`` CNY per kWh.
    periods : tuple of str
        24 period names.
    demand_charge_cny_per_kw_month : float
    name : str
    """

    prices: FloatArray
    periods: tuple[str, ...]
    demand_charge_cny_per_kw_month: float
    name: str

    def __init__(
        self,
        prices: ArrayLike,
        periods: Sequence[str] | None = None,
        *,
        demand_charge_cny_per_kw_month: float = 0.0,
        name: str = "",
    ) -> None:
        try:
            p = np.array(prices, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInputError("prices", prices, "must be numbers") from None
        if p.shape != (24,):
            raise InvalidInputError("prices", p.shape, "needs 24 hourly prices (hours 0..23)")
        bad = ~np.isfinite(p) | (p < 0)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"prices[{k}]", float(p[k]), "prices must be finite and non-negative")
        if periods is None:
            uniq, inv = np.unique(p, return_inverse=True)
            names = ("flat",) * 24 if uniq.size == 1 else tuple(f"tier{int(i)}" for i in inv)
        else:
            names = tuple(str(x) for x in periods)
            if len(names) != 24:
                raise InvalidInputError("periods", len(names), "needs 24 period names, one per hour")
        dc = _v.non_negative(demand_charge_cny_per_kw_month, "demand_charge_cny_per_kw_month")
        p.flags.writeable = False
        object.__setattr__(self, "prices", p)
        object.__setattr__(self, "periods", names)
        object.__setattr__(self, "demand_charge_cny_per_kw_month", dc)
        object.__setattr__(self, "name", str(name))

    # ------------------------------------------------------------- constructors
    @classmethod
    def flat(cls, price: float, *, demand_charge_cny_per_kw_month: float = 0.0, name: str = "flat") -> TouTariff:
        """The same price (CNY per kWh) in every hour."""
        v = _v.non_negative(price, "price")
        return cls(
            np.full(24, v), ("flat",) * 24, demand_charge_cny_per_kw_month=demand_charge_cny_per_kw_month, name=name
        )

    @classmethod
    def from_periods(
        cls,
        periods: Mapping[str, tuple[float, Iterable[tuple[int, int]]]],
        *,
        demand_charge_cny_per_kw_month: float = 0.0,
        name: str = "",
    ) -> TouTariff:
        """Build a tariff from named periods and their hour ranges.

        Parameters
        ----------
        periods
            ``{name: (price, [(start_hour, end_hour), ...])}`` with prices in
            CNY per kWh and ranges covering hours ``start..end-1``; ``(22, 6)``
            wraps past midnight and ``(0, 24)`` is the whole day. Every hour of
            the day must be covered exactly once.
        demand_charge_cny_per_kw_month, name
            As for the constructor.

        Raises
        ------
        InvalidInputError
            On negative or non-finite prices, malformed ranges, hours covered
            twice (naming both periods) or not at all (listing them).
        """
        price = np.full(24, np.nan)
        owner: list[str | None] = [None] * 24
        for pname, spec in periods.items():
            try:
                val, ranges = spec
                v = float(val)
            except (TypeError, ValueError):
                raise InvalidInputError(f"periods[{pname!r}]", spec, "expected (price, [(start, end), ...])") from None
            if not math.isfinite(v) or v < 0:
                raise InvalidInputError(f"periods[{pname!r}].price", val, "must be finite and non-negative")
            for rng in ranges:
                hrs = _hours(rng, pname)
                taken = [h for h in hrs.tolist() if owner[h] is not None]
                if taken:
                    h = taken[0]
                    raise InvalidInputError("hours", h, f"hour {h} is covered by both {owner[h]!r} and {pname!r}")
                for h in hrs.tolist():
                    owner[h] = pname
                price[hrs] = v
        missing = [h for h in range(24) if owner[h] is None]
        if missing:
            raise InvalidInputError("hours", missing, "hours not covered by any period")
        return cls(
            price,
            [str(o) for o in owner],
            demand_charge_cny_per_kw_month=demand_charge_cny_per_kw_month,
            name=name,
        )

    @classmethod
    def from_table(
        cls,
        table: pd.DataFrame | Mapping[Any, float],
        *,
        demand_charge_cny_per_kw_month: float = 0.0,
        name: str = "table",
    ) -> TouTariff:
        """Build a tariff from a price table.

        Parameters
        ----------
        table
            Either one row per hour — a ``{hour: price}`` mapping or a DataFrame
            with columns ``hour`` (0..23, each once) and ``price`` (CNY per kWh),
            optionally ``period`` (its name) — or one row per period range: a
            DataFrame with columns ``period``, ``price``, ``start`` and ``end``
            (hours ``start..end-1``; ``start > end`` wraps past midnight; a period
            may have several rows), as for :meth:`from_periods`.
        demand_charge_cny_per_kw_month, name
            As for the constructor.

        Raises
        ------
        InvalidInputError
            Missing columns, hours outside 0..23, missing or repeated hours, bad prices.
        """
        import pandas as pd

        df = (
            table.copy()
            if isinstance(table, pd.DataFrame)
            else pd.DataFrame({"hour": list(table.keys()), "price": list(table.values())})
        )
        cols = {str(c).strip().lower(): c for c in df.columns}
        if {"start", "end", "price", "period"} <= set(cols):
            spec: dict[str, tuple[float, list[tuple[int, int]]]] = {}
            for k, row in enumerate(df.itertuples(index=False)):
                r = dict(zip(df.columns, row, strict=True))
                pname = str(r[cols["period"]])
                try:
                    price = float(r[cols["price"]])
                except (TypeError, ValueError):
                    raise InvalidInputError(f"table[{k}].price", r[cols["price"]], "not a number") from None
                if pname in spec and spec[pname][0] != price:
                    raise InvalidInputError(f"table[{k}].price", price, f"period {pname!r} has two prices")
                spec.setdefault(pname, (price, []))[1].append((r[cols["start"]], r[cols["end"]]))
            return cls.from_periods(spec, demand_charge_cny_per_kw_month=demand_charge_cny_per_kw_month, name=name)
        if not {"hour", "price"} <= set(cols):
            raise InvalidInputError(
                "table", list(map(str, df.columns)), "needs columns hour, price (or period, price, start, end)"
            )
        hourly = np.full(24, np.nan)
        period: list[str] = ["flat"] * 24
        for k, (h, v) in enumerate(zip(df[cols["hour"]].tolist(), df[cols["price"]].tolist(), strict=True)):
            try:
                fh = float(h)
            except (TypeError, ValueError):
                fh = math.nan
            if not (fh.is_integer() and 0 <= fh <= 23):
                raise InvalidInputError(f"table[{k}].hour", h, "hours must be whole numbers 0..23")
            if not math.isnan(hourly[int(fh)]):
                raise InvalidInputError(f"table[{k}].hour", int(fh), "hour given twice")
            try:
                hourly[int(fh)] = float(v)
            except (TypeError, ValueError):
                raise InvalidInputError(f"table[{k}].price", v, "not a number") from None
            if "period" in cols:
                period[int(fh)] = str(df[cols["period"]].iloc[k])
        missing = [h for h in range(24) if math.isnan(hourly[h])]
        if missing:
            raise InvalidInputError("table.hour", missing, "hours without a price")
        return cls(
            hourly,
            period if "period" in cols else None,
            demand_charge_cny_per_kw_month=demand_charge_cny_per_kw_month,
            name=name,
        )

    @classmethod
    def read_csv(cls, path: Any, *, demand_charge_cny_per_kw_month: float = 0.0, name: str = "") -> TouTariff:
        """Read a price table (see :meth:`from_table`) from a CSV file with a header.

        Raises
        ------
        InvalidInputError
            When the file is missing or its table is invalid.
        """
        from pathlib import Path

        import pandas as pd

        p = Path(path)
        if not p.is_file():
            raise InvalidInputError("path", str(p), "no such file")
        try:
            df = pd.read_csv(p, skipinitialspace=True)
        except (OSError, ValueError) as exc:
            raise InvalidInputError("path", str(p), f"not a readable CSV file ({exc})") from None
        return cls.from_table(df, demand_charge_cny_per_kw_month=demand_charge_cny_per_kw_month, name=name or p.name)

    @classmethod
    def guangdong(
        cls,
        flat_price: float = 0.52,
        *,
        critical_peak: bool = False,
        ratios: tuple[float, float, float] = (1.7, 1.0, 0.38),
        critical_multiplier: float = 1.25,
        demand_charge_cny_per_kw_month: float = 0.0,
    ) -> TouTariff:
        """Guangdong time-of-use tariff (2021 provincial notice).

        Peak 10-12 h and 14-19 h; valley 0-8 h; flat otherwise. Prices are
        ``flat_price * ratio / ratios[1]`` with ``ratios = (peak, flat, valley)``
        = 1.7 : 1 : 0.38 (sourced). With ``critical_peak`` (July-September and
        hot days) hours 11-12 and 15-17 h cost ``peak * critical_multiplier``
        (1.25, derived). The flat price 0.52 CNY/kWh is illustrative (assumption).
        The demand charge defaults to 0 because several provinces waive it for
        swap facilities.

        With the defaults: valley 0.1976, flat 0.52, peak 0.884 (critical 1.105) CNY/kWh.
        """
        fp = _v.non_negative(flat_price, "flat_price")
        r = tuple(_v.array(ratios, "ratios", ndim=1).tolist())
        if len(r) != 3 or not all(math.isfinite(x) and x >= 0 for x in r) or r[1] <= 0:
            raise InvalidInputError("ratios", ratios, "needs three finite, non-negative (peak, flat, valley) ratios")
        cm = _v.non_negative(critical_multiplier, "critical_multiplier")
        peak, flat, valley = (fp * x / r[1] for x in r)
        spec: dict[str, tuple[float, list[tuple[int, int]]]] = {
            "valley": (valley, [(0, 8)]),
            "flat": (flat, [(8, 10), (12, 14), (19, 24)]),
        }
        if critical_peak:
            spec["peak"] = (peak, [(10, 11), (14, 15), (17, 19)])
            spec["critical"] = (peak * cm, [(11, 12), (15, 17)])
        else:
            spec["peak"] = (peak, [(10, 12), (14, 19)])
        nm = "Guangdong TOU 2021" + (" (critical peak)" if critical_peak else "")
        return cls.from_periods(spec, demand_charge_cny_per_kw_month=demand_charge_cny_per_kw_month, name=nm)

    # ----------------------------------------------------------------- queries
    @property
    def mean_price(self) -> float:
        """Time-weighted mean price over the day, CNY per kWh."""
        return float(self.prices.mean())

    @property
    def period_names(self) -> tuple[str, ...]:
        """Distinct period names in order of first appearance from midnight."""
        return tuple(dict.fromkeys(self.periods))

    def hours_of(self, period: str) -> IntArray:
        """Hours of day (0..23) belonging to ``period``.

        Raises
        ------
        InvalidInputError
            When no hour has that period name.
        """
        hrs = np.flatnonzero(np.asarray(self.periods) == period).astype(np.int64)
        if hrs.size == 0:
            raise InvalidInputError("period", period, f"not a period of this tariff {self.period_names}")
        return hrs

    @overload
    def price_at(self, hour: float) -> float: ...
    @overload
    def price_at(self, hour: NDArray[Any] | Sequence[float]) -> FloatArray: ...
    def price_at(self, hour: float | NDArray[Any] | Sequence[float]) -> float | FloatArray:
        """Price (CNY per kWh) at time(s) of day ``hour`` in hours; taken modulo 24 (25.5 is 1:30).

        A scalar gives a float, an array gives an array.
        """
        h = np.asarray(hour, dtype=np.float64)
        if not np.isfinite(h).all():
            raise InvalidInputError("hour", hour, "must be finite")
        idx = np.floor(np.mod(h, 24.0)).astype(np.int64) % 24
        out = self.prices[idx]
        if h.ndim == 0:
            return float(out)
        return np.array(out)

    def price_per_period(self, periods_per_day: int) -> FloatArray:
        """Mean price in each of ``periods_per_day`` equal periods from midnight, CNY per kWh.

        Each hour is split evenly (``periods_per_day`` a multiple of 24) or
        consecutive hours are averaged (``periods_per_day`` dividing 24).

        Raises
        ------
        InvalidInputError
            When ``periods_per_day`` neither divides 24 nor is a multiple of 24.
        """
        split, merge = _periods_factor(periods_per_day)
        p = np.asarray(self.prices)
        if split > 1:
            return np.repeat(p, split)
        if merge > 1:
            merged: FloatArray = p.reshape(24 // merge, merge).mean(axis=1)
            return merged
        return p.copy()

    def cost_per_period(self, kw_profile: ArrayLike, period_hours: float) -> FloatArray:
        """Energy cost of each period, CNY: ``kw * price * period_hours``.

        Parameters
        ----------
        kw_profile
            Mean grid power drawn in consecutive periods starting at midnight,
            kW (finite, non-negative), shape ``(..., T)``; ``T`` may span several days.
        period_hours
            Length of one period in hours; ``24 / period_hours`` must be a whole
            number (e.g. 0.25, 1, 2).

        Returns
        -------
        numpy.ndarray
            Same shape as ``kw_profile``.
        """
        try:
            kw = np.asarray(kw_profile, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInputError("kw_profile", kw_profile, "must be numbers") from None
        if kw.ndim == 0:
            raise InvalidInputError("kw_profile", kw_profile, "needs at least one period")
        bad = ~np.isfinite(kw) | (kw < 0)
        if bad.any():
            k = int(np.flatnonzero(bad.ravel())[0])
            raise InvalidInputError("kw_profile", float(kw.ravel()[k]), "power must be finite and non-negative")
        try:
            dt = float(period_hours)
        except (TypeError, ValueError):
            dt = math.nan
        per_day = 24.0 / dt if math.isfinite(dt) and dt > 0 else math.nan
        if not math.isfinite(per_day) or abs(per_day - round(per_day)) > 1e-9 * per_day:
            raise InvalidInputError("period_hours", period_hours, "24 / period_hours must be a positive whole number")
        prices = self.price_per_period(round(per_day))
        t = kw.shape[-1]
        tiled = np.resize(prices, t)
        out: FloatArray = kw * tiled * dt
        return out

    def cost(self, kw_profile: ArrayLike, period_hours: float) -> float:
        """Total energy cost, CNY, of drawing ``kw_profile`` (see :meth:`cost_per_period`).

        Demand charges are not included; see :meth:`demand_charge`.
        """
        return float(self.cost_per_period(kw_profile, period_hours).sum())

    def demand_charge(self, peak_kw: float, months: float = 1.0) -> float:
        """Demand charge, CNY: ``peak_kw * demand_charge_cny_per_kw_month * months``."""
        pk = float(peak_kw)
        m = float(months)
        if not math.isfinite(pk) or pk < 0:
            raise InvalidInputError("peak_kw", peak_kw, "must be finite and non-negative")
        if not math.isfinite(m) or m < 0:
            raise InvalidInputError("months", months, "must be finite and non-negative")
        return pk * self.demand_charge_cny_per_kw_month * m

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with columns ``hour`` (0..23), ``period`` and ``price`` (CNY per kWh)."""
        import pandas as pd

        return pd.DataFrame({"hour": np.arange(24), "period": list(self.periods), "price": np.asarray(self.prices)})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TouTariff):
            return NotImplemented
        return (
            self.periods == other.periods
            and self.demand_charge_cny_per_kw_month == other.demand_charge_cny_per_kw_month
            and self.name == other.name
            and bool(np.array_equal(self.prices, other.prices))
        )

    def __hash__(self) -> int:
        return hash((self.periods, self.demand_charge_cny_per_kw_month, self.name, self.prices.tobytes()))

    def __repr__(self) -> str:
        nm = f"{self.name!r}, " if self.name else ""
        levels = ", ".join(f"{p}={self.prices[self.periods.index(p)]:.4g}" for p in self.period_names)
        return f"TouTariff({nm}{levels} CNY/kWh)"
