"""``PennyLaneBackend``: run circuits on any PennyLane device.

Every binding of a batch becomes one PennyLane tape
(:func:`circuits.export.pennylane.circuit_to_pennylane_ops`), and all tapes of a
batch go to the device in **one** ``qp.execute`` call, after the device's own
preprocessing (decomposition of the operators it does not support, splitting of
non-commuting observables under shots, ...). Circuits with noise channels run on mixed-state
devices (``default.mixed``, ``qml_hybrid.mixed``; see :mod:`circuits.export.pennylane` for the
conversion of each channel). Gradients come from
:func:`circuits.gradients.parameter_shift_run`: the backward pass evaluates every
shifted circuit of the batch in one more device call (a forward pass alone evaluates
no shifted circuit).

Shots are checked before the device is called: samples that would not fit in memory
raise :class:`~circuits.errors.SimulationMemoryError` with the estimate.

Example:
    >>> from circuits import Circuit, ParameterVector, Z
    >>> from circuits.backends.pennylane import PennyLaneBackend
    >>> x = ParameterVector("x", 1)
    >>> backend = PennyLaneBackend("lightning.qubit")
    >>> backend.expval(Circuit(1).ry(x[0], 0), Z(0), {"x": [[0.0], [3.141592653589793]]})
    tensor([[ 1.],
            [-1.]], dtype=torch.float64)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pennylane as qp
import torch

from circuits.backend import (
    Backend,
    Expectation,
    Measurement,
    Probabilities,
    Samples,
    StateVector,
    check_shots,
    measured_qubits,
)
from circuits.errors import BackendUnavailableError, UnsupportedChannelError
from circuits.export.pennylane import circuit_to_pennylane_batch, observable_to_pennylane
from circuits.gradients import parameter_shift_run
from circuits.ir.circuit import Circuit
from circuits.measurement import check_shot_budget

__all__ = ["PennyLaneBackend", "PennyLaneOptions", "installed_devices"]

_RESERVED_OPTIONS = ("wires", "shots", "seed")

_BYTES_PER_SAMPLED_VALUE = 16
"""Memory per shot and per sampled wire or output while a device samples: its int64 samples plus as much again
for the eigenvalues, indices and conversions it makes from them."""


def installed_devices() -> list[str]:
    """Names of the PennyLane devices installed in this environment (from the ``pennylane.plugins`` entry points)."""
    return sorted(qp.plugin_devices)


@dataclass(frozen=True)
class PennyLaneOptions:
    """Options of :class:`PennyLaneBackend`."""

    device: str | None = "default.qubit"
    """Name of the PennyLane device (``"default.qubit"``, ``"lightning.qubit"``, any installed plugin);
    ``None`` when the backend was given a device instance."""

    shots: int | None = None
    """Shots per binding for expectation values and probabilities; ``None`` for exact results.
    ``Samples`` measurements carry their own shot count."""

    seed: int | None = None
    """Seed of the device's random number generator (devices created by name); ``None`` for fresh entropy."""

    device_options: Mapping[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for ``qp.device(name, ...)``, e.g. ``{"c_dtype": numpy.complex64}`` for lightning."""

    def __post_init__(self) -> None:
        if self.shots is not None:
            object.__setattr__(self, "shots", check_shots(self.shots))
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer))):
            raise TypeError(f"seed must be an int or None, got {self.seed!r} ({type(self.seed).__name__}).")
        if not isinstance(self.device_options, Mapping):
            raise TypeError(
                f"device_options must be a mapping of keyword arguments for qp.device, "
                f"got {type(self.device_options).__name__}."
            )
        reserved = sorted(set(self.device_options) & set(_RESERVED_OPTIONS))
        if reserved:
            raise ValueError(
                f"device_options may not set {reserved}: PennyLaneBackend sets the device wires from each circuit, "
                "and shots and seed are its own arguments (PennyLaneBackend(name, shots=..., seed=...))."
            )
        object.__setattr__(self, "device_options", MappingProxyType(dict(self.device_options)))


class PennyLaneBackend(Backend):
    """Runs circuits on a PennyLane device: one device call per batch.

    Args:
        device: a device name (``"default.qubit"``, ``"lightning.qubit"``, ...), created with
            ``wires = circuit.num_qubits`` for each circuit width, or a ready
            ``qp.devices.Device`` whose wires are ``None`` or include ``0 .. num_qubits - 1``.
        shots: shots per binding for expectation values and probabilities; ``None`` (default) for
            exact results. ``Samples`` measurements carry their own shot count.
        seed: seed of the device's random number generator, for reproducible shots (devices
            created by name). A ``generator`` passed to :meth:`run` overrides it for that call.
        device_options: extra keyword arguments for ``qp.device`` (not ``wires``, ``shots``, ``seed``).

    Raises:
        ValueError: an unknown device name (the message lists the installed devices).
        BackendUnavailableError: the device exists but cannot be created with these options.
    """

    name = "pennylane"

    def __init__(
        self,
        device: str | qp.devices.Device = "default.qubit",
        *,
        shots: int | None = None,
        seed: int | None = None,
        device_options: Mapping[str, Any] | None = None,
    ) -> None:
        instance: qp.devices.Device | None = None
        if isinstance(device, qp.devices.Device):
            instance, name = device, None
            if device_options:
                raise ValueError(
                    "device_options apply to devices created by name; the given device instance is already "
                    "configured. Pass the name instead, or drop device_options."
                )
            if seed is not None:
                raise ValueError(
                    "seed applies to devices created by name; a device instance has its own random generator "
                    f"({device.name}). Create the device with its seed, or pass the device name and seed=."
                )
        elif isinstance(device, str):
            name = device
            if name not in qp.plugin_devices:
                raise ValueError(
                    f"Unknown PennyLane device {name!r}. Installed devices: {', '.join(installed_devices())}. "
                    "PennyLane devices are installed as plugins (e.g. `pip install pennylane-lightning` provides "
                    "'lightning.qubit'); list them with `circuits.backends.pennylane.installed_devices()` or "
                    "`pennylane.about()`."
                )
        else:
            raise TypeError(
                f"device must be a PennyLane device name such as 'default.qubit' or a pennylane.devices.Device, "
                f"got {type(device).__name__}."
            )
        self.options = PennyLaneOptions(name, shots, seed, dict(device_options or {}))
        self._instance = instance
        self._devices: dict[int, qp.devices.Device] = {}
        if name is not None:
            self.device_for(1)  # fail now, not at the first run, when the options do not fit the device

    def __repr__(self) -> str:
        o = self.options
        device = o.device if o.device is not None else repr(self._instance)
        return f"PennyLaneBackend({device!r}, shots={o.shots}, seed={o.seed})"

    def _param_dtype(self) -> torch.dtype:
        return torch.float64

    # -- devices ---------------------------------------------------------------------------

    def device_for(self, num_qubits: int) -> qp.devices.Device:
        """The device that runs circuits of ``num_qubits`` qubits (created once per width and cached).

        Useful to attach a ``qp.Tracker``. For a backend made from a device instance, that instance.

        Raises:
            ValueError: the instance's wires do not include ``0 .. num_qubits - 1``.
        """
        if self._instance is not None:
            wires = self._instance.wires
            if wires is not None and not set(range(num_qubits)) <= set(wires.labels):
                raise ValueError(
                    f"The device has wires {list(wires.labels)}, but a {num_qubits}-qubit circuit uses wires "
                    f"0..{num_qubits - 1}. Create the device with wires={num_qubits} (or wires=None)."
                )
            return self._instance
        if num_qubits not in self._devices:
            self._devices[num_qubits] = self._create(num_qubits, self.options.seed)
        return self._devices[num_qubits]

    def _create(self, num_qubits: int, seed: int | None) -> qp.devices.Device:
        o = self.options
        try:
            return qp.device(o.device, wires=num_qubits, seed=seed, **o.device_options)
        except Exception as error:  # the plugin's own error type varies; keep it as the cause
            raise BackendUnavailableError(
                f"PennyLane could not create device {o.device!r} with wires={num_qubits}, seed={seed}, "
                f"options {dict(o.device_options)}: {type(error).__name__}: {error}. "
                "Check the options against the device's documentation."
            ) from error

    # -- execution -------------------------------------------------------------------------

    def _run(
        self,
        circuit: Circuit,
        values: dict[str, torch.Tensor],
        batch_size: int,
        measurement: Measurement,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        if circuit.has_channels and isinstance(measurement, StateVector):
            raise UnsupportedChannelError(
                "A circuit with noise channels ends in a mixed state, which has no state vector; measure "
                "Expectation, Probabilities or Samples (on a mixed-state device such as 'default.mixed')."
            )
        device = self.device_for(circuit.num_qubits)
        if generator is not None and self._instance is None and _is_random(measurement, self.options.shots):
            # A fresh device seeded from the caller's generator: the call is reproducible from it.
            seed = int(torch.randint(0, 2**63 - 1, (1,), generator=generator, device=generator.device).item())
            device = self._create(circuit.num_qubits, seed)

        self._check_shots(circuit, batch_size, measurement)

        def execute(c: Circuit, v: dict[str, torch.Tensor], b: int, m: Measurement) -> torch.Tensor:
            return self._execute(device, c, v, b, m)

        if isinstance(measurement, (Expectation, Probabilities)):
            return parameter_shift_run(execute, circuit, values, batch_size, measurement)
        return execute(circuit, {k: v.detach() for k, v in values.items()}, batch_size, measurement)

    def _check_shots(self, circuit: Circuit, batch_size: int, measurement: Measurement) -> None:
        """Refuse shots whose samples would not fit in memory, before the device allocates them.

        A device samples one tape at a time (the peak is one binding's samples), but ``Samples`` keeps
        every binding's shots.
        """
        if isinstance(measurement, Samples):
            width = len(measured_qubits(circuit, measurement.qubits))
            shots, executions = measurement.shots, batch_size
        elif self.options.shots is not None and isinstance(measurement, (Expectation, Probabilities)):
            outputs = len(measurement.observables) if isinstance(measurement, Expectation) else 1
            shots, executions, width = self.options.shots, 1, circuit.num_qubits + outputs
        else:
            return
        check_shot_budget(
            backend=f"PennyLaneBackend({self.options.device or 'device'!r})",
            shots=shots,
            executions=executions,
            bytes_per_shot=_BYTES_PER_SAMPLED_VALUE * max(width, 1),
        )

    def _execute(
        self,
        device: qp.devices.Device,
        circuit: Circuit,
        values: dict[str, torch.Tensor],
        batch_size: int,
        measurement: Measurement,
    ) -> torch.Tensor:
        """Run ``batch_size`` bindings as one batch of tapes in one device call (not differentiable).

        Shape:
            - values[name]: ``(1 or batch_size, size)``.
            - output: ``(batch_size, k)``, ``(batch_size, 2**m)``, ``(batch_size, shots, m)`` or
              ``(batch_size, 2**num_qubits)`` by measurement.
        """
        n = circuit.num_qubits
        rows = {k: v.detach().to(torch.float64).cpu().numpy() for k, v in values.items()}
        measurements, shots = self._measurements(circuit, measurement)
        pad = [qp.Identity(wires=range(n))] if device.wires is None else []
        tapes = [
            qp.tape.QuantumScript(pad + ops, measurements, shots=shots)
            for ops in circuit_to_pennylane_batch(circuit, rows, batch_size)
        ]
        try:
            results = qp.execute(tapes, device, diff_method=None)
        except qp.exceptions.DeviceError as error:
            if not circuit.has_channels:
                raise
            names = sorted({op.name for op in circuit if op.is_channel})
            raise UnsupportedChannelError(
                f"The PennyLane device {device.name!r} cannot run the noise channels {names} of this circuit "
                f"({error}). Use a mixed-state device: PennyLaneBackend('default.mixed') or 'qml_hybrid.mixed', "
                "or TorchBackend(method='density_matrix')."
            ) from error
        if isinstance(measurement, Expectation):
            return torch.as_tensor(np.array([np.atleast_1d(np.asarray(r, dtype=np.float64)) for r in results]))
        if isinstance(measurement, Probabilities):
            return torch.as_tensor(np.stack([np.asarray(r, dtype=np.float64) for r in results]))
        if isinstance(measurement, Samples):
            m = len(measured_qubits(circuit, measurement.qubits))
            bits = [np.asarray(r, dtype=np.int64).reshape(measurement.shots, m) for r in results]
            return torch.as_tensor(np.stack(bits))
        states = [_standard_order(np.asarray(r, dtype=np.complex128), device.wires, n) for r in results]
        return torch.as_tensor(np.stack(states))

    def _measurements(
        self, circuit: Circuit, measurement: Measurement
    ) -> tuple[list[qp.measurements.MeasurementProcess], int | None]:
        if isinstance(measurement, Expectation):
            return [qp.expval(observable_to_pennylane(o)) for o in measurement.observables], self.options.shots
        if isinstance(measurement, Probabilities):
            return [qp.probs(wires=list(measured_qubits(circuit, measurement.qubits)))], self.options.shots
        if isinstance(measurement, Samples):
            return [qp.sample(wires=list(measured_qubits(circuit, measurement.qubits)))], measurement.shots
        assert isinstance(measurement, StateVector)
        return [qp.state()], None  # the simulator's exact final state, whatever the backend's shots


def _is_random(measurement: Measurement, shots: int | None) -> bool:
    if isinstance(measurement, Samples):
        return True
    return shots is not None and isinstance(measurement, (Expectation, Probabilities))


def _standard_order(state: np.ndarray, wires: qp.wires.Wires | None, num_qubits: int) -> np.ndarray:
    """The state over qubits ``0 .. num_qubits - 1`` in our order, from a state over the device's wires.

    Wires beyond the circuit are never touched, so they are in ``|0>`` and are projected out.

    Shape:
        - state: ``(2**len(wires),)``; output: ``(2**num_qubits,)``.
    """
    labels = list(range(num_qubits)) if wires is None else list(wires.labels)
    if labels == list(range(num_qubits)):
        return state
    ours = set(range(num_qubits))
    tensor = state.reshape([2] * len(labels))
    tensor = tensor[tuple(slice(None) if w in ours else 0 for w in labels)]
    kept = [w for w in labels if w in ours]
    return np.transpose(tensor, [kept.index(q) for q in range(num_qubits)]).reshape(-1)
