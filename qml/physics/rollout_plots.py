"""Plots of a rollout: the trajectory against the truth, and the true energy along it.

Drawn on a fresh Agg :class:`matplotlib.figure.Figure` (no ``pyplot`` state, no display needed), as
:mod:`qml.training.plots`; matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qml.physics.energy import EnergyRollout

__all__ = ["plot_rollout"]


def plot_rollout(
    rollout: EnergyRollout,
    path: str | Path,
    *,
    index: int = 0,
    planes: Sequence[tuple[int, int]] | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    dpi: int = 100,
) -> Path:
    """Write a PNG: trajectory ``index`` predicted against the truth, and the true energy along both.

    Left panel: each plane ``(i, j)`` plots coordinate ``j`` against coordinate ``i`` (default: the first
    coordinate against its momentum, the phase portrait ``(q1, p1)``). Right panel: ``H`` along the true and
    the predicted trajectory over time, the energy MSE in the legend.

    Args:
        rollout: from :func:`~qml.physics.energy.energy_rollout`.
        path: the PNG to write (parent folders are created).
        index: which trajectory of the batch.
        planes: coordinate pairs to draw.
        labels: a name for each coordinate (axis labels), e.g. ``("q", "p")``.
        title: the figure title.
        dpi: resolution.

    Returns:
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dim = rollout.true_states.shape[-1]
    planes = list(planes) if planes is not None else [(0, dim // 2)]
    names = list(labels) if labels is not None else [f"x{i}" for i in range(dim)]
    true, predicted = rollout.true_states[index], rollout.predicted_states[index]

    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    space, energy = fig.subplots(1, 2)
    for i, j in planes:
        suffix = f" ({names[i]}, {names[j]})" if len(planes) > 1 else ""
        space.plot(true[:, i], true[:, j], "k-", linewidth=2, label=f"truth{suffix}")
        space.plot(predicted[:, i], predicted[:, j], "--", linewidth=1.5, label=f"prediction{suffix}")
        space.plot(true[0, i], true[0, j], "ko", markersize=4)
    first, second = planes[0]
    space.set_xlabel(names[first] if len(planes) == 1 else "position x")
    space.set_ylabel(names[second] if len(planes) == 1 else "position y")
    space.set_title(f"rollout {index} ({rollout.method})")
    space.legend(fontsize=7)
    space.set_aspect("equal", adjustable="datalim")

    energy.plot(rollout.t, rollout.true_energy[index], "k-", linewidth=2, label="along the truth")
    energy.plot(rollout.t, rollout.predicted_energy[index], "--", label="along the prediction")
    energy.set_xlabel("time")
    energy.set_ylabel("true energy H")
    energy.set_title(f"energy MSE over all rollouts: {rollout.energy_mse:.3g}")
    energy.legend(fontsize=7)
    if title:
        fig.suptitle(title)

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", dpi=dpi)
    return out
