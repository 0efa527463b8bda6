"""Elman's next-symbol prediction tasks and pixel-stream images, as Bausch's QRNN code (RVQE) poses them.

Elman, "Finding Structure in Time" (Cognitive Science 14, 1990), sections "Exclusive-OR" and
"Structure in letter sequences"; used as QRNN benchmarks in Bausch, "Recurrent Quantum Neural
Networks" (NeurIPS 2020, arXiv 2006.14619), code ``CLEconomides/RVQE`` ``RVQE/datasets/elman.py``
(``docs/papers.md`` section 1, sentence length 36).

Both tasks are streams of symbols in which only some positions are predictable. A sentence of
``length`` symbols is fed one symbol per step; at step ``t`` the model sees symbol ``t`` and
predicts symbol ``t + 1``. So a :class:`SequenceBatch` holds ``length - 1`` steps: ``inputs`` are
symbols ``0 .. length - 2`` as bits, ``targets`` the class labels of symbols ``1 .. length - 1``,
and ``mask`` says which targets are predictable and scored (RVQE's ``filter``). A class label is
the symbol's bit code read as a big-endian integer (first bit most significant), which is the
index of the matching basis state in ``Probabilities`` over the input/output qubits (qubit 0 most
significant).

Randomness comes from a ``torch.Generator`` or an int seed; these functions never touch the
global generators. RVQE draws fresh sentences every training step; draw a test set with a
different seed than the training batches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from qml.data.base import ReadOnlyDict

__all__ = ["LETTER_CODES", "SequenceBatch", "elman_letters", "elman_xor", "letters_from_codes", "pixel_scan_sequences"]

#: Elman letters: the 3-bit code of each letter (RVQE's 3-bit ``BITWORD_LUT``). Consonants have a
#: leading 1 (``b`` = 100, ``d`` = 101, ``g`` = 110), vowels a leading 0 (``a`` = 000, ``i`` = 001,
#: ``u`` = 010). As class labels: a 0, i 1, u 2, b 4, d 5, g 6.
LETTER_CODES: Mapping[str, tuple[int, int, int]] = ReadOnlyDict(
    {"b": (1, 0, 0), "d": (1, 0, 1), "g": (1, 1, 0), "a": (0, 0, 0), "i": (0, 0, 1), "u": (0, 1, 0)}
)

#: Elman letters: each consonant expands to a syllable.
_WORDS = {"b": "ba", "d": "dii", "g": "guuu"}
_CONSONANTS = ("b", "d", "g")

_ELMAN = "Elman 1990 'Finding Structure in Time'; Bausch, QRNN (arXiv 2006.14619), RVQE datasets/elman.py"


@dataclass(frozen=True)
class SequenceBatch:
    """A batch of sentences posed as next-symbol prediction.

    Attributes:
        name: ``"elman_xor"`` or ``"elman_letters"``.
        inputs: the bits of symbols ``0 .. L - 2`` of each sentence, ``float32`` zeros and ones.
        targets: the class labels of symbols ``1 .. L - 1`` (the next symbol at each step), ``int64``.
        mask: ``True`` where the target is predictable and scored, ``bool``.
        symbols: the class labels of the whole sentences, symbols ``0 .. L - 1``, ``int64``.
        info: read-only metadata: ``task``, ``source``, ``num_classes``, ``input_width``,
            ``length``, and for the letters ``code_table``.

    Shape:
        - ``inputs``: ``(num_sentences, L - 1, input_width)``.
        - ``targets``, ``mask``: ``(num_sentences, L - 1)``.
        - ``symbols``: ``(num_sentences, L)``.
    """

    name: str
    inputs: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    symbols: torch.Tensor
    info: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "info", ReadOnlyDict(self.info))

    def __repr__(self) -> str:
        return (
            f"SequenceBatch(name={self.name!r}, inputs={tuple(self.inputs.shape)}, "
            f"targets={tuple(self.targets.shape)}, scored={int(self.mask.sum())})"
        )


def elman_xor(num_sentences: int, length: int = 36, generator: torch.Generator | int | None = None) -> SequenceBatch:
    """Elman's XOR stream: random bit triples ``a b (a XOR b)`` fed one bit per step.

    Each sentence concatenates ``ceil(length / 3)`` triples with independent uniform ``a, b`` and
    is cut to ``length`` bits. Only the third bit of a triple can be predicted, so the mask is
    ``True`` at the steps whose target is at position ``p`` with ``p % 3 == 2`` (every third step,
    starting at step 1). RVQE feeds a second input lane whose target marks unpredictable steps;
    here the mask does that job and the input is the single bit.

    Args:
        num_sentences: number of sentences (the batch size).
        length: bits per sentence (36 in RVQE's experiments).
        generator: a ``torch.Generator``, an int seed, or ``None`` for torch's default generator.

    Returns:
        A :class:`SequenceBatch` with ``num_classes = 2`` and ``input_width = 1``.

    Shape:
        - ``inputs``: ``(num_sentences, length - 1, 1)``; ``targets``, ``mask``: ``(num_sentences, length - 1)``.

    Raises:
        TypeError: ``generator`` is of the wrong type, or a count is not an int.
        ValueError: ``num_sentences < 1`` or ``length < 2``.
    """
    num_sentences, length = _check_sizes(num_sentences, length)
    gen = _as_generator(generator)
    pairs = torch.randint(0, 2, (num_sentences, math.ceil(length / 3), 2), generator=gen)
    triples = torch.cat([pairs, (pairs[..., :1] ^ pairs[..., 1:])], dim=-1)
    bits = triples.reshape(num_sentences, -1)[:, :length]
    positions = torch.arange(1, length)
    mask = (positions % 3 == 2).expand(num_sentences, -1).clone()
    info = {"task": "classification", "source": _ELMAN, "num_classes": 2, "input_width": 1, "length": length}
    return SequenceBatch("elman_xor", bits[:, :-1, None].float(), bits[:, 1:].clone(), mask, bits, info)


def elman_letters(
    num_sentences: int, length: int = 36, generator: torch.Generator | int | None = None
) -> SequenceBatch:
    """Elman's letter stream: random consonants ``b, d, g`` expanded to ``ba``, ``dii``, ``guuu``.

    Each sentence draws ``length`` uniform consonants, replaces each by its syllable, and cuts the
    letters to ``length``. Letters are 3-bit codes (:data:`LETTER_CODES`); a class label is the
    code as a big-endian integer. Which consonant comes next is random, but the vowels that follow
    a consonant are determined by it, so the mask is ``True`` at the steps whose target is a vowel
    (RVQE scores the vowels).

    Args:
        num_sentences: number of sentences (the batch size).
        length: letters per sentence (36 in RVQE's experiments).
        generator: a ``torch.Generator``, an int seed, or ``None`` for torch's default generator.

    Returns:
        A :class:`SequenceBatch` with ``num_classes = 8`` (all 3-bit codes; 0, 1, 2, 4, 5, 6 occur),
        ``input_width = 3`` and ``info["code_table"]`` = :data:`LETTER_CODES`.

    Shape:
        - ``inputs``: ``(num_sentences, length - 1, 3)``; ``targets``, ``mask``: ``(num_sentences, length - 1)``.

    Raises:
        TypeError: ``generator`` is of the wrong type, or a count is not an int.
        ValueError: ``num_sentences < 1`` or ``length < 2``.
    """
    num_sentences, length = _check_sizes(num_sentences, length)
    gen = _as_generator(generator)
    draws = torch.randint(0, 3, (num_sentences, length), generator=gen).tolist()
    sentences = ["".join(_WORDS[_CONSONANTS[i]] for i in row)[:length] for row in draws]
    bit_codes = torch.tensor([[LETTER_CODES[c] for c in s] for s in sentences], dtype=torch.int64)
    symbols = bit_codes[..., 0] * 4 + bit_codes[..., 1] * 2 + bit_codes[..., 2]
    info = {
        "task": "classification",
        "source": _ELMAN,
        "num_classes": 8,
        "input_width": 3,
        "length": length,
        "code_table": LETTER_CODES,
    }
    targets = symbols[:, 1:].clone()
    return SequenceBatch("elman_letters", bit_codes[:, :-1].float(), targets, targets < 4, symbols, info)


def letters_from_codes(codes: torch.Tensor | Sequence[int]) -> str:
    """Spell Elman-letter class labels back as letters (``0 -> "a"``, ``4 -> "b"``, ...); unknown codes give ``"?"``.

    Args:
        codes: class labels of one sentence.

    Returns:
        The letters as a string.

    Shape:
        - Input: ``(L,)``.
    """
    by_label = {bits[0] * 4 + bits[1] * 2 + bits[2]: letter for letter, bits in LETTER_CODES.items()}
    values = codes.tolist() if isinstance(codes, torch.Tensor) else list(codes)
    return "".join(by_label.get(int(c), "?") for c in values)


def pixel_scan_sequences(images: torch.Tensor, labels: torch.Tensor) -> SequenceBatch:
    """Binary images as two-lane pixel streams with the label at the last step, as Bausch's QRNN reads MNIST.

    RVQE's MNIST task (``RVQE/datasets/mnist.py``, ``docs/papers.md`` §1): a ``H x W`` binary image
    is fed one pixel per step on each of two lanes: lane 0 scans the image row by row, lane 1
    column by column (RVQE's scanlines 0 and 1). Of the ``H * W`` pixel steps the network sees the
    first ``H * W - 1`` (its output at step ``t`` is read as a prediction of position ``t + 1``), and
    only the last output is scored: there the target is the class label (``0 .. 3``, RVQE's
    ``int_to_bitword(label)`` padded to the two lanes). At every other step the target is class 0
    (both lanes ``|0>``), which is what RVQE postselects on there (in training and at evaluation).

    Args:
        images: binary images (0 or 1), e.g. ``binarize(resize(mnist.x_train, 10))``.
        labels: class labels ``0 .. 3``, one per image.

    Returns:
        A :class:`SequenceBatch` named ``"pixel_scan"`` with ``num_classes = 4`` and ``input_width = 2``.
        Unlike the Elman tasks, the targets are not the next symbol: ``symbols`` holds the pixel
        words of all ``H * W`` positions as class labels (``2 * row_scan + column_scan``), and
        ``info["label_step"]`` is the index of the scored step (``H * W - 2``).

    Shape:
        - ``images``: ``(N, H, W)``; ``labels``: ``(N,)``.
        - ``inputs``: ``(N, H * W - 1, 2)``; ``targets``, ``mask``: ``(N, H * W - 1)``; ``symbols``: ``(N, H * W)``.

    Raises:
        TypeError: ``images`` or ``labels`` is not a tensor, or ``labels`` is not integer.
        ValueError: images that are not ``(N, H, W)`` bits with ``H * W >= 2``, or labels of another length
            or outside ``0 .. 3``.
    """
    if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError(
            f"pixel_scan_sequences expects images and labels as torch.Tensors, got {type(images).__name__} and "
            f"{type(labels).__name__}."
        )
    if images.ndim != 3 or images.shape[1] * images.shape[2] < 2:
        raise ValueError(
            f"pixel_scan_sequences expects images of shape (N, H, W) with H * W >= 2, got {tuple(images.shape)}."
        )
    if not bool(((images == 0) | (images == 1)).all()):
        raise ValueError("pixel_scan_sequences needs binary images (0 or 1); binarize them first (qml.data.binarize).")
    if labels.is_floating_point() or labels.is_complex() or labels.shape != (images.shape[0],):
        raise ValueError(
            f"pixel_scan_sequences expects integer labels of shape ({images.shape[0]},), got {labels.dtype} "
            f"{tuple(labels.shape)}."
        )
    if bool(((labels < 0) | (labels > 3)).any()):
        raise ValueError(f"two lanes hold the classes 0..3, got labels {torch.unique(labels)[:6].tolist()}.")
    n, h, w = images.shape
    bits = images.long()
    scans = torch.stack([bits.reshape(n, h * w), bits.transpose(1, 2).reshape(n, h * w)], dim=2)
    targets = torch.zeros(n, h * w - 1, dtype=torch.int64)
    targets[:, -1] = labels
    mask = torch.zeros(n, h * w - 1, dtype=torch.bool)
    mask[:, -1] = True
    info = {
        "task": "classification",
        "source": "Bausch, QRNN (arXiv 2006.14619), RVQE datasets/mnist.py: row and column scanlines",
        "num_classes": 4,
        "input_width": 2,
        "length": h * w,
        "label_step": h * w - 2,
    }
    symbols = scans[..., 0] * 2 + scans[..., 1]
    return SequenceBatch("pixel_scan", scans[:, :-1].float(), targets, mask, symbols, info)


def _as_generator(generator: torch.Generator | int | None) -> torch.Generator | None:
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, int) and not isinstance(generator, bool):
        return torch.Generator().manual_seed(generator)
    raise TypeError(
        f"generator must be a torch.Generator, an int seed or None, got {type(generator).__name__}; "
        "pass e.g. torch.Generator().manual_seed(0) or 0"
    )


def _check_sizes(num_sentences: int, length: int) -> tuple[int, int]:
    for name, value in (("num_sentences", num_sentences), ("length", length)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if num_sentences < 1:
        raise ValueError(f"num_sentences must be at least 1, got {num_sentences}")
    if length < 2:
        raise ValueError(f"length must be at least 2 (one input and one target), got {length}")
    return num_sentences, length
