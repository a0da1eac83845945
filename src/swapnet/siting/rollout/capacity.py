r"""Capacity rules: how many batteries and chargers a station needs for a given load.

A rule turns the peak-hour swaps :math:`L` a station serves into linear requirements

.. math::

    L \le B\,y,\qquad a_c L \le c,\qquad a_b L \le b,

with :math:`B` the bay capacity per hour, :math:`a_c` chargers and :math:`a_b` batteries per
swap per hour. :class:`LinearCapacity` is the mean-rate rule of
:func:`~swapnet.siting.size_stations` (Little's law: :math:`a_c = t_c`, the charge time of one
swap, and :math:`a_b = t_c + H` with a buffer of :math:`H` hours of peak swaps). Any object with
the same three attributes (``bay_per_hour``, ``chargers_per_swap_hour``,
``batteries_per_swap_hour``) and ``check`` can be passed to
:func:`~swapnet.siting.plan_rollout` as ``capacity=``; optional attributes
``batteries_per_station`` and ``chargers_per_station`` (:math:`b_0, c_0`, default 0) make the
requirements affine, :math:`a_b L + b_0 y \le b` and :math:`a_c L + c_0 y \le c`.

:class:`ServiceLevelCapacity` is the service-level sizing of
:func:`~swapnet.siting.size_stations` (``service_level=``) made exact for the rollout: the
queueing model of :mod:`swapnet.siting.queueing` (Erlang loss over the packs in the charge cycle,
chargers and bays) gives, for every busiest-hour load on a fine grid, the cheapest integer
(batteries, chargers) whose model loss is at most :math:`1 - s`; the affine rule is the cheapest
line above all of them (a line evaluated at the left end of each grid interval, and the loss
grows with the load and falls with packs and chargers), so **every** station the MILP sizes by
the rule meets the service level, which :meth:`ServiceLevelCapacity.check` re-checks with the
queueing model itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from swapnet import _validate
from swapnet.assets import BatteryPack, StationDesign
from swapnet.errors import InvalidInputError
from swapnet.siting.queueing import pack_loss

__all__ = ["CapacityRule", "LinearCapacity", "ServiceLevelCapacity"]

FloatArray = NDArray[np.float64]


@runtime_checkable
class CapacityRule(Protocol):
    """What :func:`~swapnet.siting.plan_rollout` needs from a capacity rule (see the module docstring)."""

    @property
    def bay_per_hour(self) -> float:
        """Swaps per hour the bays of one open station can serve."""

    @property
    def chargers_per_swap_hour(self) -> float:
        """Chargers needed per swap per hour of load."""

    @property
    def batteries_per_swap_hour(self) -> float:
        """Batteries needed per swap per hour of load."""

    def check(self, load: FloatArray, batteries: FloatArray, chargers: FloatArray, tol: float) -> list[str]:
        """Problems with stations of these loads and sizes (empty when they meet the rule)."""


@dataclass(frozen=True)
class LinearCapacity:
    """The mean-rate capacity rule of :func:`~swapnet.siting.size_stations`.

    Attributes
    ----------
    bay_per_hour
        :math:`B` = bays x 60 / swap minutes.
    chargers_per_swap_hour
        :math:`t_c` = grid energy per swap / charger kW (hours).
    batteries_per_swap_hour
        :math:`t_c + H`.
    """

    bay_per_hour: float
    chargers_per_swap_hour: float
    batteries_per_swap_hour: float

    def __post_init__(self) -> None:
        for f in ("bay_per_hour", "chargers_per_swap_hour", "batteries_per_swap_hour"):
            v = float(getattr(self, f))
            if not np.isfinite(v) or v <= 0:
                raise InvalidInputError(f, v, "must be finite and positive")
            object.__setattr__(self, f, v)

    @classmethod
    def from_design(cls, design: StationDesign, pack: BatteryPack, buffer_hours: float = 1.0) -> LinearCapacity:
        """The rule ``size_stations(design, pack, buffer_hours=...)`` uses."""
        if not np.isfinite(buffer_hours) or buffer_hours < 0:
            raise InvalidInputError("buffer_hours", buffer_hours, "must be finite and non-negative")
        tc = design.grid_energy_per_swap_kwh(pack) / design.charger_kw
        return cls(design.bay_capacity_per_hour, tc, tc + float(buffer_hours))

    def check(self, load: FloatArray, batteries: FloatArray, chargers: FloatArray, tol: float) -> list[str]:
        """Bays, chargers and batteries against the load (relative tolerance ``tol``)."""
        slack = tol * np.maximum(1.0, load)
        out = []
        if (load > self.bay_per_hour + slack).any():
            out.append("bay capacity")
        if (self.chargers_per_swap_hour * load > chargers + slack).any():
            out.append("charging capacity")
        if (self.batteries_per_swap_hour * load > batteries + slack).any():
            out.append("battery stock")
        return out


BAY_UTILISATION = 0.97
"""The rule's largest load as a share of the bays' capacity (the swap queue grows without bound near 1)."""

LOAD_GRID = 200
"""Loads on the grid of :meth:`ServiceLevelCapacity.from_design` (up to the largest station's load)."""


@dataclass(frozen=True)
class ServiceLevelCapacity:
    """Affine service-level rule (see the module docstring): :math:`b \\ge b_0 + a_b L`, :math:`c \\ge c_0 + a_c L`.

    Attributes
    ----------
    bay_per_hour
        Largest load (swaps per hour) a station can take at the service level within the design's
        bays and the limits the rule was fitted for.
    chargers_per_swap_hour, chargers_per_station
        :math:`a_c, c_0`.
    batteries_per_swap_hour, batteries_per_station
        :math:`a_b, b_0`.
    service_level
        Target share of busiest-hour drivers who find a charged pack.
    one_charger_per_pack
        Always true: the rollout model then keeps :math:`c \\ge b` at every station, so the
        queueing model is Erlang's loss over the whole cycle (insensitive to the charge-time
        distribution and falling with every pack added, which makes the fitted line exact).
    charge_hours, swap_hours, bays
        The queueing model's parameters (:func:`~swapnet.siting.queueing.pack_loss`).
    """

    bay_per_hour: float
    chargers_per_swap_hour: float
    batteries_per_swap_hour: float
    chargers_per_station: float
    batteries_per_station: float
    service_level: float
    charge_hours: float
    swap_hours: float
    bays: int
    one_charger_per_pack: bool = True

    @classmethod
    def from_design(cls, design: StationDesign, pack: BatteryPack, service_level: float = 0.98, *,
                    max_batteries: int | None = None, max_chargers: int | None = None,
                    ) -> ServiceLevelCapacity:  # fmt: skip
        """Fit the rule for ``design`` and ``pack`` (limits: 10 x the design's, as ``size_stations``).

        Raises
        ------
        InvalidInputError
            ``service_level`` not in (0, 1), or no station within the limits meets it.
        """
        s = _validate.probability(service_level, "service_level", open_low=True, open_high=True)
        eps = 1.0 - s
        tc = design.grid_energy_per_swap_kwh(pack) / design.charger_kw
        sw = design.swap_minutes / 60.0
        mb = _validate.integer(max_batteries if max_batteries is not None else 10 * design.batteries,
                               "max_batteries", minimum=1)  # fmt: skip
        mc = _validate.integer(max_chargers if max_chargers is not None else 10 * design.chargers,
                               "max_chargers", minimum=1)  # fmt: skip
        # the largest load the biggest station serves at the service level (bisection)
        lo, hi = 0.0, float(design.bay_capacity_per_hour)
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            ok = float(np.ravel(pack_loss(mid, mb, mc, tc, swap_hours=sw, bays=design.bays))[0]) <= eps
            lo, hi = (mid, hi) if ok else (lo, mid)
        if lo <= 0:
            raise InvalidInputError("service_level", s, "no station within the limits reaches it")
        lo = min(lo, BAY_UTILISATION * float(design.bay_capacity_per_hour))  # the bay queue explodes near 100 %
        loads = np.linspace(0.0, lo, LOAD_GRID + 1)[1:]
        bs = np.arange(1, mb + 1)
        # one charger per pack: Erlang's loss on the whole cycle, which falls with every pack added
        grid = pack_loss(loads[:, None], bs[None, :], bs[None, :], tc, swap_hours=sw, bays=design.bays)
        meets = np.asarray(grid <= eps, dtype=bool)
        if not meets.any(axis=1).all():
            raise InvalidInputError("service_level", s, "no station within the limits reaches it")
        need = bs[meets.argmax(axis=1)].astype(np.float64)
        left = np.concatenate([[0.0], loads[:-1]])  # the line must cover each need from the interval's left end
        b0, ab = _cheapest_line(left, need, loads)
        return cls(float(lo), ab, ab, b0, b0, s, float(tc), float(sw), int(design.bays))

    def check(self, load: FloatArray, batteries: FloatArray, chargers: FloatArray, tol: float) -> list[str]:
        """Bays and the model loss (:func:`~swapnet.siting.queueing.pack_loss`) of every loaded station."""
        out = []
        busy = load > tol
        if (load > self.bay_per_hour * (1 + tol) + tol).any():
            out.append("bay capacity")
        if busy.any():
            loss = pack_loss(load[busy], np.round(batteries[busy]).astype(np.int64),
                             np.round(chargers[busy]).astype(np.int64), self.charge_hours,
                             swap_hours=self.swap_hours, bays=self.bays)  # fmt: skip
            if (loss > (1.0 - self.service_level) * (1 + 1e-6)).any():
                out.append(f"service level {self.service_level:g} (queueing-model loss {loss.max():.4g})")
        return out


def _cheapest_line(x_left: FloatArray, need: FloatArray, x: FloatArray) -> tuple[float, float]:
    """``(intercept, slope >= 0)`` of the line of least mean over ``x`` with ``line(x_left) >= need``."""
    top = float(np.max(np.diff(need) / np.maximum(np.diff(x_left), 1e-12), initial=0.0))
    best = (float("inf"), 0.0, 0.0)
    for slope in np.linspace(0.0, max(2.0 * top, 1e-9), 2001):
        icpt = float(np.max(need - slope * x_left))
        area = icpt + slope * float(x.mean())
        if area < best[0]:
            best = (area, max(icpt, 0.0), float(slope))
    return best[1], best[2]
