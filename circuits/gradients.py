"""Parameter-shift gradients for backends without autograd (Aer, PennyLane devices, hardware).

:func:`parameter_shift_run` wraps a backend's non-differentiable ``execute`` in a
:class:`torch.autograd.Function`. Its backward evaluates the shift rule of every
parametrized gate angle, with **all shifted circuits of the batch in one
``execute`` call**, and hands the derivatives to torch autograd, which carries them
through the angle expressions (``w * x + b`` ...) to the parameter tensors.

When does a shifted circuit run? Only when a gradient is needed:

* a forward pass sends the forward circuits only (``batch_size`` bindings); its backward, if
  one follows, sends every shifted circuit in one more call. A prediction without
  ``torch.no_grad()`` therefore costs no shifted circuit (on hardware: no money) at all;
* inside :func:`training_step` a backend that asks for it (``eager=True``: the hardware
  backends, where every call is a paid job) sends the forward and the shifted circuits in
  **one** call: one job per training step instead of two. ``qml.training.fit`` marks its
  steps; a hand-written loop wraps forward and backward in ``with training_step():``. A
  forward inside the block that is not followed by a backward has paid for its shifted
  circuits in vain.

Shift rules come from the frequencies with which an expectation value depends on a
gate angle (:attr:`circuits.ir.gates.GateSpec.frequencies`). For frequencies
``Omega_1 < ... < Omega_R`` the expectation is a trigonometric polynomial
``f(theta) = a_0 + sum_l a_l cos(Omega_l theta) + b_l sin(Omega_l theta)``, so with
``R`` shifts ``x_mu``, ``(f(theta + x_mu) - f(theta - x_mu)) / 2 = sum_l sin(Omega_l x_mu) c_l``
and ``f'(theta) = sum_l Omega_l c_l``. Solving that ``R x R`` system gives the
general rule of Wierichs, Izaac, Wang and Lin, "General parameter-shift rules for
quantum gradients", Quantum 6, 677 (2022), eq. (9); with one frequency it is the
familiar two-term rule ``f' = [f(theta + pi/2) - f(theta - pi/2)] / 2``.
See docs/derivations/parameter_shift.md.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np
import torch

from circuits.backend import Expectation, Measurement, Probabilities
from circuits.errors import UnsupportedChannelError
from circuits.ir.circuit import Circuit
from circuits.ir.gates import gate_spec
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle, ParameterVector

__all__ = [
    "SLOT_VECTOR",
    "EagerExecute",
    "Execute",
    "in_training_step",
    "parameter_shift_run",
    "shift_rule",
    "slot_circuit",
    "training_step",
]

SLOT_VECTOR = "gate_angles"
"""Name of the parameter vector that holds the gate angles of a :func:`slot_circuit`."""


Execute = Callable[[Circuit, dict[str, torch.Tensor], int, Measurement], torch.Tensor]
"""``execute(circuit, values, batch_size, measurement) -> Tensor``: a backend's non-differentiable run."""


class EagerExecute(Protocol):
    """The runner of an eager backend (``eager=True``): told which of its bindings are gradient ones."""

    def __call__(
        self,
        circuit: Circuit,
        values: dict[str, torch.Tensor],
        batch_size: int,
        measurement: Measurement,
        *,
        gradient_rows: int = 0,
    ) -> torch.Tensor:
        """Run ``batch_size`` bindings; the last ``gradient_rows`` of them are parameter-shift evaluations.

        ``gradient_rows`` lets a paid backend price forward and gradient circuits apart; it never
        changes the result.
        """


_TRAINING_STEP: contextvars.ContextVar[bool] = contextvars.ContextVar("qml_hybrid_training_step", default=False)


@contextlib.contextmanager
def training_step() -> Iterator[None]:
    """Mark a training step (forward and backward): eager backends send one job for both.

    Inside the block, :func:`parameter_shift_run` with ``eager=True`` (the hardware backends)
    sends the shifted circuits together with the forward ones, so that the backward makes no
    call: one job per step. Outside it, the forward sends only the forward circuits and the
    backward, if any, the shifted ones (two jobs per step, none wasted). Re-entrant; local to
    the thread or task (a :class:`contextvars.ContextVar`).

    Example:
        >>> from circuits.gradients import training_step
        >>> with training_step():  # doctest: +SKIP
        ...     loss = loss_fn(model(x), y)
        ...     loss.backward()
        ...     optimizer.step()
    """
    token = _TRAINING_STEP.set(True)
    try:
        yield
    finally:
        _TRAINING_STEP.reset(token)


