"""``plan_operations``: the public entry point of the operations engine."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from swapnet.assets import BatteryPack
from swapnet.network import RoadNetwork
from swapnet.operations.engine import _solve
from swapnet.operations.instance import _instance
from swapnet.operations.plan import OperationsPlan, _result
from swapnet.operations.rolling import plan_rolling
from swapnet.operations.stations import OpsStation, TruckFleet
from swapnet.optim import SolveOptions
from swapnet.tariff import TouTariff

__all__ = ["plan_operations"]


def plan_operations(
    stations: Sequence[OpsStation],
    demand: Any,
    tariff: TouTariff,
    *,
    periods: int,
    days: int = 1,
    pack: BatteryPack | None = None,
    trucks: TruckFleet | None = None,
    hubs: Sequence[OpsStation] | None = None,
    network: RoadNetwork | None = None,
    cyclic: bool = True,
    start_soc: float = 0.2,
    lost_penalty: float = 200.0,
    allow_lost: bool = True,
    degradation_cny_per_kwh: float = 0.0,
    peak_kw_limit: float | None = None,
    demand_charge_cny_per_kw: float = 0.0,
    relax: bool = False,
    horizon: int | None = None,
    step: int | None = None,
    options: SolveOptions | None = None,
) -> OperationsPlan:
    """Plan charging and battery transfers for open stations over a horizon.

    Parameters
    ----------
    stations
        Open stations (:class:`OpsStation`; see :func:`stations_from_plan` for a ``SitingPlan``).
    demand
        Swap forecast: an array ``(n_stations, periods)`` (repeated over ``days``) or
        ``(n_stations, periods * days)``, or a :class:`~swapnet.demand.NodeDemand` whose nodes
        must each host a station (its demand splits evenly over the stations at that node).
    tariff
        Time-of-use tariff; prices per period come from :meth:`TouTariff.price_per_period`.
    periods
        Periods per day (must divide the 1,440 minutes of a day, e.g. 24 or 96).
    days
        Days in the horizon.
    pack
        Battery pack (default CATL #25 LFP, 56 kWh).
    trucks
        Optional :class:`TruckFleet`; needs ``network`` for distances.
    hubs
        Optional charging hubs (:meth:`OpsStation.hub_site`).
    network
        Road network for truck distances (km).
    cyclic
        End state = start state; otherwise start from every station's ``initial_charged``.
    start_soc
        State of charge of returned packs.
    lost_penalty
        CNY per lost swap.
    allow_lost
        When false, every forecast swap must be served; if that is impossible an
        :class:`~swapnet.errors.InfeasibleError` names the first station and period that fall short.
    degradation_cny_per_kwh
        Battery wear cost per kWh charged into packs.
    peak_kw_limit
        Optional cap on the network's total charging power.
    demand_charge_cny_per_kw
        Price of the horizon's peak network kW (a monthly demand charge prorated to the horizon).
    relax
        Solve the LP relaxation (integrality dropped): a fast bound and a fractional schedule.
    horizon, step
        Rolling-horizon mode (needs ``cyclic=False``): solve windows of ``horizon`` periods, keep
        the first ``step`` (default ``horizon``) of each and start the next window from the exact
        state at that point: charged and depleted packs, packs still on chargers (with their
        remaining power profile and completion period), and trucks still on the road (their loads
        and the trucks they occupy). The last window ends with the horizon and is kept whole.
        ``options`` apply to each window. The plan's ``bound`` is the best of the LP relaxation of
        the monolithic model over the whole horizon (within one window's time limit), the pooled
        relaxation and the floor (:mod:`swapnet.operations.bounds`) and ``gap`` is
        ``(cost - bound) / cost``, an upper bound on
        the rolling plan's distance from the monolithic optimum; ``details["windows"]``
        lists each window's start, length, kept periods, status, objective and gap. The stitched
        plan is verified like any other (:meth:`OperationsPlan.verify`).
    options
        Solver options. ``time_limit`` is a budget for the whole call (heuristics, bounds, the
        MIP); on reaching it the best plan is returned with status ``time_limit`` and a finite gap.
        Without trucks and network-wide peak terms the stations are solved one by one (see
        :mod:`swapnet.operations.engine`).

    Returns
    -------
    OperationsPlan

    Raises
    ------
    InvalidInputError
        For invalid inputs (the message names the field and its value), e.g. ``horizon`` with a
        cyclic horizon.
    InfeasibleError
        Only when infeasibility is proven (with ``allow_lost=False``: naming the station and period
        that fall short), or when not even the idle schedule is feasible and nothing was found.
    """
    t0 = time.perf_counter()
    inst = _instance(
        stations,
        demand,
        tariff,
        periods=periods,
        days=days,
        pack=pack or BatteryPack.catl_25_lfp(),
        trucks=trucks,
        hubs=hubs or (),
        network=network,
        cyclic=cyclic,
        start_soc=start_soc,
        lost_penalty=lost_penalty,
        degradation=degradation_cny_per_kwh,
        peak_limit=peak_kw_limit,
        demand_charge=demand_charge_cny_per_kw,
    )
    if horizon is not None or step is not None:
        return plan_rolling(inst, horizon, step, relax=relax, allow_lost=allow_lost, options=options)
    sol, lm, build_s, solve_s, info = _solve(inst, relax, allow_lost, options, t0)
    return _result(inst, sol, lm, build_s, solve_s, relax, info)
