r"""Queueing model of a swap station's busiest hour: the share of drivers who find no charged pack.

A station has :math:`b` packs, :math:`c` chargers and :math:`k` bays; swap requests arrive as a
Poisson process of rate :math:`\lambda` per hour (the busiest hour's mean rate). A driver takes a
charged pack if one is free (else is lost: no patience), a bay swaps it in :math:`s` hours and the
returned pack then charges for :math:`t_c` hours on a free charger (waiting for one if all are busy).

**Packs in the charge cycle.** Let :math:`N` be the packs not charged and free: promised or in a
bay, waiting for a charger, or charging. A request is lost exactly when :math:`N = b` (PASTA).

* With a charger for every pack (:math:`c \ge b`) every pack in the cycle is served at once: the cycle
  is an infinite-server stage truncated at :math:`b`, i.e. the Erlang loss system M/G/b/b with offered
  load :math:`a = \lambda (t_c + s)`; the loss is Erlang's B formula

  .. math:: B(b, a) = \frac{a^b / b!}{\sum_{n=0}^{b} a^n / n!},

  **insensitive** to the distribution of the charge (and swap) time: only its mean matters.
* With fewer chargers (:math:`c < b`) the charging stage is a :math:`c`-server queue with room for
  :math:`b` packs. We use the birth-death chain of M/M/c/b with :math:`a = \lambda t_c`:
  :math:`p_n \propto \prod_{j=1}^{n} a / \min(j, c)`, loss :math:`p_b / \sum_{n \le b} p_n`, on the
  packs left once the swap stage holds its mean :math:`\lceil \lambda (s + W_q) \rceil` packs
  (:math:`W_q` the Erlang-C mean wait for a bay). Exponential charge times are more variable than the
  near-constant real ones, so this errs towards more loss (more packs), i.e. it is conservative;
  the study's simulation loop (``[siting] service_level``) corrects what remains.
* **Bays** add waiting, not loss: drivers holding a promised pack queue for a bay (M/M/k, Erlang C).
  A station whose bays are saturated (:math:`\lambda s \ge k`) cannot meet any target.

:func:`pack_loss` evaluates the loss for arrays of stations (vectorised over stations and over the
pack counts); :func:`size_for_loss` finds, for each station, the cheapest (batteries, chargers) whose
loss is at most the target within its site limits.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from swapnet.errors import InvalidInputError

__all__ = ["bay_wait_hours", "erlang_b", "pack_loss", "size_for_loss"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def erlang_b(servers: ArrayLike, load: ArrayLike) -> FloatArray:
    """Erlang's B formula :math:`B(n, a)` elementwise (stable recursion ``B_k = a B_{k-1} / (k + a B_{k-1})``).

    Parameters
    ----------
    servers
        Non-negative integers :math:`n`.
    load
        Offered loads :math:`a \\ge 0` (Erlangs).
    """
    n = np.asarray(servers, dtype=np.int64)
    a = np.asarray(load, dtype=np.float64)
    n, a = np.broadcast_arrays(n, a)
    if (n < 0).any() or (a < 0).any() or not np.isfinite(a).all():
        raise InvalidInputError("load", a.tolist(), "servers and loads must be non-negative")
    out = np.ones(a.shape)
    top = int(n.max(initial=0))
    for k in range(1, top + 1):
        step = a * out / (k + a * out)
        out = np.where(n >= k, step, out)
    return out


def bay_wait_hours(rate: ArrayLike, bays: ArrayLike, swap_hours: float) -> FloatArray:
    """Mean wait for a bay (hours): M/M/k with Erlang C, ``inf`` when the bays are saturated."""
    lam = np.asarray(rate, dtype=np.float64)
    k = np.asarray(bays, dtype=np.int64)
    lam, k = np.broadcast_arrays(lam, k)
    a = lam * swap_hours
    rho = np.where(k > 0, a / np.maximum(k, 1), np.inf)
    b = erlang_b(np.maximum(k, 0), a)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = b / (1.0 - rho * (1.0 - b))
        w = np.where(rho < 1.0, c * swap_hours / (np.maximum(k, 1) * (1.0 - rho)), np.inf)
    return np.where(lam <= 0, 0.0, w)


def pack_loss(
    rate: ArrayLike,
    batteries: ArrayLike,
    chargers: ArrayLike,
    charge_hours: float,
    *,
    swap_hours: float = 0.0,
    bays: ArrayLike = 1,
) -> FloatArray:
    """Share of requests that find no charged pack, per station (see the module docstring).

    Parameters
    ----------
    rate
        Requests per hour (busiest hour).
    batteries, chargers, bays
        Per station (broadcast together with ``rate``).
    charge_hours
        Mean charge time of one pack, hours.
    swap_hours
        Mean swap time in a bay, hours (0 ignores the swap stage).

    Returns
    -------
    numpy.ndarray
        Loss probability in ``[0, 1]``; 1 for a station with demand but no pack or charger, or
        saturated bays.
    """
    if not math.isfinite(charge_hours) or charge_hours <= 0:
        raise InvalidInputError("charge_hours", charge_hours, "must be positive")
    lam, b, c, k = np.broadcast_arrays(
        np.asarray(rate, dtype=np.float64),
        np.asarray(batteries, dtype=np.int64),
        np.asarray(chargers, dtype=np.int64),
        np.asarray(bays, dtype=np.int64),
    )
    if (lam < 0).any() or not np.isfinite(lam).all() or (b < 0).any() or (c < 0).any():
        raise InvalidInputError("rate", lam.tolist(), "rates and counts must be finite and non-negative")
    shape = lam.shape
    lam, b, c, k = (x.ravel() for x in (lam, b, c, k))
    out = np.zeros(lam.size)
    if lam.size == 0:
        return out.reshape(shape)
    saturated = np.zeros(lam.size, dtype=bool)
    in_swap = np.zeros(lam.size, dtype=np.int64)
    if swap_hours > 0:
        w = bay_wait_hours(lam, k, swap_hours)
        saturated = ~np.isfinite(w)
        in_swap = np.ceil(lam * (swap_hours + np.where(saturated, 0.0, w)) - 1e-9).astype(np.int64)
    full = c >= b  # Erlang B on the whole cycle: insensitive
    out_full = erlang_b(b, lam * (charge_hours + swap_hours))
    beff = b - in_swap
    a = lam * charge_hours
    top = int(max(beff.max(initial=0), 0))
    n = np.arange(1, top + 1)
    # log p_n - log p_0 = sum_{j<=n} log(a / min(j, c))
    with np.errstate(divide="ignore"):
        steps = np.log(a)[:, None] - np.log(np.minimum(n[None, :], np.maximum(c, 1)[:, None]))
    logw = np.concatenate([np.zeros((lam.size, 1)), np.cumsum(steps, axis=1)], axis=1)
    cols = np.arange(top + 1)[None, :]
    logw = np.where(cols <= np.maximum(beff, 0)[:, None], logw, -np.inf)
    mx = logw.max(axis=1, keepdims=True)
    tot = np.log(np.exp(logw - mx).sum(axis=1)) + mx[:, 0]
    last = logw[np.arange(lam.size), np.clip(beff, 0, top)]
    out_part = np.exp(last - tot)
    out = np.where(full & (b > 0), out_full, out_part)
    out = np.where(beff <= 0, 1.0, out)
    out = np.where((c == 0) | (b == 0) | saturated, 1.0, out)
    out = np.where(lam <= 0, 0.0, out)
    return np.clip(out, 0.0, 1.0).reshape(shape)


def size_for_loss(
    rate: ArrayLike,
    loss: ArrayLike,
    charge_hours: float,
    *,
    max_batteries: ArrayLike,
    max_chargers: ArrayLike,
    min_batteries: ArrayLike = 0,
    min_chargers: ArrayLike = 0,
    pack_cost: float = 1.0,
    charger_cost: float = 1.0,
    swap_hours: float = 0.0,
    bays: ArrayLike = 1,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Cheapest batteries and chargers per station with :func:`pack_loss` at most ``loss``.

    For each station, every charger count ``c`` in ``[max(1, min_chargers), max_chargers]`` is paired
    with the fewest batteries ``b >= max(c, min_batteries)`` (up to ``max_batteries``) meeting the
    target; the pair of least ``pack_cost * b + charger_cost * c`` wins (ties: fewer chargers). A
    station that cannot meet the target within its limits gets the limits themselves.

    Returns
    -------
    batteries, chargers, model_loss
        One value per station; ``model_loss`` is :func:`pack_loss` of the chosen pair.
    """
    lam, eps, mb, mc, nb, nc, k = np.broadcast_arrays(
        np.asarray(rate, dtype=np.float64),
        np.asarray(loss, dtype=np.float64),
        np.asarray(max_batteries, dtype=np.int64),
        np.asarray(max_chargers, dtype=np.int64),
        np.asarray(min_batteries, dtype=np.int64),
        np.asarray(min_chargers, dtype=np.int64),
        np.asarray(bays, dtype=np.int64),
    )
    if ((eps <= 0) | (eps >= 1)).any():
        raise InvalidInputError("loss", eps.tolist(), "target losses must be in (0, 1)")
    m = lam.size
    lam, eps, mb, mc, nb, nc, k = (x.ravel() for x in (lam, eps, mb, mc, nb, nc, k))
    out_b = np.zeros(m, dtype=np.int64)
    out_c = np.zeros(m, dtype=np.int64)
    for j in range(m):
        if lam[j] <= 0:
            out_b[j], out_c[j] = max(int(nb[j]), 0), max(int(nc[j]), 0)
            continue
        cs = np.arange(max(1, int(nc[j])), max(int(mc[j]), 1) + 1)
        bs = np.arange(0, max(int(mb[j]), 0) + 1)
        if cs.size == 0 or bs.size == 0:
            out_b[j], out_c[j] = int(mb[j]), int(mc[j])
            continue
        grid = pack_loss(lam[j], bs[None, :], cs[:, None], charge_hours, swap_hours=swap_hours, bays=k[j])
        ok = (grid <= eps[j]) & (bs[None, :] >= np.maximum(cs[:, None], nb[j]))
        has = ok.any(axis=1)
        if not has.any():
            out_b[j], out_c[j] = int(mb[j]), int(mc[j])
            continue
        first_b = np.where(has, ok.argmax(axis=1), 0)
        cost = np.where(has, pack_cost * bs[first_b] + charger_cost * cs, np.inf)
        i = int(np.argmin(cost))
        out_b[j], out_c[j] = int(bs[first_b[i]]), int(cs[i])
    model = pack_loss(lam, out_b, out_c, charge_hours, swap_hours=swap_hours, bays=k)
    return out_b.reshape(lam.shape), out_c.reshape(lam.shape), model
