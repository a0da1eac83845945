"""Demand over the years: adoption trajectories, scenarios with probabilities, scenario trees.

A *trajectory* is one :class:`~swapnet.demand.NodeDemand` per year ``t = 1..T``. A
:class:`Scenario` is a named trajectory with a probability; a :class:`ScenarioSet` holds the
scenarios of one rollout with the *scenario tree* that says which scenarios share their decisions
in which year (non-anticipativity).

Growth helpers: :func:`logistic_fleet` (an S-curve from the pre-orders to a target fleet),
:func:`trajectory` (a base demand scaled year by year), :func:`adoption_scenarios` (low / mid /
high curves) and :func:`sample_scenarios` (sample average approximation: ``n`` equally likely
trajectories drawn around a curve, seeded).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from swapnet.demand import NodeDemand
from swapnet.errors import InvalidInputError

__all__ = [
    "Scenario",
    "ScenarioSet",
    "adoption_scenarios",
    "logistic_fleet",
    "sample_scenarios",
    "trajectory",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def _positive(value: object, field: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(field, value, "must be a number") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InvalidInputError(field, value, "must be finite and " + ("non-negative" if allow_zero else "positive"))
    return v


def _count(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise InvalidInputError(field, value, "must be a positive integer")
    return int(value)


def logistic_fleet(
    start: float, target: float, years: int, *, midpoint: float | None = None, steepness: float = 1.0
) -> FloatArray:
    r"""Fleet size in years ``1..years`` on a logistic curve from ``start`` towards ``target``.

    .. math::

        F_t = \frac{F_\infty}{1 + A\,e^{-k (t - 1)}},\qquad A = F_\infty / F_1 - 1,

    so that :math:`F_1` = ``start`` (e.g. ~30,000 pre-orders) and :math:`F_t \to` ``target``.
    ``midpoint`` (the year of the inflection, where :math:`F_t = F_\infty/2`) overrides
    ``steepness``: :math:`k = \ln A / (t_{mid} - 1)`.

    Parameters
    ----------
    start
        Fleet in year 1 (positive).
    target
        Saturation fleet (``>= start``).
    years
        Number of years (positive integer).
    midpoint
        Inflection year (``> 1``), optional.
    steepness
        Growth rate :math:`k` per year (positive) when ``midpoint`` is not given.

    Returns
    -------
    numpy.ndarray
        ``(years,)`` vehicles.
    """
    f1 = _positive(start, "start")
    finf = _positive(target, "target")
    T = _count(years, "years")
    if finf < f1:
        raise InvalidInputError("target", target, f"must be at least start ({start})")
    A = finf / f1 - 1.0
    if midpoint is not None:
        tm = _positive(midpoint, "midpoint")
        if tm <= 1:
            raise InvalidInputError("midpoint", midpoint, "must be after year 1")
        k = math.log(A) / (tm - 1.0) if A > 1 else 1.0
    else:
        k = _positive(steepness, "steepness")
    t = np.arange(T, dtype=np.float64)
    out: FloatArray = finf / (1.0 + A * np.exp(-k * t))
    return out


def trajectory(base: NodeDemand, factors: ArrayLike) -> tuple[NodeDemand, ...]:
    """Year-by-year demand: ``base`` scaled by ``factors[t]`` (same nodes and profile each year).

    With a fleet curve ``F`` and the demand of a fleet ``F_0``: ``trajectory(base, F / F_0)``.
    """
    f = np.asarray(factors, dtype=np.float64).ravel()
    if f.size == 0:
        raise InvalidInputError("factors", factors, "needs one factor per year")
    for t, v in enumerate(f):
        _positive(v, f"factors[{t}]", allow_zero=True)
    return tuple(base.scaled(float(v)) for v in f)


@dataclass(frozen=True)
class Scenario:
    """One demand trajectory with its probability.

    Parameters
    ----------
    name
        Label (``"low"``, ``"mid"``, ``"s03"``...).
    demand
        One :class:`~swapnet.demand.NodeDemand` per year.
    probability
        Probability of the scenario (in ``(0, 1]``).
    """

    name: str
    demand: tuple[NodeDemand, ...]
    probability: float = 1.0

    def __post_init__(self) -> None:
        d = tuple(self.demand)
        if not d:
            raise InvalidInputError(f"scenario {self.name!r}.demand", d, "needs at least one year")
        for t, nd in enumerate(d):
            if not isinstance(nd, NodeDemand):
                raise InvalidInputError(f"scenario {self.name!r}.demand[{t}]", nd, "must be a NodeDemand")
        object.__setattr__(self, "demand", d)
        p = _positive(self.probability, f"scenario {self.name!r}.probability")
        if p > 1 + 1e-12:
            raise InvalidInputError(f"scenario {self.name!r}.probability", p, "must be at most 1")
        object.__setattr__(self, "probability", p)
        object.__setattr__(self, "name", str(self.name))

    @property
    def years(self) -> int:
        """Number of years."""
        return len(self.demand)


@dataclass(frozen=True, init=False)
class ScenarioSet:
    """The scenarios of a rollout and their scenario tree.

    Parameters
    ----------
    scenarios
        Scenarios with the same number of years; probabilities must sum to one.
    shared_years
        Decisions of years ``1..shared_years`` are shared by every scenario (two-stage
        stochastic programme with first stage = these years; default 1). Ignored when
        ``tree`` is given.
    tree
        Optional ``(S, T)`` integer labels: scenarios with the same label in year ``t`` share
        the decisions of year ``t`` (a scenario tree; labels of different years are unrelated).
        Scenarios that share year ``t`` must share every earlier year.

    Attributes
    ----------
    scenarios : tuple of Scenario
    node_of : numpy.ndarray
        ``(S, T)`` tree node of each scenario and year (nodes numbered ``0..n-1`` year by year).
    """

    scenarios: tuple[Scenario, ...]
    node_of: IntArray

    def __init__(self, scenarios: Iterable[Scenario], *, shared_years: int = 1, tree: ArrayLike | None = None) -> None:
        sc = tuple(scenarios)
        if not sc:
            raise InvalidInputError("scenarios", sc, "needs at least one scenario")
        names = [s.name for s in sc]
        if len(set(names)) != len(names):
            raise InvalidInputError("scenarios", names, "scenario names must be unique")
        T = sc[0].years
        for s in sc:
            if s.years != T:
                raise InvalidInputError(f"scenario {s.name!r}.demand", s.years, f"needs {T} years like {sc[0].name!r}")
        total = sum(s.probability for s in sc)
        if abs(total - 1.0) > 1e-9:
            raise InvalidInputError("scenarios.probability", total, "probabilities must sum to 1")
        S = len(sc)
        if tree is None:
            if isinstance(shared_years, bool) or not isinstance(shared_years, (int, np.integer)) or shared_years < 0:
                raise InvalidInputError("shared_years", shared_years, "must be a non-negative integer")
            k = min(int(shared_years), T)
            lab = np.where(np.arange(T)[None, :] < k, 0, np.arange(S)[:, None] + 1) * np.ones((S, T), dtype=np.int64)
        else:
            lab = np.asarray(tree)
            if lab.shape != (S, T) or not np.issubdtype(lab.dtype, np.integer):
                raise InvalidInputError("tree", lab.shape, f"needs ({S}, {T}) integer node labels")
        node_of = np.zeros((S, T), dtype=np.int64)
        nxt = 0
        for t in range(T):
            # a node of year t = scenarios sharing the label of year t (and, checked, all earlier years)
            keys = [tuple(lab[i, : t + 1].tolist()) for i in range(S)]
            first: dict[tuple[int, ...], int] = {}
            for i in range(S):
                same = [r for r in range(S) if lab[r, t] == lab[i, t]]
                if any(keys[r] != keys[i] for r in same):
                    raise InvalidInputError(
                        f"tree[{i}, {t}]", int(lab[i, t]), "scenarios sharing a year must share every earlier year"
                    )
                if keys[i] not in first:
                    first[keys[i]] = nxt
                    nxt += 1
                node_of[i, t] = first[keys[i]]
        node_of.flags.writeable = False
        object.__setattr__(self, "scenarios", sc)
        object.__setattr__(self, "node_of", node_of)

    @classmethod
    def of(
        cls, demand: ScenarioSet | Scenario | Sequence[Scenario] | Sequence[NodeDemand], *, shared_years: int = 1
    ) -> ScenarioSet:
        """A scenario set from a set, one scenario, a list of scenarios or one trajectory."""
        if isinstance(demand, ScenarioSet):
            return demand
        if isinstance(demand, Scenario):
            return cls([demand], shared_years=shared_years)
        items = list(demand)
        if items and all(isinstance(d, NodeDemand) for d in items):
            traj = tuple(d for d in items if isinstance(d, NodeDemand))
            return cls([Scenario("base", traj, 1.0)], shared_years=shared_years)
        sc: list[Scenario] = []
        for i, s in enumerate(items):
            if not isinstance(s, Scenario):
                raise InvalidInputError(f"demand[{i}]", s, "must be a NodeDemand (a trajectory) or a Scenario")
            sc.append(s)
        return cls(sc, shared_years=shared_years)

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios."""
        return len(self.scenarios)

    @property
    def years(self) -> int:
        """Number of years."""
        return self.scenarios[0].years

    @property
    def names(self) -> tuple[str, ...]:
        """Scenario names."""
        return tuple(s.name for s in self.scenarios)

    @property
    def probabilities(self) -> FloatArray:
        """``(S,)`` probabilities."""
        return np.array([s.probability for s in self.scenarios])

    def mean(self) -> Scenario:
        """The mean scenario: each year's probability-weighted mean demand per node (shared profile kept).

        Nodes are the union over scenarios; per-node profiles are averaged by swaps.
        """
        years = []
        for t in range(self.years):
            nodes: dict[object, int] = {}
            for s in self.scenarios:
                for lab in s.demand[t].nodes:
                    nodes.setdefault(lab, len(nodes))
            daily = np.zeros(len(nodes))
            hourly = np.zeros((len(nodes), 24))
            shared = self.scenarios[0].demand[t].profile
            same = all(s.demand[t].profile is shared or s.demand[t].profile == shared for s in self.scenarios)
            for s in self.scenarios:
                nd = s.demand[t]
                idx = np.array([nodes[lab] for lab in nd.nodes], dtype=np.int64)
                np.add.at(daily, idx, s.probability * nd.daily)
                np.add.at(hourly, idx, s.probability * nd.hourly())
            labels = list(nodes)
            if same and not isinstance(shared, np.ndarray):
                years.append(NodeDemand(labels, daily, shared))
            else:
                rows = np.where(daily[:, None] > 0, hourly, 1.0 / 24.0)
                years.append(NodeDemand(labels, daily, rows))
        return Scenario("mean", tuple(years), 1.0)

    def subset(self, index: Sequence[int]) -> ScenarioSet:
        """The scenarios at ``index`` (probabilities renormalised, tree kept)."""
        idx = list(index)
        p = self.probabilities[idx]
        sc = [
            Scenario(self.scenarios[i].name, self.scenarios[i].demand, float(q / p.sum()))
            for i, q in zip(idx, p, strict=True)
        ]
        return ScenarioSet(sc, tree=self.node_of[idx])


