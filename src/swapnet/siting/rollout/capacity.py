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
:func:`~swapnet.siting.plan_rollout` as ``capacity=`` (e.g. a rule with a service-level margin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from swapnet.assets import BatteryPack, StationDesign
from swapnet.errors import InvalidInputError

__all__ = ["CapacityRule", "LinearCapacity"]

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
