"""Checkpoints: everything a run needs to continue exactly where it stopped, written atomically.

A checkpoint is one ``torch.save`` file holding the model, optimizer and scheduler state dicts, the
random number generator states, the epoch, the history of per-epoch metrics, the early-stopping
state, the run's configuration and the versions of the libraries that wrote it. It is written to a
temporary file in the same directory, flushed to disk, then renamed over the old one
(:func:`os.replace` is atomic on POSIX and Windows), so a run killed at any moment leaves either the
previous checkpoint or the new one, never a torn file.
"""

from __future__ import annotations

import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from qml.training.errors import CheckpointError

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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"format_version": FORMAT_VERSION, "versions": library_versions(), **payload}
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(record, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors land on the CPU).

    Raises:
        CheckpointError: the file is missing, unreadable, or of another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}: nothing to resume. Start the run without --resume.")
    try:
        # weights_only=False: the payload holds optimizer and RNG states and plain config values, written by us
        record = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a truncated or foreign file: say which and why
        raise CheckpointError(f"Checkpoint {path} cannot be read ({type(error).__name__}: {error}).") from error
    if not isinstance(record, dict) or record.get("format_version") != FORMAT_VERSION:
        found = record.get("format_version") if isinstance(record, dict) else type(record).__name__
        raise CheckpointError(
            f"Checkpoint {path} has format version {found!r}; this qml-hybrid reads version {FORMAT_VERSION}."
        )
    return record
