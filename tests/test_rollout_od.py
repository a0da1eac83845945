"""OD-flow demand per year for the rollout (``siting/rollout/od.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from swapnet import ODFlows, synthetic
from swapnet.assets import BatteryPack, StationDesign
from swapnet.errors import InvalidInputError
from swapnet.optim import SolveOptions
from swapnet.siting import plan_rollout
from swapnet.siting.rollout import flow_trajectory, flows_to_demand

EXACT = SolveOptions(mip_gap=0.0, seed=1)
DESIGN = StationDesign.choco_swap()
PACK = BatteryPack.catl_25_lfp()


def _flows(net, n: int, seed: int, scale: float = 1.0) -> ODFlows:
    rng = np.random.default_rng(seed)
    labs = list(net.labels)
    o = rng.integers(0, len(labs), n)
    d = (o + 1 + rng.integers(0, len(labs) - 1, n)) % len(labs)
    return ODFlows([labs[i] for i in o], [labs[i] for i in d], scale * rng.uniform(20.0, 200.0, n))


@pytest.mark.parametrize("rule", ["endpoints", "origin", "path"])
def test_every_rule_keeps_the_total_and_puts_swaps_where_it_says(rule: str) -> None:
    net = synthetic.city_grid(5, 5, seed=1)
    fl = _flows(net, 12, seed=2)
    nd = flows_to_demand(net, fl, rule=rule, swaps_per_volume=0.5)
    assert nd.daily.sum() == pytest.approx(0.5 * fl.volumes.sum())
    q = dict(zip(nd.nodes, nd.daily, strict=True))
    expect: dict = {}
    paths = net.shortest_paths(fl.origins, fl.destinations)
    for o, d, v, p in zip(fl.origins, fl.destinations, 0.5 * fl.volumes, paths, strict=True):  # by hand
        if rule == "path":
            for n in p:
                expect[n] = expect.get(n, 0.0) + v / len(p)
        else:
            expect[o] = expect.get(o, 0.0) + (v / 2 if rule == "endpoints" else v)
            if rule == "endpoints":
                expect[d] = expect.get(d, 0.0) + v / 2
    assert set(q) == {n for n, v in expect.items() if v > 0}
    for n, v in expect.items():
        assert q[n] == pytest.approx(v)


def test_a_rollout_over_od_flows_equals_the_rollout_over_their_node_demand() -> None:
    net = synthetic.city_grid(5, 5, seed=3)
    cand = synthetic.service_store_sites(net, 5, seed=3)
    years = [_flows(net, 15, seed=4, scale=s) for s in (1.0, 1.6, 2.2)]
    by_flows = plan_rollout(net, years, cand, DESIGN, PACK, service_km=2.5, options=EXACT).verify()
    traj = flow_trajectory(net, years)
    by_nodes = plan_rollout(net, traj, cand, DESIGN, PACK, service_km=2.5, options=EXACT).verify()
    assert by_flows.objective == pytest.approx(by_nodes.objective, rel=1e-9)
    demand = by_flows.by_year()["demand_per_hour"].to_numpy()
    assert np.all(np.diff(demand) > 0)  # the flows grow, so does the demand


def test_bad_flow_arguments_name_the_field() -> None:
    net = synthetic.city_grid(4, 4, seed=1)
    fl = _flows(net, 5, seed=1)
    with pytest.raises(InvalidInputError, match="rule"):
        flows_to_demand(net, fl, rule="nearest")
    with pytest.raises(InvalidInputError, match="swaps_per_volume"):
        flows_to_demand(net, fl, swaps_per_volume=-1.0)
    with pytest.raises(InvalidInputError, match="flows_by_year"):
        flow_trajectory(net, fl)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="flows"):
        flows_to_demand(net, "od")  # type: ignore[arg-type]
