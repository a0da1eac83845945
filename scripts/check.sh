#!/usr/bin/env bash
# Every gate swapnet's CI runs: tests, mypy --strict, ruff. Run from the project root
# with the project installed (pip install -e '.[dev]').
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
echo "== ruff"
"$PY" -m ruff check src tests benchmarks examples
"$PY" -m ruff format --check src tests benchmarks examples
echo "== mypy --strict"
"$PY" -m mypy --strict src
echo "== pytest"
"$PY" -m pytest -q -p no:cacheprovider
