"""Render docs/gates.md from the live gate registry (circuits.ir.gates.GATES).

    python scripts/render_gates_doc.py           # rewrite docs/gates.md
    python scripts/render_gates_doc.py --check   # exit 1 if docs/gates.md is out of date (the tests run this)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from circuits.ir.gates import GATES, GateSpec, MatrixData, PauliLabel, gate_matrix
from circuits.ir.parameters import as_angle

DOC = Path(__file__).resolve().parents[1] / "docs" / "gates.md"

HEADER = """# Gates

Generated from `circuits.ir.gates.GATES` by `python scripts/render_gates_doc.py`; the test
suite fails when this page and the registry disagree. Names follow Qiskit's `Gate.name`.
Matrices are big-endian: the first qubit of an operation is the most significant bit.

"Frequencies" are the positive frequencies with which an expectation value depends on each
parameter; the parameter-shift rule of `circuits.gradients.shift_rule` is built from them
(two terms for one frequency, `2R` terms for `R`). "Width" is the number of qubits, or the
smallest width of a variable-width gate.

| gate | width | params | frequencies per param | diagonal | real | inverse is a |
|---|---:|---:|---|:---:|:---:|---|
"""


def _inverse_name(spec: GateSpec) -> str:
    """The gate the registry's adjoint rule produces (``self`` for fixed self-inverse gates)."""
    data = {PauliLabel: PauliLabel("Z"), MatrixData: MatrixData(np.eye(2))}.get(spec.needs_data)
    params = tuple(as_angle(0.1 * (i + 1)) for i in range(spec.num_params))
    name, _, _ = spec.adjoint(params, data)
    return "self" if name == spec.name and spec.num_params == 0 and data is None else name


def _frequencies(spec: GateSpec) -> str:
    if callable(spec.frequencies):
        return "from the eigenvalue gaps of H"
    if not spec.num_params:
        return "-"
    return "; ".join(", ".join(f"{f:g}" for f in freqs) or "none" for freqs in spec.frequencies)


def _is_real(spec: GateSpec) -> bool:
    if spec.real:
        return True
    if spec.num_params or spec.needs_data is not None or spec.num_qubits is None:
        return False
    matrix = gate_matrix(spec.name, torch.zeros(1, 0, dtype=torch.float64))
    return bool((matrix.imag == 0).all())


def render() -> str:
    """The page's text."""
    rows = []
    for name in sorted(GATES):
        spec = GATES[name]
        width = str(spec.num_qubits) if spec.num_qubits is not None else f">= {max(spec.min_qubits, 1)}"
        rows.append(
            f"| `{name}` | {width} | {spec.num_params} | {_frequencies(spec)} | "
            f"{'yes' if spec.diagonal else ''} | {'yes' if _is_real(spec) else ''} | {_inverse_name(spec)} |"
        )
    return HEADER + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/gates.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is out of date: run python scripts/render_gates_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
