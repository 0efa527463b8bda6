"""``noisy-classifier``: the demo classifier trained against the noise of a fake IBM device (issue 14).

The model is the ``classifier`` / ``demo`` recipe's :class:`~qml.models.HybridClassifier` (``Linear -> pi * tanh ->
data re-uploading circuit -> Linear`` on the digits 0-3) on the 5 qubits of ``FakeManilaV2``
(qiskit-ibm-runtime's calibration snapshot of ibmq_manila), its circuit written in the device's gates
(:func:`native_reuploading`: ``sx``, ``rz`` and ``cx`` along the device's chain ``0-1-2-3-4``), so that every
gate it runs is one the device's noise model has errors for, on the qubits the device has.

Two copies of the model start from the same weights and train on the same batches (one fit loop,
:class:`NoiseTwins`):

* ``noisy``: on our density-matrix engine with the device's noise (``TorchBackend(noise_model=...)``: the
  gate errors with thermal relaxation of ``NoiseModel.from_backend(FakeManilaV2())``, converted by
  :func:`circuits.export.qiskit_noise.noise_model_from_qiskit`), reading each qubit's ``<Z>`` as the device
  records it (its readout error folded into the observable, :meth:`DeviceNoise.recorded_z
  <circuits.backends.device_noise.DeviceNoise.recorded_z>`);
* ``noiseless``: on the noiseless state-vector engine, reading ``<Z>``.

The run's ``test_accuracy`` is the noisy twin on our noisy engine. The report then evaluates on the **noisy
target** ``AerBackend.from_backend(FakeManilaV2())``: Qiskit Aer, exact density matrix (no shots), the same
calibration snapshot's noise, with the readout errors folded into the observables (Aer's exact expectation values
leave them out, like ours):

* ``noisy_target_accuracy``: the noise-trained twin; ``noisy_target_accuracy_noiseless_trained``: the other;
* ``noisy_target_accuracy_fine_tuned``: the noiselessly trained twin trained 3 more epochs with the device's noise
  (:func:`fine_tune`), and ``noisy_target_accuracy_noiseless_fine_tuned``, its control: the same 3 epochs, same
  batches, without noise (what the extra epochs give by themselves);
* ``noiseless_target_accuracy`` and ``noiseless_target_accuracy_noiseless_trained``: both twins without noise.

Its facts name the device, its gate and readout errors and the noise model, and ``engine_vs_aer`` gives the
largest difference between the noisy twin's logits on our engine and on Aer (they compute the same thing).
``examples/noisy_classifier_on_device.py`` takes the twins on to ``ProviderBackend("ibm:fake_manila")`` (shots,
transpiled by the hardware layer).

The Qiskit parts (the fake device, the conversion, Aer) are imported inside the functions that need them, through
:mod:`circuits.backends.device_noise` (the one exception to ``qml``'s vendor contract in ``pyproject.toml``):
importing this module, or running any other recipe, does not load Qiskit.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from circuits import Circuit, ParameterVector, TorchBackend
from circuits.backend import Backend
from qml.models import HybridClassifier
from qml.recipes.basic import digits_data
from qml.recipes.common import classification_experiment
from qml.recipes.recipe import Experiment, Recipe, RecipeOptions, Report
from qml.training.evaluate import predict
from qml.training.losses import ModelLoss

__all__ = [
    "DEVICE",
    "RECIPES",
    "NoiseTwins",
    "TwinLoss",
    "fine_tune",
    "native_reuploading",
    "noisy_classifier",
    "on_backend",
]

DEVICE = "fake_manila"
"""The fake device whose noise the recipe trains against (qiskit-ibm-runtime's ``FakeManilaV2``)."""

QUBITS = 5
"""All of Manila's qubits, so every qubit's gate and readout errors take part."""


def native_reuploading(num_qubits: int, num_layers: int, inputs: str = "x", weights: str = "w") -> Circuit:
    """``data_reuploading(num_qubits, num_layers, entangler="cx", ring=False)`` in IBM's gates ``sx``, ``rz``, ``cx``.

    Each ``RY(t)`` is ``SX, RZ(t + pi), SX, RZ(pi)`` (Qiskit's ``U(t, 0, 0)`` up to a global phase) and each
    ``RZ`` merges into the ``RZ`` before it, so a layer is, on every qubit ``i``::

        SX, RZ(x[i] + pi), SX, RZ(w[k] + pi), SX, RZ(w[k + 1] + pi), SX, RZ(w[k + 2] + pi)    (k = 3 (l n + i))

    then ``CX(i, i + 1)`` along the chain: the unitary of ``data_reuploading`` with the same vectors and
    layout, up to a global phase (a test checks it), in gates a device runs without translation.

    Shape of the vectors: ``inputs`` ``(num_qubits,)``, ``weights`` ``(3 * num_layers * num_qubits,)``.
    """
    x, w = ParameterVector(inputs, num_qubits), ParameterVector(weights, 3 * num_layers * num_qubits)
    circuit = Circuit(num_qubits)
    for layer in range(num_layers):
        for i in range(num_qubits):
            k = 3 * (layer * num_qubits + i)
            for angle in (x[i], w[k], w[k + 1], w[k + 2]):
                circuit = circuit.sx(i).rz(angle + math.pi, i)
        for i in range(num_qubits - 1):
            circuit = circuit.cx(i, i + 1)
    return circuit


class NoiseTwins(nn.Module):
    """Two copies of one classifier, trained side by side: ``noisy`` with the device's noise, ``noiseless`` without.

    ``forward`` is the noisy twin's (what the fit loop's metrics and the test evaluation see); the loss
    (:class:`TwinLoss`) trains both. With Adam, whose steps are per parameter, and no gradient clipping, the sum
    of the two losses trains each twin exactly as if it were trained alone on the same batches.

    Shape:
        - Input: ``(batch_size, num_features)``. Output: ``(batch_size, num_classes)`` logits of ``noisy``.
    """

    def __init__(self, noisy: HybridClassifier, noiseless: HybridClassifier) -> None:
        super().__init__()
        self.noisy = noisy
        self.noiseless = noiseless

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The noisy twin's logits."""
        return self.noisy(x)


class TwinLoss(ModelLoss):
    """Cross-entropy of the noisy twin plus that of the noiseless twin (each mean over the batch)."""

    def __init__(self) -> None:
        self._cross_entropy = nn.CrossEntropyLoss()

    def __call__(self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The summed loss of the twins of ``model`` (a :class:`NoiseTwins`) on one batch."""
        assert isinstance(model, NoiseTwins)
        return self._cross_entropy(model.noisy(inputs), targets) + self._cross_entropy(model.noiseless(inputs), targets)


def _classifier(
    features: int, classes: int, layers: int, backend: Backend, seed_generator: torch.Generator, observables: list
) -> HybridClassifier:
    generator = torch.Generator()
    generator.set_state(seed_generator.get_state())  # both twins draw the same weights
    circuit = native_reuploading(QUBITS, layers)
    return HybridClassifier(
        features, classes, QUBITS, layers, backend, generator, circuit=circuit, observables=observables
    )


def on_backend(model: HybridClassifier, backend: Backend, observables: list) -> HybridClassifier:
    """A copy of ``model`` (same weights) whose quantum layer runs on ``backend`` and measures ``observables``."""
    quantum = model.quantum
    copy = HybridClassifier(
        model.encoder.in_features,
        model.head.out_features,
        quantum.circuit.num_qubits,
        1,
        backend,
        torch.Generator().manual_seed(0),
        circuit=quantum.circuit,
        observables=observables,
    )
    copy.load_state_dict(model.state_dict())
    return copy.to(next(model.parameters()).dtype)


def _accuracy(model: nn.Module, test: tuple[torch.Tensor, torch.Tensor]) -> tuple[float, torch.Tensor]:
    logits = predict(model, test[0])
    return float((logits.argmax(-1) == test[1]).double().mean()), logits


def fine_tune(
    model: HybridClassifier,
    backend: Backend,
    observables: list,
    train: tuple[torch.Tensor, torch.Tensor],
    epochs: int,
    generator: torch.Generator,
) -> HybridClassifier:
    """A copy of ``model`` trained ``epochs`` more epochs on ``backend``, measuring ``observables``.

    Cross-entropy, Adam at :data:`FINE_TUNE_LR`, batches of 32 in an order drawn from ``generator``.
    """
    tuned = on_backend(model, backend, observables)
    optimizer = torch.optim.Adam(tuned.parameters(), lr=FINE_TUNE_LR)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = torch.randperm(len(train[0]), generator=generator)
        for start in range(0, len(order), 32):
            rows = order[start : start + 32]
            optimizer.zero_grad()
            loss_fn(tuned(train[0][rows]), train[1][rows]).backward()
            optimizer.step()
    return tuned


FINE_TUNE_LR = 0.005
"""Learning rate of the fine-tuning on the device's noise (a quarter of the training's initial 0.02)."""


def _report(device: Any, train: tuple, test: tuple, layers: int, fine_tune_epochs: int, seed: int) -> Any:
    """The report: the twins, and the noiseless twin fine-tuned on the noise, on the noisy Aer target."""

    def report(model: nn.Module, out_dir: Path | None) -> Report:
        assert isinstance(model, NoiseTwins)
        recorded = [device.recorded_z(q) for q in range(QUBITS)]
        plain = model.noiseless.quantum.measurement.observables
        aer = device.aer_backend()  # exact density matrix with the snapshot's noise
        noiseless_engine = TorchBackend(dtype=torch.complex128)
        numbers: dict[str, float] = {}
        # the noiselessly trained twin, trained further with the device's noise, and (the control) without it,
        # on the same batches: the difference is the noise's
        for label, backend, observables in (
            ("fine_tuned", model.noisy.quantum.backend, recorded),
            ("noiseless_fine_tuned", model.noiseless.quantum.backend, plain),
        ):
            generator = torch.Generator().manual_seed(seed)
            tuned = fine_tune(model.noiseless, backend, observables, train, fine_tune_epochs, generator)
            numbers[f"noisy_target_accuracy_{label}"], _ = _accuracy(on_backend(tuned, aer, recorded), test)
        for label, twin in (("", model.noisy), ("_noiseless_trained", model.noiseless)):
            numbers[f"noisy_target_accuracy{label}"], logits = _accuracy(on_backend(twin, aer, recorded), test)
            if not label:
                _, ours = _accuracy(twin, test)
                agreement = float((ours.double() - logits.double()).abs().max())
            numbers[f"noiseless_target_accuracy{label}"], _ = _accuracy(on_backend(twin, noiseless_engine, plain), test)
        circuit = model.noisy.quantum.circuit
        facts = {
            "device_noise": device.facts(),
            "noisy_target": "AerBackend.from_backend(FakeManilaV2()): Qiskit Aer density matrix, exact (no shots); "
            "readout errors folded into the <Z_i> observables as (1 - e0 - e1) Z_i + (e1 - e0)",
            "training_backend": repr(model.noisy.quantum.backend),
            "circuit": {"qubits": QUBITS, "layers": layers, "gates": dict(sorted(circuit.count_ops().items()))},
            "engine_vs_aer": {"max_abs_logit_difference": agreement},
            "fine_tuned": f"the noiselessly trained twin, then {fine_tune_epochs} epoch(s) on the device's noise "
            f"(Adam at {FINE_TUNE_LR}, batches of 32); noiseless_fine_tuned: the same epochs without noise",
        }
        return Report(test=numbers, facts=facts)

    return report


def noisy_classifier(options: RecipeOptions) -> Experiment:
    """The demo classifier on FakeManilaV2's 5 qubits, trained with and without the device's noise (module doc).

    Full: digits 0-3, 3 re-uploading layers (12 ``cx``, 60 ``sx``). ``quick``: digits 0-1, 1 layer, 160 samples.

    Raises:
        TypeError: ``options.backend`` is not a :class:`~circuits.TorchBackend` (the twins train on our engine;
            its dtype and device are kept).
        BackendUnavailableError: qiskit-ibm-runtime is not installed (``pip install "qml-hybrid[ibm]"``).
    """
    if not isinstance(options.backend, TorchBackend):
        raise TypeError(
            f"noisy-classifier trains on our engine (the device's noise on the density matrix, and noiseless), so "
            f"it takes a TorchBackend, got {type(options.backend).__name__}; run it with --backend torch."
        )
    from circuits.backends.device_noise import device_noise

    device = device_noise(DEVICE)
    classes, layers = (2, 1) if options.quick else (4, 3)
    generator = torch.Generator().manual_seed(options.seed)
    train, validation, test = digits_data(options, classes, generator)
    base = options.backend.options
    noisy_backend = TorchBackend(dtype=base.dtype, device=base.device, noise_model=device.noise_model)
    noiseless_backend = TorchBackend(dtype=base.dtype, device=base.device)
    features = train[0].shape[1]
    recorded = [device.recorded_z(q) for q in range(QUBITS)]
    model = NoiseTwins(
        _classifier(features, classes, layers, noisy_backend, generator, recorded),
        _classifier(features, classes, layers, noiseless_backend, generator, None),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    experiment = classification_experiment(
        model, TwinLoss(), optimizer, train, validation, test, [str(c) for c in range(classes)], scheduler
    )
    experiment.report = _report(device, train, test, layers, 1 if options.quick else 3, options.seed)
    return experiment


RECIPES = (
    Recipe(
        "noisy-classifier",
        "the demo classifier on FakeManilaV2's 5 qubits trained with the device's noise and without, "
        "both scored on Aer with the device's noise (accuracy)",
        noisy_classifier,
        epochs=10,
        batch_size=32,
        quick_epochs=4,
        monitor="val_accuracy",
    ),
)
"""The recipe of this module (listed in :func:`qml.recipes.registry._shipped`)."""
