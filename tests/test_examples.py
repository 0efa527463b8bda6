"""Every script in examples/ runs end to end with tiny settings (``--quick``) and writes its plot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_there_are_examples():
    assert any(path.name == "train_classifier.py" for path in EXAMPLES)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_quick(script, tmp_path):
    plot = tmp_path / "plots" / "figure.png"  # a folder that does not exist yet: the script creates it
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--plot", str(plot)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert plot.is_file() and plot.stat().st_size > 0, f"{script.name} did not write {plot}"


def test_main_job_learns_in_quick_mode(tmp_path):
    """The README's main job: even its tiny setting (digits 0 vs 1, 4 qubits, 2 epochs) must classify."""
    import re

    script = next(path for path in EXAMPLES if path.name == "train_classifier.py")
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--plot", str(tmp_path / "p.png")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    match = re.search(r"test accuracy (\d\.\d+)", result.stdout)
    assert match, result.stdout[-2000:]
    assert float(match.group(1)) >= 0.9, result.stdout[-2000:]
