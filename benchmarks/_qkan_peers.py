"""Peers of the QKAN-layer benchmark (see ``qkan_bench.py``) and the weight mapping from the ``qkan`` package.

Workload (``docs/peer-baselines.md``, Workload 2): one QKAN layer with ``in = out = width``, batch ``B``,
the input ``x`` ``(B, width)`` with ``requires_grad=True`` (as for a hidden layer, so ``dL/dx`` is computed
too), ``loss = output.mean()``; one iteration is forward plus ``loss.backward()``. Every edge ``(j, i)`` runs
the one-qubit DARUAN circuit (pz ansatz, Born-rule ``<Z>``)::

    |0> -H- [RZ(theta[j,i,l,0]) RY(theta[j,i,l,1]) RZ(w[j,i,l] x_i + b[j,i,l])]_{l<reps}
        -RZ(theta[j,i,reps,0]) RY(theta[j,i,reps,1])-  then <Z> = phi_ji(x_i)

    y_j = sum_i pw[j,i] (phi_ji(x_i) + pb[j,i]) + sum_i bw[j,i] silu(x_i)

**qkan 0.2.3 layout** (read from ``qkan/qkan.py``, ``qkan/solver/exact.py``, ``qkan/solver/cutn.py``,
``qkan/torch_qc.py``), for ``QKANLayer(in_dim, out_dim, reps, ansatz="pz_encoding", group=-1, p_dim=4)``:

* ``theta`` ``(out, in, reps + 1, 2)``: ``[o, i, l, 0]`` is the RZ and ``[o, i, l, 1]`` the RY angle of block
  ``l`` (``l = reps`` is the final pair). ``exact`` and ``cutn`` read ``theta[o, i]``; the PennyLane ``qml``
  solver reads ``theta_v[i, j]`` (transposed; wrong indices when ``in != out``), so it is not mapped here.
* ``preacts_weight`` / ``preacts_bias`` ``(out, in, reps)`` (init 1 / 0): the data angle of block ``l`` is
  ``preacts_weight[o, i, l] * x_i + preacts_bias[o, i, l]``, **but only when ``preact_trainable=True``**; with
  the default ``False`` both solvers use ``RZ(x_i)`` and ignore these tensors.
* ``postact_weights`` and ``postact_bias`` ``(out, in)`` (init 1 / 0, frozen by default), ``base_weight``
  ``(out, in)`` (0.5 and trainable with the default ``ba_trainable=True``, else 0 and frozen), ``mask``
  ``(out, in)`` (pruning, ones). ``postact_bias`` enters the output only when ``postact_bias_trainable`` is set
  or a loaded bias is nonzero (``_pb_is_nonzero``). Training forward:
  ``sum_i (postacts + pb) * (pw * mask) + F.linear(silu(x), bw * mask)``.
* ``p_dim=2`` stores the same tensors flattened to ``(out * in, ...)``; ``_theta_natural()`` etc. give the
  natural shapes. ``group`` other than ``-1`` shares theta across edges (not mapped).
* Gates (``torch_qc.TorchGates``): ``RZ(a) = diag(e^{-ia/2}, e^{ia/2})``, ``RY(a) = [[c, -s], [s, c]]``
  (``c, s = cos a/2, sin a/2``), ``H`` the usual one, applied as ``state'[m] = sum_n gate[m, n] state[n]``: the
  same conventions as ours.
* Read-out: ``fast_measure=True`` (the default) returns ``|a| - |b|``, not ``<Z>``; ``fast_measure=False``
  returns ``|a|^2 - |b|^2``, the Born rule that ours computes. Only ``fast_measure=False`` layers are mapped.
* Solver: the ``solver=`` constructor argument, a string: ``"exact"`` (default; per-gate complex64 einsums on a
  ``(B, out, in, 2)`` state), ``"cutn"`` / ``"tn"`` (one einsum network per circuit, RZ*RY fused into one
  2x2 per block, contraction path from cuQuantum or, on CPU, ``opt_einsum``, cached per shape; falls back to
  ``exact`` for unsupported ansatzes or ``reps > 11``), ``"flash"`` (Triton, GPU), ``"qml"``, ``"qiskit"``,
  ``"cudaq"``, or a callable. ``seed=`` calls ``torch.manual_seed`` (global) before the Xavier-normal theta init.

So the mapping onto ``qml.kan.QKANLayer`` is one-to-one with no transposition: ``theta -> theta``,
``preacts_weight/bias -> preact_weight/bias`` (ones / zeros when qkan ignores them),
``postact_weights * mask -> postact_weight``, ``postact_bias -> postact_bias`` (zeros when qkan ignores it),
``base_weight * mask -> base_weight``.

This module imports only torch at the top: the qkan environment runs it without this project installed, and
ours is imported inside the builders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

OUR_PARAMETERS = ("theta", "preact_weight", "preact_bias", "postact_weight", "postact_bias", "base_weight")
"""Our parameter names, in the order the check reports them."""


# =========================================================================== weight mapping


def _natural(reference: Any, method: str, attr: str, shape: tuple[int, ...]) -> torch.Tensor:
    getter = getattr(reference, method, None)
    tensor = getter() if callable(getter) else getattr(reference, attr)
    return tensor.detach().reshape(shape)


def qkan_weights(reference: Any) -> dict[str, torch.Tensor]:
    """The effective parameters of a ``qkan.QKANLayer`` under our names and shapes (detached copies).

    Args:
        reference: a ``qkan.QKANLayer`` (0.2.3) with the pz ansatz, ``group=-1``, ``fast_measure=False``,
            the SiLU base activation, no batch norm and a solver other than ``"qml"``.

    Returns:
        ``{name: tensor}`` for every name in :data:`OUR_PARAMETERS`, float tensors in our shapes:
        ``theta`` ``(out, in, reps + 1, 2)``, ``preact_*`` ``(out, in, reps)``, the rest ``(out, in)``.

    Raises:
        ValueError: if the layer uses a configuration that has no counterpart in ours.
    """
    out_dim, in_dim, reps = reference.out_dim, reference.in_dim, reference.reps
    problems = []
    if reference.ansatz not in ("pz", "pz_encoding"):
        problems.append(f"ansatz={reference.ansatz!r} (expected 'pz_encoding')")
    if tuple(reference.group) != (out_dim, in_dim):
        problems.append(f"group={reference.group!r} (expected -1: one circuit per edge)")
    if reference.fast_measure:
        problems.append("fast_measure=True (|a|-|b|, not <Z>; build it with fast_measure=False)")
    if reference.solver == "qml":
        problems.append("solver='qml' (reads theta[in, out], transposed; use 'exact' or 'cutn')")
    if getattr(reference, "is_batchnorm", False):
        problems.append("is_batchnorm=True")
    if not isinstance(reference.base_activation, torch.nn.SiLU):
        problems.append(f"base_activation={type(reference.base_activation).__name__} (expected SiLU)")
    if problems:
        raise ValueError(
            "cannot map this qkan.QKANLayer onto qml.kan.QKANLayer: " + "; ".join(problems) + ". "
            "Build the reference with QKANLayer(in, out, reps, solver='exact' or 'cutn', fast_measure=False)."
        )
    oi = (out_dim, in_dim)
    theta = _natural(reference, "_theta_natural", "theta", (*oi, reps + 1, 2))
    if reference.preact_trainable:
        pw = _natural(reference, "_preacts_w_natural", "preacts_weight", (*oi, reps))
        pb = _natural(reference, "_preacts_b_natural", "preacts_bias", (*oi, reps))
    else:  # the solvers use RZ(x) and never read the preacts
        pw, pb = torch.ones(*oi, reps), torch.zeros(*oi, reps)
    mask = reference.mask.detach().reshape(oi)
    post_w = reference.postact_weights.detach().reshape(oi) * mask
    base_w = reference.base_weight.detach().reshape(oi) * mask
    if reference.postact_bias_trainable or getattr(reference, "_pb_is_nonzero", False):
        post_b = reference.postact_bias.detach().reshape(oi)
    else:  # qkan skips the bias term
        post_b = torch.zeros(oi)
    weights = {
        "theta": theta,
        "preact_weight": pw,
        "preact_bias": pb,
        "postact_weight": post_w,
        "postact_bias": post_b,
        "base_weight": base_w,
    }
    return {k: v.to(torch.float32).clone().contiguous() for k, v in weights.items()}


def qkan_grads(reference: Any) -> dict[str, torch.Tensor | None]:
    """Gradients of a ``qkan.QKANLayer``'s parameters after a backward, under our names (``None``: frozen)."""
    oi = (reference.out_dim, reference.in_dim)
    reps = reference.reps
    pairs = {
        "theta": (reference.theta, (*oi, reps + 1, 2)),
        "preact_weight": (reference.preacts_weight, (*oi, reps)),
        "preact_bias": (reference.preacts_bias, (*oi, reps)),
        "postact_weight": (reference.postact_weights, oi),
        "postact_bias": (reference.postact_bias, oi),
        "base_weight": (reference.base_weight, oi),
    }
    grads: dict[str, torch.Tensor | None] = {}
    for name, (param, shape) in pairs.items():
        g = param.grad
        grads[name] = None if g is None else g.detach().reshape(shape).to(torch.float32).clone()
    # qkan computes with pw * mask: dL/dpw = mask * (our dL/dpw); the mask is all ones unless pruned.
    return grads


