"""PackedQRNN: the QRNN behind one input tensor, for the fit loop; its loss and metrics against direct computation."""

from __future__ import annotations

import pytest
import torch

from qml.recurrent import (
    PackedQRNN,
    QuantumNeuronRNN,
    expected_accuracy,
    min_postselection,
    pack_sequences,
    packed_qrnn_loss,
    qrnn_loss,
    scored_accuracy,
    scored_predictions,
)


def _data(batch=5, steps=6, lanes=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 2, (batch, steps, lanes), generator=g).float()
    targets = torch.randint(0, 2**lanes, (batch, steps), generator=g)
    scored = torch.rand(batch, steps, generator=g) < 0.4
    scored[:, -1] = True
    return inputs, targets, scored


def _network(seed=0) -> QuantumNeuronRNN:
    return QuantumNeuronRNN(
        2, 3, stages=1, order=2, degree=2, generator=torch.Generator().manual_seed(seed), weight_std=0.7, bias_std=0.7
    )


def test_pack_sequences_layout_and_loss_targets():
    inputs, targets, scored = _data()
    packed, loss_targets = pack_sequences(inputs, targets, scored)
    assert packed.shape == (5, 6, 4) and packed.dtype == torch.float32
    torch.testing.assert_close(packed[..., :2], inputs)
    torch.testing.assert_close(packed[..., 2].long(), targets)
    torch.testing.assert_close(packed[..., 3] > 0.5, scored)
    assert loss_targets.dtype == torch.int64
    torch.testing.assert_close(loss_targets[scored], targets[scored])
    assert bool((loss_targets[~scored] == -1).all())


def test_training_mode_is_teacher_forcing_of_the_network():
    inputs, targets, scored = _data()
    network = _network()
    model = PackedQRNN(network)
    packed, loss_targets = pack_sequences(inputs, targets, scored)
    out = model(packed)
    direct = network(inputs, targets, scored)
    assert out.shape == (5, 6, 4 + 2)
    torch.testing.assert_close(out[..., :4], direct.probabilities)
    torch.testing.assert_close(out[..., 4].long(), targets)  # every step projected on its target
    torch.testing.assert_close(out[..., 5], direct.postselection)
    loss = packed_qrnn_loss(out, loss_targets)
    torch.testing.assert_close(loss, qrnn_loss(direct.probabilities, targets, scored))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_evaluation_samples_the_scored_steps_repeatably():
    inputs, targets, scored = _data(batch=64, seed=1)
    network = _network(seed=2)
    model = PackedQRNN(network, sample_seed=7).eval()
    packed, loss_targets = pack_sequences(inputs, targets, scored)
    with torch.no_grad():
        first, again = model(packed), model(packed)
        direct = network.eval()(inputs, targets, scored, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(first, again)  # a fresh generator per call
    torch.testing.assert_close(first[..., 4].long(), direct.outcomes)
    torch.testing.assert_close(first[..., 4].long()[~scored], targets[~scored])  # unscored: postselected
    sampled = first[..., 4].long()[scored]
    assert not torch.equal(sampled, targets[scored])  # scored steps are draws, not the targets
    # metrics against their definitions
    p = first[..., :4]
    chosen = p.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    assert scored_accuracy(first, loss_targets) == pytest.approx(float((sampled == targets[scored]).float().mean()))
    assert expected_accuracy(first, loss_targets) == pytest.approx(float(chosen[scored].mean()), rel=1e-6)
    assert min_postselection(first, loss_targets) == pytest.approx(float(chosen[~scored].min()), rel=1e-6)
    labels, predicted = scored_predictions(first, loss_targets)
    torch.testing.assert_close(labels, targets[scored])
    torch.testing.assert_close(predicted, sampled)


def test_sampled_accuracy_tracks_the_expected_accuracy():
    inputs, targets, scored = _data(batch=400, steps=3, seed=3)
    model = PackedQRNN(_network(seed=4)).eval()
    packed, loss_targets = pack_sequences(inputs, targets, scored)
    with torch.no_grad():
        out = model(packed)
    n = int(scored.sum())
    expected = expected_accuracy(out, loss_targets)
    # the sampled accuracy is a mean of n Bernoulli draws with these success probabilities
    assert abs(scored_accuracy(out, loss_targets) - expected) < 4 * (0.25 / n) ** 0.5


def test_bad_input_is_named():
    inputs, targets, scored = _data()
    with pytest.raises(TypeError, match=r"pack_sequences expects targets as a torch\.Tensor, got list"):
        pack_sequences(inputs, targets.tolist(), scored)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"inputs \(B, T, I\), targets \(B, T\) and scored \(B, T\), got \(5, 6, 2\)"):
        pack_sequences(inputs, targets[:, :-1], scored)
    with pytest.raises(TypeError, match=r"targets must be integer class labels, got dtype torch\.float32"):
        pack_sequences(inputs, targets.float(), scored)
    with pytest.raises(ValueError, match=r"scored must be a bool tensor, got dtype torch\.int64"):
        pack_sequences(inputs, targets, scored.long())
    model = PackedQRNN(_network())
    with pytest.raises(ValueError, match=r"packed sequences \(B, T, lanes \+ 2\) = \(B, T, 4\) .* got \(5, 6, 2\)"):
        model(inputs)
    with pytest.raises(TypeError, match=r"PackedQRNN wraps a qml\.recurrent\.QuantumNeuronRNN, got Linear"):
        PackedQRNN(torch.nn.Linear(2, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"expected PackedQRNN outputs \(B, T, C \+ 2\) and loss targets \(B, T\)"):
        packed_qrnn_loss(torch.zeros(5, 6, 6), torch.zeros(5, 5, dtype=torch.long))
    packed, _ = pack_sequences(inputs, targets, scored)
    with pytest.raises(ValueError, match="QuantumNeuronRNN writes its inputs as basis states, so they must be bits"):
        model(torch.cat([packed[..., :1] * 3, packed[..., 1:]], dim=-1))
