#!/usr/bin/env bash
# The GPU check (README, "GPU"), for a machine with an NVIDIA GPU and no network.
#   1. the tests marked `gpu`: torch engine on CUDA against CPU; Aer with device="GPU" where qiskit-aer-gpu is installed;
#   2. the GPU rows of the variational benchmark (ours on CUDA, n = 12..20, batch 1 and 64).
# Figures and logs go to $OUT (default: outputs/gpu_check). Python packages the machine lacks (qiskit, qiskit-aer-gpu,
# pennylane ...) can be brought as wheels in .whl/ (see docs/performance.md for the download command).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-outputs/gpu_check}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
if compgen -G ".whl/*.whl" > /dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$OUT/gpu.txt"
# The GPU test modules by path: collecting all of tests/ would need every vendor SDK on the machine.
"$PY" -m pytest -p no:cacheprovider -m gpu -o addopts="--import-mode=importlib" -q -rs \
    tests/circuits/sim/test_gpu.py tests/circuits/sim/test_noise_gpu.py tests/circuits/backends/test_aer_gpu.py 2>&1 | tee "$OUT/gpu_tests.log"
status=${PIPESTATUS[0]}
"$PY" benchmarks/gpu_bench.py --sizes "${GPU_SIZES:-8,12,16,20}" --markdown "$OUT/gpu_bench.md" 2>&1 | tee "$OUT/gpu_bench.log"
# The largest states: ours alone (the peer's kept states do not fit), fewer repetitions.
"$PY" benchmarks/gpu_bench.py --sizes 24 --batches 1,16 --reps 5 --peer-max-qubits 0 \
    --markdown "$OUT/gpu_bench_large.md" 2>&1 | tee "$OUT/gpu_bench_large.log"
exit "$status"
