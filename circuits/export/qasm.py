"""OpenQASM 2 and 3 in and out, through Qiskit's parsers and exporters.

Reading:

* OpenQASM 2 (:func:`qasm2_to_circuit`) is parsed by ``qiskit.qasm2`` with
  ``include "qelib1.inc"`` and the gates Qiskit's exporters have always written
  (``p``, ``sx``, ``rzz``, ``c3x``, ...: ``qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS``);
  ``gate`` definitions in the file are decomposed (a gate of our registry when it
  is one, its body otherwise).
* OpenQASM 3 (:func:`qasm3_to_circuit`) is parsed by ``qiskit.qasm3.loads``, which
  needs the ``qiskit-qasm3-import`` package. ``input float`` declarations become
  parameters: Qiskit's exporter writes our ``theta[i]`` as ``_theta_i_``, and such
  inputs are grouped back into a vector ``theta`` of size ``max(i) + 1``; any other
  input ``a`` becomes a vector ``a`` of size 1.

A :class:`~circuits.ir.circuit.Circuit` has no classical bits. Final measurements
(and ``creg`` declarations, barriers) are dropped when reading: backends measure
through ``Expectation`` / ``Probabilities`` / ``Samples`` (the ``qml`` command
measures every qubit). A measured qubit used again (mid-circuit measurement), a
``reset`` or classical control raise :class:`~circuits.errors.QasmError`.

Text may start with a UTF-8 byte-order mark (editors on Windows write one); it is ignored.

Errors: text that does not parse raises :class:`~circuits.errors.QasmError` whose
message starts with ``line L, column C:`` (the position the parser reports).

Writing: :func:`circuit_to_qasm2` needs a circuit without symbols (bind first with
:meth:`Circuit.bind <circuits.ir.circuit.Circuit.bind>`); :func:`circuit_to_qasm3`
writes each used parameter as an ``input float[64]``. Neither format keeps a
global phase: ``global_phase`` operations are dropped (they change no measurement).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
from pathlib import Path

from qiskit import QuantumCircuit, qasm2, qasm3
from qiskit.circuit import Parameter, ParameterExpression, ParameterVector
from qiskit.exceptions import QiskitError

from circuits.errors import CircuitError, QasmError, UnsupportedChannelError
from circuits.export.qiskit import circuit_from_qiskit, circuit_to_qiskit
from circuits.ir.circuit import Circuit

__all__ = [
    "circuit_to_qasm2",
    "circuit_to_qasm3",
    "load_qasm_file",
    "qasm2_to_circuit",
    "qasm3_to_circuit",
    "qasm_version",
]

_QASM2_POSITION = re.compile(r"^.*?:(\d+),(\d+):\s*(.*)$", re.DOTALL)  # "<input>:3,8: reason"
_QASM3_POSITION = re.compile(r"^L?(\d+)[,:]C?(\d+):\s*(.*)$", re.DOTALL)  # "3,8: reason" or "L3:C8: reason"
_QISKIT_VECTOR_INPUT = re.compile(r"^_([A-Za-z_]\w*)_(\d+)_$")
_HEADER = re.compile(r"^\s*OPENQASM\s+(\d+)(?:\.(\d+))?\s*;", re.MULTILINE)
_QASM3_IMPORT_HINT = (
    "Reading OpenQASM 3 needs the package qiskit-qasm3-import: pip install qiskit-qasm3-import "
    "(or install qml-hybrid with its dev extra)."
)
# Gates of OpenQASM 3's stdgates.inc as Qiskit writes them; others are exported with a gate definition.
_QASM3_STANDARD = frozenset(
    "p x y z h s sdg t tdg sx rx ry rz cx cy cz cp crx cry crz ch swap ccx cswap cu id u u1 u2 u3 U".split()
)


_BOM = "\ufeff"


def _without_bom(text: str) -> str:
    """The text without a leading byte-order mark (``U+FEFF``), which the parsers would read as a token."""
    return text[1:] if text.startswith(_BOM) else text


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", "", text)


def _line_message(error: BaseException, pattern: re.Pattern[str], version: int) -> str:
    """``line L, column C: reason`` from a Qiskit / openqasm3 parser error, when it names a position."""
    message = str(error).strip()
    if len(message) >= 2 and message[0] == message[-1] and message[0] in "'\"":  # Qiskit quotes its messages
        message = message[1:-1]
    match = pattern.match(message)
    if match:
        line, column, reason = match.groups()
        return f"line {line}, column {column}: {reason.rstrip('.')}"
    # openqasm3's ANTLR errors carry the offending token on the chained cause
    cause: BaseException | None = error
    while cause is not None:
        for candidate in (cause, *getattr(cause, "args", ())):
            token = getattr(candidate, "offendingToken", None)
            if token is not None:
                text = getattr(token, "text", "")
                return f"line {token.line}, column {token.column}: syntax error at {text!r}"
        cause = cause.__cause__ or cause.__context__
    return f"at an unknown line: {message}" if message else f"the OpenQASM {version} text does not parse"


def qasm2_to_circuit(text: str, *, include_path: tuple[str | os.PathLike[str], ...] = (".",)) -> Circuit:
    """Parse an OpenQASM 2 program.

    Args:
        text: the program, starting with ``OPENQASM 2.0;``.
        include_path: folders searched for ``include`` files other than ``qelib1.inc``.

    Returns:
        The circuit: qubit ``i`` is the ``i``-th declared qubit (registers in declaration
        order); final measurements and classical registers are dropped.

    Raises:
        TypeError: ``text`` is not a string.
        QasmError: the text does not parse (the message names the line), or it uses
            what a circuit cannot hold (mid-circuit measurement, reset, ``if``).
    """
    if not isinstance(text, str):
        raise TypeError(f"qasm2_to_circuit expects the program as a str, got {type(text).__name__}.")
    text = _without_bom(text)
    try:
        qc = qasm2.loads(text, include_path=tuple(include_path), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    except QiskitError as error:
        raise QasmError(
            f"OpenQASM 2 parse error, {_line_message(error, _QASM2_POSITION, 2)}. "
            "Fix the program at that position (OpenQASM 2.0 syntax, gates from qelib1.inc or defined with 'gate')."
        ) from error
    return _convert(qc, "OpenQASM 2")


def _convert(qc: QuantumCircuit, what: str) -> Circuit:
    try:
        return circuit_from_qiskit(qc, ignore_measurements=True)
    except CircuitError as error:
        raise QasmError(f"The {what} program cannot become a circuits.Circuit: {error}") from error


def _symbols_message(circuit: Circuit) -> str:
    names = ", ".join(f"{name!r} (size {size})" for name, size in circuit.parameters.items())
    return (
        f"OpenQASM 2 has no symbolic parameters, but the circuit uses the parameter vectors {names}. "
        "Bind them first: circuit_to_qasm2(circuit.bind({'theta': [...], ...})), or export with circuit_to_qasm3."
    )


def _without_global_phase(circuit: Circuit) -> Circuit:
    if circuit.has_channels:
        names = sorted({op.name for op in circuit if op.is_channel})
        raise UnsupportedChannelError(
            f"OpenQASM has no noise channels, but the circuit has {names}. Export the noiseless circuit and keep "
            "the noise as a circuits.noise.NoiseModel (or a Qiskit NoiseModel: circuits.export.qiskit_noise)."
        )
    return Circuit(circuit.num_qubits, (op for op in circuit if op.name != "global_phase"))


def circuit_to_qasm2(circuit: Circuit) -> str:
    """Write a circuit without symbols as OpenQASM 2 (``include "qelib1.inc"``, gates beyond it defined inline).

    ``global_phase`` operations are dropped (OpenQASM 2 has no global phase).

    Raises:
        TypeError: ``circuit`` is not a :class:`~circuits.ir.circuit.Circuit`.
        ValueError: the circuit has symbolic parameters (bind them with ``circuit.bind``).
        UnsupportedChannelError: the circuit has noise channels (OpenQASM has none).
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"circuit_to_qasm2 expects a circuits.Circuit, got {type(circuit).__name__}.")
    if circuit.parameters:
        raise ValueError(_symbols_message(circuit))
    return qasm2.dumps(circuit_to_qiskit(_without_global_phase(circuit)))


