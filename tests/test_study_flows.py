"""Flow studies: OD demand, FRLM/FCLM siting and the derived station swaps in study files."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from swapnet import ODFlows, RoadNetwork
from swapnet.siting import flow_refueling
from swapnet.study import Study, StudyError, _od_trips, flow_station_swaps, trip_swaps

ROOT = Path(__file__).resolve().parents[1]

SIOUX: dict[str, Any] = {
    "name": "tiny Sioux Falls FRLM",
    "network": {"kind": "file", "dataset": "SiouxFalls"},
    "demand": {
        "kind": "od",
        "trip_scale": 10.0,
        "ev_share": 0.05,
        "swap_share": 0.008,
        "swaps_per_trip": 1.0,
        "baas_share": 0.5,
    },
    "sites": {"kind": "nodes"},
    "siting": {"model": "flow_refueling", "range_km": 10.0, "p": 3},
    "operations": {"time_limit": 2},
    "simulation": {"replications": 2, "seed": 3},
    "solver": {"time_limit": 10},
}


def sioux(**changes: Any) -> dict[str, Any]:
    """A copy of SIOUX with ``section__key=value`` changes (``None`` deletes the key)."""
    d = copy.deepcopy(SIOUX)
    for path, value in changes.items():
        *head, last = path.split("__")
        cur: Any = d
        for k in head:
            cur = cur.setdefault(k, {})
        if value is None:
            cur.pop(last, None)
        else:
            cur[last] = value
    return d


def error(d: dict[str, Any]) -> StudyError:
    with pytest.raises(StudyError) as info:
        Study.from_dict(d)
    return info.value


# ------------------------------------------------------------------ validation
def test_flow_study_parses() -> None:
    s = Study.from_dict(SIOUX)
    assert s.demand.kind == "od" and s.demand.segments == ()
    assert s.siting.is_flow and s.siting.range_km == 10.0 and s.siting.p == 3
    assert s.demand.trip_factor == pytest.approx(10.0 * 0.05 * 0.008)
    assert s.sites.kind == "nodes" and s.sites.n is None


def test_unknown_new_keys_have_path_and_suggestion() -> None:
    e = error(sioux(demand__ev_shar=0.1))
    assert e.field == "demand.ev_shar" and "did you mean 'ev_share'?" in str(e)
    e = error(sioux(siting__rang_km=10.0))
    assert e.field == "siting.rang_km" and "did you mean 'range_km'?" in str(e)
    e = error(sioux(network__dataset="SiouxFall"))
    assert e.field == "network.dataset" and "did you mean 'SiouxFalls'?" in str(e)
    e = error(sioux(siting__model="flow_refuelling"))
    assert e.field == "siting.model" and "did you mean 'flow_refueling'?" in str(e)


def test_impossible_values_are_rejected_with_their_path() -> None:
    assert error(sioux(demand__ev_share=1.5)).field == "demand.ev_share"
    assert "at most 1" in str(error(sioux(demand__ev_share=1.5)))
    assert error(sioux(demand__ev_share=0)).field == "demand.ev_share"
    assert error(sioux(demand__ev_share=None)).field == "demand.ev_share"  # required for od
    assert error(sioux(demand__swap_share=-0.1)).field == "demand.swap_share"
    assert error(sioux(demand__trip_scale=0)).field == "demand.trip_scale"
    assert error(sioux(demand__profile="rural")).field == "demand.profile"
    assert error(sioux(demand__swaps_per_trip=0)).field == "demand.swaps_per_trip"
    assert error(sioux(demand__kind="trips")).field == "demand.kind"
    assert error(sioux(siting__range_km=None)).field == "siting.range_km"
    assert error(sioux(siting__range_km=0.0)).field == "siting.range_km"
    assert error(sioux(siting__p=None)).field == "siting.p"
    assert error(sioux(siting__method="exact")).field == "siting.method"
    # the range is only a FRLM key
    assert error(sioux(siting__model="flow_capturing")).field == "siting.range_km"
    assert error(sioux(sites__n=5)).field == "sites.n"  # every node is a candidate


def test_keys_of_the_other_demand_kind_are_rejected() -> None:
    e = error(sioux(demand__segments=[{"kind": "private", "vehicles": 10}]))
    assert e.field == "demand.segments" and 'kind = "od"' in str(e)
    e = error(sioux(demand__noise=0.3))
    assert e.field == "demand.noise" and 'not used when kind = "od"' in str(e)
    d = sioux(demand={"segments": [{"kind": "taxi", "vehicles": 10}], "ev_share": 0.1})
    e = error(d)
    assert e.field == "demand.ev_share" and 'not used when kind = "segments"' in str(e)
    assert error(sioux(demand__trips_per_day=1000.0)).field == "demand.trips_per_day"  # dataset source
    assert error(sioux(demand__source="gravity")).field == "demand.trips_per_day"  # gravity needs a total


def test_cross_section_checks_before_solving() -> None:
    # a flow model needs a dataset network (its trips' paths) ...
    grid = sioux(network={"kind": "city_grid", "rows": 5, "cols": 5})
    e = error(grid)
    assert e.field == "siting.model" and "dataset" in str(e)
    # ... with an OD table, unless the flows are built by gravity
    e = error(sioux(network__dataset="DC-NY-BOS"))
    assert e.field == "demand.source" and "no OD table" in str(e)
    Study.from_dict(sioux(network__dataset="DC-NY-BOS", demand__source="gravity", demand__trips_per_day=1e5))
    # ... OD demand, and stations at network nodes
    e = error(sioux(demand={"segments": [{"kind": "taxi", "vehicles": 10}]}))
    assert e.field == "siting.model" and 'demand.kind = "od"' in str(e)
    e = error(sioux(sites={"kind": "service_stores", "n": 10}))
    assert e.field == "sites.kind"
    # OD trips need a flow model
    e = error(sioux(siting={"model": "p_median", "p": 3}))
    assert e.field == "demand.kind"
    # p above the candidates of a grid is caught on parsing
    e = error(
        sioux(
            network={"kind": "city_grid", "rows": 2, "cols": 2},
            siting__model="flow_capturing",
            siting__range_km=None,
            siting__p=5,
        )
    )
    assert e.field == "siting.p"


def test_new_segment_and_economics_keys() -> None:
    base = {
        "network": {"rows": 5, "cols": 5},
        "demand": {"segments": [{"kind": "taxi", "vehicles": 100, "baas_share": 0.25}]},
        "sites": {"n": 5},
        "siting": {"model": "p_median", "p": 2},
        "economics": {"vehicle_packs": True},
    }
    s = Study.from_dict(base)
    assert s.demand.segments[0].baas_share == 0.25 and s.economics.vehicle_packs is True
    bad = copy.deepcopy(base)
    bad["demand"]["segments"][0]["baas_share"] = 1.2
    assert error(bad).field == "demand.segments[0].baas_share"
    bad = copy.deepcopy(base)
    bad["economics"]["vehicle_packs"] = 1
    assert error(bad).field == "economics.vehicle_packs"
    bad = copy.deepcopy(base)
    bad["sites"] = {"kind": "service_stores"}
    assert error(bad).field == "sites.n"


def test_example_flow_studies_are_valid() -> None:
    sf = Study.from_toml(ROOT / "examples" / "sioux_falls" / "study.toml")
    assert sf.siting.model == "flow_refueling" and sf.network.dataset == "SiouxFalls"
    kr = Study.from_toml(ROOT / "examples" / "korea_corridor" / "study.toml")
    assert kr.network.dataset == "KoreanExpressway" and kr.demand.min_trip_km == 100.0
    nc = Study.from_toml(ROOT / "examples" / "national_car" / "study.toml")
    assert all(g.baas_share == 1.0 for g in nc.demand.segments) and nc.economics.vehicle_packs
    assert nc.operations.periods == 96


# ------------------------------------------------------------------ the swaps rule
def test_trip_swaps_rule() -> None:
    L = [2.0, 5.0, 6.0, 10.0, 12.0]
    assert trip_swaps(L, range_km=10.0, swaps_per_trip=None).tolist() == [0.5, 0.5, 1.0, 1.0, 1.5]
    assert trip_swaps(L, range_km=None, swaps_per_trip=None).tolist() == [1.0] * 5
    assert trip_swaps(L, range_km=10.0, swaps_per_trip=0.7).tolist() == [0.7] * 5


def test_flow_station_swaps_by_hand() -> None:
    # corridor 0 - 1 - 2 - 3 - 4, 5 km links; FRLM with R = 10 and p = 2 opens 1 and 3
    net = RoadNetwork.from_edges([(i, i + 1, 5.0) for i in range(4)])
    flows = ODFlows([0, 0, 2, 0], [2, 4, 4, 1], [10.0, 4.0, 6.0, 3.0])
    plan = flow_refueling(net, flows, range_km=10.0, p=2).verify()
    assert plan.sites == (1, 3)
    tab = flow_station_swaps(plan, [1.0, 2.0, 1.0, 1.0])
    # 0->2 (10 trips, 1 swap) at 1; 0->4 (4 trips x 2 swaps) split over 1 and 3; 2->4 (6) at 3; 0->1 at 1
    assert tab["swaps_per_day"].tolist() == pytest.approx([10.0 + 4.0 + 3.0, 4.0 + 6.0])
    assert tab["flows"].tolist() == [3, 2]
    assert tab["trips_per_day"].tolist() == pytest.approx([17.0, 10.0])
    assert tab.attrs["refuelled_trips"] == pytest.approx(plan.objective) == pytest.approx(23.0)
    assert tab.attrs["swaps"] == pytest.approx(tab["swaps_per_day"].sum())
    with pytest.raises(StudyError):
        flow_station_swaps(plan, [1.0, 2.0])


def test_gravity_trips_scale_to_the_total(data: Path) -> None:
    from swapnet.io import load_network

    s = Study.from_dict(
        sioux(
            demand__source="gravity", demand__trips_per_day=50_000.0, demand__trip_scale=None, demand__min_trip_km=6.0
        )
    )
    net, table = load_network("SiouxFalls")
    flows, lengths, all_trips, short = _od_trips(s, net, table)
    assert all_trips == pytest.approx(50_000.0)
    assert flows.total + short == pytest.approx(50_000.0 * 0.05 * 0.008)
    assert (lengths >= 6.0).all() and short > 0
    assert len(flows) == len(lengths) and all(o != d for o, d in zip(flows.origins, flows.destinations, strict=True))


# ------------------------------------------------------------------ end to end
def _refuelable(path_km: np.ndarray, open_: np.ndarray, R: float) -> bool:
    """Independent round-trip rule: stations at path positions ``c``; first <= R/2, gaps <= R, last gap <= R/2."""
    c = path_km[open_]
    if c.size == 0:
        return False
    tol = 1e-9 * R
    L = float(path_km[-1])
    return bool(c[0] <= R / 2 + tol and L - c[-1] <= R / 2 + tol and (np.diff(c) <= R + tol).all())


def test_sioux_falls_flow_study_end_to_end(data: Path, tmp_path: Path) -> None:
    study = Study.from_dict(SIOUX)
    res = study.run(tmp_path, progress=False)
    plan, tr, net = res.siting, res.trips, res.network
    assert tr is not None
    # p stations, all at network nodes
    assert len(plan.sites) == 3 and res.site_nodes == plan.sites
    # the flows offered: the whole table x trip_scale x ev_share x swap_share (no length filter)
    assert tr.all_trips_per_day == pytest.approx(3_606_000.0)
    assert tr.trips_per_day == pytest.approx(3_606_000.0 * 0.05 * 0.008)
    # the refuelled volume equals the verified objective and an independent round-trip check
    a = plan.assignment
    assert tr.refuelled_trips_per_day == pytest.approx(plan.objective)
    assert a.loc[a["covered"], "volume"].sum() == pytest.approx(plan.objective)
    paths = net.shortest_paths(tr.flows.origins, tr.flows.destinations)
    opened = set(plan.sites)
    walk = []
    for p in paths:
        idx = net.index_of(p)
        km = np.concatenate([[0.0], np.cumsum(net.edge_lengths(idx[:-1], idx[1:]))])
        walk.append(_refuelable(km, np.asarray([n in opened for n in p]), 10.0))
    assert np.asarray(walk).tolist() == a["covered"].tolist()
    assert 0 < plan.objective < tr.trips_per_day  # partial coverage at this range
    # station swaps: refuelled trips x swaps per trip (1), and the operations plan gets exactly them
    sw = tr.station_swaps
    assert sw["swaps_per_day"].sum() == pytest.approx(plan.objective * 1.0)
    assert res.demand.total == pytest.approx(sw["swaps_per_day"].sum())
    st = res.tables["stations"].set_index("site")
    assert st.loc[list(plan.sites), "ops_demand"].to_numpy() == pytest.approx(sw["swaps_per_day"].to_numpy())
    # simulated requests are Poisson around the derived swaps (2 replications, seeded)
    sim = res.simulation.network_kpis()
    assert abs(sim.loc["requests", "mean"] - res.demand.total) < 5 * math.sqrt(res.demand.total)
    # subscribers: baas_share x swaps per month / swaps per private subscriber and month (4.5)
    (users,) = res.operator.users
    assert users.count == pytest.approx(0.5 * res.demand.total * 30.4 / 4.5)
    # report
    names = {f.name for f in res.files}
    assert {"report.md", "map.png", "flows.png", "flows.csv", "stations.csv"} <= names
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Trips and refuelling" in text and "refuelled" in text


def test_too_many_stations_for_the_dataset_is_a_study_error(data: Path, tmp_path: Path) -> None:
    with pytest.raises(StudyError) as info:
        Study.from_dict(sioux(siting__p=30)).run(tmp_path, progress=False)
    assert info.value.field == "siting.p" and "(24)" in str(info.value)


def test_baas_share_and_vehicle_packs_in_the_operator_case(tmp_path: Path) -> None:
    d = {
        "network": {"rows": 5, "cols": 5, "seed": 1},
        "demand": {
            "segments": [{"kind": "taxi", "vehicles": 200, "baas_share": 0.25}, {"kind": "private", "vehicles": 400}]
        },
        "sites": {"n": 6, "seed": 1},
        "siting": {"model": "p_median", "p": 2},
        "operations": {"time_limit": 2},
        "simulation": {"replications": 2},
        "economics": {"vehicle_packs": True},
        "solver": {"time_limit": 5},
    }
    res = Study.from_dict(d).run(tmp_path, progress=False)
    counts = [u.count for u in res.operator.users]
    assert counts == pytest.approx([50.0, 400.0])
    assert res.operator.batteries_per_station == res.design.batteries + math.ceil(450 / 2)
