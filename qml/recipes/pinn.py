"""Physics-informed networks (issue 13): quantum-well PINNs (Sarkar 2025) and causal training (Wang et al. 2022).

* ``pinn-infinite-well``, ``pinn-finite-well``, ``pinn-barrier``: the ground state of
  ``-psi'' + V psi = E psi`` on ``[0, 1]`` with hard walls, ``psi = x (1 - x) N(x_hat)`` with a tanh MLP
  ``N`` ``[1, 32, 32, 1]``, the energy ``E`` an ``nn.Parameter`` started at 1 (no prior). Each reports its
  trained ``energy`` against the exact value (closed form, or the transcendental equation with the
  box's walls) and a fine finite-difference eigen-solve, and the wavefunction's error.
* ``pinn-infinite-well-quantum``: the same problem with a quantum body, a one-qubit data re-uploading
  circuit on our engine (complex128, ``diff_method="backprop"``, so ``psi''`` exists by autograd).
* ``pinn-allen-cahn`` and ``pinn-allen-cahn-causal``: Allen-Cahn on ``x in [-1, 1]`` (periodic), ``t in [0, 1]``,
  the same network and budget without and with causal weights; relative L2 error against a spectral
  ETDRK4 solution (``test_rel_l2``).

The training rows are a pool of collocation points drawn once from the seed; every batch is a random
subset of the pool (the fit loop's shuffling), targets unused. Validation and test rows are grid points
whose targets are the reference solution, so ``val_``/``test_`` metrics measure the error against it;
the loss there is the plain residual loss. Models are float64 (the wells) or float32 (Allen-Cahn).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from circuits.sim.torch_backend import TorchBackend
from qml.recipes.recipe import Experiment, Recipe, RecipeOptions, Report

__all__ = ["RECIPES", "relative_l2", "wavefunction_error"]


def relative_l2(predicted: torch.Tensor, reference: torch.Tensor) -> float:
    """``||predicted - reference|| / ||reference||`` over all rows."""
    predicted = predicted.reshape(reference.shape).to(reference.dtype)
    return float((predicted - reference).norm() / reference.norm())


def wavefunction_error(psi: torch.Tensor, reference: torch.Tensor) -> float:
    """:func:`relative_l2` up to the global sign of ``psi`` (an eigenfunction's sign is arbitrary)."""
    psi = psi.reshape(reference.shape).to(reference.dtype)
    return min(relative_l2(psi, reference), relative_l2(-psi, reference))


# --------------------------------------------------------------------------------------------------
# quantum wells

_WELL_GRID = 201
"""Points of the validation/test grid and of the normalisation grid on [0, 1]."""


def _potential(kind: str) -> Any:
    from qml.physics import infinite_well, square_barrier, square_well

    if kind == "infinite-well":
        return infinite_well((0.0, 1.0))
    if kind == "finite-well":
        return square_well(depth=100.0, width=0.5, domain=(0.0, 1.0))
    return square_barrier(height=50.0, width=0.2, domain=(0.0, 1.0))


def _quantum_backend(backend: object) -> TorchBackend:
    if not isinstance(backend, TorchBackend):
        raise ValueError(
            f"pinn-infinite-well-quantum differentiates the circuit twice with respect to x by autograd, which "
            f"needs our torch engine; got {backend!r}. Run it with --backend torch."
        )
    return TorchBackend(dtype=torch.complex128, device=backend.options.device, diff_method="backprop")


def _well_body(quantum: bool, options: RecipeOptions, generator: torch.Generator) -> tuple[nn.Module, str]:
    from qml.physics import reuploading_body, tanh_mlp

    if quantum:
        layers = 2 if options.quick else 4
        backend = _quantum_backend(options.backend)
        body = reuploading_body(layers, backend, generator=generator, dtype=torch.float64)
        return body, f"1-qubit re-uploading circuit, {layers} layers, input scaling, a <Z0> + c, on {backend!r}"
    width = [1, 8, 1] if options.quick else [1, 32, 32, 1]
    return tanh_mlp(width, generator=generator, dtype=torch.float64), f"tanh MLP {width}"


def _well_recipe(kind: str, quantum: bool = False) -> Callable[[RecipeOptions], Experiment]:
    def build(options: RecipeOptions) -> Experiment:
        from qml.physics import DirichletTrial, SchrodingerPINN, schrodinger_loss

        potential = _potential(kind)
        domain = potential.domain
        generator = torch.Generator().manual_seed(options.seed)
        body, body_name = _well_body(quantum, options, generator)
        model = SchrodingerPINN(DirichletTrial(body, domain), energy=1.0, dtype=torch.float64)
        loss = schrodinger_loss(potential, domain, normalisation_weight=100.0, grid_points=_WELL_GRID)
        reference = _WellReference(potential, quick=options.quick)
        pool = domain.sample(256 if options.quick else 2048, generator, dtype=torch.float64)
        grid = domain.grid(_WELL_GRID, dtype=torch.float64)
        rows = (grid, reference.state(grid[:, 0]))
        body_parameters = [p for name, p in model.named_parameters() if name != "energy"]
        optimizer = torch.optim.Adam(
            [{"params": body_parameters}, {"params": [model.energy], "lr": 0.1}], lr=0.01 if not quantum else 0.02
        )
        facts = {
            "potential": potential.facts(),
            "reference": reference.facts(),
            "pinn": {
                "body": body_name,
                "trial": "psi(x) = (x - a)(b - x) N(2 (x - a)/(b - a) - 1)",
                "initial_energy": 1.0,
                "collocation_points": len(pool),
                "normalisation": f"trapezoid rule on {_WELL_GRID} points, weight 100",
                "residual": "(-psi'' + V psi - E psi) / sqrt(int psi^2)",
                "dtype": "float64",
            },
        }
        return Experiment(
            model=model,
            loss_fn=loss,
            optimizer=optimizer,
            train=(pool, torch.zeros(len(pool), dtype=torch.float64)),
            validation=rows,
            test=rows,
            task="physics",
            metrics={
                "energy": lambda _outputs, _targets: float(model.energy.detach()),
                "psi_error": wavefunction_error,
            },
            scheduler=torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.99),
            report=lambda trained, out_dir: reference.report(trained, out_dir, facts),
        )

    return build


