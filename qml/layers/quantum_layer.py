"""``QuantumLayer``: a parametrized circuit as a ``torch.nn.Module``.

The layer binds its input to one parameter vector of the circuit (``"x"`` by
default), owns every other parameter vector as a trainable ``nn.Parameter``, and
returns the expectation values of the observables. It runs on whatever
:class:`circuits.Backend` it is given, so the same model trains on the torch engine,
on Qiskit Aer or on a hardware provider; gradients come from the backend (autograd,
adjoint or parameter shift).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from circuits.backend import Backend, Expectation, check_circuit, validate_measurement
from circuits.ir.circuit import Circuit
from circuits.ir.observables import Observable

__all__ = ["QuantumLayer"]


class QuantumLayer(nn.Module):
    r"""Expectation values of observables after a parametrized circuit, as a torch layer.

    For an input row ``x`` the layer returns ``y_k = <psi(x, w)| O_k |psi(x, w)>``, where
    ``|psi(x, w)>`` is ``circuit`` applied to ``|0...0>`` with the input bound to the
    vector ``input_name`` and the layer's weights bound to the circuit's other vectors.

    Args:
        circuit: the circuit template (see :mod:`circuits.library`).
        observables: one observable (``PauliSum``/``Projector``) or a sequence; one output column each.
        backend: the :class:`circuits.Backend` that runs the circuit (an object, not a name).
        input_name: the circuit's parameter vector that receives the input.
        weight_shapes: the circuit's trainable vectors and their sizes, ``{name: size}``; when given it
            must list exactly the circuit's vectors other than ``input_name`` (a checked declaration).
            ``None`` (default): every vector except ``input_name`` becomes a weight.
        generator: randomness for the initial weights; the global torch generator when ``None``.
        dtype: dtype of the weights (default ``torch.float32``). The output has the dtype of the input.
        device: device of the weights.

    Attributes:
        weights: ``nn.ParameterDict`` of the trainable vectors, one 1-D parameter per circuit vector,
            initialized uniform in ``[0, 2 pi)``.

    Shape:
        - Input: ``(*, input_size)`` where ``input_size`` is the size of the circuit's ``input_name`` vector.
        - Output: ``(*, num_observables)``.

    Raises:
        TypeError: ``circuit``, ``backend`` or an observable of the wrong type.
        ValueError: ``input_name`` is not a vector of the circuit, ``weight_shapes`` does not match the
            circuit, or an observable acts outside the circuit.

    Example:
        >>> import torch
        >>> from circuits import TorchBackend, Z
        >>> from circuits.library import reuploading_hea
        >>> circuit = reuploading_hea(4, 2, inputs="x", weights="w")
        >>> layer = QuantumLayer(circuit, [Z(i) for i in range(4)], TorchBackend())
        >>> layer(torch.rand(16, 4)).shape
        torch.Size([16, 4])
    """

    def __init__(
        self,
        circuit: Circuit,
        observables: Observable | Sequence[Observable],
        backend: Backend,
        *,
        input_name: str = "x",
        weight_shapes: Mapping[str, int] | None = None,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        check_circuit(circuit, "QuantumLayer")
        if not isinstance(backend, Backend):
            raise TypeError(
                f"QuantumLayer needs a circuits.Backend object such as circuits.TorchBackend(), "
                f"got {type(backend).__name__} ({backend!r}); layers take a backend object, never a name."
            )
        measurement = Expectation(observables)
        validate_measurement(circuit, measurement)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a real floating-point torch.dtype such as torch.float32, got {dtype!r}.")

        parameters = circuit.parameters
        if input_name not in parameters:
            raise ValueError(
                f"input_name={input_name!r} is not a parameter vector of the circuit, which has {parameters} "
                "(name: size). Pass input_name= one of those names."
            )
        trainable = {name: size for name, size in parameters.items() if name != input_name}
        if weight_shapes is not None:
            given = dict(weight_shapes)
            if given != trainable:
                raise ValueError(
                    f"weight_shapes={given} does not match the circuit: expected {trainable} (every parameter "
                    f"vector except the input {input_name!r}). Pass weight_shapes=None to take them from the circuit."
                )

        self.circuit = circuit
        self.measurement = measurement
        self.backend = backend
        self.input_name = input_name
        self.input_size = parameters[input_name]
        self._dtype = dtype
        self.weights = nn.ParameterDict(
            {name: nn.Parameter(torch.empty(size, dtype=dtype, device=device)) for name, size in trainable.items()}
        )
        self.reset_parameters(generator)

    @property
    def num_observables(self) -> int:
        """Number of output columns."""
        return len(self.measurement.observables)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw every weight uniformly from ``[0, 2 pi)``.

        Args:
            generator: the randomness; the global torch generator when ``None``.
        """
        for weight in self.weights.values():
            nn.init.uniform_(weight, 0.0, 2.0 * math.pi, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the circuit for every input row.

        Args:
            x: inputs bound to the circuit's ``input_name`` vector.

        Returns:
            The expectation values, one column per observable.

        Shape:
            - Input: ``(*, input_size)``.
            - Output: ``(*, num_observables)``.
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"QuantumLayer expects a torch.Tensor input, got {type(x).__name__}.")
        if x.ndim == 0 or x.shape[-1] != self.input_size:
            raise ValueError(
                f"QuantumLayer expects inputs of shape (*, {self.input_size}) for the circuit's "
                f"{self.input_name!r} vector, got {tuple(x.shape)}."
            )
        if not x.is_floating_point():
            x = x.to(self._weight_dtype())
        leading = x.shape[:-1]
        params = {self.input_name: x.reshape(-1, self.input_size), **self.weights}
        out = self.backend.run(self.circuit, params, measurement=self.measurement)
        return out.to(x.dtype).reshape(*leading, self.num_observables)

    def _weight_dtype(self) -> torch.dtype:
        """The dtype of the weights (it follows ``module.to(dtype)``), or the constructor's without weights."""
        return next((w.dtype for w in self.weights.values()), self._dtype)

    def extra_repr(self) -> str:
        """Qubits, input, weight sizes, observables and backend, shown inside ``repr(layer)``."""
        weights = {name: w.numel() for name, w in self.weights.items()}
        return (
            f"num_qubits={self.circuit.num_qubits}, input_name={self.input_name!r}, input_size={self.input_size}, "
            f"weights={weights}, num_observables={self.num_observables}, backend={self.backend!r}"
        )
