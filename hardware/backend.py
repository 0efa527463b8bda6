"""``ProviderBackend``: the ``Backend`` protocol on real devices (and their simulators), one job per step.

Any model runs on it unchanged (``QKANLayer(..., backend=ProviderBackend("ibm:ibm_torino", shots=4000))``).
What a call does:

1. our circuit is converted to Qiskit and transpiled **once per structure** to the device's native
   gates and coupling map (``optimization_level``, seeded), parameters kept symbolic;
2. the measurement becomes a plan: exact expectation values where the device offers them and no
   shots are asked for; otherwise one measured circuit per group of qubit-wise commuting Pauli
   terms (basis rotations then measurements), or the measured qubits for probabilities and samples;
   observables are mapped to the transpiled layout;
3. every binding of the batch, of every measured circuit, goes into **one submission** (the
   parameter-shift backward of :func:`circuits.gradients.parameter_shift_run` hands all shifted
   circuits of a step to one call), which :class:`~hardware.runner.JobRunner` sends through the
   journal: the cost estimate is printed first, the job is recorded before it is sent, a re-run
   re-attaches instead of paying again;
4. counts are (optionally) readout-mitigated with a calibration taken once on the measured physical
   qubits and recorded in the journal (:mod:`hardware.mitigation`), and turned into tensors.

Seeds: submission ``k`` of this backend gets the seed ``derive(seed, rank, k)``, so a re-run of the
same script sends the same submissions (same journal keys) and seed 0 is a seed.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from circuits.backend import Backend, Expectation, Measurement, Samples, StateVector, measured_qubits
from circuits.gradients import parameter_shift_run
from circuits.ir.circuit import Circuit
from circuits.ir.observables import PauliString, PauliSum, Projector
from circuits.ir.serialize import content_hash
from hardware.journal import Journal
from hardware.providers.base import CircuitBatch, DeviceTarget, Provider, Submission, SubmissionResult
from hardware.registry import make_provider, parse_spec
from hardware.runner import JobRunner

__all__ = ["ProviderBackend", "backend_from_spec", "derive_seed"]


def derive_seed(seed: int, rank: int, step: int) -> int:
    """A 31-bit seed for submission ``step`` of process ``rank`` (stable across runs and platforms)."""
    digest = hashlib.sha256(f"{seed}:{rank}:{step}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _as_pauli_sum(observable: PauliSum | Projector) -> PauliSum:
    """A projector ``|b><b|`` on qubits ``q`` as ``prod_i (I + (-1)^b_i Z_qi) / 2``."""
    if isinstance(observable, PauliSum):
        return observable
    terms = []
    for subset in itertools.product((False, True), repeat=len(observable.qubits)):
        sign = 1.0
        paulis = []
        for chosen, qubit, bit in zip(subset, observable.qubits, observable.bits, strict=True):
            if chosen:
                paulis.append((qubit, "Z"))
                sign *= -1.0 if bit else 1.0
        terms.append(PauliString(sign / 2 ** len(observable.qubits), tuple(paulis)))
    return PauliSum(tuple(terms))


def _qubitwise_groups(terms: Sequence[PauliString]) -> list[dict[int, str]]:
    """Greedy grouping into qubit-wise commuting measurement bases ``{qubit: letter}``."""
    groups: list[dict[int, str]] = []
    for term in terms:
        if not term.paulis:
            continue
        for basis in groups:
            if all(basis.get(q, letter) == letter for q, letter in term.paulis):
                basis.update(term.paulis)
                break
        else:
            groups.append(dict(term.paulis))
    return groups


@dataclass
class _Compiled:
    """One measured (or observable-free) circuit transpiled for the device."""

    isa: Any  # qiskit QuantumCircuit
    measured: tuple[int, ...]  # our qubits, clbit j measures measured[j]
    physical: tuple[int, ...]  # their physical qubits


class ProviderBackend(Backend):
    """A device (or a provider's simulator) behind the ``Backend`` protocol.

    Args:
        provider: a :class:`~hardware.providers.base.Provider`, or ``"PROVIDER:DEVICE"`` (``"ibm:ibm_torino"``,
            ``"braket:sv1"``, ``"qiskit:fake_manila"``; see :data:`hardware.registry.PROVIDERS`).
        shots: shots per circuit execution; ``None`` asks for exact results (simulators only).
        seed: base of the per-submission seeds (``0`` is a seed).
        rank: data-parallel rank, mixed into the seeds.
        mitigation: readout-mitigate sampled results (calibration once per set of measured qubits).
        journal: the job journal (``None``: the default one; see :class:`~hardware.journal.Journal`).
        optimization_level: Qiskit transpiler level.
        poll_interval: seconds between status polls.
        timeout: seconds a job may take (``None``: no limit); on timeout it stays in the journal.
        log: where cost estimates and job lines go (``None``: standard error).
        provider_options: passed to the provider factory when ``provider`` is a string.
    """

    name = "provider"

    def __init__(
        self,
        provider: Provider | str,
        *,
        shots: int | None = 1000,
        seed: int = 0,
        rank: int = 0,
        mitigation: bool = False,
        journal: Journal | None = None,
        optimization_level: int = 1,
        poll_interval: float = 1.0,
        timeout: float | None = None,
        log: Any = None,
        **provider_options: Any,
    ) -> None:
        if isinstance(provider, str):
            provider = make_provider(*parse_spec(provider), **provider_options)
        if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int) or shots < 1):
            raise ValueError(f"shots must be a positive int or None (exact), got {shots!r}.")
        self.provider = provider
        self.target: DeviceTarget = provider.target()
        if shots is None and not self.target.exact:
            raise ValueError(
                f"{self.target.provider}:{self.target.name} gives sampled results only; pass shots= (e.g. 4000)."
            )
        self.shots, self.seed, self.rank, self.mitigation = shots, seed, rank, mitigation
        self.optimization_level = optimization_level
        self.runner = JobRunner(provider, journal, poll_interval=poll_interval, timeout=timeout, log=log)
        self.submissions = 0
        self._compiled: dict[tuple, _Compiled] = {}
        self._calibrations: dict[tuple[int, ...], Any] = {}

    def __repr__(self) -> str:
        return (
            f"ProviderBackend({self.target.provider}:{self.target.name}, shots={self.shots}, seed={self.seed}, "
            f"mitigation={self.mitigation})"
        )

    # -- the Backend protocol ------------------------------------------------------------------

    def _run(
        self,
        circuit: Circuit,
        values: dict[str, torch.Tensor],
        batch_size: int,
        measurement: Measurement,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        if isinstance(measurement, StateVector):
            raise ValueError("a device returns measurements, not state vectors; measure Expectation or Probabilities.")
        if isinstance(measurement, Samples):
            return self._sample(circuit, {k: v.detach() for k, v in values.items()}, batch_size, measurement, generator)
        return parameter_shift_run(self._execute, circuit, values, batch_size, measurement, eager=True)

    # -- one submission per call -----------------------------------------------------------------

    def _next_seed(self) -> int:
        """The seed of the next submission."""
        seed = derive_seed(self.seed, self.rank, self.submissions)
        self.submissions += 1
        return seed

    def _compile(self, circuit: Circuit, measured: tuple[int, ...], basis: dict[int, str] | None) -> _Compiled:
        key = (content_hash(circuit), measured, tuple(sorted((basis or {}).items())))
        if key in self._compiled:
            return self._compiled[key]
        from qiskit import transpile

        from circuits.export.qiskit import circuit_to_qiskit

        if circuit.num_qubits > self.target.num_qubits:
            from hardware.errors import DeviceTooSmallError

            raise DeviceTooSmallError(
                f"circuit needs {circuit.num_qubits} qubits but {self.target.provider}:{self.target.name} has "
                f"{self.target.num_qubits}; use fewer qubits or a larger device."
            )
        rotated = circuit
        for qubit, letter in sorted((basis or {}).items()):
            if letter == "X":
                rotated = rotated.h(qubit)
            elif letter == "Y":
                rotated = rotated.sdg(qubit).h(qubit)
        qc = circuit_to_qiskit(rotated)
        if measured:
            from qiskit.circuit import ClassicalRegister

            register = ClassicalRegister(len(measured), "meas")
            qc.add_register(register)
            for index, qubit in enumerate(measured):
                qc.measure(qc.qubits[qubit], register[index])
        if self.target.qiskit_target is not None:
            isa = transpile(
                qc,
                target=self.target.qiskit_target,
                optimization_level=self.optimization_level,
                seed_transpiler=self.seed,
            )
            layout = isa.layout.final_index_layout() if isa.layout is not None else list(range(qc.num_qubits))
        else:
            isa, layout = qc, list(range(qc.num_qubits))
        compiled = _Compiled(isa, measured, tuple(layout[q] for q in measured))
        self._compiled[key] = compiled
        return compiled

    def _bindings(self, isa: Any, values: dict[str, torch.Tensor], batch_size: int) -> np.ndarray:
        if not isa.num_parameters:
            return np.zeros((batch_size, 0))
        from circuits.export.qiskit import qiskit_parameter_binds

        arrays = {
            k: np.broadcast_to(v.detach().cpu().double().numpy(), (batch_size, v.shape[-1])) for k, v in values.items()
        }
        names = {p.vector.name if hasattr(p, "vector") else p.name for p in isa.parameters}
        binds = qiskit_parameter_binds(isa, {k: a for k, a in arrays.items() if k in names})
        return np.column_stack([np.asarray(binds[p], dtype=np.float64) for p in isa.parameters])

    def _submit(
        self,
        kind: str,
        compiled: Sequence[_Compiled],
        values: dict[str, torch.Tensor],
        batch_size: int,
        shots: int | None,
        observables: tuple[Any, ...] = (),
        seed: int | None = None,
    ) -> SubmissionResult:
        batches = tuple(CircuitBatch(c.isa, self._bindings(c.isa, values, batch_size)) for c in compiled)
        seed = self._next_seed() if seed is None else seed
        submission = Submission(kind, batches, shots=shots, observables=observables, seed=seed)  # type: ignore[arg-type]
        return self.runner.run(submission)

    def _sample(
        self,
        circuit: Circuit,
        values: dict[str, torch.Tensor],
        batch_size: int,
        measurement: Samples,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """Shots as bits, one submission; the caller's generator, when given, decides the seed."""
        seed = self._next_seed()
        if generator is not None:
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator).item())
        qubits = tuple(measured_qubits(circuit, measurement.qubits))
        compiled = self._compile(circuit, qubits, None)
        counts = self._counts([compiled], values, batch_size, measurement.shots, seed)[0]
        device = next(iter(values.values())).device if values else torch.device("cpu")
        return _samples(counts, len(qubits), measurement.shots, seed).to(device)

    def _execute(
        self, circuit: Circuit, values: dict[str, torch.Tensor], batch_size: int, measurement: Measurement
    ) -> torch.Tensor:
        """Run the whole batch as one submission: expectation values or probabilities (no autograd)."""
        device = next(iter(values.values())).device if values else torch.device("cpu")
        if isinstance(measurement, Expectation):
            out = self._expectations(circuit, values, batch_size, measurement)
        elif self.shots is None:  # exact probabilities: basis projectors
            qubits = tuple(measured_qubits(circuit, measurement.qubits))
            projectors = tuple(
                Projector(qubits, tuple((index >> (len(qubits) - 1 - j)) & 1 for j in range(len(qubits))))
                for index in range(2 ** len(qubits))
            )
            out = self._expectations(circuit, values, batch_size, Expectation(projectors))
        else:
            qubits = tuple(measured_qubits(circuit, measurement.qubits))
            counts = self._counts([self._compile(circuit, qubits, None)], values, batch_size, self.shots)[0]
            out = torch.tensor(np.array([_probabilities(c, len(qubits)) for c in counts]))
        return out.to(device)

    def _counts(
        self,
        compiled: list[_Compiled],
        values: dict[str, torch.Tensor],
        batch_size: int,
        shots: int,
        seed: int | None = None,
    ) -> list[list[dict[str, float]]]:
        """Counts per circuit per binding, readout-mitigated (as quasi-counts) when asked."""
        result = self._submit("sample", compiled, values, batch_size, shots, seed=seed)
        assert result.counts is not None
        if not self.mitigation:
            return [[{k: float(v) for k, v in c.items()} for c in per] for per in result.counts]
        from hardware.mitigation import mitigate_counts

        out = []
        for circuit, per_binding in zip(compiled, result.counts, strict=True):
            calibration = self._calibration(circuit.physical, shots)
            out.append([{k: v * shots for k, v in mitigate_counts(c, calibration).items()} for c in per_binding])
        return out

    def _calibration(self, physical: tuple[int, ...], shots: int) -> Any:
        if physical not in self._calibrations:
            from hardware.mitigation import ReadoutCalibration, calibration_circuits

            circuits = calibration_circuits(list(physical), self.target.num_qubits)
            batches = tuple(CircuitBatch(c, np.zeros((1, 0))) for c in circuits)
            result = self.runner.run(Submission("sample", batches, shots=shots, seed=self._next_seed()))
            assert result.counts is not None
            self._calibrations[physical] = ReadoutCalibration.from_counts(
                [per[0] for per in result.counts], list(physical), "tensored", shots, self.target.name
            )
        return self._calibrations[physical]

    def _expectations(
        self, circuit: Circuit, values: dict[str, torch.Tensor], batch_size: int, measurement: Expectation
    ) -> torch.Tensor:
        sums = [_as_pauli_sum(o) for o in measurement.observables]
        if self.shots is None:  # exact, on a simulator that offers it
            from qiskit.quantum_info import SparsePauliOp

            compiled = self._compile(circuit, (), None)
            n = circuit.num_qubits
            operators = []
            for total in sums:
                items = []
                for term in total.terms:
                    label = ["I"] * n
                    for qubit, letter in term.paulis:
                        label[n - 1 - qubit] = letter  # Qiskit labels: qubit 0 rightmost
                    items.append(("".join(label), term.coeff))
                op = SparsePauliOp.from_list(items or [("I" * n, 0.0)])
                layout = compiled.isa.layout
                operators.append(op.apply_layout(layout) if layout is not None else op)
            result = self._submit("estimate", [compiled], values, batch_size, None, tuple(operators))
            assert result.expectations is not None
            return torch.tensor(np.asarray(result.expectations[0], dtype=np.float64).reshape(batch_size, len(sums)))
        terms = [t for total in sums for t in total.terms]
        groups = _qubitwise_groups(terms)
        compiled = [self._compile(circuit, tuple(sorted(basis)), basis) for basis in groups]
        counts = self._counts(compiled, values, batch_size, self.shots) if compiled else []
        out = np.zeros((batch_size, len(sums)))
        for column, total in enumerate(sums):
            for term in total.terms:
                if not term.paulis:
                    out[:, column] += term.coeff
                    continue
                index = next(i for i, b in enumerate(groups) if all(b.get(q) == p for q, p in term.paulis))
                positions = [compiled[index].measured.index(q) for q in term.qubits]
                for row in range(batch_size):
                    out[row, column] += term.coeff * _parity(counts[index][row], positions)
        return torch.tensor(out)