class _WellReference:
    """The exact and finite-difference ground state of a square potential, and the report against them."""

    def __init__(self, potential: Any, *, quick: bool) -> None:
        from qml.physics import exact_ground_energy, finite_difference_levels, square_well

        self.potential = potential
        self.exact = exact_ground_energy(potential)
        self.fd_points = 2000 if quick else 20_000
        self.levels = finite_difference_levels(potential, potential.domain, num_levels=2, num_points=self.fd_points)
        self.without_walls = None
        if potential.kind == "finite well":  # the textbook k tan(k a) = kappa: the same well in a box 1000x wider
            ((low, high),) = potential.domain.bounds
            centre, half = 0.5 * (low + high), 500.0 * (high - low)
            wide = square_well(potential.outside, potential.width, (centre - half, centre + half))
            self.without_walls = exact_ground_energy(wide)

    def state(self, x: torch.Tensor) -> torch.Tensor:
        """The reference ground state at ``x``: closed form for the empty box, else the finite-difference one."""
        from qml.physics import infinite_well_ground_state

        if self.potential.kind == "infinite well":
            return infinite_well_ground_state(x, self.potential.domain)
        return self.levels.state_at(x)

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "exact_energy": self.exact,
            "exact_method": {
                "infinite well": "pi^2 / L^2",
                "finite well": "k tan(k w/2) = kappa coth(kappa d), k = sqrt(E), kappa = sqrt(V0 - E), d = L/2 - w/2",
                "barrier": "k cot(k d) + kappa tanh(kappa w/2) = 0, k = sqrt(E), kappa = sqrt(V0 - E), d = L/2 - w/2",
            }[self.potential.kind],
            "fd_energies": [float(e) for e in self.levels.energies],
            "fd_points": self.fd_points,
            "wavefunction_reference": "sqrt(2) sin(pi x)"
            if self.potential.kind == "infinite well"
            else "finite-difference ground state",
        }
        if self.without_walls is not None:
            facts["exact_energy_without_walls"] = self.without_walls
        return facts

    def report(self, model: nn.Module, out_dir: Path | None, facts: dict[str, Any]) -> Report:
        from qml.physics import check_potential, derivative
        from qml.physics.plots import plot_wavefunction

        x = self.potential.domain.grid(2001, dtype=torch.float64).requires_grad_(True)
        psi = model(x)
        slope = derivative(psi, x, 0)
        potential = check_potential(self.potential, x[:, 0].detach())
        with torch.no_grad():
            norm = torch.trapezoid(psi.pow(2), x[:, 0])
            rayleigh = torch.trapezoid(slope.pow(2) + potential * psi.pow(2), x[:, 0]) / norm
            reference = self.state(x[:, 0].detach())
            sign = 1.0 if relative_l2(psi, reference) <= relative_l2(-psi, reference) else -1.0
        energy = float(model.energy.detach())
        fd = float(self.levels.energies[0])
        test = {
            "energy": energy,
            "energy_exact": self.exact,
            "energy_fd": fd,
            "energy_rel_error": abs(energy - self.exact) / abs(self.exact),
            "energy_fd_rel_error": abs(energy - fd) / abs(fd),
            "energy_rayleigh": float(rayleigh),
            "norm": float(norm),
            "psi_error": wavefunction_error(psi.detach(), reference),
        }
        if out_dir is not None:
            label = "sqrt(2) sin(pi x)" if self.potential.kind == "infinite well" else "finite differences"
            plot_wavefunction(
                x[:, 0].detach(),
                sign * psi.detach(),
                [(label, reference)],
                out_dir / "wavefunction.png",
                potential=potential,
                title=f"{self.potential.kind}: E = {energy:.6g} (exact {self.exact:.6g}, FD {fd:.6g})",
            )
        return Report(test=test, facts=facts)


