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

Exit status: 0 on success, 1 when a run or a check of the installation fails, 2 for invalid input
(bad study file or command-line usage).
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


def _sweep(args: argparse.Namespace) -> int:
    import tomllib

    from swapnet.sweep import StudyScenario, sweep

    try:
        scenario = StudyScenario.from_toml(args.study)
        from swapnet.study import Study

        Study.from_dict(scenario.base)  # fail fast on a bad base study
        with args.grid.open("rb") as fh:
            g = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, InvalidInputError) as e:
        print(f"swapnet: {e}", file=sys.stderr)
        return 2
    grid = g.get("grid") or g.get("scenario")
    if not grid or set(g) - {"grid", "scenario"}:
        print(f"swapnet: {args.grid}: needs a [grid] table or [[scenario]] tables (and nothing else)", file=sys.stderr)
        return 2
    executor = None
    client = None
    if args.scheduler:
        from distributed import Client

        client = Client(args.scheduler)
        executor = client.get_executor()
    try:
        res = sweep(
            scenario,
            grid,
            executor=executor,
            store=args.store,
            workers=args.workers,
            retry_failed=args.retry_failed,
            progress=not args.quiet,
        )
    except InvalidInputError as e:
        print(f"swapnet: {args.grid}: {e}", file=sys.stderr)
        return 2
    finally:
        if client is not None:
            client.close()
    print(res.summary())
    table = res.table
    csv = Path(args.store).with_suffix(".csv")
    table.to_csv(csv, index=False)
    print(f"table: {csv}")
    return 0 if res.failed.empty else 1


def _check(path: Path) -> int:
    from swapnet.study import Study

    try:
        study = Study.from_toml(path)
    except InvalidInputError as e:
        print(f"swapnet: {path}: {e}", file=sys.stderr)
        return 2
    net = study.network.dataset if study.network.kind == "file" else study.network.kind
    demand = "OD trips" if study.demand.kind == "od" else f"{len(study.demand.segments)} fleet segment(s)"
    sites = "every node a candidate site" if study.sites.n is None else f"{study.sites.n} candidate sites"
    print(
        f"{path}: OK ({study.name}: {net} network, {demand}, {sites}, "
        f"siting {study.siting.model}, {len(study.plans)} plan(s))"
    )
    return 0


def _run(path: Path, outdir: Path, *, progress: bool) -> int:
    from swapnet.study import Study

    try:
        study = Study.from_toml(path)
    except InvalidInputError as e:
        print(f"swapnet: {path}: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        result = study.run(outdir, progress=progress)
    except SwapnetError as e:
        print(f"swapnet: study failed: {e}", file=sys.stderr)
        return 2 if isinstance(e, InvalidInputError) else 1
    if progress:
        print(f"done in {time.perf_counter() - t0:.1f} s: {result.files[0]}")
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
    import swapnet
    from swapnet.optim import LinearModel, SolveOptions, solve_pyomo

    print(f"python     {platform.python_version()} ({sys.executable})")
    print(f"swapnet    {swapnet.__version__}")
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
