"""The wheel built from this tree, installed into a fresh virtual environment outside the checkout.

What a user without the repository gets (docs/installation.md): the wheel alone, its ``qml`` command, the
README's Python quick start and the PennyLane device; and, with a foreign distribution that installs a
``circuits`` package beside it, an import error that names that distribution (circuits/_provenance.py).

No network: the wheel is built with ``pip wheel --no-build-isolation`` (the setuptools of this
environment), installed with ``--no-deps``, and the new environment reaches its dependencies through a
``.pth`` line naming this environment's ``site-packages``. ``.pth`` files inside a folder added that way
are not processed, so this environment's editable install of the project does not leak in; every test
checks that ``circuits`` loads from the new environment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("circuits", "qml", "hardware")
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def _clean_env(**env: str) -> dict[str, str]:
    """This process's environment without its Python path settings (a PYTHONPATH naming the checkout)."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    return clean | {"PYTHONNOUSERSITE": "1", **env}


def _pip(*args: str, python: Path | None = None) -> None:
    """This environment's pip; with ``python``, acting on that interpreter's environment."""
    target = ["--python", str(python)] if python is not None else []
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *target, *args]
    subprocess.run(command, check=True, capture_output=True, env=_clean_env())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``qml_hybrid-*.whl`` built from a copy of the tree's packaging inputs (no stale build/ folder)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    for name in PACKAGES:
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(dist), str(source))
    (built,) = dist.glob("qml_hybrid-*.whl")
    return built


def _make_venv(where: Path, *wheels: Path) -> Path:
    """A fresh virtual environment with ``wheels`` installed and this environment's packages reachable."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, capture_output=True)
    python = where / "bin" / "python"
    for built in wheels:
        _pip("install", "--no-deps", "--no-index", str(built), python=python)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return where


def _run(venv: Path, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """Run a command of ``venv`` in ``cwd`` with none of this process's Python path settings."""
    clean = _clean_env(MPLBACKEND="Agg", **env)
    command = [str(venv / "bin" / args[0]), *args[1:]]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=clean, timeout=300)


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    return _make_venv(tmp_path_factory.mktemp("venv") / "env", wheel)


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A working directory outside the checkout."""
    assert not tmp_path.is_relative_to(ROOT)
    return tmp_path


def test_the_wheel_holds_every_module_the_license_and_current_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = archive.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    tree = {
        path.relative_to(ROOT).as_posix()
        for name in PACKAGES
        for path in (ROOT / name).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert tree <= names, sorted(tree - names)
    assert any(re.fullmatch(r"qml_hybrid-[^/]+\.dist-info/licenses/LICENSE", n) for n in names)
    assert "License-Expression: Apache-2.0" in metadata
    assert "Project-URL: Repository, https://github.com/qml-hybrid/qml-hybrid" in metadata
    assert "qml = qml.cli:main" in entry_points
    assert "qml_hybrid.qubit = circuits.backends.pennylane_device:QmlHybridQubit" in entry_points


def test_the_installed_wheel_runs_the_quick_start_outside_the_checkout(venv, elsewhere):
    (elsewhere / "bell.qasm").write_text(BELL)
    run = _run(venv, ["qml", "run", "bell.qasm", "--json"], elsewhere)
    assert run.returncode == 0, run.stderr
    probabilities = json.loads(run.stdout)["probabilities"]
    assert probabilities.keys() == {"00", "11"}
    assert probabilities["00"] == pytest.approx(0.5, abs=1e-12) and probabilities["11"] == pytest.approx(0.5, abs=1e-12)

    readme = (ROOT / "README.md").read_text()
    quick_start = re.search(r"## In Python\s+```python\n(.*?)```", readme, re.DOTALL).group(1)
    where = "import circuits, qml, hardware\nprint(circuits.__file__, qml.__file__, hardware.__file__)\n"
    python = _run(venv, ["python", "-c", quick_start + where], elsewhere)
    assert python.returncode == 0, python.stderr
    *printed, locations = python.stdout.strip().splitlines()
    assert printed == ["torch.Size([32, 2])", "torch.Size([8])"]
    for path in locations.split():
        assert Path(path).is_relative_to(venv), path


def test_the_installed_wheel_trains_the_demo(venv, elsewhere):
    demo = _run(venv, ["qml", "demo", "--quick", "--epochs", "2", "--no-progress", "--out", "demo"], elsewhere)
    assert demo.returncode == 0, demo.stderr
    summary = json.loads((elsewhere / "demo" / "summary.json").read_text())
    assert summary["epochs_run"] == 2
    assert summary["test"]["test_accuracy"] >= 0.75  # quick: two classes, chance is 0.5; this run gets 0.875
    assert (elsewhere / "demo" / "history.png").stat().st_size > 0


PENNYLANE_QNODE = """
import pennylane as qp
import torch

