"""Own-data studies: street network, stores and demand from files; new siting models and table tariffs."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from swapnet.io.datasets import data_dir
from swapnet.study import Study, StudyError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "own_data"


def _has_osm() -> bool:
    try:
        return (data_dir().parent / "osm" / "aguascalientes.osm.bz2").is_file()
    except Exception:
        return False


needs_osm = pytest.mark.skipif(not _has_osm(), reason="shared OSM extract not found")


def example(**changes: Any) -> dict[str, Any]:
    d = tomllib.loads((EXAMPLE / "study.toml").read_text(encoding="utf-8"))
    d["operations"]["time_limit"] = 2
    d["simulation"]["replications"] = 2
    for path, value in changes.items():
        sec, key = path.split("__")
        if value is KeyError:
            del d[sec][key]
        else:
            d[sec][key] = value
    return d


def write(tmp: Path, d: dict[str, Any]) -> Path:
    """The study as TOML in ``tmp`` with the example's CSVs beside it (relative paths)."""
    for f in ("stores.csv", "demand.csv", "tariff.csv"):
        shutil.copy(EXAMPLE / f, tmp / f)
    lines: list[str] = [f"name = {d['name']!r}"]
    for sec, body in d.items():
        if sec == "name":
            continue
        rows = body if isinstance(body, list) else [body]
        for row in rows:
            lines.append(f"[[{sec}]]" if isinstance(body, list) else f"[{sec}]")
            for k, v in row.items():
                lines.append(f"{k} = {_toml(v)}")
    path = tmp / "study.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(v)


def err(d: dict[str, Any], key: str) -> StudyError:
    with pytest.raises(StudyError) as info:
        Study.from_dict(d)
    assert info.value.field == key, str(info.value)
    return info.value


# ------------------------------------------------------------------ validation
def test_new_keys_validate_with_key_paths() -> None:
    err(example(network__dataset="SiouxFalls"), "network.dataset")
    err(example(network__length_unit="feet"), "network.length_unit")
    err(example(sites__path=KeyError), "sites.path")
    err(example(sites__n=5), "sites.n")
    err(example(sites__max_snap_m=0.0), "sites.max_snap_m")
    err(example(demand__path=KeyError), "demand.path")
    err(example(demand__segments=[]), "demand.segments")
    err(example(demand__trip_scale=2.0), "demand.trip_scale")  # an OD key, not a file-demand key
    err(example(siting__model="set_cover"), "siting.p")  # set_cover opens what it needs
    err(example(siting__service_km=KeyError), "siting.service_km")
    err(example(tariff__prices=[0.5] * 24), "tariff.path")  # both path and prices
    err(example(tariff__path=KeyError, tariff__prices=[0.5] * 23), "tariff.prices")
    d = example()
    d["network"] = {"kind": "city_grid", "path": "x.osm"}
    err(d, "network.path")
    study = Study.from_dict(example())
    assert study.network.path == "data:osm/aguascalientes.osm.bz2" and study.network.largest_component
    assert study.sites.kind == "file" and study.sites.max_snap_m == 500
    assert study.tariff.kind == "table"


def test_missing_file_names_the_key(tmp_path: Path) -> None:
    d = example(sites__path="nope.csv")
    study = Study.from_toml(write(tmp_path, d))
    with pytest.raises(StudyError, match="no such file") as info:
        study.run(tmp_path / "out", progress=False)
    assert info.value.field == "sites.path"


# ------------------------------------------------------------------ runs
@needs_osm
def test_example_runs_from_files_with_existing_stations(tmp_path: Path) -> None:
    study = Study.from_toml(write(tmp_path, example()))
    res = study.run(tmp_path / "out", progress=False)
    assert res.network.n_nodes > 800 and res.network.is_connected() and res.dropped_nodes > 0
    assert {"S01", "S02"} <= set(res.siting.sites) and len(res.siting.sites) == 6  # existing stores stay open
    assert res.siting.model == "mclp"
    assert res.snap is not None and float(res.snap["distance_m"].max()) <= 500
    assert res.attribution == "© OpenStreetMap contributors"
    assert res.tariff.prices[19] == pytest.approx(1.10) and res.tariff.prices[3] == pytest.approx(0.36)
    vehicles = pd.read_csv(EXAMPLE / "demand.csv")["vehicles"].sum()
    subs = sum(u.count for u in res.operator.users)
    assert subs == pytest.approx(0.5 * vehicles)  # baas_share of the file's vehicles, per segment
    out = tmp_path / "out"
    st = pd.read_csv(out / "stations.csv")
    assert st["name"].iloc[0] == "Servicio Centro" and {"lon", "lat", "batteries"} <= set(st.columns)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "outside the largest component dropped" in md and "© OpenStreetMap contributors" in md
    assert "Snap table" in md and (out / "snap.csv").is_file() and (out / "report.html").is_file()


@needs_osm
def test_set_cover_with_prices_and_snap_limit(tmp_path: Path) -> None:
    d = example(siting__model="set_cover", siting__p=KeyError, siting__service_km=1.0)
    d["tariff"] = {"kind": "table", "prices": [0.3] * 8 + [0.9] * 16}
    res = Study.from_dict({**d, "sites": {**d["sites"], "path": str(EXAMPLE / "stores.csv")},
                           "demand": {**d["demand"], "path": str(EXAMPLE / "demand.csv")}}).run(
        tmp_path / "sc", progress=False
    )  # fmt: skip
    assert res.siting.model in ("lscp", "set_cover")
    assert {"S01", "S02"} <= set(res.siting.sites)
    assert res.tariff.prices[0] == 0.3 and res.tariff.prices[23] == 0.9
    far = example(sites__max_snap_m=10.0)
    study = Study.from_toml(write(tmp_path, far))
    with pytest.raises(StudyError, match="lie farther") as info:
        study.run(tmp_path / "far", progress=False)
    assert info.value.field == "sites.max_snap_m" and "'S" in str(info.value)


@needs_osm
def test_planner_runs_it_from_the_command_line(tmp_path: Path) -> None:
    """No Python: ``swapnet study check`` and ``swapnet study run`` on the files, then the HTML report."""
    from swapnet.cli import main

    toml = write(tmp_path, example())
    assert main(["study", "check", str(toml)]) == 0
    assert main(["study", "run", str(toml), "-o", str(tmp_path / "cli"), "-q"]) == 0
    html = (tmp_path / "cli" / "report.html").read_text(encoding="utf-8")
    assert html.count('class="station"') == 6 and "Servicio Centro" in html


def _has_oakland() -> bool:
    try:
        return (data_dir().parent / "osm" / "West-Oakland.osm.bz2").is_file()
    except Exception:
        return False


@pytest.mark.skipif(not _has_oakland(), reason="shared OSM extract not found")
def test_flow_study_on_own_osm_streets(tmp_path: Path) -> None:
    d: dict[str, Any] = {
        "name": "West Oakland flows",
        "network": {"kind": "file", "path": "data:osm/West-Oakland.osm.bz2", "largest_component": True},
        "demand": {"kind": "od", "source": "gravity", "trips_per_day": 20000, "ev_share": 0.1},
        "sites": {"kind": "nodes"},
        "siting": {"model": "flow_capturing", "p": 3},
        "operations": {"time_limit": 5},
        "simulation": {"replications": 2},
    }
    res = Study.from_dict(d).run(tmp_path, progress=False)
    assert res.trips is not None and res.network.is_connected() and res.dropped_nodes > 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'class="trips"' in html and 'class="area"' not in html and html.count('class="station"') == 3
