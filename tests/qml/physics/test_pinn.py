"""PINN building blocks: the domain and its checks, autograd derivatives, causal weights, the loss, trial functions."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from qml.physics import (
    CausalWeighting,
    Condition,
    DirichletTrial,
    Domain,
    Normalisation,
    PINNLoss,
    SchrodingerPINN,
    SchrodingerResidual,
    check_potential,
    derivative,
    gradient,
    infinite_well,
    schrodinger_loss,
    tanh_mlp,
)
from qml.training import ModelLoss

UNIT = Domain.interval(0.0, 1.0)
SPACE_TIME = Domain(("t", "x"), ((0.0, 1.0), (-1.0, 1.0)))


class _Constant(nn.Module):
    """A body returning a trainable constant for every point."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.tensor(value, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value.expand(x.shape[0], 1)


def _exact_infinite_well(energy: float = math.pi**2) -> SchrodingerPINN:
    """sqrt(2) sin(pi x) as a sine-envelope trial with a constant body: the exact ground state."""
    return SchrodingerPINN(DirichletTrial(_Constant(math.sqrt(2.0)), UNIT, "sine"), energy, dtype=torch.float64)


# ------------------------------------------------------------------------------------------ domain


def test_a_domain_names_its_box_grids_and_samples_inside_it():
    assert str(UNIT) == "x in [0, 1]"
    assert str(SPACE_TIME) == "t in [0, 1] x x in [-1, 1]"
    grid = SPACE_TIME.grid((3, 5))
    assert grid.shape == (15, 2)
    assert torch.equal(grid.reshape(3, 5, 2)[:, 0, 0], torch.tensor([0.0, 0.5, 1.0]))
    assert torch.equal(grid.reshape(3, 5, 2)[0, :, 1], torch.linspace(-1, 1, 5))
    first = SPACE_TIME.sample(500, torch.Generator().manual_seed(3), dtype=torch.float64)
    again = SPACE_TIME.sample(500, torch.Generator().manual_seed(3), dtype=torch.float64)
    assert torch.equal(first, again) and first.dtype == torch.float64
    SPACE_TIME.check(first)
    assert first[:, 1].min() < -0.9 and first[:, 1].max() > 0.9
    assert SPACE_TIME.index("x") == 1


def test_points_outside_the_domain_are_named_with_their_range():
    points = torch.tensor([[0.5], [-0.25], [1.5]])
    with pytest.raises(
        ValueError,
        match=r"collocation points must lie in the domain x in \[0, 1\], but x ranges over \[-0.25, 1.5\] "
        r"\(2 of 3 points outside \[0, 1\]\)\. Draw them with Domain.sample or Domain.grid",
    ):
        UNIT.check(points)
    late = torch.tensor([[0.5, 0.0], [1.2, 0.0]])
    with pytest.raises(ValueError, match=r"domain t in \[0, 1\] x x in \[-1, 1\], but t ranges over \[0.5, 1.2\]"):
        SPACE_TIME.check(late)


@pytest.mark.parametrize(
    ("points", "error", "message"),
    [
        (
            torch.tensor([0.1, 0.2]),
            ValueError,
            r"must have shape \(N, 1\) with N >= 1, one column per coordinate \('x',\), got \(2,\)",
        ),
        (torch.zeros(0, 1), ValueError, r"got \(0, 1\)"),
        (torch.tensor([[0.1], [math.nan]]), ValueError, r"must be finite, but 1 of 2 points hold NaN or infinity"),
        (
            torch.tensor([[0], [1]]),
            TypeError,
            r"floating-point torch.Tensor of shape \(N, 1\), got a torch.int64 tensor",
        ),
        ([[0.1]], TypeError, r"got list"),
    ],
)
def test_bad_points_are_refused(points, error, message):
    with pytest.raises(error, match=message):
        UNIT.check(points)


