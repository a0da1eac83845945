"""Battery-as-a-Service (BaaS) plans, battery ownership, user segments and their costs.

Units: money CNY, distance km, energy kWh, time months; discount rates are
yearly fractions converted to monthly ``(1 + r)^(1/12) - 1``. Preset values
come from DOMAIN.md (tags: S sourced, D derived, A assumption); see
``docs/economics.md``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from swapnet import _validate as _v
from swapnet.errors import InvalidInputError

__all__ = [
    "ASSUMED_KWH_FEE_CNY",
    "KWH_PER_SWAP",
    "USABLE_KM_PER_SWAP",
    "BaaSPlan",
    "Ownership",
    "UserSegment",
    "break_even_km",
    "compare_plans",
    "monthly_cost",
    "total_cost_of_ownership",
]

#: Swap energy price (electricity + service fee), CNY per kWh billed -- illustrative assumption (A):
#: NIO bills "(electricity + service fee) x kWh added" (S) but the fee level varies; 1.5 CNY/kWh is
#: ~0.52 CNY/kWh flat electricity (DOMAIN.md, A) plus ~1 CNY/kWh service.
ASSUMED_KWH_FEE_CNY = 1.5
#: Usable km per swap: a #25 LFP pack (500 km) swapped at ~20 % state of charge -> 400 km (D; DOMAIN.md
#: "40 km/day, 400 usable km").
USABLE_KM_PER_SWAP = 400.0
#: Energy added per swap: 80 % of a 56 kWh pack = 44.8 kWh (D; DOMAIN.md "~45 kWh" per swap).
KWH_PER_SWAP = 0.8 * 56.0


def _nonneg(value: object, field: str, *, positive: bool = False) -> float:
    return _v.positive(value, field) if positive else _v.non_negative(value, field)


def _monthly_rate(rate: float) -> float:
    try:
        r = float(rate)
    except (TypeError, ValueError):
        raise InvalidInputError("rate", rate, "must be a number") from None
    if not math.isfinite(r) or r <= -1:
        raise InvalidInputError("rate", rate, "must be finite and greater than -1")
    return float((1.0 + r) ** (1.0 / 12.0) - 1.0)


def _months(months: object) -> int:
    return _v.integer(months, "months", minimum=1)


# ------------------------------------------------------------------------ segments
@dataclass(frozen=True)
class UserSegment:
    """A typical user's monthly driving.

    Parameters
    ----------
    name
        Segment name.
    km_per_month
        Distance driven, km per month (non-negative).
    swaps_per_month
        Battery swaps, swaps per month (non-negative).
    kwh_per_swap
        Energy added per swap, kWh (non-negative).
    """

    name: str
    km_per_month: float
    swaps_per_month: float
    kwh_per_swap: float = KWH_PER_SWAP

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", str(self.name))
        for f in ("km_per_month", "swaps_per_month", "kwh_per_swap"):
            object.__setattr__(self, f, _nonneg(getattr(self, f), f))

    @property
    def km_per_swap(self) -> float:
        """Distance per swap, km (``USABLE_KM_PER_SWAP`` when the segment has no swaps)."""
        return self.km_per_month / self.swaps_per_month if self.swaps_per_month > 0 else USABLE_KM_PER_SWAP

    def with_km(self, km_per_month: float) -> UserSegment:
        """The same segment driving ``km_per_month`` km, swaps scaled at constant km per swap."""
        km = _nonneg(km_per_month, "km_per_month")
        return replace(self, km_per_month=km, swaps_per_month=km / self.km_per_swap)

    @classmethod
    def _from_swaps(cls, name: str, swaps: float) -> UserSegment:
        s = _nonneg(swaps, "swaps_per_month")
        return cls(name, s * USABLE_KM_PER_SWAP, s, KWH_PER_SWAP)

    @classmethod
    def private(cls, swaps_per_month: float = 4.5) -> UserSegment:
        """Private car: 3-6 swaps/month (D), default 4.5 -> 1,800 km/month at 400 km/swap, 44.8 kWh/swap."""
        return cls._from_swaps("private", swaps_per_month)

    @classmethod
    def ride_hailing(cls, swaps_per_month: float = 15.0) -> UserSegment:
        """Ride-hailing: 10-20 swaps/month (D), default 15 -> 6,000 km/month."""
        return cls._from_swaps("ride-hailing", swaps_per_month)

    @classmethod
    def taxi(cls, swaps_per_month: float = 37.0) -> UserSegment:
        """Taxi: ~37 swaps/month (D) -> 14,800 km/month (~490 km/day)."""
        return cls._from_swaps("taxi", swaps_per_month)


# --------------------------------------------------------------------------- plans
@dataclass(frozen=True)
class BaaSPlan:
    """A battery-rental (BaaS) plan.

    Parameters
    ----------
    name
        Plan name.
    monthly_rent_cny
        Battery rent, CNY per month.
    included_swaps_per_month
        Swaps per month free of ``fee_per_swap_cny``; ``None`` = unlimited.
    included_km_per_month
        Mileage cap, km per month; ``None`` = unlimited.
    fee_per_swap_cny
        Fee per swap beyond ``included_swaps_per_month``, CNY per swap (0 = all swaps
        charged when ``included_swaps_per_month`` is 0).
    fee_per_kwh_cny
        Energy fee (electricity + service) on every swap, CNY per kWh billed.
    min_billed_kwh_per_swap
        Minimum kWh billed per swap (NIO: 20 kWh).
    extra_km_package
        ``(km, price_cny)`` of a mileage increment package bought in whole units when
        the cap is exceeded; ``None`` = none sold (cap cannot be exceeded).
    deposit_cny
        Refundable deposit paid at sign-up, CNY.
    buyout_after_months
        Month after which the user may buy the battery (``None`` = no buyout).
    buyout_price_cny
        Buyout price, CNY.
    """

    name: str
    monthly_rent_cny: float
    included_swaps_per_month: float | None = None
    included_km_per_month: float | None = None
    fee_per_swap_cny: float = 0.0
    fee_per_kwh_cny: float = 0.0
    min_billed_kwh_per_swap: float = 0.0
    extra_km_package: tuple[float, float] | None = None
    deposit_cny: float = 0.0
    buyout_after_months: int | None = None
    buyout_price_cny: float = 0.0

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "name", str(self.name))
        for f in ("monthly_rent_cny", "fee_per_swap_cny", "fee_per_kwh_cny", "min_billed_kwh_per_swap"):
            s(self, f, _nonneg(getattr(self, f), f))
        for f in ("deposit_cny", "buyout_price_cny"):
            s(self, f, _nonneg(getattr(self, f), f))
        for f in ("included_swaps_per_month", "included_km_per_month"):
            if getattr(self, f) is not None:
                s(self, f, _nonneg(getattr(self, f), f))
        if self.extra_km_package is not None:
            pkg = self.extra_km_package
            if not isinstance(pkg, tuple) or len(pkg) != 2:
                raise InvalidInputError("extra_km_package", pkg, "must be a (km, price_cny) pair")
            s(
                self,
                "extra_km_package",
                (_nonneg(pkg[0], "extra_km_package.km", positive=True), _nonneg(pkg[1], "extra_km_package.price")),
            )
        if self.buyout_after_months is not None:
            b = self.buyout_after_months
            if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or int(b) <= 0:
                raise InvalidInputError("buyout_after_months", b, "must be a positive integer")
            s(self, "buyout_after_months", int(b))

    # ---------------------------------------------------------------- presets
    @classmethod
    def nio_baas_75(cls) -> BaaSPlan:
        """NIO BaaS 75 kWh: 728 CNY/month (S), swaps billed per kWh with a 20 kWh minimum (S).

        The fee level ``ASSUMED_KWH_FEE_CNY`` = 1.5 CNY/kWh is an assumption (A).
        """
        return cls("NIO BaaS 75", 728.0, fee_per_kwh_cny=ASSUMED_KWH_FEE_CNY, min_billed_kwh_per_swap=20.0)

    @classmethod
    def choco_swap_unlimited(cls) -> BaaSPlan:
        """CATL Choco-swap #25 LFP: 599 CNY/month, unlimited mileage (S); energy fee 1.5 CNY/kWh (A)."""
        return cls("Choco-swap unlimited", 599.0, fee_per_kwh_cny=ASSUMED_KWH_FEE_CNY)

    @classmethod
    def choco_family(cls) -> BaaSPlan:
        """CATL Choco-swap "family" plan -- ASSUMED terms (A): the plan exists (S) but its price was not found.

        Assumed 399 CNY/month with 1,500 km/month included and a mileage increment
        package of 500 km for 100 CNY (mirroring the Aion UT super "mileage increment
        package", S); energy fee 1.5 CNY/kWh (A).
        """
        return cls(
            "Choco-swap family (assumed)",
            399.0,
            included_km_per_month=1500.0,
            fee_per_kwh_cny=ASSUMED_KWH_FEE_CNY,
            extra_km_package=(500.0, 100.0),
        )

    @classmethod
    def evogo_block(cls) -> BaaSPlan:
        """CATL EVOGO (2022): 399 CNY/month per block (S); one block, energy fee 1.5 CNY/kWh (A)."""
        return cls("EVOGO block", 399.0, fee_per_kwh_cny=ASSUMED_KWH_FEE_CNY)


