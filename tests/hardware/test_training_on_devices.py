"""Training through the whole hardware path on the vendors' own offline stand-ins: IBM's local testing
mode on a fake device (a real calibration snapshot, its noise included) and Braket's local simulator.

Each step (marked with ``training_step``, as ``qml.training.fit`` marks its own): transpile (once), one
submission with the forward and every parameter-shift circuit, the journal, the vendor's client code,
counts back to tensors, an optimizer step.
"""

from __future__ import annotations

import pytest
import torch

from circuits import Z
from circuits.gradients import training_step
from circuits.library import data_reuploading
from hardware.backend import ProviderBackend
from hardware.journal import Journal
from qml import QuantumLayer


def _train(backend: ProviderBackend, steps: int = 3) -> tuple[list[float], torch.Tensor, torch.Tensor]:
    circuit = data_reuploading(2, 1, inputs="x", weights="w")
    layer = QuantumLayer(circuit, [Z(0)], backend, generator=torch.Generator().manual_seed(0))
    start = layer.weights["w"].detach().clone()
    inputs = torch.tensor([[0.2, -0.4], [1.0, 0.3], [-0.7, 0.9], [0.5, 0.5]])
    targets = torch.tensor([1.0, -1.0, 1.0, -1.0])
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.2)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        with training_step():
            loss = (layer(inputs)[:, 0] - targets).square().mean()
            loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses, start, layer.weights["w"].detach()


@pytest.mark.parametrize(
    ("spec", "options"),
    [("ibm:fake_manila", {"mitigation": True}), ("braket:local", {})],
    ids=["ibm-fake-manila", "braket-local"],
)
def test_a_few_training_steps_on_a_device(tmp_path, spec, options):
    pytest.importorskip("qiskit_ibm_runtime" if spec.startswith("ibm") else "braket.devices")
    journal = Journal(tmp_path / "journal.sqlite")
    backend = ProviderBackend(
        spec, shots=400, seed=1, journal=journal, poll_interval=0.01, log=lambda line: None, **options
    )
    losses, start, end = _train(backend)
    assert all(0.0 <= value <= 4.0 for value in losses)
    assert not torch.equal(start, end)  # gradients arrived and moved the weights
    jobs = journal.list(status="done")
    calibrations = 1 if options.get("mitigation") else 0
    assert len(jobs) == 3 + calibrations  # one job per training step (plus the readout calibration)
    assert {job.provider for job in jobs} == {spec.split(":")[0]}


def test_fit_sends_one_job_per_training_step_and_no_shifted_circuit_to_validate(tmp_path):
    """``qml.training.fit`` marks each step with ``training_step``: forward and shifted circuits go as one
    job; validation (under ``torch.no_grad``) sends forward circuits only."""
    from hardware.providers.scripted import ScriptedProvider
    from qml.training import FitConfig, fit

    provider = ScriptedProvider(state_dir=tmp_path / "service", num_qubits=3)
    lines: list[str] = []
    backend = ProviderBackend(
        provider, shots=None, journal=Journal(tmp_path / "journal.sqlite"), poll_interval=0.001, log=lines.append
    )
    circuit = data_reuploading(2, 1, inputs="x", weights="w")
    layer = QuantumLayer(circuit, [Z(0)], backend, generator=torch.Generator().manual_seed(0))
    inputs = torch.rand(8, 2, generator=torch.Generator().manual_seed(1))
    targets = torch.rand(8, 1, generator=torch.Generator().manual_seed(2))
    start = layer.weights["w"].detach().clone()
    fit(
        layer,
        torch.nn.MSELoss(),
        torch.optim.SGD(layer.parameters(), lr=0.5),
        (inputs, targets),
        validation=(inputs[:3], targets[:3]),
        config=FitConfig(epochs=2, batch_size=4, seed=0, progress=False),
    )
    assert not torch.equal(start, layer.weights["w"].detach())
    # 2 epochs x (2 training steps + 1 validation batch) = 6 jobs, the 4 training ones priced with gradients
    assert len(provider.submissions()) == 6
    estimates = [line for line in lines if "circuit executions" in line]
    assert len(estimates) == 6
    assert sum("gradient (parameter shift)" in line for line in estimates) == 4
