"""Training plots: exact confusion matrices (hand-computed and sklearn), PNG files of the right size, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from qml.training.plots import confusion_matrix, plot_confusion_matrix, plot_history, plot_predictions

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

HISTORY = [
    {"epoch": 1, "train_loss": 2.0, "val_loss": 2.5, "val_accuracy": 0.40, "lr": 0.01, "time_s": 1.2},
    {"epoch": 2, "train_loss": 0.8, "val_loss": 1.1, "val_accuracy": 0.55, "lr": 0.01, "time_s": 1.1},
    {"epoch": 3, "train_loss": 0.1, "val_loss": 0.3, "val_accuracy": 0.80, "lr": 0.005, "time_s": 1.0},
    {"epoch": 4, "train_loss": 0.05, "val_loss": 0.2, "val_accuracy": 0.90, "lr": 0.005, "time_s": 1.0},
]


def assert_png(path: Path, *, width: int, height: int) -> None:
    """A real PNG file whose pixel size is figsize * dpi."""
    from matplotlib.image import imread

    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels.std() > 0.01  # something was drawn, not a blank canvas


# ---------------------------------------------------------------------------------------------
# confusion_matrix


def test_confusion_matrix_matches_a_hand_computed_matrix():
    labels = [0, 0, 1, 1, 1, 2, 2, 0]
    predictions = [0, 1, 1, 1, 2, 2, 0, 0]
    expected = torch.tensor([[2, 1, 0], [0, 2, 1], [1, 0, 1]], dtype=torch.int64)
    matrix = confusion_matrix(labels, predictions, 3)
    assert matrix.dtype == torch.int64
    assert torch.equal(matrix, expected)
    # rows are true classes: a class-3 column/row of zeros appears when num_classes is larger
    wider = confusion_matrix(torch.tensor(labels), np.array(predictions), 4)
    assert torch.equal(wider[:3, :3], expected)
    assert int(wider[3].sum()) == int(wider[:, 3].sum()) == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_matrix_agrees_with_sklearn_on_random_labels(seed):
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    rng = np.random.default_rng(seed)
    num_classes = int(rng.integers(2, 9))
    labels = rng.integers(0, num_classes, size=500)
    predictions = np.where(rng.random(500) < 0.6, labels, rng.integers(0, num_classes, size=500))
    expected = sk_confusion_matrix(labels, predictions, labels=np.arange(num_classes))
    ours = confusion_matrix(torch.from_numpy(labels), torch.from_numpy(predictions), num_classes)
    np.testing.assert_array_equal(ours.numpy(), expected)
    assert int(ours.sum()) == 500


def test_confusion_matrix_accepts_column_vectors_bools_integral_floats_and_empty_input():
    labels = torch.tensor([[1.0], [0.0], [1.0]])
    predictions = np.array([True, False, False])
    assert torch.equal(confusion_matrix(labels, predictions, 2), torch.tensor([[1, 0], [1, 1]]))
    empty = confusion_matrix(torch.empty(0, dtype=torch.int64), [], 3)
    assert torch.equal(empty, torch.zeros(3, 3, dtype=torch.int64))


def test_confusion_matrix_works_on_tensors_that_require_grad():
    labels = torch.tensor([0.0, 1.0], requires_grad=True)
    assert torch.equal(confusion_matrix(labels, [1, 1], 2), torch.tensor([[0, 1], [0, 1]]))


@pytest.mark.parametrize(
    ("labels", "predictions", "num_classes", "error", "match"),
    [
        ([0, 3, 1], [0, 1, 1], 3, ValueError, r"labels must lie in \[0, 3\) for num_classes=3, got the value 3"),
        ([0, 1, 1], [0, -1, 1], 3, ValueError, r"predictions must lie in \[0, 3\) .* got the value -1 at position 1"),
        ([0, 1], [0, 1, 1], 3, ValueError, r"labels of shape \(2,\) and predictions of shape \(3,\)"),
        ([0.0, 1.5], [0, 1], 3, ValueError, r"labels must hold integer class indices, got the value 1\.5"),
        ([0, 1], torch.rand(2, 3), 3, ValueError, r"predictions must have shape \(N,\) or \(N, 1\).*\(2, 3\).*argmax"),
        ([0, 1], [0, 1], 0, ValueError, r"num_classes must be at least 1, got 0"),
        ([0, 1], [0, 1], 2.0, TypeError, r"num_classes must be an int, got float"),
        (["a", "b"], [0, 1], 2, TypeError, r"labels must hold class indices \(integers\), got dtype <U1"),
    ],
)
def test_confusion_matrix_errors_name_the_bad_value(labels, predictions, num_classes, error, match):
    with pytest.raises(error, match=match):
        confusion_matrix(labels, predictions, num_classes)


# ---------------------------------------------------------------------------------------------
# plot_confusion_matrix


@pytest.mark.parametrize("normalize", [False, True])
def test_plot_confusion_matrix_writes_a_png_into_new_folders(tmp_path, normalize):
    labels = torch.tensor([0, 1, 2, 2, 1, 0, 2])
    predictions = np.array([0, 2, 2, 2, 1, 0, 1])
    target = tmp_path / "a" / "b" / "cm.png"
    out = plot_confusion_matrix(
        labels,
        predictions,
        str(target),
        class_names=["cat", "dog", "bird"],
        normalize=normalize,
        figsize=(4, 3),
        dpi=50,
    )
    assert out == target
    assert isinstance(out, Path)
    assert_png(target, width=200, height=150)


def test_plot_confusion_matrix_infers_num_classes_and_uses_the_default_size(tmp_path):
    path = plot_confusion_matrix([0, 1, 1, 3], [0, 1, 0, 3], tmp_path / "cm.png", dpi=20)
    # four classes inferred -> side max(4, 0.6 * 4 + 2) = 4.4 inches tall, one inch more wide
    assert_png(path, width=round(5.4 * 20), height=round(4.4 * 20))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"class_names": ["a", "b"], "num_classes": 3}, ValueError, r"class_names has 2 names but .*num_classes=3"),
        ({"class_names": ["a", "b"]}, ValueError, r"labels must lie in \[0, 2\) for num_classes=2, got the value 2"),
        ({"class_names": "abc"}, TypeError, r"class_names must be a sequence of strings"),
    ],
)
def test_plot_confusion_matrix_errors(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_confusion_matrix([0, 1, 2], [0, 1, 2], tmp_path / "cm.png", **kwargs)
    assert not (tmp_path / "cm.png").exists()


def test_plot_confusion_matrix_rejects_empty_input_and_non_png_paths(tmp_path):
    with pytest.raises(ValueError, match=r"labels and predictions are empty"):
        plot_confusion_matrix([], [], tmp_path / "cm.png")
    with pytest.raises(ValueError, match=r"path must name a PNG file \(ending in \.png\), got '.*cm\.pdf'"):
        plot_confusion_matrix([0, 1], [0, 1], tmp_path / "cm.pdf")


# ---------------------------------------------------------------------------------------------
# plot_predictions


@pytest.mark.parametrize("kind", ["tensor", "array", "column"])
def test_plot_predictions_writes_a_png_for_tensors_arrays_and_columns(tmp_path, kind):
    t = np.linspace(0.0, 6.0, 50)
    targets, predictions = np.sin(t), np.sin(t) + 0.1
    if kind == "tensor":
        targets, predictions = torch.tensor(targets), torch.tensor(predictions, requires_grad=True)
    elif kind == "column":
        targets, predictions = targets[:, None], torch.tensor(predictions, dtype=torch.float32)[:, None]
    path = plot_predictions(targets, predictions, tmp_path / "new" / "pred.png", figsize=(6, 2), dpi=40)
    assert path == tmp_path / "new" / "pred.png"
    assert_png(path, width=240, height=80)


def test_plot_predictions_with_a_split_and_x_values(tmp_path):
    t = torch.linspace(0.0, 1.0, 40)
    path = plot_predictions(t**2, t**2 + 0.05, tmp_path / "p.png", split_index=30, x=t, title="fit", dpi=30)
    assert_png(path, width=360, height=120)  # default figsize (12, 4)
    for split in (0, 40):  # everything test / everything train
        plot_predictions(t, t, tmp_path / f"p{split}.png", split_index=split, dpi=20)


def test_plot_predictions_accepts_datetime_x(tmp_path):
    x = np.arange("2024-01-01", "2024-01-21", dtype="datetime64[D]")
    path = plot_predictions(np.arange(20.0), np.arange(20.0) + 1, tmp_path / "d.png", x=x, split_index=15, dpi=20)
    assert_png(path, width=240, height=80)


@pytest.mark.parametrize(
    ("targets", "predictions", "kwargs", "error", "match"),
    [
        (
            np.zeros(5),
            torch.zeros(4, 1),
            {},
            ValueError,
            r"same length, got targets of shape \(5,\) and predictions of shape \(4, 1\)",
        ),
        (np.zeros((5, 2)), np.zeros(5), {}, ValueError, r"targets must have shape \(N,\) or \(N, 1\), got \(5, 2\)"),
        (np.zeros(0), np.zeros(0), {}, ValueError, r"targets and predictions are empty"),
        (np.zeros(5), np.zeros(5), {"split_index": 6}, ValueError, r"split_index must lie in \[0, 5\].*got 6"),
        (np.zeros(5), np.zeros(5), {"split_index": 2.0}, TypeError, r"split_index must be an int"),
        (np.zeros(5), np.zeros(5), {"x": np.zeros(4)}, ValueError, r"x must have shape \(5,\).*got \(4,\)"),
        (np.zeros(5), np.zeros(5, dtype=complex), {}, TypeError, r"predictions must hold real numbers"),
        (np.zeros(5), np.zeros(5), {"dpi": 0}, ValueError, r"dpi must be positive"),
    ],
)
def test_plot_predictions_errors(tmp_path, targets, predictions, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_predictions(targets, predictions, tmp_path / "p.png", **kwargs)
    assert not (tmp_path / "p.png").exists()


# ---------------------------------------------------------------------------------------------
# plot_history


def test_plot_history_writes_a_png_with_the_default_layout(tmp_path):
    path = plot_history(HISTORY, tmp_path / "runs" / "x" / "history.png", title="run", dpi=20)
    assert path == tmp_path / "runs" / "x" / "history.png"
    # two panels (loss, accuracy) side by side: 2 * 5.5 x 4 inches
    assert_png(path, width=220, height=80)


def test_plot_history_with_only_train_loss(tmp_path):
    history = [{"epoch": e, "train_loss": 1.0 / e} for e in range(1, 6)]
    path = plot_history(history, tmp_path / "h.png", figsize=(3, 2), dpi=50)
    assert_png(path, width=150, height=100)


def test_plot_history_survives_nan_inf_missing_and_none_values(tmp_path):
    history = [
        {"epoch": 1, "train_loss": 1.0, "val_loss": 1.2},
        {"epoch": 2, "train_loss": float("nan")},
        {"epoch": 3, "train_loss": float("inf"), "val_loss": None},
        {"epoch": 4, "train_loss": 0.5, "val_loss": 0.7, "note": "text is ignored"},
    ]
    for log_scale in (None, True, False):
        path = plot_history(history, tmp_path / f"h{log_scale}.png", log_scale=log_scale, figsize=(3, 2), dpi=50)
        assert_png(path, width=150, height=100)


def test_plot_history_round_trips_metrics_jsonl_and_selects_metrics(tmp_path):
    jsonl = tmp_path / "metrics.jsonl"
    jsonl.write_text("\n".join(json.dumps(record) for record in HISTORY) + "\n")
    history = [json.loads(line) for line in jsonl.read_text().splitlines()]
    # lr panel requested explicitly; loss keys in metrics are ignored (always on the loss panel)
    path = plot_history(history, tmp_path / "h.png", metrics=["lr", "val_loss"], dpi=20)
    assert_png(path, width=220, height=80)
    # three panels -> two columns, two rows
    path = plot_history(history, tmp_path / "h3.png", metrics=["val_accuracy", "lr", "time_s"], dpi=20)
    assert_png(path, width=220, height=160)


def test_plot_history_without_epoch_keys_uses_positions(tmp_path):
    history = [{"train_loss": 1.0, "train_accuracy": 0.5}, {"train_loss": 0.5, "train_accuracy": 0.7}]
    path = plot_history(history, tmp_path / "h.png", figsize=(4, 2), dpi=25)
    assert_png(path, width=100, height=50)


@pytest.mark.parametrize(
    ("history", "kwargs", "error", "match"),
    [
        ([], {}, ValueError, r"history is empty"),
        ({"train_loss": 1.0}, {}, TypeError, r"history must be a sequence of per-epoch dicts .*got dict"),
        ([{"epoch": 1, "loss": 1.0}, 3], {}, TypeError, r"history\[1\] must be a dict of metric values, got int"),
        ([{"epoch": 1, "loss": 1.0}], {"metrics": ["acc"]}, ValueError, r"metric 'acc' is in no history record"),
        ([{"epoch": 1, "loss": 1.0}], {"metrics": [3]}, TypeError, r"metrics must be a sequence of metric names"),
        ([{"epoch": 1, "time_s": 1.0}], {}, ValueError, r"nothing to plot"),
    ],
)
def test_plot_history_errors(tmp_path, history, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_history(history, tmp_path / "h.png", **kwargs)
    assert not (tmp_path / "h.png").exists()


# ---------------------------------------------------------------------------------------------
# headless, no pyplot


def test_importing_and_plotting_never_loads_pyplot(tmp_path):
    script = f"""
import sys
import qml.training.plots as plots
assert "matplotlib" not in sys.modules, "matplotlib imported eagerly"
plots.plot_history([{{"epoch": 1, "train_loss": 1.0}}], {str(tmp_path / "h.png")!r}, dpi=10)
plots.plot_predictions([1.0, 2.0], [1.0, 2.5], {str(tmp_path / "p.png")!r}, dpi=10)
plots.plot_confusion_matrix([0, 1], [1, 1], {str(tmp_path / "c.png")!r}, dpi=10)
assert "matplotlib" in sys.modules
assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    for name in ("h.png", "p.png", "c.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_SIGNATURE