def _inline_symbolic_custom_gates(qc: QuantumCircuit) -> QuantumCircuit:
    """Decompose every gate outside ``stdgates.inc`` whose parameters are symbolic, until none is left.

    Qiskit's OpenQASM 3 exporter names the parameter of such a gate definition after
    the symbol it is called with and writes the body with the caller's expression, so
    ``gate g(theta) ... { rz(theta / 2) ... }  g(theta / 2) q;`` halves twice. Standard
    gates and gates with numeric parameters are written correctly.
    """
    for _ in range(64):
        names = {
            inst.operation.name
            for inst in qc.data
            if inst.operation.name not in _QASM3_STANDARD
            and any(isinstance(p, ParameterExpression) and p.parameters for p in inst.operation.params)
        }
        if not names:
            return qc
        qc = qc.decompose(gates_to_decompose=sorted(names))
    raise QasmError("Could not reduce the circuit to OpenQASM 3 standard gates (a gate definition is recursive).")


def circuit_to_qasm3(circuit: Circuit) -> str:
    """Write a circuit as OpenQASM 3 (``include "stdgates.inc"``, gates beyond it defined inline).

    Every parameter the circuit uses becomes an ``input float[64]``; Qiskit writes our
    ``theta[i]`` as ``_theta_i_`` (:func:`qasm3_to_circuit` groups those back into
    ``theta``). Gates outside ``stdgates.inc`` with symbolic angles are written
    decomposed. ``global_phase`` operations are dropped.

    Raises:
        TypeError: ``circuit`` is not a :class:`~circuits.ir.circuit.Circuit`.
        UnsupportedChannelError: the circuit has noise channels (OpenQASM has none).
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"circuit_to_qasm3 expects a circuits.Circuit, got {type(circuit).__name__}.")
    qc = _inline_symbolic_custom_gates(circuit_to_qiskit(_without_global_phase(circuit)))
    return qasm3.dumps(qc)


def _regroup_qiskit_vectors(qc: QuantumCircuit) -> QuantumCircuit:
    """Plain parameters ``_name_i_`` (Qiskit's export of ``name[i]``) as elements of a vector ``name``."""
    groups: dict[str, dict[int, Parameter]] = {}
    for parameter in qc.parameters:
        match = _QISKIT_VECTOR_INPUT.match(parameter.name)
        if match:
            groups.setdefault(match.group(1), {})[int(match.group(2))] = parameter
    plain = {p.name for p in qc.parameters}
    mapping: dict[Parameter, Parameter] = {}
    for name, members in groups.items():
        if name in plain:  # an input of the same name exists: keep the mangled names as they are
            continue
        vector = ParameterVector(name, max(members) + 1)
        mapping.update({parameter: vector[index] for index, parameter in members.items()})
    return qc.assign_parameters(mapping) if mapping else qc


def qasm3_to_circuit(text: str) -> Circuit:
    """Parse an OpenQASM 3 program (needs ``qiskit-qasm3-import``).

    Args:
        text: the program, starting with ``OPENQASM 3``.

    Returns:
        The circuit; ``input float`` declarations are its parameters (see the module docstring),
        final measurements are dropped.

    Raises:
        TypeError: ``text`` is not a string.
        ImportError: ``qiskit-qasm3-import`` is not installed (the message gives the pip command).
        QasmError: the text does not parse (the message names the line), or it uses what a
            circuit cannot hold.
    """
    if not isinstance(text, str):
        raise TypeError(f"qasm3_to_circuit expects the program as a str, got {type(text).__name__}.")
    text = _without_bom(text)
    if importlib.util.find_spec("qiskit_qasm3_import") is None:
        raise ImportError(_QASM3_IMPORT_HINT)
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # ANTLR also prints its errors; we raise them instead
            qc = qasm3.loads(text)
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError(_QASM3_IMPORT_HINT) from error
    except Exception as error:  # the importer raises QiskitError, openqasm3's parser its own classes
        if type(error).__name__ == "MissingOptionalLibraryError":  # pragma: no cover
            raise ImportError(_QASM3_IMPORT_HINT) from error
        raise QasmError(
            f"OpenQASM 3 parse error, {_line_message(error, _QASM3_POSITION, 3)}. "
            "Fix the program at that position (OpenQASM 3 syntax, gates from stdgates.inc or defined with 'gate')."
        ) from error
    return _convert(_regroup_qiskit_vectors(qc), "OpenQASM 3")


def qasm_version(text: str) -> int:
    """The major version in the ``OPENQASM x.y;`` header (2 or 3).

    Raises:
        QasmError: no header, or a version other than 2 or 3.
    """
    match = _HEADER.search(_strip_comments(_without_bom(text)))
    if match is None:
        raise QasmError("The text has no 'OPENQASM 2.0;' or 'OPENQASM 3.0;' header; add one as the first statement.")
    version = int(match.group(1))
    if version not in (2, 3):
        raise QasmError(f"OpenQASM version {match.group(0).strip()!r} is not supported; expected 2.0 or 3.x.")
    return version


def load_qasm_file(path: str | os.PathLike[str]) -> Circuit:
    """Read an OpenQASM 2 or 3 file, choosing the parser from its ``OPENQASM`` header.

    Raises:
        FileNotFoundError: no such file.
        QasmError: no or unsupported header, or the program does not parse (the message
            names the file and line).
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")  # "-sig": a leading byte-order mark is dropped
    try:
        if qasm_version(text) == 2:
            return qasm2_to_circuit(text, include_path=(path.parent,))
        return qasm3_to_circuit(text)
    except QasmError as error:
        raise QasmError(f"{path}: {error}") from error
