r"""The quantum neuron's fast path: the postselected map of the neuron circuit, applied to a batched state.

The circuit is :func:`circuits.library.quantum_neuron` (Bausch, arXiv 2006.14619, section "Quantum
neurons"; RVQE ``FastQuantumNeuronLayer``; spec ``papers.md`` §1). On every basis state ``|x>`` of its
sources, a neuron of order ``k`` maps its target qubit by

.. math::
    M(\eta) = \cos^{2^k}\!\eta\; I + \sin^{2^k}\!\eta\; (-iY)
            = \sqrt{\cos^{2^{k+1}}\!\eta + \sin^{2^{k+1}}\!\eta}\; R_Y\big(2 f(\eta)\big),\qquad
    f(\eta) = \arctan\big(\tan^{2^k}\eta\big),

with ``eta(x) = (sum_S phi_S prod_{i in S} x_i + theta + beta) / 2``, then renormalises the whole
state. The squared norm it removes is the probability that every postselection of the circuit
succeeds. Here that map is a handful of tensor operations on a state of shape ``(B, 2, ..., 2)``
(no ancillas, no gates), differentiable by autograd, real or complex.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from circuits.library.quantum_neuron import DEFAULT_NEURON_OFFSET, neuron_subsets

__all__ = [
    "MAX_ORDER",
    "apply_quantum_neuron",
    "check_order",
    "neuron_activation",
    "neuron_factors",
    "neuron_pre_activation",
    "rotate_lane",
    "subset_indicator",
]

MAX_ORDER = 6
"""Largest order of the fast path: one neuron keeps at least ``2 * 2^(-2^k)`` of the norm (at
``eta = pi/4``), which for ``k = 7`` (``2^-127``) is below float32's smallest normal number."""


def neuron_activation(eta: torch.Tensor, order: int) -> torch.Tensor:
    r"""The activation ``f(eta) = arctan(tan(eta)^(2^k))``: the angle the target is rotated to.

    Computed as ``atan2(sin^(2^k) eta, cos^(2^k) eta)``, equal to the closed form wherever
    ``tan eta`` is finite and continuous through ``eta = pi/2``.

    Args:
        eta: pre-activations, any shape.
        order: ``k`` in ``1 .. MAX_ORDER``.

    Returns:
        ``f(eta)`` in ``[0, pi/2]``, the shape of ``eta``.
    """
    cos, sin = neuron_factors(eta, order)
    return torch.atan2(sin, cos)


