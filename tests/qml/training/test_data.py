"""The one hold-out split (qml.training.data): strategies, sizes, the generator it draws from, errors."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from qml.training import holdout, holdout_indices, validation_split


def _rows(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.arange(n * 2, dtype=torch.float32).reshape(n, 2)
    return x, torch.arange(n)


@pytest.mark.parametrize(("n", "held"), [(10, 2), (1000, 200), (1347, 269), (168, 34), (48, 10)])
def test_sizes_are_the_rounded_fraction(n, held):
    for strategy in ("random", "tail", "head"):
        train, val = holdout_indices(n, 0.2, strategy, generator=torch.Generator().manual_seed(0))
        assert (len(train), len(val)) == (n - held, held)
        assert sorted(torch.cat([train, val]).tolist()) == list(range(n))


def test_head_and_tail_keep_the_row_order():
    x, y = _rows(10)
    (x_train, y_train), (x_val, y_val) = holdout(x, y, 0.2, "tail")
    assert y_train.tolist() == list(range(8)) and y_val.tolist() == [8, 9]
    torch.testing.assert_close(x_val, x[8:], rtol=0, atol=0)
    (x_train, y_train), (x_val, y_val) = holdout(x, y, 0.3, "head")
    assert y_val.tolist() == [0, 1, 2] and y_train.tolist() == list(range(3, 10))
    torch.testing.assert_close(x_train, x[3:], rtol=0, atol=0)


def test_random_holds_out_the_tail_of_a_permutation_drawn_from_the_generator():
    x, y = _rows(50)
    generator = torch.Generator().manual_seed(7)
    (_, y_train), (_, y_val) = holdout(x, y, 0.2, "random", generator=generator)
    order = torch.randperm(50, generator=torch.Generator().manual_seed(7))
    assert y_train.tolist() == order[:40].tolist() and y_val.tolist() == order[40:].tolist()
    # the draw advanced the caller's generator exactly as one randperm does: weights drawn next are the same
    reference = torch.Generator().manual_seed(7)
    torch.randperm(50, generator=reference)
    assert torch.equal(torch.rand(3, generator=generator), torch.rand(3, generator=reference))


def test_validation_split_is_the_same_split_of_a_dataset():
    x, y = _rows(30)
    train, val = validation_split(TensorDataset(x, y), 0.2, seed=4)
    (_, y_train), (_, y_val) = holdout(x, y, 0.2, "random", generator=torch.Generator().manual_seed(4))
    assert [int(val[i][1]) for i in range(len(val))] == y_val.tolist()
    assert [int(train[i][1]) for i in range(len(train))] == y_train.tolist()
    _, val_tail = validation_split((x, y), 0.2, seed=4, shuffle=False)
    assert val_tail.indices == list(range(24, 30))


def test_bad_splits_say_what_is_wrong():
    x, y = _rows(10)
    with pytest.raises(ValueError, match=r"strategy must be one of random, tail, head, got 'middle'"):
        holdout(x, y, 0.2, "middle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"fraction must lie in \(0, 1\), got 1.5"):
        holdout(x, y, 1.5, "tail")
    with pytest.raises(ValueError, match=r"holding out 0\.01 of 10 samples leaves an empty part"):
        holdout(x, y, 0.01, "head")
    with pytest.raises(TypeError, match=r"random hold-out split needs a torch.Generator .*got NoneType"):
        holdout(x, y, 0.2, "random")
    with pytest.raises(ValueError, match="same number of rows, got 10 and 9"):
        holdout(x, y[:9], 0.2, "tail")
