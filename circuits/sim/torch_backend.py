"""``TorchBackend``: the default backend, our batched differentiable torch engine.

Three simulation methods (``method=``): the state vector (:mod:`circuits.sim.engine`), the density matrix
(:mod:`circuits.sim.density`: exact noisy simulation) and quantum trajectories (:mod:`circuits.sim.trajectory`:
sampled noisy simulation with the memory of a state vector). ``"auto"`` takes the state vector for unitary
circuits and the density matrix when the circuit has noise channels or the backend a noise model with
gate errors. A :class:`~circuits.noise.NoiseModel` (``noise_model=``) inserts its channels after the gates of
every circuit that runs; its readout errors act on ``Probabilities`` and ``Samples`` (see docs/noise.md).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Literal

import torch

from circuits.backend import (
    Backend,
    Expectation,
    Measurement,
    ParamsLike,
    Probabilities,
    Samples,
    StateVector,
    available_memory_bytes,
    check_state_memory,
    measured_qubits,
)
from circuits.errors import BackendUnavailableError, UnsupportedChannelError
from circuits.ir.circuit import Circuit
from circuits.noise import NoiseModel, apply_readout_errors
from circuits.sim.density import measure_density, simulate_density
from circuits.sim.engine import simulate
from circuits.sim.measure import expectations, marginal_probabilities, probabilities, sample_bits
from circuits.sim.plan import Plan, compile_plan
from circuits.sim.trajectory import TrajectoryResult, measure_trajectories, simulate_trajectories

__all__ = ["TorchBackend", "TorchOptions"]

DiffMethod = Literal["auto", "adjoint", "backprop"]
Method = Literal["auto", "statevector", "density_matrix", "trajectory"]
_METHODS = ("auto", "statevector", "density_matrix", "trajectory")

_BACKPROP_MEMORY_LIMIT = 4 << 30
"""``diff_method="auto"`` keeps every intermediate state (backprop) only while they fit in this many bytes
(and in a quarter of the free memory); beyond, it switches to the adjoint method."""

_BACKPROP_ALWAYS_AFFORDABLE = 64 << 20
"""Kept states this small take backprop without reading the free memory (a file read per call)."""


@dataclass(frozen=True)
class TorchOptions:
    """Options of :class:`TorchBackend`."""

    dtype: torch.dtype = torch.complex64
    """State dtype: ``torch.complex64`` (default) or ``torch.complex128``. Outputs are float32 / float64."""

    device: torch.device | None = None
    """Device of the states; ``None`` follows the parameter tensors (CPU when there are none)."""

    diff_method: DiffMethod = "auto"
    """``"backprop"``: torch autograd through every step, keeping each intermediate state (fastest; any
    derivative order). ``"adjoint"``: the hand-written adjoint backward, memory independent of depth
    (second derivatives recompute under autograd). ``"auto"`` (default): backprop while the kept states
    fit in memory (see ``_BACKPROP_MEMORY_LIMIT``), else adjoint."""

    real_arithmetic: bool = True
    """Simulate with real tensors when every gate is real (``ry``, ``cx``, ``cz``, ``h`` ...)."""

    noise_model: NoiseModel | None = None
    """A :class:`~circuits.noise.NoiseModel` applied to every circuit that runs (channels after gates, readout
    errors on measured outcomes); ``None`` for none."""

    method: Method = "auto"
    """``"statevector"``, ``"density_matrix"`` (exact noisy simulation), ``"trajectory"`` (sampled noisy
    simulation), or ``"auto"`` (default): the state vector unless the circuit, with the noise model's
    channels, has noise channels; then the density matrix."""

    trajectories: int = 1000
    """Trajectories per binding with ``method="trajectory"`` (``>= 2``); the standard error falls as
    ``1 / sqrt(trajectories)`` (:meth:`TorchBackend.run_trajectories` reports it)."""

    def __post_init__(self) -> None:
        if isinstance(self.trajectories, bool) or not isinstance(self.trajectories, int) or self.trajectories < 2:
            raise ValueError(
                f"TorchOptions.trajectories must be an int >= 2 (the standard error needs two), got "
                f"{self.trajectories!r}."
            )
        if self.dtype not in (torch.complex64, torch.complex128):
            raise ValueError(f"TorchOptions.dtype must be torch.complex64 or torch.complex128, got {self.dtype}.")
        if self.diff_method not in ("auto", "adjoint", "backprop"):
            raise ValueError(
                f"TorchOptions.diff_method must be 'auto', 'adjoint' or 'backprop', got {self.diff_method!r}."
            )
        if self.device is not None:
            device = torch.device(self.device)
            if device.type == "cuda" and not torch.cuda.is_available():
                raise BackendUnavailableError(
                    f"TorchBackend(device={str(device)!r}) was requested but CUDA is not available in this torch "
                    f"build ({torch.__version__}). Install a CUDA build of torch, or use device='cpu'."
                )
            object.__setattr__(self, "device", device)
        if self.noise_model is not None and not isinstance(self.noise_model, NoiseModel):
            kind = type(self.noise_model)
            hint = (
                " Convert a Qiskit noise model first: circuits.export.qiskit_noise.noise_model_from_qiskit(model)."
                if (kind.__module__ or "").startswith("qiskit")
                else ""
            )
            raise TypeError(
                f"TorchOptions.noise_model must be a circuits.noise.NoiseModel or None, got {kind.__name__}.{hint}"
            )
        if self.method not in _METHODS:
            raise ValueError(
                f"TorchOptions.method must be one of {', '.join(repr(m) for m in _METHODS)}, got {self.method!r}."
            )
        if self.method in ("density_matrix", "trajectory") and self.diff_method == "adjoint":
            raise ValueError(
                f"diff_method='adjoint' un-computes a unitary circuit and does not apply to method={self.method!r} "
                "(noise channels are not unitary). Use diff_method='auto' or 'backprop' (torch autograd)."
            )


@functools.lru_cache(maxsize=32)
def _cached_plan(circuit: Circuit) -> Plan:
    return compile_plan(circuit)


@functools.lru_cache(maxsize=32)
def _noisy_circuit(noise_model: NoiseModel, circuit: Circuit) -> Circuit:
    return noise_model.apply(circuit)


class TorchBackend(Backend):
    """Batched, differentiable state-vector simulation in torch (CPU or CUDA).

    Args:
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.
        device: ``"cpu"``, ``"cuda"``, ...; ``None`` follows the parameter tensors.
        diff_method: ``"auto"`` (default: backprop while the intermediate states fit in memory, else
            adjoint), ``"adjoint"`` or ``"backprop"``. Noisy methods differentiate by backprop.
        real_arithmetic: use real tensors when every gate is real.
        noise_model: a :class:`~circuits.noise.NoiseModel` for every circuit that runs.
        method: ``"auto"`` (default), ``"statevector"``, ``"density_matrix"`` or ``"trajectory"`` (see
            :class:`TorchOptions`).
        trajectories: trajectories per binding with ``method="trajectory"``.

    Example:
        >>> import torch
        >>> from circuits import Circuit, ParameterVector, TorchBackend, Z
        >>> x = ParameterVector("x", 1)
        >>> circuit = Circuit(1).ry(x[0], 0)
        >>> TorchBackend().expval(circuit, Z(0), {"x": torch.tensor([[0.0], [3.14159265]])})
        tensor([[ 1.],
                [-1.]])
    """

    name = "torch"

    def __init__(
        self,
        *,
        dtype: torch.dtype = torch.complex64,
        device: torch.device | str | None = None,
        diff_method: DiffMethod = "auto",
        real_arithmetic: bool = True,
        noise_model: NoiseModel | None = None,
        method: Method = "auto",
        trajectories: int = 1000,
    ) -> None:
        self.options = TorchOptions(
            dtype,
            None if device is None else torch.device(device),
            diff_method,
            real_arithmetic,
            noise_model,
            method,
            trajectories,
        )

    def __repr__(self) -> str:
        o = self.options
        extra = "" if o.method == "auto" else f", method={o.method!r}"
        extra += f", trajectories={o.trajectories}" if o.method == "trajectory" else ""
        extra += "" if o.noise_model is None else f", noise_model={o.noise_model!r}"
        return f"TorchBackend(dtype={o.dtype}, device={o.device}, diff_method={o.diff_method!r}{extra})"

    def _method_for(self, circuit: Circuit) -> str:
        """The simulation method for ``circuit`` (noise-model channels already inserted)."""
        method = self.options.method
        if method == "auto":
            method = "density_matrix" if circuit.has_channels else "statevector"
        if method == "statevector" and circuit.has_channels:
            names = sorted({op.name for op in circuit if op.is_channel})
            raise UnsupportedChannelError(
                f"TorchBackend(method='statevector') simulates unitary circuits; this one has the noise channels "
                f"{names}{' (from the noise model)' if self.options.noise_model is not None else ''}. Use "
                "method='density_matrix' (exact), method='trajectory' (sampled), or method='auto'."
            )
        if method != "statevector" and self.options.diff_method == "adjoint":
            raise ValueError(
                "diff_method='adjoint' un-computes a unitary circuit and does not apply to noisy circuits (noise "
                f"channels are not unitary); this circuit runs with method={method!r}. Use diff_method='auto' or "
                "'backprop' (torch autograd)."
            )
        return method

    def run(
        self,
        circuit: Circuit,
        params: ParamsLike | None = None,
        *,
        measurement: Measurement,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """As :meth:`Backend.run`, with the noise model's channels inserted first (their symbols bind with ``params``).

        Raises:
            UnsupportedChannelError: noise channels with ``method="statevector"``.
            InvalidChannelError: a bound noise strength out of its range.
            SimulationMemoryError: the density matrix would not fit (with the estimate).
        """
        if self.options.noise_model is not None and isinstance(circuit, Circuit):
            circuit = _noisy_circuit(self.options.noise_model, circuit)
        return super().run(circuit, params, measurement=measurement, generator=generator)

    def run_trajectories(
        self,
        circuit: Circuit,
        params: ParamsLike | None = None,
        *,
        measurement: Measurement,
        generator: torch.Generator | None = None,
    ) -> TrajectoryResult:
        """Run with ``method="trajectory"`` and return the estimate with its standard error.

        :meth:`run` returns ``TrajectoryResult.value`` only (the :class:`~circuits.backend.Backend` contract);
        this method gives ``standard_error`` too, whatever ``method`` the backend was built with.

        Raises:
            ValueError: ``StateVector`` (a trajectory is one sample of the ensemble).
        """
        recorder = _TrajectoryRecorder.__new__(_TrajectoryRecorder)
        recorder.options = dataclasses.replace(self.options, method="trajectory")
        recorder.run(circuit, params, measurement=measurement, generator=generator)
        assert recorder.result is not None
        return recorder.result

    def _trajectory_value(self, result: TrajectoryResult) -> torch.Tensor:
        return result.value

    @property
    def real_dtype(self) -> torch.dtype:
        """float32 for complex64 states, float64 for complex128."""
        return torch.float64 if self.options.dtype == torch.complex128 else torch.float32

    def _param_dtype(self) -> torch.dtype:
        return self.real_dtype

    def _param_device(self) -> torch.device | None:
        return self.options.device

    def _run(
        self,
        circuit: Circuit,
        values: dict[str, torch.Tensor],
        batch_size: int,
        measurement: Measurement,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        device = self.options.device
        if device is None:
            device = next(iter(values.values())).device if values else torch.device("cpu")
        values = {k: v.to(device=device, dtype=self.real_dtype) for k, v in values.items()}
        noise = self.options.noise_model  # its channels are in the circuit already (see run)
        readout = noise.readout_matrices(range(circuit.num_qubits)) if noise and noise.has_readout_errors else None
        method = self._method_for(circuit)
        if method == "density_matrix":
            rho = simulate_density(circuit, values, batch_size, self.options.dtype, device)
            return measure_density(rho, circuit, measurement, readout, generator)
        if method == "trajectory":
            states = simulate_trajectories(
                circuit, values, batch_size, self.options.trajectories, self.options.dtype, device, generator
            )
            result = measure_trajectories(states, circuit, measurement, batch_size, readout, generator)
            return self._trajectory_value(result)
        check_state_memory(circuit.num_qubits, batch_size, self.options.dtype.itemsize, device, copies=2)
        plan = _cached_plan(circuit)
        use_real = plan.real and self.options.real_arithmetic
        state_dtype = self.real_dtype if use_real else self.options.dtype
        tensors = plan.step_tensors(values, batch_size, self.real_dtype, device)
        if plan.real and not use_real:
            tensors = [t.to(self.options.dtype) for t in tensors]
        diff_method = self.options.diff_method
        if diff_method == "auto":
            kept = 3 * len(plan.steps) * batch_size * state_dtype.itemsize * 2**circuit.num_qubits
            if kept <= _BACKPROP_ALWAYS_AFFORDABLE:
                diff_method = "backprop"
            else:
                affordable = min(_BACKPROP_MEMORY_LIMIT, available_memory_bytes(device) // 4)
                diff_method = "backprop" if kept <= affordable else "adjoint"
        state = simulate(plan, tensors, batch_size, state_dtype, device, diff_method)
        n = circuit.num_qubits
        if isinstance(measurement, StateVector):
            return state.to(self.options.dtype)
        if isinstance(measurement, Expectation):
            return expectations(state, n, measurement.observables)
        probs = probabilities(state)
        qubits = measured_qubits(circuit, measurement.qubits)  # type: ignore[union-attr]
        if readout is not None:  # a noise model with readout errors only
            probs = apply_readout_errors(marginal_probabilities(probs, n, qubits), [readout[q] for q in qubits])
            n, qubits = len(qubits), tuple(range(len(qubits)))
        if isinstance(measurement, Probabilities):
            return marginal_probabilities(probs, n, qubits)
        assert isinstance(measurement, Samples)
        return sample_bits(probs, n, qubits, measurement.shots, generator)


class _TrajectoryRecorder(TorchBackend):
    """A ``method="trajectory"`` backend that keeps the whole :class:`TrajectoryResult` of its run."""

    result: TrajectoryResult | None = None

    def _trajectory_value(self, result: TrajectoryResult) -> torch.Tensor:
        self.result = result
        return result.value
