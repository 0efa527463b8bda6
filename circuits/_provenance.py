"""Are ``circuits``, ``qml`` and ``hardware`` this distribution's packages? If not, say so loudly.

Other published distributions use the same import names (``circuits``, ``qml``, ``hardware``), and
Python imports one package per name. Without this check a clash surfaces as an unrelated error far
from its cause (``cannot import name 'Circuit' from 'circuits'``). Each of our three packages calls
:func:`verify_installation` first thing on import; it raises
:class:`~circuits.errors.ShadowedPackageError`, naming the other distribution, where it is installed and
the fix, in the two ways a clash happens:

* **shadowed**: a name resolves to a package in another folder, earlier on ``sys.path`` than ours.
  Typical: ours installed in editable mode and theirs in ``site-packages`` (setuptools' editable finder
  is consulted after the path finder, so theirs wins), or a stray ``qml.py`` / ``circuits/`` folder in
  the current directory.
* **merged**: both distributions installed into the same ``site-packages``: one folder holds files of
  both, and whichever was installed last overwrote the other's ``__init__.py``. Seen from our install
  record (``RECORD`` in our ``.dist-info``): a file in our folders that the record does not list, or an
  ``__init__.py`` whose hash differs from it.

Cost on every import (measured, see ``docs/installation.md``): three ``find_spec`` calls and, for a
wheel install, reading our ``RECORD`` and hashing three small files: well under 5 ms.
:mod:`importlib.metadata` (about 25 ms to import and 100 ms to scan every distribution) runs only on
the error path, to name the other distribution.

This module imports only the standard library and nothing of ``circuits``: :mod:`qml` and
:mod:`hardware` load this file by its path, because ``import circuits._provenance`` would first run
whatever ``circuits`` resolves to (the thing being checked) and load torch.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from importlib.util import find_spec, module_from_spec, spec_from_file_location
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.metadata import Distribution

__all__ = ["DISTRIBUTION", "PACKAGES", "find_problem", "verify_installation"]

DISTRIBUTION = "qml-hybrid"
"""Our distribution's name (``pip install qml-hybrid``)."""

PACKAGES = ("circuits", "qml", "hardware")
"""The import packages the distribution installs, side by side in one folder."""

_DIST_INFO_PREFIX = "qml_hybrid-"
_INSTALL_DOC = "docs/installation.md in the qml-hybrid repository"
_verified: set[str] = set()  # folders whose three packages passed, so each import checks once

FindSpec = Callable[[str], "ModuleSpec | None"]


def verify_installation(package_file: str, find: FindSpec = find_spec) -> None:
    """Raise if ``circuits``, ``qml`` or ``hardware`` is not the package installed beside ``package_file``.

    Args:
        package_file: the ``__file__`` of one of our packages' ``__init__.py``; its folder's parent
            holds all three.
        find: resolves an import name without importing it (:func:`importlib.util.find_spec`).

    Raises:
        circuits.errors.ShadowedPackageError: a name resolves elsewhere (shadowed), or our folders hold
            another distribution's files (merged); the message names it, where it is, and the fix.
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(package_file)))
    if root in _verified:
        return
    problem = find_problem(root, find)
    if problem is not None:
        name, path, message = problem
        raise _error_class()(message, name=name, path=path)
    _verified.add(root)


def find_problem(root: str, find: FindSpec = find_spec) -> tuple[str, str | None, str] | None:
    """The first clash of our import names, as ``(name, path found, message)``; ``None`` when all is ours.

    Args:
        root: the folder that holds our three package folders (``site-packages``, or a checkout).
        find: resolves an import name without importing it.
    """
    for name in PACKAGES:
        expected = os.path.join(root, name)
        try:
            spec = find(name)
        except (ImportError, ValueError) as exc:  # a finder that fails, or a module without __spec__
            return name, None, f"`import {name}` cannot be resolved ({exc}); {_fix_reinstall(expected)}"
        found = _location(spec)
        if found is None or _is_namespace(spec) or not _same(found, expected):
            return name, found, _shadowed_message(name, spec, found, expected)
    record = _our_record(root)
    if record is not None:
        for name in PACKAGES:
            problem = _merged_problem(root, name, record)
            if problem is not None:
                return problem
    return None


# -- where a name resolves -------------------------------------------------------------------


def _location(spec: ModuleSpec | None) -> str | None:
    """The package folder (or module file) a spec points at; a namespace package's first folder."""
    if spec is None:
        return None
    if spec.origin not in (None, "namespace") and spec.has_location:
        if os.path.basename(spec.origin).startswith("__init__."):
            return os.path.dirname(spec.origin)
        return spec.origin
    locations = list(spec.submodule_search_locations or [])
    return locations[0] if locations else spec.origin


