"""The fit loop: repeatability, resume, early stopping, clipping, NaN handling, output-directory rules."""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from torch import nn

from qml.training import (
    BEST,
    CHECKPOINT,
    METRICS,
    CheckpointError,
    FitConfig,
    NonFiniteLossError,
    OutputDirectoryError,
    accuracy,
    fit,
    load_checkpoint,
    read_metrics,
    validation_split,
)


def _data(n: int = 96, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=gen)
    y = (x @ torch.tensor([1.0, -2.0, 0.5]) > 0).long()
    return x, y


def _model(seed: int = 0) -> nn.Module:
    """A small MLP with dropout, so the loop's generator matters."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():  # nn.Linear's own initialisation draws from the global generator
        model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 2))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return model


def _train(out_dir=None, epochs=5, resume=False, seed=3, overwrite=False, **config):
    model = _model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    x, y = _data()
    result = fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        (x[:64], y[:64]),
        validation=(x[64:], y[64:]),
        metrics={"accuracy": accuracy},
        scheduler=scheduler,
        config=FitConfig(epochs=epochs, batch_size=8, seed=seed, progress=False, verbose=False, **config),
        out_dir=out_dir,
        resume=resume,
        overwrite=overwrite,
    )
    return model, result


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_same_seed_same_weights_and_callers_generator_untouched():
    before = torch.get_rng_state()
    first, history = _train()
    assert torch.equal(torch.get_rng_state(), before)
    second, _ = _train()
    assert _same_weights(first, second)
    third, _ = _train(seed=4)
    assert not _same_weights(first, third)
    assert [r["epoch"] for r in history.history] == [1, 2, 3, 4, 5]
    assert history.history[-1]["lr"] == pytest.approx(0.05 * 0.5**2)


def test_learns():
    _, result = _train(epochs=8)
    assert result.history[-1]["val_accuracy"] >= 0.9
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


@pytest.mark.parametrize("stop_after", [1, 3])
def test_resumed_run_ends_with_the_same_weights(tmp_path, stop_after):
    straight, straight_result = _train(tmp_path / "straight", epochs=5)
    _train(tmp_path / "split", epochs=stop_after)
    resumed, resumed_result = _train(tmp_path / "split", epochs=5, resume=True)
    assert _same_weights(straight, resumed)
    strip = lambda h: [{k: v for k, v in r.items() if k != "time_s"} for r in h]  # noqa: E731
    assert strip(resumed_result.history) == strip(straight_result.history)
    assert strip(read_metrics(tmp_path / "split" / METRICS)) == strip(straight_result.history)


def test_checkpoint_every_writes_less_often_and_resumes_from_the_last_write(tmp_path, monkeypatch):
    fit_module = importlib.import_module("qml.training.fit")
    writes = []
    original = fit_module.save_checkpoint

    def counting(path, payload):
        writes.append(path.name)
        return original(path, payload)

    monkeypatch.setattr(fit_module, "save_checkpoint", counting)
    straight, straight_result = _train(tmp_path / "straight", epochs=7)
    assert writes.count(CHECKPOINT) == 7
    writes.clear()
    every, result = _train(tmp_path / "every", epochs=7, checkpoint_every=3)
    assert _same_weights(straight, every)  # the training is the same
    assert writes.count(CHECKPOINT) == 3  # after epochs 3, 6 and the last
    assert load_checkpoint(tmp_path / "every" / CHECKPOINT)["epoch"] == 7
    assert len(read_metrics(tmp_path / "every" / METRICS)) == 7
    best, straight_best = (load_checkpoint(tmp_path / run / "best.pt") for run in ("every", "straight"))
    assert best["epoch"] == result.best_epoch == straight_best["epoch"]
    assert all(torch.equal(a, b) for a, b in zip(best["model"].values(), straight_best["model"].values(), strict=True))

    # killed during epoch 6: the write of epoch 3 is kept; resumed, epochs 4 to 7 train again and end the same
    train_epoch = fit_module._Run._train_epoch

    def killed_in_epoch_6(self, trained, loader, epoch):
        if epoch == 6:
            raise KeyboardInterrupt
        return train_epoch(self, trained, loader, epoch)

    monkeypatch.setattr(fit_module._Run, "_train_epoch", killed_in_epoch_6)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "killed", epochs=7, checkpoint_every=3)
    assert load_checkpoint(tmp_path / "killed" / CHECKPOINT)["epoch"] == 3
    monkeypatch.setattr(fit_module._Run, "_train_epoch", train_epoch)
    resumed, resumed_result = _train(tmp_path / "killed", epochs=7, resume=True, checkpoint_every=2)
    assert _same_weights(straight, resumed)
    strip = lambda h: [{k: v for k, v in r.items() if k != "time_s"} for r in h]  # noqa: E731
    assert strip(resumed_result.history) == strip(straight_result.history)
    with pytest.raises(ValueError, match=r"FitConfig.checkpoint_every must be a positive int, got 0"):
        FitConfig(checkpoint_every=0)


def test_nan_loss_names_the_last_checkpoint_written(tmp_path):
    calls = {"n": 0}

    def loss_fn(output, target):
        calls["n"] += 1
        loss = nn.functional.mse_loss(output.squeeze(-1), target)
        return loss * math.nan if calls["n"] == 4 * 4 + 2 else loss  # epoch 5, step 2 (4 steps per epoch)

    model = nn.Linear(2, 1)
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))
    config = FitConfig(epochs=8, batch_size=8, progress=False, verbose=False, checkpoint_every=3)
    with pytest.raises(NonFiniteLossError, match=r"loss is nan at epoch 5, step 2.*checkpoint \(epoch 3\)"):
        fit(
            model, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1), (x, x.sum(-1)), config=config, out_dir=tmp_path
        )
    assert load_checkpoint(tmp_path / CHECKPOINT)["epoch"] == 3 and len(read_metrics(tmp_path / METRICS)) == 3


def test_checkpoint_contents(tmp_path):
    _train(tmp_path, epochs=2)
    saved = load_checkpoint(tmp_path / CHECKPOINT)
    assert saved["epoch"] == 2 and saved["config"]["seed"] == 3 and saved["config"]["epochs"] == 2
    assert {"torch", "python", "numpy"} <= set(saved["versions"])
    assert set(saved) >= {"model", "optimizer", "scheduler", "rng", "history", "best_epoch", "bad_epochs"}
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write leaves no temporary behind


def test_metrics_jsonl_is_strict_json_per_epoch(tmp_path):
    _, result = _train(tmp_path, epochs=3)
    lines = (tmp_path / METRICS).read_text().splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert records[1]["epoch"] == 2 and records[1]["val_loss"] == pytest.approx(result.history[1]["val_loss"])


def test_existing_run_needs_resume_or_overwrite(tmp_path):
    _train(tmp_path, epochs=1)
    with pytest.raises(OutputDirectoryError, match=r"already holds a run .*--resume.*--overwrite"):
        _train(tmp_path, epochs=1)
    _train(tmp_path, epochs=1, overwrite=True)
    assert load_checkpoint(tmp_path / CHECKPOINT)["epoch"] == 1


def test_resume_refuses_other_settings_and_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=r"No checkpoint at .*checkpoint\.pt"):
        _train(tmp_path, epochs=2, resume=True)
    with pytest.raises(CheckpointError, match=r"No checkpoint at .*never/checkpoint\.pt"):
        _train(tmp_path / "never", epochs=2, resume=True)
    assert not (tmp_path / "never").exists()
    _train(tmp_path, epochs=1)
    with pytest.raises(CheckpointError, match=r"different run \(seed: 3 -> 4\)"):
        _train(tmp_path, epochs=2, resume=True, seed=4)


def test_corrupted_checkpoint_is_named(tmp_path):
    _train(tmp_path, epochs=1)
    (tmp_path / CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"checkpoint.pt cannot be read"):
        _train(tmp_path, epochs=2, resume=True)


def test_nan_loss_stops_with_epoch_and_step_and_keeps_last_checkpoint(tmp_path):
    calls = {"n": 0}
    base = nn.MSELoss()

    def loss_fn(output, target):
        calls["n"] += 1
        loss = base(output.squeeze(-1), target)
        return loss * math.nan if calls["n"] == 2 * 4 + 3 else loss  # epoch 3, step 3 (4 steps per epoch)

    model = nn.Linear(2, 1)
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))
    y = x.sum(-1)
    config = FitConfig(epochs=5, batch_size=8, progress=False, verbose=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    weights_at = {}
    with pytest.raises(NonFiniteLossError, match=r"loss is nan at epoch 3, step 3.*checkpoint \(epoch 2\)") as info:
        fit(model, loss_fn, optimizer, (x, y), config=config, out_dir=tmp_path)
    assert (info.value.epoch, info.value.step) == (3, 3)
    saved = load_checkpoint(tmp_path / CHECKPOINT)
    assert saved["epoch"] == 2 and len(read_metrics(tmp_path / METRICS)) == 2
    weights_at["kept"] = saved["model"]["weight"]
    assert torch.isfinite(model.weight).all()


def test_early_stopping_and_best_weights(tmp_path):
    model = nn.Linear(3, 2)
    x, y = _data()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # nothing improves after the first epoch
    config = FitConfig(epochs=20, batch_size=16, early_stopping_patience=3, progress=False, verbose=False)
    result = fit(model, nn.CrossEntropyLoss(), optimizer, (x, y), validation=(x, y), config=config, out_dir=tmp_path)
    assert result.stopped_early and len(result.history) == 4 and result.best_epoch == 1
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 1


def test_gradient_clipping_bounds_the_step():
    model = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    x = torch.full((8, 4), 100.0)
    y = torch.zeros(8)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    config = FitConfig(epochs=1, batch_size=8, grad_clip_norm=0.01, shuffle=False, progress=False, verbose=False)
    fit(model, lambda out, t: (out.squeeze(-1) - t - 1).square().mean(), optimizer, (x, y), config=config)
    assert float(model.weight.detach().norm()) == pytest.approx(0.01, rel=1e-5)


def test_validation_split_sizes_and_order():
    x, y = _data(10)
    train, val = validation_split((x, y), 0.2, seed=0, shuffle=False)
    assert len(train) == 8 and len(val) == 2 and torch.equal(val[0][0], x[8])
    train_s, val_s = validation_split((x, y), 0.2, seed=0)
    assert sorted(train_s.indices + val_s.indices) == list(range(10))
    with pytest.raises(ValueError, match="leaves an empty part"):
        validation_split((x, y), 0.01, seed=0)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"FitConfig\.epochs must be a positive int, got 0"):
        FitConfig(epochs=0)
    with pytest.raises(ValueError, match=r"same first \(sample\) axis, got shapes \(4, 2\), \(3,\)"):
        data = (torch.zeros(4, 2), torch.zeros(3))
        fit(nn.Linear(2, 1), nn.MSELoss(), torch.optim.SGD([torch.zeros(1)], lr=0.1), data, config=FitConfig())


# -- output directory, resume and progress rules (issue 10) --------------------------------------


def _counting_fit(out_dir, *, epochs=2, resume=False, overwrite=False, verbose=False, progress=False, patience=None):
    """fit on the small MLP; returns (model, result, number of loss evaluations)."""
    calls = {"n": 0}
    base = nn.CrossEntropyLoss()

    def loss_fn(output, target):
        calls["n"] += 1
        return base(output, target)

    model = _model()
    x, y = _data()
    config = FitConfig(
        epochs=epochs, batch_size=8, seed=3, progress=progress, verbose=verbose, early_stopping_patience=patience
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    result = fit(
        model,
        loss_fn,
        optimizer,
        (x[:64], y[:64]),
        validation=(x[64:], y[64:]),
        config=config,
        out_dir=out_dir,
        resume=resume,
        overwrite=overwrite,
    )
    return model, result, calls["n"]


def test_an_output_path_that_is_a_file_is_refused_before_training(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(nn.CrossEntropyLoss, "forward", lambda self, *a: calls.append(1))  # training would call it
    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    with pytest.raises(OutputDirectoryError, match=r"notes\.txt is a file, not a directory; choose another --out"):
        _counting_fit(afile)
    with pytest.raises(OutputDirectoryError, match=r"notes\.txt/run cannot be written \(Not a directory\)"):
        _counting_fit(afile / "run")
    assert calls == [] and afile.read_text() == "mine"


def test_an_unwritable_output_directory_is_refused_before_training(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: refuse the probe file the way a read-only directory would
        real = tempfile.TemporaryFile

        def refuse(*args, dir=None, **kwargs):
            if Path(dir) == locked:
                raise PermissionError(13, "Permission denied")
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    else:
        locked.chmod(0o500)
    try:
        with pytest.raises(OutputDirectoryError, match=r"locked cannot be written \(Permission denied\)"):
            _counting_fit(locked)
    finally:
        locked.chmod(0o700)
    assert list(locked.iterdir()) == []


def test_resume_from_a_file_that_is_not_a_resumable_checkpoint(tmp_path):
    _counting_fit(tmp_path, epochs=1)
    (tmp_path / CHECKPOINT).write_bytes((tmp_path / BEST).read_bytes())  # best.pt: weights only
    with pytest.raises(
        CheckpointError, match=r"checkpoint\.pt is a qml-hybrid checkpoint without optimizer, scheduler"
    ):
        _counting_fit(tmp_path, epochs=2, resume=True)
    torch.save({"state_dict": {"w": torch.zeros(2)}}, tmp_path / CHECKPOINT)
    with pytest.raises(
        CheckpointError, match=r"is not a qml-hybrid checkpoint .*found a dict with keys \['state_dict'\]"
    ):
        _counting_fit(tmp_path, epochs=2, resume=True)
    torch.save(torch.zeros(3), tmp_path / CHECKPOINT)
    with pytest.raises(CheckpointError, match=r"is not a qml-hybrid checkpoint .*found a Tensor"):
        _counting_fit(tmp_path, epochs=2, resume=True)


def test_resume_cannot_shorten_a_run(tmp_path):
    _counting_fit(tmp_path, epochs=3)
    before = (tmp_path / CHECKPOINT).read_bytes()
    with pytest.raises(CheckpointError, match=r"has already trained 3 epochs; a resumed run cannot be shorter .*=2\)"):
        _counting_fit(tmp_path, epochs=2, resume=True)
    assert (tmp_path / CHECKPOINT).read_bytes() == before


def test_resuming_a_finished_run_trains_nothing_and_says_so(tmp_path, capsys):
    trained, _, _ = _counting_fit(tmp_path, epochs=3)
    resumed, result, calls = _counting_fit(tmp_path, epochs=3, resume=True, verbose=True)
    assert calls == 0 and _same_weights(trained, resumed) and len(result.history) == 3
    assert f"nothing to train: the run in {tmp_path} has all its 3 epochs" in capsys.readouterr().out


def test_resuming_an_early_stopped_run_trains_nothing(tmp_path, capsys):
    model = nn.Linear(3, 2)
    x, y = _data()
    config = FitConfig(epochs=20, batch_size=16, early_stopping_patience=3, progress=False, verbose=False)

    def run(epochs, resume):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # nothing improves after the first epoch
        config_now = dataclasses.replace(config, epochs=epochs, verbose=resume)
        return fit(model, nn.CrossEntropyLoss(), optimizer, (x, y), validation=(x, y), config=config_now,
                   out_dir=tmp_path, resume=resume)  # fmt: skip

    assert len(run(20, resume=False).history) == 4
    for epochs in (20, 30):  # a run that never stopped would have stopped at epoch 4 as well
        resumed = run(epochs, resume=True)
        assert resumed.stopped_early and len(resumed.history) == 4 and resumed.best_epoch == 1
        assert "nothing to train: the run in" in capsys.readouterr().out


def test_a_kill_between_best_and_checkpoint_in_the_first_epoch_leaves_a_restartable_directory(tmp_path, monkeypatch):
    fit_module = sys.modules["qml.training.fit"]
    save = fit_module.save_checkpoint

    def killed_before_the_checkpoint(path, payload):
        if Path(path).name == CHECKPOINT:
            raise KeyboardInterrupt  # stands for SIGKILL: best.pt is written, checkpoint.pt is not
        return save(path, payload)

    monkeypatch.setattr(fit_module, "save_checkpoint", killed_before_the_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        _counting_fit(tmp_path / "run", epochs=2)
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [BEST]
    with pytest.raises(CheckpointError, match=r"stopped during its first epoch \(it left best\.pt\).*without --resume"):
        _counting_fit(tmp_path / "run", epochs=2, resume=True)
    restarted, result, _ = _counting_fit(tmp_path / "run", epochs=2, verbose=True)
    clean, _, _ = _counting_fit(tmp_path / "clean", epochs=2)
    assert _same_weights(restarted, clean) and len(result.history) == 2


def test_a_plain_run_says_it_replaced_first_epoch_leftovers(tmp_path, capsys):
    (tmp_path / BEST).write_bytes(b"left by a killed run")
    (tmp_path / METRICS).write_text('{"epoch": 1}\n')
    _counting_fit(tmp_path, epochs=1, verbose=True)
    assert f"replaced metrics.jsonl, best.pt in {tmp_path}, left by a run stopped during its first epoch" in (
        capsys.readouterr().out
    )
    assert load_checkpoint(tmp_path / BEST)["epoch"] == 1 and len(read_metrics(tmp_path / METRICS)) == 1


def test_temporary_files_of_killed_writes_are_removed_by_the_next_run(tmp_path):
    """A process SIGKILLed inside write_atomic leaves its temporary file; the next run in the directory deletes it."""
    script = (  # loads qml/training/files.py alone (standard library only), so the process starts fast
        "import importlib.util, os, signal, sys\n"
        "spec = importlib.util.spec_from_file_location('files', sys.argv[1])\n"
        "files = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(files)\n"
        "def die(file):\n"
        "    file.write(b'partial')\n"
        "    file.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "files.write_atomic(sys.argv[2], die)\n"
    )
    source = Path(sys.modules["qml.training.files"].__file__)
    for name in (CHECKPOINT, BEST, METRICS):
        done = subprocess.run([sys.executable, "-c", script, str(source), str(tmp_path / name)], timeout=60)
        assert done.returncode == -signal.SIGKILL
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert len(leftovers) == 3 and all(name.startswith(".") and name.endswith(".tmp") for name in leftovers)
    (tmp_path / ".notes.tmp").write_text("not ours")
    _counting_fit(tmp_path, epochs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".notes.tmp", BEST, CHECKPOINT, METRICS]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_only_on_a_terminal_epoch_lines_always(tmp_path, capsys, monkeypatch):
    _counting_fit(None, epochs=2, progress=True, verbose=True)
    captured = capsys.readouterr()
    assert captured.err == ""  # redirected: no bar
    lines = captured.out.splitlines()
    assert [line.split()[:2] for line in lines] == [["epoch", "1/2"], ["epoch", "2/2"]]
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    _counting_fit(None, epochs=2, progress=True, verbose=True)
    assert "epoch 1/2" in terminal.getvalue() and "batch" in terminal.getvalue()  # the bar, on the terminal
    assert len(capsys.readouterr().out.splitlines()) == 2
