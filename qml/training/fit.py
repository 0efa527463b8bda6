"""The fit loop: any ``torch.nn.Module``, loss, optimizer and scheduler, with checkpoints and resume.

::

    config = FitConfig(epochs=20, batch_size=32, seed=1, grad_clip_norm=1.0, early_stopping_patience=5)
    result = fit(model, nn.CrossEntropyLoss(), optimizer, (x_train, y_train), config=config,
                 validation=(x_val, y_val), metrics={"accuracy": accuracy}, out_dir="runs/a")
    # killed? the same call with resume=True continues from runs/a/checkpoint.pt

What it guarantees:

* **Repeatable.** The data order of epoch ``e`` depends on ``(seed, e)`` alone (a
  :class:`~torch.utils.data.DistributedSampler` permutation, also in a single process), and torch's
  global generator (dropout, noise layers) runs inside :func:`torch.random.fork_rng`, seeded with
  ``seed + rank``, so the caller's own random state is untouched and a CPU run is bit-for-bit
  repeatable. Nothing seeds the global generator outside that scope.
* **Resumable.** After every epoch the model, optimizer, scheduler, generator states, history and
  early-stopping state are saved atomically (see :mod:`qml.training.checkpoint`); a run killed at any
  point and resumed ends with the same weights as one that never stopped.
* **Safe.** A NaN or infinite loss stops the run with the epoch and step, before the bad step
  touches the weights, and leaves the last good checkpoint in place.
* **Data-parallel.** Given a :class:`~qml.training.distributed.DistributedContext` from
  :func:`~qml.training.distributed.init_distributed`, the model trains under DDP: each rank takes
  ``batch_size / world_size`` samples of every global batch, gradients are averaged, and only rank 0
  writes files. With the same seed and global batch it follows the single-process run.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from tqdm.auto import tqdm

from circuits.gradients import training_step
from qml.training.checkpoint import load_checkpoint, rng_states, save_checkpoint, set_rng_states
from qml.training.data import DataSource, HoldoutStrategy, as_dataset, holdout_indices
from qml.training.distributed import DistributedContext, single_process
from qml.training.errors import CheckpointError, NonFiniteLossError, OutputDirectoryError
from qml.training.evaluate import evaluate
from qml.training.files import remove_temporaries
from qml.training.losses import LossFn, compute_loss
from qml.training.metrics import MetricFn, write_metrics

__all__ = ["CHECKPOINT", "BEST", "METRICS", "FitConfig", "FitResult", "fit", "validation_split"]

CHECKPOINT = "checkpoint.pt"
"""File name of the last epoch's checkpoint inside the output directory."""
BEST = "best.pt"
"""File name of the best epoch's model weights (by the monitored metric) inside the output directory."""
METRICS = "metrics.jsonl"
"""File name of the per-epoch metrics (JSON lines) inside the output directory."""