def _is_namespace(spec: ModuleSpec | None) -> bool:
    return spec is not None and spec.origin in (None, "namespace") and spec.submodule_search_locations is not None


def _same(a: str, b: str) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _shadowed_message(name: str, spec: ModuleSpec | None, found: str | None, expected: str) -> str:
    if spec is None:
        return f"qml-hybrid's package '{name}' is missing: `import {name}` finds nothing. {_fix_reinstall(expected)}"
    if _is_namespace(spec) and any(_same(p, expected) for p in spec.submodule_search_locations or ()):
        return (
            f"qml-hybrid's {name}/__init__.py is missing from {expected}: the installation is incomplete "
            "(uninstalling another distribution that shared this folder removes qml-hybrid's files too). "
            f"{_fix_reinstall(expected)}"
        )
    owner = _owner_of(name, found)
    what = f"a folder without __init__.py at {found}" if _is_namespace(spec) else found
    head = f"the import name '{name}' is taken: `import {name}` finds {what}"
    if owner is None:
        return (
            f"{head}, which no installed distribution owns (a file or folder named {name} earlier on sys.path, "
            f"for example in the current directory), instead of qml-hybrid's {expected}. Python imports one "
            f"package per name, so qml-hybrid cannot work here. Fix: rename or move {found}, or run from "
            "another directory."
        )
    if _normalize(owner[0]) == _normalize(DISTRIBUTION):
        return (
            f"{head}, from another copy of qml-hybrid ({owner[0]} {owner[1]}), instead of the {name} beside "
            f"this one at {expected}. The three packages must come from one copy. Fix: uninstall one copy "
            f"(`pip uninstall {DISTRIBUTION}`) or remove the other from PYTHONPATH / sys.path."
        )
    return (
        f"{head}, installed by the distribution '{owner[0]}' ({owner[1]}), instead of qml-hybrid's {expected}. "
        f"Python imports one package per name, so qml-hybrid cannot work beside '{owner[0]}'. Fix: "
        f"`pip uninstall {owner[0]}` if you do not need it, or give qml-hybrid a virtual environment of its own "
        f"(python -m venv; see {_INSTALL_DOC})."
    )


def _fix_reinstall(expected: str) -> str:
    return (
        f"Fix: reinstall qml-hybrid the way you installed it, with `pip install --force-reinstall --no-deps` "
        f"(see {_INSTALL_DOC}); it belongs at {expected}."
    )


# -- two distributions in one folder ---------------------------------------------------------


def _our_record(root: str) -> dict[str, str] | None:
    """``{path: hash}`` of our installed files when ``root`` holds our ``.dist-info`` (a wheel install), else ``None``.

    A checkout or an editable install has no record of the package folders: nothing to compare.
    """
    try:
        entries = os.listdir(root)
    except OSError:
        return None
    for entry in entries:
        if entry.startswith(_DIST_INFO_PREFIX) and entry.endswith(".dist-info"):
            import csv  # here: a checkout or an editable install never needs it

            record_path = os.path.join(root, entry, "RECORD")
            try:
                with open(record_path, newline="", encoding="utf-8") as handle:
                    rows = list(csv.reader(handle))
            except OSError:
                continue
            record = {row[0]: row[1] for row in rows if row and row[0].split("/", 1)[0] in PACKAGES}
            if record:
                return record
    return None


