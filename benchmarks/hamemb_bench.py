"""Training-epoch benchmark of the image classifiers (issue 12, item 5) against PennyLane, in one run.

Two workloads, each one training epoch of the shipped recipe, timed as optimizer steps (forward, backward,
Adam step) on the recipe's own data and batch size:

* ``hamemb-digits``: the Hamiltonian-embedding classifier, 3 qubits, 15 layers of two SU(4) blocks, 1 200
  images of 8x8 digits in one batch (one step per epoch). Peers: ``ours`` (the model's fast path:
  eigendecomposition once per image, phases per layer) and ``pennylane`` (``default.qubit``, torch interface,
  backprop, the batch broadcast: ``QubitUnitary`` of ``torch.linalg.matrix_exp(-i t H / 2)`` per image, the
  paper's ``SpecialUnitary`` blocks, ``probs`` of the 3 qubits).
* ``readout-qnn-mnist36``: Farhi and Neven's QNN, 17 qubits, batches of 32 over the training part. Peers:
  ``ours`` (closed form), ``ours-engine`` (the 17-qubit circuit on our ``TorchBackend``) and ``pennylane``
  (``default.qubit``, broadcast over the batch, backprop). The engine and PennyLane time a few steps; an epoch
  is steps x the median step.

Before timing, every peer's output is checked against ours at the same weights. Threads: ``--threads``
(default 1, the machine is shared). Usage (repository root)::

    python benchmarks/hamemb_bench.py                 # both workloads, the table for docs/performance.md
    python benchmarks/hamemb_bench.py --quick         # fewer repetitions
    python benchmarks/hamemb_bench.py --out hamemb.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _timing import median_time  # noqa: E402

from circuits import TorchBackend  # noqa: E402
from qml.models import HamiltonianEmbeddingClassifier, HingeLoss, ReadoutCrossEntropy, ReadoutQNN  # noqa: E402
from qml.models.hamiltonian_embedding import brickwall_pairs  # noqa: E402
from qml.recipes import RecipeOptions, get_recipe  # noqa: E402


def _adam_step(model: torch.nn.Module, loss_of: Callable[[], torch.Tensor]) -> Callable[[], None]:
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def step() -> None:
        optimizer.zero_grad()
        loss_of().backward()
        optimizer.step()

    return step


# ------------------------------------------------------------------------------------------- hamemb-digits


class PennyLaneHamEmb(torch.nn.Module):
    """The same model written in PennyLane as a user would: dense embeddings from torch, broadcast over the batch."""

    def __init__(self, source: HamiltonianEmbeddingClassifier) -> None:
        import pennylane as qp

        super().__init__()
        self.times = torch.nn.Parameter(source.times.detach().clone())
        self.weights = torch.nn.Parameter(source.weights.detach().clone())
        n, layers, pairs = source.num_qubits, source.num_layers, brickwall_pairs(source.num_qubits)
        self.num_qubits = n

        @qp.qnode(qp.device("default.qubit", wires=n), interface="torch", diff_method="backprop")
        def circuit(embeddings: torch.Tensor, weights: torch.Tensor) -> Any:
            for q in range(n):
                qp.Hadamard(q)
            for layer in range(layers):
                qp.QubitUnitary(embeddings[:, layer], wires=range(n))
                for k, pair in enumerate(pairs):
                    qp.SpecialUnitary(weights[layer, 15 * k : 15 * k + 15], wires=list(pair))
            return qp.probs(wires=range(n))

        self.circuit = circuit

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = (images + images.transpose(-1, -2)) / 2  # 8x8 images: no padding
        generator = (-0.5j * self.times.to(torch.complex64))[None, :, None, None] * h[:, None].to(torch.complex64)
        embeddings = torch.linalg.matrix_exp(generator)  # (batch, layers, 8, 8)
        return self.circuit(embeddings, self.weights).to(torch.float32)


def bench_hamemb_digits(reps: int) -> list[dict[str, Any]]:
    experiment = get_recipe("hamemb-digits").build(RecipeOptions(backend=TorchBackend(), seed=0))
    model = experiment.model
    x, y = experiment.train
    loss_fn = ReadoutCrossEntropy(8)
    peer = PennyLaneHamEmb(model)
    with torch.no_grad():
        ours_out, peer_out = model(x[:50]), peer(x[:50])
    agreement = float((ours_out - peer_out).abs().max())
    assert agreement < 1e-4, f"PennyLane and ours disagree by {agreement}"
    records = []
    for name, module, peer_reps in (("ours", model, reps), ("pennylane", peer, max(2, reps // 5))):
        timing = median_time(_adam_step(module, lambda m=module: loss_fn(m(x), y)), peer_reps)
        records.append({"workload": "hamemb-digits", "peer": name, "batch": len(y), "steps_per_epoch": 1,
                         "step": timing, "epoch_s": timing["median_s"], "max_abs_diff": agreement})  # fmt: skip
    return records


# ------------------------------------------------------------------------------------- readout-qnn-mnist36


def _pennylane_readout(source: ReadoutQNN) -> torch.nn.Module:
    import pennylane as qp

    n = source.num_data_qubits

    class PennyLaneReadout(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = torch.nn.Parameter(source.weights.detach().clone())

            @qp.qnode(qp.device("default.qubit", wires=n + 1), interface="torch", diff_method="backprop")
            def circuit(bits: torch.Tensor, weights: torch.Tensor) -> Any:
                for i in range(n):
                    qp.RY(math.pi * bits[:, i], wires=i)
                qp.PauliX(n)
                qp.Hadamard(n)
                for i in range(n):
                    qp.IsingXX(weights[i], wires=[i, n])
                for i in range(n):
                    qp.IsingZZ(weights[n + i], wires=[i, n])
                qp.Hadamard(n)
                return qp.expval(qp.PauliZ(n))

            self.circuit = circuit

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            z = self.circuit(images.reshape(len(images), n), self.weights).to(torch.float32)
            return torch.stack([-z, z], dim=-1)

    return PennyLaneReadout()


def bench_readout(reps: int, slow_reps: int) -> list[dict[str, Any]]:
    experiment = get_recipe("readout-qnn-mnist36").build(RecipeOptions(backend=TorchBackend(), seed=0))
    model: ReadoutQNN = experiment.model
    x, y = experiment.train
    batch = get_recipe("readout-qnn-mnist36").batch_size
    steps = math.ceil(len(y) / batch)
    xb, yb = x[:batch], y[:batch]
    loss_fn = HingeLoss()
    engine = ReadoutQNN(16, backend=TorchBackend(), generator=torch.Generator().manual_seed(0))
    engine.weights.data.copy_(model.weights.data)
    peer = _pennylane_readout(model)
    with torch.no_grad():
        reference = model(xb)
        agreement = max(float((engine(xb) - reference).abs().max()), float((peer(xb) - reference).abs().max()))
    assert agreement < 1e-4, f"a peer disagrees with the closed form by {agreement}"
    records = []

    def epoch() -> None:
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for start in range(0, len(y), batch):
            optimizer.zero_grad()
            loss_fn(model(x[start : start + batch]), y[start : start + batch]).backward()
            optimizer.step()

    timing = median_time(epoch, reps)
    records.append({"workload": "readout-qnn-mnist36", "peer": "ours", "batch": batch, "steps_per_epoch": steps,
                    "step": {k: v / steps if k != "reps" else v for k, v in timing.items()},
                    "epoch_s": timing["median_s"], "max_abs_diff": agreement})  # fmt: skip
    for name, module in (("ours-engine", engine), ("pennylane", peer)):
        timing = median_time(_adam_step(module, lambda m=module: loss_fn(m(xb), yb)), slow_reps)
        records.append({"workload": "readout-qnn-mnist36", "peer": name, "batch": batch, "steps_per_epoch": steps,
                        "step": timing, "epoch_s": steps * timing["median_s"], "max_abs_diff": agreement})  # fmt: skip
    return records


# ---------------------------------------------------------------------------------------------- report


def markdown(records: list[dict[str, Any]]) -> str:
    lines = ["| workload | peer | batch | step (ms, median) | steps per epoch | epoch (s) | PennyLane / peer |",
             "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for rec in records:
        pl = next(r for r in records if r["workload"] == rec["workload"] and r["peer"] == "pennylane")
        ratio = pl["epoch_s"] / rec["epoch_s"]
        lines.append(
            f"| {rec['workload']} | {rec['peer']} | {rec['batch']} | {rec['step']['median_s'] * 1e3:.1f} | "
            f"{rec['steps_per_epoch']} | {rec['epoch_s']:.3g} | {ratio:.1f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--workloads", default="hamemb-digits,readout-qnn-mnist36")
    ap.add_argument("--out", metavar="FILE", help="write the records as JSON")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    import pennylane as qp

    reps, slow_reps = (5, 2) if args.quick else (20, 3)
    workloads = args.workloads.split(",")
    records: list[dict[str, Any]] = []
    if "hamemb-digits" in workloads:
        records += bench_hamemb_digits(reps)
    if "readout-qnn-mnist36" in workloads:
        records += bench_readout(reps, slow_reps)
    info = {"torch": torch.__version__, "pennylane": qp.__version__, "threads": args.threads}
    print(f"torch {info['torch']}, pennylane {info['pennylane']}, {args.threads} thread(s)")
    print(markdown(records))
    if args.out:
        Path(args.out).write_text(json.dumps({"info": info, "records": records}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
