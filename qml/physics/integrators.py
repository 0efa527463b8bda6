r"""Rollouts of a vector field on phase space: symplectic Störmer-Verlet (leapfrog) and adaptive Runge-Kutta.

A *field* here is any callable mapping phase-space rows ``x = (q, p)`` of shape ``(batch_size, 2n)``
to their time derivatives ``(dq/dt, dp/dt)`` of the same shape: an :class:`~qml.physics.hnn.HNN`, a
baseline network, or an exact field (:func:`numpy_field` wraps the numpy fields of
:mod:`qml.data.hamiltonian`). :func:`model_field` evaluates a trained model as such a callable, in
float64 and without building a graph.

* :func:`stormer_verlet` is the generalized leapfrog (Störmer-Verlet) method for a Hamiltonian
  :math:`H(q, p)` that need not be separable (Hairer, Lubich, Wanner, *Geometric Numerical
  Integration*, Eq. VI.3.4):

  .. math::
      p_{k+1/2} &= p_k - \tfrac{h}{2}\, \partial_q H(q_k, p_{k+1/2}) \\
      q_{k+1} &= q_k + \tfrac{h}{2} \left[\partial_p H(q_k, p_{k+1/2}) + \partial_p H(q_{k+1}, p_{k+1/2})\right] \\
      p_{k+1} &= p_{k+1/2} - \tfrac{h}{2}\, \partial_q H(q_{k+1}, p_{k+1/2})

  It is symplectic and time-reversible for every :math:`H`, so the energy error stays bounded over
  long times instead of drifting. The first two stages are implicit; they are solved by fixed-point
  iteration to ``tolerance``. A learned Hamiltonian is not separable in general, so this is the
  default. For a separable :math:`H = T(p) + V(q)` (``separable=True``) both stages are explicit and
  the method is the classic kick-drift-kick leapfrog (two field evaluations per step: each step's
  last kick is the next one's first). For a field that is not Hamiltonian (the baseline) the same formulas are the
  partitioned Lobatto IIIA-IIIB pair: second order, but not symplectic.
* :func:`solve_ivp_rollout` integrates with :func:`scipy.integrate.solve_ivp` (RK45, ``rtol = 1e-9``
  as the paper's energy metric); all trajectories of a batch go through one call (the error norm is
  then taken over the whole batch).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from scipy.integrate import solve_ivp
from torch import nn

from qml.physics.errors import IntegrationError

__all__ = ["Field", "model_field", "numpy_field", "solve_ivp_rollout", "stormer_verlet", "uniform_step"]

Field = Callable[[torch.Tensor], torch.Tensor]
"""``field(x) -> dx/dt`` on rows ``(q, p)``: ``(batch_size, 2n) -> (batch_size, 2n)``."""


def numpy_field(function: Callable[[np.ndarray], np.ndarray]) -> Field:
    """A numpy field such as :func:`qml.data.hamiltonian.mass_spring_field` as a torch :data:`Field` (float64)."""

    def field(x: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(function(x.detach().cpu().double().numpy()), dtype=x.dtype, device=x.device)

    return field


def model_field(model: nn.Module, *, dtype: torch.dtype = torch.float64) -> Field:
    """A trained model as a :data:`Field`: a copy in ``dtype`` and evaluation mode, called without a graph.

    The copy keeps the model's own weights untouched (and its training mode); float64 keeps the
    adaptive solver's error estimates free of float32 rounding.

    Args:
        model: maps ``(batch_size, 2n)`` rows to their time derivatives (an HNN or a baseline).
        dtype: the dtype the copy computes in.
    """
    frozen = copy.deepcopy(model).to(dtype).eval()
    for parameter in frozen.parameters():
        parameter.requires_grad_(False)

    def field(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return frozen(x.to(dtype))

    return field


def stormer_verlet(
    field: Field,
    x0: torch.Tensor,
    dt: float,
    num_steps: int,
    *,
    record_every: int = 1,
    separable: bool = False,
    tolerance: float = 1e-12,
    max_iterations: int = 100,
) -> torch.Tensor:
    """Integrate ``dx/dt = field(x)`` with the (generalized) Störmer-Verlet / leapfrog method.

    Args:
        field: the Hamiltonian field ``(dH/dp, -dH/dq)`` (see the module docstring).
        x0: initial points ``(q, p)``.
        dt: the time step ``h``.
        num_steps: steps to take.
        record_every: keep every ``record_every``-th state (``num_steps`` must be a multiple of it).
        separable: the field comes from ``H = T(p) + V(q)``: ``dq/dt`` depends on ``p`` only and ``dp/dt``
            on ``q`` only. The stages are then explicit (no iteration); a wrong claim gives a first-order
            method, so leave it ``False`` for learned Hamiltonians.
        tolerance: stop a fixed-point iteration when no component moves more than
            ``tolerance * (1 + max |value|)``.
        max_iterations: iterations allowed per implicit stage.

    Returns:
        The recorded states, the initial one first, in the dtype of ``x0``.

    Shape:
        - ``x0``: ``(batch_size, 2n)``. Output: ``(batch_size, num_steps // record_every + 1, 2n)``.

    Raises:
        ValueError: a bad step, step count or ``x0`` shape.
        IntegrationError: an implicit stage did not converge (the time step is too large for the field's
            stiffness) or the state became non-finite.
    """
    x0 = _check_start(x0)
    if not (dt > 0 and np.isfinite(dt)):
        raise ValueError(f"dt must be a positive finite time step, got {dt!r}.")
    for name, value in (("num_steps", num_steps), ("record_every", record_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    if num_steps % record_every:
        raise ValueError(f"num_steps={num_steps} is not a multiple of record_every={record_every}.")
    n = x0.shape[-1] // 2
    half = 0.5 * dt

    def velocity(q: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        derivative = field(torch.cat([q, p], dim=-1))
        return derivative[..., :n], derivative[..., n:]

    def solve(update: Callable[[torch.Tensor], torch.Tensor], guess: torch.Tensor, stage: str) -> torch.Tensor:
        change = torch.tensor(float("inf"))
        for _ in range(max_iterations):
            new = update(guess)
            change = (new - guess).abs().max()
            guess = new
            if not torch.isfinite(change):
                break
            if change <= tolerance * (1.0 + new.abs().max()):
                return guess
        outcome = "diverged" if not torch.isfinite(change) else f"did not converge in {max_iterations} iterations"
        raise IntegrationError(
            f"Störmer-Verlet: the implicit {stage} stage {outcome} at step {step} (last change {float(change):.3g}); "
            f"the time step dt={dt} is too large for this field. Use a smaller dt (more steps), or method='rk45'."
        )

    def implicit_step(q: torch.Tensor, p: torch.Tensor, kick: torch.Tensor) -> tuple[torch.Tensor, ...]:
        p_half = solve(lambda guess: p + half * velocity(q, guess)[1], p + half * kick, "momentum")
        drift, _ = velocity(q, p_half)
        q_next = solve(lambda guess: q + half * (drift + velocity(guess, p_half)[0]), q + dt * drift, "position")
        _, kick = velocity(q_next, p_half)  # also the next step's first guess of its momentum stage
        return q_next, p_half + half * kick, kick

    def explicit_step(q: torch.Tensor, p: torch.Tensor, kick: torch.Tensor) -> tuple[torch.Tensor, ...]:
        p_half = p + half * kick
        drift, _ = velocity(q, p_half)
        q_next = q + dt * drift
        _, kick = velocity(q_next, p_half)  # depends on q only: the next step's first kick
        return q_next, p_half + half * kick, kick

    advance = explicit_step if separable else implicit_step
    q, p = x0[..., :n], x0[..., n:]
    states = [x0]
    _, kick = velocity(q, p)  # dp/dt at the start (for a separable H it does not depend on p)
    for step in range(1, num_steps + 1):
        q, p, kick = advance(q, p, kick)
        if not (torch.isfinite(q).all() and torch.isfinite(p).all()):
            raise IntegrationError(
                f"Störmer-Verlet: the state became non-finite at step {step} (t = {step * dt:.4g}); the field "
                "diverges along this trajectory, or dt is too large."
            )
        if step % record_every == 0:
            states.append(torch.cat([q, p], dim=-1))
    return torch.stack(states, dim=1)


def solve_ivp_rollout(
    field: Field,
    x0: torch.Tensor,
    t_eval: np.ndarray | torch.Tensor,
    *,
    method: str = "RK45",
    rtol: float = 1e-9,
    atol: float = 1e-9,
) -> torch.Tensor:
    """Integrate ``dx/dt = field(x)`` from ``t_eval[0]`` with :func:`scipy.integrate.solve_ivp`, all rows at once.

    Args:
        field: the vector field (called on float64 tensors).
        x0: initial points at ``t_eval[0]``.
        t_eval: increasing times to report, the first being the start.
        method: any ``solve_ivp`` method (``"RK45"`` as the paper, ``"DOP853"`` ...).
        rtol: relative tolerance (``1e-9``, the paper's).
        atol: absolute tolerance.

    Returns:
        The states at ``t_eval``, float64.

    Shape:
        - ``x0``: ``(batch_size, 2n)``; ``t_eval``: ``(T,)``. Output: ``(batch_size, T, 2n)``.

    Raises:
        ValueError: a bad time grid or ``x0`` shape.
        IntegrationError: the solver failed (the message says where and why).
    """
    x0 = _check_start(x0)
    t = np.asarray(t_eval.detach().cpu() if isinstance(t_eval, torch.Tensor) else t_eval, dtype=np.float64)
    if t.ndim != 1 or len(t) < 2 or not np.all(np.diff(t) > 0):
        raise ValueError(f"t_eval must be at least two increasing times, got shape {t.shape}.")
    batch, dim = x0.shape

    def rhs(_: float, flat: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(flat.reshape(batch, dim))
        return field(x).detach().cpu().double().numpy().reshape(-1)

    start = x0.detach().cpu().double().numpy().reshape(-1)
    solution = solve_ivp(rhs, (t[0], t[-1]), start, method=method, t_eval=t, rtol=rtol, atol=atol)
    if not solution.success:
        raise IntegrationError(
            f"solve_ivp ({method}) stopped at t = {solution.t[-1] if len(solution.t) else t[0]:.4g} of {t[-1]:.4g}: "
            f"{solution.message} The field may diverge along these trajectories; try a looser tolerance or "
            "a shorter time span."
        )
    states = solution.y.reshape(batch, dim, len(t)).transpose(0, 2, 1)
    return torch.from_numpy(np.ascontiguousarray(states))


def uniform_step(t_eval: np.ndarray | torch.Tensor, substeps: int) -> float:
    """The leapfrog step for a uniform grid ``t_eval`` with ``substeps`` steps between reported times.

    Raises:
        ValueError: the grid is not uniform (to 1e-9 relative) or ``substeps`` is not a positive int.
    """
    t = np.asarray(t_eval.detach().cpu() if isinstance(t_eval, torch.Tensor) else t_eval, dtype=np.float64)
    if isinstance(substeps, bool) or not isinstance(substeps, int) or substeps < 1:
        raise ValueError(f"substeps must be a positive int, got {substeps!r}.")
    gaps = np.diff(t)
    if t.ndim != 1 or len(t) < 2 or not np.all(gaps > 0) or np.ptp(gaps) > 1e-9 * gaps.mean():
        raise ValueError("a leapfrog rollout reports on a uniform time grid (np.linspace); got an uneven t_eval.")
    return float(gaps.mean()) / substeps


def _check_start(x0: torch.Tensor) -> torch.Tensor:
    if not isinstance(x0, torch.Tensor):
        raise TypeError(f"x0 must be a torch.Tensor of shape (batch_size, 2n), got {type(x0).__name__}.")
    if x0.dim() != 2 or x0.shape[-1] < 2 or x0.shape[-1] % 2 or not x0.is_floating_point():
        raise ValueError(
            "x0 must be floating-point rows (q, p) of shape (batch_size, 2n), got "
            f"{x0.dtype} of shape {tuple(x0.shape)}."
        )
    return x0.detach()
