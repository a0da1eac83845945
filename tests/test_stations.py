"""Tests of the one placed-station type (swapnet.Station) and the one plan converter (stations_from_plan)."""

from __future__ import annotations

import numpy as np
import pytest

from swapnet import (
    BatteryPack,
    CandidateSites,
    DailyProfile,
    InvalidInputError,
    NodeDemand,
    RoadNetwork,
    SimulationOptions,
    Station,
    StationDesign,
    TouTariff,
    simulate,
    stations_from_plan,
)
from swapnet.operations import OpsStation, plan_operations
from swapnet.optim import SolveOptions
from swapnet.simulation import SimStation
from swapnet.siting import SitingPlan, p_median, size_stations

EXACT = SolveOptions(mip_gap=0.0)
LINE = RoadNetwork.from_edges([("A", "B", 1.0), ("B", "C", 1.0), ("C", "D", 5.0)])
PACK = BatteryPack("test", 47.5, 400, cost_cny=1000.0)  # 40 kWh from the grid per swap: 1 h at 40 kW
DESIGN = StationDesign(
    "test", bays=1, batteries=10, chargers=10, charger_kw=40.0, grid_kw=1000.0, swap_minutes=3.0,
    capex_cny=0.0, opex_cny_per_year=0.0, lifetime_years=10.0,
)  # fmt: skip


def sized() -> tuple[CandidateSites, SitingPlan]:
    sites = CandidateSites.from_nodes(["B", "C"], fixed_cost=[0.0, 0.0], grid_kw=[200.0, np.inf])
    demand = NodeDemand(["A", "C"], [240.0, 24.0], DailyProfile.flat())
    plan = size_stations(LINE, demand, sites, DESIGN, PACK, service_km=1.0, rate=0.0, options=EXACT).verify()
    return sites, plan


def test_station_fields_keep_the_operations_order_and_validate() -> None:
    s = Station("s", "A", 6, 2, 40.0, 80.0, 2, 4.0, 3, False)
    assert (s.bays, s.swap_minutes, s.initial_charged, s.hub, s.charging_efficiency) == (2, 4.0, 3, False, 0.95)
    assert s.parallel_charging == 2 and s.charged_at_start == 3
    assert Station("t", None, 6, 5, 40.0, 100.0).parallel_charging == 2  # the grid admits 2 of 5 chargers
    assert s.charge_hours(PACK) == pytest.approx(PACK.kwh * 0.8 / (0.95 * 40.0))
    assert OpsStation is Station and SimStation is Station
    hub = Station.hub_site("H", "h", batteries=10, chargers=5, charger_kw=50.0, grid_kw=500.0)
    assert hub.hub and hub.bays == 0
    for kw, field in (
        ({"batteries": -1}, "batteries"),
        ({"charger_kw": 0.0}, "charger_kw"),
        ({"grid_kw": 20.0}, "charger_kw"),
        ({"initial_charged": 9}, "initial_charged"),
        ({"charging_efficiency": 1.5}, "charging_efficiency"),
        ({"x": float("nan")}, "x"),
    ):
        args: dict[str, object] = {"batteries": 6, "chargers": 2, "charger_kw": 40.0, "grid_kw": 80.0, **kw}
        with pytest.raises(InvalidInputError, match=rf"station 's'\.{field}"):
            Station("s", "A", **args)  # type: ignore[arg-type]


def test_from_design_takes_every_design_number() -> None:
    s = Station.from_design("s", "A", DESIGN, batteries=4, x=1.0, y=2.0)
    assert (s.batteries, s.chargers, s.charger_kw, s.grid_kw, s.bays, s.swap_minutes) == (4, 10, 40.0, 1000.0, 1, 3.0)
    assert s.charging_efficiency == DESIGN.charging_efficiency and s.design is DESIGN and (s.x, s.y) == (1.0, 2.0)


def test_sized_plan_converts_with_its_sizes_grid_and_design() -> None:
    sites, plan = sized()
    table = plan.sized_stations
    assert table is not None
    stations = stations_from_plan(plan)  # the sized plan knows its design
    assert isinstance(stations, tuple) and [s.label for s in stations] == list(table["site"])
    assert [s.batteries for s in stations] == table["batteries"].tolist()
    assert [s.chargers for s in stations] == table["chargers"].tolist()
    assert {s.label: s.grid_kw for s in stations} == {"B": 200.0, "C": DESIGN.grid_kw}
    assert stations == stations_from_plan(plan, DESIGN, PACK, candidates=sites)
    other = BatteryPack("big", 95.0, 400, cost_cny=1000.0)
    with pytest.raises(InvalidInputError, match="pack"):
        stations_from_plan(plan, DESIGN, other)


def test_unsized_plan_gets_the_design_and_the_site_grid() -> None:
    sites = CandidateSites(["s1", "s2"], ["B", "C"], [0.0, 0.0], grid_kw=[120.0, np.inf])
    plan = p_median(LINE, None, 2, demand=NodeDemand(["A", "D"], [1.0, 1.0]), candidates=sites)
    with pytest.raises(InvalidInputError, match="design"):
        stations_from_plan(plan)
    got = stations_from_plan(plan, DESIGN, candidates=sites)
    assert [(s.label, s.node, s.grid_kw, s.batteries) for s in got] == [
        ("s1", "B", 120.0, DESIGN.batteries),
        ("s2", "C", DESIGN.grid_kw, DESIGN.batteries),
    ]
    with pytest.raises(InvalidInputError, match="nodes"):
        stations_from_plan(plan, DESIGN, nodes=["B"])


def test_the_same_stations_feed_operations_and_simulation() -> None:
    _, plan = sized()
    stations = stations_from_plan(plan)
    rates = np.full((len(stations), 24), 1.0)
    ops = plan_operations(stations, rates[:, :12] * 2.0, TouTariff.guangdong(), periods=12, pack=PACK).verify()
    sim = simulate(list(stations), rates, pack=PACK, options=SimulationOptions(days=1, replications=2, progress=False))
    assert set(ops.schedule["station"]) == {s.label for s in stations} == set(sim.station_kpis().index)
