"""Hamiltonian neural networks against a baseline MLP (issue 13): Table 1 of Greydanus et al. 2019.

Tasks 1, 2 and 4 of the paper with the data of :mod:`qml.data.hamiltonian` (the reference code's
constants): the ideal mass-spring, the ideal pendulum and two bodies. Each model sees phase-space
points ``x = (q, p)`` and is trained on the exact time derivatives with the MSE of Eq. 3, with the
paper's hyperparameters: 3 linear layers of 200 tanh units (orthogonal initial weights), Adam with
learning rate ``1e-3``; full batch for 2000 steps on the spring and the pendulum (weight decay
``1e-4`` as the reference's ``train.py``), batches of 200 for 10 000 steps on two bodies (no weight
decay). One epoch of the fit loop is one step on the spring and the pendulum, 200 steps on two bodies.
The test split validates every epoch, only to log the test loss as the reference does; the final
weights, not the best epoch's, are scored.

Every run's report adds to ``summary.json``'s ``"test"``: ``train_loss`` (Eq. 3 on the whole training
set, final weights); ``energy_mse``, Table 1's energy metric as the reference's ``analyze-spring`` and
``analyze-pend`` notebooks compute it: RK45 rollouts of the learned field (``rtol = atol = 1e-9``) from
15 initial states drawn as the notebooks draw them (each coordinate uniform in ``+-[0.2, 1]``, here from
``numpy.random.default_rng(seed)``), over ``t in [0, 20]`` at 100 times, the mean squared difference of
the true energy along the rollout and along the true trajectory (on two bodies, whose notebook draws
orbits as the data does, from the first state of the first 25 test orbits); ``state_mse`` of the
same rollouts; ``energy_mse_leapfrog``, the same metric with the symplectic Störmer-Verlet integrator;
and, on the spring and the pendulum, ``energy_mse_test_starts``, the metric from the noiseless first
state of each of the 25 test trajectories (the README's wording, "choose a trajectory from test
data"). The top-level keys ``"system"`` (the task, its Hamiltonian, constants, time span and noise)
and ``"rollout"`` say what was measured. ``rollout.png`` shows the first rollout against the truth and
the true energy along it (``rollout_leapfrog.png`` the same with the leapfrog).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from qml.data.base import Split
from qml.data.hamiltonian import (
    Trajectories,
    mass_spring,
    mass_spring_field,
    mass_spring_hamiltonian,
    mass_spring_trajectories,
    pendulum,
    pendulum_field,
    pendulum_hamiltonian,
    pendulum_trajectories,
    two_body,
    two_body_field,
    two_body_hamiltonian,
    two_body_trajectories,
)
from qml.kan import QKAN
from qml.physics.energy import EnergyRollout, energy_rollout
from qml.physics.errors import IntegrationError
from qml.physics.hnn import HNN, baseline_mlp, hamiltonian_mlp
from qml.physics.integrators import model_field
from qml.physics.rollout_plots import plot_rollout
from qml.recipes.recipe import Experiment, Recipe, RecipeOptions, Report
from qml.training.evaluate import predict

__all__ = ["RECIPES", "HamiltonianTask", "notebook_starts"]

_PAPER = "Greydanus, Dzamba, Yosinski, Hamiltonian Neural Networks (NeurIPS 2019), Table 1"


@dataclass(frozen=True)
class HamiltonianTask:
    """One system of Table 1 and how its recipes train and score it.

    Attributes:
        name: the recipe suffix (``spring``).
        split: the :mod:`qml.data.hamiltonian` split builder, ``split(num_trajectories, seed=...)``.
        trajectories: the raw generator with the same defaults (gives the noiseless initial states).
        hamiltonian: the exact numpy Hamiltonian.
        field: the exact numpy field.
        system: the physical facts written to ``summary.json`` (task, Hamiltonian, constants, time span, noise).
        num_trajectories: trajectories generated (train and test together).
        quick_trajectories: the same for ``--quick``.
        batch_size: rows per step (the whole training set of the full-size task on the spring and the
            pendulum: full batch, one step per epoch).
        epochs: default epochs (one per step when full batch).
        weight_decay: Adam's weight decay.
        rollouts: test trajectories the test-start rollouts begin from (the first ones; ``None``: all).
        notebook_starts: the energy metric starts from the reference notebook's random states (spring and
            pendulum); ``False``: from the test trajectories' first states (two bodies).
        planes: coordinate pairs of the rollout plot; labels: the coordinates' names.
    """

    name: str
    split: Callable[..., Split]
    trajectories: Callable[..., Trajectories]
    hamiltonian: Callable[[np.ndarray], np.ndarray]
    field: Callable[[np.ndarray], np.ndarray]
    system: dict[str, Any]
    num_trajectories: int
    quick_trajectories: int
    batch_size: int
    epochs: int
    weight_decay: float
    rollouts: int | None = None
    notebook_starts: bool = True
    planes: tuple[tuple[int, int], ...] = ((0, 1),)
    labels: tuple[str, ...] = ("q", "p")


#: Where the energy metric rolls out: ``t in [0, 20]`` at 100 times (the reference's analyze-spring notebook).
ROLLOUT_SPAN = (0.0, 20.0)
ROLLOUT_POINTS = 100
ROLLOUT_TOLERANCE = 1e-9
LEAPFROG_SUBSTEPS = 10
#: Initial states of the reference notebooks' energy metric: 15 (``--quick``: 5).
NOTEBOOK_STARTS, QUICK_NOTEBOOK_STARTS = 15, 5
#: The ``--quick`` variants roll out over ``t in [0, 2]`` at 11 times, two leapfrog steps apart.
QUICK_ROLLOUT_SPAN, QUICK_ROLLOUT_POINTS, QUICK_LEAPFROG_SUBSTEPS = (0.0, 2.0), 11, 2

TASKS = {
    "spring": HamiltonianTask(
        name="spring",
        split=mass_spring,
        trajectories=mass_spring_trajectories,
        hamiltonian=mass_spring_hamiltonian,
        field=mass_spring_field,
        system={
            "task": "ideal mass-spring (HNN task 1)",
            "hamiltonian": "H = q^2 + p^2",
            "constants": {"k": 2.0, "m": 0.5},  # H = k q^2 / 2 + p^2 / 2m
            "time_span": [0.0, 3.0],
            "points_per_trajectory": 30,
            "initial_radius": [0.1, 1.0],
            "noise_std": 0.1,
        },
        num_trajectories=50,
        quick_trajectories=8,
        batch_size=750,  # 25 trajectories x 30 points: full batch
        epochs=2000,
        weight_decay=1e-4,
    ),
    "pendulum": HamiltonianTask(
        name="pendulum",
        split=pendulum,
        trajectories=pendulum_trajectories,
        hamiltonian=pendulum_hamiltonian,
        field=pendulum_field,
        system={
            "task": "ideal pendulum (HNN task 2)",
            "hamiltonian": "H = 3 (1 - cos q) + p^2",
            "constants": {"potential_scale": 3.0, "kinetic_scale": 1.0},
            "time_span": [0.0, 3.0],
            "points_per_trajectory": 45,
            "initial_radius": [1.3, 2.3],
            "noise_std": 0.1,
        },
        num_trajectories=50,
        quick_trajectories=8,
        batch_size=1125,  # 25 trajectories x 45 points: full batch
        epochs=2000,
        weight_decay=1e-4,
    ),
    "two-body": HamiltonianTask(
        name="two-body",
        split=two_body,
        trajectories=two_body_trajectories,
        hamiltonian=two_body_hamiltonian,
        field=two_body_field,
        system={
            "task": "two-body problem (HNN task 4)",
            "hamiltonian": "H = (|p1|^2 + |p2|^2) / 2 - 1 / |q1 - q2|",
            "constants": {"m1": 1.0, "m2": 1.0, "G": 1.0},
            "coordinates": ["qx1", "qx2", "qy1", "qy2", "px1", "px2", "py1", "py2"],
            "time_span": [0.0, 20.0],
            "points_per_trajectory": 50,
            "initial_position_range": [0.5, 1.5],
            "orbit_noise": 0.05,
            "noise_std": 0.0,
        },
        num_trajectories=1000,
        quick_trajectories=10,
        batch_size=200,
        epochs=50,
        weight_decay=0.0,
        rollouts=25,
        notebook_starts=False,
        planes=((0, 2), (1, 3)),
        labels=("qx1", "qx2", "qy1", "qy2", "px1", "px2", "py1", "py2"),
    ),
}

#: The QKAN Hamiltonian of ``hnn-spring-qkan``: widths and re-uploadings (``--quick``: smaller).
QKAN_WIDTH, QKAN_REPS = (2, 8, 1), 3
QUICK_QKAN_WIDTH, QUICK_QKAN_REPS = (2, 3, 1), 2
#: Hidden units of the ``--quick`` MLPs (the full recipes use the paper's 200).
QUICK_HIDDEN = 32


def _model(kind: str, dim: int, generator: torch.Generator, quick: bool) -> nn.Module:
    hidden = QUICK_HIDDEN if quick else 200
    if kind == "hnn":
        return HNN(hamiltonian_mlp(dim, hidden, generator=generator), dim=dim)
    if kind == "baseline":
        return baseline_mlp(dim, hidden, generator=generator)
    width, reps = (QUICK_QKAN_WIDTH, QUICK_QKAN_REPS) if quick else (QKAN_WIDTH, QKAN_REPS)
    return HNN(QKAN(list(width), reps=reps, generator=generator), dim=dim)


def _initial_states(task: HamiltonianTask, data: Split, num_trajectories: int, seed: int) -> np.ndarray:
    """The noiseless first state of each test trajectory (regenerated with the split's seed and checked)."""
    raw = task.trajectories(num_trajectories, seed=seed)
    num_train = data.info["num_trajectories_train"]
    energy = raw.energy[num_train:].reshape(-1)
    if not np.allclose(energy, data.info["energy_test"].numpy(), rtol=1e-5, atol=1e-6):
        raise RuntimeError(
            f"{task.name}: the regenerated test trajectories do not match the split (same seed, same defaults "
            "expected); qml.data.hamiltonian's split builder and raw generator have diverged."
        )
    starts = raw.states[num_train:, 0, :]
    return starts[: task.rollouts] if task.rollouts is not None else starts


def notebook_starts(count: int, seed: int) -> np.ndarray:
    """Initial states as ``analyze-spring.ipynb`` / ``analyze-pend.ipynb`` draw them: ``q, p`` each in ``+-[0.2, 1]``.

    ``x0 = U[0, 1)^2 * 1.6 - 0.8; x0 += 0.2 sign(x0)``, from ``numpy.random.default_rng(seed)``.

    Shape:
        - Output: ``(count, 2)``.
    """
    x0 = np.random.default_rng(seed).random((count, 2)) * 1.6 - 0.8
    return x0 + 0.2 * np.sign(x0)


def _rollouts(
    task: HamiltonianTask, model: nn.Module, jobs: dict[str, tuple[np.ndarray, str]], t_eval: np.ndarray, substeps: int
) -> tuple[dict[str, EnergyRollout], dict[str, str]]:
    """Rollouts of the trained model, ``{label: (initial states, method)}``.

    A rollout that cannot be integrated (a diverging learned field) is reported in the failures, not raised.
    """
    learned = model_field(model)
    runs, failures = {}, {}
    for label, (x0, method) in jobs.items():
        try:
            runs[label] = energy_rollout(
                learned, task.field, task.hamiltonian, x0, t_eval,
                method=method, rtol=ROLLOUT_TOLERANCE, atol=ROLLOUT_TOLERANCE, substeps=substeps,
            )  # fmt: skip
        except IntegrationError as error:  # a diverging learned field: its energy MSE is not a number
            failures[label] = str(error)
    return runs, failures


def _report(
    task: HamiltonianTask,
    train: tuple[torch.Tensor, torch.Tensor],
    starts: np.ndarray,
    test_starts: np.ndarray,
    quick: bool,
    model_name: str,
) -> Callable[[nn.Module, Path | None], Report]:
    span, points, substeps = (
        (QUICK_ROLLOUT_SPAN, QUICK_ROLLOUT_POINTS, QUICK_LEAPFROG_SUBSTEPS)
        if quick
        else (ROLLOUT_SPAN, ROLLOUT_POINTS, LEAPFROG_SUBSTEPS)
    )
    t_eval = np.linspace(*span, points)
    jobs = {"rk45": (starts, "rk45"), "leapfrog": (starts, "leapfrog")}
    if task.notebook_starts:
        jobs["test_starts"] = (test_starts, "rk45")
    where = (
        f"{len(starts)} states drawn as the reference notebooks do (q, p each uniform in +-[0.2, 1])"
        if task.notebook_starts
        else f"the first state of the first {len(starts)} test orbits"
    )

    def report(model: nn.Module, out_dir: Path | None) -> Report:
        x_train, y_train = train
        train_loss = float(torch.mean((predict(model, x_train).cpu() - y_train) ** 2))
        runs, failures = _rollouts(task, model, jobs, t_eval, substeps)
        if out_dir is not None:
            for method in ("rk45", "leapfrog"):
                if method in runs:
                    suffix = "" if method == "rk45" else f"_{method}"
                    plot_rollout(runs[method], out_dir / f"rollout{suffix}.png", planes=task.planes,
                                 labels=task.labels, title=f"{model_name}: first rollout ({method})")  # fmt: skip
        nan = float("nan")
        test = {
            "train_loss": train_loss,
            "energy_mse": runs["rk45"].energy_mse if "rk45" in runs else nan,
            "state_mse": runs["rk45"].state_mse if "rk45" in runs else nan,
            "energy_mse_leapfrog": runs["leapfrog"].energy_mse if "leapfrog" in runs else nan,
        }
        if "test_starts" in jobs:
            test["energy_mse_test_starts"] = runs["test_starts"].energy_mse if "test_starts" in runs else nan
        rollout: dict[str, Any] = {
            "initial_states": where,
            "time_span": [float(t_eval[0]), float(t_eval[-1])],
            "points": len(t_eval),
            "energy_mse": "mean over rollouts and times of (H(true state) - H(predicted state))^2, H the true one",
            "rk45": {"method": "RK45 (scipy solve_ivp)", "rtol": ROLLOUT_TOLERANCE, "atol": ROLLOUT_TOLERANCE},
            "leapfrog": {"method": "generalized Stormer-Verlet", "dt": float(t_eval[1] - t_eval[0]) / substeps},
            "truth": {"method": "DOP853 (scipy solve_ivp)", "rtol": 1e-12, "atol": 1e-12},
        }
        if "test_starts" in jobs:
            rollout["test_starts"] = f"the noiseless first state of the {len(test_starts)} test trajectories"
        if failures:
            rollout["failures"] = failures
        return Report(test=test, facts={"system": task.system, "rollout": rollout, "reference": _PAPER})

    return report


@dataclass(frozen=True)
class _Training:
    """What differs between the models of one task: the network, Adam's settings, the epochs."""

    kind: str  # "hnn", "baseline" or "qkan"
    lr: float = 1e-3
    weight_decay: float | None = None  # None: the task's
    epochs: int | None = None  # None: the task's
    quick_epochs: int = 30


def _recipe(task: HamiltonianTask, training: _Training, summary: str) -> Recipe:
    kind = training.kind
    name = f"hnn-{task.name}-qkan" if kind == "qkan" else f"{kind}-{task.name}"
    decay = task.weight_decay if training.weight_decay is None else training.weight_decay

    def build(options: RecipeOptions) -> Experiment:
        count = task.quick_trajectories if options.quick else task.num_trajectories
        data = task.split(count, seed=options.seed)
        test_starts = _initial_states(task, data, count, options.seed)
        if task.notebook_starts:
            starts = notebook_starts(QUICK_NOTEBOOK_STARTS if options.quick else NOTEBOOK_STARTS, options.seed)
        else:
            starts = test_starts
        generator = torch.Generator().manual_seed(options.seed)
        model = _model(kind, data.x_train.shape[1], generator, options.quick)
        train, test = (data.x_train, data.y_train), (data.x_test, data.y_test)
        return Experiment(
            model=model,
            loss_fn=nn.MSELoss(),
            optimizer=torch.optim.Adam(model.parameters(), lr=training.lr, weight_decay=decay),
            train=train,
            validation=test,
            test=test,
            task="physics",
            report=_report(task, train, starts, test_starts, options.quick, name),
        )

    epochs = training.epochs or task.epochs
    return Recipe(
        name,
        summary,
        build,
        epochs=epochs,
        batch_size=task.batch_size,
        quick_epochs=training.quick_epochs,
        checkpoint_every=max(1, epochs // 20),  # hnn-spring: 101 s writing after every epoch, 65 s so
    )


_SPRING, _PENDULUM, _TWO_BODY = TASKS["spring"], TASKS["pendulum"], TASKS["two-body"]
_HNN, _BASELINE = _Training("hnn"), _Training("baseline")
_TWO_BODY_QUICK = 2  # epochs of 200-row batches

RECIPES = (
    _recipe(_SPRING, _HNN, "HNN (3x200 tanh MLP Hamiltonian) on the ideal mass-spring, Table 1 (energy MSE)"),
    _recipe(_SPRING, _BASELINE, "baseline MLP field on the ideal mass-spring, Table 1 (energy MSE)"),
    _recipe(_PENDULUM, _HNN, "HNN on the ideal pendulum, Table 1 (energy MSE)"),
    _recipe(_PENDULUM, _BASELINE, "baseline MLP field on the ideal pendulum, Table 1 (energy MSE)"),
    _recipe(_TWO_BODY, _Training("hnn", quick_epochs=_TWO_BODY_QUICK), "HNN on two-body orbits, Table 1 (energy MSE)"),
    _recipe(
        _TWO_BODY,
        _Training("baseline", quick_epochs=_TWO_BODY_QUICK),
        "baseline MLP field on two-body orbits, Table 1 (energy MSE)",
    ),
    _recipe(
        _SPRING,
        _Training("qkan", lr=1e-2, weight_decay=0.0, epochs=500, quick_epochs=10),
        "HNN whose Hamiltonian is a QKAN([2, 8, 1], 3 re-uploadings) on the ideal mass-spring (energy MSE)",
    ),
)
"""The recipes of this module (listed in :func:`qml.recipes.registry._shipped`)."""
