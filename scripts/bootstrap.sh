#!/usr/bin/env bash
# Create .venv (once) and install qml-hybrid with its test tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if [ ! -f .venv/.qml-hybrid-installed ] || [ pyproject.toml -nt .venv/.qml-hybrid-installed ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -c constraints.txt torch
    .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
    touch .venv/.qml-hybrid-installed
fi
