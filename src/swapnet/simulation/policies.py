r"""Charging curves and charging policies of the simulation.

Charging curve
--------------
Every returned pack arrives at ``start_soc`` and is charged to ``end_soc`` without interruption
once it is on a charger. ``"constant"`` power draws ``charger_kw`` from the grid for

.. math:: d = \frac{E (s_1 - s_0)}{\eta P}

hours (``E`` pack kWh, ``eta`` efficiency, ``P`` charger kW). ``"cccv"`` adds a constant-voltage taper:
full power up to ``soc_cv`` (0.8), then power falling in proportion to ``1 - soc`` (so the state of charge
approaches 1 exponentially, :math:`1 - s(t) = (1 - s_{cv}) e^{-k t}` with
:math:`k = \eta P / (E (1 - s_{cv}))`) down to ``floor`` (0.1) of full power, which is then held to
``end_soc``. Grid energy per pack is the same, ``E (s_1 - s_0) / eta``, under both curves.

Charging policies
-----------------
A depleted pack waits for a charger first come, first served; the policy caps how many packs may
charge at once in each period of the day:

* ``"asap"``: the station's ``parallel_charging`` slots in every hour.
* ``"cheapest"``: full capacity in the cheapest hours of the tariff, none in the others. The hours are
  the fewest cheapest ones whose charging capacity covers the station's expected daily swaps with a
  25 % margin (ties at the threshold price included).
* ``"plan"``: an operations plan's charging power per station and period, rounded up to whole
  chargers (``ceil(kW / charger_kw)``, at most ``parallel_charging``).

Under ``"cheapest"`` and ``"plan"`` a reserve overrides the cap: while the charged packs not promised
to a driver plus the packs on chargers number fewer than ``reserve * batteries``, the station charges
at full capacity. A charge once started always runs to the end (no pre-emption).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from swapnet.assets import BatteryPack
from swapnet.errors import InvalidInputError
from swapnet.tariff import TouTariff

__all__ = ["ChargeCurve", "cheapest_hours"]

FloatArray = NDArray[np.float64]

#: Safety margin of the built-in cheapest-hours policy: charging capacity in the cheap hours must
#: cover 1.25 x the expected daily swaps (assumption, tag A).
CHEAPEST_MARGIN = 1.25


@dataclass(frozen=True)
class ChargeCurve:
    """Grid power over one charge.

    Attributes
    ----------
    kw
        Full grid-side power, kW.
    duration_h
        Hours from plugging in to ``end_soc``.
    energy_kwh
        Grid energy of one charge, kWh.
    kind
        ``"constant"`` or ``"cccv"``.
    t_cc, t_cv, k, p_cv0
        Lengths (h) of the full-power and the tapering phase, the taper rate (1/h) and the power (kW) at
        the start of the taper; the floor phase fills the rest of ``duration_h``.
    floor
        Power of the last phase as a fraction of ``kw``.
    """

    kw: float
    duration_h: float
    energy_kwh: float
    kind: str
    t_cc: float
    t_cv: float
    k: float
    p_cv0: float
    floor: float

    @classmethod
    def build(
        cls,
        pack: BatteryPack,
        charger_kw: float,
        efficiency: float,
        *,
        start_soc: float,
        end_soc: float,
        kind: str = "constant",
        soc_cv: float = 0.8,
        floor: float = 0.1,
    ) -> ChargeCurve:
        """The curve of one pack on one charger (see the module docstring)."""
        P = float(charger_kw)
        eta = float(efficiency)
        E = pack.kwh
        energy = E * (end_soc - start_soc) / eta
        if kind == "constant":
            d = energy / P
            return cls(P, d, energy, kind, d, 0.0, 0.0, P, 1.0)
        if kind != "cccv":
            raise InvalidInputError("charge_curve", kind, "must be 'constant' or 'cccv'")
        if not 0 < soc_cv < 1:
            raise InvalidInputError("soc_cv", soc_cv, "must be in (0, 1)")
        if not 0 < floor <= 1:
            raise InvalidInputError("floor", floor, "must be in (0, 1]")
        s_cc_end = min(max(start_soc, soc_cv), end_soc)
        t_cc = E * (s_cc_end - start_soc) / (eta * P)
        k = eta * P / (E * (1.0 - soc_cv))
        s_floor = 1.0 - floor * (1.0 - soc_cv)  # where the taper reaches the floor power
        s_cv_end = min(max(s_cc_end, s_floor), end_soc)
        t_cv = math.log((1.0 - s_cc_end) / (1.0 - s_cv_end)) / k if s_cv_end > s_cc_end else 0.0
        t_fl = E * (end_soc - s_cv_end) / (eta * floor * P) if end_soc > s_cv_end else 0.0
        p_cv0 = P * (1.0 - s_cc_end) / (1.0 - soc_cv)
        return cls(P, t_cc + t_cv + t_fl, energy, kind, t_cc, t_cv, k, p_cv0, floor)

    def energy(self, tau: FloatArray) -> FloatArray:
        """Grid energy (kWh) drawn in the first ``tau`` hours of a charge (``tau`` clipped to the charge)."""
        t = np.clip(tau, 0.0, self.duration_h)
        if self.kind == "constant":
            out: FloatArray = self.kw * t
            return out
        P, k = self.kw, self.k
        cc = P * np.minimum(t, self.t_cc)
        tv = np.clip(t - self.t_cc, 0.0, self.t_cv)
        cv = self.p_cv0 / k * -np.expm1(-k * tv)
        fl = self.floor * P * np.maximum(t - self.t_cc - self.t_cv, 0.0)
        res: FloatArray = cc + cv + fl
        return res


def cheapest_hours(tariff: TouTariff, daily_swaps: float, pack_hours: float, parallel: int) -> NDArray[np.bool_]:
    """Hours of day (mask of 24) the ``"cheapest"`` policy charges in.

    The fewest cheapest hours ``H`` with ``parallel * H / pack_hours >= 1.25 * daily_swaps``, widened to
    every hour priced at or below the ``H``-th cheapest price.

    Parameters
    ----------
    tariff
        Time-of-use tariff.
    daily_swaps
        Expected swaps per day at the station.
    pack_hours
        Hours to charge one pack.
    parallel
        Packs that can charge at once.
    """
    prices = np.asarray(tariff.prices, dtype=np.float64)
    if parallel <= 0:
        return np.zeros(24, dtype=bool)
    need = CHEAPEST_MARGIN * daily_swaps * pack_hours / parallel
    h = int(min(24, max(1, math.ceil(need - 1e-9))))
    threshold = np.sort(prices)[h - 1]
    mask: NDArray[np.bool_] = prices <= threshold + 1e-12
    return mask
