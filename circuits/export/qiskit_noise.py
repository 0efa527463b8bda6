"""Conversion of noise between qml-hybrid and Qiskit Aer: channels, noise models, readout errors.

* :func:`channel_to_qiskit`: one of our channels (constant parameters) as a ``qiskit_aer.noise.QuantumError``,
  with Aer's own constructors where one exists (``depolarizing_error``, ``amplitude_damping_error``,
  ``phase_damping_error``, ``pauli_error``, ``thermal_relaxation_error``: same parameters, see
  :mod:`circuits.ir.channels`), else from the Kraus operators.
* :func:`channel_from_qiskit`: any ``QuantumError`` (a mixture of circuits, Kraus, SuperOp, resets ...) or
  ``qiskit.quantum_info`` channel as our ``kraus`` channel, through ``qiskit.quantum_info.Kraus``.
* :func:`noise_model_from_qiskit` / :func:`noise_model_to_qiskit`: whole noise models, all-qubit and
  qubit-specific errors and readout errors. ``noise_model_from_qiskit(NoiseModel.from_backend(FakeManilaV2()))``
  gives a device's calibrated noise (each gate's composed depolarising and thermal-relaxation error as one
  Kraus channel) for :class:`~circuits.sim.torch_backend.TorchBackend`.

Qubit order: Qiskit's matrices are little-endian (``qargs[0]`` is the least significant bit), ours are
big-endian; Kraus operators are permuted with :func:`~circuits.export.qiskit.reverse_qubit_order` here, so
an error on ``qargs (a, b)`` becomes our channel on qubits ``(a, b)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from qiskit.quantum_info import Kraus
from qiskit_aer.noise import NoiseModel as QiskitNoiseModel
from qiskit_aer.noise import (
    QuantumError,
    amplitude_damping_error,
    depolarizing_error,
    pauli_error,
    phase_damping_error,
    thermal_relaxation_error,
)
from qiskit_aer.noise import ReadoutError as QiskitReadoutError

from circuits.errors import ConversionError
from circuits.export.qiskit import reverse_qubit_order
from circuits.ir.channels import channel_kraus
from circuits.ir.gates import GATES
from circuits.ir.operation import Operation
from circuits.noise import Channel, NoiseModel, ReadoutError

__all__ = [
    "channel_from_qiskit",
    "channel_to_qiskit",
    "noise_model_from_qiskit",
    "noise_model_to_qiskit",
    "operation_to_qiskit_error",
]

_NEGLIGIBLE_KRAUS = 1e-15
"""Kraus operators with ``tr(K^dagger K) / d`` below this are dropped when converting from Qiskit."""


def _values(channel: Channel) -> list[float]:
    if any(not p.is_constant for p in channel.params):
        raise ConversionError(
            f"Noise channel {channel} has symbolic parameters; Qiskit Aer needs numbers. Bind them first "
            "(circuit.bind({...}), or Channel(..., params=numbers)), or simulate the symbolic noise on "
            "TorchBackend(method='density_matrix')."
        )
    return [p.value() for p in channel.params]


def channel_to_qiskit(channel: Channel) -> QuantumError:
    """Our channel as a Qiskit Aer ``QuantumError`` on ``channel.num_qubits`` qubits (qargs in our qubit order).

    Raises:
        ConversionError: the channel has symbolic parameters.
    """
    if not isinstance(channel, Channel):
        raise TypeError(f"channel_to_qiskit takes a circuits.noise.Channel, got {type(channel).__name__}.")
    values = _values(channel)
    name = channel.name
    if name == "depolarizing":
        return depolarizing_error(values[0], channel.num_qubits)
    if name == "amplitude_damping":
        return amplitude_damping_error(values[0])
    if name == "phase_damping":
        return phase_damping_error(values[0])
    if name in ("bit_flip", "phase_flip"):
        letter = "X" if name == "bit_flip" else "Z"
        return pauli_error([(letter, values[0]), ("I", 1 - values[0])])
    if name == "pauli_channel":
        px, py, pz = values
        return pauli_error([("X", px), ("Y", py), ("Z", pz), ("I", 1 - px - py - pz)])
    if name == "thermal_relaxation":
        return thermal_relaxation_error(*values)
    params = torch.tensor([values], dtype=torch.float64)
    kraus = channel_kraus(name, params, channel.data, channel.num_qubits)[0].numpy()
    return QuantumError(Kraus([reverse_qubit_order(k) for k in kraus]))


def operation_to_qiskit_error(op: Operation) -> QuantumError:
    """A channel operation of a circuit as a ``QuantumError`` (append it on ``op.qubits``).

    Raises:
        ConversionError: the operation is not a channel, or has symbolic parameters.
    """
    if not op.is_channel:
        raise ConversionError(f"{op} is a gate, not a noise channel.")
    return channel_to_qiskit(Channel(op.name, op.params, op.data, op.num_qubits))  # type: ignore[arg-type]


def channel_from_qiskit(error: Any) -> Channel:
    """Any Qiskit noise (``QuantumError``, ``Kraus``, ``SuperOp``, ``Choi`` ...) as our ``kraus`` channel.

    Raises:
        ConversionError: Qiskit cannot express it as Kraus operators (not completely positive), or they are
            not trace preserving.
    """
    try:
        kraus = Kraus(error)
    except Exception as exc:
        raise ConversionError(
            f"Cannot convert {type(error).__name__} to Kraus operators: {exc}. A noise channel must be completely "
            "positive and trace preserving."
        ) from None
    left = kraus.data  # a list for a completely positive map, a (left, right) pair otherwise
    if isinstance(left, tuple):
        raise ConversionError(f"{type(error).__name__} is not completely positive (Kraus needs two sets of operators).")
    d = left[0].shape[0]
    kept = [reverse_qubit_order(np.asarray(k)) for k in left if np.vdot(k, k).real / d > _NEGLIGIBLE_KRAUS]
    return Channel.kraus(np.stack(kept))


def _qiskit_channels(channels: Sequence[Channel], width: int) -> QuantumError:
    """The rule's channels, each on the gate's qubits (a one-qubit channel on each of them), as one error."""
    total = None
    for channel in channels:
        error = channel_to_qiskit(channel)
        if channel.num_qubits == 1 and width > 1:
            wide = error
            for _ in range(width - 1):
                wide = wide.tensor(error)
            error = wide
        total = error if total is None else total.compose(error)
    assert total is not None
    return total


def noise_model_to_qiskit(model: NoiseModel) -> QiskitNoiseModel:
    """Our noise model as a ``qiskit_aer.noise.NoiseModel`` (same rules, Aer's semantics).

    Several channels of one rule become one composed ``QuantumError``; a one-qubit channel on a wider gate
    is tensored onto each of its qubits. The ideal gates join the basis gates.

    Raises:
        ConversionError: a channel with symbolic parameters.
    """
    if not isinstance(model, NoiseModel):
        raise TypeError(f"noise_model_to_qiskit takes a circuits.noise.NoiseModel, got {type(model).__name__}.")
    out = QiskitNoiseModel()
    for gate, channels in sorted(model.all_qubit_errors.items()):
        width = GATES[gate].num_qubits
        if width is None:
            raise ConversionError(
                f"Qiskit cannot attach an all-qubit error to the variable-width gate {gate!r}; use qubit-specific "
                "rules (NoiseModel.add_error) or transpile the circuit to fixed-width gates."
            )
        out.add_all_qubit_quantum_error(_qiskit_channels(channels, width), gate, warnings=False)
    for (gate, qubits), channels in sorted(model.qubit_errors.items()):
        out.add_quantum_error(_qiskit_channels(channels, len(qubits)), gate, list(qubits), warnings=False)
    if model.all_qubit_readout_error is not None:
        out.add_all_qubit_readout_error(QiskitReadoutError(model.all_qubit_readout_error.probabilities))
    for qubit, error in sorted(model.readout_errors.items()):
        out.add_readout_error(QiskitReadoutError(error.probabilities), [qubit], warnings=False)
    if model.ideal_gates:
        out.add_basis_gates(sorted(model.ideal_gates))
    return out


def _readout(error: QiskitReadoutError, where: str) -> ReadoutError:
    probabilities = np.asarray(error.probabilities, dtype=np.float64)
    if probabilities.shape != (2, 2):
        raise ConversionError(
            f"{where}: a correlated readout error on {error.number_of_qubits} qubits; our noise models take one "
            "readout error per qubit. Give each qubit its marginal error."
        )
    return ReadoutError(probabilities)


def noise_model_from_qiskit(model: QiskitNoiseModel) -> NoiseModel:
    """A ``qiskit_aer.noise.NoiseModel`` as ours: every quantum error as a Kraus channel, readout errors as they are.

    Basis gates without an error become ``ideal_gates`` (Aer's virtual ``rz``: no warning when a circuit uses
    it). Errors on instructions a :class:`~circuits.ir.circuit.Circuit` cannot contain (``reset``, ``delay``,
    ``measure`` as a quantum error) are left out: no circuit of ours meets them. Readout errors are kept.

    Raises:
        TypeError: not a Qiskit Aer noise model.
        ConversionError: a correlated multi-qubit readout error, or an error Qiskit cannot write as Kraus
            operators.
    """
    if not isinstance(model, QiskitNoiseModel):
        raise TypeError(
            f"noise_model_from_qiskit takes a qiskit_aer.noise.NoiseModel, got {type(model).__name__}. For a "
            "device's noise use qiskit_aer.noise.NoiseModel.from_backend(backend) first."
        )
    # qiskit-aer keeps the rules in these attributes (its to_dict() serializes them the same way)
    default_errors: dict[str, QuantumError] = model._default_quantum_errors
    local_errors: dict[str, dict[tuple[int, ...], QuantumError]] = model._local_quantum_errors
    noisy = {name for name in [*default_errors, *local_errors] if name in GATES}
    ideal = sorted(name for name in model.basis_gates if name in GATES and name not in noisy)
    out = NoiseModel(ideal_gates=ideal)
    cache: dict[str, Channel] = {}

    def converted(error: QuantumError) -> Channel:
        key = error.id
        if key not in cache:
            cache[key] = channel_from_qiskit(error)
        return cache[key]

    for name, error in default_errors.items():
        if name in GATES:
            out = out.add_all_qubit_error(converted(error), name)
    for name, by_qubits in local_errors.items():
        if name in GATES:
            for qubits, error in by_qubits.items():
                out = out.add_error(converted(error), name, tuple(qubits))
    if model._default_readout_error is not None:
        out = out.add_readout_error(_readout(model._default_readout_error, "all-qubit readout error"))
    for qubits, error in model._local_readout_errors.items():
        if len(qubits) != 1:
            raise ConversionError(
                f"readout error on qubits {tuple(qubits)}: a correlated readout error; our noise models take one "
                "readout error per qubit."
            )
        out = out.add_readout_error(_readout(error, f"readout error on qubit {qubits[0]}"), qubits[0])
    return out
