"""The engine never re-runs an unguarded caller script in worker processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from swapnet.operations._procs import processes_allowed


def _write(path: Path, guarded: bool) -> Path:
    body = "from swapnet.operations._procs import processes_allowed\nprint('allowed', processes_allowed())\n"
    text = f"if __name__ == '__main__':\n    {body.splitlines()[1]}\n" if guarded else body
    path.write_text(("from swapnet.operations._procs import processes_allowed\n" + text) if guarded else text)
    return path


@pytest.mark.parametrize("guarded", [False, True])
def test_processes_only_for_guarded_scripts(tmp_path: Path, guarded: bool) -> None:
    script = _write(tmp_path / "user_script.py", guarded)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == f"allowed {guarded}"


PLAN = (
    "import numpy as np\n"
    "from swapnet import Station\n"
    "from swapnet.operations import plan_operations\n"
    "from swapnet.optim import SolveOptions\n"
    "from swapnet.tariff import TouTariff\n"
    "print('START', flush=True)\n"
    "def main():\n"
    "    st = [Station(f's{i}', i, 6, 2, 40.0, 80.0) for i in range(24)]\n"
    "    d = np.random.default_rng(0).poisson(0.6, (24, 24)).astype(float)\n"
    "    opts = SolveOptions(time_limit=20, mip_gap=0.0)\n"
    "    plan = plan_operations(st, d, TouTariff.guangdong(), periods=24, options=opts)\n"
    "    print('RUN', plan.details['decomposition'])\n"
)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a pool needs two cores")
def test_unguarded_script_with_a_pool_runs_once(tmp_path: Path) -> None:
    # 24 stations without trucks and 20 s: a pool of station workers where processes are allowed (the
    # guarded script shows it); the unguarded script must run in-process and print its line once
    runs = {}
    for guarded in (True, False):
        script = tmp_path / f"plan_{guarded}.py"
        script.write_text(PLAN + ("if __name__ == '__main__':\n    main()\n" if guarded else "main()\n"))
        out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        runs[guarded] = out.stdout.splitlines()
    assert re.fullmatch(r"RUN stations \(([2-9]|\d\d+) processes\)", runs[True][-1])  # a pool starts (workers import
    # the guarded script again: START once more per worker, but no second RUN)
    assert runs[False] == ["START", "RUN stations (1 process)"]  # the unguarded script runs once, in-process


def test_interactive_session_allows_processes() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from swapnet.operations._procs import processes_allowed as p; print(p())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "True"
    assert isinstance(processes_allowed(), bool)
