"""Benchmark: the siting models on J.E. Beasley's OR-Library location instances, against the published optima.

Run with ``python benchmarks/siting_orlib.py`` (every set, 20 s per p-median instance, 10 s per set
cover, 30 s per capacitated p-median) or select sets and limits, e.g.
``python benchmarks/siting_orlib.py --sets pmed --only pmed1 pmed2 --time-limit 20``.

The data are the shared ``orlib`` folder (``$SWAPNET_DATA/orlib`` or ``shared/data/orlib`` beside
the checkout): pmed1-40 (uncapacitated p-median, :func:`~swapnet.siting.p_median`), the weighted
set-covering sets 4, 5, 6, A and B (:func:`~swapnet.siting.set_cover` with ``radius=0`` on a 0/1
cost matrix) and pmedcap01-10 (capacitated p-median, ``capacity=`` and ``loads=``; the objective is
the plain sum of distances). Each instance is one call timed end to end (reading excluded) with the
time limit as the whole call's budget; every plan is re-checked with ``verify()``.

Every instance file found in those folders runs (``pmed<k>.txt``, ``scp<set><k>.txt``,
``pmedcap<k>.txt``), so added OR-Library files (e.g. scpc1-scpnrh with their rows in ``optima.csv``)
run too; a set-cover instance with no proven optimum is compared with its best known value.

Per instance the script prints the published optimum, ours, the status, the gap, the seconds and
the 1-minute load average; then a summary per set (matched optimum, proven, within the target
seconds) and overall.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from swapnet.io.orlib import orlib_dir, read_pmed, read_pmed_optima, read_pmedcap, read_scp, read_scp_optima
from swapnet.siting import SitingPlan, SolveOptions, p_median, set_cover

SETS = ("pmed", "scp", "pmedcap")
TARGET_SECONDS = {"pmed": 20.0, "scp": 10.0, "pmedcap": 30.0}
PATTERNS = {
    "pmed": re.compile(r"pmed\d+"),
    "scp": re.compile(r"scp(?!info)[a-z]*\d+"),
    "pmedcap": re.compile(r"pmedcap\d+"),
}
"""The file stems (``<stem>.txt`` in the set's folder) that are instances of each set."""


def natural(name: str) -> tuple[str, int]:
    """Sort key: ``scp41 < scp42 < scp410``, ``pmed2 < pmed10`` (OR-Library's order)."""
    m = re.fullmatch(r"(\D+)(\d+)", name)
    if m is None:
        return (name, 0)
    head, digits = m.groups()
    if head == "scp" and len(digits) > 1:  # scp41 .. scp410: set 4, instances 1 .. 10
        return (head + digits[0], int(digits[1:]))
    return (head, int(digits))


def discover(set_: str) -> list[str]:
    """Every instance of the set found in its folder, in OR-Library's order (so added files run too)."""
    d = orlib_dir() / set_
    stems = [f.stem for f in d.glob("*.txt") if PATTERNS[set_].fullmatch(f.stem)]
    return sorted(stems, key=natural)


@dataclass(frozen=True)
class Row:
    set: str
    name: str
    size: str
    published: float
    ours: float
    status: str
    gap: float
    seconds: float
    load: float
    optimum_known: bool = True
    """False when ``published`` is only the best known value (the instance was never proven optimal)."""

    @property
    def tol(self) -> float:
        return 1e-6 * max(1.0, abs(self.published))

    @property
    def matched(self) -> bool:
        if self.optimum_known:
            return abs(self.ours - self.published) <= self.tol
        return self.ours <= self.published + self.tol

    @property
    def verdict(self) -> str:
        if not self.matched:
            return "MISMATCH"
        if not self.optimum_known:
            return "ok (best known)" if self.ours >= self.published - self.tol else "below best known"
        return "ok"

    @property
    def proven(self) -> bool:
        return self.status == "optimal" and self.matched


def load1() -> float:
    return os.getloadavg()[0]


def timed(call: Callable[[], SitingPlan]) -> tuple[SitingPlan, float]:
    t0 = time.perf_counter()
    plan = call()
    sec = time.perf_counter() - t0
    plan.verify()
    return plan, sec


def run_pmed(names: list[str], limit: float | None) -> list[Row]:
    d = orlib_dir() / "pmed"
    opt = read_pmed_optima(d / "pmedopt.txt")
    out = []
    for name in names:
        if name not in opt:
            print(f"pmed     {name:10s} skipped: not in pmedopt.txt", flush=True)
            continue
        inst = read_pmed(d / f"{name}.txt")
        opts = SolveOptions(time_limit=limit, mip_gap=0.0, threads=1)
        plan, sec = timed(lambda inst=inst, opts=opts: p_median(inst.cost, None, inst.p, options=opts))  # type: ignore[misc]
        out.append(row("pmed", name, f"n={inst.n} p={inst.p}", opt[name], plan, sec))
    return out


def run_scp(names: list[str], limit: float | None) -> list[Row]:
    d = orlib_dir() / "scp"
    opt = read_scp_optima(d / "optima.csv")
    best = read_scp_optima(d / "optima.csv", best_known=True)
    out = []
    for name in names:
        if name not in best:
            print(f"scp      {name:10s} skipped: no optimum or best known value in optima.csv", flush=True)
            continue
        inst = read_scp(d / f"{name}.txt")
        opts = SolveOptions(time_limit=limit, mip_gap=0.0, threads=1)
        C = inst.cost_matrix()
        plan, sec = timed(lambda C=C, inst=inst, opts=opts: set_cover(C, 0.0, site_costs=inst.costs, options=opts))  # type: ignore[misc]
        out.append(row("scp", name, f"{C.shape[0]}x{C.shape[1]}", best[name], plan, sec, optimum_known=name in opt))
    return out


def run_pmedcap(names: list[str], limit: float | None) -> list[Row]:
    d = orlib_dir() / "pmedcap"
    out = []
    for name in names:
        inst = read_pmedcap(d / f"{name}.txt")
        opts = SolveOptions(time_limit=limit, mip_gap=0.0, threads=1)
        plan, sec = timed(
            lambda inst=inst, opts=opts: p_median(  # type: ignore[misc]
                inst.cost, None, inst.p, capacity=inst.capacity, loads=inst.demand, options=opts
            )
        )
        out.append(row("pmedcap", name, f"n={inst.n} p={inst.p} Q={inst.capacity:g}", inst.optimum, plan, sec))
    return out


def row(
    set_: str, name: str, size: str, published: float, plan: SitingPlan, sec: float, *, optimum_known: bool = True
) -> Row:
    r = Row(set_, name, size, published, plan.objective, plan.status.value, plan.gap, sec, load1(), optimum_known)
    print(
        f"{r.set:8s} {r.name:10s} {r.size:24s} {r.published:>10.0f} {r.ours:>12.6g} {r.status:>11s} "
        f"{r.gap:>8.3%} {r.seconds:>8.2f} {r.load:>5.2f}  {r.verdict}",
        flush=True,
    )
    return r


def summary(rows: list[Row]) -> None:
    print()
    for s in SETS:
        rs = [r for r in rows if r.set == s]
        if not rs:
            continue
        tgt = TARGET_SECONDS[s]
        fast = [r for r in rs if r.proven and r.seconds <= tgt]
        slow = [f"{r.name} ({r.status}, gap {r.gap:.2%}, {r.seconds:.1f} s)" for r in rs if r not in fast]
        print(
            f"summary {s}: {sum(r.matched for r in rs)}/{len(rs)} equal the published optimum, "
            f"{sum(r.proven for r in rs)}/{len(rs)} proven optimal, {len(fast)}/{len(rs)} proven within "
            f"{tgt:g} s; total {sum(r.seconds for r in rs):.1f} s; max {max(r.seconds for r in rs):.1f} s; "
            f"load {min(r.load for r in rs):.2f}-{max(r.load for r in rs):.2f}"
        )
        if slow:
            print(f"  not met: {', '.join(slow)}")
    print(
        f"summary all: {sum(r.proven for r in rows)}/{len(rows)} proven optimal and equal to the published value; "
        f"{sum(r.seconds for r in rows):.1f} s in all"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS), help="instance sets to run")
    ap.add_argument("--only", nargs="+", default=None, help="run only these instances (e.g. pmed16 scpb2)")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds per instance (default: the set's target)")
    args = ap.parse_args()
    print(
        f"OR-Library siting benchmark; data {orlib_dir()}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cpus, one solver thread; load {load1():.2f} at start"
    )
    print(f"{'set':8s} {'instance':10s} {'size':24s} {'published':>10s} {'ours':>12s} {'status':>11s} "
          f"{'gap':>8s} {'seconds':>8s} {'load':>5s}")  # fmt: skip
    rows: list[Row] = []

    def pick(names: list[str]) -> list[str]:
        return names if args.only is None else [n for n in names if n in args.only]

    for s in args.sets:
        limit = args.time_limit if args.time_limit is not None else TARGET_SECONDS[s]
        if s == "pmed":
            rows += run_pmed(pick(discover(s)), limit)
        elif s == "scp":
            rows += run_scp(pick(discover(s)), limit)
        else:
            rows += run_pmedcap(pick(discover(s)), limit)
    if rows:
        summary(rows)


if __name__ == "__main__":
    main()
