r"""Hamiltonian neural networks: a learned scalar energy whose symplectic gradient is the vector field.

Greydanus, Dzamba, Yosinski, "Hamiltonian Neural Networks" (NeurIPS 2019). A network
:math:`H_\theta(q, p)` is trained so that Hamilton's equations (the paper's Eq. 1)

.. math::
    \frac{dq}{dt} = \frac{\partial H_\theta}{\partial p}, \qquad
    \frac{dp}{dt} = -\frac{\partial H_\theta}{\partial q}

reproduce observed time derivatives. The field is :math:`J \nabla H_\theta` with the canonical
matrix :math:`J = \begin{pmatrix} 0 & I \\ -I & 0 \end{pmatrix}` (the reference code's
``permutation_tensor``), taken by autograd inside the graph, so the loss (Eq. 3)

.. math::
    L_{HNN} = \left\| \frac{\partial H_\theta}{\partial p} - \frac{\partial q}{\partial t} \right\|^2
            + \left\| \frac{\partial H_\theta}{\partial q} + \frac{\partial p}{\partial t} \right\|^2

trains :math:`\theta` through the gradient (a second derivative: :math:`\partial_\theta \nabla_x H`).
Because :class:`HNN` returns the field, Eq. 3 is a plain ``nn.MSELoss()(hnn(x), dxdt)``.

Conventions: a phase-space point is a row ``x = (q, p)`` of even length ``2n``, the first half the
coordinates, the second the momenta (two-body: ``(qx1, qx2, qy1, qy2, px1, px2, py1, py2)``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import torch
from torch import nn

__all__ = ["HNN", "baseline_mlp", "canonical_matrix", "hamiltonian_mlp", "symplectic_gradient", "orthogonal_tanh_mlp"]

_SCALAR_FIX = (
    "a Hamiltonian network must return one energy per sample. End it with a layer of one output "
    "(e.g. nn.Linear(hidden, 1), QKAN([d, ..., 1]), or a QuantumLayer with one observable)."
)


def canonical_matrix(
    dim: int, *, dtype: torch.dtype = torch.float32, device: torch.device | None = None
) -> torch.Tensor:
    r"""The canonical symplectic matrix :math:`J = [[0, I_n], [-I_n, 0]]` of a ``2n``-dimensional phase space.

    The HNN field is ``J @ grad H``: ``(dH/dp, -dH/dq)``.

    Args:
        dim: the phase-space dimension ``2n`` (even, at least 2).
        dtype: the matrix's dtype.
        device: the matrix's device.

    Shape:
        - Output: ``(dim, dim)``.

    Raises:
        ValueError: ``dim`` is not a positive even number.
    """
    _check_dim(dim)
    n = dim // 2
    eye = torch.eye(n, dtype=dtype, device=device)
    zero = torch.zeros(n, n, dtype=dtype, device=device)
    return torch.cat([torch.cat([zero, eye], 1), torch.cat([-eye, zero], 1)], 0)


def symplectic_gradient(
    hamiltonian: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *, create_graph: bool | None = None
) -> torch.Tensor:
    r"""Hamilton's equations of a scalar function: ``(dH/dp, -dH/dq)`` at every row of ``x`` (Eq. 1).

    Works whatever the caller's grad mode: the derivative with respect to ``x`` is taken under
    :func:`torch.enable_grad`, so it is also available inside ``torch.no_grad()`` (as
    :func:`qml.training.evaluate` calls models).

    Args:
        hamiltonian: maps ``(batch_size, 2n)`` points to ``(batch_size,)`` or ``(batch_size, 1)`` energies.
        x: phase-space points ``(q, p)``.
        create_graph: keep the graph of the gradient, so that a loss on the field can be differentiated
            with respect to the weights (a second derivative). ``None``: whenever the caller has gradients
            enabled (training), not under ``torch.no_grad()`` (evaluation, rollouts).

    Shape:
        - ``x``: ``(batch_size, 2n)``. Output: ``(batch_size, 2n)``.

    Raises:
        TypeError: ``x`` is not a floating-point tensor.
        ValueError: ``x`` is not ``(batch_size, 2n)``, or ``hamiltonian`` does not return one scalar per row.
        RuntimeError: called under :func:`torch.inference_mode` (no autograd there at all).
    """
    _check_points(x)
    if torch.is_inference_mode_enabled():
        raise RuntimeError(
            "the Hamiltonian field is a gradient and needs autograd, which torch.inference_mode() switches off; "
            "call the HNN under torch.no_grad() instead (the field is then computed without keeping a graph)."
        )
    if create_graph is None:
        create_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        points = x if x.requires_grad else x.detach().requires_grad_(True)
        energy = _scalar_energy(hamiltonian(points), x.shape)
        (gradient,) = torch.autograd.grad(energy.sum(), points, create_graph=create_graph, allow_unused=True)
    if gradient is None:  # H does not depend on x at all: the field is zero
        gradient = torch.zeros_like(points)
    n = x.shape[-1] // 2
    field = torch.cat([gradient[..., n:], -gradient[..., :n]], dim=-1)
    return field if create_graph else field.detach()


class HNN(nn.Module):
    r"""A Hamiltonian neural network: any scalar network ``H(q, p)`` whose symplectic gradient is the output.

    Greydanus et al. 2019, Eqs. 1-3: ``forward(x) = (dH/dp, -dH/dq)``, the vector field the HNN
    predicts, differentiable with respect to the weights while training. The wrapped network may be an
    MLP (:func:`hamiltonian_mlp`), a :class:`~qml.kan.QKAN` ending in one output, a
    :class:`~qml.layers.QuantumLayer` with one observable, or any module mapping ``(batch_size, 2n)`` to
    ``(batch_size,)`` or ``(batch_size, 1)``; it must be twice differentiable (the loss differentiates
    ``dH/dx`` with respect to the weights), so a quantum layer needs a backend that backpropagates
    (:class:`circuits.TorchBackend`, ``diff_method="backprop"``).

    Args:
        hamiltonian: the scalar network.
        dim: the phase-space dimension ``2n`` when known; inputs of another width are then refused.
            ``None``: any even width.

    Shape:
        - Input: ``(batch_size, 2n)``, rows ``(q, p)``.
        - Output: ``(batch_size, 2n)``, rows ``(dq/dt, dp/dt)``.

    Raises:
        TypeError: ``hamiltonian`` is not an ``nn.Module``.
        ValueError: ``dim`` is not even; at call time, an input that is not ``(batch_size, dim)`` or a
            network whose output is not one scalar per sample.

    Example:
        >>> model = HNN(hamiltonian_mlp(2, hidden=16, generator=torch.Generator().manual_seed(0)))
        >>> model(torch.zeros(5, 2)).shape
        torch.Size([5, 2])
    """

    def __init__(self, hamiltonian: nn.Module, *, dim: int | None = None) -> None:
        super().__init__()
        if not isinstance(hamiltonian, nn.Module):
            raise TypeError(
                f"HNN wraps a torch.nn.Module that maps (batch_size, 2n) points to energies, got "
                f"{type(hamiltonian).__name__}; wrap a function in a module, or use symplectic_gradient()."
            )
        if dim is not None:
            _check_dim(dim)
        self.hamiltonian = hamiltonian
        self.dim = dim

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """The learned Hamiltonian ``H(x)``, one value per row.

        Shape:
            - Input: ``(batch_size, 2n)``. Output: ``(batch_size,)``.
        """
        self._check_width(x)
        return _scalar_energy(self.hamiltonian(x), x.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The predicted field ``(dH/dp, -dH/dq)`` (Eq. 1); its graph is kept whenever gradients are enabled."""
        self._check_width(x)
        return symplectic_gradient(self.hamiltonian, x)

    def extra_repr(self) -> str:
        """The phase-space dimension, when fixed."""
        return f"dim={self.dim}" if self.dim is not None else ""

    def _check_width(self, x: torch.Tensor) -> None:
        _check_points(x)
        if self.dim is not None and x.shape[-1] != self.dim:
            raise ValueError(
                f"this HNN was built for {self.dim}-dimensional phase space (n={self.dim // 2} coordinates and "
                f"{self.dim // 2} momenta), got points of shape {tuple(x.shape)}; pass (batch_size, {self.dim}) rows."
            )


