"""Analytic time series of the QLSTM / QRNN-reservoir / QKAN-LSTM papers, fully offline.

Two layers:

* **raw generators** (``*_series``, ``damped_oscillator_trajectory``) return float64 numpy arrays
  of the papers' formulas, so they can be checked against known values;
* **split builders** (``bessel_j2``, ``damped_oscillator``, ``delayed_control``, ``narma``,
  ``sine``) turn a series into a :class:`~qml.data.base.Split` with the papers' recipe: min-max
  scale the whole series to ``[-1, 1]``, windows "predict the next value from the previous
  ``window``" (4 in the papers), and the first ``int(0.67 * N)`` windows for training.

Sources (``docs/papers.md`` section 2): Chen, Fry, Deshmukh, Rastunkov, Stefanski, "Reservoir computing
via quantum recurrent neural networks" (arXiv 2211.02612); Chen, Yoo, Fang, "Quantum long
short-term memory" (arXiv 2009.01783); Hsu et al., QKAN-LSTM (arXiv 2512.05049). The generators
follow the authors' data code (``ycchen1989/FederatedQLSTM`` ``data/``, ``ycchen1989/Quantum_FWP``
``data/damped_shm.py``, ``MatthewPeng57/Gated-QKAN-FWP`` ``times_series_benchmark/src/datasets/``).

Every split builder returns ``x`` of shape ``(N, window)`` and ``y`` of shape ``(N,)`` (one target
per sample, no trailing axis), both ``float32`` and scaled to ``[-1, 1]``.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import jv

from qml.data.base import Split, _as_float32, _check_window, chronological_split, minmax_scale, window_series

__all__ = [
    "bessel_j2",
    "bessel_j2_series",
    "damped_oscillator",
    "damped_oscillator_series",
    "damped_oscillator_trajectory",
    "delayed_control",
    "delayed_control_series",
    "narma",
    "narma_input",
    "narma_series",
    "sine",
    "sine_series",
]

#: Tolerances of the ODE integration (DOP853), far tighter than the papers' ``odeint`` defaults.
ODE_RTOL = 1e-12
ODE_ATOL = 1e-12

_CHEN = "Chen et al. QLSTM (arXiv 2009.01783) / QRNN reservoir computing (arXiv 2211.02612)"


# ---------------------------------------------------------------------------------------------
# raw generators
# ---------------------------------------------------------------------------------------------


def bessel_j2_series(num_points: int = 256, start: float = 2.0, stop: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """The Bessel function of the first kind of order 2 on a uniform grid.

    ``x = linspace(2, 100, 256)``, ``y = J_2(x)`` (``scipy.special.jv(2, x)``), as in Chen's
    ``data/bessel_functions.py`` (QLSTM, QRNN-RC, QKAN-LSTM "Bessel" task).

    Args:
        num_points: number of grid points (256 in the papers).
        start: first grid point.
        stop: last grid point (included).

    Returns:
        ``(x, y)``, float64.

    Shape:
        - Output: ``(num_points,)`` each.
    """
    x = np.linspace(start, stop, _check_count("num_points", num_points))
    return x, jv(2, x)


def damped_oscillator_trajectory(
    num_points: int = 240,
    t_max: float = 20.0,
    *,
    damping: float = 0.15,
    gravity: float = 9.81,
    mass: float = 1.0,
    length: float = 1.0,
    theta0: float = 0.0,
    omega0: float = 3.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The damped pendulum ("damped SHM") of Chen's ``data/damped_shm.py``: angle and angular velocity.

    Solves :math:`\theta'' = -(b/m)\,\theta' - (g/l)\sin\theta` with ``b = 0.15``, ``g = 9.81``,
    ``m = l = 1``, ``theta(0) = 0``, ``theta'(0) = 3`` on ``t = linspace(0, 20, 240)``. The
    reference integrates with ``odeint`` at its default tolerances (and writes ``g sin(theta)``,
    the same for ``l = 1``); we use ``solve_ivp`` (DOP853) with ``rtol = atol = 1e-12``.

    Args:
        num_points: number of time points (240 in the papers).
        t_max: the last time point.
        damping: ``b``.
        gravity: ``g``.
        mass: ``m``.
        length: ``l``.
        theta0: initial angle (radians).
        omega0: initial angular velocity (radians per unit time).

    Returns:
        ``(t, theta, theta_dot)``, float64.

    Shape:
        - Output: ``(num_points,)`` each.
    """
    t = np.linspace(0.0, t_max, _check_count("num_points", num_points))

    def rhs(_: float, state: np.ndarray) -> np.ndarray:
        theta, omega = state
        return np.array([omega, -(damping / mass) * omega - (gravity / length) * np.sin(theta)])

    solution = solve_ivp(rhs, (0.0, t_max), [theta0, omega0], method="DOP853", t_eval=t, rtol=ODE_RTOL, atol=ODE_ATOL)
    return t, solution.y[0], solution.y[1]


