"""``qml recipes`` / ``qml train`` / ``qml demo``: the command line of the training toolkit, in subprocesses.

The two bars of issue 4 live here: a run killed with SIGKILL and resumed ends with the weights of an
uninterrupted run, and two-process DDP on CPU matches the single-process run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from circuits import TorchBackend
from qml.cli import main
from qml.recipes import RecipeOptions
from qml.recipes.basic import regression
from qml.training import CHECKPOINT, load_checkpoint, read_metrics

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    env.pop("RANK", None)
    return env


def _qml(*args: str, **kwargs) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "qml", *args]
    return subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300, **kwargs)


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / CHECKPOINT)["model"]


def _max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_recipes_lists_the_registered_experiments(capsys):
    assert main(["recipes"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert {"classifier", "regression", "demo"} <= set(names)


def test_unknown_recipe_lists_the_known_ones(capsys):
    assert main(["train", "no-such-recipe"]) == 2
    err = capsys.readouterr().err
    assert "qml train: error: unknown recipe 'no-such-recipe'; known recipes: baseline-pendulum," in err
    assert ", regression" in err


def test_train_writes_its_outputs_and_refuses_an_existing_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "regression", "--quick", "--no-progress", "--out", str(out), "--seed", "2"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("regression: 2 epochs in") and str(out) in line
    expected = {"checkpoint.pt", "best.pt", "metrics.jsonl", "summary.json", "history.png", "predictions.png"}
    assert expected <= {p.name for p in out.iterdir()}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs_run"] == 2 and summary["test"]["test_mse"] == pytest.approx(summary["test"]["test_loss"])
    assert len(read_metrics(out / "metrics.jsonl")) == 2
    assert main(["train", "regression", "--quick", "--no-progress", "--out", str(out)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "regression", "--quick", "--no-progress", "--out", str(out), "--resume", "--seed", "3"]) == 2
    assert "belongs to a different run (seed: 2 -> 3)" in capsys.readouterr().err


def test_train_refuses_an_output_path_that_is_a_file_before_training(tmp_path, capsys):
    afile = tmp_path / "results.txt"
    afile.write_text("keep me")
    assert main(["train", "regression", "--quick", "--out", str(afile)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"qml train: error: Output directory {afile} is a file, not a directory; " + (
        "choose another --out (out_dir).\n"
    )
    assert "epoch" not in captured.out and afile.read_text() == "keep me"


def test_resume_with_fewer_or_the_same_epochs(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["train", "regression", "--quick", "--out", str(out), "--seed", "1"]
    assert main([*base, "--epochs", "2"]) == 0
    capsys.readouterr()
    assert main([*base, "--epochs", "1", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "has already trained 2 epochs; a resumed run cannot be shorter than that (epochs=1)" in err
    assert "Resume with --epochs 2 to finish it without training" in err
    assert main([*base, "--epochs", "2", "--resume"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"nothing to train: the run in {out} has all its 2 epochs " + (
        "(resume with more than 2 epochs to train on)"
    )
    assert lines[-1].startswith("regression: 2 epochs in")


def test_classifier_quick_learns_and_plots_a_confusion_matrix(tmp_path, capsys):
    out = tmp_path / "clf"
    assert main(["train", "classifier", "--quick", "--no-progress", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs_run"] == 6 and summary["test"]["test_accuracy"] >= 0.95  # digits 0 vs 1
    assert (out / "confusion.png").stat().st_size > 1000


def test_sigkilled_run_resumes_to_the_uninterrupted_weights(tmp_path):
    """Kill mid-training with SIGKILL, resume, and compare with a run that was never interrupted (bar: 1e-6)."""
    args = ["train", "regression", "--epochs", "40", "--seed", "5", "--no-progress"]
    straight = tmp_path / "straight"
    assert _qml(*args, "--out", str(straight)).returncode == 0

    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "qml", *args, "--out", str(killed)]
    process = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    metrics = killed / "metrics.jsonl"
    while time.monotonic() < deadline and process.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 3:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the run finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    stopped_at = load_checkpoint(killed / CHECKPOINT)["epoch"]
    assert 3 <= stopped_at < 40

    resumed = _qml(*args, "--out", str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _max_difference(_weights(killed), _weights(straight)) <= 1e-6
    assert [r["epoch"] for r in read_metrics(metrics)] == list(range(1, 41))


def test_two_process_ddp_matches_the_single_process_run(tmp_path):
    """torchrun with two CPU processes (gloo) against one process with the same global batch."""
    args = ["train", "regression", "--epochs", "3", "--batch-size", "16", "--seed", "1", "--no-progress"]
    single = tmp_path / "single"
    assert _qml(*args, "--out", str(single)).returncode == 0
    ddp = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "qml", *args, "--out", str(ddp), "--distributed",
    ]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((ddp / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["max_rank_divergence"] == 0.0
    for key in ("train_loss", "val_loss"):
        single_loss = [r[key] for r in read_metrics(single / "metrics.jsonl")]
        ddp_loss = [r[key] for r in read_metrics(ddp / "metrics.jsonl")]
        assert ddp_loss == pytest.approx(single_loss, rel=1e-5, abs=1e-7)
    # The trained functions agree. The raw weights are compared only where they matter: the circuit's
    # final RZ before the <Z> readout has an exactly zero gradient, which Adam turns from rounding noise
    # (DDP averages two half-batch gradients) into full-size steps of a weight that changes nothing.
    predictions = {}
    for name, run_dir in (("single", single), ("ddp", ddp)):
        experiment = regression(RecipeOptions(backend=TorchBackend(), seed=1))
        experiment.model.load_state_dict(_weights(run_dir))
        with torch.no_grad():
            predictions[name] = experiment.model(experiment.test[0])
    torch.testing.assert_close(predictions["ddp"], predictions["single"], atol=1e-5, rtol=0)
    single_w, ddp_w = _weights(single), _weights(ddp)
    assert (
        _max_difference(
            {k: v for k, v in ddp_w.items() if k != "quantum.weights.w"},
            {k: v for k, v in single_w.items() if k != "quantum.weights.w"},
        )
        <= 1e-5
    )
    differing = (ddp_w["quantum.weights.w"] - single_w["quantum.weights.w"]).abs() > 1e-5
    assert int(differing.sum()) <= 4  # at most the 4 final RZ angles (one per qubit)
