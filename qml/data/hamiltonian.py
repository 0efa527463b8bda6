r"""The Hamiltonian Neural Network tasks: trajectories of known Hamiltonians with their exact time derivatives.

Greydanus, Dzamba, Yosinski, "Hamiltonian Neural Networks" (NeurIPS 2019), tasks 1, 2 and 4, with
the constants of the authors' code ``greydanus/hamiltonian-nn`` (``docs/papers.md`` section 7):

* **ideal mass-spring** (``experiment-spring``): :math:`H = q^2 + p^2`, ``t in [0, 3]``, 30 points,
  initial radius :math:`\sqrt{q_0^2 + p_0^2} \sim U[0.1, 1]`, observation noise ``0.1``;
* **ideal pendulum** (``experiment-pend``): :math:`H = 3(1 - \cos q) + p^2`, ``t in [0, 3]``,
  45 points, radius ``~ U[1.3, 2.3]``, observation noise ``0.1``;
* **two-body** (``experiment-2body``): unit masses, ``G = 1``,
  :math:`H = (|p_1|^2 + |p_2|^2)/2 - 1/|q_1 - q_2|`, near-circular orbits, 50 points over
  ``t in [0, 20]``, velocity noise 5 %, 80/20 split.

Hamilton's equations are :math:`\dot q = \partial H/\partial p`, :math:`\dot p = -\partial H/\partial q`.
(An early version of the reference spring/pendulum code has the opposite sign, i.e. runs time
backwards; its later versions, which these constants come from, use the standard sign, as we do.)

Each task has a raw generator (``*_trajectories``, float64 numpy :class:`Trajectories`) and a split
builder returning a :class:`~qml.data.base.Split` whose rows are phase-space points:
``x = (q, p)`` as observed (with the observation noise), ``y = (dq/dt, dp/dt)``, the exact
field at the noiseless state (as the reference computes it). Rows are trajectory-major:
trajectory ``i``'s point ``j`` is row ``i * num_points + j``, so ``x_train.reshape(-1, num_points, d)``
recovers the trajectories. Units are the dimensionless ones of the code (all constants 1 unless
stated). Trajectories are integrated with ``scipy.integrate.solve_ivp`` (DOP853,
``rtol = atol = 1e-12``), all of a task in one vectorised call; randomness comes from ``seed``
(an int or a ``numpy.random.Generator``), never from global state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import solve_ivp

from qml.data.base import Split, _as_float32, _check_fraction

__all__ = [
    "Trajectories",
    "mass_spring",
    "mass_spring_field",
    "mass_spring_hamiltonian",
    "mass_spring_trajectories",
    "pendulum",
    "pendulum_field",
    "pendulum_hamiltonian",
    "pendulum_trajectories",
    "two_body",
    "two_body_field",
    "two_body_hamiltonian",
    "two_body_trajectories",
]

#: Tolerances of the trajectory integration (DOP853); the reference uses ``rtol=1e-10`` (spring,
#: pendulum) and ``1e-9`` (two-body) with scipy's default method.
ODE_RTOL = 1e-12
ODE_ATOL = 1e-12

_HNN = "Greydanus, Dzamba, Yosinski, Hamiltonian Neural Networks (NeurIPS 2019), greydanus/hamiltonian-nn"

Seed = int | np.random.Generator


@dataclass(frozen=True)
class Trajectories:
    """Sampled trajectories of a Hamiltonian system, float64.

    Attributes:
        t: the common time grid.
        states: the noiseless phase-space states ``(q, p)``.
        observed: ``states`` plus the task's observation noise (equal to ``states`` when it has none).
        derivatives: the exact ``(dq/dt, dp/dt)`` at ``states``.
        energy: the Hamiltonian at ``states`` (constant along each trajectory up to the integration error).

    Shape:
        - ``t``: ``(num_points,)``.
        - ``states``, ``observed``, ``derivatives``: ``(num_trajectories, num_points, d)``, ``d = 2``
          (``q, p``) for the spring and pendulum, ``d = 8`` for two bodies.
        - ``energy``: ``(num_trajectories, num_points)``.
    """

    t: np.ndarray
    states: np.ndarray
    observed: np.ndarray
    derivatives: np.ndarray
    energy: np.ndarray


# ---------------------------------------------------------------------------------------------
# Hamiltonians and their fields
# ---------------------------------------------------------------------------------------------


def mass_spring_hamiltonian(x: np.ndarray) -> np.ndarray:
    """:math:`H = q^2 + p^2` (the reference code's spring; the paper's ``q^2/2 + p^2/2`` doubled).

    Shape:
        - Input: ``(*, 2)`` as ``(q, p)``. Output: ``(*)``.
    """
    q, p = x[..., 0], x[..., 1]
    return q**2 + p**2


def mass_spring_field(x: np.ndarray) -> np.ndarray:
    """Hamilton's equations of :func:`mass_spring_hamiltonian`: ``(dq/dt, dp/dt) = (2 p, -2 q)``.

    Shape:
        - Input: ``(*, 2)``. Output: ``(*, 2)``.
    """
    q, p = x[..., 0], x[..., 1]
    return np.stack([2.0 * p, -2.0 * q], axis=-1)


def pendulum_hamiltonian(x: np.ndarray) -> np.ndarray:
    r""":math:`H = 3(1 - \cos q) + p^2` (the reference code's pendulum; ``m = l = 1``, ``g = 3``).

    Shape:
        - Input: ``(*, 2)`` as ``(q, p)``. Output: ``(*)``.
    """
    q, p = x[..., 0], x[..., 1]
    return 3.0 * (1.0 - np.cos(q)) + p**2


def pendulum_field(x: np.ndarray) -> np.ndarray:
    """Hamilton's equations of :func:`pendulum_hamiltonian`: ``(dq/dt, dp/dt) = (2 p, -3 sin q)``.

    Shape:
        - Input: ``(*, 2)``. Output: ``(*, 2)``.
    """
    q, p = x[..., 0], x[..., 1]
    return np.stack([2.0 * p, -3.0 * np.sin(q)], axis=-1)


def two_body_hamiltonian(x: np.ndarray) -> np.ndarray:
    """:math:`H = (|p_1|^2 + |p_2|^2)/2 - 1/|q_1 - q_2|` for unit masses and ``G = 1``.

    The coordinates are ordered as in the HNN code, positions first, bodies interleaved:
    ``(qx1, qx2, qy1, qy2, px1, px2, py1, py2)``; the first half is ``q``, the second ``p``.

    Shape:
        - Input: ``(*, 8)``. Output: ``(*)``.
    """
    q, p = x[..., :4], x[..., 4:]
    distance = np.hypot(q[..., 0] - q[..., 1], q[..., 2] - q[..., 3])
    return 0.5 * (p**2).sum(axis=-1) - 1.0 / distance


def two_body_field(x: np.ndarray) -> np.ndarray:
    """Hamilton's equations of :func:`two_body_hamiltonian`: ``dq/dt = p``, ``dp/dt`` the gravitational forces.

    Shape:
        - Input: ``(*, 8)`` ordered ``(qx1, qx2, qy1, qy2, px1, px2, py1, py2)``. Output: ``(*, 8)``, same order.
    """
    q, p = x[..., :4], x[..., 4:]
    dx = q[..., 1] - q[..., 0]  # body 1 -> body 2
    dy = q[..., 3] - q[..., 2]
    inv_cube = (dx**2 + dy**2) ** -1.5
    fx, fy = dx * inv_cube, dy * inv_cube  # force on body 1; body 2 feels the opposite
    forces = np.stack([fx, -fx, fy, -fy], axis=-1)
    return np.concatenate([p, forces], axis=-1)


# ---------------------------------------------------------------------------------------------
# raw generators
# ---------------------------------------------------------------------------------------------


def mass_spring_trajectories(
    num_trajectories: int = 50,
    num_points: int = 30,
    t_max: float = 3.0,
    radius_range: tuple[float, float] = (0.1, 1.0),
    noise_std: float = 0.1,
    seed: Seed = 0,
) -> Trajectories:
    """Trajectories of the ideal mass-spring (HNN task 1, ``experiment-spring/data.py``).

    Each initial state is a direction drawn uniform in the square ``[-1, 1]^2`` (as the reference;
    not uniform in angle), rescaled to a radius ``~ U[radius_range]``. Observation noise
    ``N(0, noise_std^2)`` is added to ``q`` and ``p`` (not to the derivatives).

    Args:
        num_trajectories: number of trajectories (50 = 25 train + 25 test in the reference).
        num_points: points per trajectory, ``linspace(0, t_max, num_points)`` (30).
        t_max: the end time (3).
        radius_range: range of the initial radius ``sqrt(q0^2 + p0^2)``.
        noise_std: standard deviation of the observation noise.
        seed: an int or a ``numpy.random.Generator``.

    Returns:
        :class:`Trajectories` with ``d = 2``.
    """
    return _planar_trajectories(
        mass_spring_field, mass_spring_hamiltonian, num_trajectories, num_points, t_max, radius_range, noise_std, seed
    )


def pendulum_trajectories(
    num_trajectories: int = 50,
    num_points: int = 45,
    t_max: float = 3.0,
    radius_range: tuple[float, float] = (1.3, 2.3),
    noise_std: float = 0.1,
    seed: Seed = 0,
) -> Trajectories:
    """Trajectories of the ideal pendulum (HNN task 2, ``experiment-pend/data.py``).

    Sampling as :func:`mass_spring_trajectories`, with the pendulum's constants.

    Args:
        num_trajectories: number of trajectories (50 = 25 train + 25 test in the reference).
        num_points: points per trajectory (45: the reference's timescale 15 over ``[0, 3]``).
        t_max: the end time (3).
        radius_range: range of the initial radius ``sqrt(q0^2 + p0^2)``.
        noise_std: standard deviation of the observation noise.
        seed: an int or a ``numpy.random.Generator``.

    Returns:
        :class:`Trajectories` with ``d = 2``.
    """
    return _planar_trajectories(
        pendulum_field, pendulum_hamiltonian, num_trajectories, num_points, t_max, radius_range, noise_std, seed
    )


def two_body_trajectories(
    num_trajectories: int = 1000,
    num_points: int = 50,
    t_max: float = 20.0,
    position_range: tuple[float, float] = (0.5, 1.5),
    orbit_noise: float = 0.05,
    seed: Seed = 0,
) -> Trajectories:
    """Near-circular two-body orbits (HNN task 4, ``experiment-2body/data.py``).

    As the reference's ``random_config``: body 1 starts at ``(x, y)`` with ``x, y ~ U[0.5, 1.5]``
    each (so ``r = |(x, y)|`` lies in ``[0.71, 2.12]``), with the circular-orbit velocity
    ``(-y, x) / (2 r^1.5)`` times ``1 + orbit_noise * N(0, 1)``; body 2 is its point reflection
    (centre of mass at rest at the origin). There is no observation noise: ``observed == states``.

    Args:
        num_trajectories: number of orbits (1000 in the reference).
        num_points: points per orbit, ``linspace(0, t_max, num_points)`` (50).
        t_max: the end time (20).
        position_range: range of each initial coordinate of body 1.
        orbit_noise: relative standard deviation of the initial speed.
        seed: an int or a ``numpy.random.Generator``.

    Returns:
        :class:`Trajectories` with ``d = 8``, coordinates ``(qx1, qx2, qy1, qy2, px1, px2, py1, py2)``.
    """
    num_trajectories, num_points = _check_counts(num_trajectories, num_points)
    rng = _rng(seed)
    low, high = _check_range(position_range, "position_range")
    pos = rng.uniform(low, high, size=(num_trajectories, 2))
    r = np.linalg.norm(pos, axis=1, keepdims=True)
    vel = np.stack([-pos[:, 1], pos[:, 0]], axis=1) / (2.0 * r**1.5)
    vel *= 1.0 + orbit_noise * rng.standard_normal((num_trajectories, 1))
    y0 = np.stack([pos[:, 0], -pos[:, 0], pos[:, 1], -pos[:, 1], vel[:, 0], -vel[:, 0], vel[:, 1], -vel[:, 1]], axis=1)
    t = np.linspace(0.0, t_max, num_points)
    states = _integrate(two_body_field, y0, t)
    return Trajectories(t, states, states.copy(), two_body_field(states), two_body_hamiltonian(states))


# ---------------------------------------------------------------------------------------------
# split builders
# ---------------------------------------------------------------------------------------------


def mass_spring(
    num_trajectories: int = 50, test_fraction: float = 0.5, noise_std: float = 0.1, seed: Seed = 0
) -> Split:
    """HNN task 1, the ideal mass-spring, as a :class:`Split` of phase-space points (25 + 25 trajectories of 30 points).

    Args:
        num_trajectories: total trajectories.
        test_fraction: the last ``int(test_fraction * num_trajectories)`` trajectories are the test set.
        noise_std: observation noise on ``(q, p)``.
        seed: an int or a ``numpy.random.Generator``.

    Returns:
        A :class:`Split`: ``x = (q, p)`` observed, ``y = (dq/dt, dp/dt)`` exact. ``info`` has
        ``task``, ``source``, ``t``, ``num_points``, ``coordinates``, ``noise_std``,
        ``energy_train``/``energy_test`` (float32 ``(N,)``, the energy of each noiseless state),
        ``hamiltonian`` and ``field`` (the numpy functions above).

    Shape:
        - ``x_*``, ``y_*``: ``(num_traj * 30, 2)`` float32; 750 train and 750 test rows by default.
    """
    data = mass_spring_trajectories(num_trajectories, noise_std=noise_std, seed=seed)
    return _trajectory_split(
        "mass_spring", data, test_fraction, ("q", "p"), mass_spring_hamiltonian, mass_spring_field, noise_std
    )


def pendulum(num_trajectories: int = 50, test_fraction: float = 0.5, noise_std: float = 0.1, seed: Seed = 0) -> Split:
    """HNN task 2, the ideal pendulum, as a :class:`Split` of phase-space points (25 + 25 trajectories of 45 points).

    Args:
        num_trajectories: total trajectories.
        test_fraction: the last ``int(test_fraction * num_trajectories)`` trajectories are the test set.
        noise_std: observation noise on ``(q, p)``.
        seed: an int or a ``numpy.random.Generator``.

    Returns:
        A :class:`Split`, ``info`` as in :func:`mass_spring`.

    Shape:
        - ``x_*``, ``y_*``: ``(num_traj * 45, 2)`` float32; 1 125 train and 1 125 test rows by default.
    """
    data = pendulum_trajectories(num_trajectories, noise_std=noise_std, seed=seed)
    return _trajectory_split(
        "pendulum", data, test_fraction, ("q", "p"), pendulum_hamiltonian, pendulum_field, noise_std
    )


def two_body(
    num_trajectories: int = 1000, test_fraction: float = 0.2, orbit_noise: float = 0.05, seed: Seed = 0
) -> Split:
    """HNN task 4, two-body orbits, as a :class:`Split` of phase-space points (800 + 200 orbits of 50 points).

    The reference puts its test orbits first; here, as for the other tasks, the test set is the
    last ``int(test_fraction * num_trajectories)`` orbits (the orbits are i.i.d., so this changes
    nothing but the order).

    Args:
        num_trajectories: total orbits.
        test_fraction: fraction of the orbits in the test set.
        orbit_noise: relative noise of the initial speed.
        seed: an int or a ``numpy.random.Generator``.

    Returns:
        A :class:`Split`, ``info`` as in :func:`mass_spring` (``noise_std`` is 0: no observation noise).

    Shape:
        - ``x_*``, ``y_*``: ``(num_traj * 50, 8)`` float32, ordered ``(qx1, qx2, qy1, qy2, px1, px2, py1, py2)``;
          40 000 train and 10 000 test rows by default.
    """
    data = two_body_trajectories(num_trajectories, orbit_noise=orbit_noise, seed=seed)
    coordinates = ("qx1", "qx2", "qy1", "qy2", "px1", "px2", "py1", "py2")
    return _trajectory_split("two_body", data, test_fraction, coordinates, two_body_hamiltonian, two_body_field, 0.0)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _planar_trajectories(
    field: Callable[[np.ndarray], np.ndarray],
    hamiltonian: Callable[[np.ndarray], np.ndarray],
    num_trajectories: int,
    num_points: int,
    t_max: float,
    radius_range: tuple[float, float],
    noise_std: float,
    seed: Seed,
) -> Trajectories:
    num_trajectories, num_points = _check_counts(num_trajectories, num_points)
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    low, high = _check_range(radius_range, "radius_range")
    rng = _rng(seed)
    direction = rng.uniform(-1.0, 1.0, size=(num_trajectories, 2))
    radius = rng.uniform(low, high, size=(num_trajectories, 1))
    y0 = direction / np.linalg.norm(direction, axis=1, keepdims=True) * radius
    t = np.linspace(0.0, t_max, num_points)
    states = _integrate(field, y0, t)
    observed = states + noise_std * rng.standard_normal(states.shape)
    return Trajectories(t, states, observed, field(states), hamiltonian(states))


def _integrate(field: Callable[[np.ndarray], np.ndarray], y0: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Integrate all initial states at once; returns ``(n, len(t), d)``."""
    n, d = y0.shape

    def rhs(_: float, flat: np.ndarray) -> np.ndarray:
        return field(flat.reshape(n, d)).reshape(-1)

    solution = solve_ivp(rhs, (t[0], t[-1]), y0.reshape(-1), method="DOP853", t_eval=t, rtol=ODE_RTOL, atol=ODE_ATOL)
    if not solution.success:  # pragma: no cover - DOP853 on these smooth systems does not fail
        raise RuntimeError(f"trajectory integration failed: {solution.message}")
    return solution.y.reshape(n, d, len(t)).transpose(0, 2, 1)


def _trajectory_split(
    name: str,
    data: Trajectories,
    test_fraction: float,
    coordinates: tuple[str, ...],
    hamiltonian: Callable[[np.ndarray], np.ndarray],
    field: Callable[[np.ndarray], np.ndarray],
    noise_std: float,
) -> Split:
    test_fraction = _check_fraction("test_fraction", test_fraction)
    num_trajectories, num_points, _ = data.states.shape
    num_test = int(test_fraction * num_trajectories)
    num_train = num_trajectories - num_test
    if num_test == 0 or num_train == 0:
        raise ValueError(
            f"{name}: {num_trajectories} trajectories with test_fraction={test_fraction} leave an empty part; "
            "use more trajectories"
        )

    def rows(array: np.ndarray, part: slice) -> torch.Tensor:
        return _as_float32(array[part].reshape(-1, *array.shape[2:]))

    train, test = slice(0, num_train), slice(num_train, None)
    info = {
        "task": "regression",
        "source": _HNN,
        "t": data.t,
        "num_points": num_points,
        "num_trajectories_train": num_train,
        "num_trajectories_test": num_test,
        "coordinates": coordinates,
        "noise_std": noise_std,
        "energy_train": rows(data.energy, train),
        "energy_test": rows(data.energy, test),
        "hamiltonian": hamiltonian,
        "field": field,
    }
    return Split(
        name,
        rows(data.observed, train),
        rows(data.derivatives, train),
        rows(data.observed, test),
        rows(data.derivatives, test),
        info,
    )


def _rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, int) and not isinstance(seed, bool):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int or a numpy.random.Generator, got {type(seed).__name__}")


def _check_counts(num_trajectories: int, num_points: int) -> tuple[int, int]:
    for name, value in (("num_trajectories", num_trajectories), ("num_points", num_points)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if num_trajectories < 1:
        raise ValueError(f"num_trajectories must be at least 1, got {num_trajectories}")
    if num_points < 2:
        raise ValueError(f"num_points must be at least 2, got {num_points}")
    return num_trajectories, num_points


def _check_range(bounds: tuple[float, float], name: str) -> tuple[float, float]:
    low, high = (float(b) for b in bounds)
    if not 0.0 < low <= high:
        raise ValueError(f"{name} must be (low, high) with 0 < low <= high, got {bounds}")
    return low, high
