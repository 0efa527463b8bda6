"""Tests of qml.data.hamiltonian: Hamilton's equations, conservation laws, closed forms, splits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.integrate import odeint

from qml.data import mass_spring, pendulum, two_body
from qml.data.hamiltonian import (
    mass_spring_hamiltonian,
    mass_spring_trajectories,
    pendulum_hamiltonian,
    pendulum_trajectories,
    two_body_hamiltonian,
    two_body_trajectories,
)


def hamilton_field_by_finite_differences(hamiltonian, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """(dH/dp, -dH/dq) from central differences of H alone (independent of the library's fields)."""
    d = x.shape[-1]
    grad = np.empty_like(x)
    for k in range(d):
        step = np.zeros(d)
        step[k] = h
        grad[..., k] = (hamiltonian(x + step) - hamiltonian(x - step)) / (2 * h)
    half = d // 2
    return np.concatenate([grad[..., half:], -grad[..., :half]], axis=-1)


@pytest.fixture(scope="module")
def spring():
    return mass_spring_trajectories(noise_std=0.0)


@pytest.fixture(scope="module")
def pend():
    return pendulum_trajectories(noise_std=0.0)


@pytest.fixture(scope="module")
def orbits():
    return two_body_trajectories(num_trajectories=40)


@pytest.mark.parametrize(
    ("name", "hamiltonian"),
    [("spring", mass_spring_hamiltonian), ("pend", pendulum_hamiltonian), ("orbits", two_body_hamiltonian)],
)
def test_derivatives_satisfy_hamiltons_equations(request, name, hamiltonian):
    data = request.getfixturevalue(name)
    expected = hamilton_field_by_finite_differences(hamiltonian, data.states)
    np.testing.assert_allclose(data.derivatives, expected, rtol=0, atol=1e-7)
    np.testing.assert_allclose(data.energy, hamiltonian(data.states), rtol=0, atol=0)


def test_spring_matches_the_closed_form(spring):
    # H = q^2 + p^2: q(t) = q0 cos 2t + p0 sin 2t, p(t) = p0 cos 2t - q0 sin 2t
    t = spring.t
    assert spring.states.shape == (50, 30, 2) and t[-1] == 3.0
    q0, p0 = spring.states[:, :1, 0], spring.states[:, :1, 1]
    np.testing.assert_allclose(spring.states[..., 0], q0 * np.cos(2 * t) + p0 * np.sin(2 * t), rtol=0, atol=1e-10)
    np.testing.assert_allclose(spring.states[..., 1], p0 * np.cos(2 * t) - q0 * np.sin(2 * t), rtol=0, atol=1e-10)
    radius = np.hypot(q0, p0)
    assert radius.min() >= 0.1 and radius.max() <= 1.0


def test_pendulum_matches_independent_integration_and_conserves_energy(pend):
    assert pend.states.shape == (50, 45, 2)
    radius = np.hypot(pend.states[:, 0, 0], pend.states[:, 0, 1])
    assert radius.min() >= 1.3 and radius.max() <= 2.3
    np.testing.assert_allclose(pend.energy, pend.energy[:, :1].repeat(45, axis=1), rtol=0, atol=1e-10)
    for i in (0, 17):
        reference = odeint(
            lambda s, _t: [2 * s[1], -3 * np.sin(s[0])], pend.states[i, 0], pend.t, rtol=1e-13, atol=1e-13
        )
        np.testing.assert_allclose(pend.states[i], reference, rtol=0, atol=1e-9)


def test_two_body_conservation_laws(orbits):
    s = orbits.states
    assert s.shape == (40, 50, 8) and orbits.t[-1] == 20.0
    qx1, qx2, qy1, qy2, px1, px2, py1, py2 = np.moveaxis(s, -1, 0)
    np.testing.assert_allclose(orbits.energy, orbits.energy[:, :1].repeat(50, axis=1), rtol=0, atol=1e-10)
    np.testing.assert_allclose(px1 + px2, 0.0, atol=1e-12)  # total momentum zero
    np.testing.assert_allclose(qx1 + qx2, 0.0, atol=1e-10)  # centre of mass at rest at the origin
    angular = qx1 * py1 - qy1 * px1 + qx2 * py2 - qy2 * px2
    np.testing.assert_allclose(angular, angular[:, :1].repeat(50, axis=1), rtol=0, atol=1e-10)
    assert np.all(orbits.energy < 0)  # bound orbits
    np.testing.assert_array_equal(orbits.observed, orbits.states)


def test_two_body_initial_conditions(orbits):
    start = orbits.states[:, 0]
    pos, vel = start[:, [0, 2]], start[:, [4, 6]]
    assert pos.min() >= 0.5 and pos.max() <= 1.5
    r = np.linalg.norm(pos, axis=1)
    np.testing.assert_allclose((pos * vel).sum(axis=1), 0.0, atol=1e-15)  # tangential velocity
    speed_ratio = np.linalg.norm(vel, axis=1) * 2 * np.sqrt(r)  # 1 for a circular orbit
    assert 0.8 < speed_ratio.min() and speed_ratio.max() < 1.2 and speed_ratio.std() > 0.01


def test_observation_noise_statistics():
    data = mass_spring_trajectories(noise_std=0.1, seed=4)
    noise = data.observed - data.states
    assert noise.std() == pytest.approx(0.1, rel=0.05)
    assert abs(noise.mean()) < 0.01


def test_mass_spring_split_layout():
    split = mass_spring(seed=3)
    data = mass_spring_trajectories(seed=3)
    assert split.x_train.shape == split.y_train.shape == (750, 2) and split.num_test == 750
    assert split.x_train.dtype == torch.float32
    as_float32 = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    assert torch.equal(split.x_train, as_float32(data.observed[:25].reshape(-1, 2)))
    assert torch.equal(split.y_test, as_float32(data.derivatives[25:].reshape(-1, 2)))
    assert torch.equal(split.info["energy_train"], as_float32(data.energy[:25].reshape(-1)))
    assert split.info["num_points"] == 30 and split.info["coordinates"] == ("q", "p")
    # trajectory-major rows
    assert torch.equal(split.x_test.reshape(25, 30, 2)[4], as_float32(data.observed[29]))


def test_pendulum_and_two_body_split_sizes():
    p = pendulum()
    assert p.num_train == p.num_test == 25 * 45 and p.x_train.shape[1] == 2
    tb = two_body(num_trajectories=10)
    assert tb.x_train.shape == (8 * 50, 8) and tb.x_test.shape == (2 * 50, 8)
    assert tb.info["num_trajectories_test"] == 2 and tb.info["noise_std"] == 0.0


@pytest.mark.parametrize("make", [mass_spring, pendulum, lambda **kw: two_body(num_trajectories=5, **kw)])
def test_seeds(make):
    a, b, c = make(seed=11), make(seed=np.random.default_rng(11)), make(seed=12)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)


def test_errors():
    with pytest.raises(TypeError, match=r"seed must be an int or a numpy\.random\.Generator, got float"):
        mass_spring(seed=1.5)
    with pytest.raises(ValueError, match=r"3 trajectories with test_fraction=0\.2 leave an empty part"):
        two_body(num_trajectories=3)
    with pytest.raises(ValueError, match=r"radius_range must be \(low, high\) with 0 < low <= high, got \(1.0, 0.5\)"):
        mass_spring_trajectories(radius_range=(1.0, 0.5))
    with pytest.raises(ValueError, match=r"noise_std must be >= 0, got -0\.1"):
        pendulum_trajectories(noise_std=-0.1)
    with pytest.raises(ValueError, match="num_points must be at least 2, got 1"):
        pendulum_trajectories(num_points=1)