def in_training_step() -> bool:
    """Whether the caller runs inside :func:`training_step`."""
    return _TRAINING_STEP.get()


@functools.lru_cache(maxsize=256)
def shift_rule(frequencies: tuple[float, ...]) -> tuple[tuple[float, float], ...]:
    """Coefficients and shifts with ``df/dtheta = sum_j coeff_j * f(theta + shift_j)``.

    Args:
        frequencies: the distinct positive frequencies of ``f`` in ``theta``; empty when
            ``f`` does not depend on ``theta`` (then the rule is empty and the derivative 0).

    Returns:
        ``((coeff, shift), ...)``, ``2 R`` pairs for ``R`` frequencies.
    """
    omegas = np.array(sorted(set(frequencies)), dtype=np.float64)
    if omegas.size == 0:
        return ()
    r = omegas.size
    base = omegas[0]
    shifts = (2 * np.arange(1, r + 1) - 1) * math.pi / (2 * r * base)
    system = np.sin(np.outer(shifts, omegas))  # S[mu, l] = sin(Omega_l x_mu)
    if np.linalg.cond(system) > 1e8:  # non-commensurate frequencies: spread the shifts evenly
        shifts = np.arange(1, r + 1) * math.pi / ((r + 1) * omegas[-1]) * 2
        system = np.sin(np.outer(shifts, omegas))
    weights = np.linalg.solve(system.T, omegas)  # f' = sum_mu y_mu (f(+x_mu) - f(-x_mu)) / 2
    rule = []
    for y, x in zip(weights, shifts, strict=True):
        rule.append((float(y / 2), float(x)))
        rule.append((float(-y / 2), float(-x)))
    return tuple(rule)


@functools.lru_cache(maxsize=256)
def slot_circuit(circuit: Circuit) -> tuple[Circuit, tuple[Angle, ...], tuple[tuple[tuple[float, float], ...], ...]]:
    """Rewrite ``circuit`` so every symbolic gate angle is its own entry of the vector :data:`SLOT_VECTOR`.

    Noise channels with constant parameters stay as they are (the shift rule of a gate angle holds
    with channels around it: the result stays a trigonometric polynomial of the angle).

    Raises:
        UnsupportedChannelError: a noise channel has a symbolic parameter (no shift rule for it).

    Returns:
        ``(rewritten circuit, the original angle of each slot, the shift rule of each slot)``.
    """
    slots: list[Angle] = []
    rules: list[tuple[tuple[float, float], ...]] = []
    symbolic = sum(1 for op in circuit for p in op.params if not p.is_constant)
    vector = ParameterVector(SLOT_VECTOR, max(symbolic, 1))
    ops = []
    for op in circuit:
        if op.is_channel:
            if op.is_parametrized:
                raise UnsupportedChannelError(
                    f"The parameter-shift rule cannot differentiate the symbolic parameters of noise channel "
                    f"{op.name!r} ({', '.join(str(p) for p in op.params)}): a noise strength enters the result "
                    "linearly, not as a rotation angle. Differentiate it on TorchBackend(method='density_matrix') "
                    "(autograd), or bind it to a number first (circuit.bind)."
                )
            ops.append(op)
            continue
        frequencies = gate_spec(op.name).param_frequencies(op.data)
        params = []
        for j, angle in enumerate(op.params):
            if angle.is_constant:
                params.append(angle)
                continue
            params.append(vector[len(slots)])
            slots.append(angle)
            rules.append(shift_rule(tuple(frequencies[j])))
        ops.append(Operation(op.name, op.qubits, tuple(params), op.data))
    return Circuit(circuit.num_qubits, ops), tuple(slots), tuple(rules)


def _shifted_angles(angles: torch.Tensor, rules) -> tuple[list[torch.Tensor], list[tuple[int, float, int]]]:
    """Every shifted copy of the angles, and ``(slot, coefficient, block)`` of each."""
    shifted, terms = [], []
    for slot, rule in enumerate(rules):
        for coeff, shift in rule:
            moved = angles.detach().clone()
            moved[:, slot] += shift
            terms.append((slot, coeff, len(shifted)))
            shifted.append(moved)
    return shifted, terms