def _parity(counts: dict[str, float], positions: Sequence[int]) -> float:
    """``<Z...Z>`` over the given classical bits (Qiskit order: bit 0 rightmost) of (quasi-)counts."""
    total = sum(counts.values())
    value = 0.0
    for bits, count in counts.items():
        ones = sum(bits[len(bits) - 1 - p] == "1" for p in positions)
        value += (-1.0 if ones % 2 else 1.0) * count
    return value / total if total else 0.0


def _probabilities(counts: dict[str, float], num_bits: int) -> np.ndarray:
    """Our order (first measured qubit most significant) from Qiskit-order keys (clbit 0 rightmost)."""
    probs = np.zeros(2**num_bits)
    total = sum(counts.values())
    for bits, count in counts.items():
        index = sum(1 << (num_bits - 1 - j) for j in range(num_bits) if bits[len(bits) - 1 - j] == "1")
        probs[index] += count
    return probs / total if total else probs


def _samples(counts: list[dict[str, float]], num_bits: int, shots: int, seed: int) -> torch.Tensor:
    """``(B, shots, m)`` bits, column ``j`` = measured qubit ``j``, from counts.

    Devices return counts, not the order of the shots; the shots are laid out in a seeded random order
    (the same for the same seed), so that slicing the first ``k`` shots gives an unbiased subsample.
    """
    out = torch.zeros(len(counts), shots, num_bits, dtype=torch.int64)
    generator = torch.Generator().manual_seed(seed)
    for row, per in enumerate(counts):
        position = 0
        for bits, count in sorted(per.items()):
            n = round(count)
            for j in range(num_bits):
                out[row, position : position + n, j] = int(bits[len(bits) - 1 - j])
            position += n
        out[row] = out[row, torch.randperm(shots, generator=generator)]
    return out


def backend_from_spec(spec: str, *, shots: int | None = None, seed: int | None = None) -> ProviderBackend:
    """``ProviderBackend`` for ``"PROVIDER:DEVICE"`` (what ``qml run --backend ibm:<device>`` uses).

    ``shots=None`` asks for exact results where the device offers them, else 1000 shots.
    """
    provider = make_provider(*parse_spec(spec))
    if shots is None and not provider.target().exact:
        shots = 1000
    return ProviderBackend(provider, shots=shots, seed=0 if seed is None else seed)
