"""RNN and GRU cells: classical against torch.nn, the VQC cells against their equations, on two backends."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from circuits import TorchBackend
from qml.recurrent import (
    VQC,
    GRUCell,
    QGRUCell,
    QRNNCell,
    RecurrentCell,
    RecurrentLayer,
    RNNCell,
    SequenceRegressor,
    count_trainable,
)

EXACT = TorchBackend(dtype=torch.complex128)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randomise(module: nn.Module, seed: int) -> None:
    """Angles of O(1), so that every VQC matters (the 0.01 initialisation is nearly the identity)."""
    generator = seeded(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.normal_(0.0, 1.0, generator=generator)


@pytest.mark.parametrize(("ours", "theirs"), [(RNNCell, nn.RNNCell), (GRUCell, nn.GRUCell)])
def test_classical_cells_equal_torch_with_copied_weights(ours, theirs):
    cell = ours(3, 5, generator=seeded(1), dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        reference = theirs(3, 5, dtype=torch.float64)
    reference.load_state_dict(cell.state_dict())  # same names and layout
    x = torch.randn(6, 4, 3, generator=seeded(2), dtype=torch.float64)
    state, h_ref = None, None
    for t in range(4):
        h, state = cell(x[:, t], state)
        h_ref = reference(x[:, t], h_ref)
        torch.testing.assert_close(h, h_ref, rtol=0, atol=1e-14)
        assert state[1].shape == (6, 0)
    assert count_trainable(cell) == sum(p.numel() for p in reference.parameters())


def test_recurrent_layer_of_a_gru_cell_is_torch_gru_batch_first():
    cell = GRUCell(2, 4, generator=seeded(3), dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        gru = nn.GRU(2, 4, batch_first=True, dtype=torch.float64)
    gru.load_state_dict({f"{name}_l0": value for name, value in cell.state_dict().items()})
    x = torch.randn(5, 7, 2, generator=seeded(4), dtype=torch.float64)
    outputs, (h, c) = RecurrentLayer(cell)(x)
    expected, h_last = gru(x)
    torch.testing.assert_close(outputs, expected, rtol=0, atol=1e-14)
    torch.testing.assert_close(h, h_last[0], rtol=0, atol=1e-14)
    assert c.shape == (5, 0)


def test_qrnn_cell_is_tanh_of_its_vqc():
    cell = QRNNCell(1, 3, num_layers=2, backend=EXACT, generator=seeded(5), dtype=torch.float64)
    _randomise(cell, 6)
    assert isinstance(cell.vqc, VQC) and (cell.vqc.num_inputs, cell.vqc.num_outputs, cell.num_qubits) == (4, 3, 4)
    x = torch.randn(4, 1, generator=seeded(7), dtype=torch.float64)
    h0 = torch.randn(4, 3, generator=seeded(8), dtype=torch.float64)
    out, (h, c) = cell(x, (h0, torch.zeros(4, 0, dtype=torch.float64)))
    assert c.shape == (4, 0)
    expected = torch.tanh(cell.vqc(torch.cat([x, h0], dim=1)))
    torch.testing.assert_close(h, expected, rtol=0, atol=1e-14)
    torch.testing.assert_close(out, h, rtol=0, atol=0)
    assert count_trainable(cell) == 2 * 4 * 3


def test_qgru_cell_follows_the_gru_equations_with_its_own_vqcs():
    cell = QGRUCell(2, 2, num_layers=1, backend=EXACT, generator=seeded(9), dtype=torch.float64)
    _randomise(cell, 10)
    x = torch.randn(3, 2, generator=seeded(11), dtype=torch.float64)
    h0 = torch.randn(3, 2, generator=seeded(12), dtype=torch.float64)
    _, (h, _) = cell(x, (h0, torch.zeros(3, 0, dtype=torch.float64)))
    v = torch.cat([x, h0], dim=1)
    z, r = torch.sigmoid(cell.update_gate(v)), torch.sigmoid(cell.reset_gate(v))
    candidate = torch.tanh(cell.candidate(torch.cat([x, r * h0], dim=1)))
    torch.testing.assert_close(h, (1 - z) * h0 + z * candidate, rtol=0, atol=1e-14)
    assert not torch.equal(cell.update_gate.weights, cell.reset_gate.weights)  # independent draws
    assert count_trainable(cell) == 3 * 1 * 4 * 3


def test_qgru_on_aer_equals_qgru_on_the_engine():
    aer = pytest.importorskip("circuits.backends.aer").AerBackend()
    exact = QGRUCell(1, 2, num_layers=1, backend=EXACT, generator=seeded(13), dtype=torch.float64)
    on_aer = QGRUCell(1, 2, num_layers=1, backend=aer, generator=seeded(13), dtype=torch.float64)
    _randomise(exact, 14)
    _randomise(on_aer, 14)
    x = torch.randn(2, 3, 1, generator=seeded(15), dtype=torch.float64)
    expected, _ = RecurrentLayer(exact)(x)
    got, _ = RecurrentLayer(on_aer)(x)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("cls", [QRNNCell, QGRUCell])
def test_vqc_cells_train_through_sequence_regressor_and_freeze_as_reservoirs(cls):
    cell = cls(1, 2, num_layers=1, generator=seeded(16))
    assert isinstance(cell, RecurrentCell) and cell.cell_size == 0 and cell.output_size == 2
    model = SequenceRegressor(cell, generator=seeded(17))
    x = torch.rand(4, 3, generator=seeded(18))
    model(x).sum().backward()
    assert all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in cell.parameters())
    frozen = cls(1, 2, num_layers=1, reservoir=True, generator=seeded(16))
    assert not any(p.requires_grad for p in frozen.parameters())
    assert "reservoir=True" in repr(frozen)


def test_initial_state_and_state_checks():
    cell = QRNNCell(2, 3, num_layers=1, generator=seeded())
    h, c = cell.initial_state(5)
    assert h.shape == (5, 3) and c.shape == (5, 0)
    with pytest.raises(ValueError, match=r"state shapes \(h, c\) = \(\(2, 3\), \(2, 0\)\), got \(\(2, 3\), \(2, 3\)\)"):
        cell(torch.zeros(2, 2), (torch.zeros(2, 3), torch.zeros(2, 3)))


def test_sizes_are_checked():
    with pytest.raises(ValueError, match=r"input_size \+ hidden_size = 5 needs num_qubits >= 5, got num_qubits=4"):
        QGRUCell(2, 3, num_qubits=4, generator=seeded())
    with pytest.raises(ValueError, match=r"hidden_size must be at least 1, got 0"):
        RNNCell(2, 0, generator=seeded())
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator"):
        GRUCell(2, 2, generator=None)
    with pytest.raises(TypeError, match=r"RecurrentLayer needs a qml.recurrent.RecurrentCell, got GRUCell"):
        RecurrentLayer(nn.GRUCell(2, 2))
    with pytest.raises(ValueError, match=r"RecurrentLayer expects sequences of shape \(B, T, 2\) .* got \(3, 4\)"):
        RecurrentLayer(GRUCell(2, 2, generator=seeded()))(torch.zeros(3, 4))
