"""Our import names (circuits, qml, hardware) are also used by unrelated distributions: pin that ours load."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from importlib.machinery import PathFinder
from pathlib import Path

import pytest

from circuits import _provenance
from circuits.errors import CircuitError, ShadowedPackageError

ROOT = Path(__file__).resolve().parents[1]


def test_packages_import_from_this_checkout():
    import circuits
    import hardware
    import qml

    for module in (circuits, qml, hardware):
        assert Path(module.__file__).resolve().is_relative_to(ROOT), module.__file__


def test_importing_the_engine_loads_no_vendor_sdk():
    """README, "Backends": importing circuits (and qml) never loads Qiskit or PennyLane."""
    code = (
        "import sys, circuits, qml, circuits.testing\n"
        "loaded = sorted(m for m in ('qiskit', 'qiskit_aer', 'pennylane') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == ""


def test_import_contracts_hold():
    """The package boundaries of docs/architecture.md (import-linter contracts in pyproject.toml)."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_gates_doc_matches_the_registry():
    """docs/gates.md is generated from GATES; adding a gate means re-running the renderer."""
    result = subprocess.run(
        [sys.executable, "scripts/render_gates_doc.py", "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr


# -- import names taken by other distributions (circuits/_provenance.py) ----------------------

_OURS = ("circuits", "qml", "hardware")


def _sha256(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _install_layout(root: Path, *, record: bool) -> None:
    """Our three package folders in ``root``; with ``record``, a wheel install's ``.dist-info`` listing them."""
    rows = []
    for name in _OURS:
        for relative, text in ((f"{name}/__init__.py", f"# {name}, ours\n"), (f"{name}/core.py", "x = 1\n")):
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            rows.append(f"{relative},{_sha256(text.encode())},{len(text)}")
    if record:
        info = root / "qml_hybrid-0.1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.4\nName: qml-hybrid\nVersion: 0.1.0\n")
        rows.append("qml_hybrid-0.1.0.dist-info/RECORD,,")
        (info / "RECORD").write_text("\n".join(rows) + "\n")


def _foreign_distribution(
    site: Path,
    files: dict[str, str],
    name: str = "circuits-fake",
    version: str = "9.1",
    overwritten: tuple[str, ...] = (),
) -> None:
    """Another distribution installed in ``site``: its files and its ``.dist-info`` with a RECORD.

    ``overwritten``: more files its RECORD lists, which a later install replaced.
    """
    for relative, text in files.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    listed = [*files, *overwritten, f"{info.name}/RECORD"]
    (info / "RECORD").write_text("".join(f"{relative},,\n" for relative in listed))


def _path_finder(*entries: Path):
    """``find_spec`` over these folders, one after another, as the path finder then an editable finder would."""

    def find(name: str):
        for entry in entries:
            spec = PathFinder.find_spec(name, [str(entry)])
            if spec is not None:
                return spec
        return None

    return find


def test_our_checkout_passes_the_installation_check():
    assert _provenance.find_problem(str(ROOT)) is None
    assert issubclass(ShadowedPackageError, ImportError) and issubclass(ShadowedPackageError, CircuitError)


def test_a_foreign_distribution_earlier_on_the_path_is_named_with_the_fix(tmp_path):
    ours, site = tmp_path / "ours", tmp_path / "site"
    _install_layout(ours, record=False)
    _foreign_distribution(site, {"circuits/__init__.py": "", "circuits/core.py": ""})
    name, found, message = _provenance.find_problem(str(ours), _path_finder(site, ours))
    assert (name, Path(found)) == ("circuits", site / "circuits")
    assert "installed by the distribution 'circuits-fake' (9.1)" in message
    assert str(site / "circuits") in message and str(ours / "circuits") in message
    assert "`pip uninstall circuits-fake`" in message and "virtual environment of its own" in message
    with pytest.raises(ShadowedPackageError, match=r"'circuits' is taken.*'circuits-fake'") as caught:
        _provenance.verify_installation(str(ours / "qml" / "__init__.py"), _path_finder(site, ours))
    assert caught.value.name == "circuits" and Path(caught.value.path) == site / "circuits"


def test_a_foreign_editable_install_is_named_through_its_path_hook(tmp_path, monkeypatch):
    """Their package lives in their source tree; their ``.dist-info`` in site-packages points at it."""
    ours, site, source = tmp_path / "ours", tmp_path / "site", tmp_path / "their-checkout"
    _install_layout(ours, record=False)
    (source / "circuits").mkdir(parents=True)
    (source / "circuits" / "__init__.py").write_text("")
    _foreign_distribution(
        site, {"__editable__.circuits_dev-1.0.pth": f"{source}\n"}, name="circuits-dev", version="1.0"
    )
    (site / "circuits_dev-1.0.dist-info" / "top_level.txt").write_text("circuits\n")
    monkeypatch.syspath_prepend(str(site))
    _, found, message = _provenance.find_problem(str(ours), _path_finder(source, ours))
    assert Path(found) == source / "circuits"
    assert "installed by the distribution 'circuits-dev' (1.0)" in message


def test_a_stray_module_with_no_distribution_is_reported_as_a_local_file(tmp_path):
    ours, cwd = tmp_path / "ours", tmp_path / "project"
    _install_layout(ours, record=False)
    cwd.mkdir()
    (cwd / "qml.py").write_text("import pennylane as qml\n")
    name, found, message = _provenance.find_problem(str(ours), _path_finder(cwd, ours))
    assert (name, Path(found)) == ("qml", cwd / "qml.py")
    assert "no installed distribution owns" in message and "rename or move" in message


def test_a_namespace_folder_in_front_of_an_editable_install_is_reported(tmp_path):
    """A folder named ``hardware`` without ``__init__.py`` wins over setuptools' editable finder."""
    ours, cwd = tmp_path / "ours", tmp_path / "project"
    _install_layout(ours, record=False)
    (cwd / "hardware").mkdir(parents=True)
    name, _, message = _provenance.find_problem(str(ours), _path_finder(cwd, ours))
    assert name == "hardware"
    assert f"a folder without __init__.py at {cwd / 'hardware'}" in message


def test_a_foreign_distribution_merged_into_our_folder_is_named(tmp_path):
    """Both installed into one site-packages: their file sits in our folder (ours installed last)."""
    site = tmp_path / "site"
    _install_layout(site, record=True)
    _foreign_distribution(site, {"circuits/components.py": ""}, name="circuits", overwritten=("circuits/__init__.py",))
    name, found, message = _provenance.find_problem(str(site), _path_finder(site))
    assert (name, Path(found)) == ("circuits", site / "circuits")
    assert "holds files of two distributions, qml-hybrid and 'circuits' (9.1)" in message
    assert "circuits/components.py is not part of qml-hybrid" in message
    assert "`pip uninstall circuits`" in message and "--force-reinstall" in message


def test_an_overwritten_init_is_caught_by_its_hash(tmp_path):
    """Theirs installed last, over our ``qml/__init__.py`` and nothing else."""
    site = tmp_path / "site"
    _install_layout(site, record=True)
    _foreign_distribution(site, {"qml/__init__.py": "from .theirs import *\n"}, name="qml", version="0.3")
    name, _, message = _provenance.find_problem(str(site), _path_finder(site))
    assert name == "qml"
    assert "qml/__init__.py is not the file qml-hybrid installed" in message and "'qml' (0.3)" in message


def test_a_folder_left_incomplete_asks_for_a_reinstall(tmp_path):
    """Uninstalling the other distribution removed our ``__init__.py`` too."""
    site = tmp_path / "site"
    _install_layout(site, record=True)
    (site / "hardware" / "__init__.py").unlink()
    name, _, message = _provenance.find_problem(str(site), _path_finder(site))
    assert name == "hardware"
    assert "hardware/__init__.py is missing" in message and "--force-reinstall" in message


def test_a_wheel_install_with_its_own_files_only_passes(tmp_path):
    site = tmp_path / "site"
    _install_layout(site, record=True)
    (site / "circuits" / "__pycache__").mkdir()
    (site / "circuits" / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"")
    _foreign_distribution(site, {"unrelated/__init__.py": ""}, name="unrelated")
    assert _provenance.find_problem(str(site), _path_finder(site)) is None


def _import_in_subprocess(code: str, *path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in (*path, ROOT))}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=path[0])


