"""Tests of qml.data.sequences: Elman's XOR and letter streams."""

from __future__ import annotations

import re

import pytest
import torch

from qml.data import elman_letters, elman_xor
from qml.data.sequences import LETTER_CODES, letters_from_codes


def test_xor_structure():
    batch = elman_xor(16, length=36, generator=0)
    bits = batch.symbols
    assert bits.shape == (16, 36) and bits.dtype == torch.int64
    assert set(bits.unique().tolist()) <= {0, 1}
    a, b, c = bits[:, 0::3], bits[:, 1::3], bits[:, 2::3]
    assert torch.equal(c, a ^ b)  # every triple is a b (a xor b)
    assert batch.inputs.shape == (16, 35, 1) and batch.inputs.dtype == torch.float32
    assert torch.equal(batch.inputs[..., 0], bits[:, :-1].float())
    assert torch.equal(batch.targets, bits[:, 1:])
    assert batch.info["num_classes"] == 2 and batch.info["input_width"] == 1


def test_xor_mask_scores_every_third_bit():
    batch = elman_xor(4, length=10, generator=1)
    # step t predicts symbol t + 1; symbols 2, 5, 8 are the xor bits
    expected = torch.tensor([False, True, False, False, True, False, False, True, False])
    assert torch.equal(batch.mask, expected.expand(4, -1))
    # at the scored steps the target is the xor of the current and the previous input
    steps = expected.nonzero().flatten()
    current, previous = batch.inputs[:, steps, 0].long(), batch.inputs[:, steps - 1, 0].long()
    assert torch.equal(batch.targets[:, steps], current ^ previous)


def test_xor_length_not_a_multiple_of_three():
    batch = elman_xor(2, length=7, generator=2)
    assert batch.symbols.shape == (2, 7) and batch.mask.shape == (2, 6)


def test_letters_follow_elman_words():
    batch = elman_letters(32, length=36, generator=0)
    assert batch.inputs.shape == (32, 35, 3) and batch.targets.shape == (32, 35)
    for row in batch.symbols:
        text = letters_from_codes(row)
        assert len(text) == 36
        # whole words ba / dii / guuu, then possibly a cut word at the end
        assert re.fullmatch(r"(ba|dii|guuu)*(b|d|di|g|gu|guu)?", text), text


def test_letters_codes_inputs_and_mask():
    batch = elman_letters(8, length=20, generator=3)
    letters = [letters_from_codes(row) for row in batch.symbols]
    for i, text in enumerate(letters):
        bits = torch.tensor([LETTER_CODES[c] for c in text], dtype=torch.float32)
        assert torch.equal(batch.inputs[i], bits[:-1])
        labels = torch.tensor([4 * b0 + 2 * b1 + b2 for b0, b1, b2 in (LETTER_CODES[c] for c in text)])
        assert torch.equal(batch.targets[i], labels[1:])
        vowels = torch.tensor([c in "aiu" for c in text[1:]])
        assert torch.equal(batch.mask[i], vowels)
    assert set(batch.symbols.unique().tolist()) <= {0, 1, 2, 4, 5, 6}
    assert batch.info["num_classes"] == 8 and batch.info["input_width"] == 3


def test_letters_code_table():
    table = {letter: 4 * b[0] + 2 * b[1] + b[2] for letter, b in LETTER_CODES.items()}
    assert table == {"a": 0, "i": 1, "u": 2, "b": 4, "d": 5, "g": 6}
    assert letters_from_codes([4, 0, 5, 1, 1, 7]) == "badii?"


@pytest.mark.parametrize("make", [elman_xor, elman_letters])
def test_determinism_and_no_global_rng(make):
    state = torch.get_rng_state()
    a = make(5, generator=123)
    b = make(5, generator=torch.Generator().manual_seed(123))
    c = make(5, generator=124)
    assert torch.equal(torch.get_rng_state(), state)  # seeded calls leave torch's global generator alone
    assert torch.equal(a.symbols, b.symbols)
    assert not torch.equal(a.symbols, c.symbols)


@pytest.mark.parametrize("make", [elman_xor, elman_letters])
def test_errors(make):
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator, an int seed or None, got str"):
        make(2, generator="seed")
    with pytest.raises(ValueError, match="num_sentences must be at least 1, got 0"):
        make(0)
    with pytest.raises(ValueError, match=r"length must be at least 2 \(one input and one target\), got 1"):
        make(2, length=1)
    with pytest.raises(TypeError, match="length must be an int, got float"):
        make(2, length=36.0)
