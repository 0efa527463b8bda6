"""Round trip of ``qkan.QKAN`` state dicts into ``qml.kan.QKAN.from_qkan`` (issue 10, item 4).

Same outputs, same input gradients.

For each configuration below (qkan's defaults, trainable pre-processing with a pruning mask, ``p_dim=2``
storage, the rpz / px / mix / real ansatzes, batch norm, output normalisation, the ``cutn`` solver), a qkan
0.2.3 model is built with random weights and run on a random input; its state dict, input, output and input
gradient are saved, then ``QKAN.from_qkan(state_dict, **the same keywords)`` must give the same output and
``d(sum y)/dx`` to 1e-5 (float32 both; qkan forces bfloat16 for the ``real`` ansatz, which the dump sets back
to complex64 so that the check stays at 1e-5).

qkan lives in its own environment (``bash benchmarks/setup_qkan_env.sh``): the qkan half runs under
``--qkan-python`` (or this interpreter, when it imports qkan), the check under this one::

    .venv/bin/python benchmarks/qkan_state_dict_check.py --qkan-python .scratch/bench/qkan-venv/bin/python

This file imports only the standard library at the top, so the qkan environment runs its ``--dump`` half.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

CASES: list[dict[str, Any]] = [
    {"name": "qkan defaults (fast_measure, raw-input encoding, no base branch)", "width": [3, 4, 2], "reps": 2},
    {
        "name": "Born rule, everything trainable, pruned edges",
        "width": [3, 4, 2],
        "reps": 3,
        "kwargs": {
            "fast_measure": False,
            "preact_trainable": True,
            "ba_trainable": True,
            "postact_weight_trainable": True,
            "postact_bias_trainable": True,
        },
        "prune": True,
    },
    {
        "name": "p_dim=2 storage (width passed)",
        "width": [2, 3, 1],
        "reps": 2,
        "kwargs": {"p_dim": 2, "preact_trainable": True, "fast_measure": False},
        "pass_width": True,
    },
    {"name": "rpz_encoding", "width": [2, 3], "reps": 3, "kwargs": {"ansatz": "rpz_encoding", "fast_measure": False}},
    {
        "name": "px_encoding",
        "width": [2, 2],
        "reps": 2,
        "kwargs": {"ansatz": "px_encoding", "preact_trainable": True, "fast_measure": False},
        "small": True,
    },
    {"name": "mix", "width": [2, 3], "reps": 2, "kwargs": {"ansatz": "mix", "fast_measure": False}},
    {
        "name": "real (qkan's forced bfloat16 compute set back to complex64)",
        "width": [2, 3],
        "reps": 2,
        "kwargs": {"ansatz": "real", "fast_measure": False},
        "complex64": True,
    },
    {"name": "batch norm (eval mode)", "width": [3, 2], "reps": 2, "kwargs": {"is_batchnorm": True}, "eval": True},
    {"name": "norm_out=2, cutn solver", "width": [3, 3], "reps": 2, "kwargs": {"norm_out": 2, "solver": "cutn"}},
]

TOLERANCE = 1e-5


def _randomize(model: Any, gen: Any, prune: bool, small: bool) -> None:
    """Every tensor of every qkan layer away from its initial value (theta is random already)."""
    import torch

    scale = 0.3 if small else 1.0
    with torch.no_grad():
        for layer in model.layers:
            for name in ("preacts_weight", "preacts_bias", "postact_weights", "postact_bias", "base_weight"):
                tensor = getattr(layer, name)
                tensor.copy_(scale * (torch.rand(tensor.shape, generator=gen) * 2 - 1))
            if prune:
                layer.mask.copy_((torch.rand(layer.mask.shape, generator=gen) > 0.3).to(layer.mask.dtype))
            if getattr(layer, "_pb_is_nonzero", None) is not None:
                layer._pb_is_nonzero = bool(layer.postact_bias.any())
            if hasattr(layer, "_mask_is_identity"):
                layer._mask_is_identity = bool((layer.mask == 1).all())


def dump(path: str) -> None:
    """qkan half: build, randomise, run every case; save what the check needs."""
    import qkan
    import torch

    out = []
    for index, case in enumerate(CASES):
        gen = torch.Generator().manual_seed(index)
        model = qkan.QKAN(case["width"], reps=case["reps"], device="cpu", seed=index, **case.get("kwargs", {}))
        _randomize(model, gen, case.get("prune", False), case.get("small", False))
        if case.get("complex64"):
            for layer in model.layers:
                layer.c_dtype = torch.complex64
                layer._resolve_solver_fn()  # refreshes the dtype-cast flag
        x = (torch.rand(5, case["width"][0], generator=gen) * 2 - 1) * (0.3 if case.get("small") else 1.0)
        if case.get("eval"):
            model.train()
            for _ in range(3):  # move the batch-norm running statistics
                model(torch.randn(16, case["width"][0], generator=gen))
            model.eval()
        x.requires_grad_(True)
        y = model(x)
        y.sum().backward()
        out.append({"state_dict": model.state_dict(), "x": x.detach(), "y": y.detach(), "dx": x.grad.detach()})
    torch.save({"qkan_version": qkan.__version__, "cases": out}, path)


def check(path: str) -> int:
    """Our half: ``QKAN.from_qkan`` with the same keywords must reproduce every case."""
    import torch

    sys.path.insert(0, str(REPO))
    from qml.kan import QKAN

    data = torch.load(path, weights_only=False)
    print(f"qkan {data['qkan_version']} -> qml.kan.QKAN.from_qkan, tolerance {TOLERANCE:g}")
    failures = 0
    for case, ref in zip(CASES, data["cases"], strict=True):
        kwargs = dict(case.get("kwargs", {}))
        width = case["width"] if case.get("pass_width") else None
        model = QKAN.from_qkan(ref["state_dict"], width, **kwargs)
        if case.get("eval"):
            model.eval()
        x = ref["x"].clone().requires_grad_(True)
        y = model(x)
        y.sum().backward()
        dy = float((y.detach() - ref["y"]).abs().max())
        dx = float((x.grad - ref["dx"]).abs().max())
        ok = dy <= TOLERANCE and dx <= TOLERANCE
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {case['name']}: max |dy| = {dy:.2e}, max |d(dy/dx)| = {dx:.2e}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qkan-python", metavar="PATH", help="python of the qkan environment (setup_qkan_env.sh)")
    ap.add_argument("--dump", metavar="FILE", help=argparse.SUPPRESS)  # the qkan half, run by the check
    args = ap.parse_args(argv)
    if args.dump:
        dump(args.dump)
        return 0
    python = args.qkan_python
    if python is None:
        if importlib.util.find_spec("qkan") is None:
            print("no qkan environment: pass --qkan-python (bash benchmarks/setup_qkan_env.sh builds one)")
            return 2
        python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "qkan_cases.pt")
        subprocess.run([python, "-W", "ignore", __file__, "--dump", path], check=True)
        return check(path)


if __name__ == "__main__":
    sys.exit(main())
