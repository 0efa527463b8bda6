#!/usr/bin/env bash
# The main job: train a small hybrid classifier on the torch engine, print progress, write a plot.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/python examples/train_classifier.py "$@"