class _ParameterShift(torch.autograd.Function):
    @staticmethod
    def forward(ctx, execute: Execute, circuit: Circuit, rules, measurement: Measurement, eager: bool, angles):
        ctx.execute, ctx.circuit, ctx.rules, ctx.measurement = execute, circuit, rules, measurement
        ctx.save_for_backward(angles)
        batch_size = angles.shape[0]
        ctx.shifted_results = None
        if eager:  # the shifted circuits go out with the forward ones: one backend call per training step
            shifted, ctx.terms = _shifted_angles(angles, rules)
            stacked = torch.cat([angles.detach(), *shifted], dim=0)
            rows = stacked.shape[0]
            results = execute(circuit, {SLOT_VECTOR: stacked}, rows, measurement, gradient_rows=rows - batch_size)
            ctx.shifted_results = results[batch_size:].reshape(len(shifted), batch_size, -1)
            return results[:batch_size]
        return execute(circuit, {SLOT_VECTOR: angles.detach()}, batch_size, measurement, gradient_rows=0)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output: torch.Tensor):
        (angles,) = ctx.saved_tensors
        batch_size = angles.shape[0]
        grad_angles = torch.zeros_like(angles)
        if ctx.shifted_results is not None:
            results, terms = ctx.shifted_results, ctx.terms
        else:
            shifted, terms = _shifted_angles(angles, ctx.rules)
            if not shifted:
                return None, None, None, None, None, grad_angles
            stacked = torch.cat(shifted, dim=0)
            rows = stacked.shape[0]
            results = ctx.execute(ctx.circuit, {SLOT_VECTOR: stacked}, rows, ctx.measurement, gradient_rows=rows)
            results = results.reshape(len(shifted), batch_size, -1)
        results = results.to(grad_output.dtype)
        upstream = grad_output.reshape(batch_size, -1)
        for slot, coeff, block in terms:
            grad_angles[:, slot] += coeff * (results[block] * upstream).sum(-1).to(grad_angles.dtype)
        return None, None, None, None, None, grad_angles


def _ignoring_gradient_rows(execute: Execute) -> EagerExecute:
    def run(circuit, values, batch_size, measurement, *, gradient_rows: int = 0):
        return execute(circuit, values, batch_size, measurement)

    return run


def parameter_shift_run(
    execute: Execute | EagerExecute,
    circuit: Circuit,
    values: dict[str, torch.Tensor],
    batch_size: int,
    measurement: Measurement,
    *,
    eager: bool = False,
) -> torch.Tensor:
    """Run ``execute`` and make the result differentiable w.r.t. ``values`` by the parameter-shift rule.

    Args:
        execute: the backend's non-differentiable batch runner; with ``eager=True`` an
            :class:`EagerExecute`, called with ``gradient_rows=`` (the hardware backends price the
            gradient circuits apart with it), else a plain :data:`Execute`.
        circuit: the validated circuit.
        values: bound parameter values, ``(1 or batch_size, size)`` each; tensors that require
            grad get gradients.
        batch_size: number of bindings.
        measurement: an :class:`Expectation` or :class:`Probabilities` (other measurements
            are not differentiable and run directly).
        eager: inside :func:`training_step`, evaluate the shifted bindings in the forward call
            already (one ``execute`` per training step instead of two: what hardware backends
            want, where a call is a paid job); the backward then makes no call. Outside a
            training step it has no effect: a forward never pays for a gradient nobody asked for.

    Returns:
        ``execute``'s result; its backward makes one ``execute`` call with all
        ``batch_size * sum_g 2 R_g`` shifted bindings (none when they rode along with an eager
        forward). First derivatives only.
    """
    run = execute if eager else _ignoring_gradient_rows(execute)  # type: ignore[arg-type]
    needs_grad = torch.is_grad_enabled() and any(v.requires_grad for v in values.values())
    if not needs_grad or not isinstance(measurement, (Expectation, Probabilities)):
        detached = {k: v.detach().expand(batch_size, -1) for k, v in values.items()}
        return run(circuit, detached, batch_size, measurement, gradient_rows=0)
    rewritten, slots, rules = slot_circuit(circuit)
    angles = torch.stack([angle.evaluate(values).expand(batch_size) for angle in slots], dim=1)
    return _ParameterShift.apply(run, rewritten, rules, measurement, eager and in_training_step(), angles)