def test_bad_domains_are_refused():
    with pytest.raises(ValueError, match=r"the bounds of 'x' must be finite with low < high, got \(1, 0\)"):
        Domain.interval(1.0, 0.0)
    with pytest.raises(ValueError, match=r"distinct, non-empty coordinate names"):
        Domain(("x", "x"), ((0, 1), (0, 1)))
    with pytest.raises(ValueError, match=r"one \(low, high\) pair per coordinate \('t', 'x'\), got 1 pairs"):
        Domain(("t", "x"), ((0, 1),))
    with pytest.raises(ValueError, match=r"the domain x in \[0, 1\] has no coordinate 't'"):
        UNIT.index("t")


# ---------------------------------------------------------------------------------------- autodiff


def test_derivatives_by_autograd_match_the_closed_forms():
    x = torch.linspace(-1, 1, 9, dtype=torch.float64).reshape(-1, 1).requires_grad_(True)
    u = torch.sin(3 * x[:, 0])
    assert torch.allclose(derivative(u, x), 3 * torch.cos(3 * x[:, 0]), atol=1e-12)
    assert torch.allclose(derivative(u, x, order=2), -9 * torch.sin(3 * x[:, 0]), atol=1e-12)
    assert torch.allclose(derivative(u, x, order=3), -27 * torch.cos(3 * x[:, 0]), atol=1e-12)
    points = SPACE_TIME.grid(4, dtype=torch.float64).requires_grad_(True)
    t, s = points[:, 0], points[:, 1]
    field = t.pow(2) * torch.sin(s)
    assert torch.allclose(gradient(field, points), torch.stack([2 * t * torch.sin(s), t.pow(2) * torch.cos(s)], 1))
    assert torch.allclose(derivative(field, points, 1, 2), -field, atol=1e-12)
    assert torch.equal(derivative(t.detach().clone(), points, 1), torch.zeros(16))


def test_a_loss_of_second_derivatives_trains_the_weights():
    """create_graph: d/dw of mean(u_xx^2) by autograd equals finite differences in a weight."""
    body = tanh_mlp([1, 6, 1], generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = torch.linspace(-1, 1, 11, dtype=torch.float64).reshape(-1, 1)

    def loss() -> torch.Tensor:
        points = x.clone().requires_grad_(True)
        return derivative(body(points)[:, 0], points, order=2).pow(2).mean()

    loss().backward()
    weight = body[0].weight
    analytic = weight.grad[3, 0].item()
    values = []
    for shift in (1e-6, -2e-6, 1e-6):
        with torch.no_grad():
            weight[3, 0] += shift
        values.append(loss().item())
    up, down = values[0], values[1]
    assert analytic == pytest.approx((up - down) / 2e-6, rel=1e-6)


def test_derivatives_need_points_that_require_gradients():
    x = torch.linspace(0, 1, 5).reshape(-1, 1)
    with pytest.raises(ValueError, match=r"needs inputs that require gradients: call points.requires_grad_\(True\)"):
        derivative(x[:, 0] ** 2, x)
    x.requires_grad_(True)
    with pytest.raises(ValueError, match=r"one output per input row, shape \(5,\), got \(5, 1\)"):
        gradient(x**2, x)
    with pytest.raises(ValueError, match=r"needs a positive int order, got 0"):
        derivative(x[:, 0], x, order=0)
    with pytest.raises(ValueError, match=r"needs a column in 0..0, got 1"):
        derivative(x[:, 0], x, column=1)


# ------------------------------------------------------------------------------------------ causal


def test_causal_weights_follow_the_formula_and_carry_no_gradient():
    weighting = CausalWeighting(3, 0.5, (0.0, 1.0), record_every=1)
    times = torch.tensor([0.1, 0.2, 0.5, 0.6, 0.9, 1.0], dtype=torch.float64)
    scale = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    squared = scale * torch.tensor([1.0, 1.0, 2.0, 2.0, 3.0, 3.0], dtype=torch.float64)  # chunk losses 1, 2, 3
    loss = weighting(squared, times)
    expected = torch.tensor([1.0, math.exp(-0.5), math.exp(-1.5)], dtype=torch.float64)
    assert torch.allclose(weighting.last_weights, expected)
    assert loss.item() == pytest.approx((1.0 + 2 * math.exp(-0.5) + 3 * math.exp(-1.5)) / 3)
    loss.backward()  # the weights are constants: d loss / d scale = loss / scale
    assert scale.grad.item() == pytest.approx(loss.item())
    assert len(weighting.history) == 1 and weighting.history[0][0] == 0


def test_causal_loss_without_epsilon_is_the_plain_mean_and_empty_chunks_count_zero():
    times = torch.linspace(0, 1, 40)
    squared = torch.rand(40, generator=torch.Generator().manual_seed(1))
    assert CausalWeighting(4, 0.0, (0.0, 1.0))(squared, times).item() == pytest.approx(squared.mean().item(), rel=1e-6)
    early = torch.full((8,), 0.1)
    weighting = CausalWeighting(4, 1.0, (0.0, 1.0))
    losses = weighting.chunk_losses(torch.full((8,), 2.0), early)
    assert losses.tolist() == [2.0, 0.0, 0.0, 0.0]
    assert weighting.chunk_of(torch.tensor([0.0, 0.2499, 0.25, 1.0])).tolist() == [0, 0, 1, 3]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((0, 1.0, (0, 1)), "positive int num_chunks, got 0"),
        ((4, -1.0, (0, 1)), "finite epsilon >= 0, got -1.0"),
        ((4, 1.0, (1, 0)), r"time_range \(t0, t1\) with t0 < t1, got \(1, 0\)"),
    ],
)
def test_bad_causal_settings_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        CausalWeighting(*arguments)


