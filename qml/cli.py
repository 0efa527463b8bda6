"""The ``qml`` command line.

``qml run FILE.qasm`` simulates an OpenQASM 2 or 3 circuit and prints the
probabilities of its computational basis states, or measurement counts with
``--shots``::

    qml run bell.qasm                       # exact probabilities, torch engine
    qml run bell.qasm --backend aer --json  # one JSON object, Qiskit Aer
    qml run bell.qasm --shots 1000 --seed 7 # counts, reproducible

Bitstrings are printed in **Qiskit's order: qubit 0 is the rightmost bit**, so the
output compares directly with ``qiskit`` counts and ``Statevector.probabilities_dict``.
(Inside the library qubit 0 is the most significant bit of a flat index; the
conversion happens here, once, in :func:`bitstring`.)

Exact probabilities ``p <= 1e-12`` (:data:`PROBABILITY_CUTOFF`) are omitted; keys are
sorted. User errors (a missing file, malformed OpenQASM, ``--shots 0``, an unknown
backend) print one line to stderr and exit with status 2, never a traceback.

The vendor-dependent modules (:mod:`circuits.export.qasm`, :mod:`circuits.backends.aer`)
and torch itself are imported when a command runs, so ``qml --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

if TYPE_CHECKING:  # torch and circuits load when a command runs, so `qml --help` stays fast
    import torch

    from circuits.ir.circuit import Circuit

__all__ = ["PROBABILITY_CUTOFF", "CliError", "bitstring", "main"]

PROBABILITY_CUTOFF = 1e-12
"""Exact probabilities at or below this value are left out of the output."""

BACKENDS = ("torch", "aer")
"""Values of ``--backend``."""

_BIT_ORDER_NOTE = "qubit 0 is the rightmost bit, as in Qiskit"


class CliError(Exception):
    """A user error: printed as one line to stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (``qml run: error: ...``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive(hint: str = "") -> Callable[[str], int]:
    """An argparse type for positive integers; ``hint`` follows the message for values <= 0."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}{hint}")
        return value

    return parse


_positive_int = _positive("; omit --shots for exact probabilities")


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**63), got {value}")
    return value


PLUGIN_COMMANDS = "qml_hybrid.commands"
"""Entry-point group of extra ``qml`` commands (``hardware`` adds ``qml jobs``): a module with
``add_commands(subparsers)`` and ``run(args, out) -> int``. Found at run time, so ``qml`` never imports
``hardware`` (the two packages are independent)."""

PLUGIN_BACKENDS = "qml_hybrid.backends"
"""Entry-point group of ``--backend PROVIDER:DEVICE`` factories: ``factory(spec, shots=, seed=) -> Backend``."""


def _entry_points(group: str) -> list:
    from importlib.metadata import entry_points

    return sorted(entry_points(group=group), key=lambda ep: ep.name)


def _backend_name(text: str) -> str:
    if ":" in text and _entry_points(PLUGIN_BACKENDS):
        return text  # PROVIDER:DEVICE, resolved by the hardware plugin when the command runs
    if text not in BACKENDS:
        extra = " or PROVIDER:DEVICE (e.g. ibm:ibm_torino)" if _entry_points(PLUGIN_BACKENDS) else ""
        raise argparse.ArgumentTypeError(f"unknown backend {text!r}; choose one of: {', '.join(BACKENDS)}{extra}")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``qml`` command."""
    parser = _Parser(
        prog="qml",
        description="qml-hybrid command line: simulate OpenQASM circuits, train hybrid models.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = commands.add_parser(
        "run",
        help="simulate an OpenQASM 2/3 file and print basis-state probabilities or counts",
        description=(
            "Simulate an OpenQASM 2 or 3 circuit and print the probabilities of its basis states "
            f"(p > {PROBABILITY_CUTOFF:g}), or measurement counts with --shots. Bit order: {_BIT_ORDER_NOTE}."
        ),
    )
    run.add_argument("file", metavar="FILE", help="OpenQASM 2 or 3 file (the version is read from its header)")
    run.add_argument(
        "--backend",
        type=_backend_name,
        default="torch",
        metavar="{torch,aer}",
        help="simulator: 'torch' (our engine, default) or 'aer' (Qiskit Aer statevector)",
    )
    run.add_argument("--shots", type=_positive_int, default=None, metavar="N", help="sample N shots and print counts")
    run.add_argument(
        "--seed", type=_seed, default=None, metavar="S", help="sampler seed (with --shots), for reproducible counts"
    )
    run.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    from qml.cli_bench import add_bench_commands
    from qml.cli_training import add_training_commands

    add_training_commands(commands, _positive(), _seed)
    add_bench_commands(commands)
    for entry in _entry_points(PLUGIN_COMMANDS):
        plugin = entry.load()
        before = set(commands.choices)
        plugin.add_commands(commands)
        for name in set(commands.choices) - before:
            commands.choices[name].set_defaults(_plugin=plugin)
    return parser


# -- bit order -----------------------------------------------------------------------------


def bitstring(index: int, num_qubits: int) -> str:
    """The Qiskit-order bitstring of a basis-state index in this project's order.

    In the library qubit 0 is the most significant bit of ``index``; Qiskit writes
    qubit 0 as the rightmost character. So ``format(index, "0nb")`` (qubit 0 first)
    is reversed.

    Example:
        >>> bitstring(0b100, 3)  # qubit 0 is 1
        '001'
    """
    return format(index, f"0{num_qubits}b")[::-1]


def probabilities_dict(probs: torch.Tensor, num_qubits: int) -> dict[str, float]:
    """Nonzero probabilities keyed by Qiskit-order bitstrings, sorted by key.

    Shape:
        probs: ``(2**num_qubits,)``, qubit 0 the most significant bit of the index.
    """
    import torch

    probs = probs.detach().to(torch.float64).cpu()
    kept = torch.nonzero(probs > PROBABILITY_CUTOFF).flatten()
    out = {bitstring(i, num_qubits): p for i, p in zip(kept.tolist(), probs[kept].tolist(), strict=True)}
    return dict(sorted(out.items()))


def counts_dict(bits: torch.Tensor, num_qubits: int) -> dict[str, int]:
    """Counts of measured outcomes keyed by Qiskit-order bitstrings, sorted by key.

    Shape:
        bits: ``(shots, num_qubits)`` int64, column ``j`` the outcome of qubit ``j``.
    """
    import torch

    weights = 2 ** torch.arange(num_qubits - 1, -1, -1, dtype=torch.int64)
    indices = (bits.to(torch.int64).cpu() * weights).sum(-1)
    values, counts = torch.unique(indices, return_counts=True)
    out = {bitstring(int(v), num_qubits): int(c) for v, c in zip(values.tolist(), counts.tolist(), strict=True)}
    return dict(sorted(out.items()))


# -- running -------------------------------------------------------------------------------


def _load(path_text: str) -> Circuit:
    path = Path(path_text)
    if not path.exists():
        raise CliError(f"no such file: {path_text!r}")
    if not path.is_file():
        raise CliError(f"not a file: {path_text!r}; give the path of an OpenQASM 2 or 3 file")
    from circuits.export.qasm import load_qasm_file

    try:
        circuit = load_qasm_file(path)
    except OSError as exc:
        raise CliError(f"cannot read {path_text!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path_text!r} is not a text file; give an OpenQASM 2 or 3 file") from None
    if circuit.parameters:
        free = ", ".join(circuit.parameters)
        raise CliError(
            f"{path_text!r} has unbound parameters ({free}); 'qml run' simulates circuits with numeric "
            "angles only: give them values in the file"
        )
    return circuit


def _make_backend(name: str, seed: int | None, shots: int | None = None):
    if ":" in name:
        for entry in _entry_points(PLUGIN_BACKENDS):
            return entry.load()(name, shots=shots, seed=seed)
    import torch

    if name == "torch":
        from circuits.sim.torch_backend import TorchBackend

        return TorchBackend(dtype=torch.complex128)
    from circuits.backends.aer import AerBackend

    return AerBackend(method="statevector", seed=seed)


def _simulate(circuit: Circuit, backend_name: str, shots: int | None, seed: int | None) -> dict[str, object]:
    backend = _make_backend(backend_name, seed, shots)
    n = circuit.num_qubits
    if shots is None:
        probs = backend.probs(circuit)[0]
        return {"num_qubits": n, "probabilities": probabilities_dict(probs, n)}
    import torch

    generator = None
    if backend_name == "torch" and seed is not None:
        generator = torch.Generator().manual_seed(seed)
    bits = backend.sample(circuit, shots=shots, generator=generator)[0]
    return {"num_qubits": n, "counts": counts_dict(bits, n)}


def _print_table(result: dict[str, object], backend: str, shots: int | None, out: TextIO) -> None:
    n = result["num_qubits"]
    what = f"counts of {shots} shots" if shots is not None else f"probabilities (p > {PROBABILITY_CUTOFF:g})"
    print(f"# {n} qubit(s), backend {backend}, {what}", file=out)
    print(f"# {_BIT_ORDER_NOTE}", file=out)
    column = "count" if shots is not None else "probability"
    table = result["counts"] if shots is not None else result["probabilities"]
    width = max(n, len("bitstring"))
    print(f"{'bitstring':<{width}}  {column}", file=out)
    for key, value in table.items():
        shown = str(value) if shots is not None else f"{value:.10g}"
        print(f"{key:<{width}}  {shown}", file=out)


def _run_command(args: argparse.Namespace, out: TextIO) -> int:
    circuit = _load(args.file)
    result = _simulate(circuit, args.backend, args.shots, args.seed)
    if args.json:
        print(json.dumps(result), file=out)
    else:
        _print_table(result, args.backend, args.shots, out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qml`` command.

    Args:
        argv: the arguments after the program name; ``sys.argv[1:]`` when ``None``.

    Returns:
        The exit status: 0 on success, 2 for a user error (one line on stderr: a missing file,
        malformed OpenQASM, a bad option, a circuit too large for memory, an unavailable backend).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # --help, or an argument error already printed
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if getattr(args, "_plugin", None) is not None:
            return args._plugin.run(args, sys.stdout)
        if args.command == "run":
            return _run_command(args, sys.stdout)
        if args.command == "bench":
            from qml.cli_bench import bench_command

            return bench_command(args, sys.stdout)
        from qml import cli_training

        if args.command == "recipes":
            return cli_training.recipes_command(sys.stdout)
        if args.command == "compare":
            return cli_training.compare_command(args, sys.stdout)
        if args.out is None:
            args.out = f"runs/{args.recipe}"
        return cli_training.train_command(args, sys.stdout)
    except Exception as exc:
        if not isinstance(exc, (CliError, ValueError, ImportError, *_user_errors())):
            raise
        message = " ".join(str(exc).split())
        print(f"qml {args.command}: error: {message}", file=sys.stderr)
        return 2


def _user_errors() -> tuple[type[Exception], ...]:
    """User errors of the parts loaded by the command that ran (circuits, training toolkit, hardware plugin).

    Looked up in ``sys.modules``: an error class can only have been raised if its module is loaded, and
    importing ``circuits.errors`` here would load torch for a command that failed before needing it.
    """
    errors: list[type[Exception]] = []
    circuit_errors = sys.modules.get("circuits.errors")
    if circuit_errors is not None:
        errors.append(circuit_errors.CircuitError)
    if "qml.training" in sys.modules:
        from qml.recipes import UnknownRecipeError
        from qml.training import TrainingError

        errors += [TrainingError, UnknownRecipeError]
    plugin_errors = sys.modules.get("hardware.errors")  # loaded by a plugin, never imported by qml
    if plugin_errors is not None:
        errors.append(plugin_errors.HardwareError)
    return tuple(errors)


if __name__ == "__main__":
    sys.exit(main())
