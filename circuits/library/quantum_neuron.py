r"""The quantum neuron of Bausch's QRNN: a polynomial of basis-state inputs through ``arctan(tan^(2^k))``.

Bausch, "Recurrent Quantum Neural Networks" (NeurIPS 2020, arXiv 2006.14619), section "Quantum neurons",
after Cao, Guerreschi and Aspuru-Guzik, "Quantum neuron" (arXiv 1711.11240); reference code
``CLEconomides/RVQE`` ``RVQE/compound_layers.py`` (``QuantumNeuronLayer``); spec ``papers.md`` §1.

A neuron reads ``m`` source qubits in basis states ``x in {0, 1}^m`` and rotates one target qubit.
With one weight ``phi_S`` per subset ``S`` of the sources of size ``1 .. degree`` and a bias ``theta``,
the pre-activation is

.. math::
    \eta(x) = \tfrac12\Big(\sum_{S,\ 1 \le |S| \le d} \phi_S \prod_{i \in S} x_i + \theta + \beta\Big),
    \qquad \beta = \pi/2 \text{ by default},

and, on the source state ``|x>``, the neuron maps the target as

.. math::
    |0\rangle \mapsto \cos^{2^k}\!\eta\,|0\rangle + \sin^{2^k}\!\eta\,|1\rangle,\qquad
    |1\rangle \mapsto -\sin^{2^k}\!\eta\,|0\rangle + \cos^{2^k}\!\eta\,|1\rangle,

followed by renormalisation of the whole state: a rotation by ``f(eta) = arctan(tan(eta)^(2^k))``,
the sigmoid-like activation of order ``k``, applied with probability
``sum_x |psi_x|^2 (cos^(2^(k+1)) eta(x) + sin^(2^(k+1)) eta(x))``.

The circuit (:func:`quantum_neuron`) is the repeat-until-success construction of order ``k``:

* ``P(a)``: one multi-controlled ``RY(phi_S)`` from the qubits of ``S`` onto the ancilla ``a`` per subset,
  then ``RY(theta + beta)`` on ``a``, so that ``a`` holds ``cos eta |0> + sin eta |1>``;
* ``B_0(t) = P(a) . CRY(pi)(a -> t) . P(a)^dagger``, postselect ``a`` on ``|0>``; ``CRY(pi)`` is the
  controlled ``-iY`` of the paper; on the target this is ``cos^2 eta I + sin^2 eta (-iY)``;
* ``B_r(t) = B_{r-1}(a_r) . CRY(pi)(a_r -> t) . B_{r-1}(a_r)^dagger``, postselect ``a_r`` on ``|0>``:
  ``cos^(2^(r+1)) eta I + sin^(2^(r+1)) eta (-iY)``. The neuron of order ``k`` is ``B_{k-1}`` on the target.

Our circuit description has no mid-circuit measurement or reset, so every postselected ancilla is a
fresh qubit that the circuit never touches again: order ``k`` needs ``2^k - 1`` ancillas
(:func:`neuron_ancilla_count`), and running the circuit then projecting every ancilla onto ``|0>``
gives exactly the postselected state. On hardware with mid-circuit measurement and reset, ``k``
ancillas suffice (the paper's ``H + I + ord`` qubits); see ``docs/qrnn.md``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np

from circuits.errors import QubitIndexError
from circuits.ir.circuit import Circuit
from circuits.ir.operation import Operation
from circuits.ir.parameters import ParameterVector
from circuits.library._building import check_count, check_distinct, check_vector

__all__ = [
    "DEFAULT_NEURON_OFFSET",
    "neuron_ancilla_count",
    "neuron_subsets",
    "neuron_weight_count",
    "quantum_neuron",
]

DEFAULT_NEURON_OFFSET = math.pi / 2
"""The constant ``beta`` added to every pre-activation (RVQE's ``bias``): ``eta = pi/4`` at zero weights."""


def neuron_subsets(num_sources: int, degree: int) -> tuple[tuple[int, ...], ...]:
    """The source subsets that carry a weight, in weight order: by size ``1 .. degree``, then lexicographic.

    Positions are indices into the neuron's list of sources. This order is the layout of the weight
    vector of :func:`quantum_neuron` and of the fast path in ``qml.recurrent``.

    Args:
        num_sources: ``m >= 1``, the qubits the neuron reads.
        degree: ``1 <= d <= m``, the largest subset (the degree of the polynomial).

    Returns:
        ``sum_{j=1..d} C(m, j)`` tuples of increasing positions.

    Raises:
        TypeError: a count is not an int.
        ValueError: ``num_sources < 1`` or ``degree`` outside ``1 .. num_sources``.
    """
    m = check_count("num_sources", num_sources)
    d = _check_degree(degree, m)
    return tuple(s for size in range(1, d + 1) for s in itertools.combinations(range(m), size))


def neuron_weight_count(num_sources: int, degree: int) -> int:
    """``sum_{j=1..degree} C(num_sources, j)``: the weights ``phi_S`` of one neuron (its bias not counted)."""
    m = check_count("num_sources", num_sources)
    d = _check_degree(degree, m)
    return sum(math.comb(m, j) for j in range(1, d + 1))


def neuron_ancilla_count(order: int) -> int:
    """``2^order - 1``: the ancillas of :func:`quantum_neuron`, one per postselection (no reset in the circuit)."""
    return 2 ** check_count("order", order) - 1


def quantum_neuron(
    num_qubits: int,
    sources: Sequence[int],
    target: int,
    ancillas: Sequence[int],
    *,
    order: int = 2,
    degree: int = 2,
    weights: ParameterVector | str = "phi",
    bias: ParameterVector | str = "theta",
    offset: float = DEFAULT_NEURON_OFFSET,
) -> Circuit:
    r"""The order-``k`` quantum neuron circuit; postselect every ancilla on ``|0>`` after running it.

    See the module docstring for the map it implements. After the circuit, the state with every
    ancilla projected onto ``|0>`` and renormalised is the neuron's output; the squared norm of the
    projection is its postselection probability. Gate count: ``2^k`` copies of the parameter block
    (``len(weights)`` multi-controlled ``RY`` and one ``RY``, or its inverse) and ``2^k - 1``
    controlled ``RY(+-pi)``.

    Args:
        num_qubits: width of the returned circuit.
        sources: the ``m`` qubits read (distinct); subset positions index this list.
        target: the qubit rotated (not a source).
        ancillas: exactly ``2^order - 1`` distinct qubits in ``|0>``, disjoint from the others.
        order: ``k >= 1`` (the paper's ``ord``; its experiments use 2).
        degree: ``1 <= d <= m``, the largest source subset with a weight.
        weights: vector of :func:`neuron_weight_count` angles ``phi_S``, in :func:`neuron_subsets` order.
        bias: vector of one angle ``theta``.
        offset: the constant ``beta`` added to the bias angle (``pi/2``, as RVQE).

    Returns:
        The circuit; its parameters are ``{weights: num_weights, bias: 1}``.

    Raises:
        TypeError: a count or qubit index is not an int, a vector is not a ParameterVector or name.
        ValueError: ``order`` or ``degree`` out of range, the wrong number of ancillas, repeated qubits,
            vectors of the wrong size or with one name.
        QubitIndexError: a qubit outside ``range(num_qubits)`` (the message says how many are needed).
    """
    n = check_count("num_qubits", num_qubits)
    k = check_count("order", order)
    source_list = _check_qubits("sources", sources)
    if not source_list:
        raise ValueError("a quantum neuron needs at least one source qubit, got sources=[].")
    ancilla_list = _check_qubits("ancillas", ancillas)
    target_qubit = _check_qubits("target", [target])[0]
    d = _check_degree(degree, len(source_list))
    needed = 2**k - 1
    if len(ancilla_list) != needed:
        raise ValueError(
            f"a quantum neuron of order {k} postselects 2**order - 1 = {needed} fresh ancilla(s) (the circuit has no "
            f"reset), got {len(ancilla_list)}: {list(ancilla_list)}. Pass {needed} qubits in |0> as ancillas."
        )
    used = [*source_list, target_qubit, *ancilla_list]
    if len(set(used)) != len(used):
        raise ValueError(
            f"sources {list(source_list)}, target {target_qubit} and ancillas {list(ancilla_list)} must be distinct "
            "qubits."
        )
    if max(used) >= n:
        raise QubitIndexError(
            f"the neuron uses qubits up to {max(used)}, so it needs num_qubits >= {max(used) + 1}, got {n} "
            f"({len(source_list)} sources + 1 target + {needed} ancillas = {len(used)} qubits at least)."
        )
    subsets = neuron_subsets(len(source_list), d)
    w = check_vector("weights", weights, len(subsets), f"sum of C({len(source_list)}, j) for j = 1..{d}")
    b = check_vector("bias", bias, 1, "one bias angle")
    check_distinct(w, b)
    offset = float(offset)
    if not np.isfinite(offset):
        raise ValueError(f"offset must be a finite angle, got {offset}.")

    def parameter_block(ancilla: int) -> list[Operation]:
        ops = [
            Operation.create("cry" if len(s) == 1 else "mcry", (*(source_list[i] for i in s), ancilla), (w[j],))
            for j, s in enumerate(subsets)
        ]
        ops.append(Operation.create("ry", ancilla, (b[0] + offset,)))
        return ops

    fresh: Iterator[int] = iter(ancilla_list)

    def block(level: int, target_qubit: int, adjoint: bool) -> list[Operation]:
        ancilla = next(fresh)
        flip = Operation.create("cry", (ancilla, target_qubit), (-math.pi if adjoint else math.pi,))
        if level == 0:
            head = parameter_block(ancilla)
            tail = [op.adjoint() for op in reversed(head)]
        else:
            head = block(level - 1, ancilla, False)
            tail = block(level - 1, ancilla, True)
        return [*head, flip, *tail]

    return Circuit(n, block(k - 1, target_qubit, False))


def _check_degree(degree: object, num_sources: int) -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)):
        raise TypeError(f"degree must be an int in 1..{num_sources}, got {degree!r} ({type(degree).__name__}).")
    if not 1 <= degree <= num_sources:
        raise ValueError(
            f"degree is the largest source subset with a weight, so it must be in 1..{num_sources} "
            f"(the number of sources), got {degree}."
        )
    return int(degree)


def _check_qubits(role: str, qubits: object) -> tuple[int, ...]:
    if isinstance(qubits, (str, bytes)) or not isinstance(qubits, Sequence):
        raise TypeError(f"{role} must be a sequence of qubit indices, got {type(qubits).__name__}.")
    for q in qubits:
        if isinstance(q, bool) or not isinstance(q, (int, np.integer)):
            raise TypeError(f"{role}: qubit indices must be ints, got {q!r} ({type(q).__name__}).")
        if q < 0:
            raise QubitIndexError(f"{role}: qubit indices must be >= 0, got {q}.")
    result = tuple(int(q) for q in qubits)
    if len(set(result)) != len(result):
        raise ValueError(f"{role} repeats a qubit: {list(result)}.")
    return result
