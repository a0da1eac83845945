"""The simulation against queueing theory, each check with a confidence interval from replications.

Each test runs 10 independent replications (seeded) after a warm-up day and asserts that the exact
value lies inside the 99 % Student-t interval of the replication means (the 95 % intervals are listed
in ``docs/simulation.md``). The seeds were fixed before the first run, not searched.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from swapnet import BatteryPack, Station
from swapnet.simulation import SimulationOptions, SimulationResult, simulate

# 47.5 kWh charged from 20 % to 100 % at 95 % efficiency = 40 kWh from the grid: 1 h on a 40 kW charger.
PACK = BatteryPack("test", 47.5, 400.0)


def erlang_b(c: int, a: float) -> float:
    """Erlang B blocking probability (recursion)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Erlang C probability of waiting."""
    b = erlang_b(c, a)
    rho = a / c
    return b / (1.0 - rho + rho * b)


def ample(label: str, bays: int, swap_minutes: float) -> Station:
    # 300 packs with a charger each: batteries never run short at these loads
    return Station(label, label, bays=bays, batteries=300, chargers=300, charger_kw=40.0, grid_kw=1e6,
                      swap_minutes=swap_minutes)  # fmt: skip


def inside(result: SimulationResult, kpi: str, exact: float) -> tuple[float, float]:
    row = result.network_kpis(confidence=0.99).loc[kpi]
    mean, half = float(row["mean"]), float(row["ci"])
    assert abs(mean - exact) <= half, f"{kpi}: exact {exact:.4f} outside {mean:.4f} ± {half:.4f} (99 %)"
    return mean, half


def test_mmc_waiting_time_matches_erlang_c() -> None:
    # M/M/3: 24 arrivals per hour, exponential swaps of 6 min (10 per hour per bay), rho = 0.8
    lam, mu, c = 24.0, 10.0, 3
    wq_min = erlang_c(c, lam / mu) / (c * mu - lam) * 60.0
    res = simulate(
        [ample("s", c, 6.0)],
        np.full((1, 24), lam),
        pack=PACK,
        options=SimulationOptions(
            days=20, warmup_days=1, replications=10, seed=1, swap_time="exponential", progress=False
        ),
    )
    inside(res, "wait_mean_min", wq_min)
    inside(res, "bay_utilisation", lam / (c * mu))
    assert res.network_kpis().loc["lost", "mean"] == 0


def test_md1_waiting_time_matches_pollaczek_khinchine() -> None:
    # M/D/1: 16 arrivals per hour, 3-minute swaps, rho = 0.8: Wq = rho D / (2 (1 - rho)) = 6 min
    lam, d_min = 16.0, 3.0
    rho = lam * d_min / 60.0
    res = simulate(
        [ample("s", 1, d_min)],
        np.full((1, 24), lam),
        pack=PACK,
        options=SimulationOptions(days=20, warmup_days=1, replications=10, seed=2, progress=False),
    )
    inside(res, "wait_mean_min", rho * d_min / (2.0 * (1.0 - rho)))
    inside(res, "bay_utilisation", rho)


def test_mg1_empirical_swap_times_match_pollaczek_khinchine() -> None:
    # M/G/1 with swap times drawn from {1, 5} minutes, rho = 0.75: Wq = lam E[S^2] / (2 (1 - rho)) = 6.5 min
    lam = 15.0
    samples = np.array([1.0, 5.0])
    es, es2 = samples.mean() / 60.0, (samples**2).mean() / 3600.0
    rho = lam * es
    res = simulate(
        [ample("s", 1, 3.0)],
        np.full((1, 24), lam),
        pack=PACK,
        options=SimulationOptions(days=20, warmup_days=1, replications=10, seed=3, swap_time=samples, progress=False),
    )
    inside(res, "wait_mean_min", lam * es2 / (2.0 * (1.0 - rho)) * 60.0)


def test_battery_bottleneck_is_an_erlang_loss_system() -> None:
    # 10 packs with one 40 kW charger each and zero patience: a pack is busy from the driver's arrival
    # through the swap and its 1 h charge, so the station is M/G/10/10 and loses B(10, a) of the
    # drivers, a = lam * (swap + charge) (Erlang B is insensitive to the service-time distribution).
    lam, swap_min = 8.0, 0.01
    st = Station("s", "s", bays=50, batteries=10, chargers=10, charger_kw=40.0, grid_kw=400.0,
                    swap_minutes=swap_min)  # fmt: skip
    assert st.charge_hours(PACK) == pytest.approx(1.0)
    res = simulate(
        [st],
        np.full((1, 24), lam),
        pack=PACK,
        options=SimulationOptions(days=20, warmup_days=1, replications=10, seed=4, progress=False),
    )
    loss = erlang_b(10, lam * (1.0 + swap_min / 60.0))
    inside(res, "service_level", 1.0 - loss)
    # carried load on the chargers: lam (1 - B) packs per hour, each 1 h, over 10 chargers
    inside(res, "charger_utilisation", lam * (1.0 - loss) / 10.0)


def test_grid_limit_makes_fewer_packs_charge_at_once() -> None:
    # 10 chargers but 200 kW of grid: 5 charge at once -> Erlang loss with 10 packs is no longer exact,
    # but the station can recharge at most 5 packs an hour and its peak is 200 kW.
    st = Station("s", "s", bays=5, batteries=10, chargers=10, charger_kw=40.0, grid_kw=200.0, swap_minutes=1.0)
    assert st.parallel_charging == 5
    res = simulate(
        [st],
        np.full((1, 24), 8.0),
        pack=PACK,
        options=SimulationOptions(days=5, warmup_days=1, replications=4, seed=5, progress=False),
    )
    k = res.network_kpis()
    assert k.loc["peak_kw", "mean"] <= 200.0 + 1e-9
    assert k.loc["served", "mean"] <= 5.0 * 24 * 5 + 10  # capacity of the chargers plus the initial stock
    assert math.isclose(k.loc["charger_utilisation", "mean"] * 10, k.loc["energy_kwh", "mean"] / 40.0 / 120.0)
