"""SequenceRegressor: the loop, shapes, gradients against finite differences (float64), seeds, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from circuits import TorchBackend
from qml.recurrent import HQKANLSTMCell, LSTMCell, QKANLSTMCell, QLSTMCell, SequenceRegressor, count_trainable


def _has_kan() -> bool:
    try:
        from qml.kan import HQKAN, QKANLayer  # noqa: F401
    except ImportError:
        return False
    return True


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _tiny_cells() -> dict[str, object]:
    """Small float64 instances of every cell (complex128 circuits)."""
    exact = TorchBackend(dtype=torch.complex128)
    cells = {
        "lstm": lambda g: LSTMCell(1, 3, generator=g, dtype=torch.float64),
        "qlstm": lambda g: QLSTMCell(1, 2, num_layers=1, backend=exact, generator=g, dtype=torch.float64),
    }
    if _has_kan():
        cells["qkan"] = lambda g: QKANLSTMCell(1, 2, reps=2, generator=g).double()
        cells["hqkan"] = lambda g: HQKANLSTMCell(1, 2, reps=1, generator=g).double()
    return cells


CELLS = _tiny_cells()


def _model(name: str, seed: int = 0) -> SequenceRegressor:
    generator = seeded(seed)
    return SequenceRegressor(CELLS[name](generator), generator=generator)


def test_regressor_is_the_cell_loop_then_the_head():
    model = SequenceRegressor(LSTMCell(2, 4, generator=seeded(1)), generator=seeded(2))
    x = torch.randn(5, 6, 2, generator=seeded(3))
    state = None
    for t in range(6):
        out, state = model.cell(x[:, t], state)
    torch.testing.assert_close(model(x), model.head(out)[:, 0], rtol=0, atol=0)
    assert model.head.in_features == 4 and model.head.out_features == 1


@pytest.mark.parametrize("name", list(CELLS))
def test_windows_of_shape_b_t_and_b_t_1_give_b_predictions(name):
    model = _model(name)
    x = torch.rand(4, 3, generator=seeded(5), dtype=torch.float64)
    out = model(x)
    assert out.shape == (4,)
    assert out.dtype == torch.float64
    torch.testing.assert_close(model(x.unsqueeze(-1)), out, rtol=0, atol=0)
    torch.testing.assert_close(model(x[1:2])[0], out[1], rtol=0, atol=1e-12)  # rows are independent


@pytest.mark.parametrize("name", list(CELLS))
def test_gradients_reach_every_trainable_parameter_and_match_finite_differences(name):
    model = _model(name, seed=7)
    x = torch.rand(3, 3, generator=seeded(8), dtype=torch.float64) * 2 - 1
    weights = torch.randn(3, generator=seeded(9), dtype=torch.float64)

    def loss() -> torch.Tensor:
        return (model(x) * weights).sum()

    model.zero_grad()
    loss().backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable
    eps = 1e-6
    for param_name, param in trainable:
        assert param.grad is not None, param_name
        assert float(param.grad.abs().max()) > 0, f"no gradient reaches {param_name}"
        numeric = torch.empty_like(param)
        flat, out = param.data.view(-1), numeric.view(-1)
        with torch.no_grad():
            for k in range(flat.numel()):
                saved = float(flat[k])
                flat[k] = saved + eps
                plus = float(loss())
                flat[k] = saved - eps
                minus = float(loss())
                flat[k] = saved
                out[k] = (plus - minus) / (2 * eps)
        torch.testing.assert_close(param.grad, numeric, rtol=1e-5, atol=1e-7, msg=lambda m, n=param_name: f"{n}: {m}")


@pytest.mark.parametrize("name", list(CELLS))
def test_same_seed_same_model_other_seed_other_model_and_the_global_rng_is_untouched(name):
    state = torch.get_rng_state()
    a, b, c = _model(name, seed=3), _model(name, seed=3), _model(name, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    for (key, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(pa, pb), key
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True))
    x = torch.rand(2, 4, generator=seeded(), dtype=torch.float64)
    assert torch.equal(a(x), b(x))


def test_count_trainable_counts_each_trainable_scalar_once():
    cell = LSTMCell(1, 3, generator=seeded())
    model = SequenceRegressor(cell, generator=seeded())
    assert count_trainable(model) == 4 * 3 * (1 + 3 + 2) + 3 + 1
    model.head.bias.requires_grad_(False)
    assert count_trainable(model) == 4 * 3 * (1 + 3 + 2) + 3
    shared = nn.Sequential(model.head, model.head)
    assert count_trainable(shared) == 3
    reservoir = SequenceRegressor(QLSTMCell(1, 3, num_layers=1, reservoir=True, generator=seeded()), generator=seeded())
    assert count_trainable(reservoir) == 4 + 1  # only Chen's final Linear(4 -> 1) trains
    with pytest.raises(TypeError, match=r"count_trainable needs a torch.nn.Module, got list"):
        count_trainable([])


def test_bad_windows_are_refused_with_the_expected_shape():
    model = SequenceRegressor(LSTMCell(1, 2, generator=seeded()), generator=seeded())
    with pytest.raises(
        ValueError, match=r"windows of shape \(B, T\) or \(B, T, 1\) with T >= 1 .* input_size=1, got \(4, 3, 2\)"
    ):
        model(torch.zeros(4, 3, 2))
    with pytest.raises(ValueError, match=r"got \(4,\)"):
        model(torch.zeros(4))
    with pytest.raises(ValueError, match=r"got \(4, 0\)"):
        model(torch.zeros(4, 0))
    with pytest.raises(TypeError, match=r"SequenceRegressor expects a torch.Tensor, got list"):
        model([[0.0]])
    wide = SequenceRegressor(LSTMCell(2, 2, generator=seeded()), generator=seeded())
    with pytest.raises(
        ValueError, match=r"windows of shape \(B, T, 2\) with T >= 1 for a cell with input_size=2, got \(4, 3\)"
    ):
        wide(torch.zeros(4, 3))
    with pytest.raises(TypeError, match=r"needs a qml.recurrent.RecurrentCell .* got LSTMCell"):
        SequenceRegressor(nn.LSTMCell(1, 2), generator=seeded())
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator"):
        SequenceRegressor(LSTMCell(1, 2, generator=seeded()), generator=None)
