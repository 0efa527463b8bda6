"""The variational quantum circuit (VQC) block of Chen, Yoo and Fang's quantum LSTM.

Chen, Yoo, Fang, "Quantum long short-term memory" (arXiv 2009.01783), Fig. 4 of the paper and the
authors' ``VQCVariationalLoadingFlexNoisy`` (``ycchen1989/FederatedQLSTM``
``metaquantum/CircuitComponents.py``, used with ``hadamard_gate=True, more_entangle=True``); the
spec is ``docs/papers.md`` §2 "VQC block". The same block replaces every affine map of the QLSTM cell
(:class:`qml.recurrent.QLSTMCell`) and of the QRNN/QLSTM reservoir of Chen et al. 2022 (arXiv 2211.02612).
"""

from __future__ import annotations

import torch
from torch import nn

from circuits import Circuit, ParameterVector, TorchBackend, Z
from circuits.backend import Backend
from qml.layers import QuantumLayer

__all__ = ["VQC", "vqc_circuit"]


def vqc_circuit(
    num_qubits: int,
    num_layers: int,
    num_inputs: int,
    *,
    more_entangle: bool = True,
    inputs: str = "x",
    weights: str = "w",
) -> Circuit:
    r"""The circuit of Chen's VQC block: encoding, then ``num_layers`` entangling + ``Rot`` layers.

    On ``n = num_qubits`` qubits, for an input ``v`` of ``m = num_inputs <= n`` components::

        for i < m:   H on qubit i                                          # encoding
        for i < m:   RY(x[2i]) then RZ(x[2i+1]) on qubit i,   x[2i] = arctan v_i,  x[2i+1] = arctan v_i^2
        for l < L:                                                         # variational layers
            for i < n:   CNOT(i -> (i + 1) mod n)
            for i < n:   CNOT(i -> (i + 2) mod n)                          # only with more_entangle
            for i < n:   Rot(w[l,i,0], w[l,i,1], w[l,i,2]) on qubit i
                         # Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi): RZ(phi) is applied first

    Qubits ``m .. n-1`` (if any) start in ``|0>`` and are not encoded, as in the reference. The
    ``arctan`` preprocessing is done in torch by :class:`VQC`; the circuit receives the angles.

    Args:
        num_qubits: ``n >= 2`` (``>= 3`` with ``more_entangle``: the ``i -> i + 2`` ring needs three qubits).
        num_layers: variational layers ``L >= 1`` (the QLSTM demo uses 4).
        num_inputs: encoded components ``1 <= m <= n``.
        more_entangle: add the second CNOT ring ``i -> (i + 2) mod n`` (the QLSTM setting).
        inputs: name of the input vector, ``2 * m`` angles.
        weights: name of the weight vector, ``L * n * 3`` angles; ``w[l, i, k]`` is entry
            ``(l * n + i) * 3 + k``, so a ``(L, n, 3)`` tensor binds as ``tensor.reshape(-1)``.

    Returns:
        The circuit; its parameters are ``{inputs: 2 * m, weights: L * n * 3}``.

    Raises:
        TypeError: a count is not an int, or ``more_entangle`` is not a bool.
        ValueError: a count out of range (the message says which and how to fix it).
    """
    n = _check_int("num_qubits", num_qubits, 2)
    layers = _check_int("num_layers", num_layers, 1)
    m = _check_int("num_inputs", num_inputs, 1)
    if m > n:
        raise ValueError(
            f"the VQC encodes one input per qubit: num_inputs={m} needs num_qubits >= {m}, got num_qubits={n}."
        )
    if not isinstance(more_entangle, bool):
        raise TypeError(f"more_entangle must be a bool, got {type(more_entangle).__name__}.")
    if more_entangle and n < 3:
        raise ValueError(
            f"more_entangle=True adds CNOTs i -> (i + 2) mod n, which needs num_qubits >= 3, got {n}; "
            "pass more_entangle=False for two qubits."
        )
    x = ParameterVector(inputs, 2 * m)
    w = ParameterVector(weights, layers * n * 3)
    circuit = Circuit(n)
    for i in range(m):
        circuit = circuit.h(i)
    for i in range(m):
        circuit = circuit.ry(x[2 * i], i).rz(x[2 * i + 1], i)
    for layer in range(layers):
        for i in range(n):
            circuit = circuit.cx(i, (i + 1) % n)
        if more_entangle:
            for i in range(n):
                circuit = circuit.cx(i, (i + 2) % n)
        for i in range(n):
            k = (layer * n + i) * 3
            circuit = circuit.rz(w[k], i).ry(w[k + 1], i).rz(w[k + 2], i)
    return circuit


