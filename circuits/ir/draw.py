"""A circuit as a text diagram (:meth:`Circuit.draw <circuits.ir.circuit.Circuit.draw>`).

One wire per qubit, gates in columns; each operation goes in the first column after every
operation that touches a wire between its lowest and highest qubit (a multi-qubit gate's
vertical line must not cross another gate). The output is deterministic: the same circuit
always gives the same string::

    q0: ──H─╭●──────────
    q1: ────╰X──RZ(π/2)─

Multi-qubit gates join their wires with ``╭`` (top), ``├`` (a qubit in between) and ``╰``
(bottom); a wire the gate skips shows ``│``. Controls are ``●``, the target shows the base
gate (``X`` for ``cx``, ``RY(θ)`` for ``cry``), a ``swap`` is ``×`` on both wires. A gate without
controls repeats its label on each of its wires; when its qubits are not listed in increasing
order and the gate is not symmetric, each label ends with the qubit's position in the
operation (``[0]`` is the first listed qubit, the most significant bit of its matrix).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from circuits.ir.gates import PauliLabel
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle, as_angle

__all__ = ["draw_text", "format_angle"]

_CONTROLLED: dict[str, tuple[int, str]] = {
    # name: (number of controls, base gate name); variable-width gates use -1 (all but the last qubit)
    "cx": (1, "x"),
    "cy": (1, "y"),
    "cz": (1, "z"),
    "ch": (1, "h"),
    "cs": (1, "s"),
    "csdg": (1, "sdg"),
    "csx": (1, "sx"),
    "crx": (1, "rx"),
    "cry": (1, "ry"),
    "crz": (1, "rz"),
    "cp": (1, "p"),
    "cu1": (1, "u1"),
    "cu3": (1, "u3"),
    "cu": (1, "u"),
    "cswap": (1, "swap"),
    "ccx": (2, "x"),
    "ccz": (2, "z"),
    "c3sx": (3, "sx"),
    "mcx": (-1, "x"),
    "mcphase": (-1, "p"),
    "mcrx": (-1, "rx"),
    "mcry": (-1, "ry"),
    "mcrz": (-1, "rz"),
}
_NAMES = {
    "sdg": "S†",
    "tdg": "T†",
    "sxdg": "SX†",
    "id": "I",
    "unitary": "U",
    # noise channels
    "depolarizing": "DEPOL",
    "amplitude_damping": "AMPDAMP",
    "phase_damping": "PHASEDAMP",
    "bit_flip": "BITFLIP",
    "phase_flip": "PHASEFLIP",
    "pauli_channel": "PAULI",
    "thermal_relaxation": "THERMAL",
    "kraus": "KRAUS",
}
_SYMMETRIC = frozenset({"rxx", "ryy", "rzz", "iswap", "swap", "cz", "ccz", "mcphase", "cp", "cu1", "depolarizing"})
_PI_DENOMINATORS = (1, 2, 3, 4, 6, 8)


def _format_number(value: float, precision: int) -> str:
    """``value`` to ``precision`` significant digits, or as a multiple of pi (``π/2``, ``-3π/4``)."""
    if value == 0.0:
        return "0"
    for d in _PI_DENOMINATORS:
        k = value * d / math.pi
        if abs(k - round(k)) < 1e-9 and 0 < abs(round(k)) <= 16 * d:
            f = Fraction(round(k), d)
            sign = "-" if f < 0 else ""
            num = "" if abs(f.numerator) == 1 else str(abs(f.numerator))
            return f"{sign}{num}π" + (f"/{f.denominator}" if f.denominator != 1 else "")
    return f"{value:.{precision}g}"


def format_angle(angle: Angle, precision: int = 3) -> str:
    """An angle for display: numbers rounded (:func:`_format_number`), symbols as ``theta[0]``.

    Example: ``0.5 * theta[0] * x[1] - 0.1`` is ``0.5*theta[0]*x[1] - 0.1``.
    """
    parts: list[tuple[bool, str]] = []  # (negative, magnitude text)
    for coeff, symbols in angle.terms:
        product = "*".join(str(s) for s in symbols)
        magnitude = abs(coeff)
        text = product if magnitude == 1.0 else f"{_format_number(magnitude, precision)}*{product}"
        parts.append((coeff < 0, text))
    if angle.constant != 0.0 or not parts:
        parts.append((angle.constant < 0, _format_number(abs(angle.constant), precision)))
    first_negative, first = parts[0]
    out = ("-" if first_negative else "") + first
    for negative, text in parts[1:]:
        out += (" - " if negative else " + ") + text
    return out


def _label(name: str, op: Operation, precision: int) -> str:
    base = _NAMES.get(name, name.upper())
    if name == "pauli_rot" and isinstance(op.data, PauliLabel):
        base = f"R{op.data.label}"
    if name == "evolution":
        return f"exp(-i·{format_angle(op.params[0], precision)}·H)"
    if op.params:
        return f"{base}({', '.join(format_angle(p, precision) for p in op.params)})"
    return base


def _cells(op: Operation, precision: int) -> dict[int, str]:
    """The text of ``op`` on each of its wires (before the connector)."""
    qubits = op.qubits
    if op.name in _CONTROLLED:
        controls, base = _CONTROLLED[op.name]
        controls = len(qubits) - 1 if controls < 0 else controls
        cells = {q: "●" for q in qubits[:controls]}
        target = "×" if base == "swap" else _label(base, op, precision)
        cells.update({q: target for q in qubits[controls:]})
        return cells
    if op.name == "swap":
        return {q: "×" for q in qubits}
    label = _label(op.name, op, precision)
    if len(qubits) > 1 and list(qubits) != sorted(qubits) and op.name not in _SYMMETRIC:
        return {q: f"{label}[{position}]" for position, q in enumerate(qubits)}
    return {q: label for q in qubits}


def _columns(operations: Sequence[Operation], num_qubits: int, precision: int) -> list[dict[int, str]]:
    """Each column: wire to ``connector + text``; wires a gate crosses get ``│``."""
    columns: list[dict[int, str]] = []
    next_free = [0] * num_qubits
    for op in operations:
        if not op.qubits:
            continue
        low, high = min(op.qubits), max(op.qubits)
        index = max(next_free[low : high + 1])
        for w in range(low, high + 1):
            next_free[w] = index + 1
        if index == len(columns):
            columns.append({})
        texts = _cells(op, precision)
        for w in range(low, high + 1):
            if low == high:
                connector = "─"
            elif w == low:
                connector = "╭"
            elif w == high:
                connector = "╰"
            else:
                connector = "├" if w in texts else "│"
            columns[index][w] = connector + texts.get(w, "")
    return columns


def _render(column: dict[int, str], num_qubits: int) -> list[str]:
    width = max(len(cell) for cell in column.values())
    return ["─" + column.get(w, "").ljust(width, "─") for w in range(num_qubits)]


def draw_text(num_qubits: int, operations: Sequence[Operation], *, precision: int = 3, max_width: int = 100) -> str:
    """The diagram of a circuit (see the module docstring).

    Args:
        num_qubits: number of wires.
        operations: the operations in order.
        precision: significant digits of the numbers in labels, ``>= 1``.
        max_width: characters per line before the diagram wraps into another block, ``>= 20``.

    Raises:
        ValueError: ``precision`` or ``max_width`` out of range.
    """
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 1:
        raise ValueError(f"precision must be an int >= 1 (significant digits), got {precision!r}.")
    if isinstance(max_width, bool) or not isinstance(max_width, int) or max_width < 20:
        raise ValueError(f"max_width must be an int >= 20 (characters per line), got {max_width!r}.")
    names = [f"q{w}" for w in range(num_qubits)]
    prefix_width = max(len(n) for n in names)
    prefixes = [f"{n.rjust(prefix_width)}: " for n in names]
    rendered = [_render(c, num_qubits) for c in _columns(operations, num_qubits, precision)]

    blocks: list[list[list[str]]] = [[]]
    used = len(prefixes[0]) + 2  # "«" and the closing character
    for column in rendered:
        width = len(column[0])
        if blocks[-1] and used + width > max_width:
            blocks.append([])
            used = len(prefixes[0]) + 2
        blocks[-1].append(column)
        used += width
    lines: list[str] = []
    for b, block in enumerate(blocks):
        if b:
            lines.append("")
        for w in range(num_qubits):
            start = "«" if b else ""
            end = "»" if b < len(blocks) - 1 else "─"
            lines.append(prefixes[w] + start + "".join(column[w] for column in block) + end)
    phase = as_angle(0.0)
    has_phase = False
    for op in operations:
        if op.name == "global_phase":
            phase, has_phase = phase + op.params[0], True
    if has_phase:
        lines.append(f"global phase: {format_angle(phase, precision)}")
    return "\n".join(lines)
