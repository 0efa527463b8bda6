"""Run a recipe end to end: build it, fit, evaluate on the test data, plot, summarise.

What a run leaves in its output directory: ``checkpoint.pt`` (resumable), ``best.pt`` (best epoch's
weights), ``metrics.jsonl`` (one line per epoch), ``summary.json`` (test metrics and the run's facts),
``history.png`` (loss and metric curves), and ``confusion.png`` (classification, test data) or
``predictions.png`` (regression: predictions against targets over the whole series); a physics recipe's
:class:`~qml.recipes.recipe.Report` adds its own numbers to ``"test"``, its facts as top-level keys of
``summary.json``, and its own plots.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from circuits.backend import Backend
from qml.recipes.recipe import Experiment, RecipeOptions
from qml.recipes.registry import get_recipe
from qml.training.distributed import DistributedContext, single_process
from qml.training.evaluate import evaluate, predict
from qml.training.fit import FitConfig, FitResult, fit
from qml.training.plots import plot_confusion_matrix, plot_history, plot_predictions

__all__ = ["RunSummary", "run_recipe"]


@dataclass(frozen=True)
class RunSummary:
    """The facts of a finished run (also written to ``summary.json``).

    Attributes:
        recipe: its name.
        epochs_run: epochs in the history (all of them, after a resume).
        monitor: the key that marks the best epoch; best_epoch, best_value: where and what it was.
        test: ``test_loss`` and ``test_<metric>`` on the held-out test data.
        out_dir: where the files went.
        seconds: wall time of this process's run.
        world_size: processes that trained (``> 1``: data-parallel).
        max_rank_divergence: largest absolute difference of any weight between rank 0 and another rank
            after training (``0.0`` in one process).
        facts: the recipe's own facts (:attr:`Report.facts`), written as top-level keys of ``summary.json``.
    """

    recipe: str
    epochs_run: int
    monitor: str
    best_epoch: int | None
    best_value: float | None
    test: dict[str, float]
    out_dir: str | None
    seconds: float
    world_size: int
    max_rank_divergence: float
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``summary.json`` object: every field, with the facts as top-level keys."""
        record = asdict(self)
        facts = record.pop("facts")
        clashes = sorted(set(facts) & set(record))
        if clashes:
            raise ValueError(f"a recipe's facts may not reuse the summary's own keys: {', '.join(clashes)}.")
        return {**record, **facts}

    def line(self) -> str:
        """One line for the end of ``qml train``."""
        tests = ", ".join(f"{k} {v:.4g}" for k, v in self.test.items())
        best = f"best {self.monitor} {self.best_value:.4g} at epoch {self.best_epoch}" if self.best_epoch else ""
        where = f" -> {self.out_dir}" if self.out_dir else ""
        return f"{self.recipe}: {self.epochs_run} epochs in {self.seconds:.1f} s, {best}; {tests}{where}"


def _plots(experiment: Experiment, result: FitResult, outputs: torch.Tensor, out_dir: Path, title: str) -> None:
    plot_history(result.history, out_dir / "history.png", title=title)
    if experiment.task == "classification":
        labels, predicted = (
            experiment.predictions(outputs, experiment.test[1].to(outputs.device))
            if experiment.predictions is not None
            else (experiment.test[1], outputs.argmax(dim=-1))
        )
        plot_confusion_matrix(
            labels.cpu(),
            predicted.cpu(),
            out_dir / "confusion.png",
            num_classes=len(experiment.class_names) if experiment.class_names else None,
            class_names=experiment.class_names,
            title=f"{title}: test data",
        )
    elif experiment.task == "physics":
        return
    elif experiment.series is not None:
        x_all, y_all, split = experiment.series
        predicted = predict(experiment.model, x_all).cpu()
        plot_predictions(y_all, predicted, out_dir / "predictions.png", split_index=split, title=title)
    else:
        plot_predictions(experiment.test[1], outputs, out_dir / "predictions.png", title=f"{title}: test data")


