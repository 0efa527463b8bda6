"""Bausch's QRNN: the fast network against a full-register simulation and the circuit, loss, counts, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from circuits import Circuit, TorchBackend
from circuits.library import neuron_ancilla_count, quantum_neuron
from qml.recurrent import (
    GRADIENT_CLIP_NORM,
    PostselectionError,
    QuantumNeuronCell,
    QuantumNeuronRNN,
    apply_quantum_neuron,
    clip_gradients,
    count_trainable,
    qrnn_loss,
    qrnn_loss_floor,
    qrnn_parameter_count,
)

REF = TorchBackend(dtype=torch.complex128)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _model(lanes, workspace, stages, order, degree, seed=0, spread=1.0) -> QuantumNeuronRNN:
    """A float64 model with O(1) parameters, so that every neuron matters."""
    return QuantumNeuronRNN(
        lanes,
        workspace,
        stages=stages,
        order=order,
        degree=degree,
        generator=seeded(seed),
        weight_std=spread,
        bias_std=spread,
        angle_std=spread,
        dtype=torch.float64,
    )


def _full_register(model: QuantumNeuronRNN, inputs: torch.Tensor, outcomes: torch.Tensor):
    """The QRNN step by step on the whole (lanes + workspace) register, with the general neuron and X flips.

    Returns the read-out distributions and the neuron success probabilities, postselecting the lanes
    on ``outcomes`` at every step.
    """
    cell = model.cell
    lanes, h = cell.lanes, cell.workspace
    n = lanes + h
    batch, steps, _ = inputs.shape
    psi = torch.zeros(batch, 2**n, dtype=torch.float64)
    psi[:, 0] = 1.0
    psi = psi.reshape(batch, *[2] * n)

    def write(state, bits):
        rows = []
        for b in range(batch):
            row = state[b]
            for lane in range(lanes):
                if bits[b, lane]:
                    row = row.flip(lane)
            rows.append(row)
        return torch.stack(rows)

    def neuron(state, qubit, weights, bias):
        return apply_quantum_neuron(state, qubit, weights, bias, order=cell.order, degree=cell.degree)

    probabilities, successes = [], []
    for t in range(steps):
        bits = inputs[:, t].long()
        psi = write(psi, bits)
        success = torch.ones(batch, dtype=torch.float64)
        for j in range(h):
            psi, kept = neuron(psi, lanes + j, cell.input_weights[j], cell.input_bias[j])
            success = success * kept
        for s in range(cell.stages):
            for j in range(h):
                c, sn = torch.cos(cell.work_angles[s, j] / 2), torch.sin(cell.work_angles[s, j] / 2)
                v = psi.movedim(1 + lanes + j, 1)
                psi = torch.stack([c * v[:, 0] - sn * v[:, 1], sn * v[:, 0] + c * v[:, 1]], 1).movedim(1, 1 + lanes + j)
            for j in range(h):
                psi, kept = neuron(psi, lanes + j, cell.work_weights[s, j], cell.work_bias[s, j])
                success = success * kept
        psi = write(psi, bits)
        for lane in range(lanes):
            psi, kept = neuron(psi, lane, cell.output_weights[lane], cell.output_bias[lane])
            success = success * kept
        joint = psi.reshape(batch, 2**lanes, 2**h)
        p = joint.square().sum(dim=2)
        probabilities.append(p)
        successes.append(success)
        y = outcomes[:, t]
        rows = torch.arange(batch)
        nxt = torch.zeros_like(joint)
        nxt[rows, 0] = joint[rows, y] / p[rows, y].sqrt().unsqueeze(1)
        psi = nxt.reshape(batch, *[2] * n)
    return torch.stack(probabilities, 1), torch.stack(successes, 1)


@pytest.mark.parametrize(
    ("lanes", "workspace", "stages", "order", "degree"),
    [(1, 3, 1, 2, 2), (2, 3, 2, 1, 3), (2, 2, 0, 3, 1), (3, 2, 1, 2, 4)],
)
def test_network_equals_the_full_register_simulation_with_teacher_forcing(lanes, workspace, stages, order, degree):
    model = _model(lanes, workspace, stages, order, degree, seed=lanes + workspace)
    generator = seeded(5)
    inputs = torch.randint(0, 2, (3, 5, lanes), generator=generator).float()
    targets = torch.randint(0, 2**lanes, (3, 5), generator=generator)
    out = model(inputs, targets)
    probabilities, success = _full_register(model, inputs, targets)
    torch.testing.assert_close(out.probabilities, probabilities, rtol=0, atol=1e-12)
    torch.testing.assert_close(out.neuron_success, success, rtol=1e-10, atol=0)
    assert torch.equal(out.outcomes, targets) and bool(out.forced.all())
    expected = probabilities.gather(2, targets.unsqueeze(2)).squeeze(2)
    torch.testing.assert_close(out.postselection, expected, rtol=0, atol=1e-12)
    assert out.min_postselection == pytest.approx(float(expected.detach().min()))
    assert out.min_neuron_success == pytest.approx(float(success.detach().min()))
    torch.testing.assert_close(out.probabilities.sum(dim=2), torch.ones(3, 5, dtype=torch.float64))


def test_evaluation_postselects_unscored_steps_and_samples_scored_ones_reproducibly():
    model = _model(2, 3, 1, 2, 2, seed=4)
    model.eval()
    generator = seeded(6)
    inputs = torch.randint(0, 2, (4, 6, 2), generator=generator).float()
    targets = torch.randint(0, 4, (4, 6), generator=generator)
    scored = torch.zeros(4, 6, dtype=torch.bool)
    scored[:, 2::3] = True
    out = model(inputs, targets, scored, generator=seeded(1))
    again = model(inputs, targets, scored, generator=seeded(1))
    assert torch.equal(out.outcomes, again.outcomes)
    assert torch.equal(out.forced, ~scored)
    assert torch.equal(out.outcomes[~scored], targets[~scored])
    # the sampled outcomes are the lanes' state from there on: the full register agrees given them
    probabilities, _ = _full_register(model, inputs, out.outcomes)
    torch.testing.assert_close(out.probabilities, probabilities, rtol=0, atol=1e-12)
    # training mode ignores `scored` and postselects every step
    model.train()
    assert bool(model(inputs, targets, scored).forced.all())


def test_sampled_outcomes_follow_the_read_out_distribution():
    model = _model(2, 2, 1, 2, 2, seed=8)
    model.eval()
    inputs = torch.ones(4000, 1, 2)
    out = model(inputs, generator=seeded(2))  # no targets: every step sampled
    p = out.probabilities[0, 0]
    frequencies = torch.bincount(out.outcomes[:, 0], minlength=4).double() / 4000
    assert torch.all((frequencies - p).abs() <= 4 * torch.sqrt(p * (1 - p) / 4000) + 1e-3)
    assert out.min_postselection == 1.0  # nothing was postselected


def _step_circuit(cell: QuantumNeuronCell, bits: list[int], workspace_unitary: np.ndarray):
    """One cell step as a circuit: neurons with fresh ancillas each, X flips for the input; its parameter values."""
    lanes, h, order = cell.lanes, cell.workspace, cell.order
    per = neuron_ancilla_count(order)
    neurons = h * (1 + cell.stages) + lanes
    width = lanes + h + neurons * per
    circuit = Circuit(width).unitary(workspace_unitary, list(range(lanes, lanes + h)))
    values: dict[str, torch.Tensor] = {}
    next_ancilla = lanes + h
    count = 0

    def neuron(c: Circuit, target: int, weights: torch.Tensor, bias: torch.Tensor) -> Circuit:
        nonlocal next_ancilla, count
        sources = [q for q in range(lanes + h) if q != target]
        ancillas = list(range(next_ancilla, next_ancilla + per))
        next_ancilla += per
        w, b = f"w{count}", f"b{count}"
        count += 1
        values[w], values[b] = weights.detach(), bias.detach().reshape(1)
        block = quantum_neuron(
            width, sources, target, ancillas, order=order, degree=cell.degree, weights=w, bias=b, offset=cell.offset
        )
        return c.compose(block)

    flips = [lane for lane in range(lanes) if bits[lane]]
    for lane in flips:
        circuit = circuit.x(lane)
    for j in range(h):
        circuit = neuron(circuit, lanes + j, cell.input_weights[j], cell.input_bias[j])
    for s in range(cell.stages):
        for j in range(h):
            circuit = circuit.ry(float(cell.work_angles[s, j].detach()), lanes + j)
        for j in range(h):
            circuit = neuron(circuit, lanes + j, cell.work_weights[s, j], cell.work_bias[s, j])
    for lane in flips:
        circuit = circuit.x(lane)
    for lane in range(lanes):
        circuit = neuron(circuit, lane, cell.output_weights[lane], cell.output_bias[lane])
    return circuit, values


@pytest.mark.parametrize(
    ("lanes", "workspace", "stages", "order", "degree", "bits"),
    [(1, 2, 1, 1, 2, [1]), (1, 1, 1, 2, 1, [0]), (2, 1, 1, 1, 2, [1, 0])],
)
def test_one_cell_step_equals_its_circuit_with_every_ancilla_postselected(
    lanes, workspace, stages, order, degree, bits
):
    cell = _model(lanes, workspace, stages, order, degree, seed=9).cell
    rng = np.random.default_rng(3)
    q, r = np.linalg.qr(rng.normal(size=(2**workspace,) * 2))
    unitary = q * np.sign(np.diag(r))  # real orthogonal: the cell's states are real
    circuit, values = _step_circuit(cell, bits, unitary)
    state = REF.state(circuit, values)[0].numpy()
    kept = state.reshape(2 ** (lanes + workspace), -1)[:, 0]
    success = float(np.vdot(kept, kept).real)
    workspace_state = torch.from_numpy(unitary[:, 0].copy()).unsqueeze(0)
    step = cell(workspace_state, torch.tensor([bits]))
    np.testing.assert_allclose(step.state.detach().reshape(-1).numpy(), kept.real / math.sqrt(success), atol=1e-10)
    np.testing.assert_allclose(kept.imag, 0.0, atol=1e-12)
    assert float(step.success.detach()[0]) == pytest.approx(success, rel=1e-9)


def test_one_cell_step_on_aer_equals_the_cell():
    aer = pytest.importorskip("circuits.backends.aer").AerBackend()
    cell = _model(1, 2, 1, 1, 2, seed=10).cell
    unitary = np.eye(4)
    circuit, values = _step_circuit(cell, [1], unitary)
    state = aer.state(circuit, values)[0].numpy()
    kept = state.reshape(8, -1)[:, 0]
    step = cell(torch.tensor([[1.0, 0, 0, 0]], dtype=torch.float64), torch.tensor([[1]]))
    np.testing.assert_allclose(step.state.detach().reshape(-1).numpy(), kept.real / np.linalg.norm(kept), atol=1e-6)


def test_gradients_of_the_loss_match_finite_differences():
    model = _model(1, 2, 1, 2, 2, seed=12, spread=0.7)
    generator = seeded(13)
    inputs = torch.randint(0, 2, (3, 4, 1), generator=generator).float()
    targets = torch.randint(0, 2, (3, 4), generator=generator)
    scored = torch.tensor([[False, True, False, True]] * 3)

    def loss() -> torch.Tensor:
        out = model(inputs, targets)
        return qrnn_loss(out.probabilities, targets, scored) + 0.1 * out.neuron_success.log().mean()

    model.zero_grad()
    loss().backward()
    cell = model.cell
    probes = [
        (cell.input_weights, (0, 1)),
        (cell.input_bias, (1,)),
        (cell.work_angles, (0, 0)),
        (cell.work_weights, (0, 1, 2)),
        (cell.work_bias, (0, 0)),
        (cell.output_weights, (0, 0)),
        (cell.output_bias, (0,)),
    ]
    for parameter, index in probes:
        with torch.no_grad():
            original = float(parameter[index])
            parameter[index] = original + 1e-6
            up = float(loss())
            parameter[index] = original - 1e-6
            down = float(loss())
            parameter[index] = original
        assert float(parameter.grad[index]) == pytest.approx((up - down) / 2e-6, rel=1e-5, abs=1e-9)


def test_float32_model_trains_and_agrees_with_float64():
    model32 = _model(2, 3, 1, 2, 2, seed=14, spread=0.5)
    model64 = _model(2, 3, 1, 2, 2, seed=14, spread=0.5)
    model32.float()
    generator = seeded(15)
    inputs = torch.randint(0, 2, (4, 8, 2), generator=generator).float()
    targets = torch.randint(0, 4, (4, 8), generator=generator)
    p32 = model32(inputs, targets).probabilities
    p64 = model64(inputs, targets).probabilities
    assert p32.dtype == torch.float32
    torch.testing.assert_close(p32.double(), p64, rtol=0, atol=1e-5)


def test_parameter_count_is_the_papers():
    assert qrnn_parameter_count(3, 5, 1, 3) == 837  # RVQE's DNA model (papers.md: about 837)
    assert qrnn_parameter_count(2, 8, 2, 2) == 1212  # the 12-qubit MNIST model
    mnist = QuantumNeuronRNN(2, num_qubits=12, stages=2, order=2, degree=2, generator=seeded())
    assert mnist.cell.workspace == 8 and mnist.cell.num_qubits == 12
    assert count_trainable(mnist) == 1212
    for lanes, workspace, stages, degree in [(1, 6, 3, 4), (3, 3, 0, 1), (2, 4, 1, 5)]:
        model = QuantumNeuronRNN(lanes, workspace, stages=stages, degree=degree, generator=seeded())
        assert count_trainable(model) == qrnn_parameter_count(lanes, workspace, stages, degree)


def test_initialisation_follows_rvqe_spreads_and_the_generator():
    model = QuantumNeuronRNN(2, 8, stages=2, generator=seeded(3))
    cell = model.cell
    assert float(cell.work_weights.detach().std()) == pytest.approx(0.01, rel=0.1)
    assert float(cell.input_bias.detach().std()) == pytest.approx(0.1, rel=0.6)
    again = QuantumNeuronRNN(2, 8, stages=2, generator=seeded(3))
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters(), strict=True))


def test_loss_is_cross_entropy_of_probabilities_as_logits_minus_its_floor():
    generator = seeded(16)
    p = torch.softmax(torch.randn(3, 5, 4, generator=generator), dim=2)
    targets = torch.randint(0, 4, (3, 5), generator=generator)
    scored = torch.rand(3, 5, generator=generator) > 0.5
    expected = nn.CrossEntropyLoss()(p[scored], targets[scored]) - (-1 + math.log(4 - 1 + math.e))
    torch.testing.assert_close(qrnn_loss(p, targets, scored), expected)
    perfect = nn.functional.one_hot(targets, 4).double()
    assert float(qrnn_loss(perfect, targets)) == pytest.approx(0.0, abs=1e-12)
    assert float(qrnn_loss(p, targets)) > 0
    assert qrnn_loss_floor(2) == pytest.approx(-1 + math.log(1 + math.e))
    with pytest.raises(ValueError, match=r"no scored step"):
        qrnn_loss(p, targets, torch.zeros(3, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"probabilities \(B, T, C\) and targets \(B, T\)"):
        qrnn_loss(p, targets[:, :2])


def test_clip_gradients_is_rvqes_norm_clip():
    model = _model(1, 2, 1, 1, 1, seed=17)
    for parameter in model.parameters():
        parameter.grad = torch.full_like(parameter, 3.0)
    total = clip_gradients(model)
    count = sum(p.numel() for p in model.parameters())
    assert float(total) == pytest.approx(3.0 * math.sqrt(count))
    norm = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters()))
    assert float(norm) == pytest.approx(GRADIENT_CLIP_NORM, rel=1e-6)


def test_qubit_budget_order_and_degree_are_checked():
    with pytest.raises(ValueError, match=r"needs lanes \+ workspace \+ order = 3 \+ 8 \+ 2 = 13 qubits.*num_qubits=12"):
        QuantumNeuronRNN(3, 8, num_qubits=12, generator=seeded())
    with pytest.raises(ValueError, match=r"leave no workspace in num_qubits=5.*at least 6"):
        QuantumNeuronRNN(3, num_qubits=5, order=2, generator=seeded())
    with pytest.raises(ValueError, match=r"give workspace .* or num_qubits"):
        QuantumNeuronRNN(2, generator=seeded())
    with pytest.raises(ValueError, match=r"order must be in 1\.\.6 .* got 7"):
        QuantumNeuronRNN(1, 2, order=7, generator=seeded())
    with pytest.raises(TypeError, match=r"order must be an int"):
        QuantumNeuronRNN(1, 2, order=2.0, generator=seeded())
    with pytest.raises(ValueError, match=r"degree must be in 1\.\.3: every neuron reads .* = 3 qubits, got degree=4"):
        QuantumNeuronRNN(1, 3, degree=4, generator=seeded())
    with pytest.raises(ValueError, match=r"degree must be in 1\.\.3.*got degree=0"):
        QuantumNeuronRNN(1, 3, degree=0, generator=seeded())
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator"):
        QuantumNeuronRNN(1, 3, generator=0)
    with pytest.raises(ValueError, match=r"dtype must be torch.float32 or torch.float64"):
        QuantumNeuronRNN(1, 3, generator=seeded(), dtype=torch.complex64)


def test_a_cell_too_large_for_memory_is_refused_before_allocating():
    from circuits.errors import SimulationMemoryError

    with pytest.raises(
        SimulationMemoryError, match=r"2 lane\(s\) and 40 workspace qubits .* Use fewer workspace qubits"
    ):
        QuantumNeuronRNN(2, 40, generator=seeded())


def test_bad_sequences_are_rejected_with_the_expected_shape():
    model = QuantumNeuronRNN(2, 2, stages=1, generator=seeded())
    bits = torch.zeros(2, 3, 2)
    targets = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match=r"must be bits \(0 or 1\), got values \[0\.0, 0\.5\]"):
        model(torch.tensor([[[0.0, 0.5]]]), torch.zeros(1, 1, dtype=torch.long))
    with pytest.raises(ValueError, match=r"inputs of shape \(B, T, lanes\) = \(B, T, 2\) .* got \(2, 3, 3\)"):
        model(torch.zeros(2, 3, 3), targets)
    with pytest.raises(ValueError, match=r"got \(2, 2\)"):
        model(torch.zeros(2, 2), targets)
    with pytest.raises(ValueError, match=r"targets of shape \(B, T\) = \(2, 3\) .* got \(2, 4\)"):
        model(bits, torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"must be in 0\.\.3, got values \[0, 4\]"):
        model(bits, torch.tensor([[0, 4, 0], [0, 0, 0]]))
    with pytest.raises(TypeError, match=r"targets must be integer class labels"):
        model(bits, targets.float())
    with pytest.raises(ValueError, match=r"scored as a bool tensor of shape \(2, 3\)"):
        model(bits, targets, torch.ones(2, 3))
    with pytest.raises(TypeError, match=r"expects inputs as a torch.Tensor, got list"):
        model([[0, 1]], targets)
    with pytest.raises(ValueError, match=r"training mode postselects every step .* needs targets"):
        model(bits)
    model.eval()
    with pytest.raises(TypeError, match=r"needs generator=torch.Generator\(\)"):
        model(bits, targets, torch.ones(2, 3, dtype=torch.bool))


def test_postselection_underflow_names_the_step():
    model = QuantumNeuronRNN(1, 2, stages=0, order=2, degree=1, generator=seeded(), dtype=torch.float64)
    with torch.no_grad():  # eta = 0 for the output neuron: the lane stays |0>, class 1 has probability 0
        for parameter in model.parameters():
            parameter.zero_()
        model.cell.output_bias.fill_(-math.pi / 2)
    targets = torch.tensor([[0, 0, 1, 0]])
    with pytest.raises(
        PostselectionError, match=r"underflow at step 2, sample 0: .* postselected on the target class 1"
    ):
        model(torch.zeros(1, 4, 1), targets)
    assert isinstance(PostselectionError("x"), ArithmeticError)


def test_neuron_underflow_names_the_step_and_stage():
    # order 6 at eta = pi/4 keeps 2 * 2^-64 per neuron: three neurons underflow float32
    model = QuantumNeuronRNN(1, 3, stages=0, order=6, degree=1, generator=seeded(), weight_std=0.0, bias_std=0.0)
    with pytest.raises(PostselectionError, match=r"underflow at step 0, sample 0: the neurons of the input stage"):
        model(torch.zeros(1, 2, 1), torch.zeros(1, 2, dtype=torch.long))


@pytest.mark.slow
def test_elman_xor_is_learnt():
    from qml.data.sequences import elman_xor

    torch.manual_seed(0)  # only for torch internals; every draw below has its own generator
    model = QuantumNeuronRNN(1, 6, stages=3, order=2, degree=4, generator=seeded(0))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01)
    data = seeded(1)
    for _ in range(150):
        batch = elman_xor(16, 36, generator=data)
        out = model(batch.inputs, batch.targets)
        loss = qrnn_loss(out.probabilities, batch.targets, batch.mask)
        optimizer.zero_grad()
        loss.backward()
        clip_gradients(model)
        optimizer.step()
    test = elman_xor(64, 36, generator=12345)
    model.eval()
    with torch.no_grad():
        out = model(test.inputs, test.targets, test.mask, generator=seeded(0))
    accuracy = (out.outcomes[test.mask] == test.targets[test.mask]).float().mean()
    assert float(accuracy) >= 0.95
