"""The rollout instance as arrays: tree, demand groups, candidate-demand pairs, costs.

Reduction (exact): demand nodes with the same set of candidates within the service distance and
the same ratio of daily to peak-hour swaps in every scenario-year are merged into one *group*;
any flow of a group splits back over its nodes in proportion to their demand, so the optimum and
every constraint are unchanged. Nodes out of reach of every candidate form groups without pairs
(their swaps are lost whatever the plan).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from swapnet.assets import BatteryPack, CandidateSites, StationDesign, capital_recovery_factor
from swapnet.errors import InvalidInputError
from swapnet.network import RoadNetwork
from swapnet.siting.rollout.capacity import CapacityRule
from swapnet.siting.rollout.scenarios import ScenarioSet

__all__ = ["RolloutInstance", "build_instance"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class RolloutInstance:
    """Arrays of one rollout (``S`` scenarios, ``T`` years, ``m`` candidates, ``G`` groups, ``k`` pairs).

        Money: ``site_year`` (annuity + opex of an open site, CNY/year), ``battery_year`` and
        ``charger_year`` (annuities, CNY/year), ``site_cash``/``battery_cash``/``charger_cash`` (cash
        capex of a purchase); ``lost`` (S, T, G) the objective coefficient of one unserved peak-hour
        swap (CNY/year, penalty plus lost margin) and ``const`` (S, T) the constant part (minus the
        margin of all demand); ``delta`` (T,) discount factors ``(1 + r)^-(t-1)``. Capacity rule:
    ``bay``, ``a_c``, ``a_b`` per swap-hour of load and ``c0``, ``b0`` per open station.
    """

    years: tuple[int, ...]
    names: tuple[str, ...]
    prob: FloatArray
    node_of: IntArray
    delta: FloatArray
    sites: tuple[Hashable, ...]
    site_nodes: tuple[Hashable, ...]
    site_year: FloatArray
    site_cash: FloatArray
    opex: float
    crf: float
    battery_year: float
    charger_year: float
    battery_cash: float
    charger_cash: float
    maxb: FloatArray
    maxc: FloatArray
    bay: float
    a_c: float
    a_b: float
    pair_g: IntArray
    pair_j: IntArray
    H: FloatArray
    ratio: FloatArray
    lost: FloatArray
    const: FloatArray
    margin: FloatArray
    group_nodes: tuple[tuple[Hashable, ...], ...]
    budget: FloatArray | None
    min_service: FloatArray | None
    initial: tuple[FloatArray, FloatArray, FloatArray]
    lock: tuple[FloatArray, FloatArray, FloatArray] | None = None
    b0: float = 0.0
    c0: float = 0.0
    c_ge_b: bool = False

    @property
    def S(self) -> int:  # noqa: N802 - the math's symbol
        """Scenarios."""
        return int(self.prob.size)

    @property
    def T(self) -> int:  # noqa: N802
        """Years."""
        return int(self.delta.size)

    @property
    def m(self) -> int:
        """Candidates."""
        return len(self.sites)

    @property
    def G(self) -> int:  # noqa: N802
        """Demand groups."""
        return int(self.H.shape[2])

    @property
    def n_nodes(self) -> int:
        """Tree nodes."""
        return int(self.node_of.max()) + 1

    def tree(self) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
        """``(year, parent, probability, representative scenario)`` of every tree node (parent -1 at year 1)."""
        n = self.n_nodes
        year = np.zeros(n, dtype=np.int64)
        parent = np.full(n, -1, dtype=np.int64)
        prob = np.zeros(n)
        rep = np.zeros(n, dtype=np.int64)
        for s in range(self.S - 1, -1, -1):
            for t in range(self.T):
                v = self.node_of[s, t]
                year[v] = t
                rep[v] = s
                parent[v] = self.node_of[s, t - 1] if t else -1
        np.add.at(prob, self.node_of.ravel(), np.repeat(self.prob, self.T))
        return year, parent, prob, rep

    def restrict(
        self,
        scenarios: Sequence[int] | None = None,
        years: Sequence[int] | None = None,
        *,
        initial: tuple[FloatArray, FloatArray, FloatArray] | None = None,
        lock: tuple[FloatArray, FloatArray, FloatArray] | None = None,
    ) -> RolloutInstance:
        """A sub-instance: some scenarios (probabilities renormalised) and/or consecutive years.

        ``initial`` ((S', m) arrays) is the state before the first kept year; ``lock`` ((S', T', m)
        arrays, NaN = free) fixes states of the kept years.
        """
        si = np.arange(self.S) if scenarios is None else np.asarray(scenarios, dtype=np.int64)
        ti = np.arange(self.T) if years is None else np.asarray(years, dtype=np.int64)
        if ti.size and np.any(np.diff(ti) != 1):
            raise InvalidInputError("years", ti.tolist(), "must be consecutive")
        lab = self.node_of[np.ix_(si, ti)]
        # relabel the tree nodes 0..n-1 in year-major order
        order: dict[int, int] = {}
        for t in range(ti.size):
            for s in range(si.size):
                order.setdefault(int(lab[s, t]), len(order))
        node_of = np.vectorize(order.__getitem__, otypes=[np.int64])(lab) if lab.size else lab
        p = self.prob[si]
        init = initial if initial is not None else tuple(a[si] for a in self.initial)
        return replace(
            self,
            years=tuple(self.years[t] for t in ti),
            names=tuple(self.names[s] for s in si),
            prob=p / p.sum(),
            node_of=np.asarray(node_of, dtype=np.int64),
            delta=self.delta[ti],
            H=self.H[np.ix_(si, ti)],
            ratio=self.ratio[np.ix_(si, ti)],
            lost=self.lost[np.ix_(si, ti)],
            const=self.const[np.ix_(si, ti)],
            margin=self.margin[np.ix_(si, ti)],
            budget=None if self.budget is None else self.budget[ti],
            min_service=None if self.min_service is None else self.min_service[ti],
            initial=(np.asarray(init[0]), np.asarray(init[1]), np.asarray(init[2])),
            lock=lock,
        )


def _per_year(
    value: float | Sequence[float] | None, T: int, field: str, *, fraction: bool = False
) -> FloatArray | None:
    if value is None:
        return None
    a = np.asarray(value, dtype=np.float64).ravel()
    if a.size == 1:
        a = np.full(T, float(a[0]))
    if a.size != T:
        raise InvalidInputError(field, a.size, f"needs one value or one per year ({T})")
    for t, v in enumerate(a):
        if math.isnan(v) or v < 0 or (fraction and v > 1):
            raise InvalidInputError(f"{field}[{t}]", float(v), "must be in [0, 1]" if fraction else "must be >= 0")
    return a


def build_instance(
    network: RoadNetwork,
    scenarios: ScenarioSet,
    candidates: CandidateSites,
    design: StationDesign,
    pack: BatteryPack,
    capacity: CapacityRule,
    *,
    service_km: float,
    penalty_per_swap: float,
    charger_cost: float,
    rate: float,
    revenue_per_swap: float,
    cost_per_swap: float,
    budget: float | Sequence[float] | None,
    min_service: float | Sequence[float] | None,
    first_year: int,
    aggregate: bool = True,
) -> RolloutInstance:
    """Turn the inputs of :func:`~swapnet.siting.plan_rollout` into a :class:`RolloutInstance`."""
    candidates.check(network)
    S, T = scenarios.n_scenarios, scenarios.years
    labels: dict[Hashable, int] = {}
    for sc in scenarios.scenarios:
        for t, nd in enumerate(sc.demand):
            try:
                nd.check(network)
            except InvalidInputError as err:
                raise InvalidInputError(f"scenario {sc.name!r}.demand[{t}].nodes", err.value, err.reason) from None
            for lab in nd.nodes:
                labels.setdefault(lab, len(labels))
    nodes = list(labels)
    N = len(nodes)
    h = np.zeros((S, T, N))
    q = np.zeros((S, T, N))
    for s, sc in enumerate(scenarios.scenarios):
        for t, nd in enumerate(sc.demand):
            idx = np.array([labels[lab] for lab in nd.nodes], dtype=np.int64)
            np.add.at(h[s, t], idx, nd.peak_hour())
            np.add.at(q[s, t], idx, nd.daily)
    ratio = np.where(h > 0, q / np.maximum(h, 1e-300), 0.0)
    m = len(candidates)
    D = network.distances(nodes, candidates.nodes, limit=service_km) if N else np.zeros((0, m))
    reach = D <= service_km
    # exact aggregation: same reachable candidates and same daily/peak ratio in every scenario-year
    keys: dict[tuple[object, ...], int] = {}
    grp = np.zeros(N, dtype=np.int64)
    for i in range(N):
        rkey = tuple(np.round(ratio[:, :, i].ravel(), 9).tolist()) if aggregate else (i,)
        key = (reach[i].tobytes(), *rkey)
        grp[i] = keys.setdefault(key, len(keys))
    G = len(keys)
    onehot = np.zeros((N, G))
    onehot[np.arange(N), grp] = 1.0
    Hg = h @ onehot
    Qg = q @ onehot
    rg = np.where(Hg > 0, Qg / np.maximum(Hg, 1e-300), 0.0)
    first = np.zeros(G, dtype=np.int64)
    first[grp[::-1]] = np.arange(N)[::-1]
    pg, pj = np.nonzero(reach[first])
    members: list[list[Hashable]] = [[] for _ in range(G)]
    for i, g in enumerate(grp):
        members[g].append(nodes[i])
    crf = capital_recovery_factor(rate, design.lifetime_years)
    G_kw = np.where(np.isfinite(candidates.grid_kw), candidates.grid_kw, design.grid_kw)
    maxb = np.where(np.isfinite(candidates.max_batteries), candidates.max_batteries, 10 * design.batteries)
    maxc = np.where(np.isfinite(candidates.max_chargers), candidates.max_chargers, 10 * design.chargers)
    maxc = np.minimum(maxc, np.floor(G_kw / design.charger_kw))
    margin = 365.0 * (revenue_per_swap - cost_per_swap) * rg  # CNY/year per peak-hour swap served
    lost = 365.0 * penalty_per_swap * rg + margin
    const = -(margin * Hg).sum(axis=2)
    fc = np.asarray(candidates.fixed_cost, dtype=np.float64)
    z = np.zeros((S, m))
    return RolloutInstance(
        years=tuple(range(first_year, first_year + T)),
        names=scenarios.names,
        prob=scenarios.probabilities,
        node_of=np.array(scenarios.node_of),
        delta=(1.0 + rate) ** -np.arange(T, dtype=np.float64),
        sites=candidates.labels,
        site_nodes=candidates.nodes,
        site_year=fc * crf + design.opex_cny_per_year,
        site_cash=fc,
        opex=float(design.opex_cny_per_year),
        crf=float(crf),
        battery_year=pack.cost_cny * crf,
        charger_year=charger_cost * crf,
        battery_cash=pack.cost_cny,
        charger_cash=charger_cost,
        maxb=maxb.astype(np.float64),
        maxc=maxc.astype(np.float64),
        bay=float(capacity.bay_per_hour),
        a_c=float(capacity.chargers_per_swap_hour),
        a_b=float(capacity.batteries_per_swap_hour),
        b0=float(getattr(capacity, "batteries_per_station", 0.0)),
        c0=float(getattr(capacity, "chargers_per_station", 0.0)),
        c_ge_b=bool(getattr(capacity, "one_charger_per_pack", False)),
        pair_g=pg.astype(np.int64),
        pair_j=pj.astype(np.int64),
        H=Hg,
        ratio=rg,
        lost=lost,
        const=const,
        margin=margin,
        group_nodes=tuple(tuple(g) for g in members),
        budget=_per_year(budget, T, "budget"),
        min_service=_per_year(min_service, T, "min_service", fraction=True),
        initial=(z, z.copy(), z.copy()),
    )
