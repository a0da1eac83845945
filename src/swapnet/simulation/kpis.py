"""Key performance indicators of one station in one replication, computed with numpy from its records.

Every measure covers the observation window ``[warm-up end, horizon)``. Drivers count in the window
of their arrival at the station (so a driver arriving just before the horizon and served after it
counts as served). Time averages integrate step functions exactly: ``F(x) = v0 x + sum_k d_k (x - t_k)``
over the changes ``d_k`` at times ``t_k <= x``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from swapnet.simulation.engine import StationSim
from swapnet.simulation.policies import ChargeCurve

__all__ = ["StationOutcome", "measure_station", "step_means"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def step_means(times: FloatArray, deltas: FloatArray, initial: float, edges: FloatArray) -> FloatArray:
    """Mean of the step function ``initial + sum(deltas[times <= x])`` over each bin between ``edges``."""
    order = np.argsort(times, kind="stable")
    t = times[order]
    d = deltas[order]
    cd = np.concatenate([[0.0], np.cumsum(d)])
    ctd = np.concatenate([[0.0], np.cumsum(d * t)])
    k = np.searchsorted(t, edges, side="right")
    F = initial * edges + cd[k] * edges - ctd[k]
    out: FloatArray = np.diff(F) / np.diff(edges)
    return out


def _overlap(start: FloatArray, end: FloatArray, lo: float, hi: float) -> float:
    return float((np.clip(end, lo, hi) - np.clip(start, lo, hi)).sum())


def charge_energy_bins(starts: FloatArray, curve: ChargeCurve, bin_h: float, n_bins: int) -> FloatArray:
    """Grid energy (kWh) in each of ``n_bins`` bins of ``bin_h`` hours from 0 of charges starting at ``starts``."""
    out = np.zeros(n_bins)
    if starts.size == 0 or n_bins == 0:
        return out
    first = np.floor(starts / bin_h).astype(np.int64)
    span = int(np.ceil(curve.duration_h / bin_h)) + 1
    j = np.arange(span)
    b = first[:, None] + j[None, :]
    lo = b * bin_h - starts[:, None]
    e = curve.energy(lo + bin_h) - curve.energy(lo)
    keep = (b < n_bins) & (e > 0)
    out += np.bincount(b[keep], weights=e[keep], minlength=n_bins)[:n_bins]
    return out


@dataclass(frozen=True)
class StationOutcome:
    """Measures of one station in one replication.

    Attributes
    ----------
    scalars
        KPI name -> value (see :class:`~swapnet.simulation.SimulationResult`).
    waits_min
        Waiting times (minutes) of the drivers served in the window.
    charged, queue, kw
        Per bin of the window: mean charged packs on hand, mean drivers waiting, mean grid kW.
    energy_hod
        Grid energy (kWh) in the window by hour of day ``(24,)``.
    """

    scalars: dict[str, float]
    waits_min: FloatArray
    charged: FloatArray
    queue: FloatArray
    kw: FloatArray
    energy_hod: FloatArray


def measure_station(
    sim: StationSim,
    *,
    charged0: int,
    chargers: int,
    curve: ChargeCurve,
    start_h: float,
    horizon_h: float,
    bin_h: float,
) -> StationOutcome:
    """Compute a station's KPIs over ``[start_h, horizon_h)`` from its records."""
    rec = sim.rec
    a = sim.arrivals
    dur = np.asarray(sim.dur, dtype=np.float64)
    sidx = np.asarray(rec.served_idx, dtype=np.int64)
    s = np.asarray(rec.served_start, dtype=np.float64)
    lidx = np.asarray(rec.lost_idx, dtype=np.int64)
    cs = np.asarray(rec.charge_start, dtype=np.float64)
    tt = np.asarray(rec.transfer_time, dtype=np.float64)
    tc = np.asarray(rec.transfer_charged, dtype=np.float64)
    sa = a[sidx]
    la = a[lidx]
    in_win_a = (a >= start_h) & (a < horizon_h)
    served_win = (sa >= start_h) & (sa < horizon_h)
    lost_win = (la >= start_h) & (la < horizon_h)
    requests = int(in_win_a.sum())
    served = int(served_win.sum())
    lost = int(lost_win.sum())
    waits = (s[served_win] - sa[served_win]) * 60.0
    span = horizon_h - start_h
    bay_busy = _overlap(s, s + dur[sidx], start_h, horizon_h)
    chg_busy = _overlap(cs, cs + curve.duration_h, start_h, horizon_h)

    n_all = round(horizon_h / bin_h)
    b0 = round(start_h / bin_h)
    edges = np.arange(b0, n_all + 1, dtype=np.float64) * bin_h
    # charged packs on hand (free or promised): +1 at each charge end, -1 at each swap start, transfers
    ct = np.concatenate([cs + curve.duration_h, s, tt[tc != 0]])
    cd = np.concatenate([np.ones(cs.size), -np.ones(s.size), tc[tc != 0]])
    charged = step_means(ct, cd, float(charged0), edges)
    pat = sim.patience_h
    qt = np.concatenate([sa, s, la, la + pat])
    qd = np.concatenate([np.ones(sa.size), -np.ones(s.size), np.ones(la.size), -np.ones(la.size)])
    queue = step_means(qt, qd, 0.0, edges)
    ebins = charge_energy_bins(cs, curve, bin_h, n_all)[b0:]
    kw = ebins / bin_h
    per_hour = round(1.0 / bin_h)
    hourly = ebins.reshape(-1, per_hour).sum(axis=1)
    first_hour = round(start_h)
    hod = (np.arange(hourly.size) + first_hour) % 24
    energy_hod = np.asarray(np.bincount(hod, weights=hourly, minlength=24), dtype=np.float64)
    scalars: dict[str, float] = {
        "requests": float(requests),
        "served": float(served),
        "lost": float(lost),
        "lost_no_battery": float(lost),
        "lost_no_station": 0.0,
        "service_level": served / requests if requests else float("nan"),
        "wait_mean_min": float(waits.mean()) if waits.size else float("nan"),
        "wait_p95_min": float(np.percentile(waits, 95)) if waits.size else float("nan"),
        "bay_utilisation": bay_busy / (sim.bays * span),
        "charger_utilisation": chg_busy / (chargers * span) if chargers else float("nan"),
        "charged_inventory_mean": float(charged.mean()),
        "queue_mean": float(queue.mean()),
        "energy_kwh": float(ebins.sum()),
        "peak_kw": float(kw.max()) if kw.size else 0.0,
    }
    return StationOutcome(scalars, waits, charged, queue, kw, energy_hod)
