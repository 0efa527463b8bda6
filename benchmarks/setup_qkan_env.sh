#!/usr/bin/env bash
# Build the qkan 0.2.3 environment for benchmarks/qkan_bench.py --qkan-python (see benchmarks/README.md).
# Usage: bash benchmarks/setup_qkan_env.sh [VENV_DIR]   (default: ./qkan-venv)
set -euo pipefail
VENV=${1:-qkan-venv}
python3 -m venv "$VENV"
PIP="$VENV/bin/pip"
PIN=$(mktemp); echo "torch==2.13.0" > "$PIN"
trap 'rm -f "$PIN"' EXIT
# The CPU torch first, and the pin on every later install, so nothing "upgrades" it to a CUDA build.
"$PIP" install -q -c "$PIN" torch==2.13.0
# qkan 0.2.3 is an sdist whose setup.py builds an optional CuTe CUDA extension (and, with build isolation,
# would install its own torch to build against). QKAN_SKIP_CUDA_BUILD=TRUE gives the pure-Python package;
# --no-build-isolation builds it against the torch above, so setuptools/wheel/ninja go in first.
"$PIP" install -q -c "$PIN" "setuptools>=70" wheel ninja
# Declared deps: torch, tqdm, matplotlib. qkan/__init__ also imports numpy and sympy (utils, feynman), and
# the cutn solver uses opt_einsum on CPU (cuQuantum is GPU only). The extras (triton, cuquantum, pennylane,
# qiskit, cuda-tile) are not needed for the exact and cutn solvers. All listed explicitly, with --no-deps.
QKAN_SKIP_CUDA_BUILD=TRUE "$PIP" install -q --no-deps --no-build-isolation qkan==0.2.3
"$PIP" install -q -c "$PIN" numpy tqdm matplotlib sympy "opt_einsum==3.4.0"
"$VENV/bin/python" -W ignore -c "
import torch, qkan, opt_einsum
x = torch.rand(3, 2)
for solver in ('exact', 'cutn'):
    layer = qkan.QKANLayer(2, 2, reps=2, solver=solver, fast_measure=False, seed=0)
    layer(x).mean().backward()
print('qkan', qkan.__version__, 'torch', torch.__version__, 'opt_einsum', opt_einsum.__version__, 'exact+cutn ok')
"
