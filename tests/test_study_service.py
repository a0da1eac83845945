"""The study's one demand, one routing and service-level loop on the tiny study of the study tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_study import error, tiny  # the tiny study of the study tests (tests/ is on sys.path under pytest)

from swapnet.study import Study, StudyResult


def run(tmp_path: Path, **changes: object) -> StudyResult:
    return Study.from_dict(tiny(**changes)).run(tmp_path, progress=False)


def test_service_level_loop_meets_the_target_with_the_plans_routing(tmp_path: Path) -> None:
    res = run(tmp_path, siting__service_level=0.995, siting__service_iterations=6)
    it = res.tables["service_iterations"]
    assert list(it["iteration"]) == list(range(1, len(it) + 1))
    assert (np.diff(it["batteries"]) >= 0).all() and (np.diff(it["annual_cost_cny"]) >= -1e-6).all()
    assert (it["simulated_requests"] > 0).all() and (it["seconds"] > 0).all()
    last = it.iloc[-1]
    stop = res.tables["stages"].set_index("stage").loc["service level", "stopped_on"]
    if "every station meets" in stop:
        assert last["below_target"] == 0 and last["min_station_service_low"] >= 0.995
    else:  # the stations still below target cannot grow, or the rounds ran out
        assert last["below_target"] > 0
    # the final simulation is the loop's: >= 10 replications after a warm-up day, routed as planned
    assert res.simulation.replications >= 10 and res.simulation.warmup_days >= 1
    assert res.siting.verify() is res.siting
    sized = res.siting.sized_stations
    assert sized is not None and (sized["model_loss"] <= sized["target_loss"] + 1e-12).all()
    assert res.tables["stations"]["batteries"].tolist() == sized["batteries"].tolist()


def test_plan_and_simulation_see_one_demand(tmp_path: Path) -> None:
    res = run(tmp_path, simulation__replications=10, simulation__warmup_days=1)
    pv = res.tables["plan_vs_simulation"]
    ops = res.operations
    assert pv["planned_demand"].sum() == pytest.approx(ops.schedule["demand"].sum() / ops.days)
    # the simulation routes drivers as the plan assigns them: each station receives its planned demand
    rel = (pv["sim_requests"] - pv["planned_demand"]).abs() / pv["planned_demand"]
    assert rel.max() < 0.25 and pv["sim_requests"].sum() == pytest.approx(pv["planned_demand"].sum(), rel=0.05)
    assert (pv["sim_service_high"] <= 1.0).all() and (pv["sim_lost_low"] >= 0.0).all()
    un = res.tables["unserved"].set_index("what")
    siting_total = float(un.loc["unserved: total", "swaps_per_day"])
    assert siting_total == pytest.approx(res.siting.details["lost_swaps_per_day"], rel=1e-9, abs=1e-9)
    no_station = float(un.loc["lost: no station assigned (lost_no_station)", "swaps_per_day"])
    assert no_station == pytest.approx(siting_total, rel=0.3, abs=3.0)  # Poisson draws of the same demand
    routing = res.tables["routing"].set_index("metric")["value"]
    assert routing["simulation routing"] == "plan"
    # operations: cost per term and per day, the count of lost swaps named apart from its cost
    terms = res.tables["operations"]["term"].tolist()
    assert "lost_swaps_cny" in terms and "lost_swaps_count" in terms and len(set(terms)) == len(terms)
    assert any("energy per swap" in n for n in res.tables["notes"]["note"])
    assert res.operator.electricity_cost_cny_per_year == pytest.approx(365 * ops.costs_per_day["energy"])
    # the report shows the plan against the simulation and the unserved demand (Markdown and HTML)
    for name in ("report.md", "report.html"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "Plan against simulation" in text and "Unserved demand" in text and "What stopped each stage" in text


def test_nearest_routing_is_an_option_and_bad_keys_are_named(tmp_path: Path) -> None:
    res = run(tmp_path, simulation__routing="nearest")
    assert res.tables["routing"].set_index("metric").loc["simulation routing", "value"] == "nearest"
    assert error(tiny(simulation__routing="closest")).field == "simulation.routing"
    bad = error(tiny(siting={"model": "p_median", "p": 3, "service_level": 0.98}))
    assert bad.field == "siting.service_level"
    assert error(tiny(siting__service_level=1.5)).field == "siting.service_level"


def test_coarse_periods_warn_about_lengthened_charges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # hourly periods hold a charger 2 h for the 1.18 h charge of a 56 kWh pack at 40 kW: +70 %
    Study.from_dict(tiny(operations__periods=24)).run(tmp_path, progress=True)
    out = capsys.readouterr().out
    assert "warning: operations periods of 60 min" in out


def test_demand_out_of_reach_is_counted_and_a_fallback_reach_serves_it(tmp_path: Path) -> None:
    # service_km = 1 km on the tiny city: some nodes have no store within reach
    res = run(tmp_path / "plain", siting__service_km=1.0, simulation__replications=10, simulation__warmup_days=1)
    reach = res.tables["reach"]
    assert len(reach) > 0 and (reach["nearest_candidate_km"] > 1.0).all()
    assert (reach["served_per_day"] == 0).all() and reach["stations"].eq("").all()
    assert reach["unserved_per_day"].to_numpy() == pytest.approx(reach["swaps_per_day"].to_numpy())
    un = res.tables["unserved"].set_index("what")
    out_of_reach = float(un.loc["unserved: no station within reach", "swaps_per_day"])
    assert out_of_reach == pytest.approx(reach["swaps_per_day"].sum())
    assert set(reach["demand"]) == set(
        res.siting.unserved.query("unserved_reason == 'no station within reach'")["demand"]
    )
    notes = [str(n) for n in res.tables["notes"]["note"]]
    assert any(n.startswith("warning: reach:") and f"{len(reach)} demand nodes" in n for n in notes)
    # the simulation counts them as lost (no station assigned)
    lost_no_station = float(un.loc["lost: no station assigned (lost_no_station)", "swaps_per_day"])
    total = float(un.loc["unserved: total", "swaps_per_day"])
    assert total >= out_of_reach and lost_no_station == pytest.approx(total, rel=0.3, abs=3.0)
    # fallback_km: the same nodes are served from a station beyond service_km, within the fallback
    far = float(reach["nearest_candidate_km"].max())
    fb = run(tmp_path / "fb", siting__service_km=1.0, siting__fallback_km=far, simulation__replications=10,
             simulation__warmup_days=1)  # fmt: skip
    r2 = fb.tables["reach"]
    assert r2["demand"].tolist() == reach["demand"].tolist()
    assert (r2["station_km"] <= far + 1e-9).all() and (r2["station_km"] > 1.0).all()
    assert r2["served_per_day"].sum() + r2["unserved_per_day"].sum() == pytest.approx(r2["swaps_per_day"].sum())
    assert r2["served_per_day"].sum() > 0.9 * r2["swaps_per_day"].sum()
    u2 = fb.tables["unserved"].set_index("what")
    assert "unserved: no station within reach" not in u2.index
    beyond = [w for w in u2.index if str(w).startswith("served beyond service_km")]
    assert len(beyond) == 1 and float(u2.loc[beyond[0], "swaps_per_day"]) == pytest.approx(r2["served_per_day"].sum())
    assert float(u2.loc["lost: no station assigned (lost_no_station)", "swaps_per_day"]) < lost_no_station
    assert fb.siting.verify() is fb.siting
    assert any(str(n).startswith(f"reach: {len(r2)} demand nodes") and f"fallback_km = {far:g} km" in str(n)
               for n in fb.tables["notes"]["note"])  # fmt: skip
    assert "Demand with no candidate site within service_km" in (tmp_path / "fb" / "report.md").read_text("utf-8")


def test_fallback_km_is_checked() -> None:
    assert error(tiny(siting__fallback_km=2.0)).field == "siting.fallback_km"  # below service_km 2.5
    bad = error(tiny(siting={"model": "set_cover", "service_km": 2.0, "fallback_km": 4.0}))
    assert bad.field == "siting.fallback_km"


def test_stage_table_says_whether_a_solve_stopped_on_its_gap_or_its_limit() -> None:
    from swapnet.study.notes import _mip_stop

    assert _mip_stop("optimal", 0.005, 10.0, 180.0, 0.01).startswith("gap: 0.50% <= mip_gap 1.00% after 10.0 s")
    assert _mip_stop("optimal", 0.0076, 179.8, 180.0, 0.01).startswith("time limit: gap 0.76% <= mip_gap")
    assert _mip_stop("time_limit", 0.02, 180.0, 180.0, 0.01).startswith("time_limit: gap 2.00%")