@dataclass(frozen=True)
class FitConfig:
    """How to train.

    Attributes:
        epochs: number of passes over the training data.
        batch_size: samples per optimizer step, over all ranks together (the global batch).
        seed: decides the data order and torch's generator inside the loop (``0`` is a seed).
        shuffle: reshuffle the training data every epoch (``False``: always in order, e.g. for sequences).
        grad_clip_norm: clip the gradients' global 2-norm to this value before every step (``None``: off).
        early_stopping_patience: stop after this many epochs without improvement of ``monitor``
            (``None``: never stop early).
        early_stopping_min_delta: the least change that counts as an improvement.
        monitor: the history key early stopping and ``best.pt`` follow; ``None`` is ``val_loss`` with
            validation data, else ``train_loss``.
        monitor_mode: ``"min"``, ``"max"``, or ``"auto"`` (``max`` for keys with "acc", else ``min``).
        eval_batch_size: batch size of the validation pass.
        progress: show a progress bar per epoch (rank 0, on standard error) when a terminal or a
            notebook shows it; redirected output gets only the ``verbose`` lines.
        verbose: print one line per epoch (rank 0, on standard output).
        checkpoint_every: write ``checkpoint.pt``, ``best.pt`` and ``metrics.jsonl`` every this many epochs,
            and after the last one (or the early stop). ``1`` (default) writes after every epoch; a run of
            thousands of one-step epochs (full-batch physics training) spends most of its time writing, so
            it writes every 100 or so: a run stopped between writes resumes from the last one written and
            trains those epochs again, and ``best.pt`` holds the best epoch up to that write.
    """

    epochs: int = 10
    batch_size: int = 32
    seed: int = 0
    shuffle: bool = True
    grad_clip_norm: float | None = None
    early_stopping_patience: int | None = None
    early_stopping_min_delta: float = 0.0
    monitor: str | None = None
    monitor_mode: Literal["min", "max", "auto"] = "auto"
    eval_batch_size: int = 1024
    progress: bool = True
    verbose: bool = True
    checkpoint_every: int = 1

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"FitConfig.{name} must be a positive int, got {value!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"FitConfig.seed must be a non-negative int, got {self.seed!r}.")
        if self.grad_clip_norm is not None and not (self.grad_clip_norm > 0 and math.isfinite(self.grad_clip_norm)):
            raise ValueError(f"FitConfig.grad_clip_norm must be positive or None, got {self.grad_clip_norm!r}.")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ValueError(
                f"FitConfig.early_stopping_patience must be >= 1 or None, got {self.early_stopping_patience!r}."
            )
        if self.monitor_mode not in ("min", "max", "auto"):
            raise ValueError(f"FitConfig.monitor_mode must be 'min', 'max' or 'auto', got {self.monitor_mode!r}.")


_RESUMABLE_CHANGES = frozenset({"epochs", "progress", "verbose", "eval_batch_size", "checkpoint_every"})
"""Config fields a resumed run may change; any other change would make it a different run."""

_CHECKPOINT_KEYS = (
    "epoch",
    "model",
    "optimizer",
    "scheduler",
    "rng",
    "history",
    "best_epoch",
    "best_value",
    "bad_epochs",
    "config",
    "run_info",
)
"""What a resumable checkpoint holds (``best.pt`` holds only ``epoch``, ``model`` and the monitored value)."""


@dataclass
class FitResult:
    """What a run did.

    Attributes:
        history: one record per epoch: ``epoch``, ``train_loss``, ``val_loss`` and ``val_<metric>`` with
            validation data, ``lr``, ``time_s``.
        best_epoch: the epoch with the best monitored value (``None`` before any epoch).
        best_value: that value.
        stopped_early: whether early stopping ended the run.
        out_dir: where checkpoint, best weights and metrics were written (``None``: nowhere).
    """

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False
    out_dir: Path | None = None


def validation_split(data: DataSource, fraction: float, seed: int, *, shuffle: bool = True) -> tuple[Subset, Subset]:
    """Split off ``fraction`` of ``data`` for validation: a seeded random subset, or the tail when not shuffling.

    The tail (``shuffle=False``) keeps a time series chronological. The rows are those of
    :func:`qml.training.data.holdout_indices` (``"random"`` with ``torch.Generator().manual_seed(seed)``,
    or ``"tail"``).

    Returns:
        ``(train, validation)`` datasets.
    """
    dataset = as_dataset(data)
    strategy: HoldoutStrategy = "random" if shuffle else "tail"
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    train, held = holdout_indices(len(dataset), fraction, strategy, generator=generator)
    return Subset(dataset, train.tolist()), Subset(dataset, held.tolist())


def _monitor(config: FitConfig, has_validation: bool) -> tuple[str, str]:
    key = config.monitor or ("val_loss" if has_validation else "train_loss")
    mode = config.monitor_mode
    if mode == "auto":
        mode = "max" if "acc" in key else "min"
    return key, mode


