"""Solver options shared by every model (:class:`SolveOptions`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from swapnet import _validate as _v
from swapnet.errors import InvalidInputError
from swapnet.optim._highs import new_highs

__all__ = ["SolveOptions"]


@dataclass(frozen=True)
class SolveOptions:
    """Solver options.

    Attributes
    ----------
    time_limit
        Wall-clock budget in seconds (``None``: no limit). :meth:`LinearModel.solve`
        gives it to HiGHS; the siting models treat it as a budget for the *whole*
        call (heuristics, bounds, every solve) and report ``TIME_LIMIT`` with the
        gap when it runs out.
    mip_gap
        Relative optimality gap at which a MIP counts as solved (HiGHS's and
        Gurobi's default, 1e-4; use 0 to close the gap completely).
    threads
        Solver threads (``None``: the solver's default).
    seed
        Random seed passed to the solver.
    log
        Print the solver log to the console.
    presolve
        Let the solver presolve.
    lp_method
        HiGHS LP algorithm for LPs: ``"choose"``, ``"simplex"``, ``"ipm"`` or ``"pdlp"``.
    highs_options
        Further HiGHS options by name (e.g. ``{"mip_heuristic_effort": 0.2}``), set last.
    """

    time_limit: float | None = None
    mip_gap: float = 1e-4
    threads: int | None = None
    seed: int = 0
    log: bool = False
    presolve: bool = True
    lp_method: str = "choose"
    highs_options: Mapping[str, bool | int | float | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.time_limit is not None:
            object.__setattr__(self, "time_limit", _v.positive(self.time_limit, "time_limit"))
        object.__setattr__(self, "mip_gap", _v.real(self.mip_gap, "mip_gap", lo=0.0, hi=1.0, hi_open=True))
        _v.choice(self.lp_method, "lp_method", ("choose", "simplex", "ipm", "pdlp"))
        if self.threads is not None:
            object.__setattr__(self, "threads", _v.integer(self.threads, "threads", minimum=1))
        object.__setattr__(self, "seed", _v.integer(self.seed, "seed", minimum=0))
        _v.boolean(self.log, "log")
        _v.boolean(self.presolve, "presolve")
        if not isinstance(self.highs_options, Mapping):
            raise InvalidInputError("highs_options", self.highs_options, "must be a mapping of HiGHS option names")
        if self.highs_options:
            _check_highs_options(self.highs_options)


def _check_highs_options(options: Mapping[str, object]) -> None:
    """Refuse unknown HiGHS option names and invalid values up front, whichever model uses them."""
    import highspy

    h = new_highs()
    for key, value in options.items():
        if not isinstance(key, str):
            raise InvalidInputError("highs_options", key, "option names must be strings")
        try:
            status = h.getOptionValue(key)
            known = status[0] == highspy.HighsStatus.kOk if isinstance(status, tuple) else True
        except Exception:
            known = False
        if not known:
            raise InvalidInputError(f"highs_options[{key!r}]", value, "is not a HiGHS option")
        if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            raise InvalidInputError(f"highs_options[{key!r}]", value, "is not a valid value for this HiGHS option")