# --------------------------------------------------------------------------------------------------
# Allen-Cahn, plain and causal

_HARMONICS = 4
_CHUNKS = 32
_EPSILON = 10.0


def _allen_cahn_recipe(causal: bool) -> Callable[[RecipeOptions], Experiment]:
    def build(options: RecipeOptions) -> Experiment:
        from qml.physics import AllenCahn, CausalWeighting, PeriodicPINN, PINNLoss, tanh_mlp

        problem = AllenCahn()
        domain = problem.domain
        generator = torch.Generator().manual_seed(options.seed)
        hidden = 16 if options.quick else 64
        depth = 2 if options.quick else 4
        width = [1 + 2 * _HARMONICS, *([hidden] * depth), 1]
        model = PeriodicPINN(tanh_mlp(width, generator=generator), domain, _HARMONICS, initial=problem.initial)
        weighting = CausalWeighting(_CHUNKS, _EPSILON, (0.0, problem.duration)) if causal else None
        loss = PINNLoss(problem.residual, domain, causal=weighting)
        solution = (
            problem.reference(num_modes=512, num_times=51, num_points=128) if options.quick else problem.reference()
        )
        pool = domain.sample(1024 if options.quick else 32_768, generator)
        stride_t, stride_x = (5, 8) if options.quick else (2, 2)
        test = _subgrid(solution, stride_t, stride_x)
        validation = _subgrid(solution, 4 * stride_t, 4 * stride_x)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        facts = {
            "equation": problem.facts(),
            "reference": {
                "method": "Fourier pseudo-spectral in x, ETDRK4 in t (Kassam & Trefethen 2005)",
                "modes": 512 if options.quick else 2048,
                "time_step": 1e-3,
                "test_grid": [len(test.t), len(test.x)],
            },
            "pinn": {
                "body": f"tanh MLP {width} of (t, cos(k pi x), sin(k pi x), k = 1..{_HARMONICS})",
                "initial_condition": "exact: u = u0(x) + t N(...)",
                "collocation_points": len(pool),
                "dtype": "float32",
            },
            "causal": {"chunks": _CHUNKS, "epsilon": _EPSILON} if causal else None,
        }
        return Experiment(
            model=model,
            loss_fn=loss,
            optimizer=optimizer,
            train=(pool, torch.zeros(len(pool))),
            validation=(validation.points().float(), validation.u.reshape(-1).float()),
            test=(test.points().float(), test.u.reshape(-1).float()),
            task="physics",
            metrics={"rel_l2": relative_l2},
            scheduler=torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.99),
            report=lambda trained, out_dir: _allen_cahn_report(trained, out_dir, test, weighting, facts),
        )

    return build


