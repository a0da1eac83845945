"""Sweeps over a study file: dotted-key overrides, the CLI, resume through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_study import TINY  # the tiny study of the study tests (tests/ is on sys.path under pytest)

from swapnet import InvalidInputError
from swapnet.cli import main
from swapnet.sweep import StudyScenario, _set_path


def test_set_path_overrides() -> None:
    d = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    _set_path(d, "a.b.1.c", 5)
    _set_path(d, "x.y", 3)
    assert d == {"a": {"b": [{"c": 1}, {"c": 5}]}, "x": {"y": 3}}
    with pytest.raises(InvalidInputError, match=r"a\.b\.9\.c"):
        _set_path(d, "a.b.9.c", 1)


def test_study_scenario_kpis_respond_to_overrides() -> None:
    sc = StudyScenario(TINY)
    small = sc.evaluate({"demand.segments.0.vehicles": 500})
    big = sc.evaluate({"demand.segments.0.vehicles": 3000})
    assert set(small) >= {"stations", "operations_cost_cny_day", "service_level", "npv_cny"}
    assert big["energy_cny_day"] > small["energy_cny_day"]  # more cars, more energy bought
    with pytest.raises(InvalidInputError, match="vehicles"):
        sc.evaluate({"demand.segments.0.vehicles": -5})


def test_cli_sweep_refuses_bad_grid_values_up_front_and_resumes(tmp_path: Path) -> None:
    study = tmp_path / "study.toml"
    study.write_text(_toml(TINY))
    grid = tmp_path / "grid.toml"
    grid.write_text('[grid]\n"demand.segments.1.vehicles" = [200, 400]\n"siting.service_km" = [2.5, -1.0]\n')
    store = tmp_path / "s.jsonl"
    rc = main(["sweep", str(study), str(grid), "-o", str(store), "-w", "2", "-q"])
    assert rc == 2  # an invalid service distance is a spec error: refused before any scenario runs
    assert not store.exists() or store.read_text() == ""
    grid.write_text('[grid]\n"demand.segments.1.vehicles" = [200, 400]\n"siting.service_km" = [2.5]\n')
    rc = main(["sweep", str(study), str(grid), "-o", str(store), "-w", "2", "-q"])
    assert rc == 0
    recs = [json.loads(x) for x in store.read_text().splitlines()]
    assert sorted(r["status"] for r in recs) == ["ok", "ok"]
    assert (tmp_path / "s.table.csv").exists()
    rc = main(["sweep", str(study), str(grid), "-o", str(store), "-q"])  # resume: nothing left to run
    assert len(store.read_text().splitlines()) == 2
    assert main(["sweep", str(study), str(tmp_path / "missing.toml"), "-o", str(store)]) == 2


def _toml(d: dict[str, object], prefix: str = "") -> str:
    """A minimal TOML writer for the study dict (tables, arrays of tables, scalars)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, object]]] = []
    arrays: list[tuple[str, list[dict[str, object]]]] = []
    for k, v in d.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            arrays.append((k, v))
        else:
            lines.append(f"{k} = {json.dumps(v)}")
    for k, v in tables:
        name = f"{prefix}{k}"
        inner = _toml(v, name + ".")
        lines.append(f"\n[{name}]\n{inner}")
    for k, items in arrays:
        for item in items:
            lines.append(f"\n[[{prefix}{k}]]\n{_toml(item)}")
    return "\n".join(lines)