def orthogonal_tanh_mlp(width: Sequence[int], *, generator: torch.Generator | None = None) -> nn.Sequential:
    """The reference code's MLP: ``Linear -> tanh -> ... -> Linear``, orthogonal weights, no bias on the last layer.

    ``nn_models.MLP`` of ``greydanus/hamiltonian-nn``: weights initialised by
    :func:`torch.nn.init.orthogonal_` (drawn from ``generator``), hidden biases PyTorch's default uniform
    range (from ``generator`` too), the output layer without a bias.

    Args:
        width: ``[d_in, hidden, ..., d_out]``, at least two entries.
        generator: the randomness of the initial weights (``None``: torch's global generator).

    Shape:
        - Input: ``(batch_size, width[0])``. Output: ``(batch_size, width[-1])``.
    """
    width = list(width)
    if len(width) < 2 or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in width):
        raise ValueError(f"orthogonal_tanh_mlp needs at least two positive int widths [d_in, ..., d_out], got {width}.")
    layers: list[nn.Module] = []
    pairs = list(itertools.pairwise(width))
    for index, (fan_in, fan_out) in enumerate(pairs):
        last = index == len(pairs) - 1
        with torch.random.fork_rng(devices=[]):  # nn.Linear draws from the global generator: leave it untouched
            linear = nn.Linear(fan_in, fan_out, bias=not last)
        with torch.no_grad():
            nn.init.orthogonal_(linear.weight, generator=generator)
            if linear.bias is not None:
                bound = fan_in**-0.5
                linear.bias.uniform_(-bound, bound, generator=generator)
        layers.append(linear)
        if not last:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def hamiltonian_mlp(
    dim: int, hidden: int = 200, *, layers: int = 3, generator: torch.Generator | None = None
) -> nn.Sequential:
    """The paper's Hamiltonian network: ``layers`` linear layers of ``hidden`` tanh units, one output.

    Args:
        dim: phase-space dimension ``2n`` (the input width).
        hidden: hidden units per layer (200 in the paper).
        layers: linear layers (3 in the paper).
        generator: the randomness of the initial weights.
    """
    _check_dim(dim)
    return orthogonal_tanh_mlp([dim, *([hidden] * (layers - 1)), 1], generator=generator)


