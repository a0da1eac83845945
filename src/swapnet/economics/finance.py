"""Discounted cash-flow helpers: NPV, IRR, annuity, payback.

Conventions: ``cashflows[t]`` is the net cash flow (CNY, any consistent
currency) at the end of period ``t``; ``cashflows[0]`` happens at ``t = 0`` and
is not discounted. Rates are per period as fractions (0.06 for 6 %).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from swapnet.assets import capital_recovery_factor
from swapnet.errors import InvalidInputError

__all__ = ["annuity", "discounted_payback", "irr", "npv", "payback_period"]

FloatArray = NDArray[np.float64]


def _rate(rate: float, field: str = "rate") -> float:
    try:
        r = float(rate)
    except (TypeError, ValueError):
        raise InvalidInputError(field, rate, "must be a number") from None
    if not math.isfinite(r) or r <= -1:
        raise InvalidInputError(field, rate, "must be finite and greater than -1")
    return r


def _flows(cashflows: ArrayLike | Sequence[float], field: str = "cashflows") -> FloatArray:
    try:
        a = np.asarray(cashflows, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(field, cashflows, "must be numbers") from None
    if a.ndim != 1 or a.size == 0:
        raise InvalidInputError(field, cashflows, "must be a non-empty 1-D sequence")
    if not np.isfinite(a).all():
        raise InvalidInputError(field, cashflows, "must be finite")
    return a


def npv(rate: float, cashflows: ArrayLike | Sequence[float]) -> float:
    """Net present value ``sum_t c_t / (1 + r)^t``.

    Parameters
    ----------
    rate
        Discount rate per period (fraction, > -1).
    cashflows
        Cash flows per period, CNY; ``cashflows[0]`` at ``t = 0``.

    Returns
    -------
    float
        Present value at ``t = 0``, CNY.
    """
    r = _rate(rate)
    c = _flows(cashflows)
    t = np.arange(c.size, dtype=np.float64)
    return float(np.sum(c / (1.0 + r) ** t))


#: Rates scanned for a sign change of NPV in :func:`irr` (per period).
_IRR_GRID: FloatArray = np.unique(np.concatenate([np.linspace(-0.99, 1.0, 400), np.geomspace(1.0, 1.0e4, 200)]))


def irr(cashflows: ArrayLike | Sequence[float]) -> float:
    """Internal rate of return: the rate at which :func:`npv` is zero.

    NPV is evaluated on a grid of rates from -99 % to 10^6 % per period; the
    first interval (scanning outward from a rate of zero) with a sign change is
    refined with :func:`scipy.optimize.brentq`. With several roots (non-conventional
    flows) the one closest to zero is returned.

    Parameters
    ----------
    cashflows
        Cash flows per period, CNY; ``cashflows[0]`` at ``t = 0``.

    Returns
    -------
    float
        IRR per period (fraction), or ``nan`` when NPV never changes sign.
    """
    c = _flows(cashflows)
    grid = _IRR_GRID
    values = np.array([npv(float(r), c) for r in grid])
    roots: list[float] = [float(r) for r, v in zip(grid, values, strict=True) if v == 0.0]
    s = np.sign(values)
    for i in np.flatnonzero(s[:-1] * s[1:] < 0):
        lo, hi = float(grid[i]), float(grid[i + 1])
        roots.append(float(brentq(lambda r: npv(r, c), lo, hi, xtol=1e-14, rtol=1e-12)))
    if not roots:
        return math.nan
    return min(roots, key=abs)


def annuity(principal: float, rate: float, n: float) -> float:
    """Constant payment per period that repays ``principal`` over ``n`` periods.

    ``annuity = capital_recovery_factor(rate, n) * principal``.

    Parameters
    ----------
    principal
        Amount borrowed or invested, CNY.
    rate
        Interest rate per period (fraction, > -1).
    n
        Number of periods (positive).

    Returns
    -------
    float
        Payment per period, CNY.
    """
    try:
        p = float(principal)
    except (TypeError, ValueError):
        raise InvalidInputError("principal", principal, "must be a number") from None
    if not math.isfinite(p):
        raise InvalidInputError("principal", principal, "must be finite")
    return capital_recovery_factor(rate, n) * p


def _payback(c: FloatArray) -> float:
    cum = np.cumsum(c)
    # last time the cumulative position is negative; payback only counts once it stays recovered
    tol = 1e-12 * float(np.max(np.abs(c)))  # rounding in discounted flows must not hide an exact payback
    neg = np.flatnonzero(cum < -tol)
    if neg.size == 0:
        return 0.0
    last = int(neg[-1])
    if last == c.size - 1:
        return math.inf
    # recovered during period last+1, assuming the flow arrives evenly through that period
    return last + float(-cum[last] / c[last + 1])


def payback_period(cashflows: ArrayLike | Sequence[float]) -> float:
    """Simple payback period, periods (fractional).

    The cumulative cash position is interpolated linearly within the period in
    which it turns non-negative for good (flows assumed spread evenly over each
    period): with ``C_k < 0 <= C_{k+1}``, payback ``= k + (-C_k) / c_{k+1}``.

    Parameters
    ----------
    cashflows
        Cash flows per period, CNY; ``cashflows[0]`` at ``t = 0``.

    Returns
    -------
    float
        Payback time in periods; ``0`` if ``cashflows[0] >= 0`` and no later loss,
        ``inf`` if the investment is never recovered.
    """
    return _payback(_flows(cashflows))


def discounted_payback(rate: float, cashflows: ArrayLike | Sequence[float]) -> float:
    """Discounted payback period, periods (fractional): :func:`payback_period` of ``c_t / (1 + r)^t``.

    Parameters
    ----------
    rate
        Discount rate per period (fraction, > -1).
    cashflows
        Cash flows per period, CNY; ``cashflows[0]`` at ``t = 0``.

    Returns
    -------
    float
        Payback time in periods, ``inf`` if never recovered.
    """
    r = _rate(rate)
    c = _flows(cashflows)
    return _payback(c / (1.0 + r) ** np.arange(c.size, dtype=np.float64))