@dataclass(frozen=True)
class Ownership:
    """Buying the car with its battery instead of renting the battery.

    Parameters
    ----------
    name
        Label.
    car_price_with_battery_cny
        Car price including the battery, CNY.
    car_price_without_battery_cny
        Car price with a rented battery, CNY.
    fee_per_kwh_cny
        Energy price the owner pays, CNY per kWh (default the swap fee assumption, so
        comparisons isolate battery financing).
    battery_life_months
        Months over which the battery's value falls linearly to zero (A: 96 = 8 years);
        the remaining value is counted as resale at the end of a TCO horizon.
    """

    name: str
    car_price_with_battery_cny: float
    car_price_without_battery_cny: float
    fee_per_kwh_cny: float = ASSUMED_KWH_FEE_CNY
    battery_life_months: float = 96.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", str(self.name))
        for f in ("car_price_with_battery_cny", "car_price_without_battery_cny", "fee_per_kwh_cny"):
            object.__setattr__(self, f, _nonneg(getattr(self, f), f))
        object.__setattr__(
            self, "battery_life_months", _nonneg(self.battery_life_months, "battery_life_months", positive=True)
        )
        if self.car_price_without_battery_cny > self.car_price_with_battery_cny:
            raise InvalidInputError(
                "car_price_without_battery_cny",
                self.car_price_without_battery_cny,
                f"exceeds car_price_with_battery_cny={self.car_price_with_battery_cny}",
            )

    def battery_price_difference(self) -> float:
        """Extra price of buying the battery, CNY (Aion UT super: 89,900 - 49,900 = 40,000)."""
        return self.car_price_with_battery_cny - self.car_price_without_battery_cny

    @classmethod
    def aion_ut_super(cls) -> Ownership:
        """GAC Aion UT super: 89,900 CNY with battery, 49,900 CNY with a rented battery (S, 36Kr)."""
        return cls("Aion UT super (owned battery)", 89_900.0, 49_900.0)