def _merged_problem(root: str, name: str, record: dict[str, str]) -> tuple[str, str, str] | None:
    folder = os.path.join(root, name)
    init = f"{name}/__init__.py"
    recorded_hash = record.get(init, "")
    if recorded_hash and _file_hash(os.path.join(root, init)) != recorded_hash:
        return name, folder, _merged_message(root, name, init, "is not the file qml-hybrid installed")
    listed_dirs = {path.rsplit("/", 1)[0] for path in record}
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return None
    for entry in entries:
        relative = f"{name}/{entry.name}"
        if entry.name == "__pycache__":
            continue
        if entry.is_dir() and not any(d == relative or d.startswith(relative + "/") for d in listed_dirs):
            return name, folder, _merged_message(root, name, relative + "/", "is not part of qml-hybrid")
        if not entry.is_dir() and relative not in record:
            return name, folder, _merged_message(root, name, relative, "is not part of qml-hybrid")
    return None


def _file_hash(path: str) -> str:
    import base64
    import hashlib

    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).digest()
    except OSError:
        return "missing"
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _merged_message(root: str, name: str, relative: str, why: str) -> str:
    owners = [owner for owner in _owners_in(root, relative.rstrip("/")) if _normalize(owner[0]) != "qml-hybrid"]
    folder = os.path.join(root, name)
    if not owners:
        return (
            f"qml-hybrid's folder {folder} was changed after installation: {relative} {why}, and no installed "
            f"distribution lists it. Fix: remove the folder's foreign files, then reinstall qml-hybrid with "
            f"`pip install --force-reinstall --no-deps` (see {_INSTALL_DOC})."
        )
    other, version = owners[0]
    return (
        f"the folder {folder} holds files of two distributions, qml-hybrid and '{other}' ({version}): {relative} "
        f"{why}. Both were installed into {root}, and the later one overwrote the other's files. Fix: "
        f"`pip uninstall {other}` (if you need it, give it or qml-hybrid a virtual environment of its own), then "
        f"reinstall qml-hybrid with `pip install --force-reinstall --no-deps` to restore its files "
        f"(see {_INSTALL_DOC})."
    )


# -- who installed it (error path only: importlib.metadata is slow to import and to scan) -----


def _owner_of(name: str, found: str | None) -> tuple[str, str] | None:
    """``(distribution, version)`` that installed the package or module ``found`` for import name ``name``."""
    if found is None:
        return None
    from importlib import metadata

    relative = os.path.basename(found)
    owners = _owners_in(os.path.dirname(found), relative)
    if owners:
        return owners[0]
    for distribution in sorted(set(metadata.packages_distributions().get(name, ()))):
        try:
            located = metadata.distribution(distribution)
        except metadata.PackageNotFoundError:
            continue
        if not _owns_editable(located, found):
            continue
        return located.metadata["Name"], located.version
    return None


def _owns_editable(distribution: Distribution, found: str) -> bool:
    """Whether an editable install's path hooks point at ``found``'s folder (their ``.pth`` or finder files)."""
    for path in distribution.files or ():
        if not (path.suffix == ".pth" or (path.suffix == ".py" and "editable" in path.name)):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        parent = os.path.dirname(os.path.realpath(found))
        if parent in text or os.path.realpath(found) in text:
            return True
    return False


def _owners_in(directory: str, relative: str) -> list[tuple[str, str]]:
    """``(name, version)`` of every distribution installed in ``directory`` whose RECORD lists ``relative``."""
    from importlib import metadata

    owners = []
    for distribution in metadata.distributions(path=[directory]):
        files = distribution.files or ()
        if any(str(path) == relative or str(path).startswith(relative + "/") for path in files):
            owners.append((distribution.metadata["Name"], distribution.version))
    return sorted(set(owners))


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _error_class() -> type[ImportError]:
    """:class:`circuits.errors.ShadowedPackageError`, without importing the ``circuits`` package.

    When ``circuits.errors`` is already loaded from the folder of this file, it is used. Otherwise (qml or
    hardware loaded this file by path, maybe because ``circuits`` is not ours) the ``errors.py`` beside
    this file is loaded the same way.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    loaded = sys.modules.get("circuits.errors")
    loaded_file = getattr(loaded, "__file__", None)
    if loaded_file is not None and _same(os.path.dirname(loaded_file), here):
        return loaded.ShadowedPackageError  # type: ignore[union-attr]
    spec = spec_from_file_location("circuits.errors", os.path.join(here, "errors.py"))
    module = module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.ShadowedPackageError
