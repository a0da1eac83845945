"""The engine never re-runs an unguarded caller script in worker processes."""

from __future__ import annotations

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


def test_unguarded_script_with_a_pool_runs_once(tmp_path: Path) -> None:
    # a top-level call that would use station workers: the script must print its line exactly once
    script = tmp_path / "plan.py"
    script.write_text(
        "import numpy as np\n"
        "from swapnet import Station\n"
        "from swapnet.operations import plan_operations\n"
        "from swapnet.optim import SolveOptions\n"
        "from swapnet.tariff import TouTariff\n"
        "st = [Station(f's{i}', i, 6, 2, 40.0, 80.0) for i in range(4)]\n"
        "d = np.full((4, 24), 0.5)\n"
        "plan = plan_operations(st, d, TouTariff.guangdong(), periods=24, options=SolveOptions(time_limit=20))\n"
        "print('RUN', plan.status.value)\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("RUN") == 1


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
