"""Per-machine tuning of the torch engine: kernel formulations and the batch chunk size, measured once.

Which formulation of a kernel is fastest, and how large a batch chunk keeps the working set in the
caches, depend on the machine (core, caches, memory bandwidth, torch build). The constants in
:mod:`circuits.sim.kernels` and :mod:`circuits.sim.engine` were measured on one machine; this module
measures the same choices on the machine it runs on and keeps the answers:

* **when**: at the first call that needs a choice for a dtype on the CPU (never at import): a short
  measurement (a few hundred milliseconds per dtype, each candidate timed in interleaved repetitions,
  medians compared); ``qml bench tune`` runs it on purpose;
* **what**: per (operation, gate width ``k``, run length ``R = 2**(n - last_qubit - 1)``, shared or
  per-sample matrix, autograd or not, dtype): the formulation of
  :func:`~circuits.sim.kernels.apply_matrix` and :func:`~circuits.sim.kernels.matrix_gradient`; and
  the bytes of state per batch chunk (:func:`~circuits.sim.engine.chunk_size`); and the constant-gate
  fuser's cost model (:class:`~circuits.sim.fusion.FusionCosts`: the time of one pass of each kind of
  block, and from it the widest dense block worth building). A candidate replaces
  the built-in choice (the fallback) only when it measured at least :data:`MARGIN` faster, so noise
  does not flip choices. Every candidate computes the same numbers (the tests check it), so tuning
  changes speed only;
* **where**: ``tuning-v{FORMAT_VERSION}.json`` in :func:`cache_dir` (``$QML_HYBRID_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/qml-hybrid``, else ``~/.cache/qml-hybrid``), one entry per machine key (CPU model,
  core count, torch threads, torch version, device). The file is safe to delete (the next run
  measures again); a corrupt file or one of another version is ignored;
* **off switch**: ``QML_HYBRID_TUNING=off`` (or ``0``, ``false``, ``no``) uses the built-in constants
  and neither reads nor measures anything; the test suite runs so, to stay deterministic.

Only the CPU is tuned; other devices keep the built-in rules.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import statistics
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "ENV_CACHE_DIR",
    "KernelProbe",
    "LayerProbe",
    "all_probes",
    "current_choices",
    "ENV_SWITCH",
    "FORMAT_VERSION",
    "MARGIN",
    "cache_dir",
    "cache_path",
    "chunk_target_bytes",
    "enabled",
    "fusion_costs",
    "kernel_form",
    "layer_form",
    "layer_probes",
    "machine_key",
    "reset",
    "tune",
]

ENV_SWITCH = "QML_HYBRID_TUNING"
"""Environment variable: ``off`` (``0``, ``false``, ``no``) disables tuning (built-in constants only)."""

ENV_CACHE_DIR = "QML_HYBRID_CACHE_DIR"
"""Environment variable: the directory of the tuning file (and of the compiled kernels' build)."""

FORMAT_VERSION = 1
"""Version of the tuning file's format and of what is measured; files of other versions are ignored."""

MARGIN = 0.1
"""A candidate replaces the built-in choice only when its median time is at least this fraction lower."""

_OFF_VALUES = {"off", "0", "false", "no"}

_PROBE_QUBITS, _PROBE_BATCH = 14, 8
"""Kernel probes run on ``8 x 2**14`` amplitudes (1 MiB of complex64): the size of a cache-resident chunk."""

_MAX_RUN_LOG2 = 7
"""Run lengths ``R = 1 .. 2**7`` are measured; longer runs take the choice of the longest measured."""

_WIDTHS = {False: (1, 2, 3), True: (1, 2, 3, 4)}
"""Gate widths measured, per-sample matrices (fused rotations, their pairs and triples) and shared ones
(constant blocks of up to 4 qubits)."""

_REPS = 3
"""Interleaved timed repetitions per candidate after the warm-up (the fastest counts)."""

_STEADY = 1.3
"""A measurement whose median is more than this times its fastest repetition is too noisy to keep."""

_DROP_FACTOR = 2.5
"""Candidates this much slower than the fastest in the warm-up round are not timed further."""

_LAYER_MIN_PROBE = 4
"""Narrowest layer probe; narrower plans take the built-in rule."""

_LAYER_MAX_QUBITS = 18
"""Widest layer probe (a 2 MiB complex64 state); wider plans share its choice."""

_CHUNK_PROBE_QUBITS = 16
_CHUNK_REPS = 2

_FUSION_PROBE_QUBITS = 16
"""The fuser's cost model is measured on one ``2**16`` complex64 state (512 KiB), as the built-in one was."""
_FUSION_CALLS = 8
"""Passes per timed repetition of a fusion probe (one pass of 16 qubits takes about 0.1 ms)."""

_LAZY_BUDGET_S = 3.0
"""Seconds of first-use measuring one process may spend; past it, untuned choices take the built-in rules
(and are measured by a later process)."""

_log = logging.getLogger(__name__)
_lock = threading.RLock()
_local = threading.local()
_tables: dict[tuple, dict[str, str]] = {}
"""Per (machine id, dtype): the tuned kernel choices, loaded or measured in this process."""
_chunks: dict[str, int | None] = {}
"""Per machine id: the tuned chunk bytes."""
_fusion: dict[str, Any] = {}
"""Per machine id: the fuser's cost model (a :class:`~circuits.sim.fusion.FusionCosts`)."""
_spent = [0.0]
"""Seconds spent measuring in this process."""
_choice_cache: dict[tuple, str | None] = {}
_cpu_model: str | None = None
_warned_unwritable = False


def enabled() -> bool:
    """Whether tuned choices are used (``QML_HYBRID_TUNING`` is not ``off``)."""
    return os.environ.get(ENV_SWITCH, "").strip().lower() not in _OFF_VALUES


def _active(device: torch.device) -> bool:
    return device.type == "cpu" and not getattr(_local, "suspended", False) and enabled()


def cache_dir() -> Path:
    """The directory of per-machine caches.

    ``$QML_HYBRID_CACHE_DIR``, else ``$XDG_CACHE_HOME/qml-hybrid``, else ``~/.cache/qml-hybrid``.
    """
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "qml-hybrid"


def cache_path() -> Path:
    """The tuning file."""
    return cache_dir() / f"tuning-v{FORMAT_VERSION}.json"


def _read_cpu_model() -> str:
    global _cpu_model
    if _cpu_model is None:
        model = ""
        with contextlib.suppress(OSError):
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        model = line.split(":", 1)[1].strip()
                        break
        _cpu_model = model or platform.processor() or platform.machine()
    return _cpu_model


def machine_key(device: torch.device | str = "cpu") -> dict[str, Any]:
    """What the tuned choices depend on: CPU model, core count, torch threads, torch version, device."""
    return {
        "cpu": _read_cpu_model(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": torch.device(device).type,
    }


def _machine_id(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def reset() -> None:
    """Forget what this process loaded or measured, and its measuring time (the next choice reads the file)."""
    with _lock:
        _tables.clear()
        _chunks.clear()
        _fusion.clear()
        _choice_cache.clear()
        _spent[0] = 0.0


# -- the file ---------------------------------------------------------------------------------


def _load_file() -> dict[str, Any]:
    """The file's machine entries; empty when it is missing, unreadable, corrupt or of another version."""
    path = cache_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        _log.info("ignoring the tuning file %s (%s); measuring again", path, exc)
        return {}
    if not isinstance(data, dict):
        data = {}
    machines = data.get("machines")
    if data.get("version") != FORMAT_VERSION or not isinstance(machines, dict):
        _log.info("ignoring the tuning file %s (not version %d)", path, FORMAT_VERSION)
        return {}
    return machines


def _valid_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("kernels", {}), dict)
        and all(
            isinstance(table, dict) and all(isinstance(v, str) for v in table.values())
            for table in entry.get("kernels", {}).values()
        )
        and (entry.get("chunk_bytes") is None or isinstance(entry.get("chunk_bytes"), int))
        and (entry.get("fusion") is None or isinstance(entry.get("fusion"), dict))
    )


def _load_entry(mid: str) -> dict[str, Any]:
    entry = _load_file().get(mid)
    return entry if _valid_entry(entry) else {}


def _save_entry(key: dict[str, Any], update: Callable[[dict[str, Any]], None]) -> Path | None:
    """Read the file, apply ``update`` to this machine's entry, write it back atomically."""
    global _warned_unwritable
    mid = _machine_id(key)
    path = cache_path()
    machines = _load_file()
    entry = machines.get(mid)
    if not _valid_entry(entry):
        entry = {}
    entry["machine"] = key
    entry.setdefault("kernels", {})
    update(entry)
    entry["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    machines[mid] = entry
    text = json.dumps({"version": FORMAT_VERSION, "machines": machines}, indent=1, sort_keys=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".tuning-", delete=False) as f:
            f.write(text + "\n")
        os.replace(f.name, path)
    except OSError as exc:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(f.name)
        if not _warned_unwritable:
            _warned_unwritable = True
            warnings.warn(
                f"qml-hybrid could not save its kernel tuning to {path} ({exc}); it will measure again in the "
                f"next process. Set {ENV_CACHE_DIR} to a writable directory, or {ENV_SWITCH}=off.",
                RuntimeWarning,
                stacklevel=3,
            )
        return None
    return path


# -- what is measured ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelProbe:
    """One tuned choice: the formulation of one kernel call shape.

    Attributes:
        op: ``"apply"`` (:func:`~circuits.sim.kernels.apply_matrix`) or ``"gradient"``
            (:func:`~circuits.sim.kernels.matrix_gradient`, the adjoint method's contraction).
        k: gate width in qubits.
        right: run length ``R`` (runs longer than ``2**_MAX_RUN_LOG2`` share the longest measured one's choice).
        shared: one matrix for every sample (constant gates) rather than one per sample.
        grad: the call runs under autograd and its backward follows (timed together).
    """

    op: str
    k: int
    right: int
    shared: bool = False
    grad: bool = False

    @property
    def key(self) -> str:
        """The probe's name in the tuning file."""
        if self.op == "gradient":
            return f"gradient:k{self.k}:R{self.right}"
        operand = "shared" if self.shared else "batched"
        return f"apply:k{self.k}:R{self.right}:{operand}:{'grad' if self.grad else 'nograd'}"

    def candidates(self) -> tuple[str, ...]:
        """The formulations that apply."""
        from circuits.sim import kernels

        if self.op == "gradient":
            return kernels.gradient_form_candidates(self.k, self.right)
        return kernels.matrix_form_candidates(self.k, self.right)

    def fallback(self, dtype: torch.dtype) -> str:
        """The built-in choice on the CPU."""
        from circuits.sim import kernels

        if self.op == "gradient":
            return kernels.fallback_gradient_form(self.k, self.right, "cpu", dtype in (torch.complex64, torch.float32))
        return kernels.fallback_matrix_form(self.k, self.right, "cpu")


@dataclass(frozen=True)
class LayerProbe:
    """The tuned choice between the compiled layer kernel and the torch path for a plan's layers.

    Attributes:
        num_qubits: the state's width.
        grad: under autograd, forward and backward timed together (and the adjoint method's choice).
    """

    num_qubits: int
    grad: bool = False

    @property
    def key(self) -> str:
        """The probe's name in the tuning file."""
        return f"layer:n{self.num_qubits}:{'grad' if self.grad else 'nograd'}"

    def candidates(self) -> tuple[str, ...]:
        """The two forms."""
        return ("torch", "native")

    def fallback(self, dtype: torch.dtype) -> str:
        """The built-in choice (:data:`circuits.sim.engine._LAYER_MIN_QUBITS`)."""
        from circuits.sim import engine

        return "native" if self.num_qubits >= engine._LAYER_MIN_QUBITS else "torch"


def _probe_for(op: str, k: int, right: int, shared: bool, grad: bool) -> KernelProbe | None:
    """The probe deciding this call shape, or ``None`` when nothing is measured for it (one candidate)."""
    right = min(right, 2**_MAX_RUN_LOG2)
    if op == "gradient":
        probe = KernelProbe("gradient", k, right) if k in _WIDTHS[False] else None
    else:
        probe = KernelProbe("apply", k, right, shared, grad) if k in _WIDTHS[shared] else None
    if probe is None or len(probe.candidates()) < 2:
        return None
    return probe


def layer_probes() -> list[LayerProbe]:
    """Every layer choice :func:`tune` measures (when the compiled kernel is available)."""
    return [LayerProbe(n, grad) for n in range(_LAYER_MIN_PROBE, _LAYER_MAX_QUBITS + 1) for grad in (False, True)]


def all_probes() -> list[KernelProbe]:
    """Every kernel formulation choice (what :func:`tune` measures, with :func:`layer_probes`)."""
    probes = []
    for log_r in range(_MAX_RUN_LOG2 + 1):
        for shared, widths in _WIDTHS.items():
            for k in widths:
                for grad in (False, True):
                    probes.append(_probe_for("apply", k, 2**log_r, shared, grad))
        for k in _WIDTHS[False]:
            probes.append(_probe_for("gradient", k, 2**log_r, False, False))
    return [p for p in probes if p is not None]


# -- lookups (the engine's hot path) ------------------------------------------------------------


def kernel_form(
    op: str, k: int, right: int, shared: bool, grad: bool, dtype: torch.dtype, device: torch.device
) -> str | None:
    """The tuned formulation for a kernel call, or ``None`` for the built-in choice.

    The first call for a call shape on a machine measures its candidates (a few milliseconds; at most
    :data:`_LAZY_BUDGET_S` seconds per process in all) and saves the choice.

    Args:
        op: ``"apply"`` or ``"gradient"`` (see :class:`KernelProbe`).
        k: gate width in qubits.
        right: run length ``R``.
        shared: one matrix for every sample.
        grad: the call runs under autograd (its backward follows).
        dtype: state dtype.
        device: state device (only the CPU is tuned).
    """
    if not _active(device):
        return None
    cache_key = (op, k, right, shared, grad, dtype, torch.get_num_threads())
    try:
        return _choice_cache[cache_key]
    except KeyError:
        pass
    with _lock:
        probe = _probe_for(op, k, right, shared, grad)
        choice = None if probe is None else _stored_or_measured(probe, dtype, _spend)
        _choice_cache[cache_key] = choice
    return choice


def _stored_or_measured(
    probe: KernelProbe | LayerProbe, dtype: torch.dtype, may_measure: Callable[[], bool]
) -> str | None:
    """The saved choice for ``probe``, else (when ``may_measure()``) a fresh measurement, saved if steady."""
    key = machine_key("cpu")
    table = _table(key, dtype)
    choice = table.get(probe.key)
    if choice is None and may_measure():
        choice, steady, _ = _measure_probe(probe, dtype)
        if steady:
            table[probe.key] = choice
            name = _dtype_name(dtype)
            _save_entry(key, lambda entry: entry["kernels"].setdefault(name, {}).__setitem__(probe.key, choice))
    return choice


def layer_form(num_qubits: int, dtype: torch.dtype, grad: bool) -> str | None:
    """``"native"`` or ``"torch"``: how a plan on ``num_qubits`` applies its layers of single-qubit gates.

    ``"native"`` is the compiled layer kernel (:mod:`circuits.sim.layer`), ``"torch"`` the plan's pairs and
    triples. Measured at first use per width (widths above 18 share the choice of 18), dtype and mode, when
    the compiled kernel is available; ``None`` for the built-in rule.
    """
    if not _active(torch.device("cpu")):
        return None
    cache_key = ("layer", num_qubits, dtype, grad, torch.get_num_threads())
    try:
        return _choice_cache[cache_key]
    except KeyError:
        pass
    from circuits.sim import native

    with _lock:
        if num_qubits < _LAYER_MIN_PROBE:
            _choice_cache[cache_key] = None
            return None
        probe = LayerProbe(min(num_qubits, _LAYER_MAX_QUBITS), grad)
        choice = _stored_or_measured(probe, dtype, lambda: native.enabled() and _spend() and native.available())
        _choice_cache[cache_key] = choice
    return choice


def chunk_target_bytes(device: torch.device) -> int | None:
    """The tuned bytes of state per batch chunk on the CPU, or ``None`` for the built-in constant.

    The first call on a machine measures it (about half a second) and saves it.
    """
    if not _active(device):
        return None
    key = machine_key(device)
    mid = _machine_id(key)
    try:
        return _chunks[mid]
    except KeyError:
        pass
    with _lock:
        if mid not in _chunks:
            stored = _load_entry(mid).get("chunk_bytes")
            if stored is None and _spend():
                measured, steady, _ = _measure_chunk()
                if steady:
                    stored = measured
                    _save_entry(key, lambda entry: entry.__setitem__("chunk_bytes", measured))
            _chunks[mid] = stored
        return _chunks[mid]


def fusion_costs() -> Any:
    """The constant-gate fuser's cost model for this machine (:class:`~circuits.sim.fusion.FusionCosts`).

    The built-in model when tuning is off; else the saved one, or, at the first call on a machine, a
    measurement (about 0.1 s: one pass of each kind of block on a 16-qubit complex64 state), saved when
    steady. The plan is compiled on the host, so this is the CPU's model whatever device runs the plan.
    """
    from circuits.sim.fusion import DEFAULT_COSTS

    if not _active(torch.device("cpu")):
        return DEFAULT_COSTS
    key = machine_key("cpu")
    mid = _machine_id(key)
    try:
        return _fusion[mid]
    except KeyError:
        pass
    with _lock:
        if mid not in _fusion:
            costs = _costs_from(_load_entry(mid).get("fusion"))
            if costs is None and _spend():
                measured, steady, _ = _measure_fusion()
                if steady:
                    costs = _costs_from(measured)
                    _save_entry(key, lambda entry: entry.__setitem__("fusion", measured))
            _fusion[mid] = costs or DEFAULT_COSTS
        return _fusion[mid]


def _costs_from(measured: dict[str, Any] | None) -> Any:
    """A saved or fresh measurement as a cost model; ``None`` when absent or malformed."""
    from circuits.sim.fusion import FusionCosts

    if not measured:
        return None
    try:
        return FusionCosts.from_measurement(**measured)
    except (TypeError, ValueError):
        return None


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _table(key: dict[str, Any], dtype: torch.dtype) -> dict[str, str]:
    """This process's choices for the machine and dtype: the file's, completed as probes run."""
    mid, name = _machine_id(key), _dtype_name(dtype)
    table = _tables.get((mid, name))
    if table is None:
        table = _tables[(mid, name)] = dict(_load_entry(mid).get("kernels", {}).get(name, {}))
    return table


def _spend() -> bool:
    """Whether first-use measuring may still run in this process (see :data:`_LAZY_BUDGET_S`)."""
    return _spent[0] < _LAZY_BUDGET_S


# -- measuring ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _measuring() -> Iterator[None]:
    """While probes run, this thread's lookups give the built-in choices (no recursive tuning)."""
    previous = getattr(_local, "suspended", False)
    _local.suspended = True
    start = time.perf_counter()
    try:
        yield
    finally:
        _local.suspended = previous
        _spent[0] += time.perf_counter() - start


def _clock() -> Callable[[], float]:
    """The clock probes are timed with.

    With one torch thread, the calling thread's CPU time (immune to the time other jobs hold the core); else
    wall time (a parallel kernel's time is its slowest thread's).
    """
    return time.thread_time if torch.get_num_threads() == 1 else time.perf_counter


def _interleaved_times(
    calls: dict[Any, Callable[[], object]], reps: int, *, drop_slow: bool = True
) -> dict[Any, list[float]]:
    """Seconds of each call in a warm-up round and ``reps`` interleaved rounds.

    With ``drop_slow``, candidates more than :data:`_DROP_FACTOR` times slower than the fastest in the
    warm-up round are not timed again (they cannot win).
    """
    clock = _clock()
    times: dict[Any, list[float]] = {}
    for name, call in calls.items():
        t0 = clock()
        call()
        times[name] = [clock() - t0]
    fastest = min(t[0] for t in times.values())
    timed = {name: call for name, call in calls.items() if not drop_slow or times[name][0] <= _DROP_FACTOR * fastest}
    for _ in range(reps):
        for name, call in timed.items():
            t0 = clock()
            call()
            times[name].append(clock() - t0)
    return times


def _pick(times: dict[Any, list[float]], fallback: Any) -> tuple[Any, bool]:
    """The candidate to use, and whether the measurement was steady enough to keep.

    The fastest candidate replaces the fallback only if it beats it by :data:`MARGIN` both in its fastest
    repetition (on a shared machine a call is only ever slowed down, so the fastest repetition is the one
    that measured the kernel) and in its median. The measurement is *unsteady* when the median of either
    of the two is more than :data:`_STEADY` times its fastest: the machine was too busy to tell, so the
    built-in choice is used and nothing is saved (a later process measures again).
    """
    fastest = {name: min(t) for name, t in times.items()}
    best = min(fastest, key=fastest.__getitem__)
    if fallback not in times:
        return best, True
    median = {name: statistics.median(t) for name, t in times.items()}
    steady = all(median[name] <= _STEADY * fastest[name] for name in {best, fallback})
    if best == fallback or not steady:
        return fallback, steady
    wins = fastest[best] <= (1 - MARGIN) * fastest[fallback] and median[best] <= (1 - MARGIN) * median[fallback]
    return (best if wins else fallback), True


def _fastest(times: dict[Any, list[float]]) -> dict[Any, float]:
    return {name: min(t) for name, t in times.items()}


def _random(shape: Sequence[int], dtype: torch.dtype, gen: torch.Generator) -> torch.Tensor:
    if dtype.is_complex:
        real = torch.float64 if dtype == torch.complex128 else torch.float32
        parts = [torch.randn(*shape, generator=gen, dtype=real) for _ in range(2)]
        return torch.complex(*parts)
    return torch.randn(*shape, generator=gen, dtype=dtype)


def _measure_probe(probe: KernelProbe | LayerProbe, dtype: torch.dtype) -> tuple[str, bool, dict[str, float]]:
    """Time the probe's candidates on ``8 x 2**14`` amplitudes (a layer probe: its width, 1 MiB of states).

    Returns:
        ``(choice, steady, seconds)``: see :func:`_pick`; the fastest seconds per candidate.
    """
    from circuits.sim import kernels

    if isinstance(probe, LayerProbe):
        return _measure_layer(probe, dtype)

    n, batch = _PROBE_QUBITS, _PROBE_BATCH
    log_r = probe.right.bit_length() - 1
    qubits = tuple(range(n - probe.k - log_r, n - log_r))
    gen = torch.Generator().manual_seed(0)
    state = _random((batch, 2**n), dtype, gen)
    with _measuring():
        if probe.op == "gradient":
            other = _random((batch, 2**n), dtype, gen)
            calls = {
                form: (lambda form=form: kernels.matrix_gradient(state, other, qubits, n, form=form))
                for form in probe.candidates()
            }
            with torch.no_grad():
                times = _interleaved_times(calls, _REPS)
        else:
            d = 2**probe.k
            matrix = _random((1 if probe.shared else batch, d, d), dtype, gen)
            out = torch.empty_like(state)
            calls = {
                form: _apply_call(kernels.apply_matrix, state, matrix, qubits, n, out, form, probe.grad)
                for form in probe.candidates()
            }
            times = _interleaved_times(calls, _REPS)
    return (*_pick(times, probe.fallback(dtype)), _fastest(times))


def _apply_call(
    apply: Callable[..., torch.Tensor],
    state: torch.Tensor,
    matrix: torch.Tensor,
    qubits: tuple[int, ...],
    n: int,
    out: torch.Tensor,
    form: str,
    grad: bool,
) -> Callable[[], object]:
    """One call of ``apply`` in a form: into ``out`` without autograd, or forward and backward under it."""
    if not grad:

        def call() -> object:
            with torch.no_grad():
                return apply(state, matrix, qubits, n, out, form=form)

        return call
    leaf = state.clone().requires_grad_()
    weights = matrix.clone().requires_grad_(matrix.shape[0] > 1)
    inputs = [leaf, weights] if weights.requires_grad else [leaf]

    def call_grad() -> object:
        with torch.enable_grad():
            result = apply(leaf, weights, qubits, n, form=form)
            return torch.autograd.grad(result, inputs, state)

    return call_grad


def _measure_layer(probe: LayerProbe, dtype: torch.dtype) -> tuple[str, bool, dict[str, float]]:
    """Time a full layer (a ``2 x 2`` per qubit and sample) by the compiled kernel and by the plan's torch steps.

    Without autograd each path ping-pongs between two buffers, as the engine's buffered forward does; under
    autograd the matrices' products (the torch path's krons, the kernel's gathers) are inside the timing.
    """
    from circuits.sim import kernels, layer, plan

    n = probe.num_qubits
    batch = max(1, (_PROBE_BATCH << _PROBE_QUBITS) >> n)
    gen = torch.Generator().manual_seed(0)
    state = _random((batch, 2**n), dtype, gen)
    mats = _random((batch, n, 2, 2), dtype, gen)
    width = 3 if n >= plan._TRIPLE_FUSION_MIN_QUBITS else 2 if n >= plan._PAIR_FUSION_MIN_QUBITS else 1
    spans = [tuple(range(start, min(n, start + width))) for start in range(0, n, width)]
    groups = layer.layer_groups(range(n), n)
    buffers = (torch.empty_like(state), torch.empty_like(state))

    def torch_path(s: torch.Tensor, m: torch.Tensor, buffered: bool) -> torch.Tensor:
        for i, span in enumerate(spans):  # krons of neighbouring qubits, as the plan pairs them
            block = m[:, span[0]]
            for j in span[1:]:
                d = block.shape[-1]
                block = (block[..., :, None, :, None] * m[:, j, None, :, None, :]).reshape(batch, 2 * d, 2 * d)
            s = kernels.apply_matrix(s, block, span, n, buffers[i % 2] if buffered else None)
        return s

    def native_path(s: torch.Tensor, m: torch.Tensor, buffered: bool) -> torch.Tensor:
        for i, (bits, qubits) in enumerate(groups):
            operand = m[:, list(qubits)]
            s = layer.apply_layer(s, operand, qubits, n, bits, layer.TILE_LOG2, buffers[i % 2] if buffered else None)
        return s

    def timed(path: Callable[[torch.Tensor, torch.Tensor, bool], torch.Tensor]) -> Callable[[], object]:
        if not probe.grad:

            def call() -> object:
                with torch.no_grad():
                    return path(state, mats, True)

            return call
        leaves = [state.clone().requires_grad_(), mats.clone().requires_grad_()]

        def call_grad() -> object:
            with torch.enable_grad():
                return torch.autograd.grad(path(*leaves, False), leaves, state)

        return call_grad

    with _measuring():
        times = _interleaved_times({"torch": timed(torch_path), "native": timed(native_path)}, _REPS)
    return (*_pick(times, probe.fallback(dtype)), _fastest(times))


def _probe_circuit(num_qubits: int):
    """One HEA layer (``ry``, ``rz`` per qubit and a CNOT ring): the chunk size probe's workload."""
    from circuits.ir.circuit import Circuit
    from circuits.ir.parameters import ParameterVector

    theta = ParameterVector("theta", 2 * num_qubits)
    circuit = Circuit(num_qubits)
    for q in range(num_qubits):
        circuit = circuit.ry(theta[q], q).rz(theta[num_qubits + q], q)
    for q in range(num_qubits):
        circuit = circuit.cx(q, (q + 1) % num_qubits)
    return circuit


def _chunk_candidates(cache_bytes: int) -> tuple[int, ...]:
    """Chunk sizes to try: 1/8 to 1/2 of the largest cache, and the built-in constant (bytes, ascending)."""
    from circuits.sim import engine

    sizes = {max(1 << 20, cache_bytes >> shift) for shift in (3, 2, 1)}
    sizes.add(engine._CACHE_TARGET_BYTES)
    return tuple(sorted(sizes))


def _measure_chunk() -> tuple[int, bool, dict[int, float]]:
    """Time the engine's buffered forward of an HEA layer at 16 qubits with each chunk size.

    The states fill 1.5 times the largest cache the system reports (32 MiB when unknown; at least 16 and
    at most 96 MiB), so running the batch whole spills out of it.

    Returns:
        ``(bytes, steady, seconds)``: the chosen chunk bytes, whether the measurement was steady (see
        :func:`_pick`), and the fastest seconds per candidate (by bytes).
    """
    from circuits.sim import engine
    from circuits.sim.plan import compile_plan

    n = _CHUNK_PROBE_QUBITS
    dtype, device = torch.complex64, torch.device("cpu")
    per_sample = dtype.itemsize * 2**n
    cache_bytes = _largest_cache_bytes() or 32 << 20
    batch = min(96 << 20, max(16 << 20, 3 * cache_bytes // 2)) // per_sample
    plan = compile_plan(_probe_circuit(n))
    gen = torch.Generator().manual_seed(0)
    values = {"theta": torch.rand(batch, 2 * n, generator=gen) * 6.28}
    with _measuring(), torch.no_grad():
        tensors = plan.step_tensors(values, batch, torch.float32, device)
        calls = {}
        for size in _chunk_candidates(cache_bytes):
            chunk = max(1, size // per_sample)
            calls[size] = lambda chunk=chunk: engine._simulate_buffered(
                plan, tensors, batch, dtype, device, chunk=chunk
            )
        times = _interleaved_times(calls, _CHUNK_REPS)
    return (*_pick(times, engine._CACHE_TARGET_BYTES), _fastest(times))


def _measure_fusion() -> tuple[dict[str, Any], bool, dict[str, float]]:
    """Time one pass of each kind of constant block on a ``(1, 2**16)`` complex64 state, one after another.

    Returns:
        ``(measured, steady, seconds)``: the arguments of :meth:`FusionCosts.from_measurement` (ns per
        amplitude; ``launch_ns``: a whole pass on a 4-qubit state), whether every timing was steady (see
        :func:`_pick`), and the fastest seconds per pass by probe name.
    """
    from circuits.sim import kernels
    from circuits.sim.fusion import DENSE_MAX_QUBITS

    n = _FUSION_PROBE_QUBITS
    gen = torch.Generator().manual_seed(0)
    state = _random((1, 2**n), torch.complex64, gen)
    out = torch.empty_like(state)
    tiny = _random((1, 16), torch.complex64, gen)
    tiny_out = torch.empty_like(tiny)

    def repeated(call: Callable[[], object]) -> Callable[[], object]:
        def calls() -> object:
            for _ in range(_FUSION_CALLS):
                call()
            return None

        return calls

    def dense(qubits: Sequence[int], width: int = n, on: torch.Tensor = state, into: torch.Tensor = out):
        k = len(qubits)
        matrix = _random((1, 2**k, 2**k), torch.complex64, gen)
        return repeated(lambda: kernels.apply_matrix(on, matrix, tuple(qubits), width, into))

    middle = (n - DENSE_MAX_QUBITS) // 2
    calls: dict[str, Callable[[], object]] = {"launch": dense((1,), 4, tiny, tiny_out)}
    for k in range(1, DENSE_MAX_QUBITS + 1):
        calls[f"dense{k}"] = dense(range(middle, middle + k))
    calls["dense2_apart"] = dense((2, n // 2 + 2))
    last = tuple(range(n - 6, n))
    diagonal = _random((1, 2**6), torch.complex64, gen)
    calls["diagonal"] = repeated(lambda: kernels.apply_diagonal(state, diagonal, last, n, out))
    source = torch.randperm(2**n, generator=gen)
    calls["gather"] = repeated(lambda: kernels.apply_monomial(state, source, None, out))
    with _measuring(), torch.no_grad():
        times = _interleaved_times(calls, _REPS + 2, drop_slow=False)
    fastest = {name: min(t) / _FUSION_CALLS for name, t in times.items()}
    steady = all(statistics.median(t) <= _STEADY * min(t) for t in times.values())
    launch_s = fastest["launch"]
    per_amp = {name: max(0.0, (t - launch_s)) * 1e9 / 2**n for name, t in fastest.items() if name != "launch"}
    measured = {
        "launch_ns": launch_s * 1e9,
        "dense_ns": [per_amp[f"dense{k}"] for k in range(1, DENSE_MAX_QUBITS + 1)],
        "permute_ns": max(0.0, per_amp["dense2_apart"] - per_amp["dense2"]),
        "diagonal_ns": per_amp["diagonal"],
        "gather_ns": per_amp["gather"],
    }
    return measured, steady, fastest


def _largest_cache_bytes() -> int:
    """The largest CPU cache the system reports (bytes), 0 when unknown."""
    largest = 0
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        with contextlib.suppress(OSError, ValueError):
            text = (index / "size").read_text().strip().upper()
            scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
            largest = max(largest, int(text.rstrip("KMG")) * scale)
    return largest


def tune(dtypes: Sequence[torch.dtype] = (torch.complex64,), *, save: bool = True) -> dict[str, Any]:
    """Measure the chunk size and every kernel choice for ``dtypes`` now (what ``qml bench tune`` runs).

    A measurement too noisy to keep (see :func:`_pick`) is repeated up to twice; if it stays noisy the
    built-in choice is reported for it and nothing is saved for it.

    Args:
        dtypes: state dtypes to tune (complex64, complex128, float32, float64).
        save: write the results to :func:`cache_path` and use them in this process.

    Returns:
        A report: ``machine`` (the key), ``path`` (where it was saved, or ``None``), ``seconds`` (the time
        the measurement took), ``chunk_bytes`` and ``chunk_times`` (fastest seconds per candidate size),
        ``fusion`` (the constant-gate fuser's pass costs, see :func:`fusion_costs`),
        ``kernels`` (per dtype: probe key -> choice), ``fallbacks`` (the same for the built-in rules),
        ``unsteady`` (per dtype: the probe keys, and ``"chunk"`` and ``"fusion"``, measured too noisily to
        keep) and
        ``times`` (per dtype and probe key: fastest seconds per candidate).
    """
    key = machine_key("cpu")
    start = time.perf_counter()
    with _lock:
        chunk, steady, chunk_times = _retry(_measure_chunk)
        unsteady: dict[str, list[str]] = {"chunk": [] if steady else ["chunk"]}
        fusion, steady, _ = _retry(_measure_fusion)
        unsteady["fusion"] = [] if steady else ["fusion"]
        tables: dict[str, dict[str, str]] = {}
        fallbacks: dict[str, dict[str, str]] = {}
        all_times: dict[str, dict[str, dict[str, float]]] = {}
        from circuits.sim import native

        probes: list[KernelProbe | LayerProbe] = list(all_probes())
        if native.available():
            probes += layer_probes()
        for dtype in dtypes:
            name = _dtype_name(dtype)
            tables[name], fallbacks[name], all_times[name], unsteady[name] = {}, {}, {}, []
            for probe in probes:
                choice, steady, all_times[name][probe.key] = _retry(
                    lambda probe=probe, dtype=dtype: _measure_probe(probe, dtype)
                )
                fallbacks[name][probe.key] = probe.fallback(dtype)
                tables[name][probe.key] = choice
                if not steady:
                    unsteady[name].append(probe.key)
        seconds = time.perf_counter() - start
        path = None
        if save:
            kept = {name: {k: v for k, v in table.items() if k not in unsteady[name]} for name, table in tables.items()}

            def update(entry: dict[str, Any]) -> None:
                if not unsteady["chunk"]:
                    entry["chunk_bytes"] = chunk
                if not unsteady["fusion"]:
                    entry["fusion"] = fusion
                entry["kernels"].update(kept)

            path = _save_entry(key, update)
            mid = _machine_id(key)
            _choice_cache.clear()
            if not unsteady["chunk"]:
                _chunks[mid] = chunk
            _fusion.pop(mid, None)  # the next lookup reads what was saved
            for name, table in kept.items():
                _tables[(mid, name)] = dict(table)
    return {
        "machine": key,
        "path": None if path is None else str(path),
        "seconds": seconds,
        "chunk_bytes": chunk,
        "chunk_times": chunk_times,
        "fusion": fusion,
        "kernels": tables,
        "fallbacks": fallbacks,
        "unsteady": unsteady,
        "times": all_times,
    }


def _retry(measure: Callable[[], tuple[Any, bool, Any]], attempts: int = 3) -> tuple[Any, bool, Any]:
    """Run ``measure`` until it reports a steady result, at most ``attempts`` times."""
    for _ in range(attempts):
        result = measure()
        if result[1]:
            break
    return result


def current_choices(dtype: torch.dtype = torch.complex64) -> dict[str, Any]:
    """What this machine's tuning file holds for ``dtype`` (nothing is measured): for reports.

    Returns:
        ``machine``, ``path``, ``enabled``, ``chunk_bytes`` and ``fusion`` (``None`` when not measured yet),
        ``kernels`` (probe key -> choice, for the probes measured so far) and ``fallbacks`` (probe key ->
        built-in choice, for every probe).
    """
    key = machine_key("cpu")
    entry = _load_entry(_machine_id(key))
    return {
        "machine": key,
        "path": str(cache_path()),
        "enabled": enabled(),
        "chunk_bytes": entry.get("chunk_bytes"),
        "fusion": entry.get("fusion"),
        "kernels": dict(entry.get("kernels", {}).get(_dtype_name(dtype), {})),
        "fallbacks": {probe.key: probe.fallback(dtype) for probe in [*all_probes(), *layer_probes()]},
    }
