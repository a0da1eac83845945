"""Study files: validation with key paths and suggestions, and a tiny end-to-end run."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from swapnet.errors import InvalidInputError
from swapnet.study import Study, StudyError

TINY: dict[str, Any] = {
    "name": "tiny",
    "network": {"kind": "city_grid", "rows": 8, "cols": 8, "spacing_km": 1.0, "seed": 1},
    "demand": {
        "seed": 1,
        "segments": [
            {"kind": "private", "vehicles": 1500},
            {"kind": "ride_hailing", "vehicles": 300},
            {"kind": "taxi", "vehicles": 100, "swaps_per_vehicle_month": 30},
        ],
    },
    "sites": {"kind": "service_stores", "n": 12, "seed": 1},
    "pack": {"preset": "catl_25_lfp"},
    "design": {"preset": "choco_swap"},
    "tariff": {"kind": "guangdong", "flat_price": 0.52, "critical_peak": True},
    "siting": {"model": "size_stations", "service_km": 2.5},
    "operations": {"periods": 24, "trucks": 1, "truck_capacity": 10, "time_limit": 2, "mip_gap": 0.05},
    "simulation": {"days": 1, "replications": 2, "seed": 3},
    "plans": [
        {"preset": "choco_swap_unlimited"},
        {"preset": "nio_baas_75", "name": "NIO-like"},
        {"name": "custom", "monthly_rent_cny": 450, "fee_per_kwh_cny": 1.2},
    ],
    "economics": {"months": 36, "degradation_cny_per_kwh": 0.28},
    "solver": {"time_limit": 10, "mip_gap": 0.01},
}


def tiny(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(TINY)
    for path, value in changes.items():
        node: Any = d
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        if value is KeyError:
            del node[keys[-1]]
        else:
            node[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value
    return d


def error(d: dict[str, Any]) -> StudyError:
    with pytest.raises(StudyError) as info:
        Study.from_dict(d)
    assert isinstance(info.value, InvalidInputError)
    assert isinstance(info.value, ValueError)
    return info.value


def test_valid_study_parses() -> None:
    s = Study.from_dict(TINY)
    assert s.network.rows == 8
    assert [g.kind for g in s.demand.segments] == ["private", "ride_hailing", "taxi"]
    assert s.demand.segments[2].swaps_per_vehicle_month == 30.0
    assert s.tariff.critical_peak is True
    assert [p.build().name for p in s.plans] == ["Choco-swap unlimited", "NIO-like", "custom"]
    assert s.simulation.charging_policy is None


def test_unknown_key_has_path_and_suggestion() -> None:
    e = error(tiny(network__rowz=8))
    assert "network.rowz" in str(e)
    assert "did you mean 'rows'?" in str(e)
    e = error(tiny(demand__segments__1__vehicels=3))
    assert "demand.segments[1].vehicels" in str(e)
    assert "did you mean 'vehicles'?" in str(e)
    d = tiny()
    d["simulaton"] = {}
    e = error(d)
    assert "simulaton" in str(e) and "did you mean 'simulation'?" in str(e)


def test_negative_vehicles_names_the_key() -> None:
    e = error(tiny(demand__segments__1__vehicles=-5))
    assert e.field == "demand.segments[1].vehicles"
    assert "demand.segments[1].vehicles" in str(e)


def test_wrong_types_and_impossible_values() -> None:
    assert error(tiny(network__rows="8")).field == "network.rows"
    assert error(tiny(network__rows=2.5)).field == "network.rows"
    assert error(tiny(tariff__critical_peak=1)).field == "tariff.critical_peak"
    assert error(tiny(sites__n=65)).field == "sites.n"  # more sites than nodes
    assert error(tiny(operations__periods=7)).field == "operations.periods"
    assert error(tiny(operations__time_limit=0)).field == "operations.time_limit"
    assert error(tiny(simulation__replications=1)).field == "simulation.replications"
    e = error(tiny(pack__preset="catl_25_lpf"))
    assert e.field == "pack.preset" and "did you mean 'catl_25_lfp'?" in str(e)
    assert error(tiny(plans__1__fee_per_kwh_cny=-1)).field == "plans[1].fee_per_kwh_cny"
    assert error(tiny(plans__2__monthly_rent_cny=KeyError)).field == "plans[2].monthly_rent_cny"
    assert error(tiny(economics__operator_plan=3)).field == "economics.operator_plan"
    assert error(tiny(siting__service_km=KeyError)).field == "siting.service_km"
    assert error(tiny(siting={"model": "p_median", "p": 13})).field == "siting.p"
    assert error(tiny(demand__segments=[])).field == "demand.segments"
    assert error(tiny(network={"kind": "file"})).field == "network.dataset"


def test_missing_sections_are_named() -> None:
    d = tiny()
    del d["siting"], d["sites"]
    e = error(d)
    assert "[sites]" in str(e) and "[siting]" in str(e)


def test_from_toml_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[network\n", encoding="utf-8")
    with pytest.raises(StudyError, match="not valid TOML"):
        Study.from_toml(bad)
    with pytest.raises(StudyError, match="not found"):
        Study.from_toml(tmp_path / "missing.toml")


def test_example_study_is_valid() -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / "national_car" / "study.toml"
    s = Study.from_toml(path)
    assert s.source == path
    assert s.sites.n == 60 and s.design.preset == "choco_swap" and s.pack.preset == "catl_25_lfp"
    assert {g.kind for g in s.demand.segments} == {"private", "ride_hailing", "taxi"}


def test_tiny_study_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = tmp_path / "tiny.toml"
    toml.write_text(_to_toml(TINY), encoding="utf-8")
    study = Study.from_toml(toml)
    assert study.name == "tiny" and study.source == toml
    out = tmp_path / "out"
    result = study.run(out, progress=True)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("[")]
    assert [ln[:5] for ln in lines] == ["[1/6]", "[2/6]", "[3/6]", "[4/6]", "[5/6]", "[6/6]"]
    for name in ("report.md", "map.png", "operations.png", "plans.png", "stations.csv", "cash_flows.csv"):
        f = out / name
        assert f.is_file() and f.stat().st_size > 0, name
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    text = (out / "report.md").read_text(encoding="utf-8")
    for title in ("Siting summary", "Station sizes", "Operations costs", "Simulation KPIs", "Plan comparison"):
        assert title in text
    assert result.files[0] == out / "report.md"
    assert len(result.siting.sites) == len(result.site_nodes) > 0
    assert set(result.tables) >= {"siting", "stations", "operations", "simulation", "plans", "cash_flows"}
    assert list(result.tables["plans"]["plan"]) == ["Choco-swap unlimited", "NIO-like", "custom"]
    assert result.operator.stations == len(result.siting.sites)
    assert result.operator.electricity_cost_cny_per_year == pytest.approx(365 * result.operations.costs["energy"])
    # quiet run writes the same files and prints nothing
    pm = tiny(siting={"model": "p_median", "p": 3}, operations__trucks=0, operations__time_limit=1)
    result2 = Study.from_dict(pm).run(tmp_path / "pm", progress=False)
    assert capsys.readouterr().out == ""
    assert len(result2.siting.sites) == 3
    assert (tmp_path / "pm" / "map.png").stat().st_size > 0


def _to_toml(d: dict[str, Any]) -> str:
    """A tiny TOML writer for the test fixture (tables, arrays of tables, inline tables)."""

    def val(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {val(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return repr(v)

    lines = [f"{k} = {val(v)}" for k, v in d.items() if not isinstance(v, (dict, list))]
    for k, v in d.items():
        if isinstance(v, dict):
            lines += [f"[{k}]", *(f"{kk} = {val(x)}" for kk, x in v.items())]
        elif isinstance(v, list):
            for item in v:
                lines += [f"[[{k}]]", *(f"{kk} = {val(x)}" for kk, x in item.items())]
    return "\n".join(lines) + "\n"


def test_file_network_study(tmp_path: Path) -> None:
    from swapnet.io import data_dir

    try:
        data_dir()
    except InvalidInputError:
        pytest.skip("shared data folder not found (set SWAPNET_DATA)")
    d: dict[str, Any] = {
        "network": {"kind": "file", "dataset": "SiouxFalls"},
        "demand": {"segments": [{"kind": "taxi", "vehicles": 500}]},
        "sites": {"n": 30},
        "siting": {"model": "p_median", "p": 3},
        "operations": {"time_limit": 2, "mip_gap": 0.05},
        "simulation": {"replications": 2},
    }
    with pytest.raises(StudyError, match=r"sites\.n"):  # 24 nodes: only known once the file is read
        Study.from_dict(d).run(tmp_path / "bad", progress=False)
    d["sites"]["n"] = 10
    result = Study.from_dict(d).run(tmp_path / "sf", progress=False)
    assert len(result.siting.sites) == 3
    assert (tmp_path / "sf" / "report.md").stat().st_size > 0
