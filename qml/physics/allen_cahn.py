r"""The Allen-Cahn equation, the causal-PINN showcase: residual, periodic PINN model, and a spectral reference.

.. math::

    u_t - D\,u_{xx} + R\,(u^3 - u) = 0, \qquad x \in [-1, 1] \text{ periodic}, \quad t \in [0, T],
    \qquad u(0, x) = x^2 \cos(\pi x),

with :math:`D = 10^{-4}`, :math:`R = 5`, :math:`T = 1` (Raissi et al. 2019's benchmark, the one Wang,
Sankaran, Perdikaris 2022 train causally). The solution sharpens into plateaus :math:`u = \pm 1`
separated by interfaces of width :math:`\sim\sqrt{D/R}`; a plain PINN tends to fit a wrong solution
with a small residual.

* :class:`PeriodicPINN`: ``u(t, x) = N(t_hat, cos(k pi x_hat), sin(k pi x_hat), k = 1..K)``, periodic in ``x``
  exactly (the causal paper's Fourier embedding of ``x``); optionally ``u = u0(x) + t_hat N(...)`` so
  the initial condition holds exactly.
* :meth:`AllenCahn.residual`: :math:`u_t - D u_{xx} + R(u^3 - u)` by autograd.
* :meth:`AllenCahn.reference`: Fourier pseudo-spectral in ``x`` and ETDRK4 in ``t`` (Cox & Matthews 2002,
  with the contour-integral coefficients of Kassam & Trefethen 2005), the independent solution the
  PINN's relative L2 error is measured against.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from qml.physics.autodiff import derivative
from qml.physics.domain import Domain
from qml.physics.pinn import one_per_point

__all__ = ["AllenCahn", "PeriodicPINN", "SpaceTimeSolution"]


@dataclass(frozen=True)
class SpaceTimeSolution:
    """A solution ``u(t, x)`` sampled on a grid, float64.

    Attributes:
        t: ``(T,)``, ascending.
        x: ``(X,)``, ascending.
        u: ``(T, X)``, ``u[i, j] = u(t[i], x[j])``.
    """

    t: torch.Tensor
    x: torch.Tensor
    u: torch.Tensor

    def points(self) -> torch.Tensor:
        """Every grid point as a row ``(t, x)``, ``(T * X, 2)``, in the order of ``u.reshape(-1)``."""
        grid_t, grid_x = torch.meshgrid(self.t, self.x, indexing="ij")
        return torch.stack([grid_t.reshape(-1), grid_x.reshape(-1)], dim=1)


@dataclass(frozen=True)
class AllenCahn:
    """The Allen-Cahn problem ``u_t - D u_xx + R (u^3 - u) = 0``, periodic on ``x in [-1, 1]``, ``t in [0, T]``.

    Attributes:
        diffusion: ``D``.
        reaction: ``R``.
        duration: ``T``.
    """

    diffusion: float = 1e-4
    reaction: float = 5.0
    duration: float = 1.0

    def __post_init__(self) -> None:
        for name in ("diffusion", "reaction", "duration"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"AllenCahn.{name} must be a finite number > 0, got {value!r}.")

    @property
    def domain(self) -> Domain:
        """``t in [0, T] x x in [-1, 1]``; columns ``(t, x)``."""
        return Domain(("t", "x"), ((0.0, self.duration), (-1.0, 1.0)))

    def facts(self) -> dict[str, object]:
        """The equation's parameters as plain JSON values."""
        return {
            "equation": "u_t - D u_xx + R (u^3 - u) = 0, periodic in x, u(0, x) = x^2 cos(pi x)",
            "diffusion": self.diffusion,
            "reaction": self.reaction,
            "domain": {"t": [0.0, self.duration], "x": [-1.0, 1.0]},
        }

    @staticmethod
    def initial(x: torch.Tensor) -> torch.Tensor:
        """``u(0, x) = x^2 cos(pi x)``."""
        return x.pow(2) * torch.cos(math.pi * x)

    def residual(self, model: nn.Module, points: torch.Tensor) -> torch.Tensor:
        """``u_t - D u_xx + R (u^3 - u)`` at ``points`` ``(N, 2)`` (columns ``t, x``), ``(N,)``."""
        u = one_per_point(model(points), len(points), "the Allen-Cahn model")
        u_t = derivative(u, points, 0)
        u_xx = derivative(u, points, 1, order=2)
        return u_t - self.diffusion * u_xx + self.reaction * (u.pow(3) - u)

    def reference(
        self, *, num_modes: int = 2048, time_step: float = 1e-3, num_times: int = 201, num_points: int = 512
    ) -> SpaceTimeSolution:
        r"""The solution by Fourier pseudo-spectral ETDRK4, sampled on ``num_times x num_points`` grid points.

        ``num_modes`` Fourier modes on ``x_j = -1 + 2 j / num_modes``; the stiff linear part
        :math:`D \partial_{xx} + R` is integrated exactly, the cubic term by ETDRK4's fourth-order
        exponential Runge-Kutta stages. The initial condition's derivative jumps at ``x = +-1`` (it is
        periodic, its slope is not), so convergence in ``num_modes`` is algebraic (second order): doubling
        2048 modes changes ``u`` by at most 8e-6 (relative L2 2e-7), and halving ``time_step = 1e-3``
        changes it by 2e-11.

        Returns:
            ``t`` on ``num_times`` points of ``[0, T]``, ``x`` on ``num_points`` points ``-1 + 2 j / num_points``.
        """
        if num_modes % num_points:
            raise ValueError(f"num_modes ({num_modes}) must be a multiple of num_points ({num_points}).")
        steps = round(self.duration / time_step)
        if steps % (num_times - 1) or abs(steps * time_step - self.duration) > 1e-12 * self.duration:
            raise ValueError(
                f"time_step {time_step:g} must divide the duration {self.duration:g} into a multiple of "
                f"num_times - 1 = {num_times - 1} steps."
            )
        x = -1.0 + 2.0 * np.arange(num_modes) / num_modes
        wavenumbers = math.pi * np.fft.fftfreq(num_modes, d=1.0 / num_modes)  # period 2
        linear = -self.diffusion * wavenumbers**2 + self.reaction
        stepper = _etdrk4(linear, time_step)
        spectrum = np.fft.fft(self.initial(torch.from_numpy(x)).numpy())
        saved = [np.real(np.fft.ifft(spectrum))]
        every = steps // (num_times - 1)
        for step in range(1, steps + 1):
            spectrum = stepper(spectrum, lambda v: np.fft.fft(-self.reaction * np.real(np.fft.ifft(v)) ** 3))
            if step % every == 0:
                saved.append(np.real(np.fft.ifft(spectrum)))
        stride = num_modes // num_points
        u = np.stack(saved)[:, ::stride]
        return SpaceTimeSolution(
            torch.linspace(0.0, self.duration, num_times, dtype=torch.float64),
            torch.from_numpy(x[::stride].copy()),
            torch.from_numpy(u),
        )