def _writable_directory(out_dir: Path) -> None:
    """Create ``out_dir`` if needed and prove it takes files, before any training."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputDirectoryError(
            f"Output directory {out_dir} is a file, not a directory; choose another --out (out_dir)."
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OutputDirectoryError(
            f"Output directory {out_dir} cannot be written ({reason}); choose a writable --out (out_dir), "
            "or fix its permissions."
        ) from None


def _prepare_out_dir(out_dir: Path | None, resume: bool, overwrite: bool, ctx: DistributedContext) -> list[str]:
    """Check ``out_dir`` before training; return the names of the files a new run there replaces.

    A directory holds a run once it has ``checkpoint.pt``, the file written last at the end of an
    epoch. ``best.pt`` or ``metrics.jsonl`` without it are what a run killed during its first epoch
    left; a new run replaces them. Temporary files of killed writes are deleted.
    """
    if out_dir is None or (resume and not out_dir.exists()):
        return []  # nothing to resume: the restore says so, and no empty directory is left behind
    _writable_directory(out_dir)
    present = [name for name in (CHECKPOINT, METRICS, BEST) if (out_dir / name).exists()]
    if CHECKPOINT in present and not resume and not overwrite:
        raise OutputDirectoryError(
            f"Output directory {out_dir} already holds a run ({', '.join(present)}). "
            "Continue it with --resume, replace it with --overwrite, or choose another --out."
        )
    replaced = [] if resume else present
    ctx.barrier()  # every rank has looked before rank 0 changes anything
    if ctx.is_main:
        remove_temporaries(out_dir, (CHECKPOINT, BEST, METRICS))
        for name in replaced:
            (out_dir / name).unlink(missing_ok=True)
    ctx.barrier()
    return replaced


def _check_resumable(saved: Mapping[str, Any], config: FitConfig, run_info: Mapping[str, Any], path: Path) -> None:
    current = dataclasses.asdict(config)
    changed = [
        f"{key}: {saved['config'].get(key)!r} -> {value!r}"
        for key, value in current.items()
        if key not in _RESUMABLE_CHANGES and saved["config"].get(key) != value
    ]
    saved_info = saved.get("run_info", {})
    changed += [
        f"{key}: {saved_info.get(key)!r} -> {value!r}"
        for key, value in run_info.items()
        if key not in _RESUMABLE_CHANGES and saved_info.get(key) != value
    ]
    if changed:
        raise CheckpointError(
            f"Checkpoint {path} belongs to a different run ({'; '.join(changed)}). Resume with the original "
            "settings (only the number of epochs may grow), or start a new run in another directory."
        )


def _progress_bars_shown() -> bool:
    """Whether a progress bar would be seen: standard error is a terminal, or this is a notebook."""
    from tqdm import autonotebook, std

    if autonotebook.tqdm is not std.tqdm:  # tqdm found a notebook front end
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty is not None and isatty())


def _improved(value: float, best: float | None, mode: str, min_delta: float) -> bool:
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    train: DataSource,
    *,
    config: FitConfig,
    validation: DataSource | None = None,
    scheduler: Any = None,
    metrics: Mapping[str, MetricFn] | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    run_info: Mapping[str, Any] | None = None,
    distributed: DistributedContext | None = None,
) -> FitResult:
    """Train ``model`` and return its history; the model's weights are trained in place.

    Args:
        model: any module mapping a batch of inputs to outputs ``loss_fn`` accepts.
        loss_fn: ``loss_fn(outputs, targets) -> scalar``, a mean over the batch; or a
            :class:`~qml.training.losses.ModelLoss`, called as ``loss_fn(model, inputs, targets)``, for losses
            that need the model itself (residuals of a PINN at collocation points).
        optimizer: built on ``model.parameters()``.
        train: training data, ``(inputs, targets)`` tensors or a dataset of such pairs.
        config: epochs, batch size, seed, clipping, early stopping, display.
        validation: evaluated after every epoch (``val_loss`` and ``val_<metric>``).
        scheduler: a learning-rate scheduler stepped once per epoch (``ReduceLROnPlateau`` gets the
            monitored value).
        metrics: ``{name: metric(outputs, targets)}`` evaluated on the validation data.
        out_dir: where ``checkpoint.pt``, ``best.pt`` and ``metrics.jsonl`` go (``None``: nothing written).
        resume: continue the run saved in ``out_dir``.
        overwrite: replace a run already in ``out_dir``.
        run_info: plain values describing the run (recipe name, hyperparameters); saved in the
            checkpoint and checked on resume.
        distributed: the data-parallel context (``None``: one process on the model's device).

    Returns:
        The run's :class:`FitResult`.

    Raises:
        OutputDirectoryError: ``out_dir`` holds a run and neither ``resume`` nor ``overwrite`` is set, or
            it is not a writable directory (checked before training).
        CheckpointError: nothing to resume, a file that is not a resumable checkpoint, a checkpoint of a
            run with other settings, or ``config.epochs`` below the epochs already trained.
        NonFiniteLossError: the loss became NaN or infinite (the last good checkpoint is kept).
        ValueError: a batch size that does not divide among the ranks, or bad data shapes.
    """
    ctx = distributed or single_process(next((p.device for p in model.parameters()), torch.device("cpu")))
    if config.batch_size % ctx.world_size:
        raise ValueError(
            f"batch_size {config.batch_size} does not divide among {ctx.world_size} processes; "
            f"use a multiple of {ctx.world_size}."
        )
    run = _Run(
        model=model,
        loss_fn=loss_fn,
        optimizer=optimizer,
        scheduler=scheduler,
        config=config,
        train_set=as_dataset(train),
        val_set=as_dataset(validation) if validation is not None else None,
        metrics=dict(metrics or {}),
        out_dir=Path(out_dir) if out_dir is not None else None,
        run_info=dict(run_info or {}),
        ctx=ctx,
    )
    replaced = _prepare_out_dir(run.out_dir, resume, overwrite, ctx)
    if replaced and not overwrite:
        run.say(f"replaced {', '.join(replaced)} in {run.out_dir}, left by a run stopped during its first epoch")
    return run.execute(resume)


@dataclass
class _Run:
    """One call of :func:`fit`: its inputs and the state that checkpoints carry."""

    model: nn.Module
    loss_fn: LossFn
    optimizer: torch.optim.Optimizer
    scheduler: Any
    config: FitConfig
    train_set: Dataset
    val_set: Dataset | None
    metrics: dict[str, MetricFn]
    out_dir: Path | None
    run_info: dict[str, Any]
    ctx: DistributedContext
    result: FitResult = field(init=False)
    bad_epochs: int = 0
    saved_epoch: int = 0
    """The epoch of the last checkpoint written (or resumed from); 0 before the first."""
    pending_best: dict[str, Any] | None = None
    """The best epoch's ``best.pt`` contents, waiting for the next write (``checkpoint_every`` > 1)."""

    def __post_init__(self) -> None:
        self.result = FitResult(out_dir=self.out_dir)
        self.monitor, self.mode = _monitor(self.config, self.val_set is not None)

    def execute(self, resume: bool) -> FitResult:
        self.model.to(self.ctx.device)
        start_epoch, saved_rng = self._restore() if resume else (1, None)
        trained: nn.Module = self.model
        if self.ctx.active:
            device_ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
            trained = nn.parallel.DistributedDataParallel(self.model, device_ids=device_ids)
        sampler = DistributedSampler(
            self.train_set,
            num_replicas=self.ctx.world_size,
            rank=self.ctx.rank,
            shuffle=self.config.shuffle,
            seed=self.config.seed,
        )
        loader = DataLoader(self.train_set, batch_size=self.config.batch_size // self.ctx.world_size, sampler=sampler)
        cuda_devices = [self.ctx.device.index or 0] if self.ctx.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda_devices):
            if saved_rng is not None:
                set_rng_states(saved_rng)
            else:
                torch.random.default_generator.manual_seed(self.config.seed + self.ctx.rank)
                if cuda_devices:
                    torch.cuda.manual_seed(self.config.seed + self.ctx.rank)
            for epoch in range(start_epoch, self.config.epochs + 1):
                started = time.perf_counter()
                sampler.set_epoch(epoch)
                record = {"epoch": epoch, "train_loss": self._train_epoch(trained, loader, epoch)}
                self._end_epoch(record, started)
                if self.result.stopped_early:
                    break
        return self.result

    def say(self, line: str) -> None:
        """Print ``line`` (rank 0, with ``config.verbose``), above any progress bar."""
        if self.ctx.is_main and self.config.verbose:
            tqdm.write(line)

    def _restore(self) -> tuple[int, dict[str, Any]]:
        """Load the checkpoint of ``out_dir``; return the first epoch to run and the saved generator states."""
        if self.out_dir is None:
            raise CheckpointError("resume=True needs out_dir, the directory holding checkpoint.pt.")
        path = self.out_dir / CHECKPOINT
        leftovers = [name for name in (BEST, METRICS) if (self.out_dir / name).exists()]
        if not path.exists() and leftovers:
            raise CheckpointError(
                f"No {CHECKPOINT} in {self.out_dir}: the run there was stopped during its first epoch "
                f"(it left {', '.join(leftovers)}), so there is nothing to resume. Start it again without "
                "--resume; the leftovers are replaced."
            )
        saved = load_checkpoint(path, required=_CHECKPOINT_KEYS)
        _check_resumable(saved, self.config, self.run_info, path)
        done = int(saved["epoch"])
        self.saved_epoch = done
        if done > self.config.epochs:
            raise CheckpointError(
                f"The run in {self.out_dir} has already trained {done} epochs; a resumed run cannot be shorter "
                f"than that (epochs={self.config.epochs}). Resume with --epochs {done} to finish it without "
                f"training, or more to train on; or start a new run with --overwrite or another --out."
            )
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        if self.scheduler is not None and saved.get("scheduler") is not None:
            self.scheduler.load_state_dict(saved["scheduler"])
        self.result.history = list(saved["history"])
        self.result.best_epoch, self.result.best_value = saved["best_epoch"], saved["best_value"]
        self.bad_epochs = saved["bad_epochs"]
        patience = self.config.early_stopping_patience
        exhausted = patience is not None and self.bad_epochs >= patience  # the run's early stopping fired
        self.result.stopped_early = exhausted and done < self.config.epochs
        if self.ctx.is_main:  # drop the lines of an epoch that ran after the checkpoint
            write_metrics(self.out_dir / METRICS, self.result.history)
        if self.result.stopped_early:
            self.say(f"nothing to train: the run in {self.out_dir} stopped early at epoch {done}")
            return self.config.epochs + 1, saved["rng"]
        if done == self.config.epochs:
            self.say(
                f"nothing to train: the run in {self.out_dir} has all its {done} epochs "
                f"(resume with more than {done} epochs to train on)"
            )
        return done + 1, saved["rng"]

    def _train_epoch(self, trained: nn.Module, loader: DataLoader, epoch: int) -> float:
        """One pass over the training data; returns the mean training loss over all ranks."""
        ctx, config = self.ctx, self.config
        trained.train()
        totals = torch.zeros(2, dtype=torch.float64)  # sum of loss * samples, samples
        batches = tqdm(
            loader,
            desc=f"epoch {epoch}/{config.epochs}",
            unit="batch",
            leave=False,
            disable=not (ctx.is_main and config.progress and _progress_bars_shown()),
            dynamic_ncols=True,
        )
        with batches:
            for step, (inputs, targets) in enumerate(batches, start=1):
                inputs, targets = inputs.to(ctx.device), targets.to(ctx.device)
                self.optimizer.zero_grad(set_to_none=True)
                with training_step():  # parameter-shift backends send forward and shifted circuits as one job
                    loss = compute_loss(self.loss_fn, trained, inputs, targets)
                    value = float(loss.detach())
                    if ctx.sum(torch.tensor([0.0 if math.isfinite(value) else 1.0])).item() > 0:
                        raise self._non_finite(value, epoch, step)  # every rank stops together: DDP would hang
                    loss.backward()
                if config.grad_clip_norm is not None:
                    nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip_norm)
                self.optimizer.step()
                totals += torch.tensor([value * inputs.shape[0], inputs.shape[0]], dtype=torch.float64)
                if step % 10 == 0 or step == len(loader):
                    batches.set_postfix(loss=f"{value:.4g}", refresh=False)
        totals = ctx.sum(totals)
        return float(totals[0] / totals[1])

    def _non_finite(self, value: float, epoch: int, step: int) -> NonFiniteLossError:
        checkpoint = self.out_dir / CHECKPOINT if self.out_dir is not None else None
        kept = ""
        if checkpoint is not None and checkpoint.exists():
            kept = f"The last good checkpoint (epoch {self.saved_epoch}) is {checkpoint}; "
        return NonFiniteLossError(
            f"The loss is {value:.6g} at epoch {epoch}, step {step}: training stopped before this step changed "
            f"the weights. {kept}lower the learning rate or set grad_clip_norm, then resume.",
            epoch,
            step,
        )

    def _end_epoch(self, record: dict[str, float], started: float) -> None:
        """Validate, step the scheduler, update early stopping, save, report."""
        config, result = self.config, self.result
        if self.val_set is not None:
            scores, _ = evaluate(
                self.model,
                self.loss_fn,
                self.val_set,
                self.metrics,
                prefix="val_",
                batch_size=config.eval_batch_size,
                device=self.ctx.device,
            )
            record.update(scores)
        record["lr"] = float(self.optimizer.param_groups[0]["lr"])
        if self.monitor not in record:
            raise KeyError(f"monitor {self.monitor!r} is not in the epoch record; choose one of {sorted(record)}.")
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(record[self.monitor])
        elif self.scheduler is not None:
            self.scheduler.step()
        record["time_s"] = time.perf_counter() - started
        result.history.append(record)
        epoch, value = int(record["epoch"]), record[self.monitor]
        improved = _improved(value, result.best_value, self.mode, config.early_stopping_min_delta)
        if improved:
            result.best_epoch, result.best_value, self.bad_epochs = epoch, value, 0
        else:
            self.bad_epochs += 1
        patience = config.early_stopping_patience
        result.stopped_early = patience is not None and self.bad_epochs >= patience and epoch < config.epochs
        if self.out_dir is not None and self.ctx.is_main:
            if improved:  # the weights as they are now, written with the next checkpoint
                model = {key: value.detach().clone() for key, value in self.model.state_dict().items()}
                self.pending_best = {"epoch": epoch, "model": model, self.monitor: value}
            due = epoch % config.checkpoint_every == 0 or epoch == config.epochs or result.stopped_early
            if due:
                self._save(epoch)
        self.ctx.barrier()
        shown = "  ".join(f"{k} {v:.4g}" for k, v in record.items() if k not in ("epoch", "time_s", "lr"))
        self.say(f"epoch {epoch}/{config.epochs}  {shown}  ({record['time_s']:.1f} s)")
        if result.stopped_early:
            self.say(
                f"early stop: {self.monitor} did not improve for {patience} epochs "
                f"(best {result.best_value:.4g} at epoch {result.best_epoch})"
            )

    def _save(self, epoch: int) -> None:
        assert self.out_dir is not None
        if self.pending_best is not None:
            save_checkpoint(self.out_dir / BEST, self.pending_best)
            self.pending_best = None
        state = {
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": rng_states(),
            "history": self.result.history,
            "best_epoch": self.result.best_epoch,
            "best_value": self.result.best_value,
            "bad_epochs": self.bad_epochs,
            "config": dataclasses.asdict(self.config),
            "run_info": self.run_info,
        }
        save_checkpoint(self.out_dir / CHECKPOINT, state)
        write_metrics(self.out_dir / METRICS, self.result.history)
        self.saved_epoch = epoch
