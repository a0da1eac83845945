"""Tests of the flow-capturing (FCLM) and flow-refuelling (FRLM) siting models.

Brute-force optima are computed here with an independent fuel walk (a plain
simulation of the round trip, not the model's cover sets).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np
import pytest
from _flow_cases import line_with_chords
from hypothesis import given, settings
from hypothesis import strategies as st

from swapnet import InvalidInputError, ODFlows, RoadNetwork, UnknownNodeError
from swapnet.errors import VerificationError
from swapnet.optim import SolveOptions, SolveStatus, solve_pyomo
from swapnet.siting import flow_capturing, flow_refueling
from swapnet.siting.flow import _benders, _instance, _reduce, _solve

# ------------------------------------------------------------------------ helpers


def line(*lengths: float) -> RoadNetwork:
    """Nodes 0..n on a line with the given edge lengths."""
    return RoadNetwork.from_edges([(i, i + 1, float(w)) for i, w in enumerate(lengths)])


def with_paths(net: RoadNetwork, flows: ODFlows) -> ODFlows:
    return flows if flows.paths is not None else flows.with_shortest_paths(net)


def walk_ok(net: RoadNetwork, path: Sequence[Hashable], opened: np.ndarray, R: float) -> np.ndarray:
    """Round-trip fuel walk for one path against many station sets at once.

    ``opened`` is ``(n_sets, n_nodes)``; returns one bool per station set.
    """
    idx = net.index_of(path)
    lens = net.edge_lengths(idx[:-1], idx[1:])
    cyc = np.concatenate([idx, idx[-2::-1]])
    clen = np.concatenate([lens, lens[::-1]])
    tol = R * 1e-9
    fuel = np.full(opened.shape[0], R / 2)
    alive = np.ones(opened.shape[0], dtype=bool)
    used = np.zeros(opened.shape[0], dtype=bool)
    for i, d in enumerate(clen):
        here = opened[:, cyc[i]]
        fuel = np.where(here, R, fuel)
        used |= here
        fuel = fuel - d
        alive &= fuel >= -tol
    return alive & used & (opened[:, cyc[0]] | (fuel >= R / 2 - tol))


def brute(
    net: RoadNetwork,
    flows: ODFlows,
    p: int,
    R: float | None,
    candidates: Sequence[Hashable] | None = None,
    fixed: Sequence[Hashable] = (),
) -> float:
    """Best objective over all p-subsets of candidates (R=None: flow capturing)."""
    flows = with_paths(net, flows)
    assert flows.paths is not None
    cands = list(candidates) if candidates is not None else sorted({v for pth in flows.paths for v in pth}, key=str)
    free = [c for c in cands if c not in fixed]
    subsets = list(itertools.combinations(free, p - len(fixed)))
    opened = np.zeros((len(subsets), net.n_nodes), dtype=bool)
    for r, s in enumerate(subsets):
        opened[r, net.index_of([*s, *fixed])] = True
    total = np.zeros(len(subsets))
    for path, vol in zip(flows.paths, flows.volumes, strict=True):
        ok = opened[:, net.index_of(path)].any(axis=1) if R is None else walk_ok(net, path, opened, R)
        total += vol * ok
    return float(total.max())


@st.composite
def instances(draw: st.DrawFn) -> tuple[RoadNetwork, ODFlows, float, int]:
    n = draw(st.integers(3, 7))
    edges = [(i, i + 1, float(draw(st.integers(1, 9)))) for i in range(n - 1)]
    for _ in range(draw(st.integers(0, n))):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if a != b:
            edges.append((a, b, float(draw(st.integers(1, 9)))))
    net = RoadNetwork.from_edges(edges)
    k = draw(st.integers(1, 7))
    od = [
        draw(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda t: t[0] != t[1])) for _ in range(k)
    ]
    vols = [float(draw(st.integers(1, 20))) for _ in range(k)]
    flows = ODFlows([o for o, _ in od], [d for _, d in od], vols).with_shortest_paths(net)
    R = float(draw(st.integers(2, 30)))
    assert flows.paths is not None
    on_paths = len({v for pth in flows.paths for v in pth})
    p = draw(st.integers(1, min(3, on_paths)))
    return net, flows, R, p


@st.composite
def walk_instances(draw: st.DrawFn) -> tuple[RoadNetwork, ODFlows, float, int]:
    """Explicit paths that are random walks (nodes may repeat), on networks with some zero-length edges."""
    n = draw(st.integers(3, 6))
    edges = [(i, i + 1, float(draw(st.integers(0, 6)))) for i in range(n - 1)]
    edges += [(0, n - 1, float(draw(st.integers(1, 6))))]
    net = RoadNetwork.from_edges(edges)
    nbrs: dict[int, list[int]] = {i: [] for i in range(n)}
    for a, b, _ in edges:
        nbrs[a].append(b)
        nbrs[b].append(a)
    paths = []
    for _ in range(draw(st.integers(1, 5))):
        walk = [draw(st.integers(0, n - 1))]
        for _ in range(draw(st.integers(1, 6))):
            walk.append(draw(st.sampled_from(sorted(nbrs[walk[-1]]))))
        if walk[-1] == walk[0]:
            walk.append(draw(st.sampled_from(sorted(nbrs[walk[-1]]))))
        paths.append(tuple(walk))
    vols = [float(draw(st.integers(1, 9))) for _ in paths]
    flows = ODFlows([w[0] for w in paths], [w[-1] for w in paths], vols, paths=paths)
    on_paths = len({v for w in paths for v in w})
    return net, flows, float(draw(st.integers(2, 20))), draw(st.integers(1, min(3, on_paths)))


def networks_dir() -> Path | None:
    """The shared ``networks`` data folder, or ``None`` when it is absent."""
    found: list[Path] = []
    try:
        from swapnet.io.datasets import data_dir

        found.append(Path(data_dir()))
    except (ImportError, InvalidInputError):  # no swapnet.io.datasets, or no data folder found
        pass
    found += [base / "shared" / "data" for base in Path(__file__).resolve().parents]
    for d in found:
        for cand in (d, d / "networks"):
            if (cand / "SiouxFalls").is_dir():
                return cand
    return None


# ------------------------------------------------------------------ hand-solved


def test_range_decides_coverage_on_a_line() -> None:
    net = line(5, 5)  # 0 -5- 1 -5- 2
    flows = ODFlows([0], [2], [7.0])
    plan = flow_refueling(net, flows, 10.0, 1).verify()
    assert plan.sites == (1,)
    assert plan.objective == 7.0 and plan.covered == 7.0
    assert plan.assignment["covered"].tolist() == [True]
    assert plan.assignment["stations"].tolist() == [(1,)]
    # just below 10 one station cannot do it: every gap of the round trip is 10
    short = flow_refueling(net, flows, 9.99, 1).verify()
    assert short.objective == 0.0
    assert flow_refueling(net, flows, 9.99, 2).verify().objective == 0.0
    three = flow_refueling(net, flows, 9.99, 3).verify()
    assert three.objective == 7.0 and three.sites == (0, 1, 2)


@pytest.mark.parametrize(("R", "ok"), [(10.0, True), (10.0 * (1 - 1e-7), False), (12.0, True)])
def test_half_range_rule_at_the_origin_boundary(R: float, ok: bool) -> None:
    # the only candidate is node 1, exactly 5 from the origin and 4 from the destination
    net = line(5, 4)
    flows = ODFlows([0], [2], [3.0])
    plan = flow_refueling(net, flows, R, 1, candidates=[1]).verify()
    assert plan.objective == (3.0 if ok else 0.0)
    assert bool(plan.assignment["covered"].iloc[0]) is ok


@pytest.mark.parametrize(("R", "ok"), [(9.0, True), (9.0 * (1 - 1e-7), False)])
def test_stations_at_both_ends_need_the_full_range_between_them(R: float, ok: bool) -> None:
    net = line(5, 4)
    flows = ODFlows([0], [2], [1.0])
    plan = flow_refueling(net, flows, R, 2, candidates=[0, 2]).verify()
    assert plan.objective == (1.0 if ok else 0.0)


def test_an_arc_longer_than_the_range_is_never_covered() -> None:
    net = line(3, 11, 3)
    flows = ODFlows([0, 0], [1, 3], [2.0, 5.0])
    plan = flow_refueling(net, flows, 10.0, 4).verify()
    assert plan.objective == 2.0
    assert plan.details["n_flows_coverable"] == 1


def test_only_stations_on_the_path_count() -> None:
    # node 9 is a spur next to the origin: close to the path but not on it
    net = RoadNetwork.from_edges([(0, 1, 4.0), (1, 2, 4.0), (0, 9, 0.5)])
    flows = ODFlows([0], [2], [1.0])
    assert flow_refueling(net, flows, 100.0, 1, candidates=[9]).verify().objective == 0.0
    assert flow_capturing(net, flows, 1, candidates=[9]).verify().objective == 0.0
    assert flow_refueling(net, flows, 100.0, 1, candidates=[1, 9]).verify().objective == 1.0


def test_explicit_paths_are_used() -> None:
    # the shortest path 0-3 is direct; the given path detours through 1 and 2
    net = RoadNetwork.from_edges([(0, 3, 6.0), (0, 1, 3.0), (1, 2, 3.0), (2, 3, 3.0)])
    given_path = ODFlows([0], [3], [1.0], paths=[(0, 1, 2, 3)])
    shortest = ODFlows([0], [3], [1.0])
    assert flow_capturing(net, given_path, 1, candidates=[1]).verify().objective == 1.0
    assert flow_capturing(net, shortest, 1, candidates=[1]).verify().objective == 0.0
    # round trip 18 with R=9: stations at 1 and 2 (3 from the ends, 3 apart) refuel the detour
    assert flow_refueling(net, given_path, 9.0, 2).verify().objective == 1.0


def test_fclm_hand_solved() -> None:
    # a star: centre 0 with leaves 1..4; flows between leaves all pass the centre
    net = RoadNetwork.from_edges([(0, k, 1.0) for k in range(1, 5)])
    flows = ODFlows([1, 2, 3, 1], [2, 3, 4, 4], [1.0, 2.0, 4.0, 8.0])
    plan = flow_capturing(net, flows, 1).verify()
    assert plan.sites == (0,) and plan.objective == 15.0
    # without the centre: leaf 4 captures 4 + 8 = 12, the best single leaf
    plan = flow_capturing(net, flows, 1, candidates=[1, 2, 3, 4]).verify()
    assert plan.sites == (4,) and plan.objective == 12.0
    # leaves 2 and 4 (or 1 and 3) capture everything
    assert flow_capturing(net, flows, 2, candidates=[1, 2, 3, 4]).verify().objective == 15.0


def test_fclm_single_node_flow_is_captured_at_its_node() -> None:
    net = line(1, 1)
    flows = ODFlows([1, 0], [1, 2], [5.0, 1.0])
    plan = flow_capturing(net, flows, 1, candidates=[0, 1]).verify()
    assert plan.sites == (1,) and plan.objective == 6.0


def test_fixed_sites_count_towards_p() -> None:
    net = line(5, 5, 5, 5)
    flows = ODFlows([0, 2], [2, 4], [1.0, 10.0])
    plan = flow_refueling(net, flows, 10.0, 1, fixed=[1]).verify()
    assert plan.sites == (1,) and plan.objective == 1.0
    plan = flow_refueling(net, flows, 10.0, 2, fixed=[1]).verify()
    assert plan.sites == (1, 3) and plan.objective == 11.0


def test_budget_with_site_costs() -> None:
    net = line(5, 5, 5, 5)
    flows = ODFlows([0, 2], [2, 4], [1.0, 10.0])
    # node 3 serves the big flow but costs 5; nodes 2 and 4 together also do (cost 2+2)
    costs = [1.0, 1.0, 2.0, 5.0, 2.0]
    plan = flow_refueling(net, flows, 10.0, budget=4.0, site_costs=costs).verify()
    assert plan.objective == 10.0 and set(plan.sites) == {2, 4}
    plan = flow_refueling(net, flows, 10.0, budget=5.0, site_costs=costs).verify()
    assert plan.objective == 11.0
    greedy = flow_refueling(net, flows, 10.0, budget=5.0, site_costs=costs, method="greedy").verify()
    assert greedy.objective <= plan.objective
    assert sum(costs[s] for s in greedy.sites) <= 5.0


def test_zero_volume_and_uncoverable_flows_are_reported() -> None:
    net = line(5, 5, 20)
    flows = ODFlows([0, 0, 0], [2, 2, 3], [0.0, 2.0, 1.0])
    plan = flow_refueling(net, flows, 10.0, 1).verify()
    a = plan.assignment
    assert list(a.columns[:5]) == ["origin", "destination", "volume", "covered", "stations"]
    assert a["covered"].tolist() == [True, True, False]
    assert plan.objective == 2.0
    assert plan.details["n_flows"] == 3 and plan.details["n_flows_after_merge"] == 1
    greedy = flow_refueling(net, flows, 10.0, 1, method="greedy").verify()
    for key in ("n_flows", "n_flows_after_merge", "n_cover_sets", "rows", "cols", "nonzeros", "range"):
        assert key in plan.details and key in greedy.details
    assert plan.details["range"] == 10.0 and plan.details["rows"] >= 2


def test_identical_flows_merge() -> None:
    net = line(4, 4, 4)
    flows = ODFlows([0, 3, 0], [3, 0, 3], [1.0, 2.0, 3.0])  # the reverse trip has the same round trip
    plan = flow_refueling(net, flows, 8.0, 2).verify()
    assert plan.details["n_flows_after_merge"] == 1
    assert plan.objective == 6.0


# ------------------------------------------------------------------ brute force


@settings(max_examples=25, derandomize=True, deadline=None)
@given(instances())
def test_frlm_matches_brute_force(inst: tuple[RoadNetwork, ODFlows, float, int]) -> None:
    net, flows, R, p = inst
    plan = flow_refueling(net, flows, R, p).verify()
    assert plan.status == SolveStatus.OPTIMAL
    assert plan.objective == pytest.approx(brute(net, flows, p, R))
    greedy = flow_refueling(net, flows, R, p, method="greedy").verify()
    assert greedy.status == SolveStatus.FEASIBLE and np.isnan(greedy.bound)
    assert greedy.objective <= plan.objective + 1e-9
    assert plan.bound >= plan.objective - 1e-6


@settings(max_examples=25, derandomize=True, deadline=None)
@given(instances())
def test_fclm_matches_brute_force(inst: tuple[RoadNetwork, ODFlows, float, int]) -> None:
    net, flows, _, p = inst
    plan = flow_capturing(net, flows, p).verify()
    assert plan.objective == pytest.approx(brute(net, flows, p, None))
    greedy = flow_capturing(net, flows, p, method="greedy").verify()
    assert greedy.objective <= plan.objective + 1e-9


@settings(max_examples=25, derandomize=True, deadline=None)
@given(walk_instances())
def test_walk_paths_match_brute_force(inst: tuple[RoadNetwork, ODFlows, float, int]) -> None:
    net, flows, R, p = inst
    plan = flow_refueling(net, flows, R, p).verify()
    assert plan.objective == pytest.approx(brute(net, flows, p, R))
    assert flow_capturing(net, flows, p).verify().objective == pytest.approx(brute(net, flows, p, None))


@settings(max_examples=15, derandomize=True, deadline=None)
@given(instances(), st.booleans())
def test_decomposition_path_matches_brute_force(inst: tuple[RoadNetwork, ODFlows, float, int], fclm: bool) -> None:
    # the LP-bound + restricted + reduced-cost fixing + MILP strategy used for large instances, forced on small ones
    net, flows, R, p = inst
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_solve, "_LARGE_PAIRS", -1)
        plan = flow_capturing(net, flows, p) if fclm else flow_refueling(net, flows, R, p)
    plan.verify()
    assert plan.details["strategy"] == "lp-bound+restricted+fixing+milp"
    assert plan.status == SolveStatus.OPTIMAL
    assert plan.objective == pytest.approx(brute(net, flows, p, None if fclm else R))
    assert plan.details["lp_bound"] >= plan.objective - 1e-6


@settings(max_examples=15, derandomize=True, deadline=None)
@given(instances(), st.integers(0, 10))
def test_frlm_with_fixed_site_matches_brute_force(inst: tuple[RoadNetwork, ODFlows, float, int], j: int) -> None:
    net, flows, R, p = inst
    assert flows.paths is not None
    on_path = sorted({v for pth in flows.paths for v in pth}, key=str)
    fixed = [on_path[j % len(on_path)]]
    p = max(p, 1)
    plan = flow_refueling(net, flows, R, p, fixed=fixed).verify()
    assert fixed[0] in plan.sites
    assert plan.objective == pytest.approx(brute(net, flows, p, R, fixed=fixed))


@settings(max_examples=15, derandomize=True, deadline=None)
@given(instances())
def test_monotone_in_p_and_range(inst: tuple[RoadNetwork, ODFlows, float, int]) -> None:
    net, flows, R, _ = inst
    m = len({v for pth in flows.paths or () for v in pth})
    by_p = [flow_refueling(net, flows, R, p).objective for p in range(1, min(m, 4) + 1)]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(by_p))
    by_r = [flow_refueling(net, flows, r, 2 if m >= 2 else 1).objective for r in (R / 2, R, 2 * R, 4 * R)]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(by_r))
    fc = [flow_capturing(net, flows, p).objective for p in range(1, min(m, 4) + 1)]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(fc))
    # capturing is the limit of refuelling as the range grows
    assert flow_refueling(net, flows, 1e6, 1).objective == pytest.approx(fc[0])


# ----------------------------------------------------------------- capacitated


def test_capacitated_hand_solved() -> None:
    net = line(5, 5)
    flows = ODFlows([0], [2], [10.0])
    # round trip 20 with R=10: 2 swaps per trip, both possible at node 1 (passed twice)
    plan = flow_refueling(net, flows, 10.0, 1, capacity=12.0).verify()
    assert plan.sites == (1,)
    assert plan.objective == pytest.approx(6.0)
    assert plan.assignment["served"].iloc[0] == pytest.approx(0.6)
    assert plan.details["loads"][1] == pytest.approx(12.0)
    big = flow_refueling(net, flows, 10.0, 1, capacity=100.0).verify()
    assert big.objective == pytest.approx(10.0)
    # one swap per trip: capacity 6 serves 6 vehicles
    one = flow_refueling(net, flows, 10.0, 1, capacity=6.0, swaps_per_trip=1).verify()
    assert one.objective == pytest.approx(6.0)


def test_capacitated_splits_swaps_over_stations() -> None:
    net = line(5, 5, 5, 5)
    flows = ODFlows([0], [4], [10.0])  # round trip 40 at R=10: 4 swaps per trip
    # only 1, 2, 3 may host: 3 x 12 = 36 swaps a day for the 40 needed, so 90% is served
    plan = flow_refueling(net, flows, 10.0, 3, capacity=12.0, candidates=[1, 2, 3]).verify()
    assert plan.sites == (1, 2, 3)
    assert plan.objective == pytest.approx(9.0)
    sw = plan.details["swaps"]
    assert sw["swaps"].sum() == pytest.approx(36.0)
    assert sw.groupby("station")["swaps"].sum().to_numpy() == pytest.approx([12.0, 12.0, 12.0])
    # the swap table is checked: moving swaps to a closed station is caught
    bad = sw.copy()
    bad.loc[bad.index[0], "station"] = 7
    tampered = dataclasses.replace(plan, details={**plan.details, "swaps": bad})
    with pytest.raises(VerificationError, match="unknown stations"):
        tampered.verify()
    over = sw.copy()
    over.loc[over.index[0], "swaps"] += 1.0
    with pytest.raises(VerificationError, match="capacity"):
        dataclasses.replace(plan, details={**plan.details, "swaps": over}).verify()
    greedy = flow_refueling(net, flows, 10.0, 3, capacity=12.0, candidates=[1, 2, 3], method="greedy").verify()
    assert greedy.objective <= plan.objective + 1e-9


@settings(max_examples=10, derandomize=True, deadline=None)
@given(instances())
def test_ample_capacity_equals_uncapacitated(inst: tuple[RoadNetwork, ODFlows, float, int]) -> None:
    net, flows, R, p = inst
    free = flow_refueling(net, flows, R, p).objective
    capped = flow_refueling(net, flows, R, p, capacity=1e6).verify()
    assert capped.objective == pytest.approx(free)


# ------------------------------------------------------------------- pyomo, verify


def small_instance() -> tuple[RoadNetwork, ODFlows]:
    rng = np.random.default_rng(7)
    edges = [(i, i + 1, float(rng.integers(2, 8))) for i in range(7)] + [(0, 4, 9.0), (2, 6, 8.0), (1, 7, 12.0)]
    net = RoadNetwork.from_edges(edges)
    o = rng.integers(0, 8, 12)
    d = (o + rng.integers(1, 8, 12)) % 8
    return net, ODFlows(o.tolist(), d.tolist(), rng.integers(1, 30, 12).astype(float))


@pytest.mark.parametrize("kind", ["frlm", "fclm", "capacitated"])
def test_pyomo_form_has_the_same_optimum(kind: str) -> None:
    net, flows = small_instance()
    if kind == "frlm":
        plan = flow_refueling(net, flows, 14.0, 2)
    elif kind == "fclm":
        plan = flow_capturing(net, flows, 2)
    else:
        plan = flow_refueling(net, flows, 14.0, 2, capacity=30.0)
    obj, values = solve_pyomo(plan.to_pyomo())
    assert obj == pytest.approx(plan.objective, rel=1e-6)
    assert sum(values["x"]) == pytest.approx(2.0)
    greedy = flow_refueling(net, flows, 14.0, 2, method="greedy")
    assert solve_pyomo(greedy.to_pyomo())[0] == pytest.approx(flow_refueling(net, flows, 14.0, 2).objective)


def test_verify_catches_tampering() -> None:
    net, flows = small_instance()
    plan = flow_refueling(net, flows, 14.0, 2)
    assert plan.objective > 0
    assert plan.verify() is plan
    with pytest.raises(VerificationError, match="objective"):
        dataclasses.replace(plan, objective=plan.objective + 1).verify()
    others = tuple(c for c in range(8) if c not in plan.sites)[:2]
    with pytest.raises(VerificationError):
        dataclasses.replace(plan, sites=others).verify()
    with pytest.raises(VerificationError, match="sites open"):
        dataclasses.replace(plan, sites=plan.sites[:1]).verify()
    a = plan.assignment.copy()
    a["covered"] = ~a["covered"]
    with pytest.raises(VerificationError, match="covered"):
        dataclasses.replace(plan, assignment=a).verify()
    fixed = flow_refueling(net, flows, 14.0, 2, fixed=[5])
    with pytest.raises(VerificationError, match="fixed site 5"):
        dataclasses.replace(fixed, sites=(*tuple(s for s in fixed.sites if s != 5), 99)).verify()
    cap = flow_refueling(net, flows, 14.0, 2, capacity=20.0).verify()
    assert cap.objective > 0
    served = cap.assignment.copy()
    served["served"] = served["served"] * 0.5
    with pytest.raises(VerificationError, match="swaps_per_trip"):
        dataclasses.replace(cap, assignment=served, objective=cap.objective / 2, covered=cap.objective / 2).verify()


def test_time_limit_returns_the_best_solution_with_its_gap() -> None:
    rng = np.random.default_rng(3)
    net, flows = line_with_chords(rng, 60, 90, (3, 15), 1500)
    plan = flow_refueling(net, flows, 12.0, 8, options=SolveOptions(time_limit=0.05)).verify()
    assert plan.status in (SolveStatus.TIME_LIMIT, SolveStatus.OPTIMAL)
    greedy = flow_refueling(net, flows, 12.0, 8, method="greedy")
    assert plan.objective >= greedy.objective - 1e-9
    if plan.status == SolveStatus.TIME_LIMIT:
        assert plan.gap >= 0 and plan.bound >= plan.objective - 1e-6


# ------------------------------------------------------------------ bad inputs


def test_bad_inputs() -> None:
    net = line(5, 5)
    flows = ODFlows([0], [2], [1.0])
    with pytest.raises(InvalidInputError, match="p=4"):
        flow_refueling(net, flows, 10.0, 4)
    with pytest.raises(InvalidInputError, match="p=None"):
        flow_refueling(net, flows, 10.0)
    with pytest.raises(InvalidInputError, match="budget"):
        flow_refueling(net, flows, 10.0, budget=1.0, fixed=[0, 1])
    with pytest.raises(InvalidInputError, match="budget"):
        flow_capturing(net, flows, 2, budget=1.0)
    with pytest.raises(UnknownNodeError, match="fixed"):
        flow_refueling(net, flows, 10.0, 1, fixed=[42])
    with pytest.raises(UnknownNodeError, match="fixed"):
        flow_refueling(net, flows, 10.0, 1, fixed=[0], candidates=[1, 2])
    with pytest.raises(UnknownNodeError, match="candidates"):
        flow_refueling(net, flows, 10.0, 1, candidates=[1, 77])
    with pytest.raises(InvalidInputError, match="candidates"):
        flow_capturing(net, flows, 1, candidates=[1, 1])
    for bad_r in (0.0, -3.0, float("nan"), float("inf")):
        with pytest.raises(InvalidInputError, match="range_km"):
            flow_refueling(net, flows, bad_r, 1)
    with pytest.raises(UnknownNodeError, match="origins"):
        flow_refueling(net, ODFlows([9], [2], [1.0]), 10.0, 1)
    with pytest.raises(UnknownNodeError, match="destinations"):
        flow_capturing(net, ODFlows([0], [9], [1.0]), 1)
    with pytest.raises(InvalidInputError, match="not joined"):
        flow_refueling(net, ODFlows([0], [2], [1.0], paths=[(0, 2)]), 10.0, 1)
    with pytest.raises(InvalidInputError, match=r"destinations\[1\]"):
        flow_refueling(net, ODFlows([0, 1], [2, 1], [1.0, 1.0]), 10.0, 1)
    with pytest.raises(InvalidInputError, match="method"):
        flow_capturing(net, flows, 1, method="magic")
    with pytest.raises(InvalidInputError, match="swaps_per_trip"):
        flow_refueling(net, flows, 10.0, 1, swaps_per_trip=2)
    with pytest.raises(InvalidInputError, match="capacity"):
        flow_refueling(net, flows, 10.0, 1, capacity=-1.0)
    with pytest.raises(InvalidInputError, match="capacity"):
        flow_refueling(net, flows, 10.0, 1, capacity=[1.0, 2.0])
    with pytest.raises(InvalidInputError, match="swaps_per_trip"):
        flow_refueling(net, flows, 10.0, 1, capacity=5.0, swaps_per_trip=0)
    with pytest.raises(InvalidInputError, match="site_costs"):
        flow_refueling(net, flows, 10.0, budget=3.0, site_costs=[1.0, -1.0, 1.0])


# ------------------------------------------------------------------ Sioux Falls


@pytest.fixture(scope="module")
def sioux_falls() -> tuple[RoadNetwork, ODFlows]:
    base = networks_dir()
    folder = None if base is None else base / "SiouxFalls"
    if folder is None or not folder.is_dir():
        pytest.skip("shared data folder with SiouxFalls is absent")
    from swapnet.io import read_tntp_network, read_tntp_trips

    net = read_tntp_network(folder / "SiouxFalls_net.tntp")
    flows = read_tntp_trips(folder / "SiouxFalls_trips.tntp")
    return net, flows.with_shortest_paths(net)


@pytest.mark.parametrize("R", [12.0, 20.0, 30.0])
def test_sioux_falls_frlm(sioux_falls: tuple[RoadNetwork, ODFlows], R: float) -> None:
    net, flows = sioux_falls
    values = []
    for p in range(1, 9):
        plan = flow_refueling(net, flows, R, p).verify()
        assert plan.status == SolveStatus.OPTIMAL and plan.n_sites == p
        values.append(plan.objective)
        if p <= 2:
            assert plan.objective == pytest.approx(brute(net, flows, p, R))
        if p in (1, 4, 8):
            assert flow_refueling(net, flows, R, p, method="greedy").objective <= plan.objective + 1e-6
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(values))
    assert 0 < values[-1] < flows.total  # coverage is partial


def test_sioux_falls_frlm_brute_force_p3(sioux_falls: tuple[RoadNetwork, ODFlows]) -> None:
    net, flows = sioux_falls
    plan = flow_refueling(net, flows, 16.0, 3).verify()
    assert plan.objective == pytest.approx(brute(net, flows, 3, 16.0))


def test_sioux_falls_fclm(sioux_falls: tuple[RoadNetwork, ODFlows]) -> None:
    net, flows = sioux_falls
    values = []
    for p in range(1, 9):
        plan = flow_capturing(net, flows, p).verify()
        assert plan.status == SolveStatus.OPTIMAL
        values.append(plan.objective)
        if p <= 3:
            assert plan.objective == pytest.approx(brute(net, flows, p, None))
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(values))
    # with unlimited range, refuelling is capturing
    assert flow_refueling(net, flows, 1e6, 4).objective == pytest.approx(values[3])


@settings(max_examples=20, derandomize=True, deadline=None)
@given(instances())
def test_benders_master_milp_reaches_brute_force(inst: tuple[RoadNetwork, ODFlows, float, int]) -> None:
    # the iterated master MILPs alone (from greedy and the LP phase's cuts) must prove the optimum
    net, flows, R, p = inst
    fi = _instance._prepare(net, flows, p, None, None, None, None, round_trip=True)
    cov = _reduce._reduce(fi, _instance._frlm_intervals(fi, R))
    greedy = _reduce._greedy(cov, fi)

    def value_of(is_open: np.ndarray) -> float:  # type: ignore[type-arg]
        return float(fi.volumes[_reduce._flow_covered(cov, is_open)].sum())

    lp = _benders._lp_bound(cov, fi, SolveOptions(), greedy.astype(np.float64), None)
    assert lp.pool is not None
    best = brute(net, flows, p, R)
    assert lp.bound >= best - 1e-6
    keep = np.ones(fi.n_cands, dtype=bool)
    force = np.zeros(fi.n_cands, dtype=bool)
    exact = SolveOptions(mip_gap=0.0)
    bm = _benders._benders_milp(
        lp.pool, fi, exact, keep, force, greedy, value_of(greedy), lp.bound, value_of, None
    )  # fmt: skip
    assert bm.bound >= best - 1e-6
    assert bm.best_val == pytest.approx(best)
    assert value_of(bm.best_open) == pytest.approx(bm.best_val)


@settings(max_examples=20, derandomize=True, deadline=None)
@given(instances())
def test_reduced_cost_fixing_closes_only_useless_stations(inst: tuple[RoadNetwork, ODFlows, float, int]) -> None:
    # every station the fixing closes: no plan that opens it beats the incumbent (brute force with it fixed open)
    net, flows, R, p = inst
    fi = _instance._prepare(net, flows, p, None, None, None, None, round_trip=True)
    cov = _reduce._reduce(fi, _instance._frlm_intervals(fi, R))
    greedy = _reduce._greedy(cov, fi)
    val = float(fi.volumes[_reduce._flow_covered(cov, greedy)].sum())
    lp = _benders._lp_bound(cov, fi, SolveOptions(), greedy.astype(np.float64), None)
    if lp.rc is None:
        return
    keep, force = _benders._reduced_cost_fixing(lp, fi, greedy, val)
    assert keep[greedy].all() and greedy[force].all()
    for k in np.flatnonzero(~keep).tolist():
        label = fi.cand_labels[k]
        assert brute(net, flows, p, R, candidates=fi.cand_labels, fixed=(label,)) <= val + 1e-6
    for k in np.flatnonzero(force).tolist():
        others = [c for j, c in enumerate(fi.cand_labels) if j != k]
        assert brute(net, flows, p, R, candidates=others) <= val + 1e-6


def test_total_time_budget_covers_the_whole_call() -> None:
    # the decomposition path (LP bound, restricted MILP, fixing, master MILPs) must share one budget
    rng = np.random.default_rng(5)
    net, flows = line_with_chords(rng, 150, 400, (2, 12), 6000)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_solve, "_LARGE_PAIRS", -1)
        t = time.perf_counter()
        plan = flow_refueling(net, flows, 14.0, 12, options=SolveOptions(time_limit=2.0, mip_gap=0.0))
        wall = time.perf_counter() - t
    assert wall < 2.0 + 10.0  # generous slack for a loaded machine
    plan.verify()
    assert plan.status in (SolveStatus.TIME_LIMIT, SolveStatus.OPTIMAL)
    assert np.isfinite(plan.gap) and plan.bound >= plan.objective - 1e-6
