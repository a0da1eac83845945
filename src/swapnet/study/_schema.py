"""Study-file schema: key specs, value checks, presets and the :class:`StudyError`."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swapnet.errors import FileFormatError, InvalidInputError

PACK_PRESETS: tuple[str, ...] = ("catl_25_lfp", "catl_25_ncm", "catl_20_lfp", "catl_20_ncm")
#: Station-design presets (names of :class:`~swapnet.assets.StationDesign` class methods).
DESIGN_PRESETS: tuple[str, ...] = ("choco_swap", "nio_pss2", "nio_pss3", "nio_pss4")
#: BaaS plan presets (names of :class:`~swapnet.economics.BaaSPlan` class methods).
PLAN_PRESETS: tuple[str, ...] = ("nio_baas_75", "choco_swap_unlimited", "choco_family", "evogo_block")
#: Fleet-segment kinds (names of :class:`~swapnet.demand.FleetSegment` class methods).
SEGMENT_KINDS: tuple[str, ...] = ("private", "ride_hailing", "taxi")

#: Flow-based siting models (they need ``demand.kind = "od"`` and a dataset network).
FLOW_MODELS: tuple[str, ...] = ("flow_refueling", "flow_capturing")
#: Matrix siting models available in studies (besides ``size_stations``).
MATRIX_MODELS: tuple[str, ...] = ("p_median", "set_cover", "max_coverage")
#: Hourly profiles for OD demand (names of :class:`~swapnet.demand.DailyProfile` presets).
PROFILES: tuple[str, ...] = ("urban", "highway", "flat")
#: Days per month used to turn daily swaps into monthly ones (as :class:`~swapnet.demand.FleetSegment`).
DAYS_PER_MONTH = 30.4
# datasets without an OD table (normalised names as in swapnet.io.load_network)
_NO_OD_DATASETS = frozenset({"dcnybos", "25node"})


def _dataset_key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_SECTIONS_REQUIRED: tuple[str, ...] = ("network", "demand", "sites", "siting")
_SECTIONS_OPTIONAL: tuple[str, ...] = (
    "name",
    "pack",
    "design",
    "tariff",
    "operations",
    "simulation",
    "plans",
    "economics",
    "solver",
    "rollout",
)


class StudyError(InvalidInputError):
    """A study file is invalid; ``field`` is the full key path (e.g. ``demand.segments[1].vehicles``)."""


class StudyFileError(FileFormatError, StudyError):
    """A study file cannot be read or decoded (missing, a folder, not UTF-8, not TOML, too big or too deep).

    Both a :class:`~swapnet.errors.FileFormatError` (``path``, ``line``) and a :class:`StudyError`
    (``field = "path"``).
    """

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        self.field = "path"
        self.value = str(path)
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        Exception.__init__(self, f"{where}: {reason}")


# ------------------------------------------------------------------ validation helpers
_MISSING: Any = object()


@dataclass(frozen=True)
class _Key:
    """One key of a table: its type, default, limits and choices."""

    kind: str  # "int", "float", "str", "bool"
    default: Any = _MISSING
    minimum: float | None = None
    exclusive: bool = False
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    nullable: bool = False
    below: float | None = None  # exclusive upper limit (e.g. a MIP gap < 1)


def _suggest(key: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(options), n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    return f"unknown key; expected one of {', '.join(sorted(options))}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _value(value: Any, path: str, spec: _Key) -> Any:
    if value is None and spec.nullable:
        return None
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise StudyError(path, value, "must be an integer")
        num: float = value
    elif spec.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise StudyError(path, value, "must be a number")
        if not math.isfinite(float(value)):
            raise StudyError(path, value, "must be finite")
        value = float(value)
        num = value
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            raise StudyError(path, value, "must be true or false")
        return value
    else:
        if not isinstance(value, str):
            raise StudyError(path, value, "must be a string")
        if spec.choices is not None and value not in spec.choices:
            close = difflib.get_close_matches(value, list(spec.choices), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise StudyError(path, value, f"must be one of {', '.join(spec.choices)}{hint}")
        return value
    if spec.minimum is not None:
        if spec.exclusive and not num > spec.minimum:
            raise StudyError(path, value, f"must be greater than {spec.minimum:g}")
        if not spec.exclusive and num < spec.minimum:
            raise StudyError(path, value, f"must be at least {spec.minimum:g}")
    if spec.maximum is not None and num > spec.maximum:
        raise StudyError(path, value, f"must be at most {spec.maximum:g}")
    if spec.below is not None and not num < spec.below:
        raise StudyError(path, value, f"must be less than {spec.below:g}")
    return value


def _table(raw: Any, path: str, schema: Mapping[str, _Key]) -> dict[str, Any]:
    """Check a TOML table against ``schema``; returns every key with defaults filled in."""
    if not isinstance(raw, Mapping):
        raise StudyError(path, raw, "must be a table")
    for key in raw:
        if key not in schema:
            raise StudyError(_join(path, str(key)), raw[key], _suggest(str(key), list(schema)))
    out: dict[str, Any] = {}
    for key, spec in schema.items():
        if key in raw:
            out[key] = _value(raw[key], _join(path, key), spec)
        elif spec.default is _MISSING:
            raise StudyError(_join(path, key), None, "missing required key")
        else:
            out[key] = spec.default
    return out


def _require(cond: bool, path: str, value: Any, reason: str) -> None:
    if not cond:
        raise StudyError(path, value, reason)


# ------------------------------------------------------------------ sections