def adoption_scenarios(
    base: NodeDemand,
    base_fleet: float,
    fleets: Mapping[str, ArrayLike],
    probabilities: Mapping[str, float] | None = None,
    *,
    shared_years: int = 1,
) -> ScenarioSet:
    """Scenarios from fleet curves: year ``t`` of scenario ``k`` is ``base * fleets[k][t] / base_fleet``.

    Parameters
    ----------
    base
        Demand of a fleet of ``base_fleet`` vehicles.
    base_fleet
        Vehicles behind ``base`` (positive).
    fleets
        Fleet per year by scenario name (e.g. three :func:`logistic_fleet` curves).
    probabilities
        By scenario name (default: equally likely).
    shared_years
        See :class:`ScenarioSet`.
    """
    f0 = _positive(base_fleet, "base_fleet")
    if not fleets:
        raise InvalidInputError("fleets", fleets, "needs at least one scenario")
    probs = probabilities or {k: 1.0 / len(fleets) for k in fleets}
    missing = set(fleets) - set(probs)
    if missing:
        raise InvalidInputError("probabilities", sorted(missing), "needs a probability for every scenario")
    return ScenarioSet(
        [
            Scenario(k, trajectory(base, np.asarray(v, dtype=np.float64) / f0), float(probs[k]))
            for k, v in fleets.items()
        ],
        shared_years=shared_years,
    )


