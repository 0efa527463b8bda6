"""Checkpoints: everything a run needs to continue exactly where it stopped, written atomically.

A checkpoint is one ``torch.save`` file holding the model, optimizer and scheduler state dicts, the
random number generator states, the epoch, the history of per-epoch metrics, the early-stopping
state, the run's configuration and the versions of the libraries that wrote it. It is written
atomically (:func:`qml.training.files.write_atomic`), so a run killed at any moment leaves either the
previous checkpoint or the new one, never a torn file.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from qml.training.errors import CheckpointError
from qml.training.files import write_atomic

__all__ = ["library_versions", "load_checkpoint", "rng_states", "save_checkpoint", "set_rng_states"]

FORMAT_VERSION = 1
"""Version of the checkpoint layout; bumped when its keys change meaning."""


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries that decide a run's numbers."""
    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for name in ("qml-hybrid", "numpy", "qiskit", "qiskit-aer", "pennylane"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def rng_states() -> dict[str, Any]:
    """The states of torch's global generators (CPU, and every CUDA device in use)."""
    states: dict[str, Any] = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["torch_cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore what :func:`rng_states` saved."""
    torch.set_rng_state(states["torch_cpu"])
    if "torch_cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["torch_cuda"])


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus the format version and library versions) to ``path`` atomically.

    Args:
        path: the checkpoint file; its directory is created when missing.
        payload: tensors, state dicts and plain Python values (``torch.save`` pickles them).

    Returns:
        The path written.
    """
    record = {"format_version": FORMAT_VERSION, "versions": library_versions(), **payload}
    return write_atomic(path, lambda file: torch.save(record, file))


def load_checkpoint(path: str | Path, required: Iterable[str] = ()) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors land on the CPU).

    Args:
        path: the file.
        required: keys the caller needs (e.g. ``"optimizer"`` to resume a run); a file without them
            is refused, naming what it lacks.

    Raises:
        CheckpointError: the file is missing, unreadable, not a qml-hybrid checkpoint, of another
            format version, or lacks a required key.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}: nothing to resume. Start the run without --resume.")
    try:
        # weights_only=False: the payload holds optimizer and RNG states and plain config values, written by us
        record = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a truncated or foreign file: say which and why
        raise CheckpointError(f"Checkpoint {path} cannot be read ({type(error).__name__}: {error}).") from error
    if not isinstance(record, dict) or "format_version" not in record:
        kind = type(record).__name__
        found = f"a dict with keys {sorted(map(str, record))[:8]}" if isinstance(record, dict) else f"a {kind}"
        raise CheckpointError(
            f"{path} is not a qml-hybrid checkpoint (expected what save_checkpoint writes, found {found})."
        )
    if record["format_version"] != FORMAT_VERSION:
        raise CheckpointError(
            f"Checkpoint {path} has format version {record['format_version']!r}; "
            f"this qml-hybrid reads version {FORMAT_VERSION}."
        )
    missing = [key for key in required if key not in record]
    if missing:
        raise CheckpointError(
            f"{path} is a qml-hybrid checkpoint without {', '.join(missing)}: it holds {', '.join(sorted(record))}."
        )
    return record
