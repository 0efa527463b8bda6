"""A Qiskit device's calibrated noise for our engines, and the noisy Aer target that goes with it.

:func:`device_noise` reads a ``BackendV2`` (a fake IBM device from ``qiskit_ibm_runtime.fake_provider``, whose
calibration snapshot ships with the package, or any backend with a target) once and returns a
:class:`DeviceNoise`: our :class:`~circuits.noise.NoiseModel` converted from Qiskit Aer's
``NoiseModel.from_backend`` (:func:`circuits.export.qiskit_noise.noise_model_from_qiskit`), the device's basis
gates and coupling map, and the noisy Aer backend on the same snapshot (:meth:`DeviceNoise.aer_backend`)::

    from circuits import TorchBackend
    from circuits.backends.device_noise import device_noise

    manila = device_noise("fake_manila")            # qiskit-ibm-runtime's FakeManilaV2
    train_on = TorchBackend(noise_model=manila.noise_model)
    evaluate_on = manila.aer_backend()               # AerBackend.from_backend(FakeManilaV2()), exact

Our qubit ``q`` is the device's qubit ``q`` in both (no layout, no routing): build circuits in the device's basis
gates on its coupling map, or the noise model warns about the gates it leaves noiseless.

Readout errors act on measured outcomes (``Probabilities``, ``Samples``), not on exact expectation values, in
our engines as in Aer. :meth:`DeviceNoise.recorded_z` gives the observable whose exact expectation value is
``<Z>`` as the device records it: with ``e0 = P(1|0)`` and ``e1 = P(0|1)``, ``(1 - e0 - e1) Z + (e1 - e0) I``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from circuits.errors import BackendUnavailableError, NoiseModelWarning
from circuits.ir.observables import PauliString, PauliSum
from circuits.noise import NoiseModel

__all__ = ["DeviceNoise", "device_noise", "fake_backend"]


def fake_backend(name: str) -> Any:
    """qiskit-ibm-runtime's fake device ``name`` (``"fake_manila"``: ``FakeManilaV2``), a ``BackendV2``.

    Raises:
        BackendUnavailableError: qiskit-ibm-runtime is not installed (the ``ibm`` extra), or no fake device has
            that name (the message lists them).
    """
    try:
        from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2
    except ImportError:
        raise BackendUnavailableError(
            f"The fake device {name!r} comes with qiskit-ibm-runtime, which is not installed. Install it with "
            '`pip install "qml-hybrid[ibm]"` (or `pip install qiskit-ibm-runtime`).'
        ) from None
    with warnings.catch_warnings():  # every FakeProviderForBackendV2() warns about one device's properties
        warnings.filterwarnings("ignore", message=r"Properties of fake_\w+ are not intended", category=UserWarning)
        provider = FakeProviderForBackendV2()
        names = sorted(backend.name for backend in provider.backends())
    if name not in names:
        raise BackendUnavailableError(f"No fake device named {name!r}; qiskit-ibm-runtime has {', '.join(names)}.")
    return provider.backend(name)


@dataclass(frozen=True)
class DeviceNoise:
    """A device's calibrated noise in our terms (build it with :func:`device_noise`).

    Attributes:
        name: the device's name (``"fake_manila"``).
        backend: the Qiskit ``BackendV2`` it was read from.
        noise_model: our noise model: gate errors per gate and qubits, readout errors per qubit.
        num_qubits: the device's qubits.
        basis_gates: its native gates (Qiskit names, which are ours), without ``measure``/``reset``/``delay``.
        coupling_map: its directed two-qubit couplings.
        dropped: Qiskit noise-model instructions whose errors our engines do not simulate (``reset``).
    """

    name: str
    backend: Any = field(repr=False)
    noise_model: NoiseModel = field(repr=False)
    num_qubits: int
    basis_gates: tuple[str, ...]
    coupling_map: tuple[tuple[int, int], ...]
    dropped: tuple[str, ...] = ()

    def aer_backend(self, **kwargs: Any) -> Any:
        """``AerBackend.from_backend(backend, **kwargs)``: the same snapshot's noise on Qiskit Aer.

        Exact (density matrix) unless ``shots`` is given; see :class:`~circuits.backends.aer.AerBackend`.
        """
        from circuits.backends.aer import AerBackend

        return AerBackend.from_backend(self.backend, **kwargs)

    def recorded_z(self, qubit: int) -> PauliSum:
        """``<Z_qubit>`` as recorded through the qubit's readout error: ``(1 - e0 - e1) Z + (e1 - e0) I``.

        The exact expectation value of this observable equals that of ``Z`` estimated from infinitely many
        shots of the device's measurement (``e0 = P(1|0)``, ``e1 = P(0|1)``). Without a readout error it is ``Z``.
        """
        matrix = self.noise_model.readout_matrices([qubit])[0]
        if matrix is None:
            return PauliSum((PauliString(1.0, ((qubit, "Z"),)),))
        e0, e1 = float(matrix[0, 1]), float(matrix[1, 0])
        return PauliSum((PauliString(1.0 - e0 - e1, ((qubit, "Z"),)), PauliString(e1 - e0, ())))

    def facts(self) -> dict[str, Any]:
        """Plain-JSON facts about the device and its noise (for a results file)."""
        readout = {}
        for q in range(self.num_qubits):
            matrix = self.noise_model.readout_matrices([q])[0]
            if matrix is not None:
                readout[str(q)] = {"p1_given_0": float(matrix[0, 1]), "p0_given_1": float(matrix[1, 0])}
        target = self.backend.target
        errors: dict[str, dict[str, float]] = {}
        for gate in self.basis_gates:
            if gate not in target.operation_names:
                continue
            for qargs, props in target[gate].items():
                if props is not None and props.error is not None and qargs is not None:
                    errors.setdefault(gate, {})[",".join(str(q) for q in qargs)] = float(props.error)
        return {
            "device": self.name,
            "backend": type(self.backend).__name__,
            "num_qubits": self.num_qubits,
            "basis_gates": list(self.basis_gates),
            "coupling_map": [list(pair) for pair in self.coupling_map],
            "gate_errors": errors,
            "readout_errors": readout,
            "noise_model": "qiskit_aer.noise.NoiseModel.from_backend (gate errors with thermal relaxation, readout "
            "errors) converted by circuits.export.qiskit_noise.noise_model_from_qiskit",
            "dropped_instruction_errors": list(self.dropped),
        }


_NOT_GATES = frozenset({"measure", "reset", "delay", "barrier", "if_else", "for_loop", "switch_case", "while_loop"})


def device_noise(device: str | Any) -> DeviceNoise:
    """The calibrated noise of ``device``: a fake device's name (``"fake_manila"``) or a Qiskit ``BackendV2``.

    Errors Qiskit attaches to ``reset`` are left out (our engines run gates and final measurements) and listed in
    :attr:`DeviceNoise.dropped`; every gate and readout error is kept.

    Raises:
        BackendUnavailableError: a fake device name without qiskit-ibm-runtime, or an unknown name.
        TypeError: neither a name nor a backend with a ``target``.
    """
    from qiskit_aer.noise import NoiseModel as QiskitNoiseModel

    from circuits.export.qiskit_noise import noise_model_from_qiskit

    backend = fake_backend(device) if isinstance(device, str) else device
    if not hasattr(backend, "target"):
        raise TypeError(
            f"device_noise takes a fake device name such as 'fake_manila' or a Qiskit BackendV2, got "
            f"{type(device).__name__}."
        )
    qiskit_model = QiskitNoiseModel.from_backend(backend)
    dropped = tuple(sorted(set(qiskit_model.noise_instructions) & {"reset"}))
    with warnings.catch_warnings():
        if dropped:  # said in DeviceNoise.dropped instead
            warnings.filterwarnings(
                "ignore", message=r".*errors on \['reset'\] are dropped", category=NoiseModelWarning
            )
        model = noise_model_from_qiskit(qiskit_model)
    target = backend.target
    basis = tuple(sorted(name for name in target.operation_names if name not in _NOT_GATES))
    coupling = tuple(sorted(tuple(int(q) for q in edge) for edge in target.build_coupling_map().get_edges()))
    return DeviceNoise(backend.name, backend, model, target.num_qubits, basis, coupling, dropped)