def _subgrid(solution: Any, stride_t: int, stride_x: int) -> Any:
    from qml.physics import SpaceTimeSolution

    return SpaceTimeSolution(solution.t[::stride_t], solution.x[::stride_x], solution.u[::stride_t, ::stride_x])


def _allen_cahn_report(
    model: nn.Module, out_dir: Path | None, solution: Any, weighting: Any, facts: dict[str, Any]
) -> Report:
    from qml.physics.plots import plot_causal_weights, plot_space_time
    from qml.training.evaluate import predict

    predicted = predict(model, solution.points().float()).double().reshape(solution.u.shape)
    halfway = solution.t <= 0.5 * float(solution.t[-1])
    test = {
        "rel_l2_first_half": relative_l2(predicted[halfway], solution.u[halfway]),
        "rel_l2_final_time": relative_l2(predicted[-1], solution.u[-1]),
    }
    if weighting is not None and weighting.last_weights is not None:
        test["min_causal_weight"] = float(weighting.last_weights.min())
    if out_dir is not None:
        title = "Allen-Cahn, causal PINN" if weighting is not None else "Allen-Cahn, plain PINN"
        plot_space_time(solution.t, solution.x, predicted, solution.u, out_dir / "solution.png", title=title)
        if weighting is not None and weighting.history:
            plot_causal_weights(weighting.history, weighting.time_range, out_dir / "causal_weights.png", title=title)
    return Report(test=test, facts=facts)


RECIPES = (
    Recipe(
        "pinn-infinite-well",
        "PINN ground state of the infinite well on [0, 1], E trainable (E1 = pi^2)",
        _well_recipe("infinite-well"),
        epochs=150,
        batch_size=128,
        quick_epochs=3,
    ),
    Recipe(
        "pinn-finite-well",
        "PINN ground state of a finite square well (depth 100, width 0.5) in [0, 1], E trainable",
        _well_recipe("finite-well"),
        epochs=300,
        batch_size=128,
        quick_epochs=3,
    ),
    Recipe(
        "pinn-barrier",
        "PINN ground state of a box [0, 1] with a barrier (height 50, width 0.2), E trainable",
        _well_recipe("barrier"),
        epochs=300,
        batch_size=128,
        quick_epochs=3,
    ),
    Recipe(
        "pinn-infinite-well-quantum",
        "PINN ground state of the infinite well with a quantum-circuit body on the torch engine",
        _well_recipe("infinite-well", quantum=True),
        epochs=100,
        batch_size=128,
        quick_epochs=2,
    ),
    Recipe(
        "pinn-allen-cahn",
        "PINN for Allen-Cahn (periodic x in [-1, 1], t in [0, 1]) without causal weights (relative L2)",
        _allen_cahn_recipe(causal=False),
        epochs=100,
        batch_size=1024,
        quick_epochs=2,
    ),
    Recipe(
        "pinn-allen-cahn-causal",
        "PINN for Allen-Cahn with causal weights (Wang et al. 2022), same network and budget (relative L2)",
        _allen_cahn_recipe(causal=True),
        epochs=100,
        batch_size=1024,
        quick_epochs=2,
    ),
)
"""The recipes of this module (listed in :func:`qml.recipes.registry._shipped`)."""
