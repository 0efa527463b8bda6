"""Atomic file writes for a run's outputs, and the clean-up of what a killed write left behind.

A file is written to a temporary sibling ``.<name>.<random>.tmp``, flushed to disk, then renamed over
the target (:func:`os.replace` is atomic on POSIX and Windows): a run killed at any moment leaves the
previous file or the new one, never a torn one. A kill during the write leaves the temporary file;
:func:`remove_temporaries` deletes those of the files a run writes when the next run in that
directory starts.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

__all__ = ["remove_temporaries", "write_atomic"]

_SUFFIX = ".tmp"


def _prefix(name: str) -> str:
    return f".{name}."


def write_atomic(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it to ``path``.

    Args:
        path: the file to (re)place; its directory is created when missing.
        write: writes the whole content to the binary file it is given.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=_prefix(path.name), suffix=_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def remove_temporaries(directory: str | Path, names: Iterable[str]) -> list[Path]:
    """Delete the temporary files :func:`write_atomic` left in ``directory`` for the files ``names``.

    Only one process may write a run directory at a time: a temporary file of a write still in
    progress elsewhere would be deleted too.

    Returns:
        The files deleted.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for name in names:
        for leftover in directory.glob(f"{_prefix(name)}*{_SUFFIX}"):
            if leftover.is_file():
                leftover.unlink(missing_ok=True)
                removed.append(leftover)
    return removed
