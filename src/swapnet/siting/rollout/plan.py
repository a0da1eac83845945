"""The result of a rollout: :class:`RolloutPlan` with its DataFrame views and ``verify()``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from swapnet.errors import InvalidInputError, VerificationError
from swapnet.optim import SolveStatus

__all__ = ["RolloutPlan"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class RolloutPlan:
    """Which stations open in which year, how big, and what it costs and serves, per scenario.

    Attributes
    ----------
    years
        Year labels (``first_year .. first_year + T - 1``).
    scenarios
        Scenario names.
    probabilities
        Scenario probabilities.
    stations
        One row per open station, scenario and year: ``scenario, year, site, node, opened``
        (opened this year), ``batteries, chargers, added_batteries, added_chargers``,
        ``swaps_per_hour`` (peak-hour load) and ``capacity_per_hour``.
    costs
        One row per scenario and year (CNY/year unless said): ``capex_cash`` (money spent that
        year on sites, batteries and chargers), ``capex_annuity`` (their capital annuities),
        ``opex``, ``penalty`` (lost swaps x penalty), ``margin`` (served swaps x margin, 0 without
        revenue), ``total`` = annuity + opex + penalty - margin, ``discount_factor``, ``discounted``.
    service
        One row per scenario and year: ``demand_per_hour``, ``served_per_hour``,
        ``unserved_per_hour`` (peak hour), ``served_share``, ``swaps_per_day``,
        ``lost_swaps_per_day``.
    objective
        Expected discounted cost (CNY): the sum of ``costs.discounted`` weighted by probability;
        minus the NPV (annuity basis) when a margin per swap was given.
    bound
        Proven lower bound on the optimal objective.
    gap
        ``(objective - bound) / |objective|``.
    status
        ``OPTIMAL`` when the gap is within the requested one; ``FEASIBLE``/``TIME_LIMIT`` otherwise.
    method
        ``"milp"`` (extensive form), ``"decompose"``, ``"myopic"`` or ``"mean_value"`` (baselines).
    details
        Instance sizes, timings and strategy figures (e.g. ``wait_and_see``).
    """

    years: tuple[int, ...]
    scenarios: tuple[str, ...]
    probabilities: tuple[float, ...]
    stations: pd.DataFrame
    costs: pd.DataFrame
    service: pd.DataFrame
    objective: float
    bound: float
    gap: float
    status: SolveStatus
    method: str
    build_seconds: float
    solve_seconds: float
    details: Mapping[str, Any] = field(default_factory=dict)
    _verify: Callable[[RolloutPlan, float], list[str]] | None = field(default=None, repr=False)
    _pyomo: Callable[[], Any] | None = field(default=None, repr=False)
    _arrays: Mapping[str, FloatArray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))
        object.__setattr__(self, "_arrays", MappingProxyType(dict(self._arrays)))

    # ------------------------------------------------------------------ views
    @property
    def openings(self) -> pd.DataFrame:
        """Stations opened in each year: ``scenario, year, site, node, batteries, chargers``."""
        st = self.stations
        cols = ["scenario", "year", "site", "node", "batteries", "chargers"]
        return st.loc[st["opened"], cols].reset_index(drop=True)

    def first_stage(self) -> pd.DataFrame:
        """Stations (with sizes) decided in the years shared by every scenario (one row per site and year)."""
        k = int(self.details.get("shared_years", 0))
        st = self.stations
        first = st[(st["year"] < self.years[0] + k) & (st["scenario"] == self.scenarios[0])]
        return first.drop(columns=["scenario"]).reset_index(drop=True)

    def by_year(self) -> pd.DataFrame:
        """Probability-weighted costs and service by year (index ``year``)."""
        p = dict(zip(self.scenarios, self.probabilities, strict=True))
        df = self.costs.merge(self.service, on=["scenario", "year"])
        num = df.drop(columns=["scenario", "served_share", "discount_factor"])
        w = df["scenario"].map(p).to_numpy()
        out = (num.drop(columns=["year"]).mul(w, axis=0)).groupby(df["year"]).sum()
        out["stations"] = (
            self.stations.groupby(["scenario", "year"])
            .size()
            .reindex(pd.MultiIndex.from_product([self.scenarios, self.years]), fill_value=0)
            .groupby(level=1)
            .apply(lambda s: float(np.dot(s.to_numpy(), self.probabilities)))
        )
        out["served_share"] = out["served_per_hour"] / out["demand_per_hour"].where(out["demand_per_hour"] > 0)
        return out

    def cash_flows(self, scenario: str | None = None) -> pd.DataFrame:
        """Yearly cash flows (CNY), expected over scenarios or of one ``scenario``.

        Columns ``margin`` (served swaps x margin per swap), ``opex``, ``capex`` (cash, negative),
        ``net``, ``discount_factor`` and ``discounted``; index ``year``. Unlike :attr:`objective`
        (annuity basis), capital counts in full in the year it is spent and nothing is salvaged.
        """
        df = self.costs
        if scenario is not None:
            if scenario not in self.scenarios:
                raise InvalidInputError("scenario", scenario, f"not one of {list(self.scenarios)}")
            sel = df[df["scenario"] == scenario].set_index("year")
            base = sel[["margin", "opex", "capex_cash"]]
        else:
            w = df["scenario"].map(dict(zip(self.scenarios, self.probabilities, strict=True)))
            base = df[["margin", "opex", "capex_cash"]].mul(w, axis=0).groupby(df["year"]).sum()
        out = pd.DataFrame({"margin": base["margin"], "opex": -base["opex"], "capex": -base["capex_cash"]})
        out["net"] = out.sum(axis=1)
        out["discount_factor"] = df.groupby("year")["discount_factor"].first()
        out["discounted"] = out["net"] * out["discount_factor"]
        out.index.name = "year"
        return out

    def npv(self, scenario: str | None = None) -> float:
        """Net present value of :meth:`cash_flows` (CNY)."""
        return float(self.cash_flows(scenario)["discounted"].sum())

    def expected_cost(self) -> float:
        """Expected discounted cost recomputed from :attr:`costs` (equals :attr:`objective`)."""
        p = self.costs["scenario"].map(dict(zip(self.scenarios, self.probabilities, strict=True)))
        return float((self.costs["discounted"] * p).sum())

    # ------------------------------------------------------------- checks
    @property
    def optimal(self) -> bool:
        """Whether the plan is proven optimal (within the requested gap)."""
        return self.status == SolveStatus.OPTIMAL

    def verify(self, tol: float = 1e-6) -> RolloutPlan:
        """Re-check every year's constraints and the objective from the inputs, independently of the solver.

        Checks: stations stay open and sizes only grow; shared decisions equal across scenarios;
        every node's demand balance; service distance; bays, chargers and batteries against the
        load (the capacity rule); site limits and integrality; the capex budget and service target
        of every year; the objective.

        Raises
        ------
        VerificationError
            Listing every violation.
        """
        if self._verify is not None:
            problems = self._verify(self, tol)
            if problems:
                raise VerificationError(problems)
        return self

    def to_pyomo(self) -> Any:
        """The MILP (extensive form) of this rollout as a Pyomo ``ConcreteModel``."""
        if self._pyomo is None:
            raise NotImplementedError(f"rollout plans from {self.method!r} have no Pyomo form")
        return self._pyomo()

    def summary(self) -> str:
        """One line: stations by the last year, objective, status and gap."""
        last = self.stations[self.stations["year"] == self.years[-1]]
        n = last.groupby("scenario").size().reindex(list(self.scenarios), fill_value=0).to_numpy()
        gap = f", gap {self.gap:.2%}" if self.gap > 0 else ""
        return (
            f"rollout: {len(self.years)} years x {len(self.scenarios)} scenarios, "
            f"{float(np.dot(n, self.probabilities)):.4g} stations by {self.years[-1]} (expected), "
            f"objective {self.objective:,.6g} [{self.status.value}{gap}; {self.method}; "
            f"build {self.build_seconds:.2f}s, solve {self.solve_seconds:.2f}s]"
        )

    def __repr__(self) -> str:
        return f"RolloutPlan({self.summary()})"