def circuit(x, w):
    qp.AngleEmbedding(x, wires=range(2))
    qp.StronglyEntanglingLayers(w, wires=range(2))
    return qp.expval(qp.Z(0) @ qp.Z(1))

x = torch.tensor([[0.3, 1.1], [2.0, -0.4]], dtype=torch.float64)
w = torch.linspace(-1.0, 1.0, 12, dtype=torch.float64).reshape(2, 2, 3)
ours = qp.QNode(circuit, qp.device("qml_hybrid.qubit", wires=2), interface="torch")(x, w)
reference = qp.QNode(circuit, qp.device("default.qubit", wires=2), interface="torch")(x, w)
import circuits
print(circuits.__file__)
print(float((ours - reference).abs().max()), ours.shape[0])
"""


def test_the_installed_wheel_serves_the_pennylane_device(venv, elsewhere):
    result = _run(venv, ["python", "-c", PENNYLANE_QNODE], elsewhere)
    assert result.returncode == 0, result.stderr
    location, numbers = result.stdout.strip().splitlines()[-2:]
    assert Path(location).is_relative_to(venv)
    difference, batch = numbers.split()
    assert float(difference) < 1e-12 and batch == "2"


def _fake_circuits_wheel(where: Path) -> Path:
    """A wheel of another distribution, ``circuits-fake``, that installs a package named ``circuits``."""
    files = {
        "circuits/__init__.py": b"from circuits.components import Component\n",
        "circuits/components.py": b"class Component:\n    pass\n",
        "circuits_fake-2.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: circuits-fake\nVersion: 2.0\n",
        "circuits_fake-2.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    rows = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{name},sha256={digest},{len(data)}")
    rows.append("circuits_fake-2.0.dist-info/RECORD,,")
    path = where / "circuits_fake-2.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("circuits_fake-2.0.dist-info/RECORD", "\n".join(rows) + "\n")
    return path


def test_a_foreign_circuits_earlier_on_the_path_is_named(venv, elsewhere):
    """Layout (a): the other distribution in a folder searched before the environment's site-packages."""
    target = elsewhere / "other"
    _pip("install", "--no-deps", "--no-index", "--target", str(target), str(_fake_circuits_wheel(elsewhere)))
    result = _run(venv, ["python", "-c", "import qml"], elsewhere, PYTHONPATH=str(target))
    assert result.returncode == 1
    assert "circuits.errors.ShadowedPackageError: the import name 'circuits' is taken" in result.stderr
    assert f"finds {target / 'circuits'}, installed by the distribution 'circuits-fake' (2.0)" in result.stderr
    assert "`pip uninstall circuits-fake`" in result.stderr


@pytest.mark.parametrize("last", ["theirs", "ours"])
def test_a_foreign_circuits_installed_into_the_same_environment_is_named(tmp_path_factory, wheel, elsewhere, last):
    """Layout (b): both wheels installed into one site-packages; the one installed last overwrote the other's files.

    With theirs last, ``circuits/__init__.py`` is theirs, so ``import circuits`` runs their code and only our
    other packages can speak; with ours last, their extra module is found in our folder.
    """
    fake = _fake_circuits_wheel(elsewhere)
    env = _make_venv(tmp_path_factory.mktemp("merged") / "env", *((wheel, fake) if last == "theirs" else (fake, wheel)))
    why = "circuits/__init__.py is not the file qml-hybrid installed" if last == "theirs" else "circuits/components.py"
    imports = ["import qml", "import hardware"] + (["from circuits import Circuit"] if last == "ours" else [])
    for code in imports:
        result = _run(env, ["python", "-c", code], elsewhere)
        assert result.returncode == 1, code
        assert "ShadowedPackageError: the folder " in result.stderr, result.stderr
        assert "holds files of two distributions, qml-hybrid and 'circuits-fake' (2.0)" in result.stderr
        assert why in result.stderr and "`pip uninstall circuits-fake`" in result.stderr
    qml_command = _run(env, ["qml", "--help"], elsewhere)
    assert qml_command.returncode == 1
    assert "'circuits-fake' (2.0)" in qml_command.stderr
