"""What a study should tell its reader beside the numbers: which stage stopped on what, and the
conventions and warnings behind the figures (charge-time rounding, fractional demand, energy per swap)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from swapnet.operations import OperationsPlan
from swapnet.simulation import SimulationResult
from swapnet.study.model import StudySpec
from swapnet.study.service import ServiceLoop
from swapnet.study.stages import Inputs, Sited

__all__ = ["AT_LIMIT_SHARE", "CHARGE_ROUNDING_WARN", "notes_table", "stage_table"]

#: Warn when whole operations periods lengthen a pack's charge by more than this fraction.
CHARGE_ROUNDING_WARN = 0.25


#: A solve that used at least this share of its time limit is said to have stopped on the limit.
AT_LIMIT_SHARE = 0.9


def _mip_stop(status: str, gap: float, seconds: float, limit: float, target: float) -> str:
    """What stopped a MIP stage: its gap (well inside the limit) or its time limit."""
    g = "n/a" if math.isnan(gap) else ("inf" if math.isinf(gap) else f"{gap:.2%}")
    if status == "optimal" and seconds < AT_LIMIT_SHARE * limit:
        return f"gap: {g} <= mip_gap {target:.2%} after {seconds:.1f} s of {limit:g} s"
    if status == "optimal":
        return f"time limit: gap {g} <= mip_gap {target:.2%}, proven only at {seconds:.1f} s of {limit:g} s"
    return f"{status}: gap {g} after {seconds:.1f} s (limit {limit:g} s, mip_gap {target:.2%})"


def stage_table(
    study: StudySpec, sited: Sited, ops: OperationsPlan, sim: SimulationResult, loop: ServiceLoop | None
) -> pd.DataFrame:
    """One row per stage: what stopped it (gap reached, time limit, rounds) and how long it ran."""
    sp, sv, op = sited.siting, study.solver, study.operations
    op_gap = sv.mip_gap if op.mip_gap is None else op.mip_gap
    rows = [
        ("siting", _mip_stop(sp.status.value, sp.gap, sp.solve_seconds, sv.time_limit, sv.mip_gap)),
    ]
    if sp.details.get("service_level") is not None:
        mg = float(sp.details.get("milp_gap", math.nan))
        milp = "n/a" if sp.report is None else sp.report.status.value
        stop = _mip_stop(milp, mg, sp.solve_seconds, sv.time_limit, sv.mip_gap)
        rows.append(("siting", f"service-level sizing MILP, {stop}; queueing sizes, no optimality claim"))
    if loop is not None:
        rows.append(("service level", f"{len(loop.iterations)} rounds: {loop.stopped}"))
    rows += [
        ("operations", _mip_stop(ops.status.value, ops.gap, ops.solve_seconds, op.time_limit, op_gap)
         + (f" (stopped after: {ops.details['stopped_after']})" if "stopped_after" in ops.details else "")),
        ("simulation", f"fixed: {sim.replications} replications x {sim.days} days (+{sim.warmup_days} warm-up), "
                       f"seed {sim.seed}"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["stage", "stopped_on"])


def _reach_note(study: StudySpec, reach: pd.DataFrame, total: float) -> str:
    """What the plan does with demand that has no candidate site within ``service_km``."""
    km = study.siting.service_km
    if not len(reach):
        return f"reach: every demand node has a candidate site within service_km = {km:g} km"
    sw = float(reach["swaps_per_day"].sum())
    near = reach["nearest_candidate_km"]
    what = (
        f"{len(reach)} demand nodes ({sw:,.1f} swaps/day, {sw / total:.1%} of the demand) have no candidate site "
        f"within service_km = {km:g} km (nearest {near.min():g}-{near.max():g} km; reach table)"
    )
    fb = study.siting.fallback_km
    if fb is None:
        return (
            f"warning: reach: {what}; they are lost in every stage and count as lost in the service level over "
            "all demand: add candidate sites near them or set [siting] fallback_km"
        )
    served = float(reach["served_per_day"].sum())
    far = float(reach["station_km"].max()) if served > 0 else math.nan
    return (
        f"reach: {what}; fallback_km = {fb:g} km serves {served:,.1f} swaps/day of them from stations up to "
        f"{far:g} km away, counted like all other demand in every stage"
    )


def notes_table(
    study: StudySpec, inputs: Inputs, ops: OperationsPlan, reach: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Conventions behind the figures, and warnings (lines starting with ``warning``); ``reach`` is the
    study's reach table (:func:`~swapnet.study.tables.reach_table`), if any."""
    design, pack = inputs.design, inputs.pack
    e = design.grid_energy_per_swap_kwh(pack)
    tau = e / design.charger_kw
    dt = ops.period_hours
    rounded = max(math.ceil(tau / dt - 1e-9), 1) * dt
    notes: list[str] = []
    stretch = rounded / tau - 1.0
    if stretch > CHARGE_ROUNDING_WARN:
        notes.append(
            f"warning: operations periods of {dt * 60:g} min hold a charger for {rounded:.2f} h per pack, "
            f"{stretch:.0%} longer than the {tau:.2f} h charge; use more [operations] periods"
        )
    else:
        notes.append(f"operations periods of {dt * 60:g} min: a {tau:.2f} h charge holds a charger {rounded:.2f} h")
    dem = ops.schedule["demand"].to_numpy(dtype=np.float64)
    lost = ops.schedule["lost"].to_numpy(dtype=np.float64)
    rem = dem - np.floor(dem + 1e-9)
    small = float(np.minimum(lost, rem).sum())
    notes.append(
        "convention: operations plan the expected swaps of each station and period, which are fractional "
        f"({int((rem > 1e-9).sum())} of {dem.size} station-periods); a lost swap in the plan is an expected "
        f"value penalised at lost_penalty, and up to {small / ops.days:,.1f} of its {ops.lost_swaps / ops.days:,.1f} "
        "lost swaps a day are fractional remainders below one swap, which the simulation (whole Poisson "
        "requests) does not lose"
    )
    notes.append(
        f"energy per swap: {e:.1f} kWh from the grid ({pack.name}, {pack.kwh:g} kWh from 20 % to full at the "
        f"design's {design.charging_efficiency:.0%} charging efficiency); users are billed and packs wear on it"
    )
    if study.simulation.routing == "plan":
        notes.append("simulation routing: drivers go where the siting plan assigns them (the demand operations plan)")
    else:
        notes.append("simulation routing: every driver goes to the nearest station, whatever the plan assigned")
    if reach is not None and inputs.demand is not None and study.siting.service_km is not None:
        notes.append(_reach_note(study, reach, float(np.asarray(inputs.demand.daily, dtype=np.float64).sum())))
    return pd.DataFrame({"note": notes})
