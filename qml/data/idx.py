"""A reader for the IDX files of MNIST and Fashion-MNIST, from a directory the user provides.

Nothing is downloaded: the four standard files (gzipped or not) must already be in the directory
(``docs/datasets.md`` says where to get them). The Hamiltonian-embedding paper (arXiv 2407.14055)
trains on full MNIST and Fashion-MNIST (classes 0-7, images padded to 32x32); with the files at
hand, ``load_idx_dataset`` gives those sets and :mod:`qml.data.images` the transforms.

The IDX format (LeCun's MNIST page): a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``,
then ``ndim`` big-endian unsigned 32-bit dimension sizes, then the data in row-major order,
big-endian. dtype codes: ``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32,
``0x0D`` float32, ``0x0E`` float64.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import types
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from qml.data.base import Split

__all__ = ["IDX_FILES", "OFFICIAL_MD5", "load_idx_dataset", "read_idx"]

#: The four files of an MNIST-format dataset, without the ``.gz`` suffix: train images, train
#: labels, test images, test labels.
IDX_FILES: tuple[str, str, str, str] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: MD5 digests of the official gzipped files, as torchvision lists them
#: (``torchvision/datasets/mnist.py``, ``MNIST.resources`` and ``FashionMNIST.resources``).
OFFICIAL_MD5: Mapping[str, Mapping[str, str]] = types.MappingProxyType(
    {
        "mnist": types.MappingProxyType(
            {
                "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
            }
        ),
        "fashion-mnist": types.MappingProxyType(
            {
                "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
            }
        ),
    }
)

_CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}

_WHERE = {
    "mnist": "MNIST: http://yann.lecun.com/exdb/mnist/ or torchvision's mirror https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "Fashion-MNIST: https://github.com/zalandoresearch/fashion-mnist (folder data/fashion)",
}

# IDX dtype code -> big-endian numpy dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file, gzipped or not (detected from the content, not the name).

    The format is parsed by hand with numpy: it is a 4-byte magic number, the dimensions and raw
    big-endian data, about thirty lines of code, not worth a library dependency.

    Args:
        path: the file.

    Returns:
        The array in native byte order, with the dtype the file declares (``uint8`` for MNIST).

    Shape:
        - Output: the dimensions in the header, e.g. ``(60000, 28, 28)`` for MNIST training images.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a malformed file: bad magic number, unknown dtype code, truncated header or
            data, trailing bytes, or a corrupt gzip stream. The message names the file.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as error:
            raise ValueError(f"{path}: corrupt or truncated gzip stream ({error}); download the file again") from error
    return _parse_idx(raw, str(path))


def _parse_idx(raw: bytes, name: str) -> np.ndarray:
    if len(raw) < 4:
        raise ValueError(f"{name}: truncated IDX file, {len(raw)} bytes, shorter than the 4-byte magic number")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{name}: bad IDX magic number {raw[:4].hex()}; expected 0000 followed by a dtype code and the "
            "number of dimensions (is this an IDX file?)"
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"{name}: unknown IDX dtype code 0x{code:02X}; expected one of {known}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{name}: truncated IDX header: {ndim} dimensions need {header} bytes, the file has {len(raw)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        problem = "truncated IDX data" if actual < expected else "trailing bytes after the IDX data"
        raise ValueError(f"{name}: {problem}: shape {shape} of {dtype.name} needs {expected} bytes, found {actual}")
    data = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def load_idx_dataset(
    directory: str | os.PathLike[str], kind: str = "mnist", checksums: Mapping[str, str] | None = None
) -> Split:
    """Load MNIST or Fashion-MNIST from the four IDX files in ``directory``, with its official split.

    For each of :data:`IDX_FILES` the gzipped file (``name.gz``) is used when present, else the
    uncompressed one. Checksums are MD5 hex digests keyed by file name as found on disk; every
    found file that has an entry is verified. ``None`` (default) uses :data:`OFFICIAL_MD5` for
    ``kind`` (keyed by the ``.gz`` names, so uncompressed files go unverified); a mapping given
    here replaces it (``{}`` verifies nothing). ``info["verified"]`` lists the files checked.

    Args:
        directory: the folder with the files, e.g. torchvision's ``root/MNIST/raw``.
        kind: ``"mnist"`` or ``"fashion-mnist"`` (default checksums and class names).
        checksums: ``{file name: md5 hex}`` to verify, or ``None`` for the official digests.

    Returns:
        A :class:`Split`: 60 000 training and 10 000 test images, pixels divided by 255.
        ``info`` has ``task``, ``source``, ``kind``, ``num_classes``, ``class_names``, ``files``
        (the paths read) and ``verified`` (the file names whose checksum matched).

    Shape:
        - ``x_train``: ``(60000, 28, 28)`` float32 in ``[0, 1]``; ``y_train``: ``(60000,)`` int64.
        - ``x_test``: ``(10000, 28, 28)``; ``y_test``: ``(10000,)``.

    Raises:
        FileNotFoundError: the directory or one of the files is missing; the message lists the
            expected files and where to get them.
        ValueError: an unknown ``kind``, a checksum mismatch (naming the file, the expected and the
            actual digest), a malformed IDX file, or image and label files that do not match.
    """
    if kind not in OFFICIAL_MD5:
        raise ValueError(f"kind must be one of {sorted(OFFICIAL_MD5)}, got {kind!r}")
    folder = Path(directory)
    expected_names = ", ".join(f"{n}[.gz]" for n in IDX_FILES)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{kind} directory {str(folder)!r} does not exist (or is not a directory); it must hold the four IDX "
            f"files {expected_names}. Get them from {_WHERE[kind]} (see docs/datasets.md); nothing is downloaded "
            "at run time"
        )
    paths = {name: _find(folder, name) for name in IDX_FILES}
    missing = [f"{name}[.gz]" for name, found in paths.items() if found is None]
    if missing:
        raise FileNotFoundError(
            f"{kind} directory {str(folder)!r} lacks {', '.join(missing)}; expected the four IDX files "
            f"{expected_names}. Get them from {_WHERE[kind]} (see docs/datasets.md)"
        )
    digests = OFFICIAL_MD5[kind] if checksums is None else checksums
    verified = []
    for found in paths.values():
        assert found is not None  # checked above
        if found.name in digests:
            _verify_md5(found, digests[found.name])
            verified.append(found.name)
    train_x, train_y, test_x, test_y = (read_idx(p) for p in paths.values())  # type: ignore[arg-type]
    _check_pair(train_x, train_y, paths[IDX_FILES[0]], paths[IDX_FILES[1]])
    _check_pair(test_x, test_y, paths[IDX_FILES[2]], paths[IDX_FILES[3]])
    info = {
        "task": "classification",
        "source": f"{kind} IDX files (LeCun et al. 1998 / Xiao et al. 2017); Hamiltonian embedding (arXiv 2407.14055)",
        "kind": kind,
        "num_classes": len(_CLASS_NAMES[kind]),
        "class_names": list(_CLASS_NAMES[kind]),
        "files": [str(p) for p in paths.values()],
        "verified": verified,
    }
    return Split(kind, _images(train_x), _labels(train_y), _images(test_x), _labels(test_y), info)


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _verify_md5(path: Path, expected: str) -> None:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    actual = digest.hexdigest()
    if actual != expected.lower():
        raise ValueError(
            f"checksum mismatch for {path}: expected MD5 {expected.lower()}, got {actual}; the file is corrupt or "
            "not the official one: download it again, or pass checksums= with the digests of your files"
        )


def _check_pair(images: np.ndarray, labels: np.ndarray, image_path: Path | None, label_path: Path | None) -> None:
    if images.ndim != 3:
        raise ValueError(f"{image_path}: expected images of shape (N, H, W), got shape {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{label_path}: expected {images.shape[0]} labels (one per image of {image_path}), got shape {labels.shape}"
        )


def _images(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.astype(np.float32) / 255.0)


def _labels(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.astype(np.int64))
