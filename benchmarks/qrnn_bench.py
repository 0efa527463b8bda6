"""QRNN benchmark (issue 11): Bausch's QRNN training step and a reservoir's feature pass, ours against PennyLane.

Two workloads, each timed for our implementation and a PennyLane implementation of the **same** model
with the **same** weights, in one run (``docs/performance.md``, section "Quantum recurrent networks"):

1. **QRNN training step at the MNIST size** (``papers.md`` §1): 2 lanes, workspace 8, 2 work stages,
   order 2, degree 2 (12 qubits with the ancillas, 1212 parameters), 99 steps of pixel-scan input, teacher
   forcing on every step, ``qrnn_loss`` on the last step, backward. Ours: :class:`qml.recurrent.QuantumNeuronRNN`
   (the postselected fast path: the lanes' basis state read, one autograd node per stage). PennyLane:
   ``default.qubit`` (torch interface, backprop), one QNode per time step on the 10 lane and workspace
   wires: ``StatePrep`` of the state, ``RY(pi * bit)`` to write the inputs, and every neuron as its exact
   postselected map, ``qp.QubitUnitary`` of the ``2^10 x 2^10`` matrix that is block-diagonal over the
   sources' basis states with blocks ``[[cos^4 eta, -sin^4 eta], [sin^4 eta, cos^4 eta]]`` (RVQE's
   ``FastQuantumNeuronLayer``; PennyLane has no non-unitary multiplexed or diagonal operation, and the
   circuit form with ancillas needs 3 mid-circuit postselections per neuron, 26 neurons per step);
   the state is renormalised and the lanes postselected in torch between steps. The matrices depend
   only on the weights and are built once per forward pass, as ours.
2. **Reservoir feature collection**: a frozen QLSTM reservoir (Chen's six VQCs, 4 qubits, depth 4,
   angles in ``[-pi, pi]``; ``qml.recipes.reservoir``) over all 236 windows of damped SHM (4 steps each),
   features of all steps. Ours: :func:`qml.recurrent.collect_features` on the torch engine. PennyLane:
   the same VQCs as ``default.qubit`` QNodes (torch interface, the batch broadcast), the same LSTM
   equations in torch, no gradients.

``--check`` first compares the two implementations on a smaller QRNN (float64: read-out distributions
and gradients to 1e-6) and on the reservoir's features (1e-5). Usage (from the repository root)::

    .venv/bin/python benchmarks/qrnn_bench.py --check
    .venv/bin/python benchmarks/qrnn_bench.py --batch 8 --markdown qrnn.md --out qrnn.json
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _timing import median_time  # noqa: E402
from hea import machine_info, package_versions  # noqa: E402

# =========================================================================== the QRNN in PennyLane


def neuron_matrix(weights: torch.Tensor, bias: torch.Tensor, target: int, num_wires: int, order: int, degree: int):
    """The postselected map of one neuron on all ``num_wires`` wires (sources: every other wire, in order).

    Row/column ``i`` is the basis state with wire 0 most significant. The block of source state ``x`` is
    ``[[c, -s], [s, c]]`` with ``c = cos^(2^k) eta(x)``, ``s = sin^(2^k) eta(x)``,
    ``eta(x) = (sum_S phi_S prod_{i in S} x_i + theta + pi/2) / 2``.
    """
    import itertools

    sources = [w for w in range(num_wires) if w != target]
    subsets = [s for size in range(1, degree + 1) for s in itertools.combinations(range(len(sources)), size)]
    dim = 2**num_wires
    index = torch.arange(dim)
    bits = (index[:, None] >> torch.arange(num_wires - 1, -1, -1)) & 1  # (dim, wires), wire 0 first
    source_bits = bits[:, sources].to(weights.dtype)
    monomials = torch.stack([source_bits[:, list(s)].prod(dim=1) for s in subsets], dim=1)
    eta = 0.5 * (monomials @ weights + bias + math.pi / 2)  # per basis state (its target bit ignored)
    c, s = torch.cos(eta) ** (2**order), torch.sin(eta) ** (2**order)
    flipped = index ^ (1 << (num_wires - 1 - target))
    target_bit = bits[:, target]
    # out[i] = c(i) psi[i] + sign(i) s(i) psi[flip(i)], sign -1 where the target bit of i is 0
    sign = torch.where(target_bit == 0, -1.0, 1.0).to(weights.dtype)
    matrix = torch.zeros(dim, dim, dtype=weights.dtype)
    matrix = matrix.index_put((index, index), c).index_put((index, flipped), sign * s)
    return matrix


class PennyLaneQRNN:
    """Bausch's QRNN on ``default.qubit``, with the weights of one of our :class:`QuantumNeuronCell`."""

    def __init__(self, cell, complex_dtype=torch.complex128):
        import pennylane as qp

        self.cell, self.cdtype = cell, complex_dtype
        self.lanes, self.h, self.stages = cell.lanes, cell.workspace, cell.stages
        self.n = self.lanes + self.h
        device = qp.device("default.qubit", wires=self.n)

        @qp.qnode(device, interface="torch", diff_method="backprop")
        def step(state, bits, workspace_matrices, angles, output_matrices):
            wires = list(range(self.n))
            qp.StatePrep(state, wires=wires, validate_norm=False)
            for lane in range(self.lanes):
                qp.RY(math.pi * bits[:, lane], wires=lane)
            for stage in range(1 + self.stages):
                if stage:
                    for j in range(self.h):
                        qp.RY(angles[stage - 1, j], wires=self.lanes + j)
                for j in range(self.h):
                    qp.QubitUnitary(workspace_matrices[stage * self.h + j], wires=wires)
            for lane in range(self.lanes):
                qp.RY(-math.pi * bits[:, lane], wires=lane)
            for lane in range(self.lanes):
                qp.QubitUnitary(output_matrices[lane], wires=wires)
            return qp.state()

        self.step = step

    def matrices(self):
        cell, n = self.cell, self.n
        width = cell.input_weights.shape[1]
        weights = torch.cat([cell.input_weights.unsqueeze(0), cell.work_weights]).reshape(-1, width)
        bias = torch.cat([cell.input_bias.unsqueeze(0), cell.work_bias]).reshape(-1)
        targets = [self.lanes + j for _ in range(1 + self.stages) for j in range(self.h)]
        work = [
            neuron_matrix(w, b, t, n, cell.order, cell.degree).to(self.cdtype)
            for w, b, t in zip(weights, bias, targets, strict=True)
        ]
        out = [
            neuron_matrix(cell.output_weights[lane], cell.output_bias[lane], lane, n, cell.order, cell.degree).to(
                self.cdtype
            )
            for lane in range(self.lanes)
        ]
        return work, out

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Read-out distributions ``(B, T, 2^I)``, teacher forcing (postselection on the target) at every step."""
        batch, steps = targets.shape
        work, out = self.matrices()
        angles = self.cell.work_angles
        state = torch.zeros(batch, 2**self.n, dtype=self.cdtype)
        state[:, 0] = 1.0
        rows = torch.arange(batch)
        probabilities = []
        bits = inputs.to(self.cell.input_weights.dtype)
        for t in range(steps):
            psi = self.step(state, bits[:, t], work, angles, out).reshape(batch, 2**self.lanes, 2**self.h)
            weight = psi.abs().square().sum(dim=2)  # (B, 2^I), unnormalised
            p = weight / weight.sum(dim=1, keepdim=True)
            probabilities.append(p.real if p.is_complex() else p)
            kept = psi[rows, targets[:, t]]
            kept = kept / kept.abs().square().sum(dim=1, keepdim=True).sqrt()
            state = torch.zeros(batch, 2**self.n, dtype=self.cdtype)
            state = state.index_put((rows[:, None], torch.arange(2**self.h)[None, :]), kept)
        return torch.stack(probabilities, dim=1).to(self.cell.input_weights.dtype)


# =========================================================================== the QLSTM reservoir in PennyLane


class PennyLaneQLSTM:
    """Chen's QLSTM cell as ``default.qubit`` QNodes, with the weights of one of our :class:`QLSTMCell`."""

    def __init__(self, cell):
        import pennylane as qp

        self.cell = cell
        n = cell.num_qubits
        device = qp.device("default.qubit", wires=n)

        def make(vqc):
            m, k, layers = vqc.num_inputs, vqc.num_outputs, vqc.num_layers
            weights = vqc.weights.detach()

            @qp.qnode(device, interface="torch", diff_method="backprop")
            def circuit(v):
                for i in range(m):
                    qp.Hadamard(wires=i)
                for i in range(m):
                    qp.RY(torch.atan(v[:, i]), wires=i)
                    qp.RZ(torch.atan(v[:, i] ** 2), wires=i)
                for layer in range(layers):
                    for i in range(n):
                        qp.CNOT(wires=[i, (i + 1) % n])
                    for i in range(n):
                        qp.CNOT(wires=[i, (i + 2) % n])
                    for i in range(n):
                        qp.Rot(*weights[layer, i], wires=i)
                return [qp.expval(qp.PauliZ(q)) for q in range(k)]

            return lambda v: torch.stack(circuit(v), dim=-1).to(v.dtype)

        names = ("forget", "input", "candidate", "output", "to_hidden", "to_output")
        self.vqcs = {name: make(getattr(cell, name)) for name in names}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs of all steps, concatenated: ``(N, T * output_size)``."""
        q, cell = self.vqcs, self.cell
        batch = x.shape[0]
        h = x.new_zeros(batch, cell.hidden_size)
        c = x.new_zeros(batch, cell.cell_size)
        outputs = []
        with torch.no_grad():
            for t in range(x.shape[1]):
                v = torch.cat([x[:, t : t + 1], h], dim=1)
                c = torch.sigmoid(q["forget"](v)) * c + torch.sigmoid(q["input"](v)) * torch.tanh(q["candidate"](v))
                gated = torch.sigmoid(q["output"](v)) * torch.tanh(c)
                h = q["to_hidden"](gated)
                outputs.append(q["to_output"](gated))
        return torch.cat(outputs, dim=1)


# =========================================================================== workloads


def _qrnn(lanes, workspace, stages, dtype, seed=0):
    from qml.recurrent import QuantumNeuronRNN

    # O(1) weights, so that every neuron matters (RVQE's 0.01 spread makes all neurons nearly alike)
    return QuantumNeuronRNN(
        lanes, workspace, stages=stages, order=2, degree=2, generator=torch.Generator().manual_seed(seed),
        weight_std=0.5, bias_std=0.5, angle_std=0.5, dtype=dtype,
    )  # fmt: skip


def _sequences(batch, steps, lanes, seed=1):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 2, (batch, steps, lanes), generator=g)
    targets = torch.zeros(batch, steps, dtype=torch.long)
    targets[:, -1] = torch.randint(0, 2, (batch,), generator=g)
    scored = torch.zeros(batch, steps, dtype=torch.bool)
    scored[:, -1] = True
    return inputs, targets, scored


def _reservoir(seed=0):
    from circuits import TorchBackend
    from qml.recipes.reservoir import reservoir_cell

    return reservoir_cell("qlstm", quick=False, backend=TorchBackend(), generator=torch.Generator().manual_seed(seed))


def check() -> None:
    """Ours and PennyLane agree: QRNN distributions and gradients (1e-6), QLSTM reservoir features (1e-5)."""
    from qml.data.timeseries import damped_oscillator
    from qml.recurrent import collect_features, qrnn_loss

    model = _qrnn(2, 3, 1, torch.float64)
    inputs, targets, scored = _sequences(4, 6, 2)
    ours = model(inputs, targets)
    loss = qrnn_loss(ours.probabilities, targets, scored)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    peer = PennyLaneQRNN(model.cell)
    theirs = peer.forward(inputs, targets)
    peer_grads = torch.autograd.grad(qrnn_loss(theirs, targets, scored), list(model.parameters()))
    dp = float((ours.probabilities - theirs).detach().abs().max())
    dg = max(float((a - b).abs().max()) for a, b in zip(grads, peer_grads, strict=True))
    print(f"QRNN (I=2, H=3, S=1, T=6): max |p_ours - p_pl| = {dp:.2e}, max |grad_ours - grad_pl| = {dg:.2e}")
    assert dp < 1e-6 and dg < 1e-6, "QRNN: PennyLane and ours disagree"
    reservoir = _reservoir()
    x = damped_oscillator(window=4).x_train[:16]
    f_ours = collect_features(reservoir, x)
    f_pl = PennyLaneQLSTM(reservoir.cell).features(x)
    df = float((f_ours - f_pl).abs().max())
    print(f"QLSTM reservoir features (16 windows): max |f_ours - f_pl| = {df:.2e}")
    assert df < 1e-5, "reservoir: PennyLane and ours disagree"
    print("check passed")


def bench(batch: int, steps: int, pl_steps: int, reps: int, pl_reps: int) -> dict[str, Any]:
    from qml.data.timeseries import damped_oscillator
    from qml.recurrent import clip_gradients, collect_features, qrnn_loss

    results: dict[str, Any] = {}
    model = _qrnn(2, 8, 2, torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    peer = PennyLaneQRNN(model.cell, complex_dtype=torch.complex64)

    def training_step(forward, length):
        inputs, targets, scored = _sequences(batch, length, 2)

        def step():
            optimizer.zero_grad()
            qrnn_loss(forward(inputs, targets), targets, scored).backward()
            clip_gradients(model)
            optimizer.step()

        return step

    ours = lambda inputs, targets: model(inputs, targets).probabilities  # noqa: E731
    for key, forward, length, count in (
        ("qrnn_ours", ours, steps, reps),
        ("qrnn_ours_short", ours, pl_steps, reps),
        ("qrnn_pennylane_short", peer.forward, pl_steps, pl_reps),
    ):
        print(f"{key}: training step, batch {batch}, {length} steps ...", flush=True)
        results[key] = median_time(training_step(forward, length), count) | {"steps": length, "batch": batch}
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"  {results[key]['median_s']:.3f} s (peak memory of the process so far {rss:.2f} GiB)", flush=True)

    reservoir = _reservoir()
    data = damped_oscillator(window=4)
    x = torch.cat([data.x_train, data.x_test])
    pl_reservoir = PennyLaneQLSTM(reservoir.cell)
    print(f"QLSTM reservoir features, {len(x)} windows: ours ...", flush=True)
    results["reservoir_ours"] = median_time(lambda: collect_features(reservoir, x), reps)
    print(f"  ours {results['reservoir_ours']['median_s']:.3f} s; PennyLane ...", flush=True)
    results["reservoir_pennylane"] = median_time(lambda: pl_reservoir.features(x), max(pl_reps, 3))
    print(f"  PennyLane {results['reservoir_pennylane']['median_s']:.3f} s", flush=True)
    return results


def markdown(results: dict[str, Any]) -> str:
    short, full = results["qrnn_ours_short"], results["qrnn_ours"]
    lines = ["| workload | ours (s) | PennyLane default.qubit (s) | PennyLane / ours |", "|---|---:|---:|---:|"]
    rows = [
        (f"QRNN training step, 12 qubits, batch {short['batch']}, {short['steps']} steps", "qrnn_ours_short",
         "qrnn_pennylane_short"),
        ("QLSTM reservoir features, 236 windows x 4 steps", "reservoir_ours", "reservoir_pennylane"),
    ]  # fmt: skip
    for label, ours_key, peer_key in rows:
        ours, theirs = results[ours_key]["median_s"], results[peer_key]["median_s"]
        lines.append(f"| {label} | {ours:.3g} | {theirs:.3g} | {theirs / ours:.0f}x |")
    lines.append(
        f"| QRNN training step, 12 qubits, batch {full['batch']}, {full['steps']} steps (MNIST) | "
        f"{full['median_s']:.3g} | (see --pl-steps) | |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare the implementations, then stop")
    parser.add_argument("--batch", type=int, default=8, help="sequences per QRNN training step (default 8)")
    parser.add_argument("--steps", type=int, default=99, help="time steps of ours' full sequence (MNIST: 99)")
    parser.add_argument(
        "--pl-steps",
        type=int,
        default=12,
        help="time steps of the sequence both implementations are timed on (default 12: PennyLane's backward keeps "
        "every neuron's dense 2^10 x 2^10 matrix per step, about 200 MB per step at batch 8)",
    )
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions of ours (median)")
    parser.add_argument("--pl-reps", type=int, default=1, help="timed repetitions of PennyLane's QRNN step")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--out", help="write the results as JSON")
    parser.add_argument("--markdown", help="write the table as markdown")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.check:
        check()
        return
    results = bench(args.batch, args.steps, args.pl_steps, args.reps, args.pl_reps)
    table = markdown(results)
    print(table)
    record = {
        "machine": machine_info(),
        "versions": package_versions(["torch", "pennylane", "qml-hybrid"]),
        "threads": args.threads,
        "batch": args.batch,
        "steps": args.steps,
        "pl_steps": args.pl_steps,
        "results": results,
    }
    if args.out:
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
