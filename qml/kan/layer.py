"""The QKAN layer: a Kolmogorov-Arnold layer whose edge functions are DARUAN activations.

Jiang, Huang, Chen, Goan 2025 (arXiv 2509.14026), the layer equation of the reference package
(``qkan``, ``QKANLayer._forward_train``)::

    y_j = sum_i pw_ji * (phi_ji(x_i) + pb_ji) + sum_i bw_ji * silu(x_i)

with ``phi_ji`` the DARUAN of edge ``(j, i)``: a one-qubit data re-uploading circuit whose data angles
are ``a_l = w_jil * x_i + b_jil`` (trainable pre-processing), read out as the Born-rule ``<Z>``
(:mod:`circuits.library.daruan`). Two evaluations of the same function:

* ``backend=None`` (default): the closed-form fast path (:mod:`qml.kan.bloch`), every edge and
  sample at once in real arithmetic, differentiable by autograd;
* ``backend=`` any :class:`~circuits.backend.Backend`: the DARUAN circuit of every (sample, edge)
  pair, bound and run in one backend call (our engine, Aer, a PennyLane device, hardware), with
  the backend's gradients. A layer trained on the fast path runs on a backend unchanged.

Read-out: ``phi`` is the Born-rule ``<Z>`` (``qkan``'s ``fast_measure=False``). ``fast_measure=True``
gives ``qkan``'s default, quantum-inspired ``|a| - |b|`` of the final state ``a|0> + b|1>``, computed
from the same ``<Z> = |a|^2 - |b|^2`` as ``sqrt((1 + <Z>) / 2) - sqrt((1 - <Z>) / 2)`` (on a backend too,
from its estimate of ``<Z>``), so weights trained with either read-out in ``qkan`` load here.

Inputs: integer and bool tensors (counts, one-hot or 0/1 features) are converted to the layer's
parameter dtype; complex inputs are refused.
"""

from __future__ import annotations

import copy
import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from circuits import Z
from circuits.backend import Backend
from circuits.library.daruan import daruan_circuit, daruan_program, daruan_theta_shape
from qml.kan.bloch import daruan_expectation

__all__ = ["EXTENDABLE_ANSATZES", "QKANLayer"]

EXTENDABLE_ANSATZES = ("pz", "rpz")
"""Ansatzes whose added repetitions can start as the identity on ``<Z>`` (their data gate is an RZ)."""


def _safe_sqrt(value: torch.Tensor) -> torch.Tensor:
    """``sqrt(max(value, 0))`` whose gradient at 0 is 0 (as torch's ``abs`` at 0), not infinite."""
    positive = value > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, value, torch.ones_like(value))), 0.0)


def _amplitude_difference(z: torch.Tensor) -> torch.Tensor:
    """``|a| - |b|`` of a one-qubit state with ``<Z> = z`` (``|a|^2 = (1 + z) / 2``): ``qkan``'s ``fast_measure``."""
    return _safe_sqrt((1 + z) / 2) - _safe_sqrt((1 - z) / 2)


def _xavier_normal(shape: tuple[int, ...], generator: torch.Generator | None, dtype: torch.dtype) -> torch.Tensor:
    """``torch.nn.init.xavier_normal_`` for this shape, drawn from ``generator`` (as ``qkan``'s theta init)."""
    receptive = math.prod(shape[2:])
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return torch.empty(shape, dtype=dtype).normal_(0.0, std, generator=generator)


