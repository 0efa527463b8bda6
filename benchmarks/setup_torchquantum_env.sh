#!/usr/bin/env bash
# Build the TorchQuantum 0.1.8 environment for benchmarks/hea.py --tq-python (see benchmarks/README.md).
# Usage: bash benchmarks/setup_torchquantum_env.sh [VENV_DIR]   (default: ./tq-venv)
set -euo pipefail
VENV=${1:-tq-venv}
python3 -m venv "$VENV"
PIP="$VENV/bin/pip"
PIN=$(mktemp); echo "torch==2.13.0" > "$PIN"
"$PIP" install -q torch==2.13.0
# torchquantum 0.1.8 pins qiskit<1.0 and declares tensorflow, pyscf, torchvision, nbsphinx, recommonmark:
# none is needed to simulate circuits, so it goes in with --no-deps and its real needs are listed here.
"$PIP" install -q --no-deps torchquantum==0.1.8
"$PIP" install -q -c "$PIN" "qiskit==0.46.3" "qiskit-aer==0.13.3" "qiskit-ibm-runtime==0.20.0" "setuptools<81" \
    "dill==0.3.4" pathos pylatexenc opt-einsum scipy matplotlib tqdm torchdiffeq
"$PIP" install -q --no-deps torchpack==0.3.1
"$PIP" install -q -c "$PIN" loguru multimethod tensorpack toml pyyaml
rm -f "$PIN"
# torchquantum imports torchvision for its dataset helpers only: an import-only stub.
SP=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
mkdir -p "$SP/torchvision"
cat > "$SP/torchvision/__init__.py" <<'PY'
"""Import-only torchvision stub for the TorchQuantum benchmark environment (any use raises ImportError)."""

__version__ = "0.0.0+stub"


class _Meta(type):
    def __getattr__(cls, name):
        return cls


class _Missing(metaclass=_Meta):
    def __init__(self, *args, **kwargs):
        raise ImportError("torchvision is an import-only stub in this environment")


def __getattr__(name):
    return _Missing
PY
for m in datasets transforms models io ops utils datasets/utils; do
    mkdir -p "$SP/torchvision/$m"
    printf 'def __getattr__(name):\n    from torchvision import _Missing\n    return _Missing\n' > "$SP/torchvision/$m/__init__.py"
done
"$VENV/bin/python" -W ignore -c "import torch, torchquantum as tq; d = tq.QuantumDevice(n_wires=2, bsz=3); print('torchquantum', tq.__version__ if hasattr(tq, '__version__') else '0.1.8', 'torch', torch.__version__, 'ok')"