def damped_oscillator_series(num_points: int = 240, t_max: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """The damped-SHM series of the papers: the angular velocity ``theta'(t)`` (the reference's column 1).

    See :func:`damped_oscillator_trajectory` for the equation and constants.

    Args:
        num_points: number of time points (240 in the papers).
        t_max: the last time point.

    Returns:
        ``(t, theta_dot)``, float64.

    Shape:
        - Output: ``(num_points,)`` each.
    """
    t, _, theta_dot = damped_oscillator_trajectory(num_points, t_max)
    return t, theta_dot


def delayed_control_series(step: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    r"""The "delayed quantum control" pulse train of Chen's ``data/delayed_quantum_control.py``.

    ``x = arange(-2, 20, 0.01)`` (2 200 points) and
    :math:`y(x) = \sum_{n=0}^{10} e^{-10 (x - 2n)^2}\, e^{-x/16}`: eleven Gaussian pulses at
    ``x = 0, 2, ..., 20`` under a slowly decaying envelope.

    Args:
        step: grid spacing (0.01 in the reference).

    Returns:
        ``(x, y)``, float64.

    Shape:
        - Output: ``(M,)`` each, ``M = len(arange(-2, 20, step))`` (2 200 for the default).
    """
    x = np.arange(-2.0, 20.0, step)
    centers = 2.0 * np.arange(11)
    y = np.exp(-10.0 * (x[:, None] - centers) ** 2).sum(axis=1) * np.exp(-x / 16.0)
    return x, y


def narma_input(length: int = 300, period: float | None = None) -> np.ndarray:
    r"""The NARMA input signal :math:`u_t = 0.1\,(\sin(2\pi\,2.11\,t/T)\sin(2\pi\,3.73\,t/T)\sin(2\pi\,4.11\,t/T) + 1)`.

    ``t = 0, 1, ..., length - 1`` (Chen's ``u_generator`` starts at ``t = 0``, so ``u_0 = 0.1``).

    Args:
        length: number of steps.
        period: ``T``; ``None`` (default) uses ``T = length`` as the reference does (``T = 300``).

    Returns:
        ``u``, float64, values in ``[0, 0.2]``.

    Shape:
        - Output: ``(length,)``.
    """
    length = _check_count("length", length)
    big_t = float(length if period is None else period)
    t = np.arange(length, dtype=np.float64)
    return 0.1 * (
        np.sin(2 * np.pi * 2.11 * t / big_t)
        * np.sin(2 * np.pi * 3.73 * t / big_t)
        * np.sin(2 * np.pi * 4.11 * t / big_t)
        + 1.0
    )


def narma_series(order: int = 5, length: int = 300, period: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""A NARMA-``n`` input/target pair, as Chen's ``narma_generator`` builds it.

    Input ``u`` from :func:`narma_input`. Target, for ``n = order >= 3``:

    .. math::
        y_{t+1} = 0.3\,y_t + 0.05\,y_t \sum_{j=0}^{n-1} y_{t-j} + 1.5\,u_{t-n+1}\,u_t + 0.1,

    with ``y_0 = 0.196`` and zero history (``y_t = u_t = 0`` for ``t < 0``). For ``n = 2``:

    .. math::
        y_{t+1} = 0.4\,y_t + 0.4\,y_t\,y_{t-1} + 0.6\,u_t^3 + 0.1,

    with ``y_0 = 0.196`` and, as in the reference ``NARMA2_Generator(initial_y=0.196)``,
    ``y_{-1} = y_0 = 0.196`` (not zero). Both sequences have ``length`` entries,
    ``y_0 .. y_{length-1}`` aligned with ``u_0 .. u_{length-1}``: ``y[t + 1]`` depends on ``u[t]``.

    Args:
        order: ``n``, at least 2 (the papers use 2, 5 and 10; 5 is the default).
        length: number of steps (``T = 300`` in the papers).
        period: ``T`` of the input signal; ``None`` uses ``length``.

    Returns:
        ``(u, y)``, float64.

    Shape:
        - Output: ``(length,)`` each.

    Raises:
        TypeError: ``order`` is not an int.
        ValueError: ``order < 2``.
    """
    if isinstance(order, bool) or not isinstance(order, int):
        raise TypeError(f"order must be an int, got {type(order).__name__}")
    if order < 2:
        raise ValueError(f"NARMA order must be at least 2, got {order}; the papers use 2, 5 and 10")
    u = narma_input(length, period)
    y = np.zeros(len(u))
    y[0] = 0.196
    if order == 2:
        previous = y[0]  # y_{-1} = y_0, as the reference seeds NARMA2
        for t in range(len(u) - 1):
            y[t + 1] = 0.4 * y[t] + 0.4 * y[t] * previous + 0.6 * u[t] ** 3 + 0.1
            previous = y[t]
        return u, y
    for t in range(len(u) - 1):
        history = y[max(0, t - order + 1) : t + 1].sum()  # y_{t-j}, j < n; zeros before t = 0
        delayed_u = u[t - order + 1] if t - order + 1 >= 0 else 0.0
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * history + 1.5 * delayed_u * u[t] + 0.1
    return u, y


def sine_series(num_points: int = 256, num_periods: float = 4.0, phase: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""A plain sine wave, the smoke-test series: :math:`y = \sin(t + \phi)`.

    ``t = linspace(0, 2 pi * num_periods, num_points)``, so ``num_periods`` full periods.

    Args:
        num_points: number of samples.
        num_periods: number of periods covered.
        phase: ``phi`` (radians).

    Returns:
        ``(t, y)``, float64.

    Shape:
        - Output: ``(num_points,)`` each.
    """
    t = np.linspace(0.0, 2.0 * np.pi * num_periods, _check_count("num_points", num_points))
    return t, np.sin(t + phase)


# ---------------------------------------------------------------------------------------------
# split builders
# ---------------------------------------------------------------------------------------------


def bessel_j2(window: int = 4, train_fraction: float = 0.67) -> Split:
    """The Bessel-J2 next-value task (:func:`bessel_j2_series`), scaled, windowed and split.

    256 points give 252 windows: 168 train, 84 test with the defaults.

    Args:
        window: past values per sample (4 in the papers).
        train_fraction: fraction of the windows (in time order) used for training.

    Returns:
        A :class:`Split`; ``info`` has ``task``, ``source``, ``scale`` (the raw ``(min, max)``),
        ``window``, ``train_fraction``, ``series`` (the scaled series, ``float32`` ``(256,)``)
        and ``grid`` (the raw ``x`` values).

    Shape:
        - ``x_*``: ``(N, window)``; ``y_*``: ``(N,)``; ``N_train = int(train_fraction * (256 - window))``.
    """
    grid, series = bessel_j2_series()
    return _univariate_split("bessel_j2", grid, series, window, train_fraction, f"{_CHEN}; J_2(x)")


def damped_oscillator(window: int = 4, train_fraction: float = 0.67) -> Split:
    """The damped-SHM next-value task (:func:`damped_oscillator_series`, the angular velocity).

    240 points give 236 windows: 158 train, 78 test with the defaults.

    Args:
        window: past values per sample (4 in the papers).
        train_fraction: fraction of the windows (in time order) used for training.

    Returns:
        A :class:`Split`; ``info`` as in :func:`bessel_j2` (``grid`` holds the times).

    Shape:
        - ``x_*``: ``(N, window)``; ``y_*``: ``(N,)``.
    """
    t, series = damped_oscillator_series()
    return _univariate_split("damped_oscillator", t, series, window, train_fraction, f"{_CHEN}; damped SHM")


def delayed_control(window: int = 4, train_fraction: float = 0.67) -> Split:
    """The delayed-quantum-control next-value task (:func:`delayed_control_series`).

    2 200 points give 2 196 windows: 1 471 train, 725 test with the defaults.

    Args:
        window: past values per sample (4 in the papers).
        train_fraction: fraction of the windows (in time order) used for training.

    Returns:
        A :class:`Split`; ``info`` as in :func:`bessel_j2`.

    Shape:
        - ``x_*``: ``(N, window)``; ``y_*``: ``(N,)``.
    """
    grid, series = delayed_control_series()
    return _univariate_split("delayed_control", grid, series, window, train_fraction, f"{_CHEN}; delayed control")


def sine(window: int = 4, train_fraction: float = 0.67, num_points: int = 256, num_periods: float = 4.0) -> Split:
    """The sine-wave next-value task (:func:`sine_series`), a quick sanity check for sequence models.

    Args:
        window: past values per sample.
        train_fraction: fraction of the windows (in time order) used for training.
        num_points: number of samples of the wave.
        num_periods: number of periods covered.

    Returns:
        A :class:`Split`; ``info`` as in :func:`bessel_j2`.

    Shape:
        - ``x_*``: ``(N, window)``; ``y_*``: ``(N,)``; ``N = num_points - window`` in all.
    """
    t, series = sine_series(num_points, num_periods)
    return _univariate_split("sine", t, series, window, train_fraction, "sin(t), a smoke test")


def narma(order: int = 5, window: int = 4, train_fraction: float = 0.67, length: int = 300) -> Split:
    """The NARMA-``n`` task in the reservoir-computing set-up: from the recent inputs ``u``, predict ``y``.

    ``u`` and ``y`` (:func:`narma_series`) are each min-max scaled to ``[-1, 1]`` on their own
    (as the reference ``NARMADataset(pre_scaled=False)`` does), then
    ``x[i] = u[i : i + window]`` and ``y[i] = y[i + window]``: the target one step after the
    window, which depends on the window's last input through ``u_t``. Older inputs (for example
    ``u_{t-n+1}`` when ``n > window``) and past targets are not in ``x``: a model has to
    remember them, which is the point of the benchmark.

    Args:
        order: the NARMA order ``n`` (2, 5 or 10 in the papers).
        window: inputs per sample (4 in the papers).
        train_fraction: fraction of the windows (in time order) used for training.
        length: number of steps of the generated sequences.

    Returns:
        A :class:`Split`; ``info`` has ``task``, ``source``, ``order``, ``window``,
        ``train_fraction``, ``scale`` (the raw ``(min, max)`` of ``y``), ``input_scale`` (that of
        ``u``), ``series`` (scaled ``y``) and ``input_series`` (scaled ``u``), both ``float32``.

    Shape:
        - ``x_*``: ``(N, window)``; ``y_*``: ``(N,)``; ``N = length - window`` in all.
    """
    u, y = narma_series(order, length)
    window = _check_window(window, len(u))
    u_scaled, u_range = minmax_scale(u)
    y_scaled, y_range = minmax_scale(y)
    x = np.lib.stride_tricks.sliding_window_view(u_scaled, window)[:-1]
    target = y_scaled[window:]
    info = {
        "task": "regression",
        "source": f"{_CHEN}; NARMA-{order}",
        "order": order,
        "window": window,
        "train_fraction": train_fraction,
        "scale": y_range,
        "input_scale": u_range,
        "series": _as_float32(y_scaled),
        "input_series": _as_float32(u_scaled),
    }
    return _make_split(f"narma{order}", x, target, train_fraction, info)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _univariate_split(
    name: str, grid: np.ndarray, series: np.ndarray, window: int, train_fraction: float, source: str
) -> Split:
    scaled, value_range = minmax_scale(series)
    x, y = window_series(scaled, window)
    info = {
        "task": "regression",
        "source": source,
        "window": window,
        "train_fraction": train_fraction,
        "scale": value_range,
        "series": _as_float32(scaled),
        "grid": grid,
    }
    return _make_split(name, x, y, train_fraction, info)


def _make_split(name: str, x: np.ndarray, y: np.ndarray, train_fraction: float, info: dict) -> Split:
    x_train, y_train, x_test, y_test = chronological_split(_as_float32(x), _as_float32(y), train_fraction)
    return Split(name, x_train.clone(), y_train.clone(), x_test.clone(), y_test.clone(), info)


def _check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 2:
        raise ValueError(f"{name} must be at least 2, got {value}")
    return int(value)