# --------------------------------------------------------------------------- costs
def monthly_cost(plan: BaaSPlan | Ownership, segment: UserSegment) -> dict[str, float]:
    """Monthly cost of a plan for a segment, CNY per month, by component.

    * ``rent`` = ``monthly_rent_cny`` (0 for :class:`Ownership`);
    * ``swap_fees`` = ``fee_per_swap_cny * max(0, swaps - included_swaps)`` (0 when swaps are unlimited);
    * ``kwh_fees`` = ``fee_per_kwh_cny * swaps * max(kwh_per_swap, min_billed_kwh_per_swap)``;
    * ``extra_km`` = ``ceil((km - included_km) / package_km) * package_price`` when over the cap
      (``inf`` when over the cap and no package is sold);
    * ``total`` = the sum.

    Parameters
    ----------
    plan
        A :class:`BaaSPlan` or an :class:`Ownership` (energy only; the battery price is in
        :func:`total_cost_of_ownership`).
    segment
        The user's monthly driving.

    Returns
    -------
    dict
        Keys ``rent``, ``swap_fees``, ``kwh_fees``, ``extra_km``, ``total`` (CNY per month).
    """
    swaps = segment.swaps_per_month
    if isinstance(plan, Ownership):
        kwh = plan.fee_per_kwh_cny * swaps * segment.kwh_per_swap
        return {"rent": 0.0, "swap_fees": 0.0, "kwh_fees": kwh, "extra_km": 0.0, "total": kwh}
    if not isinstance(plan, BaaSPlan):
        raise InvalidInputError("plan", plan, "must be a BaaSPlan or an Ownership")
    swap_fees = 0.0
    if plan.included_swaps_per_month is not None:
        swap_fees = plan.fee_per_swap_cny * max(0.0, swaps - plan.included_swaps_per_month)
    kwh_fees = plan.fee_per_kwh_cny * swaps * max(segment.kwh_per_swap, plan.min_billed_kwh_per_swap)
    extra = 0.0
    if plan.included_km_per_month is not None and segment.km_per_month > plan.included_km_per_month:
        excess = segment.km_per_month - plan.included_km_per_month
        if plan.extra_km_package is None:
            extra = math.inf
        else:
            km, price = plan.extra_km_package
            # round to 1e-9 km so 1000.0000000001 km of excess does not buy a spurious package
            extra = math.ceil(round(excess / km, 9)) * price
    total = plan.monthly_rent_cny + swap_fees + kwh_fees + extra
    return {
        "rent": plan.monthly_rent_cny,
        "swap_fees": swap_fees,
        "kwh_fees": kwh_fees,
        "extra_km": extra,
        "total": total,
    }


