"""The study's ``[rollout]`` section: a multi-year rollout of the study's city as the fleet grows.

The study's demand (its fleet segments) is the demand of ``sum(vehicles)`` cars; year ``t`` of an
adoption scenario scales it by ``fleet_t / sum(vehicles)``, the fleet following a logistic curve
from ``start_fleet`` (the pre-orders) towards ``target_fleet`` (inflection in year ``midpoint``).
``scenarios = "three"`` gives low / mid / high curves (target x (1 - spread), x 1, x (1 + spread),
probabilities ``low_probability``, the rest, ``high_probability``); ``"sampled"`` draws
``samples`` equally likely trajectories around the mid curve (sample average approximation,
log-sd ``growth_sd``, ``seed``). The margin per swap defaults to the operator plan's revenue per
swap of the study's segments minus the grid energy of a swap at the tariff's mean price.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from swapnet.siting.rollout import RolloutComparison, RolloutPlan, logistic_fleet
from swapnet.study._schema import _Key, _require, _table

__all__ = ["RolloutOutcome", "RolloutSpec"]


@dataclass(frozen=True)
class RolloutSpec:
    """``[rollout]``: a multi-year rollout (see the module docstring for the keys' meaning).

    Attributes
    ----------
    years, first_year
        Number of years and the label of the first.
    start_fleet, target_fleet, midpoint
        The logistic fleet curve (vehicles; inflection year, counted from 1).
    scenarios
        ``"three"`` (low / mid / high), ``"sampled"`` (SAA) or ``"mid"`` (one trajectory).
    spread, low_probability, high_probability
        The three-scenario curves.
    samples, growth_sd, seed
        The sampled scenarios.
    shared_years
        Years whose decisions every scenario shares.
    budget_cny
        Cash capex limit per year (CNY; none by default).
    min_service
        Minimum share of peak-hour swaps served each year (none by default).
    service_km, penalty_per_swap
        Default to ``[siting]``'s.
    revenue_per_swap, cost_per_swap
        Margin per swap (CNY); default from the operator plan and the tariff (module docstring).
    baselines
        Also solve the myopic and mean-value plans and report VSS and EVPI.
    time_limit
        Seconds for each solve (the stochastic plan and each baseline).
    mip_gap
        Relative gap at which a solve stops.
    """

    years: int = 5
    first_year: int = 1
    start_fleet: float = 30_000.0
    target_fleet: float = 300_000.0
    midpoint: float = 3.0
    scenarios: str = "three"
    spread: float = 0.4
    low_probability: float = 0.25
    high_probability: float = 0.25
    samples: int = 10
    growth_sd: float = 0.3
    seed: int = 0
    shared_years: int = 1
    budget_cny: float | None = None
    min_service: float | None = None
    service_km: float | None = None
    penalty_per_swap: float | None = None
    revenue_per_swap: float | None = None
    cost_per_swap: float | None = None
    baselines: bool = True
    time_limit: float = 60.0
    mip_gap: float = 0.01

    _SCHEMA = MappingProxyType(
        {
            "years": _Key("int", 5, minimum=1, maximum=30),
            "first_year": _Key("int", 1),
            "start_fleet": _Key("float", 30_000.0, minimum=0.0, exclusive=True),
            "target_fleet": _Key("float", 300_000.0, minimum=0.0, exclusive=True),
            "midpoint": _Key("float", 3.0, minimum=1.0, exclusive=True),
            "scenarios": _Key("str", "three", choices=("three", "sampled", "mid")),
            "spread": _Key("float", 0.4, minimum=0.0, maximum=0.95),
            "low_probability": _Key("float", 0.25, minimum=0.0, exclusive=True, maximum=1.0),
            "high_probability": _Key("float", 0.25, minimum=0.0, exclusive=True, maximum=1.0),
            "samples": _Key("int", 10, minimum=1, maximum=200),
            "growth_sd": _Key("float", 0.3, minimum=0.0),
            "seed": _Key("int", 0),
            "shared_years": _Key("int", 1, minimum=0),
            "budget_cny": _Key("float", None, minimum=0.0, nullable=True),
            "min_service": _Key("float", None, minimum=0.0, maximum=1.0, nullable=True),
            "service_km": _Key("float", None, minimum=0.0, exclusive=True, nullable=True),
            "penalty_per_swap": _Key("float", None, minimum=0.0, nullable=True),
            "revenue_per_swap": _Key("float", None, minimum=0.0, nullable=True),
            "cost_per_swap": _Key("float", None, minimum=0.0, nullable=True),
            "baselines": _Key("bool", True),
            "time_limit": _Key("float", 60.0, minimum=0.0, exclusive=True),
            "mip_gap": _Key("float", 0.01, minimum=0.0, maximum=0.5),
        }
    )

    @classmethod
    def parse(cls, raw: Any, path: str = "rollout") -> RolloutSpec:
        """Validate a ``[rollout]`` table."""
        v = _table(raw, path, cls._SCHEMA)
        _require(v["target_fleet"] >= v["start_fleet"], f"{path}.target_fleet", v["target_fleet"],
                 f"must be at least start_fleet ({v['start_fleet']:g})")  # fmt: skip
        _require(v["low_probability"] + v["high_probability"] < 1, f"{path}.high_probability",
                 v["high_probability"], "low_probability + high_probability must be below 1")  # fmt: skip
        _require(v["shared_years"] <= v["years"], f"{path}.shared_years", v["shared_years"],
                 f"more than the {v['years']} years")  # fmt: skip
        return cls(**v)

    def fleets(self) -> dict[str, np.ndarray]:
        """Fleet per year by scenario name (three curves, or the mid curve alone)."""

        def curve(target: float) -> np.ndarray:
            return logistic_fleet(self.start_fleet, max(target, self.start_fleet), self.years, midpoint=self.midpoint)

        if self.scenarios != "three":
            return {"mid": curve(self.target_fleet)}
        return {
            "low": curve(self.target_fleet * (1 - self.spread)),
            "mid": curve(self.target_fleet),
            "high": curve(self.target_fleet * (1 + self.spread)),
        }


@dataclass(frozen=True, eq=False)
class RolloutOutcome:
    """The rollout stage's output: the plan, the baselines (or ``None``) and the report tables."""

    plan: RolloutPlan
    comparison: RolloutComparison | None
    tables: dict[str, pd.DataFrame]

    def kpis(self) -> dict[str, float]:
        """Headline figures for a sweep: ``rollout_*`` expected cost, NPV, stations and served share, VSS, EVPI."""
        by = self.plan.by_year()
        out = {
            "rollout_expected_cost": self.plan.objective,
            "rollout_gap": self.plan.gap,
            "rollout_npv_cny": self.plan.npv(),
            "rollout_stations_last_year": float(by["stations"].iloc[-1]),
            "rollout_served_share_last_year": float(by["served_share"].iloc[-1]),
            "rollout_capex_first_year": float(by["capex_cash"].iloc[0]),
        }
        if self.comparison is not None:
            out.update({f"rollout_{k}": v for k, v in self.comparison.values().items() if not k.endswith("_share")})
        return out