def _etdrk4(
    linear: np.ndarray, step: float, contour_points: int = 32
) -> Callable[[np.ndarray, Callable[[np.ndarray], np.ndarray]], np.ndarray]:
    """One ETDRK4 step ``v -> v(t + h)`` of ``v' = L v + N(v)`` for diagonal ``L`` (Kassam & Trefethen 2005)."""
    full, half = np.exp(step * linear), np.exp(step * linear / 2)
    roots = np.exp(1j * math.pi * (np.arange(1, contour_points + 1) - 0.5) / contour_points)
    lr = step * linear[:, None] + roots[None, :]
    q = step * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
    f1 = step * np.real(np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = step * np.real(np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=1))
    f3 = step * np.real(np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=1))

    def advance(v: np.ndarray, nonlinear: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        nv = nonlinear(v)
        a = half * v + q * nv
        na = nonlinear(a)
        b = half * v + q * na
        nb = nonlinear(b)
        c = half * a + q * (2 * nb - nv)
        nc = nonlinear(c)
        return full * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3

    return advance


class PeriodicPINN(nn.Module):
    r"""``u(t, x)`` periodic in ``x`` by construction: a body of ``(t_hat, cos(k pi x_hat), sin(k pi x_hat))``.

    With ``x_hat = 2 (x - x0) / (x1 - x0) - 1`` and ``t_hat = (t - t0) / (t1 - t0)``, the body sees
    ``1 + 2 K`` features; ``u`` and all its ``x``-derivatives are periodic with the domain's length.

    Args:
        body: ``(N, 1 + 2 K) -> (N,)`` or ``(N, 1)``.
        domain: ``t x x`` (columns ``t, x``).
        harmonics: ``K``.
        initial: ``u0(x)``; when given, ``u = u0(x) + t_hat * body(...)`` meets the initial condition exactly.

    Shape:
        - Input: ``(N, 2)``, columns ``(t, x)``.
        - Output: ``(N,)``.
    """

    def __init__(
        self,
        body: nn.Module,
        domain: Domain,
        harmonics: int = 1,
        *,
        initial: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        if domain.names != ("t", "x"):
            raise ValueError(f"PeriodicPINN needs a domain with coordinates ('t', 'x'), got {domain}.")
        if isinstance(harmonics, bool) or not isinstance(harmonics, int) or harmonics < 1:
            raise ValueError(f"PeriodicPINN needs a positive int number of harmonics, got {harmonics!r}.")
        self.body, self.domain, self.harmonics, self.initial = body, domain, harmonics, initial
        self.register_buffer("frequencies", math.pi * torch.arange(1, harmonics + 1, dtype=torch.float64))

    def extra_repr(self) -> str:
        """The domain, the harmonics and whether the initial condition is built in."""
        return f"domain={self.domain}, harmonics={self.harmonics}, exact_initial={self.initial is not None}"

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """``u`` at ``points``."""
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"PeriodicPINN expects points of shape (N, 2), columns (t, x); got {tuple(points.shape)}.")
        (t0, t1), (x0, x1) = self.domain.bounds
        t, x = points[:, 0], points[:, 1]
        t_hat = (t - t0) / (t1 - t0)
        phase = ((2.0 * (x - x0) / (x1 - x0) - 1.0)[:, None]) * self.frequencies.to(points.dtype)
        features = torch.cat([t_hat[:, None], torch.cos(phase), torch.sin(phase)], dim=1)
        values = one_per_point(self.body(features), len(t), "the body of a PeriodicPINN")
        if self.initial is None:
            return values
        return self.initial(x) + t_hat * values
