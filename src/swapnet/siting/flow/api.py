"""Flow-based siting: the flow-capturing (FCLM) and flow-refuelling (FRLM) location models.

Both models serve *flows* (origin-destination trips along paths) rather than
demand points. A flow counts only when the stations on its path serve it:

* **FCLM** (Hodgson 1990): a flow is *captured* when at least one open station
  lies on its path (origin and destination included).
* **FRLM** (Kuby & Lim 2005): a flow is *refuelable* when a vehicle with range
  ``R`` can make the round trip origin -> destination -> origin swapping only at
  open stations on its path, leaving the origin with half a range. This module
  uses the arc-cover / path-cover formulation of Capar, Kuby, Leon & Tsai (2013)
  on the round-trip cycle.

Both reduce to one covering structure: flow ``q`` counts iff every set ``K`` in
a family ``F_q`` of candidate sets contains an open station (FCLM: one set, the
path; FRLM: one set per arc of the round trip). Each ``K`` is a contiguous run of
the path, so sets are handled as intervals of candidate positions along paths;
they are built for all flows at once with numpy, reduced to the minimal sets of
each flow, de-duplicated across flows (by 128-bit interval hashes), and flows with
identical families are merged. See ``docs/siting_flows.md`` for the mathematics.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from swapnet.errors import InvalidInputError
from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork
from swapnet.optim import SolveOptions
from swapnet.siting.flow._instance import (
    BoolArray,
    _check_method,
    _check_range,
    _fclm_intervals,
    _frlm_intervals,
    _Instance,
    _Intervals,
    _prepare,
    _routable,
)
from swapnet.siting.flow._model import (
    _Capacity,
    _capacity_inputs,
    _group_visits,
    _visit_signature,
)
from swapnet.siting.flow._reduce import (
    _reduce,
)
from swapnet.siting.flow._solve import (
    _details,
    _solve_and_plan,
)
from swapnet.siting.flow._verify import (
    _captured,
    _walk_refuelable,
    _with_dropped_flows,
)
from swapnet.siting.plan import SitingPlan

__all__ = ["flow_capturing", "flow_refueling"]


def flow_capturing(
    network: RoadNetwork,
    flows: ODFlows,
    p: int | None = None,
    *,
    budget: float | None = None,
    site_costs: ArrayLike | None = None,
    fixed: Iterable[Hashable] | None = None,
    candidates: Iterable[Hashable] | None = None,
    options: SolveOptions | None = None,
    method: str = "milp",
    unreachable: str = "raise",
) -> SitingPlan:
    """Flow-capturing location model (FCLM, Hodgson 1990).

    Open stations to maximise the volume of flows that pass at least one open
    station (origin and destination included)::

        max  sum_q f_q y_q
        s.t. y_q <= sum_{k on path q} x_k     for every flow q
             sum_k x_k = p  and/or  sum_k c_k x_k <= budget
             x binary, 0 <= y <= 1

    Flows whose candidate sets coincide are merged (volumes added) before solving.

    Parameters
    ----------
    network
        The road network.
    flows
        Origin-destination flows; ``flows.paths`` when given, else shortest paths on ``network``.
    p
        Exact number of stations (fixed sites count).
    budget
        Upper bound on the total site cost; with ``p`` both apply.
    site_costs
        Cost of each candidate (default 1 each).
    fixed
        Candidate labels that must be open.
    candidates
        Node labels allowed to host a station (default: every node on some path), in output order, or
        a :class:`~swapnet.assets.CandidateSites` (its ``nodes``; sites come back as node labels).
    options
        :class:`~swapnet.optim.SolveOptions`; ``time_limit`` is a budget for the whole call.
    method
        ``"milp"`` (exact, HiGHS, warm-started from the greedy solution) or ``"greedy"``.
    unreachable
        Flows without given paths whose origin cannot reach their destination (a
        disconnected network): ``"raise"`` (default) raises
        :class:`~swapnet.errors.DisconnectedNetworkError` naming one; ``"drop"`` leaves them out
        and lists them in ``details["dropped_flows"]`` (``(origin, destination)`` pairs) with
        ``details["dropped_volume"]``; the assignment has rows for the kept flows only.

    Returns
    -------
    SitingPlan
        ``model="fclm"``; ``objective`` and ``covered`` are the captured volume.
        ``assignment`` has one row per flow with columns ``origin``,
        ``destination``, ``volume``, ``covered`` and ``stations`` (open stations
        on the path, in path order). ``details`` holds instance and model sizes.

    Raises
    ------
    InvalidInputError
        Bad ``p``/``budget``/costs/method, or paths that are not walks.
    UnknownNodeError
        Flow, path, candidate or fixed nodes that are not in the network / not candidates.
    """
    t0 = time.perf_counter()
    method = _check_method(method)
    flows_all, flows, dropped = _routable(network, flows, unreachable, round_trip=False)
    inst = _prepare(network, flows, p, budget, site_costs, fixed, candidates, round_trip=False)
    cov = _reduce(inst, _fclm_intervals(inst))

    def served_by(node_open: BoolArray) -> BoolArray:
        return _captured(inst, node_open)

    details = _details(inst, cov, None)
    plan = _solve_and_plan(
        inst,
        cov,
        _fclm_intervals,
        model="fclm",
        method=method,
        options=options,
        served_by=served_by,
        t0=t0,
        details=details,
    )
    return _with_dropped_flows(plan, network, flows_all, dropped)


def flow_refueling(
    network: RoadNetwork,
    flows: ODFlows,
    range_km: float,
    p: int | None = None,
    *,
    budget: float | None = None,
    fixed: Iterable[Hashable] | None = None,
    capacity: ArrayLike | None = None,
    site_costs: ArrayLike | None = None,
    candidates: Iterable[Hashable] | None = None,
    swaps_per_trip: ArrayLike | None = None,
    options: SolveOptions | None = None,
    method: str = "milp",
    unreachable: str = "raise",
) -> SitingPlan:
    """Flow-refuelling location model (FRLM, Kuby & Lim 2005) in arc-cover form (Capar et al. 2013).

    A flow is *refuelable* when a vehicle of range ``R`` can drive the round trip
    origin -> destination -> origin along its path (the return retraces the path)
    swapping only at open stations on the path, leaving the origin with ``R/2``:
    the first station lies within ``R/2`` of the origin, consecutive stations
    within ``R`` of each other, the last within ``R/2`` of the destination, and
    at least one station is used. Equivalently, on the round trip as a cycle of
    arcs, every arc ``a`` is *covered*: some open station ``k`` on the path lies
    at most ``R`` before the end of ``a`` along the cycle (only stations on the
    path count). With ``K_a`` the stations covering arc ``a``::

        max  sum_q f_q y_q
        s.t. y_q <= sum_{k in K_a} x_k       for every arc a of the round trip of q
             sum_k x_k = p  and/or  sum_k c_k x_k <= budget
             x binary, 0 <= y <= 1

    Only the minimal sets ``K_a`` of each flow are kept, identical sets are shared
    across flows (through an auxiliary variable when that saves nonzeros), and
    flows with identical families of sets are merged. Flows with an arc longer
    than ``R`` (or an arc no candidate can cover) cannot be refuelled and are
    left out of the model.

    With ``capacity`` the model becomes capacitated: a fraction ``y_q`` of flow
    ``q`` may be served, each served vehicle needs ``swaps_per_trip[q]`` swaps per
    trip, split over the open stations on its path with at most one swap per
    visit (interior path nodes are visited twice per round trip, the origin and
    destination once), and station ``k`` performs at most ``capacity[k]`` swaps::

        sum_k w_qk = s_q f_q y_q,   0 <= w_qk <= v_qk f_q y_q,   sum_q w_qk <= cap_k x_k

    This is an aggregate (flow-splitting, CFRLM-like) capacity model: it does
    not check the order of the swaps along the trip.

    Parameters
    ----------
    network
        The road network; edge lengths in the unit of ``range_km``.
    flows
        Origin-destination flows; ``flows.paths`` when given, else shortest paths.
        Origins must differ from destinations.
    range_km
        Vehicle range ``R`` on a full battery (finite, positive).
    p
        Exact number of stations (fixed sites count).
    budget
        Upper bound on the total site cost.
    fixed
        Candidate labels that must be open.
    capacity
        Station capacity in swaps per day (scalar or one value per candidate);
        ``None`` for the uncapacitated FRLM.
    site_costs
        Cost of each candidate (default 1 each).
    candidates
        Node labels allowed to host a station (default: every node on some path), or a
        :class:`~swapnet.assets.CandidateSites` (its ``nodes``; sites come back as node labels).
    swaps_per_trip
        Swaps per round trip of each flow (scalar or one per flow; only with
        ``capacity``). Default ``max(1, ceil(round-trip length / R))``, the fewest
        swaps any station pattern can need.
    options
        :class:`~swapnet.optim.SolveOptions`; ``time_limit`` is a budget for the whole call
        (reductions, heuristics, bounds and every solve); when it runs out the best plan is
        returned with status ``TIME_LIMIT`` and its gap.
    method
        ``"milp"`` (exact, warm-started from greedy) or ``"greedy"`` (for the
        capacitated model: greedy sites, then the optimal service for them).
    unreachable
        Flows without given paths whose origin cannot reach their destination and back (a
        disconnected network): ``"raise"`` (default) raises
        :class:`~swapnet.errors.DisconnectedNetworkError` naming one; ``"drop"`` leaves them out
        and lists them in ``details["dropped_flows"]`` (``(origin, destination)`` pairs) with
        ``details["dropped_volume"]``; the assignment has rows for the kept flows only.

    Returns
    -------
    SitingPlan
        ``model="frlm"``; ``objective`` and ``covered`` are the refuelled
        (capacitated: served) volume. ``assignment`` has one row per flow with
        ``origin``, ``destination``, ``volume``, ``covered`` (refuelable with the
        open stations), ``stations`` and, when capacitated, ``served`` (fraction).
        ``details`` holds instance and model sizes (``n_flows``,
        ``n_flows_after_merge``, ``n_cover_sets``, ``rows``, ``cols``,
        ``nonzeros``, ``range``...) and, when capacitated, ``swaps`` (a DataFrame
        of ``flow``, ``station``, ``swaps`` per day) and ``loads`` per station.

    Raises
    ------
    InvalidInputError
        Bad range, ``p``, budget, costs, capacity or method; a flow from a node to
        itself; paths that are not walks.
    UnknownNodeError
        Flow, path, candidate or fixed nodes that are not in the network / not candidates.
    """
    t0 = time.perf_counter()
    method = _check_method(method)
    R = _check_range(range_km)
    if capacity is None and swaps_per_trip is not None:
        raise InvalidInputError("swaps_per_trip", swaps_per_trip, "is only used together with capacity")
    flows_all, flows, dropped = _routable(network, flows, unreachable, round_trip=True)
    inst = _prepare(network, flows, p, budget, site_costs, fixed, candidates, round_trip=True)
    iv = _frlm_intervals(inst, R)
    cp: _Capacity | None = None
    extra: tuple[NDArray[Any], ...] = ()
    if capacity is not None:
        cap, swaps = _capacity_inputs(inst, capacity, swaps_per_trip, R)
        sig = _visit_signature(inst)
        extra = (swaps.view(np.int64), sig)
    cov = _reduce(inst, iv, extra)
    if capacity is not None:
        pg, pk, pv = _group_visits(inst, cov)
        cp = _Capacity(cap, swaps, pg, pk, pv)

    def served_by(node_open: BoolArray) -> BoolArray:
        return _walk_refuelable(inst, node_open, R)

    details = _details(inst, cov, R)
    details["capacitated"] = cp is not None

    def intervals(i: _Instance) -> _Intervals:
        return _frlm_intervals(i, R)

    plan = _solve_and_plan(
        inst,
        cov,
        intervals,
        model="frlm",
        method=method,
        options=options,
        served_by=served_by,
        t0=t0,
        details=details,
        capacity=cp,
    )
    return _with_dropped_flows(plan, network, flows_all, dropped)
