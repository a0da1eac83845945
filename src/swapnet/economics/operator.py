"""The swap-network operator's business case: yearly cash flows, NPV, IRR, payback, break-even utilisation.

Units: money CNY, time years, energy kWh; the discount rate is a yearly fraction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from swapnet.assets import BatteryPack, StationDesign
from swapnet.economics.finance import discounted_payback, irr, npv, payback_period
from swapnet.economics.plans import BaaSPlan, UserSegment, _nonneg, monthly_cost
from swapnet.errors import InvalidInputError
from swapnet.operations import OperationsPlan
from swapnet.simulation import SimulationResult
from swapnet.stations import Station

__all__ = ["OperatorCase", "PlanUsers"]


@dataclass(frozen=True)
class PlanUsers:
    """Subscribers of one plan.

    Parameters
    ----------
    plan
        The plan they pay.
    segment
        Their monthly driving (determines fees and swaps).
    count
        Number of subscribers (non-negative).
    """

    plan: BaaSPlan
    segment: UserSegment
    count: float

    def __post_init__(self) -> None:
        if not isinstance(self.plan, BaaSPlan):
            raise InvalidInputError("plan", self.plan, "must be a BaaSPlan")
        if not isinstance(self.segment, UserSegment):
            raise InvalidInputError("segment", self.segment, "must be a UserSegment")
        object.__setattr__(self, "count", _nonneg(self.count, "count"))

    @property
    def revenue_per_year(self) -> float:
        """Subscriber payments, CNY per year (``12 * count * monthly_cost(plan, segment)["total"]``)."""
        return 12.0 * self.count * monthly_cost(self.plan, self.segment)["total"]

    @property
    def swaps_per_year(self) -> float:
        """Swaps, swaps per year."""
        return 12.0 * self.count * self.segment.swaps_per_month

    @property
    def kwh_per_year(self) -> float:
        """Energy delivered in swapped packs, kWh per year."""
        return self.swaps_per_year * self.segment.kwh_per_swap


def _electricity(value: object) -> float:
    if isinstance(value, OperationsPlan):
        raise InvalidInputError(
            "electricity_cny_per_year",
            "OperationsPlan",
            "must be CNY per year; use OperatorCase.from_operations(plan, ...)",
        )
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return _nonneg(value, "electricity_cny_per_year")
    raise InvalidInputError("electricity_cny_per_year", value, "must be a number (CNY/year)")


def _fleet(
    stations: Sequence[Station], design: StationDesign | None, extra_batteries: int
) -> tuple[int, StationDesign, int]:
    sts = list(stations)
    if not sts:
        raise InvalidInputError("stations", sts, "needs at least one station")
    for k, st in enumerate(sts):
        if not isinstance(st, Station):
            raise InvalidInputError(f"stations[{k}]", st, "must be a Station")
    d = design if design is not None else sts[0].design
    if not isinstance(d, StationDesign):
        raise InvalidInputError("design", design, "needed (the stations do not name their StationDesign)")
    if isinstance(extra_batteries, bool) or int(extra_batteries) != extra_batteries or extra_batteries < 0:
        raise InvalidInputError("extra_batteries_per_station", extra_batteries, "must be a non-negative integer")
    batteries = round(sum(st.batteries for st in sts) / len(sts)) + int(extra_batteries)
    return len(sts), d, batteries


@dataclass(frozen=True)
class OperatorCase:
    """An operator's investment in a swap network.

    Parameters
    ----------
    stations
        Number of stations (positive integer).
    capex_per_station_cny
        Station investment without batteries, CNY per station (spent in year 0).
    batteries_per_station
        Packs per station (non-negative integer).
    pack_cost_cny
        Price of one pack, CNY (spent in year 0).
    opex_per_station_cny_per_year
        Operation and maintenance without electricity, CNY per station and year.
    electricity_cny_per_year
        Network electricity cost, CNY per year. :meth:`from_operations` and :meth:`from_simulation`
        derive it from an operations plan's or a simulation's cost per day.
    users
        Subscribers by plan (:class:`PlanUsers`); revenue is their monthly payments.
    degradation_cny_per_kwh
        Battery wear, CNY per kWh delivered (illustrative: 37.9 k CNY pack / (3,000 cycles x 44.8 kWh)
        ~ 0.28 CNY/kWh, A).
    horizon_years
        Years of operation after the year-0 investment (positive integer).
    discount_rate
        Yearly discount rate (fraction, > -1).
    salvage_cny
        Residual value of the network at the end of the horizon, CNY (received in the last year).
    """

    stations: int
    capex_per_station_cny: float
    batteries_per_station: int
    pack_cost_cny: float
    opex_per_station_cny_per_year: float
    electricity_cny_per_year: float = 0.0
    users: Sequence[PlanUsers] = field(default_factory=tuple)
    degradation_cny_per_kwh: float = 0.0
    horizon_years: int = 10
    discount_rate: float = 0.08
    salvage_cny: float = 0.0

    def __post_init__(self) -> None:
        s = object.__setattr__
        for f in ("stations", "horizon_years"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) <= 0:
                raise InvalidInputError(f, v, "must be a positive integer")
            s(self, f, int(v))
        b = self.batteries_per_station
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or int(b) < 0:
            raise InvalidInputError("batteries_per_station", b, "must be a non-negative integer")
        s(self, "batteries_per_station", int(b))
        for f in (
            "capex_per_station_cny",
            "pack_cost_cny",
            "opex_per_station_cny_per_year",
            "degradation_cny_per_kwh",
            "salvage_cny",
        ):
            s(self, f, _nonneg(getattr(self, f), f))
        s(self, "electricity_cny_per_year", _electricity(self.electricity_cny_per_year))
        users = tuple(self.users)
        for i, u in enumerate(users):
            if not isinstance(u, PlanUsers):
                raise InvalidInputError(f"users[{i}]", u, "must be a PlanUsers")
        s(self, "users", users)
        r = self.discount_rate
        try:
            rf = float(r)
        except (TypeError, ValueError):
            raise InvalidInputError("discount_rate", r, "must be a number") from None
        if not math.isfinite(rf) or rf <= -1:
            raise InvalidInputError("discount_rate", r, "must be finite and greater than -1")
        s(self, "discount_rate", rf)

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_operations(
        cls,
        plan: OperationsPlan,
        stations: Sequence[Station],
        pack: BatteryPack,
        *,
        design: StationDesign | None = None,
        users: Sequence[PlanUsers] = (),
        extra_batteries_per_station: int = 0,
        degradation_cny_per_kwh: float = 0.0,
        horizon_years: int = 10,
        discount_rate: float = 0.08,
        salvage_cny: float = 0.0,
    ) -> OperatorCase:
        """The case of operating ``stations`` as ``plan`` schedules them.

        Electricity per year is ``365 * plan.costs_per_day["energy"]``: the plan's energy cost per
        planned day (a plan of ``days`` days is not billed ``days`` times). Station count, the
        mean battery count (rounded, plus ``extra_batteries_per_station``, e.g. the subscribers'
        own packs), capex and O&M per station come from ``stations`` and ``design`` (default: the
        stations' own design); the pack price from ``pack``.

        Raises
        ------
        InvalidInputError
            When ``plan`` is not an :class:`~swapnet.operations.OperationsPlan`, its stations are
            not ``stations``, or no design is known.
        """
        if not isinstance(plan, OperationsPlan):
            raise InvalidInputError("plan", plan, "must be an OperationsPlan (see plan_operations)")
        planned = set(plan.schedule["station"].tolist())
        if planned != {st.label for st in stations}:
            raise InvalidInputError("stations", sorted(map(str, planned)), "are not the stations the plan operates")
        return cls._operating(
            stations, pack, 365.0 * float(plan.costs_per_day["energy"]), design, extra_batteries_per_station,
            (users, degradation_cny_per_kwh, horizon_years, discount_rate, salvage_cny),
        )  # fmt: skip

    @classmethod
    def from_simulation(
        cls,
        result: SimulationResult,
        stations: Sequence[Station],
        pack: BatteryPack,
        *,
        design: StationDesign | None = None,
        users: Sequence[PlanUsers] = (),
        extra_batteries_per_station: int = 0,
        degradation_cny_per_kwh: float = 0.0,
        horizon_years: int = 10,
        discount_rate: float = 0.08,
        salvage_cny: float = 0.0,
    ) -> OperatorCase:
        """The case of operating ``stations`` as simulated in ``result``.

        Electricity per year is ``365 * mean energy cost of the observed days / days`` (the
        simulation's network ``energy_cost_cny`` covers all ``result.days`` days); the other
        terms as in :meth:`from_operations`.

        Raises
        ------
        InvalidInputError
            When the simulation had no tariff (its energy cost is unknown) or simulated other stations.
        """
        if not isinstance(result, SimulationResult):
            raise InvalidInputError("result", result, "must be a SimulationResult (see simulate)")
        if set(result.stations) != {st.label for st in stations}:
            raise InvalidInputError("stations", list(result.stations), "are not the stations simulated")
        cost = float(result.network_replication_kpis["energy_cost_cny"].mean())
        if not math.isfinite(cost):
            raise InvalidInputError("result", "energy_cost_cny", "the simulation had no tariff: give simulate a tariff")
        return cls._operating(
            stations, pack, 365.0 * cost / result.days, design, extra_batteries_per_station,
            (users, degradation_cny_per_kwh, horizon_years, discount_rate, salvage_cny),
        )  # fmt: skip

    @classmethod
    def _operating(
        cls,
        stations: Sequence[Station],
        pack: BatteryPack,
        electricity_cny_per_year: float,
        design: StationDesign | None,
        extra_batteries_per_station: int,
        terms: tuple[Sequence[PlanUsers], float, int, float, float],
    ) -> OperatorCase:
        """The one builder of :meth:`from_operations` and :meth:`from_simulation`: a case of ``stations``
        with the given electricity per year; ``terms`` = (users, degradation, horizon, rate, salvage)."""
        n, d, batteries = _fleet(stations, design, extra_batteries_per_station)
        users, degradation, horizon, rate, salvage = terms
        return cls(
            stations=n,
            capex_per_station_cny=d.capex_cny,
            batteries_per_station=batteries,
            pack_cost_cny=pack.cost_cny,
            opex_per_station_cny_per_year=d.opex_cny_per_year,
            electricity_cny_per_year=electricity_cny_per_year,
            users=users,
            degradation_cny_per_kwh=degradation,
            horizon_years=horizon,
            discount_rate=rate,
            salvage_cny=salvage,
        )

    # ------------------------------------------------------------------ totals
    @property
    def capex_cny(self) -> float:
        """Year-0 investment ``stations * (capex_per_station + batteries_per_station * pack_cost)``, CNY."""
        return self.stations * (self.capex_per_station_cny + self.batteries_per_station * self.pack_cost_cny)

    @property
    def electricity_cost_cny_per_year(self) -> float:
        """Electricity cost, CNY per year (``electricity_cny_per_year`` after conversion)."""
        return self.electricity_cny_per_year

    @property
    def opex_cny_per_year(self) -> float:
        """O&M of the network without electricity, CNY per year."""
        return self.stations * self.opex_per_station_cny_per_year

    def cash_flows(self) -> pd.DataFrame:
        """Yearly cash flows, CNY.

        Returns
        -------
        pandas.DataFrame
            Index ``year`` ``0..horizon_years``. Columns ``revenue[<plan name>]`` (one per plan,
            summed over entries with the same name), ``revenue``, ``energy``, ``degradation``,
            ``om``, ``capex``, ``salvage`` (costs negative), ``net``, ``cumulative``,
            ``discount_factor`` (``(1 + r)^-year``), ``discounted`` and ``cumulative_discounted``.
            Year 0 holds only the capex; years ``1..H`` the operating flows; the salvage value is
            received in year ``H``.
        """
        H = self.horizon_years
        years = np.arange(H + 1)
        op = (years >= 1).astype(np.float64)
        data: dict[str, Any] = {}
        by_plan: dict[str, float] = {}
        for u in self.users:
            by_plan[u.plan.name] = by_plan.get(u.plan.name, 0.0) + u.revenue_per_year
        for name, rev in by_plan.items():
            data[f"revenue[{name}]"] = rev * op
        revenue = sum(by_plan.values()) * op
        kwh = sum(u.kwh_per_year for u in self.users)
        data["revenue"] = revenue
        data["energy"] = 0.0 - self.electricity_cost_cny_per_year * op
        data["degradation"] = 0.0 - self.degradation_cny_per_kwh * kwh * op
        data["om"] = 0.0 - self.opex_cny_per_year * op
        data["capex"] = np.where(years == 0, -self.capex_cny, 0.0)
        data["salvage"] = np.where(years == H, self.salvage_cny, 0.0)
        net = revenue + data["energy"] + data["degradation"] + data["om"] + data["capex"] + data["salvage"]
        df = pd.DataFrame(data, index=pd.Index(years, name="year"))
        df["net"] = net
        df["cumulative"] = np.cumsum(net)
        df["discount_factor"] = (1.0 + self.discount_rate) ** -years.astype(np.float64)
        df["discounted"] = df["net"] * df["discount_factor"]
        df["cumulative_discounted"] = df["discounted"].cumsum()
        return df

    def _net(self) -> list[float]:
        return [float(x) for x in self.cash_flows()["net"]]

    def npv(self) -> float:
        """Net present value of :meth:`cash_flows` at ``discount_rate``, CNY."""
        return npv(self.discount_rate, self._net())

    def irr(self) -> float:
        """Internal rate of return of the yearly net flows (fraction per year; ``nan`` if none)."""
        return irr(self._net())

    def payback(self, *, discounted: bool = False) -> float:
        """Payback period, years (fractional; ``inf`` if never), optionally on discounted flows."""
        net = self._net()
        return discounted_payback(self.discount_rate, net) if discounted else payback_period(net)

    def break_even_swaps_per_station_day(self, margin_cny_per_swap: float) -> float:
        """Daily swaps per station at which the network's NPV is zero.

        Revenue is modelled as ``stations * s * 365 * margin`` per year (the margin is net of
        electricity and wear) against the capex, O&M and salvage of this case; subscribers and
        electricity are ignored. NPV is linear in ``s``, so the root is closed-form:
        ``s* = (capex + opex * A - salvage / (1 + r)^H) / (stations * 365 * margin * A)`` with the
        annuity factor ``A = sum_{t=1..H} (1 + r)^-t``. Equivalently, ``s*`` covers the
        annualised capex (capital recovery factor) plus O&M.

        Parameters
        ----------
        margin_cny_per_swap
            Contribution per swap, CNY per swap (positive).

        Returns
        -------
        float
            Break-even utilisation, swaps per station per day (NIO reports ~50-60).
        """
        m = _nonneg(margin_cny_per_swap, "margin_cny_per_swap", positive=True)
        r, H = self.discount_rate, self.horizon_years
        A = float(np.sum((1.0 + r) ** -np.arange(1, H + 1, dtype=np.float64)))
        need = self.capex_cny + self.opex_cny_per_year * A - self.salvage_cny * (1.0 + r) ** -H
        return need / (self.stations * 365.0 * m * A)

    def summary(self) -> Mapping[str, float]:
        """``npv`` (CNY), ``irr`` (fraction/year), ``payback`` and ``discounted_payback`` (years)."""
        return {
            "npv": self.npv(),
            "irr": self.irr(),
            "payback": self.payback(),
            "discounted_payback": self.payback(discounted=True),
        }
