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

from swapnet import _validate as _v
from swapnet.assets import capital_recovery_factor
from swapnet.errors import InvalidInputError

__all__ = ["annuity", "discounted_payback", "irr", "irr_roots", "npv", "payback_period"]

FloatArray = NDArray[np.float64]


def _rate(rate: float, field: str = "rate") -> float:
    return _v.real(rate, field, lo=-1.0, lo_open=True)


def _flows(cashflows: ArrayLike | Sequence[float], field: str = "cashflows") -> FloatArray:
    a = _v.array(cashflows, field, ndim=1)
    if a.size == 0:
        raise InvalidInputError(field, cashflows, "must be a non-empty 1-D sequence")
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


def irr_roots(cashflows: ArrayLike | Sequence[float]) -> tuple[float, ...]:
    """Every internal rate of return: all rates ``r > -1`` with ``npv(r, c) = 0``, ascending.

    With ``x = 1 / (1 + r)``, ``npv`` is the polynomial ``sum_t c_t x^t``; its
    positive real roots (companion-matrix eigenvalues, polished by Newton steps
    on the polynomial) are exactly the IRRs. Conventional flows (one sign change)
    have one root (Descartes' rule); flows with several sign changes can have
    several, and they are all returned, including roots closer together than
    any grid scan would separate (e.g. 0 % and 1 % for ``[-100, 201, -101]``).

    Parameters
    ----------
    cashflows
        Cash flows per period, CNY; ``cashflows[0]`` at ``t = 0``.

    Returns
    -------
    tuple of float
        The IRRs per period (fractions), ascending; empty when NPV has no zero
        (or all flows are zero, when every rate is one).
    """
    c = _flows(cashflows)
    nz = np.flatnonzero(c)
    if nz.size == 0:
        return ()
    c = c[: int(nz[-1]) + 1]
    scale = float(np.abs(c).max())
    c = c / scale
    if c.size == 1:
        return ()
    z = np.roots(c[::-1])
    cand = [float(w.real) for w in z if w.real > 0 and abs(w.imag) <= 1e-6 * max(1.0, abs(w.real))]
    dp = np.polyder(c[::-1])
    out: list[float] = []
    for x0 in cand:
        x = x0
        for _ in range(50):
            d = float(np.polyval(dp, x))
            if d == 0.0:
                break
            step = float(np.polyval(c[::-1], x)) / d
            if not math.isfinite(step) or x - step <= 0:
                break
            x -= step
            if abs(step) <= 1e-15 * max(1.0, abs(x)):
                break
        size = float(np.polyval(np.abs(c[::-1]), x))
        if abs(float(np.polyval(c[::-1], x))) > 1e-8 * max(size, 1e-300):
            continue
        r = 1.0 / x - 1.0
        if math.isfinite(r) and not any(abs(r - q) <= 1e-7 * max(1.0, abs(q)) for q in out):
            out.append(r)
    return tuple(sorted(out))


def irr(cashflows: ArrayLike | Sequence[float], *, multiple: str = "nearest") -> float:
    """Internal rate of return: the rate at which :func:`npv` is zero.

    The roots come from :func:`irr_roots`. Flows with several sign changes may
    have several IRRs, and then no single rate is "the" IRR: ``multiple`` says
    what to do — ``"nearest"`` (the default) returns the root closest to zero,
    ``"raise"`` raises naming every root, ``"nan"`` returns ``nan``. Call
    :func:`irr_roots` to see all of them.

    Parameters
    ----------
    cashflows
        Cash flows per period, CNY; ``cashflows[0]`` at ``t = 0``.
    multiple
        ``"nearest"``, ``"raise"`` or ``"nan"`` (see above).

    Returns
    -------
    float
        IRR per period (fraction), or ``nan`` when NPV never crosses zero.

    Raises
    ------
    InvalidInputError
        ``multiple="raise"`` and the flows have more than one IRR.
    """
    _v.choice(multiple, "multiple", ("nearest", "raise", "nan"))
    roots = irr_roots(cashflows)
    if not roots:
        return math.nan
    if len(roots) > 1:
        if multiple == "raise":
            shown = ", ".join(f"{r:.6g}" for r in roots)
            raise InvalidInputError("cashflows", cashflows, f"has {len(roots)} IRRs ({shown}): multiple IRRs")
        if multiple == "nan":
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
