"""The study's [rollout] section, the rollout report pieces and the sweep KPIs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from swapnet.study import Study, StudyError
from swapnet.study.pipeline import build_inputs
from swapnet.study.rollout_stage import run_rollout

STUDY: dict[str, Any] = {
    "name": "tiny rollout",
    "network": {"kind": "city_grid", "rows": 6, "cols": 6, "spacing_km": 1.0, "seed": 1},
    "demand": {"seed": 1, "segments": [{"kind": "private", "vehicles": 4000}, {"kind": "taxi", "vehicles": 200}]},
    "sites": {"kind": "service_stores", "n": 6, "seed": 1},
    "siting": {"model": "size_stations", "service_km": 2.5},
    "rollout": {
        "years": 3,
        "start_fleet": 4200,
        "target_fleet": 9000,
        "midpoint": 2.0,
        "time_limit": 8,
        "mip_gap": 0.01,
    },
}


def _study(**rollout: Any) -> Study:
    d = copy.deepcopy(STUDY)
    d["rollout"].update(rollout)
    return Study.from_dict(d)


def test_rollout_section_runs_and_reports(tmp_path: Path) -> None:
    study = _study(budget_cny=60e6)
    assert study.rollout is not None and study.rollout.scenarios == "three"
    out = run_rollout(study, build_inputs(study))
    plan, comp = out.plan, out.comparison
    assert plan.scenarios == ("low", "mid", "high") and plan.probabilities == pytest.approx((0.25, 0.5, 0.25))
    assert comp is not None and comp.vss >= -1e-6 * abs(plan.objective)
    assert set(out.tables) == {"rollout_stations", "rollout_years", "rollout_cash_flows", "rollout_baselines"}
    assert (out.tables["rollout_years"]["capex_cash"] <= 60e6 * (1 + 1e-9)).all()
    # year 1 is the study's own demand: every scenario starts from the segments' fleet
    sv = plan.service[plan.service["year"] == 1]["swaps_per_day"]
    assert sv.max() == pytest.approx(sv.min())
    kp = out.kpis()
    assert kp["rollout_npv_cny"] == pytest.approx(plan.npv()) and "rollout_evpi" in kp
    from swapnet.siting.rollout.report import ROLLOUT_FIGURES, rollout_markdown, write_figures

    files = write_figures(plan, build_inputs(study).network, tmp_path)
    assert [f.name for f in files] == list(ROLLOUT_FIGURES) and all(f.stat().st_size > 1000 for f in files)
    md = rollout_markdown(plan, comp)
    assert "## Rollout" in md and "VSS" in md and "rollout_map.png" in md


def test_sampled_scenarios_and_one_trajectory() -> None:
    study = _study(scenarios="sampled", samples=2, seed=3, baselines=False)
    out = run_rollout(study, build_inputs(study))
    assert out.plan.scenarios == ("s00", "s01") and out.comparison is None
    one = _study(scenarios="mid")
    assert run_rollout(one, build_inputs(one)).plan.scenarios == ("base",)


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [
        ("target_fleet", 100.0, "rollout.target_fleet"),
        ("scenarios", "fourr", "rollout.scenarios"),
        ("high_probability", 0.9, "rollout.high_probability"),
        ("shared_years", 7, "rollout.shared_years"),
        ("budget", 1.0, "rollout.budget"),
    ],
)
def test_bad_rollout_keys_name_their_path(key: str, value: Any, path: str) -> None:
    with pytest.raises(StudyError) as err:
        _study(**{key: value})
    assert err.value.field == path
