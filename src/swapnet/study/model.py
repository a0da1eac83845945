"""The study's definition: :class:`StudySpec`, every section read from TOML and validated before anything runs.

This module sits below the pipeline: the stages (:mod:`swapnet.study.pipeline` and the modules it
calls) take a :class:`StudySpec`; :class:`swapnet.study.Study` (:mod:`swapnet.study.spec`) is the
same dataclass with :meth:`~swapnet.study.Study.run`, which calls the pipeline.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

from swapnet.study._limits import check_resources
from swapnet.study._schema import (
    _SECTIONS_OPTIONAL,
    _SECTIONS_REQUIRED,
    FLOW_MODELS,
    StudyError,
    StudyFileError,
    _require,
    _suggest,
    _table,
)
from swapnet.study.rollout import RolloutSpec
from swapnet.study.spec_inputs import (
    DemandSpec,
    DesignSpec,
    NetworkSpec,
    PackSpec,
    SitesSpec,
    TariffSpec,
)
from swapnet.study.spec_models import (
    EconomicsSpec,
    OperationsSpec,
    PlanSpec,
    SimulationSpec,
    SitingSpec,
    SolverSpec,
)


def _check_flow_study(network: NetworkSpec, demand: DemandSpec, sites: SitesSpec, siting: SitingSpec) -> None:
    """Cross-section checks of flow studies (before anything is loaded or solved)."""
    if siting.is_flow:
        _require(
            network.kind == "file",
            "siting.model",
            siting.model,
            'needs a dataset network (network.kind = "file") for the trips\' paths',
        )
        _require(demand.kind == "od", "siting.model", siting.model, 'needs trips: set demand.kind = "od"')
        _require(
            sites.kind == "nodes",
            "sites.kind",
            sites.kind,
            f'must be "nodes" with siting.model = "{siting.model}" (stations at nodes on the paths)',
        )
        if demand.source == "dataset":
            _require(
                network.has_od,
                "demand.source",
                demand.source,
                f'network.dataset = {network.dataset!r} has no OD table; use source = "gravity"',
            )
    else:
        _require(
            demand.kind in ("segments", "file"),
            "demand.kind",
            demand.kind,
            f'OD trips need a flow siting model ({", ".join(FLOW_MODELS)}), not "{siting.model}"',
        )


def _rollout(d: Mapping[str, Any], demand: DemandSpec) -> RolloutSpec | None:
    """The optional ``[rollout]`` section (multi-year rollout, :mod:`swapnet.study.rollout`)."""
    if "rollout" not in d:
        return None
    _require(demand.kind == "segments", "rollout", "od", 'needs node demand (demand.kind = "segments")')
    return RolloutSpec.parse(d["rollout"])


def _simple(cls: Any, raw: Any, path: str) -> Any:
    return cls(**_table(raw, path, cls._SCHEMA))


_DEFAULT_PLANS = (PlanSpec("choco_swap_unlimited"), PlanSpec("nio_baas_75"))


# ------------------------------------------------------------------ study
#: Largest study file read, bytes (a study is a few kB; data lives in the files it names).
MAX_STUDY_BYTES = 4 * 1024 * 1024
#: Deepest nesting of tables and arrays accepted in a study file.
MAX_STUDY_DEPTH = 16


def _depth(value: Any) -> int:
    """Nesting depth of tables/arrays, computed without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_STUDY_DEPTH:
            break
        if isinstance(v, Mapping):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return deepest


