"""Our import names (circuits, qml, hardware) are also used by unrelated distributions: pin that ours load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_packages_import_from_this_checkout():
    import circuits
    import hardware
    import qml

    for module in (circuits, qml, hardware):
        assert Path(module.__file__).resolve().is_relative_to(ROOT), module.__file__


def test_importing_the_engine_loads_no_vendor_sdk():
    """DESIGN.md section 2: importing circuits (and qml) never loads Qiskit or PennyLane."""
    code = (
        "import sys, circuits, qml, circuits.testing\n"
        "loaded = sorted(m for m in ('qiskit', 'qiskit_aer', 'pennylane') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == ""


def test_import_contracts_hold():
    """The package boundaries of DESIGN.md section 2 (import-linter contracts in pyproject.toml)."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_gates_doc_matches_the_registry():
    """docs/gates.md is generated from GATES; adding a gate means re-running the renderer."""
    result = subprocess.run(
        [sys.executable, "scripts/render_gates_doc.py", "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