# -------------------------------------------------------------------------------------------- loss


def test_the_exact_ground_state_has_zero_residual_and_norm_one():
    model = _exact_infinite_well()
    loss = schrodinger_loss(infinite_well(), UNIT, normalisation_weight=1.0, grid_points=2001)
    assert isinstance(loss, ModelLoss)
    points = UNIT.sample(64, torch.Generator().manual_seed(0), dtype=torch.float64)
    residual = loss.residuals(model, points)
    assert residual.abs().max().item() < 1e-9
    value = loss(model, points, torch.zeros(64))
    assert value.item() < 1e-11
    assert set(loss.last_terms) == {"residual", "normalisation"}
    wrong = _exact_infinite_well(energy=9.0)  # residual (pi^2 - 9) psi / sqrt(1)
    residual = loss.residuals(wrong, points)
    psi = math.sqrt(2.0) * torch.sin(math.pi * points[:, 0])
    assert torch.allclose(residual, (math.pi**2 - 9.0) * psi, atol=1e-6)


def test_the_schrodinger_loss_trains_psi_and_the_energy():
    model = SchrodingerPINN(
        DirichletTrial(tanh_mlp([1, 16, 1], generator=torch.Generator().manual_seed(0), dtype=torch.float64), UNIT),
        energy=5.0,
        dtype=torch.float64,
    )
    loss = schrodinger_loss(infinite_well(), UNIT, normalisation_weight=100.0)
    points = UNIT.grid(64, dtype=torch.float64)
    optimizer = torch.optim.Adam(
        [{"params": list(model.trial.parameters())}, {"params": [model.energy], "lr": 0.1}], lr=0.01
    )
    first = None
    for _ in range(300):
        optimizer.zero_grad()
        value = loss(model, points, torch.zeros(64))
        first = first if first is not None else value.item()
        value.backward()
        optimizer.step()
    assert value.item() < 0.01 * first
    assert model.energy.item() == pytest.approx(math.pi**2, rel=0.05)


