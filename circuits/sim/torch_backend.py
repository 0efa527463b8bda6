"""``TorchBackend``: the default backend, our batched differentiable torch state-vector engine."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import torch

from circuits.backend import (
    Backend,
    Expectation,
    Measurement,
    Probabilities,
    Samples,
    StateVector,
    available_memory_bytes,
    check_state_memory,
    measured_qubits,
)
from circuits.errors import BackendUnavailableError
from circuits.ir.circuit import Circuit
from circuits.sim.engine import simulate
from circuits.sim.measure import expectations, marginal_probabilities, probabilities, sample_bits
from circuits.sim.plan import Plan, compile_plan

__all__ = ["TorchBackend", "TorchOptions"]

DiffMethod = Literal["auto", "adjoint", "backprop"]

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

    def __post_init__(self) -> None:
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


@functools.lru_cache(maxsize=32)
def _cached_plan(circuit: Circuit) -> Plan:
    return compile_plan(circuit)


class TorchBackend(Backend):
    """Batched, differentiable state-vector simulation in torch (CPU or CUDA).

    Args:
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.
        device: ``"cpu"``, ``"cuda"``, ...; ``None`` follows the parameter tensors.
        diff_method: ``"auto"`` (default: backprop while the intermediate states fit in memory, else
            adjoint), ``"adjoint"`` or ``"backprop"``.
        real_arithmetic: use real tensors when every gate is real.

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
    ) -> None:
        self.options = TorchOptions(
            dtype, None if device is None else torch.device(device), diff_method, real_arithmetic
        )

    def __repr__(self) -> str:
        o = self.options
        return f"TorchBackend(dtype={o.dtype}, device={o.device}, diff_method={o.diff_method!r})"

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
        check_state_memory(circuit.num_qubits, batch_size, self.options.dtype.itemsize, device, copies=2)
        plan = _cached_plan(circuit)
        use_real = plan.real and self.options.real_arithmetic
        state_dtype = self.real_dtype if use_real else self.options.dtype
        tensors = plan.step_tensors(values, batch_size, self.real_dtype, device)
        if plan.real and not use_real:
            tensors = [t.to(self.options.dtype) for t in tensors]
        method = self.options.diff_method
        if method == "auto":
            kept = 3 * len(plan.steps) * batch_size * state_dtype.itemsize * 2**circuit.num_qubits
            if kept <= _BACKPROP_ALWAYS_AFFORDABLE:
                method = "backprop"
            else:
                affordable = min(_BACKPROP_MEMORY_LIMIT, available_memory_bytes(device) // 4)
                method = "backprop" if kept <= affordable else "adjoint"
        state = simulate(plan, tensors, batch_size, state_dtype, device, method)
        n = circuit.num_qubits
        if isinstance(measurement, StateVector):
            return state.to(self.options.dtype)
        if isinstance(measurement, Expectation):
            return expectations(state, n, measurement.observables)
        probs = probabilities(state)
        if isinstance(measurement, Probabilities):
            return marginal_probabilities(probs, n, measured_qubits(circuit, measurement.qubits))
        assert isinstance(measurement, Samples)
        return sample_bits(probs, n, measured_qubits(circuit, measurement.qubits), measurement.shots, generator)