def sample_scenarios(
    base: NodeDemand,
    factors: ArrayLike,
    n: int,
    *,
    growth_sd: float = 0.2,
    spatial_sd: float = 0.0,
    seed: int = 0,
    shared_years: int = 1,
) -> ScenarioSet:
    r"""Sample average approximation: ``n`` equally likely trajectories around ``base * factors[t]``.

    Scenario :math:`s` scales year :math:`t` by :math:`f_t \exp(\sigma Z_{s,t} - \sigma^2/2)` with a
    random walk :math:`Z_{s,t} = \sum_{\tau \le t} \varepsilon_{s,\tau} / \sqrt{t}`,
    :math:`\varepsilon \sim N(0,1)` (adoption uncertainty that grows with time but keeps the mean),
    and each node by an independent log-normal factor of log-sd ``spatial_sd`` (mean one).

    Parameters
    ----------
    base
        Demand behind factor 1.
    factors
        Mean growth factor per year.
    n
        Number of scenarios (the SAA sample size).
    growth_sd
        Log-standard deviation :math:`\sigma` of the yearly growth factor.
    spatial_sd
        Log-standard deviation of node-level noise (0: the base pattern scaled).
    seed
        Seed for ``numpy.random.default_rng``.
    shared_years
        See :class:`ScenarioSet`.
    """
    S = _count(n, "n")
    sd = _positive(growth_sd, "growth_sd", allow_zero=True)
    ssd = _positive(spatial_sd, "spatial_sd", allow_zero=True)
    f = np.asarray(factors, dtype=np.float64).ravel()
    trajectory(base, f)  # validates the factors
    rng = np.random.default_rng(seed)
    T = f.size
    eps = rng.standard_normal((S, T))
    z = np.cumsum(eps, axis=1) / np.sqrt(np.arange(1, T + 1))
    mult = f[None, :] * np.exp(sd * z - sd**2 / 2)
    out = []
    for s in range(S):
        years = []
        for t in range(T):
            noise = np.exp(ssd * rng.standard_normal(len(base)) - ssd**2 / 2) if ssd > 0 else 1.0
            years.append(NodeDemand(base.nodes, base.daily * mult[s, t] * noise, base.profile))
        out.append(Scenario(f"s{s:02d}", tuple(years), 1.0 / S))
    return ScenarioSet(out, shared_years=shared_years)
