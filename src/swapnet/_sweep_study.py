"""Sweeps over a study file (private part of :mod:`swapnet.sweep`): :class:`StudyScenario`.

A study file evaluated with dotted-key overrides, the picklable unit ``swapnet sweep`` runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swapnet.errors import InvalidInputError

__all__ = ["StudyScenario", "scenario_id"]


def scenario_id(params: Mapping[str, Any]) -> str:
    """A stable id for a parameter set (hash of its canonical JSON)."""
    text = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StudyScenario:
    """A study (TOML file or dict) evaluated with dotted-key overrides: the picklable unit a sweep runs.

    ``params`` keys are dotted paths into the study file, list items by index, e.g.
    ``{"demand.segments.0.vehicles": 30000, "tariff.flat_price": 0.6}``. Each scenario validates the
    overridden study (a bad override is recorded as that scenario's error), runs it and returns its
    headline KPIs. Reports go to ``outdir/<scenario id>`` when ``outdir`` is set, else to a
    temporary folder that is removed.
    """

    base: Mapping[str, Any]
    outdir: str | None = None

    @classmethod
    def from_toml(cls, path: str | Path, *, outdir: str | Path | None = None) -> StudyScenario:
        """Read the base study from a TOML file.

        Raises
        ------
        FileFormatError
            The file cannot be read or is not TOML (not UTF-8, binary, a folder, missing).
        """
        import tomllib

        from swapnet.errors import FileFormatError

        p = Path(path)
        try:
            with p.open("rb") as fh:
                d = tomllib.load(fh)
        except tomllib.TOMLDecodeError as e:
            raise FileFormatError(p, None, f"not a valid TOML file ({e})") from None
        except UnicodeDecodeError as e:
            raise FileFormatError(p, None, f"not UTF-8 text ({e.reason} at byte {e.start})") from None
        except IsADirectoryError:
            raise FileFormatError(p, None, "is a folder, not a study file") from None
        except OSError as e:
            raise FileFormatError(p, None, f"cannot be read ({e.strerror})") from None
        return cls(d, None if outdir is None else str(outdir))

    def _study(self, params: Mapping[str, Any]) -> Any:
        import copy

        from swapnet.study import Study

        d = copy.deepcopy(dict(self.base))
        for key, value in params.items():
            _set_path(d, key, value)
        return Study.from_dict(d)

    def validate(self, params: Mapping[str, Any]) -> None:
        """Apply ``params`` and validate the study (nothing is solved); :func:`sweep` calls this for
        every scenario before any worker starts.

        Raises
        ------
        InvalidInputError
            An override names no key of the study (e.g. ``network.rowz``), indexes a list out of
            range (``segments.-1``, ``segments.9``) or sets a value the study refuses; the message
            names the dotted key.
        """
        try:
            self._study(params)
        except InvalidInputError as e:
            shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
            raise InvalidInputError(e.field, e.value, f"{e.reason} (grid scenario {shown})") from None

    def evaluate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run the study with ``params`` applied; returns KPIs (stations, costs, service, NPV, IRR).

        ``irr`` is the rate closest to zero when the cash flows have several IRRs; ``n_irr`` says how
        many there are (see :func:`swapnet.economics.irr_roots`).
        """
        import tempfile

        from swapnet.economics.finance import irr_roots

        study = self._study(params)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(self.outdir) / scenario_id(params) if self.outdir else Path(tmp)
            res = study.run(out, progress=False)  # the report folder is swapped in whole
        sim = res.simulation.network_kpis()["mean"]
        kpis: dict[str, Any] = {
            "stations": len(res.siting.sites),
            "siting_objective": res.siting.objective,
            "operations_cost_cny_day": res.operations.costs["total"],
            "energy_cny_day": res.operations.costs["energy"],
            "planned_lost_swaps_day": res.operations.lost_swaps,
            "service_level": float(sim["service_level"]),
            "npv_cny": res.operator.npv(),
            "irr": res.operator.irr(),
            "n_irr": len(irr_roots(res.operator.cash_flows()["net"].to_numpy())),
        }
        if res.rollout is not None:  # a study with a [rollout] section: its headline figures too
            kpis.update(res.rollout.kpis())
        return kpis


def _set_path(d: dict[str, Any], path: str, value: Any) -> None:
    """Set ``d[a][b][0][c] = value`` for ``path = "a.b.0.c"``; missing dict keys are created.

    List indices must be written as non-negative integers (``segments.-1`` is refused rather
    than read as "the last one"); an empty part (``a..b``) is refused.
    """
    if not isinstance(path, str) or not path:
        raise InvalidInputError("grid key", path, "must be a dotted study key such as 'network.rows'")
    parts = path.split(".")
    cur: Any = d
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if not part:
            raise InvalidInputError(path, value, "has an empty part in the dotted key")
        if isinstance(cur, list):
            if not part.isdigit() or int(part) >= len(cur):
                raise InvalidInputError(
                    path, value, f"{part!r} is not an index of the list at this key (0..{len(cur) - 1})"
                )
            idx = int(part)
            if last:
                cur[idx] = value
            else:
                cur = cur[idx]
        elif isinstance(cur, dict):
            if last:
                cur[part] = value
            else:
                cur = cur.setdefault(part, {})
        else:
            raise InvalidInputError(path, value, f"cannot descend into {'.'.join(parts[:k])!r}")
