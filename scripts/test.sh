#!/usr/bin/env bash
# Installs everything the tests need into .venv and runs them all: lint, types, docs, tests.
# This is the README's test command and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

echo "== ruff";   .venv/bin/ruff check src tests benchmarks
echo "== mypy";   .venv/bin/mypy
echo "== mkdocs"; site=$(mktemp -d); .venv/bin/mkdocs build --strict --quiet --site-dir "$site"; rm -rf "$site"
echo "== pytest"; .venv/bin/pytest -q -p no:cacheprovider "$@"
