"""Tests of qml.data.idx with small IDX files written here (gzipped and raw)."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from qml.data import load_idx_dataset, read_idx
from qml.data.idx import IDX_FILES, OFFICIAL_MD5

CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file written with struct, independently of the reader."""
    header = struct.pack(">BBBB", 0, 0, CODES[array.dtype.type], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: Path, array: np.ndarray, compress: bool) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
        np.array([-5, 0, 70000, -(2**31)], dtype=np.int32),
        np.linspace(-1, 1, 6).reshape(3, 2),
        np.array([[-3, 4]], dtype=np.int16),
        np.array([1.5, -2.25], dtype=np.float32),
        np.array([-128, 127], dtype=np.int8),
    ],
    ids=["uint8", "int32", "float64", "int16", "float32", "int8"],
)
def test_round_trip(tmp_path, array, compress):
    path = write(tmp_path / "file.idx", array, compress)
    loaded = read_idx(path)
    assert loaded.dtype == array.dtype and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


def test_reads_the_documented_header_by_hand(tmp_path):
    # magic 0x00000801 (uint8, one dimension), size 3, data 7 8 9: an MNIST label file
    path = tmp_path / "labels"
    path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    np.testing.assert_array_equal(read_idx(path), [7, 8, 9])


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x00\x01\x08\x01\x00\x00\x00\x01\x05", r"bad IDX magic number 00010801"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", r"unknown IDX dtype code 0x07"),
        (b"\x00\x00", r"truncated IDX file, 2 bytes"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", r"truncated IDX header: 3 dimensions need 16 bytes, the file has 8"),
        (
            b"\x00\x00\x08\x01\x00\x00\x00\x04\x01\x02",
            r"truncated IDX data: shape \(4,\) of uint8 needs 4 bytes, found 2",
        ),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", r"trailing bytes after the IDX data: .* needs 1 bytes, found 2"),
    ],
)
def test_malformed_files(tmp_path, content, match):
    path = tmp_path / "bad-idx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        read_idx(path)
    assert "bad-idx" in str(info.value)  # the message names the file


def test_truncated_gzip(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((10, 5, 5), dtype=np.uint8)))[:-12])
    with pytest.raises(ValueError, match=r"cut.gz: corrupt or truncated gzip stream"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


@pytest.fixture
def dataset_dir(tmp_path):
    """A tiny MNIST-format dataset: 6 training and 4 test images of 5x5, train files gzipped, test raw."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    arrays = {
        IDX_FILES[0]: rng.integers(0, 256, size=(6, 5, 5), dtype=np.uint8),
        IDX_FILES[1]: np.array([0, 1, 2, 3, 4, 9], dtype=np.uint8),
        IDX_FILES[2]: rng.integers(0, 256, size=(4, 5, 5), dtype=np.uint8),
        IDX_FILES[3]: np.array([5, 6, 7, 8], dtype=np.uint8),
    }
    paths = {}
    for i, (name, array) in enumerate(arrays.items()):
        compress = i < 2
        paths[name] = write(folder / (name + (".gz" if compress else "")), array, compress)
    checksums = {p.name: md5(p) for p in paths.values()}
    return folder, arrays, checksums


def test_load_dataset_with_own_checksums(dataset_dir):
    folder, arrays, checksums = dataset_dir
    split = load_idx_dataset(folder, checksums=checksums)
    assert split.x_train.shape == (6, 5, 5) and split.x_train.dtype == torch.float32
    assert split.y_train.dtype == torch.int64
    np.testing.assert_allclose(split.x_train.numpy(), arrays[IDX_FILES[0]] / 255.0, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(split.y_train.numpy(), arrays[IDX_FILES[1]])
    np.testing.assert_allclose(split.x_test.numpy(), arrays[IDX_FILES[2]] / 255.0, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(split.y_test.numpy(), arrays[IDX_FILES[3]])
    assert sorted(split.info["verified"]) == sorted(checksums)
    assert split.info["class_names"][0] == "0" and split.info["num_classes"] == 10


def test_gzipped_file_wins_over_raw(dataset_dir):
    folder, _, _ = dataset_dir
    (folder / IDX_FILES[0]).write_bytes(b"not read")  # a raw twin of the .gz training images
    split = load_idx_dataset(folder, checksums={})
    assert split.x_train.shape == (6, 5, 5)
    assert split.info["verified"] == []


def test_fashion_class_names(dataset_dir):
    folder, _, checksums = dataset_dir
    split = load_idx_dataset(folder, kind="fashion-mnist", checksums=checksums)
    assert split.name == "fashion-mnist" and split.info["class_names"][9] == "Ankle boot"


def test_checksum_mismatch_names_file_and_digests(dataset_dir):
    folder, _, checksums = dataset_dir
    target = folder / IDX_FILES[2]
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF  # corrupt one pixel of the raw test images
    target.write_bytes(bytes(data))
    expected, actual = checksums[IDX_FILES[2]], md5(target)
    pattern = rf"checksum mismatch for .*{IDX_FILES[2]}: expected MD5 {expected}, got {actual}"
    with pytest.raises(ValueError, match=pattern):
        load_idx_dataset(folder, checksums=checksums)


def test_default_checksums_are_the_official_ones(dataset_dir):
    folder, _, checksums = dataset_dir
    official = OFFICIAL_MD5["mnist"]["train-images-idx3-ubyte.gz"]
    pattern = rf"train-images-idx3-ubyte.gz: expected MD5 {official}, got {checksums['train-images-idx3-ubyte.gz']}"
    with pytest.raises(ValueError, match=pattern):
        load_idx_dataset(folder)


def test_official_digests_as_torchvision_lists_them():
    assert dict(OFFICIAL_MD5["mnist"]) == {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    assert OFFICIAL_MD5["fashion-mnist"]["train-images-idx3-ubyte.gz"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"


def test_missing_directory_says_what_to_put_there(tmp_path):
    missing = tmp_path / "no-such-dir"
    with pytest.raises(FileNotFoundError, match=r"no-such-dir' does not exist.*train-images-idx3-ubyte\[\.gz\].*yann"):
        load_idx_dataset(missing)
    with pytest.raises(FileNotFoundError, match=r"does not exist.*zalandoresearch/fashion-mnist"):
        load_idx_dataset(missing, kind="fashion-mnist")


def test_missing_file_is_named(dataset_dir):
    folder, _, checksums = dataset_dir
    (folder / (IDX_FILES[1] + ".gz")).unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks train-labels-idx1-ubyte\[\.gz\]; expected the four IDX files"):
        load_idx_dataset(folder, checksums=checksums)


def test_mismatched_labels_and_unknown_kind(dataset_dir):
    folder, _, _ = dataset_dir
    write(folder / IDX_FILES[3], np.array([1, 2, 3], dtype=np.uint8), compress=False)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte: expected 4 labels .* got shape \(3,\)"):
        load_idx_dataset(folder, checksums={})
    with pytest.raises(ValueError, match=r"kind must be one of \['fashion-mnist', 'mnist'\], got 'kmnist'"):
        load_idx_dataset(folder, kind="kmnist")
