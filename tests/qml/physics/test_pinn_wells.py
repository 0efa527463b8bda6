"""Square potentials in a box: exact ground energies (walls included) against finite differences and limits."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from scipy.optimize import brentq

from qml.physics import (
    Domain,
    exact_ground_energy,
    finite_difference_levels,
    infinite_well,
    infinite_well_ground_state,
    square_barrier,
    square_well,
)


def _textbook_even_ground_energy(depth: float, half_width: float) -> float:
    """k tan(k a) = kappa for a well without walls, solved here independently of the library."""
    return brentq(
        lambda e: math.sqrt(e) * math.tan(math.sqrt(e) * half_width) - math.sqrt(depth - e),
        1e-12,
        min(depth, (math.pi / (2 * half_width)) ** 2) * (1 - 1e-12),
        xtol=1e-14,
    )


def test_the_infinite_well_has_n_squared_pi_squared():
    assert exact_ground_energy(infinite_well()) == pytest.approx(math.pi**2, rel=1e-15)
    assert exact_ground_energy(infinite_well((-1.0, 1.0))) == pytest.approx(math.pi**2 / 4, rel=1e-15)
    levels = finite_difference_levels(infinite_well(), (0.0, 1.0), num_levels=3)
    expected = torch.tensor([1.0, 4.0, 9.0], dtype=torch.float64) * math.pi**2
    assert torch.allclose(levels.energies, expected, rtol=1e-6)
    exact = infinite_well_ground_state(levels.x)
    assert torch.allclose(levels.states[:, 0], exact, atol=1e-6)
    assert torch.trapezoid(levels.states[:, 1] ** 2, levels.x).item() == pytest.approx(1.0, abs=1e-12)
    grid = torch.linspace(0, 1, 7, dtype=torch.float64)
    assert torch.allclose(levels.state_at(grid), infinite_well_ground_state(grid), atol=1e-6)


@pytest.mark.parametrize(("depth", "width"), [(100.0, 0.5), (400.0, 0.3), (30.0, 0.8)])
def test_the_finite_well_equation_with_walls_agrees_with_finite_differences(depth, width):
    well = square_well(depth, width)
    exact = exact_ground_energy(well)
    assert finite_difference_levels(well, well.domain).energies[0].item() == pytest.approx(exact, rel=1e-6)
    assert 0 < exact < depth


def test_without_walls_the_finite_well_equation_is_the_textbook_one():
    textbook = _textbook_even_ground_energy(100.0, 0.25)
    assert exact_ground_energy(square_well(100.0, 0.5, (-50.0, 50.0))) == pytest.approx(textbook, rel=1e-12)
    with_walls = exact_ground_energy(square_well(100.0, 0.5))
    assert with_walls > textbook * 1.01  # the walls of [0, 1] push the recipe's ground state up by 1.1 %


@pytest.mark.parametrize(("height", "width"), [(100.0, 0.2), (1000.0, 0.1), (60.0, 0.3)])
def test_the_barrier_equation_agrees_with_finite_differences(height, width):
    barrier = square_barrier(height, width)
    exact = exact_ground_energy(barrier)
    assert finite_difference_levels(barrier, barrier.domain).energies[0].item() == pytest.approx(exact, rel=1e-6)


def test_the_barrier_lies_between_the_empty_box_and_two_separate_boxes():
    energies = [exact_ground_energy(square_barrier(height, 0.2)) for height in (50.0, 100.0, 1e3, 1e4, 1e7)]
    assert math.pi**2 < energies[0] and all(a < b for a, b in itertools.pairwise(energies))
    gap = 0.4  # each side of a very high barrier of width 0.2 is a box of width 0.4
    assert energies[-1] == pytest.approx((math.pi / gap) ** 2, rel=2e-3)


def test_a_state_above_the_step_is_refused_with_the_fix():
    with pytest.raises(
        ValueError,
        match=r"the ground state of this finite well lies at or above the step V0 = 1, .*"
        r"make the step higher or the inner region wider, or use finite_difference_levels",
    ):
        exact_ground_energy(square_well(1.0, 0.5))


def test_potentials_and_their_facts():
    barrier = square_barrier(100.0, 0.2)
    x = torch.tensor([0.0, 0.39, 0.41, 0.5, 0.59, 0.61, 1.0], dtype=torch.float64)
    assert barrier(x).tolist() == [0.0, 0.0, 100.0, 100.0, 100.0, 0.0, 0.0]
    assert square_well(100.0, 0.5)(x).tolist() == [100.0, 0.0, 0.0, 0.0, 0.0, 0.0, 100.0]
    facts = square_well(100.0, 0.5).facts()
    assert facts["kind"] == "finite well" and facts["depth"] == 100.0 and facts["width"] == 0.5
    assert facts["domain"] == [0.0, 1.0] and facts["center"] == 0.5
    assert barrier.facts()["height"] == 100.0
    with pytest.raises(ValueError, match=r"square_well needs a finite depth > 0, got -1"):
        square_well(-1, 0.5)
    with pytest.raises(
        ValueError, match=r"square_barrier width must be below the length of the box x in \[0, 1\] \(1\), got 1"
    ):
        square_barrier(10.0, 1.0)
    with pytest.raises(ValueError, match=r"a square potential lives on one coordinate"):
        infinite_well(Domain(("t", "x"), ((0, 1), (0, 1))))


def test_finite_differences_refuse_a_potential_that_is_not_finite():
    with pytest.raises(ValueError, match=r"the potential is not finite at \d+ grid points, x from 0.49"):
        finite_difference_levels(
            lambda x: torch.where((x - 0.5).abs() < 0.01, math.inf, 0.0), (0.0, 1.0), num_points=500
        )