class VQC(nn.Module):
    r"""Chen's VQC block: ``v -> (<Z_0>, ..., <Z_{k-1}>)`` after :func:`vqc_circuit`.

    For an input row ``v`` (``num_inputs`` values) the block encodes qubit ``i`` with
    ``H``, ``RY(arctan v_i)``, ``RZ(arctan v_i^2)``, applies ``num_layers`` layers of CNOT rings
    and trainable ``Rot`` gates, and returns ``<Z_k>`` for the first ``num_outputs`` qubits
    (Chen, Yoo, Fang 2020, Fig. 4; ``docs/papers.md`` §2 "VQC block (spec)"). The circuit runs through
    :class:`qml.QuantumLayer` on ``backend``.

    Args:
        num_inputs: components of the input (one encoded qubit each).
        num_outputs: expectation values returned (``<Z>`` of qubits ``0 .. num_outputs - 1``).
        num_qubits: circuit width; ``None`` (default) uses ``max(num_inputs, num_outputs)``.
        num_layers: variational layers (4 in the QLSTM demo).
        more_entangle: the second CNOT ring ``i -> i + 2`` (the QLSTM setting; needs 3 qubits or more).
        backend: where the circuit runs; ``None`` gives ``TorchBackend()``.
        generator: draws the initial weights, ``init_scale * N(0, 1)`` as in the reference (0.01).
        init_scale: standard deviation of the initial weights.
        dtype: dtype of the weights (default ``torch.float32``).

    Attributes:
        quantum: the :class:`~qml.layers.QuantumLayer`; its single weight vector is ``quantum.weights["w"]``.

    Shape:
        - Input: ``(*, num_inputs)``.
        - Output: ``(*, num_outputs)``, values in ``[-1, 1]``.

    Raises:
        TypeError: a count of the wrong type, or a ``backend`` that is not a :class:`circuits.Backend`.
        ValueError: ``num_outputs > num_qubits`` or a count out of range.
    """

    def __init__(
        self,
        num_inputs: int,
        num_outputs: int,
        *,
        num_qubits: int | None = None,
        num_layers: int = 4,
        more_entangle: bool = True,
        backend: Backend | None = None,
        generator: torch.Generator,
        init_scale: float = 0.01,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        m = _check_int("num_inputs", num_inputs, 1)
        k = _check_int("num_outputs", num_outputs, 1)
        n = max(m, k) if num_qubits is None else _check_int("num_qubits", num_qubits, 2)
        if k > n:
            raise ValueError(
                f"the VQC reads <Z> of one qubit per output: num_outputs={k} needs num_qubits >= {k}, "
                f"got num_qubits={n}."
            )
        _check_generator(generator)
        circuit = vqc_circuit(n, num_layers, m, more_entangle=more_entangle)
        self.num_inputs, self.num_outputs, self.num_qubits, self.num_layers = m, k, n, num_layers
        self.more_entangle = more_entangle
        # QuantumLayer draws uniform [0, 2 pi) angles; a private generator keeps the caller's stream for ours.
        self.quantum = QuantumLayer(
            circuit,
            [Z(q) for q in range(k)],
            TorchBackend() if backend is None else backend,
            generator=torch.Generator().manual_seed(0),
            dtype=dtype,
        )
        with torch.no_grad():
            self.quantum.weights["w"].normal_(0.0, float(init_scale), generator=generator)

    @property
    def weights(self) -> torch.Tensor:
        """The trainable angles as a ``(num_layers, num_qubits, 3)`` view; layer l, qubit i is ``Rot(*w[l, i])``."""
        return self.quantum.weights["w"].view(self.num_layers, self.num_qubits, 3)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        """Run the block on every row of ``v``.

        Args:
            v: the inputs (any real values; the encoding takes ``arctan v`` and ``arctan v^2``).

        Returns:
            ``<Z_k>`` for ``k < num_outputs``.

        Shape:
            - Input: ``(*, num_inputs)``.
            - Output: ``(*, num_outputs)``.
        """
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"VQC expects a torch.Tensor input, got {type(v).__name__}.")
        if v.ndim == 0 or v.shape[-1] != self.num_inputs:
            raise ValueError(
                f"VQC expects inputs of shape (*, {self.num_inputs}) (one value per encoded qubit), "
                f"got {tuple(v.shape)}."
            )
        angles = torch.stack([torch.atan(v), torch.atan(v * v)], dim=-1)  # (*, m, 2): RY then RZ angle of qubit i
        return self.quantum(angles.flatten(-2))

    def extra_repr(self) -> str:
        """Sizes, shown inside ``repr(vqc)``."""
        return (
            f"num_inputs={self.num_inputs}, num_outputs={self.num_outputs}, num_qubits={self.num_qubits}, "
            f"num_layers={self.num_layers}, more_entangle={self.more_entangle}"
        )


def _concat_qubits(cell: str, input_size: int, hidden_size: int, num_qubits: int | None) -> int:
    """The width of a cell's VQCs, which encode ``v_t = [x_t, h_{t-1}]`` one component per qubit (checked)."""
    concat = input_size + hidden_size
    n = concat if num_qubits is None else _check_int("num_qubits", num_qubits, 2)
    if concat > n:
        raise ValueError(
            f"{cell} encodes v_t = [x_t, h_t-1] one component per qubit: input_size + hidden_size = {concat} "
            f"needs num_qubits >= {concat}, got num_qubits={n}."
        )
    return n


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r}).")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _check_generator(generator: object) -> None:
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator (for example torch.Generator().manual_seed(0)), "
            f"got {type(generator).__name__}; initial weights never come from the global RNG."
        )