def load_weights(ours: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """Copy ``{our name: tensor}`` into our layer's parameters in place (shapes must match)."""
    with torch.no_grad():
        for name in OUR_PARAMETERS:
            param = getattr(ours, name)
            value = weights[name]
            if tuple(param.shape) != tuple(value.shape):
                raise ValueError(
                    f"{name}: our layer has shape {tuple(param.shape)}, the reference gives {tuple(value.shape)}; "
                    "build ours with the reference's in_dim, out_dim and reps"
                )
            param.copy_(value.to(param.dtype))


def copy_qkan_weights(ours: torch.nn.Module, reference: Any) -> None:
    """Make ``ours`` (a ``qml.kan.QKANLayer``) compute the same function as ``reference`` (a ``qkan.QKANLayer``).

    Both in one process (qkan importable next to this project); across environments, save
    :func:`qkan_weights` in the qkan one and :func:`load_weights` in ours, as ``qkan_bench.py --check`` does.
    """
    load_weights(ours, qkan_weights(reference))


# =========================================================================== peers


@dataclass
class Runner:
    """One peer set up for one ``(width, reps)`` point.

    Attributes:
        layer: the module.
        x: the input ``(B, width)``, ``requires_grad=True``.
        params: the trainable parameters whose gradients the backward fills.
        note: a short description for the tables.
    """

    layer: torch.nn.Module
    x: torch.Tensor
    params: list[torch.Tensor] = field(default_factory=list)
    note: str = ""

    def forward(self) -> torch.Tensor:
        return self.layer(self.x)

    def zero_grad(self) -> None:
        self.x.grad = None
        for p in self.params:
            p.grad = None

    def step(self) -> torch.Tensor:
        """One training iteration: gradients cleared, forward, ``loss = mean``, backward."""
        self.zero_grad()
        loss = self.forward().mean()
        loss.backward()
        return loss

    @property
    def trainable(self) -> int:
        return sum(p.numel() for p in self.params)


def make_input(batch: int, width: int, seed: int) -> torch.Tensor:
    """The benchmark input: uniform in ``[-1, 1)``, ``requires_grad=True``."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, width, generator=gen) * 2 - 1).requires_grad_(True)


def ours(width: int, reps: int, batch: int, seed: int, preact_trainable: bool) -> Runner:
    """``qml.kan.QKANLayer`` with the default backend (``None``: the real-arithmetic fast path)."""
    from qml.kan import QKANLayer

    layer = QKANLayer(
        width,
        width,
        reps=reps,
        ansatz="pz",
        preact_trainable=preact_trainable,
        postact_weight_trainable=False,
        postact_bias_trainable=False,
        base_trainable=True,
        backend=None,
        generator=torch.Generator().manual_seed(seed),
    )
    params = [p for p in layer.parameters() if p.requires_grad]
    return Runner(layer, make_input(batch, width, seed + 1), params, note="qml.kan.QKANLayer, backend=None")


def build_qkan(in_dim: int, out_dim: int, reps: int, solver: str, fast_measure: bool, seed: int, **kwargs: Any):
    """A ``qkan.QKANLayer`` (pz ansatz, complex64); ``seed`` seeds torch's global RNG, as qkan does."""
    import qkan

    return qkan.QKANLayer(
        in_dim, out_dim, reps=reps, solver=solver, fast_measure=fast_measure, seed=seed, device="cpu", **kwargs
    )


def _qkan(width: int, reps: int, batch: int, seed: int, preact_trainable: bool, solver: str, fm: bool) -> Runner:
    layer = build_qkan(width, width, reps, solver, fm, seed, preact_trainable=preact_trainable)
    params = [p for p in layer.parameters() if p.requires_grad]
    note = f"solver={solver!r}, fast_measure={fm}"
    return Runner(layer, make_input(batch, width, seed + 1), params, note=note)


def qkan_exact(width: int, reps: int, batch: int, seed: int, preact_trainable: bool) -> Runner:
    """``qkan.QKANLayer(solver="exact", fast_measure=False)``: the true ``<Z>``."""
    return _qkan(width, reps, batch, seed, preact_trainable, "exact", False)


def qkan_cutn(width: int, reps: int, batch: int, seed: int, preact_trainable: bool) -> Runner:
    """``qkan.QKANLayer(solver="cutn", fast_measure=False)``: einsum network, opt_einsum path on CPU."""
    return _qkan(width, reps, batch, seed, preact_trainable, "cutn", False)


def qkan_exact_fm(width: int, reps: int, batch: int, seed: int, preact_trainable: bool) -> Runner:
    """qkan's package default: ``solver="exact"``, ``fast_measure=True`` (``|a|-|b|``, not the same function)."""
    return _qkan(width, reps, batch, seed, preact_trainable, "exact", True)


def qkan_cutn_fm(width: int, reps: int, batch: int, seed: int, preact_trainable: bool) -> Runner:
    """``solver="cutn"``, ``fast_measure=True`` (``|a|-|b|``, not the same function)."""
    return _qkan(width, reps, batch, seed, preact_trainable, "cutn", True)


PEERS: dict[str, Callable[[int, int, int, int, bool], Runner]] = {
    "ours": ours,
    "qkan_exact": qkan_exact,
    "qkan_cutn": qkan_cutn,
    "qkan_exact_fm": qkan_exact_fm,
    "qkan_cutn_fm": qkan_cutn_fm,
}
"""Every peer by name, in table order."""

DEFAULT_PEERS = ("ours", "qkan_exact", "qkan_cutn")
"""The peers timed unless ``--peers`` says otherwise (the ``_fm`` ones compute ``|a|-|b|``, another function)."""

QKAN_PEERS = frozenset(p for p in PEERS if p.startswith("qkan_"))
"""Peers that run with the ``--qkan-python`` interpreter."""

VERSION_PACKAGES = {
    "ours": ["torch", "qml-hybrid"],
    **{p: ["torch", "qkan", "opt_einsum", "numpy"] for p in QKAN_PEERS},
}
"""Distribution names whose versions each worker records."""
