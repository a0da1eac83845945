"""The ``swapnet`` command line: help, study check, doctor."""

from __future__ import annotations

from pathlib import Path

import pytest

from swapnet.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "national_car" / "study.toml"


@pytest.mark.parametrize("argv", [["--help"], ["study", "--help"], ["study", "run", "--help"], ["doctor", "--help"]])
def test_help_everywhere(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert "usage: swapnet" in capsys.readouterr().out


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["study"]) == 2
    assert main(["study", "run", str(EXAMPLE)]) == 2  # -o missing
    assert "required" in capsys.readouterr().err


def test_study_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["study", "check", str(EXAMPLE)]) == 0
    assert "OK" in capsys.readouterr().out


def test_study_check_reports_key_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text(encoding="utf-8").replace("spacing_km =", "spacing_kms ="), encoding="utf-8")
    assert main(["study", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "network.spacing_kms" in err and "did you mean 'spacing_km'?" in err
    assert main(["study", "run", str(bad), "-o", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
    assert main(["study", "check", str(tmp_path / "missing.toml")]) == 2


def test_doctor(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "HiGHS (swapnet.optim): objective 20" in out
    assert "Pyomo appsi_highs:     objective 20" in out
    assert "all OK" in out
