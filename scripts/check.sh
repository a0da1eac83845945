#!/usr/bin/env bash
# Every gate swapnet's CI runs: ruff, mypy --strict, the strict docs build, tests. Run from the
# project root with the project installed (pip install -e '.[dev]').
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
echo "== ruff"
"$PY" -m ruff check src tests benchmarks examples
"$PY" -m ruff format --check src tests benchmarks examples
echo "== mypy --strict"
"$PY" -m mypy --strict src
echo "== mkdocs build --strict"
# Warnings (broken links, unresolved API references, docstring problems) are errors.
# NO_MKDOCS_2_WARNING only hides Material's banner about its future, which is not a build warning.
SITE_DIR=$(mktemp -d)
trap 'rm -rf "$SITE_DIR"' EXIT
NO_MKDOCS_2_WARNING=1 "$PY" -m mkdocs build --strict --site-dir "$SITE_DIR"
echo "== pytest"
"$PY" -m pytest -q -p no:cacheprovider
