"""The :class:`Study`: a whole planning study read from TOML, validated, and run.

Its sections and validation are :class:`~swapnet.study.StudySpec` (below the pipeline);
:class:`Study` adds :meth:`Study.run`, the one place that calls the pipeline and writes the report.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from swapnet import _atomic
from swapnet.study.model import MAX_STUDY_BYTES, MAX_STUDY_DEPTH, StudySpec
from swapnet.study.pipeline import run_pipeline
from swapnet.study.reporting import write_study_report
from swapnet.study.result import StudyResult

__all__ = ["MAX_STUDY_BYTES", "MAX_STUDY_DEPTH", "Study"]


class Study(StudySpec):
    """A planning study read from a TOML file (see ``docs/study.md``): :class:`StudySpec` and :meth:`run`.

    Read one with :meth:`from_toml` or :meth:`from_dict` (inherited; they return a :class:`Study`).
    The fields are those of :class:`~swapnet.study.StudySpec`.
    """

    def run(self, outdir: str | Path, *, progress: bool = True) -> StudyResult:
        """Run the study and write its report into ``outdir``.

        Stages: network, demand and sites -> siting -> operations (one day on the sited stations)
        -> simulation -> economics -> report (``report.md``, CSV tables, PNG figures).

        Parameters
        ----------
        outdir
            Output folder: new, empty, or a previous swapnet report (checked before anything is
            solved). The report is written into a temporary sibling folder and swapped in whole at
            the end, so a kill at any moment leaves the previous complete report or the new one.
        progress
            Print one line per stage.

        Returns
        -------
        StudyResult

        Raises
        ------
        InvalidInputError
            ``outdir`` is a file, lies under a file, or is a non-empty folder that is not a report.
        StorageError
            The report cannot be written (e.g. the disk is full).
        """
        out = _atomic.check_replaceable(outdir)
        result = run_pipeline(self, progress=progress)
        t0 = time.perf_counter()
        with _atomic.atomic_dir(out) as tmp:
            written = write_study_report(result, tmp)
        files = [Path(out).resolve() / f.relative_to(tmp) for f in written]
        timings = {**result.timings, "report": time.perf_counter() - t0}
        if progress:
            print(f"[6/6] report: {files[0]} and {len(files) - 1} more files ({timings['report']:.1f} s)", flush=True)
        return replace(result, files=tuple(files), timings=MappingProxyType(timings))
