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
    """The README's main job (``qml demo``, run by scripts/main.sh): even its quick setting must classify."""
    import json

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "qml", "demo", "--quick", "--out", str(out)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1].startswith("demo: 6 epochs in")
    assert json.loads((out / "summary.json").read_text())["test"]["test_accuracy"] >= 0.95
    assert {"history.png", "confusion.png", "metrics.jsonl", "checkpoint.pt"} <= {p.name for p in out.iterdir()}
    assert "scripts/main.sh" in (root / "README.md").read_text()
    assert ".venv/bin/qml demo" in (root / "scripts" / "main.sh").read_text()