def baseline_mlp(
    dim: int, hidden: int = 200, *, layers: int = 3, generator: torch.Generator | None = None
) -> nn.Sequential:
    """The paper's baseline: the same MLP as :func:`hamiltonian_mlp`, predicting the ``2n`` field components directly.

    Args:
        dim: phase-space dimension ``2n`` (input and output width).
        hidden: hidden units per layer (200 in the paper).
        layers: linear layers (3 in the paper).
        generator: the randomness of the initial weights.
    """
    _check_dim(dim)
    return orthogonal_tanh_mlp([dim, *([hidden] * (layers - 1)), dim], generator=generator)


def _check_dim(dim: int) -> None:
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2 or dim % 2:
        raise ValueError(
            f"a phase space has an even dimension 2n >= 2 (n coordinates q, n momenta p), got dim={dim!r}."
        )


def _check_points(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"phase-space points must be a torch.Tensor of shape (batch_size, 2n), got {type(x).__name__}.")
    if not x.is_floating_point():
        raise TypeError(f"phase-space points must be floating point, got a {x.dtype} tensor; convert with x.float().")
    if x.dim() != 2 or x.shape[-1] < 2 or x.shape[-1] % 2:
        raise ValueError(
            f"phase-space points must be rows (q, p) of shape (batch_size, 2n) with an even width, got shape "
            f"{tuple(x.shape)}; put the n coordinates first and the n momenta second in each row."
        )


def _scalar_energy(energy: torch.Tensor, input_shape: torch.Size) -> torch.Tensor:
    """``energy`` as ``(batch_size,)``, or a clear error when the network did not return one scalar per row."""
    batch = input_shape[0]
    if isinstance(energy, torch.Tensor) and energy.shape in ((batch,), (batch, 1)):
        return energy.reshape(batch)
    got = tuple(energy.shape) if isinstance(energy, torch.Tensor) else type(energy).__name__
    raise ValueError(
        f"the Hamiltonian network returned {got} for points of shape {tuple(input_shape)}; expected "
        f"({batch},) or ({batch}, 1): {_SCALAR_FIX}"
    )
