r"""Demand per year from origin-destination flows: where the swaps of each OD flow are placed.

A flow :math:`f` from :math:`o_f` to :math:`d_f` with volume :math:`v_f` (swaps per day that its
trips need) becomes node demand by one documented rule:

* ``"endpoints"`` (default): half at the origin, half at the destination — a car on a round trip
  swaps at one end or the other;
* ``"origin"``: all at the origin (swap before leaving);
* ``"path"``: spread evenly over the :math:`n_f` nodes of the flow's path (its own path, else the
  network's shortest path), :math:`v_f / n_f` at each — swaps taken along the way.

Every rule keeps the total, :math:`\sum_n q_n = \sum_f v_f`. The result is an ordinary
:class:`~swapnet.demand.NodeDemand` (duplicate nodes summed), so a trajectory of flows (one
:class:`~swapnet.ODFlows` per year) is a trajectory of node demand for
:func:`~swapnet.siting.plan_rollout`, which also accepts the flows directly (with ``"endpoints"``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from swapnet import _validate
from swapnet.demand import DailyProfile, NodeDemand
from swapnet.errors import InvalidInputError
from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork

__all__ = ["FLOW_RULES", "flow_trajectory", "flows_to_demand"]

FLOW_RULES = ("endpoints", "origin", "path")
"""The placement rules of :func:`flows_to_demand`."""


def flows_to_demand(
    network: RoadNetwork,
    flows: ODFlows,
    *,
    rule: str = "endpoints",
    swaps_per_volume: float = 1.0,
    profile: DailyProfile | None = None,
) -> NodeDemand:
    """Node demand (swaps per day) of OD ``flows`` placed by ``rule`` (see the module docstring).

    Parameters
    ----------
    network
        Road network holding every origin and destination (and path node).
    flows
        The flows; ``volumes`` times ``swaps_per_volume`` are swaps per day.
    rule
        ``"endpoints"``, ``"origin"`` or ``"path"``.
    swaps_per_volume
        Swaps per day per unit of volume (e.g. swaps per car and day when volumes are cars).
    profile
        Hourly profile of the demand (default :meth:`DailyProfile.urban`).

    Returns
    -------
    NodeDemand
        One entry per node that receives demand, in the network's node order.
    """
    if not isinstance(network, RoadNetwork):
        raise InvalidInputError("network", type(network).__name__, "must be a RoadNetwork")
    if not isinstance(flows, ODFlows):
        raise InvalidInputError("flows", type(flows).__name__, "must be an ODFlows")
    _validate.choice(rule, "rule", FLOW_RULES)
    scale = _validate.non_negative(swaps_per_volume, "swaps_per_volume")
    flows.check(network)
    q = np.zeros(network.n_nodes)
    v = np.asarray(flows.volumes, dtype=np.float64) * scale
    if rule == "path":
        paths = list(flows.path_indices(network))
        if paths:  # each flow's swaps spread evenly over the nodes of its path
            lens = np.array([len(path) for path in paths])
            np.add.at(q, np.concatenate(paths), np.repeat(v / lens, lens))
    else:
        share = 0.5 if rule == "endpoints" else 1.0
        np.add.at(q, network.index_of(flows.origins), share * v)
        if rule == "endpoints":
            np.add.at(q, network.index_of(flows.destinations), share * v)
    keep = np.flatnonzero(q > 0)
    labels: list[Hashable] = [network.labels[i] for i in keep]
    return NodeDemand(labels, q[keep], profile)


def flow_trajectory(
    network: RoadNetwork,
    flows_by_year: Sequence[ODFlows],
    *,
    rule: str = "endpoints",
    swaps_per_volume: float = 1.0,
    profile: DailyProfile | None = None,
) -> tuple[NodeDemand, ...]:
    """One :class:`~swapnet.demand.NodeDemand` per year from one :class:`~swapnet.ODFlows` per year.

    Arguments as :func:`flows_to_demand`; the result is a trajectory for
    :func:`~swapnet.siting.plan_rollout` or a :class:`~swapnet.siting.rollout.Scenario`.
    """
    if isinstance(flows_by_year, ODFlows) or not len(flows_by_year):
        raise InvalidInputError("flows_by_year", type(flows_by_year).__name__, "needs one ODFlows per year")
    return tuple(
        flows_to_demand(network, f, rule=rule, swaps_per_volume=swaps_per_volume, profile=profile)
        for f in flows_by_year
    )
