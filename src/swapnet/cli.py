"""The ``swapnet`` command line.

Commands
--------
``swapnet study run STUDY.toml -o OUTDIR``
    Validate and run a study, writing ``OUTDIR/report.md``, CSV tables and PNG figures.
``swapnet study check STUDY.toml``
    Validate a study file only (nothing is solved).
``swapnet doctor``
    Print library versions and solve a toy MILP with HiGHS (swapnet's own backend and Pyomo's
    ``appsi_highs``); exit status 0 when both work.

``swapnet sweep STUDY.toml GRID.toml -o STORE.jsonl``
    Run a study over a parameter grid, streaming results into the store (resumable) and writing
    the table to ``STORE.table.csv`` (``--table`` to choose).

Exit status: 0 on success, 1 when a run or a check of the installation fails (or output cannot be
written, e.g. a full disk), 2 for invalid input (bad study or grid file, a grid key or value the
study refuses, an unusable ``-o``, command-line usage). Outputs are written atomically: a killed
``study run`` leaves the previous complete report folder, a killed ``sweep`` a store that resumes.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from swapnet.errors import InvalidInputError, SwapnetError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``swapnet`` command."""
    parser = argparse.ArgumentParser(
        prog="swapnet",
        description="Plan battery-swap networks: run study files and sweeps, check the installation.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    study = sub.add_parser("study", help="validate or run a study file (TOML)", description="Study files.")
    ssub = study.add_subparsers(dest="action", metavar="ACTION")
    run = ssub.add_parser(
        "run",
        help="run a study and write its report",
        description="Validate and run a study: siting, operations, simulation, economics, report.",
    )
    run.add_argument("study", type=Path, help="study file (TOML)")
    run.add_argument("-o", "--outdir", type=Path, required=True, help="output folder for report.md, CSVs and PNGs")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    check = ssub.add_parser(
        "check", help="validate a study file only", description="Validate a study file without solving anything."
    )
    check.add_argument("study", type=Path, help="study file (TOML)")
    sw = sub.add_parser(
        "sweep",
        help="run a study over a parameter grid (local processes or a Dask cluster)",
        description=(
            "Evaluate STUDY over GRID and stream one JSON line per scenario into the store; "
            "run again with the same store to resume. GRID is a TOML file with a [grid] table of "
            "dotted study keys -> lists of values (Cartesian product), or [[scenario]] tables of overrides."
        ),
    )
    sw.add_argument("study", type=Path, help="study file (TOML)")
    sw.add_argument("grid", type=Path, help="grid file (TOML)")
    sw.add_argument("-o", "--store", type=Path, default=Path("sweep.jsonl"), help="results store (JSON lines)")
    sw.add_argument(
        "--table",
        type=Path,
        default=None,
        help="results table (CSV; default: the store's name with .table.csv, never the store itself)",
    )
    sw.add_argument("-w", "--workers", type=int, default=None, help="local worker processes (default: all cores)")
    sw.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")
    sw.add_argument("--retry-failed", action="store_true", help="run failed scenarios again")
    sw.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sub.add_parser(
        "doctor",
        help="check the installation (versions, HiGHS, Pyomo)",
        description="Print versions and solve a toy MILP with HiGHS directly and through Pyomo's appsi_highs.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``swapnet`` command.

    Parameters
    ----------
    argv
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status (0 success, 1 failure, 2 invalid input or usage).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help and usage errors
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    if args.command == "doctor":
        return _doctor()
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "study":
        if args.action == "check":
            return _check(args.study)
        if args.action == "run":
            return _run(args.study, args.outdir, progress=not args.quiet)
        with contextlib.suppress(SystemExit):
            parser.parse_args(["study", "--help"])
        return 2
    parser.print_help()
    return 2


def _fail(msg: object) -> None:
    print(f"swapnet: {msg}", file=sys.stderr)


def _terminate_on_sigterm() -> None:
    """Turn SIGTERM (and SIGHUP) into SystemExit so clean-up code runs (pools stopped, temporaries removed)."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                signal.signal(sig, stop)


def _load_grid(path: Path) -> object:
    import tomllib

    from swapnet.errors import FileFormatError

    try:
        with path.open("rb") as fh:
            g = tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise FileFormatError(path, None, f"not a valid TOML file ({e})") from None
    except UnicodeDecodeError as e:
        raise FileFormatError(path, None, f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    except IsADirectoryError:
        raise FileFormatError(path, None, "is a folder, not a grid file") from None
    except OSError as e:
        raise FileFormatError(path, None, f"cannot be read ({e.strerror})") from None
    grid = g.get("grid") or g.get("scenario")
    if not grid or set(g) - {"grid", "scenario"}:
        raise FileFormatError(path, None, "needs a [grid] table or [[scenario]] tables (and nothing else)")
    return grid


def _sweep(args: argparse.Namespace) -> int:
    from swapnet import _validate as _v
    from swapnet.errors import FileFormatError, StorageError
    from swapnet.sweep import StudyScenario, sweep, table_path, write_table

    store = Path(args.store)
    table = Path(args.table) if args.table is not None else table_path(store)
    try:
        scenario = StudyScenario.from_toml(args.study)
        from swapnet.study import Study

        Study.from_dict(scenario.base)  # fail fast on a bad base study
        grid = _load_grid(args.grid)
        if store.is_dir():
            raise InvalidInputError("-o/--store", str(store), "is a folder; give a file (JSON lines)")
        for parent in store.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise InvalidInputError("-o/--store", str(store), f"{parent} is a file, not a folder")
                break
        if table.resolve() == store.resolve():
            raise InvalidInputError("--table", str(table), "is the store; the results table needs its own file")
        if table.is_dir():
            raise InvalidInputError("--table", str(table), "is a folder; give a file name")
        if args.workers is not None:
            _v.integer(args.workers, "-w/--workers", minimum=1)
    except (FileFormatError, InvalidInputError) as e:
        _fail(e)
        return 2
    executor = None
    client = None
    _terminate_on_sigterm()
    try:
        if args.scheduler:
            from distributed import Client

            client = Client(args.scheduler)
            executor = client.get_executor()
        res = sweep(
            scenario,
            grid,  # type: ignore[arg-type]
            executor=executor,
            store=store,
            workers=args.workers,
            retry_failed=args.retry_failed,
            progress=not args.quiet,
        )
        print(res.summary())
        write_table(res, table)
    except InvalidInputError as e:
        _fail(f"{args.grid}: {e}")
        return 2
    except (StorageError, SwapnetError) as e:
        _fail(e)
        return 1
    except OSError as e:
        _fail(StorageError(getattr(e, "filename", None) or store, e.strerror or str(e)))
        return 1
    finally:
        if client is not None:
            client.close()
    print(f"table: {table}")
    return 0 if res.failed.empty else 1


def _load_study(path: Path) -> object:
    """The study of ``path``; every read, decode or validation problem is a swapnet error
    (:class:`~swapnet.study.StudyFileError` with the file and line, or a key-path :class:`StudyError`)."""
    from swapnet.study import Study

    return Study.from_toml(path)


def _check(path: Path) -> int:
    from swapnet.errors import FileFormatError
    from swapnet.study import Study

    try:
        study = _load_study(path)
    except (InvalidInputError, FileFormatError) as e:
        _fail(e if str(path) in str(e) else f"{path}: {e}")
        return 2
    assert isinstance(study, Study)
    net = study.network.dataset if study.network.kind == "file" else study.network.kind
    demand = "OD trips" if study.demand.kind == "od" else f"{len(study.demand.segments)} fleet segment(s)"
    sites = "every node a candidate site" if study.sites.n is None else f"{study.sites.n} candidate sites"
    print(
        f"{path}: OK ({study.name}: {net} network, {demand}, {sites}, "
        f"siting {study.siting.model}, {len(study.plans)} plan(s))"
    )
    return 0


def _run(path: Path, outdir: Path, *, progress: bool) -> int:
    """Run a study into ``outdir``: ``-o`` is checked before anything is solved, and the report
    folder is swapped in whole at the end (a kill leaves the previous complete report)."""
    from swapnet import _atomic
    from swapnet.errors import FileFormatError, StorageError
    from swapnet.study import Study

    try:
        study = _load_study(path)
        _atomic.check_replaceable(outdir)
    except (InvalidInputError, FileFormatError) as e:
        _fail(e if str(path) in str(e) or "outdir" in str(e) else f"{path}: {e}")
        return 2
    assert isinstance(study, Study)
    _terminate_on_sigterm()
    t0 = time.perf_counter()
    try:
        result = study.run(outdir, progress=progress)  # swaps the report folder in whole
        first = result.files[0].name if result.files else "report.md"
    except StorageError as e:
        _fail(e)
        return 1
    except SwapnetError as e:
        _fail(f"study failed: {e}")
        return 2 if isinstance(e, InvalidInputError) else 1
    except OSError as e:
        _fail(StorageError(getattr(e, "filename", None) or outdir, e.strerror or str(e)))
        return 1
    if progress:
        print(f"done in {time.perf_counter() - t0:.1f} s: {Path(outdir) / first}")
    return 0


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _toy_model() -> object:
    from swapnet.optim import LinearModel

    # max 5x + 4y  s.t.  6x + 4y <= 24,  x + 2y <= 6,  x, y integer >= 0  -> optimum 20 at (4, 0)
    lm = LinearModel("doctor", sense="max")
    blk = lm.add_vars("x", 2, cost=[5.0, 4.0], integer=True)
    cols = [blk.start, blk.start + 1]
    lm.add_constraints("c", rows=[0, 0, 1, 1], cols=cols + cols, vals=[6.0, 4.0, 1.0, 2.0], hi=[24.0, 6.0])
    return lm


def _doctor() -> int:
    from swapnet._version import __version__
    from swapnet.optim import LinearModel, SolveOptions, solve_pyomo

    print(f"python     {platform.python_version()} ({sys.executable})")
    print(f"swapnet    {__version__}")
    for mod in ("numpy", "scipy", "pandas", "networkx", "shapely", "highspy", "pyomo", "matplotlib"):
        print(f"{mod:<10} {_version(mod)}")
    ok = True
    lm = _toy_model()
    assert isinstance(lm, LinearModel)
    opts = SolveOptions(time_limit=10.0)
    try:
        sol = lm.solve(opts)
        good = abs(sol.objective - 20.0) < 1e-6
        verdict = "OK" if good else "WRONG"
        print(f"HiGHS (swapnet.optim): objective {sol.objective:g}, status {sol.status.value}: {verdict}")
        ok &= good
    except Exception as e:  # report any failure of the installation
        print(f"HiGHS (swapnet.optim): FAILED: {e}")
        ok = False
    try:
        obj, _ = solve_pyomo(lm.to_pyomo(), opts)
        good = abs(obj - 20.0) < 1e-6
        print(f"Pyomo appsi_highs:     objective {obj:g}: {'OK' if good else 'WRONG'}")
        ok &= good
    except Exception as e:  # report any failure of the installation
        print(f"Pyomo appsi_highs:     FAILED: {e}")
        ok = False
    print("doctor: all OK" if ok else "doctor: PROBLEMS FOUND")
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
