"""Study files: a whole planning study (network -> demand -> siting -> operations -> simulation -> economics).

A study is described by a TOML file (see ``docs/study.md``) and read into :class:`Study`, a tree of
frozen dataclasses. :meth:`Study.from_toml` / :meth:`Study.from_dict` check every key *before*
anything is solved: unknown keys fail with their full path and a "did you mean ...?" suggestion,
wrong types and impossible values fail with their path (e.g. ``demand.segments[1].vehicles``), and
missing sections are named (:class:`StudySpec` holds the validated sections; :class:`Study` is a
``StudySpec`` with ``run``, and the pipeline stages take a ``StudySpec``). :meth:`Study.run` chains
the models and writes a report (:func:`swapnet.report.write_report`). Studies of OD trips
(``demand.kind = "od"``) site stations with the flow models (FRLM / FCLM) and derive each station's
daily swaps from the trips it refuels (:func:`trip_swaps`, :func:`flow_station_swaps`) before
operations, simulation and economics.
"""

from __future__ import annotations

from swapnet.study._schema import DESIGN_PRESETS, PACK_PRESETS, PLAN_PRESETS, SEGMENT_KINDS, StudyError, StudyFileError
from swapnet.study.flows import flow_station_swaps, od_trips, trip_swaps
from swapnet.study.model import StudySpec
from swapnet.study.result import StudyResult, TripDemand
from swapnet.study.spec import Study
from swapnet.study.spec_inputs import DemandSpec, DesignSpec, NetworkSpec, PackSpec, SegmentSpec, SitesSpec, TariffSpec
from swapnet.study.spec_models import EconomicsSpec, OperationsSpec, PlanSpec, SimulationSpec, SitingSpec, SolverSpec

_od_trips = od_trips  # the tests' name for it

__all__ = [
    "DESIGN_PRESETS",
    "PACK_PRESETS",
    "PLAN_PRESETS",
    "SEGMENT_KINDS",
    "DemandSpec",
    "DesignSpec",
    "EconomicsSpec",
    "NetworkSpec",
    "OperationsSpec",
    "PackSpec",
    "PlanSpec",
    "SegmentSpec",
    "SimulationSpec",
    "SitesSpec",
    "SitingSpec",
    "SolverSpec",
    "Study",
    "StudyError",
    "StudyFileError",
    "StudyResult",
    "StudySpec",
    "TariffSpec",
    "TripDemand",
    "flow_station_swaps",
    "trip_swaps",
]