def test_the_relative_residual_does_not_collapse_to_zero_psi():
    """Halving psi leaves the relative residual term unchanged: psi = 0 is no minimum."""
    loss = schrodinger_loss(infinite_well(), UNIT, normalisation_weight=0.0)
    model = _exact_infinite_well(energy=8.0)
    points = UNIT.grid(33, dtype=torch.float64)
    before = loss(model, points, torch.zeros(33)).item()
    with torch.no_grad():
        model.trial.body.value.mul_(0.5)
    assert loss(model, points, torch.zeros(33)).item() == pytest.approx(before, rel=1e-12)
    plain = schrodinger_loss(infinite_well(), UNIT, normalisation_weight=0.0, relative=False)
    assert plain(model, points, torch.zeros(33)).item() == pytest.approx(before / 4, rel=1e-3)


def test_a_causal_loss_trains_weighted_and_evaluates_plain():
    weighting = CausalWeighting(4, 5.0, (0.0, 1.0))

    def residual(model: nn.Module, points: torch.Tensor) -> torch.Tensor:
        return model(points)[:, 0] - points[:, 0]

    model = nn.Linear(2, 1).double()
    loss = PINNLoss(residual, SPACE_TIME, causal=weighting)
    points = SPACE_TIME.grid((8, 4), dtype=torch.float64)
    trained = loss(model, points, torch.zeros(32))
    squared = residual(model, points).pow(2)
    assert trained.item() == pytest.approx(weighting(squared, points[:, 0]).item())
    model.eval()
    assert loss(model, points, torch.zeros(32)).item() == pytest.approx(squared.mean().item())


def test_conditions_and_normalisation_are_terms_of_the_loss():
    model = _exact_infinite_well()
    normalisation = Normalisation(UNIT, 401)
    assert normalisation.integral(model).item() == pytest.approx(1.0, abs=1e-5)
    points = torch.tensor([[0.25], [0.5]], dtype=torch.float64)
    condition = Condition(points, torch.tensor([0.0, 1.0], dtype=torch.float64), UNIT, weight=2.0, name="pinned")
    psi = math.sqrt(2.0) * torch.sin(math.pi * points[:, 0])
    assert condition.penalty(model).item() == pytest.approx(((psi - torch.tensor([0.0, 1.0])) ** 2).mean().item())
    loss = PINNLoss(SchrodingerResidual(infinite_well(), UNIT, relative=False), UNIT, constraints=[condition])
    total = loss(model, UNIT.grid(9, dtype=torch.float64), torch.zeros(9))
    assert total.item() == pytest.approx(loss.last_terms["residual"] + loss.last_terms["pinned"])
    assert loss.last_terms["pinned"] == pytest.approx(2.0 * condition.penalty(model).item())
    with pytest.raises(ValueError, match=r"the points of the 'start' condition must lie in the domain x in \[0, 1\]"):
        Condition(torch.tensor([[2.0]]), torch.tensor([0.0]), UNIT, name="start")
    with pytest.raises(ValueError, match=r"the 'start' condition needs one value per point, shape \(1,\), got \(2,\)"):
        Condition(torch.tensor([[0.5]]), torch.zeros(2), UNIT, name="start")


def test_the_loss_refuses_collocation_points_outside_the_well():
    loss = schrodinger_loss(infinite_well(), UNIT)
    points = torch.tensor([[0.2], [1.3]], dtype=torch.float64)
    with pytest.raises(
        ValueError, match=r"collocation points must lie in the domain x in \[0, 1\], but x ranges over \[0.2, 1.3\]"
    ):
        loss(_exact_infinite_well(), points, torch.zeros(2))


