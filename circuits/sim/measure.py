"""Measurements on batched state vectors: probabilities, expectation values, samples.

Pure functions, no validation (the backend validates on entry). States have shape
``(batch_size, 2**num_qubits)``; qubit 0 is the most significant bit of the index.

Expectation values of Pauli strings use the identity
``P |i> = i**nY * (-1)**popcount(i & zy_mask) |i ^ xy_mask>``: Z-only strings are a
signed sum of probabilities (all of them in one matmul), and a string with X or Y
factors is one index gather and one inner product.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

from circuits.ir.observables import Observable, PauliString, Projector

__all__ = ["expectations", "marginal_probabilities", "probabilities", "sample_bits"]


def probabilities(state: torch.Tensor) -> torch.Tensor:
    """``|amplitude|**2``, differentiable (its backward is one pass: ``2 * grad * amplitude``).

    Shape:
        state: ``(batch_size, 2**n)`` complex or real. Returns ``(batch_size, 2**n)`` real.
    """
    if torch.is_grad_enabled() and state.requires_grad:
        return _Probabilities.apply(state)
    return _squared_magnitudes(state)


def _squared_magnitudes(state: torch.Tensor) -> torch.Tensor:
    if state.is_complex():  # 7x faster than view_as_real(state).square().sum(-1), a reduction over pairs
        return state.real.square() + state.imag.square()
    return state.square()


class _Probabilities(torch.autograd.Function):
    """``|psi|**2`` with a one-pass backward (``2 * grad * psi``).

    Torch's own backward, through ``real``, ``imag`` and ``square``, makes several passes. This one is
    differentiable again (torch operations on the saved states), so second derivatives work.
    """

    @staticmethod
    def forward(ctx, state):
        ctx.save_for_backward(state)
        return _squared_magnitudes(state)

    @staticmethod
    def backward(ctx, grad):
        (state,) = ctx.saved_tensors
        if not state.is_complex():
            return state * grad * 2
        # real arithmetic on the (re, im) pairs: a real grad times a complex state would first make it complex
        return torch.view_as_complex((torch.view_as_real(state) * grad.unsqueeze(-1)).mul_(2))


def marginal_probabilities(probs: torch.Tensor, num_qubits: int, qubits: Sequence[int]) -> torch.Tensor:
    """Probabilities of the basis states of ``qubits`` (in that order), summing out the others.

    Shape:
        probs: ``(batch_size, 2**num_qubits)``. Returns ``(batch_size, 2**len(qubits))``.
    """
    qubits = tuple(qubits)
    if qubits == tuple(range(num_qubits)):
        return probs
    batch = probs.shape[0]
    tensor = probs.reshape(batch, *([2] * num_qubits))
    others = [q + 1 for q in range(num_qubits) if q not in qubits]
    if others:
        tensor = tensor.sum(dim=others)
    kept = sorted(qubits)
    order = [kept.index(q) + 1 for q in qubits]
    tensor = tensor.permute(0, *order)
    return tensor.reshape(batch, 2 ** len(qubits))


@functools.lru_cache(maxsize=64)
def _basis_indices(num_qubits: int, device: torch.device) -> torch.Tensor:
    return torch.arange(2**num_qubits, device=device)


def _popcount_parity(values: torch.Tensor) -> torch.Tensor:
    """``popcount(v) % 2`` for non-negative int64 tensors."""
    parity = torch.zeros_like(values)
    v = values.clone()
    while bool((v > 0).any()):
        parity ^= v & 1
        v >>= 1
    return parity


def _masks(term: PauliString, num_qubits: int) -> tuple[int, int, int]:
    flip = zy = 0
    num_y = 0
    for q, letter in term.paulis:
        bit = 1 << (num_qubits - 1 - q)
        if letter in "XY":
            flip |= bit
        if letter in "ZY":
            zy |= bit
        num_y += letter == "Y"
    return flip, zy, num_y


@functools.lru_cache(maxsize=16)
def _diagonal_table(observables: tuple[Observable, ...], num_qubits: int, device: torch.device) -> torch.Tensor:
    """``(2**n, k)`` float64 table with the diagonal part of each observable (the Z-only terms, projectors)."""
    index = _basis_indices(num_qubits, device)
    columns = []
    for obs in observables:
        column = torch.zeros(2**num_qubits, dtype=torch.float64, device=device)
        if isinstance(obs, Projector):
            mask = torch.ones_like(index, dtype=torch.bool)
            for q, b in zip(obs.qubits, obs.bits, strict=True):
                mask &= ((index >> (num_qubits - 1 - q)) & 1) == b
            column += mask.to(torch.float64)
        else:
            for term in obs.terms:
                if term.is_diagonal:
                    _, zy, _ = _masks(term, num_qubits)
                    column += term.coeff * (1 - 2 * _popcount_parity(index & zy)).to(torch.float64)
        columns.append(column)
    return torch.stack(columns, dim=1)


@functools.lru_cache(maxsize=16)
def _offdiagonal_terms(
    observables: tuple[Observable, ...], num_qubits: int, device: torch.device
) -> tuple[tuple[int, torch.Tensor, torch.Tensor, complex], ...]:
    """For every X/Y-containing term: (observable column, partner index, sign vector, coeff * i**nY)."""
    index = _basis_indices(num_qubits, device)
    out = []
    for column, obs in enumerate(observables):
        if isinstance(obs, Projector):
            continue
        for term in obs.terms:
            if term.is_diagonal:
                continue
            flip, zy, num_y = _masks(term, num_qubits)
            signs = (1 - 2 * _popcount_parity(index & zy)).to(torch.float64)
            out.append((column, index ^ flip, signs, term.coeff * (1j**num_y)))
    return tuple(out)


def expectations(state: torch.Tensor, num_qubits: int, observables: Sequence[Observable]) -> torch.Tensor:
    """Expectation values ``<psi|O_k|psi>`` (real parts) for every state in the batch.

    Shape:
        state: ``(batch_size, 2**num_qubits)``. Returns ``(batch_size, len(observables))``,
        real, in the state's real dtype.
    """
    observables = tuple(observables)
    real_dtype = state.real.dtype if state.is_complex() else state.dtype
    table = _diagonal_table(observables, num_qubits, state.device).to(real_dtype)
    result = probabilities(state) @ table
    extra = _offdiagonal_terms(observables, num_qubits, state.device)
    if extra:
        columns = [result[:, k] for k in range(len(observables))]
        for column, partner, signs, factor in extra:
            # <psi|P|psi> = sum_i conj(psi[i ^ flip]) * factor * sign(i) * psi[i]
            overlap = (state.conj()[:, partner] * state * signs.to(real_dtype)).sum(dim=1)
            value = (overlap * factor).real if state.is_complex() else overlap * factor.real
            columns[column] = columns[column] + value
        result = torch.stack(columns, dim=1)
    return result


def sample_bits(
    probs: torch.Tensor, num_qubits: int, qubits: Sequence[int], shots: int, generator: torch.Generator | None
) -> torch.Tensor:
    """Draw measurement outcomes.

    Shape:
        probs: ``(batch_size, 2**num_qubits)``. Returns ``(batch_size, shots, len(qubits))`` int64 bits,
        column ``j`` holding the outcome of ``qubits[j]``.
    """
    marginal = marginal_probabilities(probs.detach().to(torch.float64), num_qubits, qubits).clamp_min(0)
    # inverse-CDF sampling: torch.multinomial is limited to 2**24 categories
    cdf = torch.cumsum(marginal, dim=1)
    cdf = cdf / cdf[:, -1:]
    draw_device = generator.device if generator is not None else marginal.device
    uniform = torch.rand(marginal.shape[0], shots, dtype=torch.float64, device=draw_device, generator=generator)
    uniform = uniform.to(marginal.device)
    outcomes = torch.searchsorted(cdf, uniform, right=True).clamp_max(marginal.shape[1] - 1)
    k = len(qubits)
    shifts = torch.arange(k - 1, -1, -1, device=outcomes.device)
    return (outcomes[..., None] >> shifts) & 1
