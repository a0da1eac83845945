"""Simulation behaviour: conservation, determinism, plans and routing, policies, rebalancing, outputs, bad input."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import (
    BatteryPack,
    CandidateSites,
    DailyProfile,
    InvalidInputError,
    NodeDemand,
    RoadNetwork,
    Station,
    StationDesign,
    TouTariff,
)
from swapnet.operations import OperationsPlan, TruckFleet, plan_operations
from swapnet.optim import SolveOptions
from swapnet.simulation import (
    ChargeCurve,
    SimulationOptions,
    SimulationResult,
    Transfer,
    cheapest_hours,
    kpi_interval,
    simulate,
)
from swapnet.siting import p_median, size_stations

PACK = BatteryPack("test", 47.5, 400.0)  # 40 kWh from the grid per charge: 1 h at 40 kW
DESIGN = StationDesign(
    "test", bays=1, batteries=10, chargers=10, charger_kw=40.0, grid_kw=1000.0, swap_minutes=3.0,
    capex_cny=0.0, opex_cny_per_year=0.0, lifetime_years=10.0,
)  # fmt: skip
LINE = RoadNetwork.from_edges([("A", "B", 1.0), ("B", "C", 1.0), ("C", "D", 5.0)])


def station(label: str, node: str | None = None, **kw: float) -> Station:
    args: dict[str, float] = {
        "bays": 1, "batteries": 10, "chargers": 10, "charger_kw": 40.0, "grid_kw": 400.0, "swap_minutes": 3.0,
    }  # fmt: skip
    args.update(kw)
    return Station(label, label if node is None else node, **args)  # type: ignore[arg-type]


def run(
    stations: list[Station],
    rates: float | np.ndarray,
    *,
    tariff: TouTariff | None = None,
    operations: OperationsPlan | None = None,
    transfers: Sequence[Transfer] = (),
    **kw: Any,
) -> SimulationResult:
    r = np.broadcast_to(np.asarray(rates, dtype=float), (len(stations), 24)) if np.ndim(rates) < 2 else rates
    opts = SimulationOptions(**{"days": 2, "replications": 3, "progress": False, **kw})
    return simulate(
        stations, np.asarray(r), pack=PACK, tariff=tariff, operations=operations, transfers=transfers, options=opts
    )


# ------------------------------------------------------------------ conservation
@settings(max_examples=25, deadline=None)
@given(
    n_st=st.integers(1, 3),
    batteries=st.lists(st.integers(1, 12), min_size=3, max_size=3),
    chargers=st.lists(st.integers(1, 6), min_size=3, max_size=3),
    charged=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3),
    rate=st.floats(0.0, 15.0),
    patience=st.sampled_from([0.0, 5.0, 30.0]),
    swap=st.sampled_from(["deterministic", "exponential"]),
    policy=st.sampled_from(["asap", "cheapest"]),
    transfers=st.lists(
        st.tuples(
            st.floats(0.0, 23.9),
            st.integers(0, 2),
            st.integers(0, 2),
            st.integers(1, 5),
            st.booleans(),
            st.floats(0.0, 90.0),
        ),
        max_size=4,
    ),
    seed=st.integers(0, 1000),
)
def test_batteries_are_never_created_or_lost(
    n_st: int,
    batteries: list[int],
    chargers: list[int],
    charged: list[float],
    rate: float,
    patience: float,
    swap: str,
    policy: str,
    transfers: list[tuple[float, int, int, int, bool, float]],
    seed: int,
) -> None:
    sts = [
        Station(
            f"s{k}",
            f"s{k}",
            bays=1 + k % 2,
            batteries=batteries[k],
            chargers=min(chargers[k], batteries[k]),
            charger_kw=40.0,
            grid_kw=120.0,
            swap_minutes=4.0,
            initial_charged=round(charged[k] * batteries[k]),
        )
        for k in range(n_st)
    ]
    moves = [
        Transfer(h, f"s{a % n_st}", f"s{b % n_st}", nb, "charged" if ch else "depleted", travel_minutes=tm)
        for h, a, b, nb, ch, tm in transfers
        if a % n_st != b % n_st
    ]
    res = run(sts, rate, replications=2, seed=seed, patience_minutes=patience, swap_time=swap,
              charging_policy=policy, tariff=TouTariff.guangdong(), transfers=moves)  # fmt: skip
    inv = res.final_inventory
    assert (inv["total"] == inv["batteries"]).all()
    for _, grp in inv.groupby("replication"):
        assert grp["total"].sum() == sum(s.batteries for s in sts)
    # every request is served or lost, exactly once
    k = res.replication_kpis
    assert (k["served"] + k["lost"] == k["requests"]).all()
    assert (res.timeseries["charged"] >= -1e-9).all()
    assert (res.timeseries["charged"] <= max(s.batteries for s in sts) + sum(s.batteries for s in sts) + 1e-9).all()
    moved = res.transfers
    if len(moved):
        assert (moved["moved"] <= moved["planned"]).all()


def test_same_seed_same_result_and_other_seed_differs() -> None:
    sts = [station("a"), station("b", batteries=4)]
    r1 = run(sts, 6.0, seed=7, swap_time="exponential", patience_minutes=10.0)
    r2 = run(sts, 6.0, seed=7, swap_time="exponential", patience_minutes=10.0)
    r3 = run(sts, 6.0, seed=8, swap_time="exponential", patience_minutes=10.0)
    pd.testing.assert_frame_equal(r1.replication_kpis, r2.replication_kpis)
    pd.testing.assert_frame_equal(r1.timeseries, r2.timeseries)
    assert not r1.replication_kpis.equals(r3.replication_kpis)
    # a station's random numbers do not depend on the other stations (common random numbers)
    r4 = run([station("a")], 6.0, seed=7, swap_time="exponential", patience_minutes=10.0)
    a1 = r1.replication_kpis[r1.replication_kpis["station"] == "a"].reset_index(drop=True)
    pd.testing.assert_frame_equal(a1, r4.replication_kpis)


# ----------------------------------------------------------------- consistency
def test_littles_law_and_time_series_agree_with_kpis() -> None:
    sts = [station("a", bays=1, batteries=6, chargers=3, grid_kw=120.0)]
    res = run(sts, 9.0, days=4, warmup_days=1, replications=2, patience_minutes=15.0, event_log=True)
    log = res.event_log
    assert log is not None
    span = 24.0 * 4
    for r in range(2):
        k = res.replication_kpis.iloc[r]
        ev = log[log["replication"] == r]
        arr = ev[ev["event"] == "arrival"].set_index("driver")["time_h"]
        start = ev[ev["event"] == "swap_start"].set_index("driver")["time_h"]
        gone = ev[ev["event"] == "lost"].set_index("driver")["time_h"]
        end = pd.concat([start, gone])
        assert len(end) == len(arr)  # every driver leaves the queue exactly once
        wait = (end - arr.loc[end.index]).clip(lower=0)
        a = arr.loc[end.index]
        # time in queue inside the window / window length = time-average queue (Little's law, exact with clipping)
        lo, hi = 24.0, 24.0 + span
        inside = (np.minimum(a + wait, hi) - np.minimum(np.maximum(a, lo), hi)).clip(lower=0).sum()
        assert inside / span == pytest.approx(k["queue_mean"], rel=1e-9)
        served_in = start[(arr.loc[start.index] >= lo) & (arr.loc[start.index] < hi)]
        assert len(served_in) == k["served"]
    ts = res.timeseries
    assert ts["time_h"].min() == 24.0 and len(ts) == 96
    means = res.replication_kpis[["charged_inventory_mean", "queue_mean"]].mean()
    assert ts["charged"].mean() == pytest.approx(means["charged_inventory_mean"])
    assert ts["queue"].mean() == pytest.approx(means["queue_mean"])
    # energy: every charge draws 40 kWh; the bins add up to the KPI
    assert ts["charging_kw"].sum() == pytest.approx(res.replication_kpis["energy_kwh"].mean())


def test_cccv_curve_same_energy_longer_charge() -> None:
    const = ChargeCurve.build(PACK, 40.0, 0.95, start_soc=0.2, end_soc=1.0)
    taper = ChargeCurve.build(PACK, 40.0, 0.95, start_soc=0.2, end_soc=1.0, kind="cccv")
    assert const.duration_h == pytest.approx(1.0)
    assert taper.duration_h > const.duration_h
    for c in (const, taper):
        assert float(c.energy(np.array([c.duration_h + 5.0]))[0]) == pytest.approx(40.0)
        e = c.energy(np.linspace(0, c.duration_h, 50))
        assert (np.diff(e) >= -1e-12).all()
        assert (np.diff(e) <= 40.0 * c.duration_h / 49 + 1e-9).all()  # never above full power
    # by hand: 20 -> 80 % at 40 kW = 0.75 h; taper 80 -> 98 % with k = 0.95*40/(47.5*0.2) = 4 /h
    assert taper.t_cc == pytest.approx(0.75)
    assert taper.t_cv == pytest.approx(math.log(0.2 / 0.02) / 4.0)
    assert taper.duration_h == pytest.approx(0.75 + math.log(10) / 4 + 47.5 * 0.02 / (0.95 * 4.0))
    res = run([station("a")], 5.0, charge_curve="cccv", replications=2)
    assert res.network_kpis().loc["peak_kw", "mean"] <= 400.0 + 1e-9


# -------------------------------------------------------------------- policies
def test_cheapest_policy_shifts_energy_to_the_valley() -> None:
    tariff = TouTariff.guangdong()
    sts = [station("a", batteries=30, chargers=10, grid_kw=400.0)]
    mask = cheapest_hours(tariff, 60.0, 1.0, 10)
    assert mask.sum() == 8 and mask[:8].all()  # 1.25 * 60 packs * 1 h / 10 = 7.5 -> the 8 valley hours
    asap = run(sts, 2.5, tariff=tariff, days=3, warmup_days=1)
    cheap = run(sts, 2.5, tariff=tariff, days=3, warmup_days=1, charging_policy="cheapest", reserve=0.2)
    ea = asap.energy_by_period(network=True).set_index("period")
    ec = cheap.energy_by_period(network=True).set_index("period")
    assert ec.loc["valley", "energy_kwh"] > 2 * ea.loc["valley", "energy_kwh"]
    assert (
        cheap.network_kpis().loc["energy_cost_cny", "mean"] < 0.7 * asap.network_kpis().loc["energy_cost_cny", "mean"]
    )
    assert cheap.network_kpis().loc["service_level", "mean"] > 0.97


def _two_day_plan(periods: int) -> tuple[list[Station], OperationsPlan]:
    # station a is starved (2 chargers for 120 swaps/day), b has spare packs: the MILP moves packs by truck
    sts = [
        Station.from_design("a", "A", DESIGN, batteries=6, chargers=2, grid_kw=80.0),
        Station.from_design("b", "B", DESIGN, batteries=30, chargers=10, grid_kw=400.0),
    ]
    per = periods // 24
    dem = np.array([[5.0 / per] * periods, [0.5 / per] * periods])
    # the LP relaxation: a real plan whose trips do not depend on how far a MIP search got in its time
    plan = plan_operations(sts, dem, TouTariff.guangdong(), periods=periods, days=2, pack=PACK,
                           trucks=TruckFleet(1, 8, every=per), network=RoadNetwork.from_edges([("A", "B", 3.0)]),
                           relax=True, options=SolveOptions(time_limit=60.0)).verify()  # fmt: skip
    return sts, plan


@pytest.mark.parametrize("periods", [24, 48])
def test_a_real_two_day_operations_plan_is_followed(periods: int) -> None:
    sts, plan = _two_day_plan(periods)
    assert plan.days == 2 and plan.periods_per_day == periods and plan.period_hours == 24.0 / periods
    assert (plan.trips[["charged", "depleted", "charged_back", "depleted_back"]].to_numpy().round() > 0).any()
    dt, length = plan.period_hours, 2 * periods
    net = RoadNetwork.from_edges([("A", "B", 3.0)])
    res = simulate(sts, np.array([[2.5] * 24, [0.25] * 24]), pack=PACK, network=net, operations=plan,
                   options=SimulationOptions(days=4, replications=2, reserve=0.0, bin_minutes=60 // (periods // 24),
                                             progress=False))  # fmt: skip
    # every planned truck load leaves at the start of its period; the two-day plan repeats on days 3-4
    want = []
    for row in plan.trips.to_dict("records"):
        arr = row["arrival"] if row["arrival"] >= row["period"] else row["arrival"] + length
        for kind in ("charged", "depleted"):
            if round(row[kind]) > 0:
                want.append((row["period"] * dt, row["from"], row["to"], kind, round(row[kind])))
            if round(row[f"{kind}_back"]) > 0:
                want.append((arr * dt, row["to"], row["from"], kind, round(row[f"{kind}_back"])))
    want = sorted(w for w in want + [(t + 48.0, a, b, k, n) for t, a, b, k, n in want] if w[0] < 96.0)
    tr = res.transfers[res.transfers["replication"] == 0]
    got = sorted(zip(tr["time_h"], tr["source"], tr["target"], tr["kind"], tr["planned"], strict=True))
    assert [g[1:] for g in got] == [w[1:] for w in want]
    assert [g[0] for g in got] == pytest.approx([w[0] for w in want])
    assert (res.transfers["moved"] <= res.transfers["planned"]).all()
    # a pack starts charging only while fewer packs charge than the plan's kW allows in that period
    # (rounded up to whole chargers); a started charge runs to the end (1 h here), so a period's mean
    # power is at most the largest cap of the periods a charge running in it may have started in
    ts = res.timeseries
    back = math.ceil(1.0 / dt - 1e-9)
    for st_ in sts:
        kw = plan.schedule[plan.schedule["station"] == st_.label].sort_values("period")["charging_kw"].to_numpy()
        cap = np.tile(np.ceil(kw / st_.charger_kw - 1e-9) * st_.charger_kw, 2)
        bound = np.array([cap[max(0, p - back) : p + 1].max() for p in range(cap.size)])
        sim_kw = ts.loc[ts["station"] == st_.label, "charging_kw"].to_numpy()
        assert sim_kw.size == cap.size and (sim_kw <= bound + 1e-6).all()
        assert sim_kw[cap == 0].sum() < sim_kw.sum()  # the plan's idle periods see less charging
    # a plan for other stations is rejected, naming the field
    with pytest.raises(InvalidInputError, match=r"operations\.(schedule\.station|trips\.(from|to))"):
        simulate(sts[:1], np.array([[1.0] * 24]), pack=PACK, operations=plan,
                 options=SimulationOptions(progress=False))  # fmt: skip


def test_rebalancing_lifts_a_starved_station() -> None:
    # station a: 60 swaps/day but 2 chargers recharge only 48; b: few swaps and a large stock.
    # Three daily trips bring 5 charged packs each to a and take 5 depleted packs back to b.
    sts = [station("a", batteries=6, chargers=2, grid_kw=80.0), station("b", batteries=30)]
    rates = np.array([[2.5] * 24, [0.25] * 24])
    moves = [Transfer(h, "b", "a", 5, travel_minutes=20.0) for h in (6.0, 12.0, 18.0)]
    moves += [Transfer(h + 1.0, "a", "b", 5, kind="depleted", travel_minutes=20.0) for h in (6.0, 12.0, 18.0)]
    base = run(sts, rates, days=5, warmup_days=1, replications=4)
    reb = run(sts, rates, days=5, warmup_days=1, replications=4, transfers=moves)
    sa = base.station_kpis().loc["a", "service_level"]
    sb = reb.station_kpis().loc["a", "service_level"]
    assert sb > sa + 0.1
    assert (reb.transfers["moved"] > 0).any()


# ------------------------------------------------------------- plans and routing
def test_sized_plan_with_assignment_and_nearest_routing() -> None:
    # B and C serve their own node within 0.5 km; A (1 km from B) is out of reach in the plan
    cands = CandidateSites.from_nodes(["B", "C"], fixed_cost=[1.0, 1.0])
    demand = NodeDemand(["A", "B", "C"], [48.0, 120.0, 72.0], DailyProfile.flat())
    plan = size_stations(LINE, demand, cands, DESIGN, PACK, service_km=0.5, rate=0.0, penalty_per_swap=1e4,
                         options=SolveOptions(mip_gap=0.0))  # fmt: skip
    assert set(plan.sites) == {"B", "C"}
    by_plan = simulate(
        plan,
        demand,
        pack=PACK,
        network=LINE,
        design=DESIGN,
        options=SimulationOptions(station_choice="assignment", days=3, replications=4, progress=False),
    )
    near = simulate(
        plan,
        demand,
        pack=PACK,
        network=LINE,
        design=DESIGN,
        options=SimulationOptions(days=3, replications=4, progress=False),
    )
    kb, kn = by_plan.network_kpis(), near.network_kpis()
    assert kb.loc["requests", "mean"] == pytest.approx(240.0 * 3, rel=0.1)
    assert kb.loc["lost_no_station", "mean"] == pytest.approx(48.0 * 3, rel=0.3)
    assert kn.loc["lost_no_station", "mean"] == 0.0
    sb, sn = by_plan.station_kpis(), near.station_kpis()
    assert sb.loc["B", "requests"] == pytest.approx(120.0 * 3, rel=0.15)
    assert sn.loc["B", "requests"] == pytest.approx(168.0 * 3, rel=0.15)  # A's drivers go to the nearest, B
    assert sn.loc["C", "requests"] == pytest.approx(72.0 * 3, rel=0.2)


def test_plan_without_sizes_uses_the_design_and_unassigned_demand_is_lost() -> None:
    # a p-median plan opens B for A and D; the same plan with D's row unassigned loses D's drivers
    demand = NodeDemand(["A", "D"], [48.0, 48.0], DailyProfile.flat())
    plan = p_median(LINE, None, 1, demand=demand, candidates=CandidateSites.from_nodes(["B"]))
    assert plan.sized_stations is None and plan.assignment["site"].tolist() == ["B", "B"]
    opts = SimulationOptions(station_choice="assignment", days=3, replications=3, progress=False)
    full = simulate(plan, demand, pack=PACK, network=LINE, design=DESIGN, options=opts)
    assert full.stations == ("B",) and full.network_kpis().loc["lost_no_station", "mean"] == 0.0
    assert full.station_kpis().loc["B", "requests"] == pytest.approx(96.0 * 3, rel=0.15)
    assert full.final_inventory["batteries"].iloc[0] == DESIGN.batteries  # built to the design
    part = dataclasses.replace(plan, assignment=plan.assignment.assign(site=["B", None]))
    res = simulate(part, demand, pack=PACK, network=LINE, design=DESIGN, options=opts)
    k = res.network_kpis()
    assert k.loc["lost_no_station", "mean"] == pytest.approx(48.0 * 3, rel=0.25)
    assert k.loc["service_level", "mean"] < 0.6


def test_travel_time_delays_arrivals() -> None:
    net = RoadNetwork.from_edges([("X", "S", 15.0)])
    demand = NodeDemand(["X"], [240.0], DailyProfile.flat())
    res = simulate(
        [station("s", node="S", batteries=40)],
        demand,
        pack=PACK,
        network=net,
        options=SimulationOptions(days=1, replications=2, event_log=True, progress=False, speed_kmh=30.0),
    )
    log = res.event_log
    assert log is not None
    first = log.loc[log["event"] == "arrival", "time_h"].min()
    assert first >= 0.5  # 15 km at 30 km/h


# ---------------------------------------------------------------------- outputs
def test_tables_plots_and_summary(tmp_path: object) -> None:
    import matplotlib

    matplotlib.use("Agg")
    res = run([station("a"), station("b")], 4.0, tariff=TouTariff.guangdong(), bin_minutes=15)
    sk = res.station_kpis()
    assert list(sk.index) == ["a", "b"] and "wait_p95_min_ci" in sk.columns
    nk = res.network_kpis()
    assert nk.loc["requests", "mean"] == pytest.approx(sk["requests"].sum())
    e = res.energy_by_period()
    assert set(e["period"]) == {"valley", "flat", "peak"}
    assert e["energy_kwh"].sum() == pytest.approx(nk.loc["energy_kwh", "mean"])
    assert e["cost_cny"].sum() == pytest.approx(nk.loc["energy_cost_cny", "mean"])
    assert len(res.timeseries) == 2 * 2 * 96
    assert res.by_time_of_day("queue").shape == (96, 2)
    for fig in (res.plot_inventory(), res.plot_queues(["a"]), res.plot_charging()):
        assert len(fig.axes) == 1
        import matplotlib.pyplot as plt

        plt.close(fig)
    assert "service level" in res.summary()
    with pytest.raises(InvalidInputError, match="stations"):
        res.plot_queues(["zz"])
    with pytest.raises(InvalidInputError, match="confidence"):
        res.station_kpis(confidence=1.5)


# -------------------------------------------------------------------- bad input
def test_bad_input_names_the_field() -> None:
    sts = [station("a")]
    rates = np.full((1, 24), 2.0)
    bad = rates.copy()
    bad[0, 3] = -1.0
    with pytest.raises(InvalidInputError, match=r"demand\[0, 3\]"):
        run(sts, bad)
    with pytest.raises(InvalidInputError, match="demand"):
        run(sts, np.full((2, 24), 1.0))
    with pytest.raises(InvalidInputError, match=r"stations\[0\].chargers"):
        run([station("a", chargers=0)], rates)
    run([station("a", chargers=0)], np.zeros((1, 24)))  # no demand: no charger needed
    with pytest.raises(InvalidInputError, match=r"station 'a'.charger_kw.*grid_kw=20"):
        station("a", grid_kw=20.0)  # one charger cannot run on the connection
    with pytest.raises(InvalidInputError, match=r"stations\[0\].bays"):
        run([Station.hub_site("h", "h", batteries=4, chargers=2, charger_kw=40.0, grid_kw=80.0)], rates)
    with pytest.raises(InvalidInputError, match="patience_minutes"):
        run(sts, rates, patience_minutes=-1.0)
    with pytest.raises(InvalidInputError, match="swap_time"):
        run(sts, rates, swap_time="gamma")
    with pytest.raises(InvalidInputError, match="swap_time"):
        run(sts, rates, swap_time=[1.0, -2.0])
    with pytest.raises(InvalidInputError, match="tariff"):
        run(sts, rates, charging_policy="cheapest")
    with pytest.raises(InvalidInputError, match="charging_policy"):
        run(sts, rates, charging_policy="plan")
    with pytest.raises(InvalidInputError, match="replications"):
        run(sts, rates, replications=0)
    with pytest.raises(InvalidInputError, match="label"):
        run([station("a"), station("a")], np.ones((2, 24)))
    with pytest.raises(InvalidInputError, match=r"transfers\[0\].source"):
        run([station("a"), station("b")], np.ones((2, 24)), transfers=[Transfer(1.0, "zz", "a", 1)])
    with pytest.raises(InvalidInputError, match="kind"):
        Transfer(1.0, "a", "b", 1, kind="full")
    with pytest.raises(InvalidInputError, match="initial_charged"):
        Station("a", "a", bays=1, batteries=2, chargers=1, charger_kw=1, grid_kw=1, swap_minutes=1,
                   initial_charged=3)  # fmt: skip


def test_plan_that_does_not_match_is_rejected() -> None:
    demand = NodeDemand(["A"], [24.0], DailyProfile.flat())
    cands = CandidateSites.from_nodes(["B"])
    real = size_stations(LINE, demand, cands, DESIGN, PACK, service_km=2.0, options=SolveOptions(mip_gap=0.0))
    assert real.sized_stations is not None
    other = real.sized_stations.assign(site=["C"], node=["C"])
    plan = dataclasses.replace(real, details={**real.details, "stations": other})  # sizes of another site
    with pytest.raises(InvalidInputError, match="stations do not match"):
        simulate(plan, demand, pack=PACK, network=LINE, design=DESIGN, options=SimulationOptions(progress=False))
    median = p_median(LINE, None, 1, demand=demand, candidates=cands)
    plain = dataclasses.replace(median, assignment=median.assignment.assign(site=["C"]))  # C is not open
    with pytest.raises(InvalidInputError, match="not a simulated station"):
        simulate(
            plain,
            demand,
            pack=PACK,
            network=LINE,
            design=DESIGN,
            options=SimulationOptions(station_choice="assignment", progress=False),
        )
    with pytest.raises(InvalidInputError, match="design"):
        simulate(plain, demand, pack=PACK, network=LINE, options=SimulationOptions(progress=False))
    with pytest.raises(InvalidInputError, match="candidates"):
        simulate(
            plain,
            demand,
            pack=PACK,
            network=LINE,
            design=DESIGN,
            candidates=CandidateSites.from_nodes(["C"]),
            options=SimulationOptions(progress=False),
        )
    with pytest.raises(InvalidInputError, match="network"):
        simulate(plain, NodeDemand(["A"], [24.0]), pack=PACK, design=DESIGN, options=SimulationOptions(progress=False))


def test_od_trips_with_a_range_request_swaps_along_their_paths() -> None:
    # A -4- B -4- C -3- D, trips A -> D (11 km) with a 10 km range: every trip needs a swap; the range
    # runs out uniformly on (0, 10): at A with prob. 0.4, at B 0.4, at C 0.2 (then C's nearest station is D)
    from swapnet import ODFlows

    net = RoadNetwork.from_edges([("A", "B", 4.0), ("B", "C", 4.0), ("C", "D", 3.0)])
    short = BatteryPack("short", 47.5, 10.0)
    flows = ODFlows(["A"], ["D"], [500.0])
    sts = [station("b", node="B", batteries=40, bays=3), station("d", node="D", batteries=40, bays=3)]
    res = simulate(
        sts,
        flows,
        pack=short,
        network=net,
        options=SimulationOptions(
            trip_profile=DailyProfile.flat(), days=4, replications=4, progress=False, event_log=True
        ),
    )
    k = res.station_kpis()
    assert k.loc["b", "requests"] == pytest.approx(0.8 * 500 * 4, rel=0.05)
    assert k.loc["d", "requests"] == pytest.approx(0.2 * 500 * 4, rel=0.1)
    log = res.event_log
    assert log is not None
    first = log[log["event"] == "arrival"].groupby("station")["time_h"].min()
    assert first["b"] >= 4.0 / 30.0 and first["d"] >= 11.0 / 30.0  # driving there at 30 km/h
    with pytest.raises(InvalidInputError, match="network"):
        simulate(sts, flows, pack=short, options=SimulationOptions(progress=False))


def test_progress_bar_shows_on_long_runs_and_can_be_switched_off(capsys: pytest.CaptureFixture[str]) -> None:
    from swapnet.simulation.api import _Progress

    bar = _Progress(3, True)
    bar.t0 -= 1.0  # pretend the run has taken a second
    for _ in range(3):
        bar.step()
    err = capsys.readouterr().err
    assert "simulate [" in err and "3/3" in err and err.endswith("\n")
    quiet = _Progress(3, False)
    quiet.t0 -= 1.0
    quiet.step(3)
    run([station("a")], 1.0, progress=True)  # a short run stays silent
    assert capsys.readouterr().err == ""


def test_following_a_real_operations_plan() -> None:
    # station a is starved (2 chargers for 60 swaps/day); the operations MILP sends a truck from a to b
    # with depleted packs and brings charged ones back. Simulating the plan lifts the network's service.
    net = RoadNetwork.from_edges([("A", "B", 3.0)])
    sims = [  # the same Station objects feed operations and simulation
        Station.from_design("a", "A", DESIGN, batteries=6, chargers=2, grid_kw=80.0),
        Station.from_design("b", "B", DESIGN, batteries=30, chargers=10, grid_kw=400.0),
    ]
    tariff = TouTariff.guangdong()
    plan = plan_operations(sims, np.array([[5.0] * 12, [0.5] * 12]), tariff, periods=12, pack=PACK,
                           trucks=TruckFleet(1, 8, every=2), network=net)  # fmt: skip
    rates = np.array([[2.5] * 24, [0.25] * 24])
    base = simulate(
        sims,
        rates,
        pack=PACK,
        network=net,
        tariff=tariff,
        options=SimulationOptions(days=3, warmup_days=1, replications=4, progress=False),
    )
    follow = simulate(
        sims,
        rates,
        pack=PACK,
        network=net,
        tariff=tariff,
        operations=plan,
        options=SimulationOptions(days=3, warmup_days=1, replications=4, progress=False),
    )
    assert len(follow.transfers) > 0 and (follow.transfers["moved"] <= follow.transfers["planned"]).all()
    s0 = base.network_kpis().loc["service_level", "mean"]
    s1 = follow.network_kpis().loc["service_level", "mean"]
    assert s1 > s0 + 0.1


def test_former_keywords_warn_and_give_the_same_run() -> None:
    sts = [station("a", batteries=4)]
    with pytest.warns(DeprecationWarning, match=r"options=SimulationOptions"):
        old = simulate(sts, np.full((1, 24), 3.0), pack=PACK, days=2, replications=3, progress=False)  # type: ignore[call-arg]
    pd.testing.assert_frame_equal(old.replication_kpis, run(sts, 3.0).replication_kpis)
    with pytest.raises(TypeError, match="dayz"):
        simulate(sts, np.full((1, 24), 3.0), pack=PACK, dayz=2)  # type: ignore[call-arg]
    with pytest.raises(InvalidInputError, match="options"):
        simulate(sts, np.full((1, 24), 3.0), pack=PACK, options={"days": 2})  # type: ignore[arg-type]


def test_confidence_intervals_stay_inside_each_kpi_range() -> None:
    m, h, lo, hi = kpi_interval([1.0, 0.9, 1.0], "service_level")
    assert h > 1.0 - m and hi == 1.0 and lo == pytest.approx(m - h)
    assert kpi_interval([0.0, 0.0, 3.0], "lost")[2] == 0.0
    assert all(math.isnan(v) for v in kpi_interval([1.0], "lost")[1:])
    # a station that rarely runs short: some replications serve every driver, the interval would pass 1
    res = run([station("a", batteries=6, chargers=3, grid_kw=120.0)], 2.6, replications=6, days=1)
    nk, sk = res.network_kpis(), res.station_kpis()
    assert nk.loc["service_level", "high"] <= 1.0 and nk.loc["lost", "low"] >= 0.0
    assert sk.loc["a", "service_level_high"] <= 1.0 and sk.loc["a", "lost_low"] >= 0.0
    assert (nk["low"].dropna() <= nk.loc[nk["low"].notna(), "mean"] + 1e-12).all()
