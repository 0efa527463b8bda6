"""Datasets of our source papers, as tensors with a fixed, documented split; nothing is downloaded at run time.

Every dataset function returns a :class:`Split` (or, for Elman's streams, a :class:`SequenceBatch`).
``docs/datasets.md`` tables them with their papers, formulas, shapes and splits.

* time series (QLSTM / QRNN reservoir computing / QKAN-LSTM): :func:`bessel_j2`,
  :func:`damped_oscillator`, :func:`delayed_control`, :func:`narma`, :func:`sine`;
* symbol streams (Elman, Bausch's QRNN): :func:`elman_xor`, :func:`elman_letters`, and binary images as
  pixel streams, :func:`pixel_scan_sequences` (Bausch's MNIST task);
* images: :func:`digits` (scikit-learn), :func:`mnist_subset` (``qml-hybrid[mnist]``),
  :func:`load_idx_dataset` (MNIST / Fashion-MNIST files you provide) and the transforms
  :func:`resize`, :func:`binarize`, :func:`pad`, :func:`filter_classes`, :func:`remove_contradicting`;
* Hamiltonian systems (HNN): :func:`mass_spring`, :func:`pendulum`, :func:`two_body`.
"""

from __future__ import annotations

from qml.data.base import Split, chronological_split, minmax_scale, window_series
from qml.data.hamiltonian import (
    Trajectories,
    mass_spring,
    mass_spring_trajectories,
    pendulum,
    pendulum_trajectories,
    two_body,
    two_body_trajectories,
)
from qml.data.idx import load_idx_dataset, read_idx
from qml.data.images import binarize, digits, filter_classes, mnist_subset, pad, remove_contradicting, resize
from qml.data.sequences import SequenceBatch, elman_letters, elman_xor, pixel_scan_sequences
from qml.data.timeseries import (
    bessel_j2,
    bessel_j2_series,
    damped_oscillator,
    damped_oscillator_series,
    delayed_control,
    delayed_control_series,
    narma,
    narma_series,
    sine,
    sine_series,
)

__all__ = [
    "SequenceBatch",
    "Split",
    "Trajectories",
    "bessel_j2",
    "bessel_j2_series",
    "binarize",
    "chronological_split",
    "damped_oscillator",
    "damped_oscillator_series",
    "delayed_control",
    "delayed_control_series",
    "digits",
    "elman_letters",
    "elman_xor",
    "filter_classes",
    "load_idx_dataset",
    "mass_spring",
    "mass_spring_trajectories",
    "minmax_scale",
    "mnist_subset",
    "narma",
    "narma_series",
    "pad",
    "pendulum",
    "pendulum_trajectories",
    "pixel_scan_sequences",
    "read_idx",
    "remove_contradicting",
    "resize",
    "sine",
    "sine_series",
    "two_body",
    "two_body_trajectories",
    "window_series",
]