def _read_toml(p: Path) -> dict[str, Any]:
    """Read a study file; every read or decode problem is a :class:`StudyFileError` with the file (and line)."""
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise StudyFileError(p, None, "is a folder, not a study file")
        if size > MAX_STUDY_BYTES:
            raise StudyFileError(p, None, f"is {size:,} bytes; a study file is at most {MAX_STUDY_BYTES:,}")
        data = p.read_bytes()
    except FileNotFoundError:
        raise StudyFileError(p, None, "study file not found") from None
    except OSError as e:
        raise StudyFileError(p, None, f"cannot be read ({e.strerror or e})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise StudyFileError(p, line, f"not UTF-8 text (byte {data[e.start]:#04x} at offset {e.start})") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise StudyFileError(p, line, "not a text file (NUL byte)")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"at line (\d+)", str(e))
        raise StudyFileError(p, int(m.group(1)) if m else None, f"not valid TOML: {e}") from None
    except RecursionError:
        raise StudyFileError(p, None, f"tables or arrays nested too deeply (more than {MAX_STUDY_DEPTH})") from None
    if _depth(raw) > MAX_STUDY_DEPTH:
        raise StudyFileError(p, None, f"tables or arrays nested too deeply (more than {MAX_STUDY_DEPTH})")
    return raw


@dataclass(frozen=True)
class StudySpec:
    """A planning study read from a TOML file (see ``docs/study.md``).

    Attributes
    ----------
    network, demand, sites, pack, design, tariff, siting, operations, simulation, plans, economics, solver
        The sections.
    name
        Study name (for the report title).
    source
        The file it was read from, if any.
    """

    network: NetworkSpec
    demand: DemandSpec
    sites: SitesSpec
    siting: SitingSpec
    pack: PackSpec = field(default_factory=PackSpec)
    design: DesignSpec = field(default_factory=DesignSpec)
    tariff: TariffSpec = field(default_factory=TariffSpec)
    operations: OperationsSpec = field(default_factory=OperationsSpec)
    simulation: SimulationSpec = field(default_factory=SimulationSpec)
    plans: tuple[PlanSpec, ...] = _DEFAULT_PLANS
    economics: EconomicsSpec = field(default_factory=EconomicsSpec)
    solver: SolverSpec = field(default_factory=SolverSpec)
    rollout: RolloutSpec | None = None
    name: str = "study"
    source: Path | None = None

    @classmethod
    def from_toml(cls, path: str | Path) -> Self:
        """Read and validate a study file.

        Raises
        ------
        StudyFileError
            The file cannot be read or decoded: missing, a folder, not UTF-8, not TOML (with the
            line), larger than :data:`MAX_STUDY_BYTES` or nested deeper than :data:`MAX_STUDY_DEPTH`.
            It is both a :class:`~swapnet.errors.FileFormatError` and a :class:`StudyError`.
        StudyError
            Any invalid key or value (the message names the key path).
        """
        p = Path(path)
        raw = _read_toml(p)
        return replace(cls.from_dict(raw), source=p)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Self:
        """Validate a study given as nested dicts (as :mod:`tomllib` returns them).

        Raises
        ------
        StudyError
            Unknown keys (with a suggestion), wrong types, impossible values, missing sections.
        """
        if not isinstance(d, Mapping):
            raise StudyError("study", d, "must be a table")
        known = (*_SECTIONS_REQUIRED, *_SECTIONS_OPTIONAL)
        for key in d:
            if key not in known:
                raise StudyError(str(key), d[key], _suggest(str(key), known).replace("key", "section", 1))
        missing = [s for s in _SECTIONS_REQUIRED if s not in d]
        if missing:
            raise StudyError(missing[0], None, "missing required section(s): " + ", ".join(f"[{s}]" for s in missing))
        name = d.get("name", "study")
        _require(isinstance(name, str), "name", name, "must be a string")
        network = NetworkSpec.parse(d["network"])
        demand = DemandSpec.parse(d["demand"])
        sites = SitesSpec.parse(d["sites"])
        nn = network.n_nodes
        if nn is not None and sites.n is not None:
            _require(sites.n <= nn, "sites.n", sites.n, f"more sites than network nodes ({nn})")
        siting = SitingSpec.parse(d["siting"])
        n_cand = sites.n if sites.kind == "service_stores" else nn
        if siting.p is not None and n_cand is not None:
            _require(siting.p <= n_cand, "siting.p", siting.p, f"more stations than candidate sites ({n_cand})")
        _check_flow_study(network, demand, sites, siting)
        raw_plans = d.get("plans")
        plans: tuple[PlanSpec, ...]
        if raw_plans is None:
            plans = _DEFAULT_PLANS
        else:
            _require(isinstance(raw_plans, list) and len(raw_plans) > 0, "plans", raw_plans, "must be a non-empty list")
            plans = tuple(PlanSpec.parse(p, f"plans[{i}]") for i, p in enumerate(raw_plans))
        economics = _simple(EconomicsSpec, d.get("economics", {}), "economics")
        _require(
            economics.operator_plan < len(plans),
            "economics.operator_plan",
            economics.operator_plan,
            f"no such plan (there are {len(plans)})",
        )
        study = cls(
            network=network,
            demand=demand,
            sites=sites,
            siting=siting,
            pack=_simple(PackSpec, d.get("pack", {}), "pack"),
            design=_simple(DesignSpec, d.get("design", {}), "design"),
            tariff=TariffSpec.parse(d.get("tariff", {})),
            operations=OperationsSpec.parse(d.get("operations", {})),
            simulation=_simple(SimulationSpec, d.get("simulation", {}), "simulation"),
            plans=plans,
            economics=economics,
            solver=_simple(SolverSpec, d.get("solver", {}), "solver"),
            rollout=_rollout(d, demand),
            name=name,
        )
        check_resources(network, sites, demand, study.simulation)
        return study
