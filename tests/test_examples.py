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
