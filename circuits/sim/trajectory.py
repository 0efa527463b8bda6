"""The quantum-trajectory engine: noisy simulation with the memory of a state vector per trajectory.

Each channel ``rho -> sum_k K_k rho K_k^dagger`` is unravelled by drawing one branch ``k`` per trajectory
with a **state-independent** probability ``q_k = tr(K_k^dagger K_k) / d`` (from the passed-in generator)
and carrying the unnormalised state ``psi <- K_k psi / sqrt(q_k)``. Then

    E[|psi><psi|] = sum_k q_k K_k rho K_k^dagger / q_k = sum_k K_k rho K_k^dagger,

so the mean over trajectories of any linear function of ``|psi><psi|`` (an expectation value, the
probabilities) is an unbiased estimate of the density-matrix result. The ``q_k`` are constants for autograd
(detached): the expectation over the draws is the exact result for every parameter value, so the gradient
of the mean (the pathwise derivative through ``K_k`` and the gates) is unbiased too. Each estimate comes
with its standard error, ``std / sqrt(trajectories)`` over the trajectories (:class:`TrajectoryResult`).

Limits, documented in docs/noise.md:

* a trajectory's norm is not 1, so ``Probabilities`` sum to 1 in expectation only; ``Samples`` are drawn
  from the estimated distribution (clamped at 0 and normalised);
* the gradient with respect to a noise strength at exactly zero (``p = 0``, where a branch has ``q_k = 0``
  and ``K_k ~ sqrt(p)``) is not defined; use the density matrix there;
* ``StateVector`` is refused: a trajectory is one sample of the ensemble (the density matrix is the state).

Batches: the ``batch_size`` bindings times ``trajectories`` state vectors run as one batch of
``batch_size * trajectories`` states through :func:`circuits.sim.kernels.apply_matrix`. The operations are
fused as for the density matrix (:class:`~circuits.sim.density.DensityPlan`): each trajectory's drawn
Kraus operators and the gates of a block on at most two qubits multiply into one matrix per trajectory
(small products), applied in one pass over the states.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from circuits.backend import (
    Expectation,
    Measurement,
    Probabilities,
    Samples,
    StateVector,
    measured_qubits,
)
from circuits.ir.channels import channel_kraus
from circuits.ir.circuit import Circuit
from circuits.ir.gates import complex_dtype_for, gate_matrix
from circuits.ir.operation import Operation
from circuits.noise import apply_readout_errors
from circuits.sim.density import check_memory_fits, compile_density_plan, embed_operator, operation_params
from circuits.sim.kernels import apply_matrix
from circuits.sim.measure import expectations, marginal_probabilities, probabilities, sample_bits

__all__ = ["TrajectoryResult", "check_trajectory_memory", "measure_trajectories", "simulate_trajectories"]


@dataclass(frozen=True)
class TrajectoryResult:
    """A trajectory estimate and its standard error.

    Attributes:
        value: the mean over trajectories, shaped as the measurement's result (:mod:`circuits.backend`);
            differentiable.
        standard_error: ``std / sqrt(trajectories)`` of each entry, same shape, detached (zeros for
            ``Samples``, whose randomness is the shots').
        trajectories: trajectories per binding.
    """

    value: torch.Tensor
    standard_error: torch.Tensor
    trajectories: int


def check_trajectory_memory(
    num_qubits: int, states: int, itemsize: int, device: torch.device, *, copies: int = 3
) -> None:
    """Raise :class:`SimulationMemoryError` when ``copies`` of ``states`` state vectors would not fit."""
    check_memory_fits(
        states * itemsize * 2**num_qubits,
        copies,
        device,
        f"{states} trajectories (batch_size * trajectories) of {num_qubits} qubits",
        "Use fewer trajectories or a smaller batch (several calls, averaged).",
    )


def _operators(
    circuit: Circuit, values: dict[str, torch.Tensor], rows: int, real_dtype: torch.dtype, device: torch.device
) -> dict[int, torch.Tensor]:
    """Per operation index: a gate's matrix ``(1 or rows, d, d)`` or its Kraus operators ``(1 or rows, K, d, d)``."""
    out: dict[int, torch.Tensor] = {}
    dtype = complex_dtype_for(real_dtype)
    for (name, width), members in compile_density_plan(circuit).groups.items():
        ops: list[Operation] = [circuit.operations[i] for i in members]
        params = operation_params(ops, values, rows, real_dtype, device)
        build = channel_kraus if ops[0].is_channel else gate_matrix
        if ops[0].data is not None:
            for j, (index, op) in enumerate(zip(members, ops, strict=True)):
                out[index] = build(name, params[:, j], op.data, width).to(dtype)  # type: ignore[arg-type, operator]
            continue
        stacked = build(name, params, None, width).to(dtype)  # type: ignore[arg-type, operator]
        for j, index in enumerate(members):
            out[index] = stacked[:, j]
    return out


def _draw_branches(
    weights: torch.Tensor, rows: int, trajectories: int, generator: torch.Generator | None
) -> torch.Tensor:
    """One branch per trajectory: ``(rows * trajectories,)`` indices drawn from ``weights`` (``(1 or rows, K)``)."""
    device = generator.device if generator is not None else weights.device
    table = weights.detach().to(device=device, dtype=torch.float64)
    if table.shape[0] == 1:
        draws = torch.multinomial(table[0], rows * trajectories, replacement=True, generator=generator)
    else:
        draws = torch.multinomial(table, trajectories, replacement=True, generator=generator).reshape(-1)
    return draws.to(weights.device)


def simulate_trajectories(
    circuit: Circuit,
    values: dict[str, torch.Tensor],
    batch_size: int,
    trajectories: int,
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Final unnormalised trajectory states from ``|0...0>`` (see the module docstring).

    Args:
        circuit: gates and channels.
        values: bound parameter values, ``(1 or batch_size, size)`` each.
        batch_size: number of bindings.
        trajectories: trajectories per binding, ``>= 2``.
        dtype: ``torch.complex64`` or ``torch.complex128``.
        device: where the states live.
        generator: the randomness of the branch draws (torch's default generator when ``None``).

    Shape:
        Returns ``(rows, trajectories, 2**n)`` with ``rows`` 1 when no value is batched, else ``batch_size``.

    Raises:
        SimulationMemoryError: the states would not fit (with the estimate).
        InvalidChannelError: a bound noise strength out of its range.
    """
    n = circuit.num_qubits
    rows = batch_size if any(v.shape[0] != 1 for v in values.values()) else 1
    check_trajectory_memory(n, rows * trajectories, dtype.itemsize, device)
    real_dtype = torch.float64 if dtype == torch.complex128 else torch.float32
    operators = _operators(circuit, values, rows, real_dtype, device)
    states = rows * trajectories
    psi = torch.zeros(states, 2**n, dtype=dtype, device=device)
    psi[:, 0] = 1
    owner = torch.arange(rows, device=device).repeat_interleave(trajectories)  # the binding of each trajectory

    def factor(index: int) -> torch.Tensor:
        """The operation's matrix for every trajectory: ``(1 or states, d, d)``."""
        operand = operators[index]
        if not circuit.operations[index].is_channel:
            return operand if operand.shape[0] == 1 else operand.repeat_interleave(trajectories, dim=0)
        d = operand.shape[-1]
        weights = (operand.abs().square().sum(dim=(-2, -1)) / d).detach()  # tr(K^dagger K) / d, (1 or rows, K)
        branch = _draw_branches(weights, rows, trajectories, generator)
        source = owner if operand.shape[0] != 1 else torch.zeros_like(owner)
        return operand[source, branch] / weights[source, branch].sqrt().to(dtype)[:, None, None]

    # the density-matrix plan's fusion: one matrix per trajectory and block, one pass over the states each
    for block in compile_density_plan(circuit).blocks:
        operand = None
        for step in block.steps:
            matrix = None
            for index in step.factors:
                here = factor(index)
                matrix = here if matrix is None else here @ matrix
            assert matrix is not None
            if block.lifted:
                matrix = embed_operator(matrix, step.qubits, block.qubits)
            operand = matrix if operand is None else matrix @ operand
        psi = apply_matrix(psi, operand, block.qubits, n)
    return psi.reshape(rows, trajectories, 2**n)


def _mean_and_error(per_trajectory: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard error over axis 1 of ``(rows, trajectories, ...)``, broadcast to ``batch_size`` rows."""
    count = per_trajectory.shape[1]
    mean = per_trajectory.mean(dim=1)
    error = per_trajectory.detach().std(dim=1, correction=1) / count**0.5
    if mean.shape[0] != batch_size:
        mean = mean.expand(batch_size, *mean.shape[1:])
        error = error.expand(batch_size, *error.shape[1:])
    return mean, error


def measure_trajectories(
    states: torch.Tensor,
    circuit: Circuit,
    measurement: Measurement,
    batch_size: int,
    readout: Sequence[np.ndarray | None] | None,
    generator: torch.Generator | None,
) -> TrajectoryResult:
    """A measurement's trajectory estimate and its standard error.

    Args:
        states: :func:`simulate_trajectories` output, ``(rows, trajectories, 2**n)``.
        circuit: the circuit (width, measured qubits).
        measurement: ``Expectation``, ``Probabilities`` or ``Samples``.
        batch_size: number of bindings.
        readout: per circuit qubit, its readout matrix or ``None``; applied to ``Probabilities`` and ``Samples``.
        generator: randomness for ``Samples``.

    Raises:
        ValueError: ``StateVector`` (a trajectory is one sample of the ensemble).
    """
    rows, count, size = states.shape
    n = circuit.num_qubits
    flat = states.reshape(rows * count, size)
    if isinstance(measurement, StateVector):
        raise ValueError(
            "StateVector is not available with method='trajectory': a trajectory is one random sample of the noisy "
            "ensemble. Use TorchBackend(method='density_matrix').state(...) for the density matrix."
        )
    if isinstance(measurement, Expectation):
        per = expectations(flat, n, measurement.observables).reshape(rows, count, -1)
        mean, error = _mean_and_error(per, batch_size)
        return TrajectoryResult(mean, error, count)
    qubits = measured_qubits(circuit, measurement.qubits)  # type: ignore[union-attr]
    per = marginal_probabilities(probabilities(flat), n, qubits)
    if readout is not None:
        per = apply_readout_errors(per, [readout[q] for q in qubits])
    mean, error = _mean_and_error(per.reshape(rows, count, -1), batch_size)
    if isinstance(measurement, Probabilities):
        return TrajectoryResult(mean, error, count)
    assert isinstance(measurement, Samples)
    m = len(qubits)
    distribution = mean.detach().clamp_min(0)
    distribution = distribution / distribution.sum(dim=1, keepdim=True)
    bits = sample_bits(distribution, m, tuple(range(m)), measurement.shots, generator)
    return TrajectoryResult(bits, torch.zeros(bits.shape, dtype=mean.dtype, device=bits.device), count)
