"""Peer implementations of the HEA benchmark workload (see ``hea.py``).

Workload (``L`` layers on ``n`` qubits, batch ``B``): per layer, ``RY(x[b, i])`` on every qubit (the
data is re-uploaded every layer), then trainable ``RY(w[l, i, 0])`` and ``RZ(w[l, i, 1])`` on every
qubit, then a CNOT ring ``i -> (i + 1) mod n``. Outputs ``<Z_i>`` for every qubit, shape ``(B, n)``;
the loss is the mean of the outputs. The trainable angles are one flat vector ``w`` of size ``2nL``
with ``w[l, i, k]`` at flat index ``(l * n + i) * 2 + k`` in every peer.

Every builder takes ``(n, layers, x, w)`` (``x``: float32 ``(B, n)``, ``w``: float32 ``(2nL,)``,
both plain tensors) and returns a :class:`Runner`. Vendor SDKs are imported inside the builders
only, so this module imports in any environment that has torch (the TorchQuantum one included,
which has neither this project nor a recent Qiskit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch


def widx(n: int, layer: int, qubit: int, k: int) -> int:
    """Flat index of ``w[layer, qubit, k]``."""
    return (layer * n + qubit) * 2 + k


@dataclass
class Runner:
    """One peer, set up for one ``(n, B)`` point.

    Attributes:
        forward: runs the circuit for the whole batch and returns ``(B, n)`` float outputs
            (under autograd where the peer has it).
        params: the trainable tensors whose ``.grad`` the backward fills (empty when not differentiable).
        flat_grad: returns the gradient of the last backward as a flat ``(2nL,)`` tensor in ``w`` order.
        differentiable: whether ``loss.backward()`` works.
        note: a short description for the tables.
    """

    forward: Callable[[], torch.Tensor]
    params: list[torch.Tensor] = field(default_factory=list)
    flat_grad: Callable[[], torch.Tensor] | None = None
    differentiable: bool = True
    note: str = ""

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> torch.Tensor:
        """One training iteration: gradients cleared, forward, ``loss = mean``, backward."""
        self.zero_grad()
        loss = self.forward().mean()
        loss.backward()
        return loss


# --------------------------------------------------------------------------- ours


def _ours(n: int, layers: int, x: torch.Tensor, w: torch.Tensor, diff_method: str | None) -> Runner:
    from circuits import Circuit, ParameterVector, TorchBackend, Z

    xs = ParameterVector("x", n)
    ws = ParameterVector("w", 2 * n * layers)
    circuit = Circuit(n)
    for layer in range(layers):
        for i in range(n):
            circuit = circuit.ry(xs[i], i)
            circuit = circuit.ry(ws[widx(n, layer, i, 0)], i)
            circuit = circuit.rz(ws[widx(n, layer, i, 1)], i)
        for i in range(n):
            circuit = circuit.cx(i, (i + 1) % n)
    backend = TorchBackend() if diff_method is None else TorchBackend(diff_method=diff_method)
    observables = [Z(i) for i in range(n)]
    weights = torch.nn.Parameter(w.clone())
    xb = x.clone()

    def forward() -> torch.Tensor:
        return backend.expval(circuit, observables, {"x": xb, "w": weights})

    return Runner(forward, [weights], lambda: weights.grad.detach().clone(), note=repr(backend))


def ours(n: int, layers: int, x: torch.Tensor, w: torch.Tensor) -> Runner:
    """``circuits.TorchBackend()``: complex64, default diff_method."""
    return _ours(n, layers, x, w, None)


def ours_adjoint(n: int, layers: int, x: torch.Tensor, w: torch.Tensor) -> Runner:
    """``circuits.TorchBackend(diff_method="adjoint")``: memory independent of depth."""
    return _ours(n, layers, x, w, "adjoint")


# --------------------------------------------------------------------------- PennyLane


def _pennylane(n: int, layers: int, x: torch.Tensor, w: torch.Tensor, device: str, **qnode_kwargs) -> Runner:
    import pennylane as qp

    dev = qp.device(device, wires=n)

    @qp.qnode(dev, interface="torch", **qnode_kwargs)
    def circuit(xb, weights):
        for layer in range(layers):
            for i in range(n):
                qp.RY(xb[:, i], wires=i)  # broadcast over the batch
                qp.RY(weights[widx(n, layer, i, 0)], wires=i)
                qp.RZ(weights[widx(n, layer, i, 1)], wires=i)
            for i in range(n):
                qp.CNOT(wires=[i, (i + 1) % n])
        return [qp.expval(qp.PauliZ(i)) for i in range(n)]

    weights = torch.nn.Parameter(w.clone())
    xb = x.clone()
    batch = x.shape[0]

    def forward() -> torch.Tensor:
        out = torch.stack(list(circuit(xb, weights)), dim=-1)
        return out.reshape(batch, n)

    return Runner(forward, [weights], lambda: weights.grad.detach().clone().to(torch.float32))


def pl_default_backprop(n: int, layers: int, x: torch.Tensor, w: torch.Tensor) -> Runner:
    """PennyLane ``default.qubit``, torch interface, backprop, parameter broadcasting."""
    r = _pennylane(n, layers, x, w, "default.qubit", diff_method="backprop")
    r.note = "default.qubit backprop, broadcast"
    return r


def pl_lightning_adjoint(n: int, layers: int, x: torch.Tensor, w: torch.Tensor) -> Runner:
    """PennyLane ``lightning.qubit``, adjoint, default ``device_vjp=False``."""
    r = _pennylane(n, layers, x, w, "lightning.qubit", diff_method="adjoint")
    r.note = "lightning.qubit adjoint"
    return r


def pl_lightning_adjoint_vjp(n: int, layers: int, x: torch.Tensor, w: torch.Tensor) -> Runner:
    """PennyLane ``lightning.qubit``, adjoint, ``device_vjp=True``."""
    r = _pennylane(n, layers, x, w, "lightning.qubit", diff_method="adjoint", device_vjp=True)
    r.note = "lightning.qubit adjoint device_vjp"
    return r


# --------------------------------------------------------------------------- Qiskit Aer


def _qiskit_pub(n: int, layers: int, x: torch.Tensor, w: torch.Tensor):
    """The workload as one Estimator PUB: (circuit, (1, n) observables, (B, 1, P) parameter values)."""
    import numpy as np
    from qiskit.circuit import ParameterVector, QuantumCircuit
    from qiskit.quantum_info import SparsePauliOp

    xs = ParameterVector("x", n)
    ws = ParameterVector("w", 2 * n * layers)
    qc = QuantumCircuit(n)
    for layer in range(layers):
        for i in range(n):
            qc.ry(xs[i], i)
            qc.ry(ws[widx(n, layer, i, 0)], i)
            qc.rz(ws[widx(n, layer, i, 1)], i)
        for i in range(n):
            qc.cx(i, (i + 1) % n)
    # Our qubit i is Qiskit qubit i (the same circuit); Qiskit labels are little-endian strings.
    # Shape (1, n) against parameter values (B, 1, P): the result broadcasts to (B, n).
    observables = [[SparsePauliOp("I" * (n - 1 - i) + "Z" + "I" * i) for i in range(n)]]
    # Parameter values in qc.parameters order (sorted by name: the "w" vector, then "x").
    order = {p: k for k, p in enumerate(qc.parameters)}
    values = np.zeros((x.shape[0], 1, len(order)))
    for i in range(n):
        values[:, 0, order[xs[i]]] = x[:, i].double().numpy()
    for j in range(2 * n * layers):
        values[:, 0, order[ws[j]]] = float(w[j])
    return qc, observables, values


def _estimator_runner(estimator, n: int, layers: int, x: torch.Tensor, w: torch.Tensor, note: str) -> Runner:
    import numpy as np

    pub = _qiskit_pub(n, layers, x, w)
    batch = x.shape[0]

    def forward() -> torch.Tensor:
        result = estimator.run([pub]).result()
        return torch.from_numpy(np.asarray(result[0].data.evs, dtype=np.float64)).reshape(batch, n)

    return Runner(forward, differentiable=False, note=note)


def qiskit_aer_estimator(n: int, layers: int, x: torch.Tensor, w: torch.Tensor) -> Runner:
    """Qiskit Aer ``EstimatorV2``: one run with all B bindings; forward only (no autograd)."""
    from qiskit_aer.primitives import EstimatorV2

    return _estimator_runner(EstimatorV2(), n, layers, x, w, "EstimatorV2, statevector, float64; forward only")


def ours_qiskit_estimator(n: int, layers: int, x: torch.Tensor, w: torch.Tensor) -> Runner:
    """Our engine through its Qiskit ``BaseEstimatorV2`` adapter (complex128, as Aer's double precision)."""
    from circuits.backends.qiskit_primitives import Estimator

    return _estimator_runner(Estimator(), n, layers, x, w, "our Estimator (Qiskit V2 adapter); forward only")


def ours_pennylane_device(n: int, layers: int, x: torch.Tensor, w: torch.Tensor) -> Runner:
    """A PennyLane QNode on our device ``qml_hybrid.qubit`` with ``diff_method="best"``."""
    r = _pennylane(n, layers, x, w, "qml_hybrid.qubit", diff_method="best")
    r.note = "QNode on qml_hybrid.qubit, diff_method=best"
    return r


# --------------------------------------------------------------------------- TorchQuantum


def tq_rotations(n: int, layers: int, w: torch.Tensor) -> tuple[torch.nn.ModuleList, torch.nn.ModuleList]:
    """TorchQuantum's trainable ``RY`` and ``RZ`` modules of the workload (layer-major), set from ``w``."""
    import torchquantum as tq

    ry = torch.nn.ModuleList([tq.RY(has_params=True, trainable=True) for _ in range(n * layers)])
    rz = torch.nn.ModuleList([tq.RZ(has_params=True, trainable=True) for _ in range(n * layers)])
    with torch.no_grad():
        for layer in range(layers):
            for i in range(n):
                ry[layer * n + i].params.fill_(float(w[widx(n, layer, i, 0)]))
                rz[layer * n + i].params.fill_(float(w[widx(n, layer, i, 1)]))
    return ry, rz


def torchquantum(n: int, layers: int, x: torch.Tensor, w: torch.Tensor) -> Runner:
    """TorchQuantum 0.1.8 dynamic mode: batched ``QuantumDevice``, ``tq.RY/RZ`` trainable modules,
    ``tqf.ry`` for the data, ``MeasureAll(PauliZ)``. Needs its own environment (``--tq-python``)."""
    import torchquantum as tq
    import torchquantum.functional as tqf

    batch = x.shape[0]
    ry, rz = tq_rotations(n, layers, w)
    measure = tq.MeasureAll(tq.PauliZ)
    xb = x.clone()

    def forward() -> torch.Tensor:
        qdev = tq.QuantumDevice(n_wires=n, bsz=batch, device="cpu")
        for layer in range(layers):
            for i in range(n):
                tqf.ry(qdev, wires=i, params=xb[:, i])
                ry[layer * n + i](qdev, wires=i)
                rz[layer * n + i](qdev, wires=i)
            for i in range(n):
                tqf.cnot(qdev, wires=[i, (i + 1) % n])
        return measure(qdev)

    params = [p for m in (*ry, *rz) for p in m.parameters()]

    def flat_grad() -> torch.Tensor:
        g = torch.zeros(2 * n * layers)
        for layer in range(layers):
            for i in range(n):
                g[widx(n, layer, i, 0)] = ry[layer * n + i].params.grad.reshape(())
                g[widx(n, layer, i, 1)] = rz[layer * n + i].params.grad.reshape(())
        return g

    return Runner(forward, params, flat_grad, note="dynamic mode, bmm")


# --------------------------------------------------------------------------- registry

PEERS: dict[str, Callable[[int, int, torch.Tensor, torch.Tensor], Runner]] = {
    "ours": ours,
    "ours_adjoint": ours_adjoint,
    "pl_default_backprop": pl_default_backprop,
    "pl_lightning_adjoint": pl_lightning_adjoint,
    "pl_lightning_adjoint_vjp": pl_lightning_adjoint_vjp,
    "qiskit_aer_estimator": qiskit_aer_estimator,
    "torchquantum": torchquantum,
    "ours_qiskit_estimator": ours_qiskit_estimator,
    "ours_pennylane_device": ours_pennylane_device,
}
"""Every peer by name, in table order."""

TQ_PEERS = frozenset({"torchquantum"})
"""Peers that run with the ``--tq-python`` interpreter."""

VERSION_PACKAGES = {
    "ours": ["torch", "qml-hybrid"],
    "ours_adjoint": ["torch", "qml-hybrid"],
    "pl_default_backprop": ["torch", "pennylane"],
    "pl_lightning_adjoint": ["torch", "pennylane", "pennylane_lightning"],
    "pl_lightning_adjoint_vjp": ["torch", "pennylane", "pennylane_lightning"],
    "qiskit_aer_estimator": ["qiskit", "qiskit-aer"],
    "torchquantum": ["torch", "torchquantum", "qiskit", "qiskit-aer"],
    "ours_qiskit_estimator": ["qiskit", "qml-hybrid"],
    "ours_pennylane_device": ["pennylane", "qml-hybrid"],
}
"""Distribution names whose versions each worker records."""
