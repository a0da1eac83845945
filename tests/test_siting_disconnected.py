"""Siting on disconnected networks: every model raises naming the unreachable demand, or drops it by option."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from swapnet import InfeasibleError, InvalidInputError, ODFlows, RoadNetwork, VerificationError
from swapnet.errors import DisconnectedNetworkError
from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting import flow_capturing, flow_refueling, max_coverage, p_median, set_cover

EXACT = SolveOptions(mip_gap=0.0)


def two_islands() -> RoadNetwork:
    # island A: a - b - c (lengths 1, 2); island B: x - y (length 1); z is isolated
    return RoadNetwork.from_edges([("a", "b", 1.0), ("b", "c", 2.0), ("x", "y", 1.0)], nodes=["z"])


def test_matrix_models_raise_naming_unreachable_demand() -> None:
    net = two_islands()
    demand, cands = ["a", "c", "z"], ["a", "b"]
    for call in (
        lambda: set_cover(net, 5.0, demand=demand, candidates=cands),
        lambda: max_coverage(net, None, 5.0, p=1, demand=demand, candidates=cands),
        lambda: p_median(net, None, 1, demand=demand, candidates=cands),
        lambda: p_median(net, None, 1, capacity=10.0, demand=demand, candidates=cands),
    ):
        with pytest.raises(InfeasibleError, match=r"'z'.*unreachable='drop'"):
            call()


@pytest.mark.parametrize("model", ["lscp", "mclp", "p_median", "cap_p_median"])
def test_matrix_models_drop_and_report(model: str) -> None:
    net = two_islands()
    demand, cands = ["a", "c", "z", "x"], ["a", "b", "y"]
    w = [1.0, 2.0, 5.0, 3.0]
    kw = {"demand": demand, "candidates": cands, "unreachable": "drop", "options": EXACT}
    if model == "lscp":
        plan = set_cover(net, 5.0, **kw)
    elif model == "mclp":
        plan = max_coverage(net, w, 5.0, p=2, **kw)
    elif model == "p_median":
        plan = p_median(net, w, 2, **kw)
    else:
        plan = p_median(net, w, 2, capacity=10.0, **kw)
    plan.verify()
    assert plan.details["dropped_demand"] == ("z",)
    assert plan.details["dropped_weight"] == (1.0 if model == "lscp" else 5.0)
    assert np.isfinite(plan.objective) and plan.status == SolveStatus.OPTIMAL
    assert "z" not in set(plan.assignment["demand"])
    if model in ("p_median", "cap_p_median"):
        # b serves a (1) and c (2 x 2), y serves x (3 x 1)
        assert set(plan.sites) == {"b", "y"} and plan.objective == 1.0 + 4.0 + 3.0
    # a plan that hides a dropped demand, or drops a reachable one, fails verification
    forged = dataclasses.replace(plan, details={**plan.details, "dropped_demand": ()})
    with pytest.raises(VerificationError, match="dropped demand"):
        forged.verify()


def test_p_median_too_few_sites_for_the_components_raises() -> None:
    net = two_islands()
    # a and x sit on different islands: one site cannot reach both, in either mode
    for mode in ("raise", "drop"):
        with pytest.raises(InfeasibleError, match=r"no 1 sites reach every demand point \(at least 2"):
            p_median(net, None, 1, demand=["a", "x"], candidates=["b", "y"], unreachable=mode)


def test_p_median_never_returns_an_infinite_objective() -> None:
    # a matrix where each demand reaches some site, but only the right pair reaches both
    C = np.array([[1.0, np.inf, 4.0], [np.inf, 1.0, 4.0]])
    plan = p_median(C, None, 1, options=EXACT).verify()
    assert plan.sites == (2,) and plan.objective == 8.0
    plan = p_median(C, None, 2, options=EXACT).verify()
    assert plan.objective == 2.0
    # verify() catches an inconsistent plan with an infinite objective
    bad = dataclasses.replace(plan, sites=(0,), objective=float("inf"))
    with pytest.raises(VerificationError, match=r"not a finite number|served by no open site"):
        bad.verify()


def test_bad_unreachable_option() -> None:
    with pytest.raises(InvalidInputError, match="unreachable"):
        p_median(np.ones((2, 2)), None, 1, unreachable="ignore")


def islands_flows() -> tuple[RoadNetwork, ODFlows]:
    net = RoadNetwork.from_edges([(0, 1, 10.0), (1, 2, 10.0), (5, 6, 10.0)])
    return net, ODFlows([0, 5, 0], [2, 6, 6], [10.0, 4.0, 7.0])


def test_flow_models_raise_naming_the_flow() -> None:
    net, flows = islands_flows()
    with pytest.raises(DisconnectedNetworkError, match=r"origin 0.*unreachable='drop'"):
        flow_capturing(net, flows, 1)
    with pytest.raises(DisconnectedNetworkError, match=r"origin 0 and back"):
        flow_refueling(net, flows, 100.0, 1)


def test_flow_models_drop_and_report() -> None:
    net, flows = islands_flows()
    fc = flow_capturing(net, flows, 2, unreachable="drop", options=EXACT).verify()
    assert fc.details["dropped_flows"] == ((0, 6),) and fc.details["dropped_volume"] == 7.0
    assert fc.objective == 14.0 and len(fc.assignment) == 2
    fr = flow_refueling(net, flows, 100.0, 2, unreachable="drop", options=EXACT).verify()
    assert fr.details["dropped_flows"] == ((0, 6),) and fr.objective == 14.0
    forged = dataclasses.replace(fr, details={**fr.details, "dropped_flows": ()})
    with pytest.raises(VerificationError, match="dropped flows"):
        forged.verify()


def test_flow_models_take_candidate_sites_objects() -> None:
    from swapnet.assets import CandidateSites

    net, flows = islands_flows()
    keep = flows.select([True, True, False])
    sites = CandidateSites.from_nodes([1, 5])
    plan = flow_capturing(net, keep, 2, candidates=sites, options=EXACT).verify()
    assert set(plan.sites) == {1, 5} and plan.objective == 14.0


def test_one_way_flows_on_a_directed_network() -> None:
    # 0 -> 1 -> 2 one way; 2 cannot reach 0: the FCLM keeps 0 -> 2 and drops 2 -> 0
    net = RoadNetwork.from_edges([(0, 1, 5.0), (1, 2, 5.0)], directed=True)
    flows = ODFlows([0, 2], [2, 0], [3.0, 4.0])
    with pytest.raises(DisconnectedNetworkError, match="origin 2"):
        flow_capturing(net, flows, 1)
    plan = flow_capturing(net, flows, 1, unreachable="drop", options=EXACT).verify()
    assert plan.details["dropped_flows"] == ((2, 0),) and plan.objective == 3.0


def test_old_module_paths_still_work() -> None:
    from swapnet.siting import flow_models, matrix

    assert matrix.p_median is p_median and matrix.set_cover is set_cover and matrix.max_coverage is max_coverage
    assert flow_models.flow_refueling is flow_refueling and flow_models.flow_capturing is flow_capturing