def neuron_factors(eta: torch.Tensor, order: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cos^(2^k) eta, sin^(2^k) eta)``: the amplitudes the order-``k`` neuron gives ``|0>`` and ``|1>``.

    Args:
        eta: pre-activations, any shape.
        order: ``k`` in ``1 .. MAX_ORDER``.

    Returns:
        Two tensors of the shape of ``eta``.
    """
    k = check_order(order)
    power = 2**k
    return torch.cos(eta) ** power, torch.sin(eta) ** power


def subset_indicator(
    num_sources: int, degree: int, *, dtype: torch.dtype = torch.float32, device: torch.device | None = None
) -> torch.Tensor:
    """The monomials ``prod_{i in S} x_i`` for every source basis state ``x`` and weighted subset ``S``.

    Row ``x`` is the basis state whose bits, source 0 most significant, are the sources' values;
    column ``j`` is subset ``j`` of :func:`circuits.library.neuron_subsets`.

    Args:
        num_sources: ``m``.
        degree: the largest subset.
        dtype: dtype of the 0/1 entries.
        device: their device.

    Returns:
        A 0/1 matrix.

    Shape:
        - Output: ``(2**m, num_subsets)``.
    """
    subsets = neuron_subsets(num_sources, degree)
    states = torch.arange(2**num_sources, device=device)
    shifts = torch.arange(num_sources - 1, -1, -1, device=device)
    bits = (states[:, None] >> shifts) & 1  # (2**m, m), source 0 most significant
    columns = [bits[:, list(s)].prod(dim=1) for s in subsets]
    return torch.stack(columns, dim=1).to(dtype)


def neuron_pre_activation(
    weights: torch.Tensor,
    bias: torch.Tensor,
    indicator: torch.Tensor,
    *,
    offset: float = DEFAULT_NEURON_OFFSET,
) -> torch.Tensor:
    r"""``eta(x) = (sum_S phi_S prod_{i in S} x_i + theta + beta) / 2`` for every source basis state ``x``.

    Args:
        weights: ``phi``, one row of ``num_subsets`` weights per neuron.
        bias: ``theta``, one per neuron.
        indicator: :func:`subset_indicator` for the neurons' sources and degree.
        offset: ``beta`` (``pi/2`` as RVQE).

    Returns:
        The pre-activations.

    Shape:
        - Input: ``weights`` ``(*, num_subsets)``, ``bias`` ``(*)``, ``indicator`` ``(2**m, num_subsets)``.
        - Output: ``(*, 2**m)``.
    """
    return 0.5 * (weights @ indicator.T + bias.unsqueeze(-1) + offset)


def rotate_lane(state: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    r"""Apply ``[[cos, -sin], [sin, cos]]`` to the middle axis of ``state``, per entry of the other axes.

    The kernel of the neuron (and of ``RY``): with the target qubit as axis 2 of a
    ``(B, L, 2, R)`` view (``L = 2^(qubits before it)``, ``R = 2^(qubits after it)``),
    ``new_0 = cos psi_0 - sin psi_1`` and ``new_1 = sin psi_0 + cos psi_1``. Not renormalised.

    Args:
        state: the state, viewed with the target qubit as axis 2.
        cos: factors broadcastable to ``(B, L, R)``.
        sin: factors broadcastable to ``(B, L, R)``.

    Returns:
        The rotated (unnormalised) state.

    Shape:
        - Input: ``state`` ``(B, L, 2, R)``.
        - Output: ``(B, L, 2, R)``.
    """
    zero, one = state[:, :, 0], state[:, :, 1]
    return torch.stack((cos * zero - sin * one, sin * zero + cos * one), dim=2)


def apply_quantum_neuron(
    state: torch.Tensor,
    target: int,
    weights: torch.Tensor,
    bias: torch.Tensor | float,
    *,
    order: int = 2,
    degree: int = 2,
    sources: Sequence[int] | None = None,
    offset: float = DEFAULT_NEURON_OFFSET,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Apply one quantum neuron to a batch of states and renormalise (the postselected circuit's output).

    The same map as running :func:`circuits.library.quantum_neuron` with the same ``sources``,
    ``target``, ``order``, ``degree``, ``weights`` and ``bias`` and projecting its ancillas onto ``|0>``.

    Args:
        state: ``n``-qubit states, qubit ``q`` on axis ``q + 1`` (real or complex).
        target: the qubit the neuron rotates.
        weights: ``phi``, one per subset of :func:`circuits.library.neuron_subsets` (``len(sources)``, ``degree``).
        bias: ``theta``, a scalar (tensor or number; cast to the dtype of ``weights``).
        order: ``k`` in ``1 .. MAX_ORDER``.
        degree: the largest source subset with a weight, ``1 .. len(sources)``.
        sources: the qubits read, in weight order; ``None`` reads every other qubit in increasing order.
        offset: the constant ``beta`` (``pi/2``).

    Returns:
        ``(new_state, probability)``: the renormalised state and, per row, the probability that the
        neuron's postselections succeed, ``|M psi|^2 / |psi|^2``.

    Shape:
        - Input: ``state`` ``(B, 2, ..., 2)``; ``weights`` ``(num_subsets,)``; ``bias`` ``()``.
        - Output: ``(B, 2, ..., 2)`` and ``(B,)``.

    Raises:
        TypeError: ``state`` is not a tensor.
        ValueError: a state that is not ``(B, 2, ..., 2)``, qubits out of range or repeated, ``order`` or
            ``degree`` out of range, ``weights`` of the wrong length.
    """
    if not isinstance(state, torch.Tensor):
        raise TypeError(f"apply_quantum_neuron needs a torch.Tensor state, got {type(state).__name__}.")
    n = state.ndim - 1
    if n < 2 or any(size != 2 for size in state.shape[1:]):
        raise ValueError(
            f"apply_quantum_neuron needs states of shape (B, 2, ..., 2) with at least two qubits, "
            f"got {tuple(state.shape)}; reshape a (B, 2**n) state with state.reshape(B, *[2] * n)."
        )
    check_order(order)
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < n:
        raise ValueError(f"target must be a qubit index in 0..{n - 1}, got {target!r}.")
    source_list = [q for q in range(n) if q != target] if sources is None else [int(q) for q in sources]
    if not source_list or len(set(source_list)) != len(source_list) or target in source_list:
        raise ValueError(
            f"sources must be distinct qubits other than the target {target}, at least one, got {source_list}."
        )
    if any(not 0 <= q < n for q in source_list):
        raise ValueError(f"sources must be qubit indices in 0..{n - 1}, got {source_list}.")
    m = len(source_list)
    bias = torch.as_tensor(bias, dtype=weights.dtype, device=weights.device)
    indicator = subset_indicator(m, degree, dtype=weights.dtype, device=weights.device)
    if weights.shape != (indicator.shape[1],):
        raise ValueError(
            f"a neuron with {m} sources and degree {degree} has {indicator.shape[1]} weights (one per subset of "
            f"1..{degree} sources), got weights of shape {tuple(weights.shape)}."
        )
    cos, sin = neuron_factors(neuron_pre_activation(weights, bias, indicator, offset=offset), order)
    # factors indexed by the sources' bits (source 0 first) -> broadcast over the lanes other than the target
    others = [q for q in range(n) if q != target]
    order_in_lanes = sorted(range(m), key=lambda i: source_list[i])
    layout = [2 if q in source_list else 1 for q in others]
    cos = cos.reshape([2] * m).permute(order_in_lanes).reshape(layout)
    sin = sin.reshape([2] * m).permute(order_in_lanes).reshape(layout)
    batch = state.shape[0]
    view = state.reshape(batch, 2**target, 2, 2 ** (n - 1 - target))
    left, right = 2**target, 2 ** (n - 1 - target)
    full = [2] * (n - 1)
    out = rotate_lane(view, cos.expand(full).reshape(left, right), sin.expand(full).reshape(left, right))
    before = state.abs().square().reshape(batch, -1).sum(dim=1)
    after = out.abs().square().reshape(batch, -1).sum(dim=1)
    out = out / after.sqrt().reshape(batch, 1, 1, 1).to(out.dtype)
    return out.reshape(state.shape), after / before


def check_order(order: object) -> int:
    """Validate a neuron order ``k`` (an int in ``1 .. MAX_ORDER``)."""
    if isinstance(order, bool) or not isinstance(order, int):
        raise TypeError(f"order must be an int in 1..{MAX_ORDER}, got {order!r} ({type(order).__name__}).")
    if not 1 <= order <= MAX_ORDER:
        raise ValueError(
            f"order must be in 1..{MAX_ORDER} (the paper uses 2), got {order}: one neuron of order k keeps as little "
            f"as 2 * 2**-(2**k) of the state's norm, which for k > {MAX_ORDER} underflows float32."
        )
    return order
