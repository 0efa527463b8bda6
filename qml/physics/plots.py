"""Plots of PINN results: a wavefunction against its reference, a space-time field and its error, causal weights.

Drawn like :mod:`qml.training.plots`: a fresh figure on the headless Agg canvas, no pyplot state,
matplotlib imported only when a plot is drawn; each function writes one PNG and returns its path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from qml.training.plots import _check_png_path, _new_figure, _save

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_causal_weights", "plot_space_time", "plot_wavefunction"]


def _written(fig: Figure, path: Path, dpi: int) -> Path:
    """Save ``fig`` as the PNG ``path`` and release it."""
    try:
        return _save(fig, path, dpi)
    finally:
        fig.clear()


def _numpy(values: torch.Tensor | np.ndarray) -> np.ndarray:
    return values.detach().cpu().double().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, float)


def plot_wavefunction(
    x: torch.Tensor,
    psi: torch.Tensor,
    references: Sequence[tuple[str, torch.Tensor]],
    path: str | Path,
    *,
    potential: torch.Tensor | None = None,
    title: str | None = None,
    dpi: int = 100,
) -> Path:
    """``psi(x)`` of the PINN and reference wavefunctions (top), their differences (bottom), ``V(x)`` shaded.

    Shape:
        x, psi, every reference, potential: ``(M,)``.
    """
    path = _check_png_path(path)
    xs, ps = _numpy(x), _numpy(psi)
    fig = _new_figure((7.0, 6.0))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    if potential is not None:
        shade = top.twinx()
        shade.fill_between(xs, _numpy(potential), color="0.85", step="mid", zorder=0)
        shade.set_ylabel("V(x)", color="0.45")
        shade.tick_params(axis="y", colors="0.45")
        top.set_zorder(shade.get_zorder() + 1)
        top.patch.set_visible(False)
    top.plot(xs, ps, color="C0", lw=2.0, label="PINN")
    for index, (label, values) in enumerate(references):
        ref = _numpy(values)
        top.plot(xs, ref, color=f"C{index + 1}", lw=1.2, ls="--", label=label)
        bottom.plot(xs, ps - ref, color=f"C{index + 1}", lw=1.2, label=f"PINN - {label}")
    top.set_ylabel("psi(x)")
    top.legend(loc="upper right")
    bottom.set_xlabel("x")
    bottom.set_ylabel("difference")
    bottom.axhline(0.0, color="0.5", lw=0.6)
    bottom.legend(loc="upper right")
    if title:
        top.set_title(title)
    return _written(fig, path, dpi)


def plot_space_time(
    t: torch.Tensor,
    x: torch.Tensor,
    predicted: torch.Tensor,
    reference: torch.Tensor,
    path: str | Path,
    *,
    title: str | None = None,
    dpi: int = 100,
) -> Path:
    """``u(t, x)`` of the PINN, of the reference, their absolute difference, and the error over time.

    Shape:
        t: ``(T,)``; x: ``(X,)``; predicted, reference: ``(T, X)``.
    """
    path = _check_png_path(path)
    ts, xs, u, ref = _numpy(t), _numpy(x), _numpy(predicted), _numpy(reference)
    fig = _new_figure((13.0, 7.0))
    axes = fig.subplots(2, 2)
    extent = (ts[0], ts[-1], xs[0], xs[-1])
    panels = ((axes[0, 0], u, "PINN u(t, x)", "RdBu_r"), (axes[0, 1], ref, "reference u(t, x)", "RdBu_r"))
    for ax, values, label, cmap in panels:
        image = ax.imshow(values.T, origin="lower", aspect="auto", extent=extent, cmap=cmap, vmin=-1.0, vmax=1.0)
        ax.set_title(label)
        ax.set_xlabel("t")
        ax.set_ylabel("x")
        fig.colorbar(image, ax=ax)
    error = np.abs(u - ref)
    image = axes[1, 0].imshow(error.T, origin="lower", aspect="auto", extent=extent, cmap="magma")
    axes[1, 0].set_title("|PINN - reference|")
    axes[1, 0].set_xlabel("t")
    axes[1, 0].set_ylabel("x")
    fig.colorbar(image, ax=axes[1, 0])
    relative = np.linalg.norm(u - ref, axis=1) / np.maximum(np.linalg.norm(ref, axis=1), 1e-300)
    axes[1, 1].semilogy(ts, relative, color="C3")
    axes[1, 1].set_xlabel("t")
    axes[1, 1].set_ylabel("relative L2 error over x")
    axes[1, 1].grid(True, which="both", alpha=0.3)
    if title:
        fig.suptitle(title)
    return _written(fig, path, dpi)


def plot_causal_weights(
    history: Sequence[tuple[int, torch.Tensor]],
    time_range: tuple[float, float],
    path: str | Path,
    *,
    title: str | None = None,
    dpi: int = 100,
) -> Path:
    """The causal weights ``w_i`` of the time chunks over training: a map (step, t) and a few snapshots.

    Args:
        history: ``[(step, w)]`` with ``w`` of shape ``(M,)`` (:attr:`CausalWeighting.history`).
        time_range: ``(t0, t1)``; chunk ``i`` is drawn at its centre.
        path: the PNG to write.
        title: a title over both panels.
        dpi: pixels per inch.
    """
    path = _check_png_path(path)
    if not history:
        raise ValueError("plot_causal_weights needs at least one recorded (step, weights) pair.")
    steps = np.array([step for step, _ in history], dtype=float)
    weights = np.stack([_numpy(w) for _, w in history])
    chunks = weights.shape[1]
    low, high = time_range
    centres = low + (np.arange(chunks) + 0.5) * (high - low) / chunks
    fig = _new_figure((12.0, 4.5))
    left, right = fig.subplots(1, 2)
    image = left.imshow(
        weights.T, origin="lower", aspect="auto", extent=(steps[0], steps[-1] + 1, low, high), vmin=0.0, vmax=1.0
    )
    left.set_xlabel("training step")
    left.set_ylabel("t (chunk)")
    left.set_title("causal weight w_i")
    fig.colorbar(image, ax=left)
    picks = sorted({round(q * (len(history) - 1)) for q in (0.0, 0.1, 0.25, 0.5, 1.0)})
    for index in picks:
        right.plot(centres, weights[index], marker=".", label=f"step {int(steps[index])}")
    right.set_xlabel("t")
    right.set_ylabel("w")
    right.set_ylim(-0.05, 1.05)
    right.legend(loc="lower left")
    if title:
        fig.suptitle(title)
    return _written(fig, path, dpi)
