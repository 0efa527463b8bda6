"""The fit loop: repeatability, resume, early stopping, clipping, NaN handling, output-directory rules."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from qml.training import (
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
