"""pixel_scan_sequences: binary images as RVQE's two scanlines with the label at the last step."""

from __future__ import annotations

import pytest
import torch

from qml.data import pixel_scan_sequences


def test_rows_and_columns_are_scanned_and_the_label_is_the_last_target():
    images = torch.tensor([[[1, 0, 0], [1, 1, 0]], [[0, 0, 1], [0, 1, 1]]])  # (2, 2, 3)
    batch = pixel_scan_sequences(images, torch.tensor([1, 3]))
    assert batch.inputs.shape == (2, 5, 2) and batch.targets.shape == batch.mask.shape == (2, 5)
    # image 0: rows 1 0 0 1 1 0, columns (top-bottom, left-right) 1 1 0 1 0 0; the last pixel is not fed
    assert batch.inputs[0, :, 0].tolist() == [1, 0, 0, 1, 1]
    assert batch.inputs[0, :, 1].tolist() == [1, 1, 0, 1, 0]
    assert batch.symbols[0].tolist() == [3, 1, 0, 3, 2, 0]  # 2 * row bit + column bit, all 6 positions
    assert batch.targets.tolist() == [[0, 0, 0, 0, 1], [0, 0, 0, 0, 3]]
    assert batch.mask.tolist() == [[False] * 4 + [True]] * 2
    assert batch.info["num_classes"] == 4 and batch.info["label_step"] == 4 and batch.info["length"] == 6


def test_bad_images_and_labels_are_named():
    with pytest.raises(ValueError, match="needs binary images"):
        pixel_scan_sequences(torch.full((1, 2, 2), 0.5), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"images of shape \(N, H, W\) with H \* W >= 2, got \(4, 4\)"):
        pixel_scan_sequences(torch.zeros(4, 4), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"two lanes hold the classes 0..3, got labels \[4\]"):
        pixel_scan_sequences(torch.zeros(1, 2, 2), torch.tensor([4]))
    with pytest.raises(ValueError, match=r"integer labels of shape \(1,\), got torch.float32"):
        pixel_scan_sequences(torch.zeros(1, 2, 2), torch.tensor([0.0]))
    with pytest.raises(TypeError, match=r"expects images and labels as torch\.Tensors, got list"):
        pixel_scan_sequences([[[0, 1]]], torch.tensor([0]))  # type: ignore[arg-type]
