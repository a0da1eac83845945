"""The window step: cheaper integer charge starts for one station, always feasible, never dearer."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import BatteryPack, DailyProfile, StationDesign, TouTariff
from swapnet.operations import OpsStation
from swapnet.operations.formulation import build_model
from swapnet.operations.heuristics import feasible, greedy_station, objective_of
from swapnet.operations.instance import _Instance, _instance
from swapnet.operations.station_window import window_applies, window_starts
from swapnet.optim import SolveOptions

GD = TouTariff.guangdong()


def station(sts: list[OpsStation], dem: np.ndarray, cyclic: bool = True) -> _Instance:
    return _instance(
        sts, dem, GD, periods=dem.shape[1], days=1, pack=BatteryPack.catl_25_lfp(), trucks=None, hubs=(),
        network=None, cyclic=cyclic, start_soc=0.2, lost_penalty=200.0, degradation=0.0, peak_limit=None,
        demand_charge=0.0,
    )  # fmt: skip


def full_vector(one: _Instance, values: dict[str, np.ndarray]) -> tuple[object, np.ndarray]:
    m = build_model(one)
    x = np.zeros(m.n_cols)
    for name, val in values.items():
        x[m.block(name).index] = val
    return m, x


def choco(daily: float) -> _Instance:
    prof = DailyProfile.urban().resample(96)
    st0 = OpsStation.from_design("S", 0, StationDesign.choco_swap())
    return station([st0], daily * np.asarray(prof)[None, :])


def test_window_step_beats_the_greedy_on_a_busy_choco_swap_station() -> None:
    """The greedy's first-in first-out windows forbid charging many packs together at night; the
    window step does (measured 1.4 % -> 0.9 % of 20 benchmark stations at 0.25 s each)."""
    one = choco(117.0)
    assert window_applies(one)
    plain = greedy_station(one)
    better = greedy_station(one, window_rounds=3, window_seconds=0.2)
    assert plain is not None and better is not None
    assert better.objective < plain.objective - 1.0
    m, x = full_vector(one, better.values)
    assert feasible(m, x)  # type: ignore[arg-type]
    assert abs(objective_of(m, x) - better.objective) <= 1e-6 * better.objective  # type: ignore[arg-type]
    assert better.bound == plain.bound  # the step changes the schedule, not the bound


def test_interval_lp_alone_is_integral_and_feasible() -> None:
    """Without the exact MIP the interval LP's vertex is integral (totally unimodular rows) and its starts
    serve at least the incumbent's swaps (it may cost more: its on-charge rows are stricter than the grid's)."""
    one = choco(150.0)
    g = greedy_station(one)
    assert g is not None
    v = g.values
    for cut in (0, 48, 24):
        n = window_starts(one, v["start"][0], v["served"][0], v["charged"][0], cut)
        assert n is not None
        assert np.array_equal(n, np.round(n)) and n.min() >= 0
        m = build_model(one, relax=True)
        m.set_bounds(m.block("start").index, lb=n[None, :], ub=n[None, :])
        sol = m.solve(SolveOptions(), relax=True)
        assert sol.x is not None  # the starts serve the incumbent's swaps: feasible in the station's model
        assert sol.values("served").sum() >= v["served"].sum() - 1e-6


def test_no_window_on_a_fractional_total_or_a_non_cyclic_horizon() -> None:
    one = choco(117.0)
    g = greedy_station(one)
    assert g is not None
    v = g.values
    served = v["served"][0].copy()
    served[10] += 0.5  # not a whole number of swaps: no integer schedule matches it
    assert window_starts(one, v["start"][0], served, v["charged"][0], 0) is None
    prof = DailyProfile.urban().resample(96)
    st0 = OpsStation.from_design("S", 0, StationDesign.choco_swap())
    assert not window_applies(station([st0], 117.0 * np.asarray(prof)[None, :], cyclic=False))


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_window_schedule_is_feasible_no_dearer_than_the_greedy_and_not_below_the_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    b = int(rng.integers(2, 9))
    c = int(rng.integers(1, b + 1))
    kw = float(rng.choice([20.0, 40.0, 60.0]))
    grid = max(kw, kw * c * float(rng.choice([0.5, 1.0])))
    st0 = OpsStation("S", "a", b, c, kw, grid, bays=1, swap_minutes=5.0)
    dem = rng.gamma(1.0, 0.5, (1, 24)) * rng.integers(0, 2, (1, 24))
    one = station([st0], dem)
    plain = greedy_station(one)
    better = greedy_station(one, window_rounds=3, window_seconds=0.5)
    assert plain is not None and better is not None
    assert better.objective <= plain.objective + 1e-9
    m, x = full_vector(one, better.values)
    assert feasible(m, x)  # type: ignore[arg-type]
    opt = build_model(one).solve(SolveOptions(mip_gap=0.0, time_limit=30))
    assert opt.x is not None
    assert better.objective >= opt.objective - 1e-6 * max(1.0, opt.objective)
