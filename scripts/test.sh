#!/usr/bin/env bash
# The project's test command: lint, import contracts, then the default pytest run (not slow/gpu/provider).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/python -m pytest -n 2 "$@"