def total_cost_of_ownership(plan: BaaSPlan | Ownership, segment: UserSegment, months: int, rate: float = 0.0) -> float:
    """Present value at sign-up of the battery-related costs over ``months`` months, CNY.

    Timing (monthly rate ``m = (1 + rate)^(1/12) - 1``):

    * :class:`BaaSPlan`: deposit at ``t = 0``; the monthly cost of :func:`monthly_cost` at the
      end of months ``1..months``; the deposit refunded at ``t = months``. With a buyout
      ``b <= months``: the buyout price is paid and the deposit refunded at ``t = b``; from month
      ``b + 1`` only energy fees (``kwh_fees``) are paid.
    * :class:`Ownership`: ``battery_price_difference`` at ``t = 0``; energy at the end of each
      month; the residual battery value ``difference * max(0, 1 - months / battery_life_months)``
      recovered at ``t = months``.

    Parameters
    ----------
    plan
        Plan or ownership alternative.
    segment
        The user's monthly driving.
    months
        Horizon, months (positive integer).
    rate
        Yearly discount rate (fraction, > -1).

    Returns
    -------
    float
        Discounted cost, CNY (``inf`` if the plan cannot cover the mileage).
    """
    n = _months(months)
    m = _monthly_rate(rate)
    disc = (1.0 + m) ** -np.arange(n + 1, dtype=np.float64)  # disc[t] discounts t months
    cost = monthly_cost(plan, segment)
    if isinstance(plan, Ownership):
        diff = plan.battery_price_difference()
        residual = diff * max(0.0, 1.0 - n / plan.battery_life_months)
        return float(diff + cost["total"] * disc[1:].sum() - residual * disc[n])
    b = plan.buyout_after_months
    if b is None or b > n:
        return float(plan.deposit_cny + cost["total"] * disc[1:].sum() - plan.deposit_cny * disc[n])
    return float(
        plan.deposit_cny
        + cost["total"] * disc[1 : b + 1].sum()
        + (plan.buyout_price_cny - plan.deposit_cny) * disc[b]
        + cost["kwh_fees"] * disc[b + 1 :].sum()
    )


