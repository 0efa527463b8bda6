"""The recurrent cells: LSTM against torch.nn.LSTMCell, QLSTM / QKAN-LSTM / HQKAN-LSTM against their equations."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from circuits import TorchBackend
from qml.recurrent import VQC, HQKANLSTMCell, LSTMCell, QKANLSTMCell, QLSTMCell, RecurrentCell


def _has_kan() -> bool:
    try:
        from qml.kan import HQKAN, QKANLayer  # noqa: F401
    except ImportError:
        return False
    return True


requires_kan = pytest.mark.skipif(not _has_kan(), reason="qml.kan (QKANLayer, HQKAN) is not available yet")


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- classical LSTM ---------------------------------------------------------------------------


def test_lstm_cell_equals_torch_lstm_cell_with_copied_weights_over_several_steps():
    ours = LSTMCell(3, 5, generator=seeded(1), dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        theirs = nn.LSTMCell(3, 5, dtype=torch.float64)
    theirs.load_state_dict(ours.state_dict())  # same names and layout (i, f, g, o blocks)
    x = torch.randn(6, 4, 3, generator=seeded(2), dtype=torch.float64)
    state, reference = None, None
    for t in range(4):
        h, state = ours(x[:, t], state)
        reference = theirs(x[:, t], reference)
        torch.testing.assert_close(h, reference[0], rtol=0, atol=1e-14)
        torch.testing.assert_close(state[0], reference[0], rtol=0, atol=1e-14)
        torch.testing.assert_close(state[1], reference[1], rtol=0, atol=1e-14)


def test_lstm_cell_initialisation_is_pytorchs_uniform_range_from_the_generator():
    cell = LSTMCell(2, 16, generator=seeded(3))
    bound = 1 / math.sqrt(16)
    for weight in cell.parameters():
        assert float(weight.detach().abs().max()) <= bound
    assert float(cell.weight_hh.detach().std()) == pytest.approx(bound / math.sqrt(3), rel=0.15)
    assert sum(p.numel() for p in cell.parameters()) == 4 * 16 * (2 + 16 + 2)  # as nn.LSTMCell(2, 16)
    again = LSTMCell(2, 16, generator=seeded(3))
    assert all(torch.equal(a, b) for a, b in zip(cell.parameters(), again.parameters(), strict=True))


# --- QLSTM ---------------------------------------------------------------------------------------


def test_qlstm_cell_follows_chens_equations_with_its_own_vqcs():
    cell = QLSTMCell(1, 3, generator=seeded(4), backend=TorchBackend(dtype=torch.complex128), dtype=torch.float64)
    generator = seeded(5)
    with torch.no_grad():  # larger angles than the 0.01 init, so every VQC matters (and each one differs)
        for p in cell.parameters():
            p.normal_(0.0, 1.0, generator=generator)
    x = torch.randn(5, 1, generator=seeded(6), dtype=torch.float64)
    h0 = torch.randn(5, 3, generator=seeded(7), dtype=torch.float64)
    c0 = torch.randn(5, 4, generator=seeded(8), dtype=torch.float64)
    y, (h, c) = cell(x, (h0, c0))

    v = torch.cat([x, h0], dim=1)
    f, i = torch.sigmoid(cell.forget(v)), torch.sigmoid(cell.input(v))
    candidate, o = torch.tanh(cell.candidate(v)), torch.sigmoid(cell.output(v))
    c_expected = f * c0 + i * candidate
    gated = o * torch.tanh(c_expected)
    torch.testing.assert_close(c, c_expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(h, cell.to_hidden(gated), rtol=0, atol=1e-12)
    torch.testing.assert_close(y, cell.to_output(gated), rtol=0, atol=1e-12)


def test_qlstm_cell_has_the_papers_demo_sizes_by_default():
    cell = QLSTMCell(1, 3, generator=seeded())
    assert (cell.num_qubits, cell.cell_size, cell.output_size, cell.num_layers) == (4, 4, 4, 4)
    blocks = [cell.forget, cell.input, cell.candidate, cell.output, cell.to_hidden, cell.to_output]
    assert all(isinstance(b, VQC) and b.num_qubits == 4 and b.more_entangle for b in blocks)
    assert [(b.num_inputs, b.num_outputs) for b in blocks] == [(4, 4)] * 4 + [(4, 3), (4, 4)]
    assert sum(p.numel() for p in cell.parameters()) == 6 * 4 * 4 * 3
    y, (h, c) = cell(torch.zeros(2, 1))
    assert (y.shape, h.shape, c.shape) == ((2, 4), (2, 3), (2, 4))


def test_qlstm_reservoir_freezes_every_vqc():
    cell = QLSTMCell(1, 3, num_layers=1, reservoir=True, generator=seeded())
    assert not any(p.requires_grad for p in cell.parameters())


def test_qlstm_sizes_are_checked():
    with pytest.raises(ValueError, match=r"input_size \+ hidden_size = 5 needs num_qubits >= 5, got num_qubits=4"):
        QLSTMCell(2, 3, num_qubits=4, generator=seeded())
    with pytest.raises(ValueError, match=r"needs cell_size <= num_qubits .* got 5 > 4"):
        QLSTMCell(1, 3, cell_size=5, generator=seeded())


# --- QKAN-LSTM and HQKAN-LSTM --------------------------------------------------------------------


@requires_kan
def test_qkan_lstm_cell_gates_are_qkan_layers_through_sigma_and_tanh():
    from qml.kan import QKANLayer

    cell = QKANLSTMCell(2, 3, reps=2, generator=seeded(9))
    for gate in (cell.forget, cell.input, cell.candidate, cell.output):
        assert isinstance(gate, QKANLayer)
        assert (gate.in_dim, gate.out_dim, gate.reps) == (5, 3, 2)
    assert not torch.equal(cell.forget.theta, cell.input.theta)  # four independent draws
    x = torch.randn(4, 2, generator=seeded(10))
    h0, c0 = torch.randn(4, 3, generator=seeded(11)), torch.randn(4, 3, generator=seeded(12))
    out, (h, c) = cell(x, (h0, c0))

    v = torch.cat([x, h0], dim=1)
    f, i = torch.sigmoid(cell.forget(v)), torch.sigmoid(cell.input(v))
    candidate, o = torch.tanh(cell.candidate(v)), torch.sigmoid(cell.output(v))
    c_expected = f * c0 + i * candidate
    torch.testing.assert_close(c, c_expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(h, o * torch.tanh(c_expected), rtol=0, atol=1e-6)
    torch.testing.assert_close(out, h, rtol=0, atol=0)


@requires_kan
def test_qkan_lstm_cell_passes_layer_options_on():
    cell = QKANLSTMCell(1, 2, reps=1, generator=seeded(), base_trainable=False)
    assert not cell.output.base_weight.requires_grad
    assert sum(p.numel() for p in cell.parameters() if p.requires_grad) == 4 * (3 * 2) * (2 * 2 + 2)


@requires_kan
def test_hqkan_lstm_cell_wraps_each_gates_qkan_in_an_encoder_and_decoder():
    from qml.kan import HQKAN

    cell = HQKANLSTMCell(1, 8, reps=2, generator=seeded(13))  # d = 9, e = ceil(log2 9) = 4
    for gate in (cell.forget, cell.input, cell.candidate, cell.output):
        assert isinstance(gate, HQKAN)
        assert (gate.encoder.in_features, gate.encoder.out_features) == (9, 4)
        assert (gate.decoder.in_features, gate.decoder.out_features) == (4, 8)
    x = torch.randn(3, 1, generator=seeded(14))
    h0, c0 = torch.randn(3, 8, generator=seeded(15)), torch.randn(3, 8, generator=seeded(16))
    out, (h, c) = cell(x, (h0, c0))
    v = torch.cat([x, h0], dim=1)
    c_expected = torch.sigmoid(cell.forget(v)) * c0 + torch.sigmoid(cell.input(v)) * torch.tanh(cell.candidate(v))
    torch.testing.assert_close(c, c_expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(h, torch.sigmoid(cell.output(v)) * torch.tanh(c_expected), rtol=0, atol=1e-6)
    assert out is h
    wider = HQKANLSTMCell(1, 8, latent=5, latent_out=3, reps=1, generator=seeded())
    assert (wider.forget.encoder.out_features, wider.forget.decoder.in_features) == (5, 3)


# --- the common interface ------------------------------------------------------------------------


def _cells() -> list[tuple[str, object]]:
    cells = [
        ("lstm", lambda: LSTMCell(2, 3, generator=seeded())),
        ("qlstm", lambda: QLSTMCell(2, 3, num_layers=1, generator=seeded())),
    ]
    if _has_kan():
        cells += [
            ("qkan", lambda: QKANLSTMCell(2, 3, reps=1, generator=seeded())),
            ("hqkan", lambda: HQKANLSTMCell(2, 3, reps=1, generator=seeded())),
        ]
    return cells


@pytest.mark.parametrize(("name", "make"), _cells(), ids=[name for name, _ in _cells()])
def test_common_interface_shapes_zero_state_and_errors(name, make):
    cell = make()
    assert isinstance(cell, RecurrentCell)
    x = torch.randn(7, 2, generator=seeded(1))
    out, (h, c) = cell(x)
    assert out.shape == (7, cell.output_size)
    assert (h.shape, c.shape) == ((7, cell.hidden_size), (7, cell.cell_size))
    zero = cell.initial_state(7)
    out_zero, _ = cell(x, zero)
    torch.testing.assert_close(out, out_zero, rtol=0, atol=0)

    expected_shape = rf"\(B, {cell.input_size}\), got \(7, 3\)"
    with pytest.raises(ValueError, match=r"expects x_t of shape \(batch_size, input_size\) = " + expected_shape):
        cell(torch.zeros(7, 3))
    with pytest.raises(ValueError, match=r"expects x_t .* got \(2,\)"):
        cell(torch.zeros(2))
    with pytest.raises(TypeError, match=r"expects a torch.Tensor input x_t, got list"):
        cell([[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"expects state shapes \(h, c\) = \(\(7, 3\), \(7, \d\)\), got \(\(7, 2\), "):
        cell(x, (torch.zeros(7, 2), c))
    with pytest.raises(TypeError, match=r"expects state=\(h, c\), a pair of tensors, or None; got Tensor"):
        cell(x, h)


def test_cells_need_a_generator():
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator .* got NoneType"):
        LSTMCell(1, 2, generator=None)
    with pytest.raises(TypeError, match=r"hidden_size must be an int, got float"):
        LSTMCell(1, 2.0, generator=seeded())