@pytest.mark.parametrize(("shadowed", "importer"), [("circuits", "qml"), ("hardware", "circuits"), ("qml", "hardware")])
def test_importing_ours_beside_a_foreign_package_fails_loudly_before_loading_torch(tmp_path, shadowed, importer):
    """The real import path: a foreign package earlier on sys.path than this checkout."""
    site = tmp_path / "site"
    _foreign_distribution(site, {f"{shadowed}/__init__.py": "raise SystemExit('theirs ran')\n"}, name=f"{shadowed}-x")
    code = f"import sys\ntry:\n    import {importer}\nfinally:\n    print('torch' in sys.modules)\n"
    result = _import_in_subprocess(code, site)
    assert result.returncode == 1, result.stderr
    assert f"circuits.errors.ShadowedPackageError: the import name '{shadowed}' is taken" in result.stderr
    assert f"'{shadowed}-x' (9.1)" in result.stderr and f"pip uninstall {shadowed}-x" in result.stderr
    assert result.stdout.strip() == "False"


def test_the_qml_command_beside_a_foreign_hardware_package_names_it(tmp_path):
    site = tmp_path / "site"
    _foreign_distribution(site, {"hardware/__init__.py": ""}, name="hardware")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(site), str(ROOT)))}
    result = subprocess.run([sys.executable, "-m", "qml", "--help"], capture_output=True, text=True, env=env, cwd=site)
    assert result.returncode == 1
    assert "ShadowedPackageError: the import name 'hardware' is taken" in result.stderr
    assert "installed by the distribution 'hardware' (9.1)" in result.stderr