class QKANLayer(nn.Module):
    """``in_dim -> out_dim`` QKAN layer (see the module docstring for the equation).

    Args:
        in_dim: input features.
        out_dim: output features.
        reps: data re-uploadings of every DARUAN (``>= 1``).
        ansatz: ``"pz"`` (default), ``"rpz"``, ``"px"``, ``"mix"`` or ``"real"`` (:mod:`circuits.library.daruan`).
            ``"px"`` encodes ``acos(clamp(w x + b, -1, 1))``, as the reference does without the clamp.
        preact_trainable: train the pre-processing ``w`` (init 1) and ``b`` (init 0).
        postact_weight_trainable: train ``pw`` (init 1).
        postact_bias_trainable: train ``pb`` (init 0).
        base_trainable: the ``silu`` base branch with trainable ``bw`` (init 0.5); ``False`` leaves it out.
        fast_measure: read out ``|a| - |b|`` (``qkan``'s quantum-inspired default) instead of the
            Born-rule ``<Z>`` (see the module docstring).
        batchnorm: a ``BatchNorm1d`` on the input, before both branches (``qkan``'s ``is_batchnorm``).
        backend: ``None`` for the fast path, or a backend that runs the DARUAN circuits.
        generator: draws ``theta`` (Xavier normal over ``(out, in, blocks, K)``, as ``qkan``).
        dtype: parameter dtype.

    Attributes:
        theta: ``(out_dim, in_dim, blocks, K)`` trainable angles (:func:`~circuits.library.daruan_theta_shape`).
        preact_weight, preact_bias: ``(out_dim, in_dim, reps)``.
        postact_weight, postact_bias, base_weight: ``(out_dim, in_dim)``.

    Shape:
        - Input: ``(batch_size, in_dim)``, finite; integer or bool tensors are converted to ``dtype``.
        - Output: ``(batch_size, out_dim)``.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        reps: int = 3,
        *,
        ansatz: Literal["pz", "rpz", "px", "mix", "real"] = "pz",
        preact_trainable: bool = True,
        postact_weight_trainable: bool = False,
        postact_bias_trainable: bool = False,
        base_trainable: bool = True,
        fast_measure: bool = False,
        batchnorm: bool = False,
        backend: Backend | None = None,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        for name, value in (("in_dim", in_dim), ("out_dim", out_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"QKANLayer {name} must be a positive int, got {value!r}.")
        self.in_dim, self.out_dim, self.reps, self.ansatz = in_dim, out_dim, reps, ansatz
        self.program = daruan_program(reps, ansatz)  # validates reps and ansatz
        self.backend = backend
        blocks, width = daruan_theta_shape(reps, ansatz)
        self.theta = nn.Parameter(_xavier_normal((out_dim, in_dim, blocks, width), generator, dtype))
        edges = (out_dim, in_dim)
        self.preact_weight = nn.Parameter(torch.ones(*edges, reps, dtype=dtype), requires_grad=preact_trainable)
        self.preact_bias = nn.Parameter(torch.zeros(*edges, reps, dtype=dtype), requires_grad=preact_trainable)
        self.postact_weight = nn.Parameter(torch.ones(edges, dtype=dtype), requires_grad=postact_weight_trainable)
        self.postact_bias = nn.Parameter(torch.zeros(edges, dtype=dtype), requires_grad=postact_bias_trainable)
        self.base_weight = nn.Parameter(
            torch.full(edges, 0.5 if base_trainable else 0.0, dtype=dtype), requires_grad=base_trainable
        )
        self.fast_measure = bool(fast_measure)
        self.bn = nn.BatchNorm1d(in_dim, dtype=dtype) if batchnorm else None
        self.options = {
            "preact_trainable": preact_trainable,
            "postact_weight_trainable": postact_weight_trainable,
            "postact_bias_trainable": postact_bias_trainable,
            "base_trainable": base_trainable,
            "fast_measure": self.fast_measure,
            "batchnorm": batchnorm,
        }

    def extra_repr(self) -> str:
        """Sizes, repetitions, ansatz and where the circuits run (for ``print(model)``)."""
        where = "fast path" if self.backend is None else f"backend={self.backend!r}"
        readout = ", fast_measure=True" if self.fast_measure else ""
        return (
            f"in_dim={self.in_dim}, out_dim={self.out_dim}, reps={self.reps}, ansatz={self.ansatz!r}{readout}, {where}"
        )

    def _as_input(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` checked, integer and bool tensors converted to the parameter dtype."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"QKANLayer input must be a torch.Tensor, got {type(x).__name__}.")
        if x.is_complex():
            raise TypeError(
                f"QKANLayer input must be real, got a {x.dtype} tensor; pass the real features (x.real, x.abs(), "
                "or real and imaginary parts as separate features)."
            )
        if not x.is_floating_point():  # integer or bool features: as numbers in the layer's dtype
            x = x.to(self.theta.dtype)
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(
                f"QKANLayer expects input of shape (batch_size, {self.in_dim}), got {tuple(x.shape)}; "
                f"expected {self.in_dim} features per sample, got "
                f"{x.shape[-1] if x.dim() else 'a scalar'}."
            )
        if not bool(torch.isfinite(x).all()):
            raise ValueError("QKANLayer input contains NaN or infinite values; clean or clip the data first.")
        return x

    def _encode(self, angle: torch.Tensor) -> torch.Tensor:
        return torch.acos(angle.clamp(-1.0, 1.0)) if self.ansatz == "px" else angle

    def data_angles(self, x: torch.Tensor) -> torch.Tensor:
        """The data angles ``a_l`` of every edge: ``w * x + b`` (``acos`` of it for ``px``).

        Shape:
            x: ``(batch_size, in_dim)``. Returns ``(batch_size, out_dim, in_dim, reps)``.
        """
        return self._encode(torch.addcmul(self.preact_bias, self.preact_weight, x[:, None, :, None]))

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        """``phi_ji(x_i)`` for every sample and edge (the input as given: the batch norm is applied by :meth:`forward`).

        Shape:
            x: ``(batch_size, in_dim)``. Returns ``(batch_size, out_dim, in_dim)``.
        """
        return self._activations(self._as_input(x))

    def _activations(self, x: torch.Tensor) -> torch.Tensor:
        z = self._circuit_activations(x) if self.backend is not None else self._fast_activations(x)
        return _amplitude_difference(z) if self.fast_measure else z

    def _fast_activations(self, x: torch.Tensor) -> torch.Tensor:
        inputs = x[:, None, :]

        def data_angle(layer: int, offset: torch.Tensor | None) -> torch.Tensor:
            bias = self.preact_bias[..., layer]
            if self.ansatz == "px":
                angle = self._encode(torch.addcmul(bias, self.preact_weight[..., layer], inputs))
                return angle if offset is None else angle + offset
            bias = bias if offset is None else bias + offset
            return torch.addcmul(bias, self.preact_weight[..., layer], inputs)

        return daruan_expectation(self.program, self.theta, data_angle)

    def _circuit_activations(self, x: torch.Tensor) -> torch.Tensor:
        """Every (sample, edge) DARUAN as a bound circuit, all in one backend call."""
        assert self.backend is not None
        batch = x.shape[0]
        angles = self.data_angles(x).reshape(-1, self.reps)
        theta = self.theta.reshape(1, self.out_dim * self.in_dim, -1).expand(batch, -1, -1).reshape(angles.shape[0], -1)
        circuit = daruan_circuit(self.reps, self.ansatz)
        out = self.backend.expval(circuit, [Z(0)], {"theta": theta, "angle": angles})
        return out.reshape(batch, self.out_dim, self.in_dim).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``y_j = sum_i pw_ji (phi_ji(x_i) + pb_ji) + sum_i bw_ji silu(x_i)`` (``x`` batch-normed first if enabled)."""
        x = self._as_input(x)
        if self.bn is not None:
            x = self.bn(x)
        phi = self._activations(x)
        y = (phi * self.postact_weight).sum(dim=-1) + (self.postact_bias * self.postact_weight).sum(dim=-1)
        if self.options["base_trainable"] or bool(self.base_weight.detach().abs().max() > 0):
            y = y + F.linear(F.silu(x), self.base_weight)
        return y

    def extend(self, reps: int) -> QKANLayer:
        """A copy with ``reps`` re-uploadings that computes the same function now (layer extension).

        The old blocks and data gates keep their place, the old final block moves to the end of the old
        repetitions, and each new repetition starts with ``theta = 0``, ``w = 1``, ``b = 0``: its gates
        are ``RZ``'s (and identity rotations) after the old final block, which commute with the ``<Z>``
        read-out, so the output is unchanged until training moves them (``qkan``'s ``refine``).

        Raises:
            ValueError: ``reps`` not larger than the current repetitions, or an ansatz whose data gate
                is not an ``RZ`` (only :data:`EXTENDABLE_ANSATZES` extend without changing the function).
        """
        if isinstance(reps, bool) or not isinstance(reps, int) or reps <= self.reps:
            raise ValueError(f"extend() grows the repetitions: need reps > {self.reps}, got {reps!r}.")
        if self.ansatz not in EXTENDABLE_ANSATZES:
            raise ValueError(
                f"ansatz {self.ansatz!r} cannot grow without changing its function (its data gate is not an RZ); "
                f"extendable ansatzes: {', '.join(EXTENDABLE_ANSATZES)}."
            )
        grown = copy.deepcopy(self)
        grown.reps = reps
        grown.program = daruan_program(reps, self.ansatz)
        old = self.reps
        with torch.no_grad():
            theta = torch.zeros(self.out_dim, self.in_dim, reps + 1, self.theta.shape[-1], dtype=self.theta.dtype)
            theta[:, :, : old + 1] = self.theta  # block `old`, the old final one, now precedes the new repetitions
            weight = torch.ones(self.out_dim, self.in_dim, reps, dtype=self.theta.dtype)
            bias = torch.zeros_like(weight)
            weight[..., :old], bias[..., :old] = self.preact_weight, self.preact_bias
        grown.theta = nn.Parameter(theta.to(self.theta.device))
        trainable = self.options["preact_trainable"]
        grown.preact_weight = nn.Parameter(weight.to(self.theta.device), requires_grad=trainable)
        grown.preact_bias = nn.Parameter(bias.to(self.theta.device), requires_grad=trainable)
        return grown