def _rank_divergence(model: torch.nn.Module, ctx: DistributedContext) -> float:
    """Largest ``|w_rank - w_rank0|`` over all weights and ranks (0.0 in one process)."""
    if not ctx.active:
        return 0.0
    import torch.distributed as dist

    worst = torch.zeros(1, dtype=torch.float64, device=ctx.device)
    for parameter in model.parameters():
        reference = parameter.detach().clone()
        dist.broadcast(reference, src=0)
        worst = torch.maximum(worst, (parameter.detach() - reference).abs().max().double().reshape(1))
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)
    return float(worst)


def run_recipe(
    name: str,
    *,
    backend: Backend,
    seed: int = 0,
    epochs: int | None = None,
    batch_size: int | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    quick: bool = False,
    progress: bool = True,
    distributed: DistributedContext | None = None,
) -> RunSummary:
    """Train the recipe ``name`` and return its summary (rank 0 writes the files).

    Args:
        name: a registered recipe (``qml recipes`` lists them).
        backend: where its circuits run.
        seed: model initialisation and data order.
        epochs: overrides the recipe's default (``quick`` has its own default).
        batch_size: overrides the recipe's global batch size.
        out_dir: output directory (``None``: train without writing anything).
        resume: continue the run in ``out_dir`` (see :func:`qml.training.fit.fit`).
        overwrite: replace the run in ``out_dir``.
        quick: the recipe's few-second variant.
        progress: progress bar and epoch lines.
        distributed: the data-parallel context (``None``: one process).

    Raises:
        UnknownRecipeError: ``name`` is not registered.
        TrainingError: from the fit loop (existing output directory, bad checkpoint, NaN loss).
    """
    recipe = get_recipe(name)
    ctx = distributed or single_process()
    started = time.perf_counter()
    experiment = recipe.build(RecipeOptions(backend=backend, seed=seed, quick=quick))
    experiment.model.to(ctx.device)
    default_epochs = recipe.quick_epochs if quick else recipe.epochs
    config = FitConfig(
        epochs=epochs or default_epochs,
        batch_size=batch_size or recipe.batch_size,
        seed=seed,
        grad_clip_norm=recipe.grad_clip_norm,
        monitor=recipe.monitor,
        checkpoint_every=recipe.checkpoint_every,
        progress=progress,
        verbose=progress,
    )
    out_path = Path(out_dir) if out_dir is not None else None
    run_info: dict[str, Any] = {"recipe": name, "quick": quick, "backend": repr(backend)}
    result = fit(
        experiment.model,
        experiment.loss_fn,
        experiment.optimizer,
        experiment.train,
        config=config,
        validation=experiment.validation,
        scheduler=experiment.scheduler,
        metrics=experiment.metrics,
        out_dir=out_path,
        resume=resume,
        overwrite=overwrite,
        run_info=run_info,
        distributed=ctx,
    )
    scores, outputs = evaluate(
        experiment.model,
        experiment.loss_fn,
        experiment.test,
        experiment.metrics,
        prefix="test_",
        batch_size=config.eval_batch_size,
        device=ctx.device,
    )
    report = experiment.report(experiment.model, out_path if ctx.is_main else None) if experiment.report else None
    if report is not None:
        scores.update({key: float(value) for key, value in report.test.items()})
    monitor = recipe.monitor or "val_loss"
    summary = RunSummary(
        recipe=name,
        epochs_run=len(result.history),
        monitor=monitor,
        best_epoch=result.best_epoch,
        best_value=result.best_value,
        test=scores,
        out_dir=str(out_path) if out_path is not None else None,
        seconds=time.perf_counter() - started,
        world_size=ctx.world_size,
        max_rank_divergence=_rank_divergence(experiment.model, ctx),
        facts=dict(report.facts) if report is not None else {},
    )
    if out_path is not None and ctx.is_main:
        _plots(experiment, result, outputs.cpu(), out_path, title=f"{name} (seed {seed})")
        (out_path / "summary.json").write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    return summary
