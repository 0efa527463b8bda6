r"""Causal weighting of a time-dependent PINN's residual (Wang, Sankaran, Perdikaris 2022, arXiv 2203.07404).

A plain PINN minimises the residual at all times at once and can settle on a function that satisfies
the PDE at late times before the early times, which carry the initial condition, are resolved. The
causal loss splits ``[t0, t1]`` into ``M`` ordered chunks, takes the mean squared residual
:math:`L_i` of the collocation points in chunk ``i``, and weights it by how well the earlier chunks
are already solved:

.. math::

    L = \frac{1}{M} \sum_{i=1}^{M} w_i L_i, \qquad w_i = \exp\Big(-\varepsilon \sum_{k=1}^{i-1} L_k\Big), \quad w_1 = 1,

with the weights computed without gradient (they steer the optimiser, they are not optimised). The
sum is over the *earlier* chunks only, as in the paper (PINA's ``CausalPINN`` includes the current
chunk; docs/papers.md §6). The paper anneals :math:`\varepsilon` upward during training; here it is
a fixed number (equation numbers of the paper not retrieved).
"""

from __future__ import annotations

import math

import torch

__all__ = ["CausalWeighting"]


class CausalWeighting:
    r"""The causally weighted mean of squared residuals over ``num_chunks`` time chunks.

    Chunk ``i`` (0-based) holds the points with ``t0 + i dt <= t < t0 + (i + 1) dt``,
    ``dt = (t1 - t0) / num_chunks`` (``t = t1`` joins the last chunk). A chunk without points in a batch
    has :math:`L_i = 0`. With the same number of points in every chunk and ``epsilon = 0`` the loss is
    the plain mean of the squared residuals.

    Args:
        num_chunks: ``M``, the number of ordered time chunks.
        epsilon: :math:`\varepsilon >= 0`, the causality parameter (larger: stricter order).
        time_range: ``(t0, t1)``, the time interval the chunks cut.
        record_every: keep the weights of every ``record_every``-th training call in :attr:`history`
            (``0``: keep none).

    Attributes:
        last_weights: the weights ``w`` of the last call, ``(M,)`` (``None`` before the first).
        history: ``[(call, w)]``, the weights of every ``record_every``-th call of this process (for plots;
            not saved in checkpoints).
    """

    def __init__(
        self, num_chunks: int, epsilon: float, time_range: tuple[float, float], *, record_every: int = 10
    ) -> None:
        if isinstance(num_chunks, bool) or not isinstance(num_chunks, int) or num_chunks < 1:
            raise ValueError(f"CausalWeighting needs a positive int num_chunks, got {num_chunks!r}.")
        if not (isinstance(epsilon, int | float) and math.isfinite(epsilon) and epsilon >= 0):
            raise ValueError(f"CausalWeighting needs a finite epsilon >= 0, got {epsilon!r}.")
        low, high = (float(v) for v in time_range)
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f"CausalWeighting needs a time_range (t0, t1) with t0 < t1, got {time_range!r}.")
        if isinstance(record_every, bool) or not isinstance(record_every, int) or record_every < 0:
            raise ValueError(f"CausalWeighting needs an int record_every >= 0, got {record_every!r}.")
        self.num_chunks, self.epsilon, self.time_range = num_chunks, float(epsilon), (low, high)
        self.record_every = record_every
        self.last_weights: torch.Tensor | None = None
        self.history: list[tuple[int, torch.Tensor]] = []
        self._calls = 0

    def __repr__(self) -> str:
        return f"CausalWeighting(num_chunks={self.num_chunks}, epsilon={self.epsilon:g}, time_range={self.time_range})"

    def chunk_of(self, times: torch.Tensor) -> torch.Tensor:
        """The chunk index of every time, ``(N,)`` int64 in ``0..M-1``."""
        low, high = self.time_range
        index = torch.floor((times.detach() - low) / (high - low) * self.num_chunks).long()
        return index.clamp(0, self.num_chunks - 1)

    def chunk_losses(self, squared_residuals: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """:math:`L_i`, the mean squared residual of every chunk (differentiable), ``(M,)``.

        Shape:
            squared_residuals, times: ``(N,)``.
        """
        chunks = self.chunk_of(times)
        sums = squared_residuals.new_zeros(self.num_chunks).index_add(0, chunks, squared_residuals)
        counts = torch.bincount(chunks, minlength=self.num_chunks).to(sums.dtype)
        return sums / counts.clamp(min=1)

    def weights(self, chunk_losses: torch.Tensor) -> torch.Tensor:
        r""":math:`w_i = \exp(-\varepsilon \sum_{k<i} L_k)`, without gradient, ``(M,)``."""
        with torch.no_grad():
            earlier = torch.cumsum(chunk_losses.detach(), 0) - chunk_losses.detach()
            return torch.exp(-self.epsilon * earlier)

    def __call__(self, squared_residuals: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        r"""The causal loss :math:`(1/M) \sum_i w_i L_i`; records the weights.

        Shape:
            squared_residuals, times: ``(N,)``; returns a scalar.
        """
        losses = self.chunk_losses(squared_residuals, times)
        weights = self.weights(losses)
        self.last_weights = weights.cpu()
        if self.record_every and self._calls % self.record_every == 0:
            self.history.append((self._calls, self.last_weights))
        self._calls += 1
        return (weights * losses).mean()