def break_even_km(
    plan_a: BaaSPlan | Ownership,
    plan_b: BaaSPlan | Ownership,
    segment: UserSegment,
    *,
    months: int = 1,
    rate: float = 0.0,
    km_max: float = 30_000.0,
    km_step: float = 10.0,
) -> float:
    """Monthly mileage at which two alternatives cost the same, km per month.

    ``f(km) = TCO(plan_a, segment.with_km(km)) - TCO(plan_b, segment.with_km(km))`` is
    evaluated on a grid of step ``km_step`` over ``[0, km_max]`` (swaps scale with km at the
    segment's km per swap); the first sign change is refined with
    :func:`scipy.optimize.brentq`. With mileage packages ``f`` is a step function and
    the root is the step where the difference changes sign or first becomes a tie. The default
    ``months=1, rate=0`` compares monthly costs; pass a horizon to include deposits,
    buyouts and (for :class:`Ownership`) the battery price.

    Parameters
    ----------
    plan_a, plan_b
        The alternatives.
    segment
        Template segment (its km per swap and kWh per swap are kept).
    months, rate
        TCO horizon (months) and yearly discount rate, see :func:`total_cost_of_ownership`.
    km_max
        Largest mileage searched, km per month.
    km_step
        Grid spacing, km per month; a crossing and re-crossing within one step is missed.

    Returns
    -------
    float
        Break-even mileage, km per month; 0 if they cost the same with no driving; ``nan`` if
        one alternative is cheaper throughout ``[0, km_max]``.
    """
    hi = _nonneg(km_max, "km_max", positive=True)

    def f(km: float) -> float:
        s = segment.with_km(km)
        return total_cost_of_ownership(plan_a, s, months, rate) - total_cost_of_ownership(plan_b, s, months, rate)

    step = _nonneg(km_step, "km_step", positive=True)
    grid = np.linspace(0.0, hi, max(2, math.ceil(hi / step) + 1))
    prev = f(0.0)
    if prev == 0.0:
        return 0.0
    for lo_km, hi_km in itertools.pairwise(grid):
        cur = f(float(hi_km))
        if cur == 0.0 or (prev < 0) != (cur < 0):
            if cur != 0.0 and math.isfinite(prev) and math.isfinite(cur):
                return float(brentq(f, float(lo_km), float(hi_km), xtol=1e-9))
            # a tie reached by a step (mileage packages) or an infinite cost (cap without packages): bisect
            # for the first mileage where the difference leaves the sign it had at lo_km
            a, b = float(lo_km), float(hi_km)
            for _ in range(80):
                mid = 0.5 * (a + b)
                fm = f(mid)
                if fm != 0.0 and (fm < 0) == (prev < 0):
                    a = mid
                else:
                    b = mid
            return 0.5 * (a + b)
        prev = cur
    return math.nan


def compare_plans(
    plans: Sequence[BaaSPlan | Ownership] | Mapping[str, BaaSPlan | Ownership],
    segments: Sequence[UserSegment],
    *,
    months: int = 60,
    rate: float = 0.06,
) -> pd.DataFrame:
    """Plans side by side for each segment.

    Parameters
    ----------
    plans
        Alternatives (a mapping gives row labels; otherwise plan names are used); the first is the
        reference for break-even mileage.
    segments
        User segments.
    months, rate
        TCO horizon (months) and yearly discount rate.

    Returns
    -------
    pandas.DataFrame
        Index: plan name. Columns per segment ``s``: ``monthly[s]`` (CNY/month),
        ``tco[s]`` (CNY, present value) and ``break_even_km[s]`` (km/month at which the plan
        and the reference cost the same over the horizon; ``nan`` for the reference or no
        crossing).
    """
    named = list(plans.items()) if isinstance(plans, Mapping) else [(p.name, p) for p in plans]
    items = [p for _, p in named]
    if not items:
        raise InvalidInputError("plans", plans, "needs at least one plan")
    ref = items[0]
    rows: dict[str, dict[str, float]] = {}
    for name, p in named:
        row: dict[str, float] = {}
        for s in segments:
            row[f"monthly[{s.name}]"] = monthly_cost(p, s)["total"]
            row[f"tco[{s.name}]"] = total_cost_of_ownership(p, s, months, rate)
            row[f"break_even_km[{s.name}]"] = (
                math.nan if p is ref else break_even_km(p, ref, s, months=months, rate=rate)
            )
        rows[str(name)] = row
    return pd.DataFrame.from_dict(rows, orient="index")
