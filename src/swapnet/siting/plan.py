"""The result type shared by every siting model."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from swapnet.errors import VerificationError
from swapnet.optim import SolveOptions, SolveReport, SolveStatus

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SitingPlan"]


@dataclass(frozen=True, eq=False)
class SitingPlan:
    """Where to open stations, as decided by one siting model.

    Attributes
    ----------
    model
        Model name: ``"lscp"``, ``"mclp"``, ``"p_median"``, ``"fclm"``, ``"frlm"``, ``"sizing"``.
    sites
        Chosen sites, as the caller's labels, in candidate order.
    objective
        Objective value of the plan (cost, covered weight, weighted distance...;
        the model's docstring says which).
    bound
        Best proven bound on the optimum (``nan`` when none is known).
    gap
        Relative gap between ``objective`` and ``bound`` (0 when proven optimal).
    status
        :class:`~swapnet.optim.SolveStatus`; ``TIME_LIMIT`` means a feasible plan
        that is not proven optimal, see ``gap``.
    covered
        Covered demand weight or flow volume where meaningful, else ``None``.
    assignment
        One row per demand point or flow (the model's docstring lists the columns).
    build_seconds, solve_seconds
        Time to build the model (including reductions and primal heuristics) and in the solver (the
        MILP solver; for the p-median also its Lagrangian bound, branch-and-bound tree and restarts).
    method
        ``"milp"`` (exact) or the heuristic's name.
    details
        Model-specific extras (e.g. station sizes, instance sizes).
    report
        The solver's :class:`~swapnet.optim.SolveReport` when a MILP was solved.
    """

    model: str
    sites: tuple[Hashable, ...]
    objective: float
    bound: float
    gap: float
    status: SolveStatus
    covered: float | None
    assignment: pd.DataFrame
    build_seconds: float
    solve_seconds: float
    method: str = "milp"
    details: Mapping[str, Any] = field(default_factory=dict)
    report: SolveReport | None = None
    _verify: Callable[[SitingPlan, float], list[str]] | None = field(default=None, repr=False)
    _pyomo: Callable[[], Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @property
    def n_sites(self) -> int:
        """Number of chosen sites."""
        return len(self.sites)

    @property
    def sized_stations(self) -> pd.DataFrame | None:
        """Sized stations of a :func:`~swapnet.siting.size_stations` plan, else ``None``.

        One row per site in :attr:`sites` order: ``site``, ``node``, ``batteries``, ``chargers``,
        ``grid_kw`` (and the sizing's own columns). :func:`swapnet.stations_from_plan` reads it.
        """
        table = self.details.get("stations")
        return None if table is None else cast("pd.DataFrame", table)

    @property
    def unserved(self) -> pd.DataFrame:
        """The :attr:`assignment` rows of demand the plan leaves unserved, with an ``unserved_reason``.

        Rows without a ``site`` (sizing, capacitated models) or not ``covered`` (coverage and flow
        models); the reason is the model's (``"no station within reach"``, ``"capacity"``) or
        ``"not covered"``.
        """
        a = self.assignment
        if "covered" in a.columns:
            out = a[~a["covered"].astype(bool)].copy()
        elif "site" in a.columns:
            out = a[a["site"].isna()].copy()
        else:
            out = a.iloc[:0].copy()
        if "unserved_reason" not in out.columns:
            out["unserved_reason"] = "not covered"
        return out.reset_index(drop=True)

    @property
    def optimal(self) -> bool:
        """Whether the plan is proven optimal."""
        return self.status == SolveStatus.OPTIMAL

    @property
    def total_seconds(self) -> float:
        """Build plus solve time."""
        return self.build_seconds + self.solve_seconds

    def verify(self, tol: float = 1e-6) -> SitingPlan:
        """Re-check the plan from the input data alone, independently of the solver.

        Recomputes every constraint of the model and the objective from
        :attr:`sites` and the original instance.

        Returns
        -------
        SitingPlan
            ``self``, so calls can be chained.

        Raises
        ------
        VerificationError
            Listing every violated constraint or objective mismatch.
        """
        if self._verify is None:
            return self
        problems = self._verify(self, tol)
        if problems:
            raise VerificationError(problems)
        return self

    def to_pyomo(self) -> Any:
        """The MILP this plan came from, as a Pyomo ``ConcreteModel`` (see :meth:`LinearModel.to_pyomo`)."""
        if self._pyomo is None:
            raise NotImplementedError(f"{self.model} plans from method {self.method!r} have no Pyomo form")
        return self._pyomo()

    def summary(self) -> str:
        """A one-line human-readable summary."""
        gap = f", gap {self.gap:.2%}" if self.gap > 0 else ""
        cov = f", covered {self.covered:,.6g}" if self.covered is not None else ""
        return (
            f"{self.model}: {self.n_sites} sites, objective {self.objective:,.6g}{cov} "
            f"[{self.status.value}{gap}; {self.method}; build {self.build_seconds:.2f}s, "
            f"solve {self.solve_seconds:.2f}s]"
        )

    def __repr__(self) -> str:
        return f"SitingPlan({self.summary()})"


def default_options(options: SolveOptions | None) -> SolveOptions:
    """``options`` or the defaults."""
    return options if options is not None else SolveOptions()