def test_a_potential_that_is_not_finite_is_refused_with_where():
    def pole(x: torch.Tensor) -> torch.Tensor:
        return 1.0 / (x - 0.5)

    with pytest.raises(
        ValueError, match=r"the potential is not finite at x = 0.5 \(1 of 1001 points\)\. A PINN needs a finite V"
    ):
        SchrodingerResidual(pole, UNIT, relative=False)

    singular = 0.123456789

    def hidden_pole(x: torch.Tensor) -> torch.Tensor:  # finite on the check grid, infinite at one batch point
        return torch.where(x == singular, torch.full_like(x, math.inf), torch.zeros_like(x))

    loss = PINNLoss(SchrodingerResidual(hidden_pole, UNIT, relative=False), UNIT)
    points = torch.tensor([[0.3], [singular]], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"the potential is not finite at x = 0.123457 \(1 of 2 points\)"):
        loss(_exact_infinite_well(), points, torch.zeros(2))
    with pytest.raises(ValueError, match=r"must return one value per position, shape \(3,\), got \(1,\)"):
        check_potential(lambda x: x.sum().reshape(1), torch.zeros(3))
    with pytest.raises(TypeError, match=r"must be a callable V\(x\)"):
        check_potential(3.0, torch.zeros(3))  # type: ignore[arg-type]


def test_models_and_residuals_of_the_wrong_kind_are_refused():
    loss = schrodinger_loss(infinite_well(), UNIT)
    trial = DirichletTrial(tanh_mlp([1, 4, 1], dtype=torch.float64), UNIT)
    points = UNIT.grid(5, dtype=torch.float64)
    with pytest.raises(
        TypeError, match=r"needs a model with an energy tensor \(a SchrodingerPINN\), got DirichletTrial"
    ):
        loss(trial, points, torch.zeros(5))
    wide = DirichletTrial(tanh_mlp([1, 4, 3], dtype=torch.float64), UNIT)
    with pytest.raises(
        ValueError,
        match=r"the body of a DirichletTrial must return one value per point, shape \(5,\) or \(5, 1\), got \(5, 3\)",
    ):
        wide(points)
    bad = PINNLoss(lambda model, p: model(p).unsqueeze(1), UNIT)
    with pytest.raises(
        ValueError, match=r"the residual must return one value per collocation point, \(5,\), got \(5, 1\)"
    ):
        bad(trial, points, torch.zeros(5))
    with pytest.raises(TypeError, match="PINNLoss needs a callable residual"):
        PINNLoss("r", UNIT)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="PINNLoss constraints must be Constraint objects, got float"):
        PINNLoss(lambda m, p: p[:, 0], UNIT, constraints=[1.0])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"the domain x in \[0, 1\] has no coordinate 't'"):
        PINNLoss(lambda m, p: p[:, 0], UNIT, causal=CausalWeighting(2, 1.0, (0, 1)))


# ------------------------------------------------------------------------------------------- trial


@pytest.mark.parametrize("envelope", ["polynomial", "sine"])
def test_trial_functions_vanish_at_the_walls_for_any_weights(envelope):
    domain = Domain.interval(-2.0, 3.0)
    trial = DirichletTrial(
        tanh_mlp([1, 8, 1], generator=torch.Generator().manual_seed(4), dtype=torch.float64), domain, envelope
    )
    ends = torch.tensor([[-2.0], [3.0]], dtype=torch.float64)
    assert trial(ends).abs().max().item() < 1e-15
    assert trial(domain.grid(7, dtype=torch.float64)).abs().max().item() > 1e-3


def test_the_body_sees_the_rescaled_coordinate():
    domain = Domain.interval(2.0, 4.0)
    trial = DirichletTrial(nn.Identity(), domain)
    x = torch.tensor([[2.5], [3.0], [3.5]])
    assert torch.allclose(trial(x), (x[:, 0] - 2) * (4 - x[:, 0]) * torch.tensor([-0.5, 0.0, 0.5]))
    with pytest.raises(ValueError, match=r"DirichletTrial envelope must be 'polynomial' or 'sine', got 'cosine'"):
        DirichletTrial(nn.Identity(), domain, "cosine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"one-dimensional Domain"):
        DirichletTrial(nn.Identity(), SPACE_TIME)
    with pytest.raises(ValueError, match=r"DirichletTrial expects points of shape \(N, 1\), got \(3,\)"):
        trial(x[:, 0])
