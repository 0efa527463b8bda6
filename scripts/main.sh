#!/usr/bin/env bash
# The main job: train the demo recipe (a hybrid classifier on the torch engine), print progress,
# write metrics, a checkpoint and plots to outputs/demo. Options pass through: bash scripts/main.sh --quick
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/qml demo "$@"
