"""Tests of qml.data.timeseries against independent computations of the papers' formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import odeint
from scipy.special import j0, j1

from qml.data import (
    bessel_j2,
    bessel_j2_series,
    damped_oscillator,
    damped_oscillator_series,
    delayed_control,
    delayed_control_series,
    narma,
    narma_series,
    sine,
    sine_series,
)
from qml.data.timeseries import damped_oscillator_trajectory, narma_input

# --- raw generators --------------------------------------------------------------------------


def test_bessel_j2_known_value_and_recurrence():
    x, y = bessel_j2_series()
    assert x.shape == y.shape == (256,)
    assert x[0] == 2.0 and x[-1] == 100.0
    assert y[0] == pytest.approx(0.3528340286156377, abs=1e-15)  # J_2(2)
    # J_2(x) = (2 / x) J_1(x) - J_0(x): an independent route through J_0 and J_1.
    np.testing.assert_allclose(y, 2.0 / x * j1(x) - j0(x), rtol=0, atol=1e-13)


def test_damped_oscillator_matches_an_independent_lsoda_integration():
    t, theta, omega = damped_oscillator_trajectory()
    assert t.shape == theta.shape == omega.shape == (240,)
    assert t[0] == 0.0 and t[-1] == 20.0
    assert theta[0] == 0.0 and omega[0] == 3.0

    def rhs(state, _t):
        return [state[1], -0.15 * state[1] - 9.81 * math.sin(state[0])]

    reference = odeint(rhs, [0.0, 3.0], t, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(theta, reference[:, 0], rtol=0, atol=1e-8)
    np.testing.assert_allclose(omega, reference[:, 1], rtol=0, atol=1e-8)
    _, series = damped_oscillator_series()
    np.testing.assert_array_equal(series, omega)  # the series is the velocity, theta'


def test_damped_oscillator_satisfies_the_ode_by_finite_differences():
    t, theta, omega = damped_oscillator_trajectory(num_points=4001, t_max=4.0)
    h = t[1] - t[0]

    def derivative(f):  # fourth-order central difference on interior points
        return (-f[4:] + 8 * f[3:-1] - 8 * f[1:-3] + f[:-4]) / (12 * h)

    np.testing.assert_allclose(derivative(theta), omega[2:-2], rtol=0, atol=1e-9)
    acceleration = -0.15 * omega[2:-2] - 9.81 * np.sin(theta[2:-2])
    np.testing.assert_allclose(derivative(omega), acceleration, rtol=0, atol=1e-8)


def test_delayed_control_formula_at_grid_points():
    x, y = delayed_control_series()
    assert x.shape == y.shape == (2200,)
    assert x[0] == -2.0 and x[-1] == pytest.approx(19.99, abs=1e-12)
    for i in (0, 200, 401, 1234, 2199):
        expected = sum(math.exp(-10.0 * (x[i] - 2 * n) ** 2) for n in range(11)) * math.exp(-x[i] / 16.0)
        assert y[i] == pytest.approx(expected, rel=1e-14, abs=1e-300)
    assert y[200] == pytest.approx(1.0, abs=1e-12)  # x = 0: centre of the first pulse, envelope 1


def test_narma_input_known_values():
    u = narma_input()
    assert u.shape == (300,)
    assert u[0] == 0.1  # sin(0) = 0
    t = 17
    s = math.sin
    expected = 0.1 * (
        s(2 * math.pi * 2.11 * t / 300) * s(2 * math.pi * 3.73 * t / 300) * s(2 * math.pi * 4.11 * t / 300) + 1
    )
    assert u[t] == pytest.approx(expected, abs=1e-16)
    assert u.min() >= 0.0 and u.max() <= 0.2


def test_narma_first_steps_by_hand():
    _, y5 = narma_series(5)
    # y_1 = 0.3 * 0.196 + 0.05 * 0.196 * 0.196 + 1.5 * u_{-4} * u_0 + 0.1, and u_{-4} = 0
    assert y5[0] == 0.196
    assert y5[1] == pytest.approx(0.1607208, abs=1e-15)
    _, y2 = narma_series(2)
    # y_1 = 0.4 * 0.196 + 0.4 * 0.196 * y_{-1} + 0.6 * u_0^3 + 0.1 with y_{-1} = y_0 = 0.196, u_0 = 0.1
    assert y2[1] == pytest.approx(0.0784 + 0.0153664 + 0.0006 + 0.1, abs=1e-15)


def reference_narma(order: int, length: int = 300) -> list[float]:
    """The recurrences written out with dictionaries for the history (an independent implementation)."""
    u = {t: 0.1 * (math.sin(2 * math.pi * 2.11 * t / length) * math.sin(2 * math.pi * 3.73 * t / length)
                   * math.sin(2 * math.pi * 4.11 * t / length) + 1) for t in range(length)}  # fmt: skip
    y = {0: 0.196}
    if order == 2:
        y[-1] = 0.196
        for t in range(length - 1):
            y[t + 1] = 0.4 * y[t] + 0.4 * y[t] * y[t - 1] + 0.6 * u[t] ** 3 + 0.1
    else:
        for t in range(length - 1):
            window = sum(y.get(t - j, 0.0) for j in range(order))
            y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * window + 1.5 * u.get(t - order + 1, 0.0) * u[t] + 0.1
    return [y[t] for t in range(length)]


@pytest.mark.parametrize("order", [2, 3, 5, 10])
def test_narma_matches_independent_recurrence(order):
    u, y = narma_series(order)
    assert u.shape == y.shape == (300,)
    np.testing.assert_allclose(y, reference_narma(order), rtol=1e-14, atol=0)
    assert np.all(np.isfinite(y))


def test_narma_orders_differ_and_errors():
    assert not np.allclose(narma_series(5)[1], narma_series(10)[1])
    with pytest.raises(ValueError, match="NARMA order must be at least 2, got 1"):
        narma_series(1)
    with pytest.raises(TypeError, match="order must be an int, got float"):
        narma_series(5.0)


def test_sine_series():
    t, y = sine_series(num_points=101, num_periods=2.0)
    assert t[-1] == pytest.approx(4 * math.pi, abs=1e-15)
    np.testing.assert_array_equal(y, np.sin(t))
    with pytest.raises(ValueError, match="num_points must be at least 2, got 1"):
        sine_series(num_points=1)


# --- split builders --------------------------------------------------------------------------

BUILDERS = {
    "bessel_j2": (bessel_j2, lambda: bessel_j2_series()[1], 256),
    "damped_oscillator": (damped_oscillator, lambda: damped_oscillator_series()[1], 240),
    "delayed_control": (delayed_control, lambda: delayed_control_series()[1], 2200),
    "sine": (sine, lambda: sine_series()[1], 256),
}
# int(0.67 * (N - 4)) worked out by hand: 0.67 * 252 = 168.84, 0.67 * 236 = 158.12, 0.67 * 2196 = 1471.32.
EXPECTED_TRAIN = {"bessel_j2": 168, "damped_oscillator": 158, "delayed_control": 1471, "sine": 168}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_univariate_split(name):
    builder, raw, length = BUILDERS[name]
    split = builder()
    assert split.name == name
    n = length - 4
    assert split.num_train == EXPECTED_TRAIN[name] and split.num_test == n - EXPECTED_TRAIN[name]
    assert split.x_train.shape == (split.num_train, 4) and split.y_train.shape == (split.num_train,)
    assert split.x_train.dtype == split.y_train.dtype == split.x_test.dtype == torch.float32
    assert split.info["task"] == "regression" and split.info["window"] == 4

    series = split.info["series"]
    assert series.shape == (length,) and series.min() == -1.0 and series.max() == 1.0
    values = raw()
    lo, hi = split.info["scale"]
    assert (lo, hi) == (values.min(), values.max())
    expected = torch.tensor((values - lo) / (hi - lo) * 2.0 - 1.0, dtype=torch.float32)
    assert torch.equal(series, expected)

    x = torch.cat([split.x_train, split.x_test])
    y = torch.cat([split.y_train, split.y_test])
    for i in (0, 1, split.num_train - 1, split.num_train, n - 1):
        assert torch.equal(x[i], series[i : i + 4])
        assert y[i] == series[i + 4]


def test_univariate_split_other_window():
    split = bessel_j2(window=8, train_fraction=0.5)
    assert split.x_train.shape == (124, 8) and split.num_test == 124
    assert torch.equal(split.x_test[0], split.info["series"][124:132])


@pytest.mark.parametrize("order", [2, 5, 10])
def test_narma_split_maps_input_windows_to_targets(order):
    split = narma(order=order)
    assert split.name == f"narma{order}"
    assert split.num_train == 198 and split.num_test == 98  # int(0.67 * 296) = 198
    u_raw, y_raw = narma_series(order)
    u, y = split.info["input_series"], split.info["series"]
    assert u.min() == -1.0 and u.max() == 1.0 and y.min() == -1.0 and y.max() == 1.0
    assert split.info["input_scale"] == (u_raw.min(), u_raw.max())
    assert split.info["scale"] == (y_raw.min(), y_raw.max())
    x = torch.cat([split.x_train, split.x_test])
    target = torch.cat([split.y_train, split.y_test])
    for i in (0, 100, 198, 295):
        assert torch.equal(x[i], u[i : i + 4])
        assert target[i] == y[i + 4]


def test_builders_are_deterministic():
    a, b = delayed_control(), delayed_control()
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)


def test_builder_errors():
    with pytest.raises(ValueError, match=r"window must be in 1 \.\. 255 for a series of 256 values, got 256"):
        bessel_j2(window=256)
    with pytest.raises(ValueError, match=r"train_fraction must be in \(0, 1\), got 0.0"):
        sine(train_fraction=0.0)
