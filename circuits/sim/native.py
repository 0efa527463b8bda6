"""The compiled layer kernel (``csrc/layer.cpp``): built at first use, loaded through ctypes, optional.

:func:`library` builds the C++ source with :func:`torch.utils.cpp_extension.load` the first time it is
called in a process whose machine has no build yet (a few seconds: the source includes only the C++
standard library and OpenMP, not torch's headers, which take a minute to compile), into
``<cache_dir>/native/layer-<hash>`` (:func:`circuits.sim.tuning.cache_dir`; the hash covers the source,
torch and Python versions, the CPU model and the flags, because the build uses ``-march=native``). Later
processes load the built library. Nothing happens at import.

Why ctypes and not a pybind11 module: the kernel only needs pointers, sizes and a thread count, and a
pybind11 or ``TORCH_LIBRARY`` module would include torch's headers (35 to 90 s of compilation on a 2-core
machine). The library links the OpenMP runtime torch has already loaded, so the two share one thread pool.

Without a compiler, or when the build fails for any reason, :func:`library` returns ``None`` and warns
once; the engine then runs on its pure-torch kernels. ``QML_HYBRID_NATIVE=off`` skips the build (no
warning).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import sys
import threading
import warnings
from importlib import resources
from pathlib import Path

import torch

from circuits.sim import tuning

__all__ = ["ENV_SWITCH", "available", "backward", "enabled", "forward", "library", "reset"]

ENV_SWITCH = "QML_HYBRID_NATIVE"
"""Environment variable: ``off`` (``0``, ``false``, ``no``) never builds or uses the compiled kernel."""

_SOURCE = "layer.cpp"
_VERSION = 2
"""What ``qml_layer_version()`` in the source returns; a library that says otherwise is not used."""

_DTYPE_CODES = {torch.float32: 0, torch.float64: 1, torch.complex64: 2, torch.complex128: 3}

_lock = threading.Lock()
_state: dict[str, object] = {}
"""``"library"``: the loaded ctypes library or ``None`` after a failure; ``"error"``: why it failed."""


def enabled() -> bool:
    """Whether the compiled kernel may be built and used (``QML_HYBRID_NATIVE`` is not ``off``)."""
    return os.environ.get(ENV_SWITCH, "").strip().lower() not in {"off", "0", "false", "no"}


def reset() -> None:
    """Forget the loaded library or the failure (the next :func:`library` call tries again)."""
    with _lock:
        _state.clear()


def _source_text() -> str:
    return resources.files("circuits.sim").joinpath("csrc", _SOURCE).read_text()


def _flag_sets() -> list[tuple[list[str], list[str]]]:
    """Compiler and linker flags to try, best first: OpenMP and this CPU's instructions, then without."""
    native = [] if platform.machine().lower() not in ("x86_64", "amd64", "aarch64", "arm64") else ["-march=native"]
    return [
        (["-O3", *native, "-fopenmp"], ["-fopenmp"]),
        (["-O3", *native], []),
        (["-O2"], []),
    ]


def _build(source: str) -> ctypes.CDLL:
    """Compile and load the library, trying each flag set in turn; raises the last error."""
    from torch.utils import cpp_extension

    last: Exception | None = None
    for cflags, ldflags in _flag_sets():
        digest = hashlib.sha256(
            "\0".join(
                [source, torch.__version__, sys.version, tuning.machine_key("cpu")["cpu"], *cflags, *ldflags]
            ).encode()
        ).hexdigest()[:16]
        name = f"qml_hybrid_layer_{digest}"
        directory = build_directory() / f"layer-{digest}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            source_path = directory / _SOURCE
            if not source_path.exists() or source_path.read_text() != source:  # atomically: builds may race
                partial = directory / f".{_SOURCE}.{os.getpid()}"
                partial.write_text(source)
                os.replace(partial, source_path)
            if cpp_extension.is_ninja_available():
                with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                    path = cpp_extension.load(
                        name=name,
                        sources=[str(source_path)],
                        build_directory=str(directory),
                        extra_cflags=cflags,
                        extra_ldflags=ldflags,
                        is_python_module=False,
                        verbose=False,
                    )
            else:  # the source needs no torch headers: the compiler alone builds it
                path = _compile_directly(source_path, directory / f"{name}.so", cflags, ldflags)
            lib = ctypes.CDLL(str(path))
            _declare(lib)
            if lib.qml_layer_version() != _VERSION:
                raise RuntimeError(f"{path} is version {lib.qml_layer_version()}, expected {_VERSION}")
            return lib
        except Exception as exc:  # a missing or failing compiler, a read-only cache ...
            last = exc
    assert last is not None
    raise last


def _compile_directly(source: Path, target: Path, cflags: list[str], ldflags: list[str]) -> Path:
    """Build without ninja (which ``cpp_extension.load`` needs): one compiler call, into a temporary then renamed."""
    import subprocess

    from torch.utils import cpp_extension

    if target.exists():
        return target
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    command = [cpp_extension.get_cxx_compiler(), *cflags, "-shared", "-fPIC", str(source), "-o", str(partial), *ldflags]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")
    os.replace(partial, target)
    return target


def _declare(lib: ctypes.CDLL) -> None:
    p, i32, i64 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64
    lib.qml_layer_forward.argtypes = [ctypes.c_int, p, p, p, p, i32, i32, i64, i64, i32, i32, i32, i32]
    lib.qml_layer_forward.restype = ctypes.c_int
    lib.qml_layer_backward.argtypes = [ctypes.c_int, p, p, p, p, p, p, i32, i32, i64, i64, i32, i32, i32, i32, i32]
    # both end in: bits, g, n, batch, mats_batch, lo, h, tile_log2, threads (backward: then conj_x)
    lib.qml_layer_backward.restype = ctypes.c_int
    lib.qml_layer_version.argtypes = []
    lib.qml_layer_version.restype = ctypes.c_int


def library() -> ctypes.CDLL | None:
    """The compiled kernel, built or loaded on the first call; ``None`` when it cannot be (warned once)."""
    if not enabled():
        return None
    try:
        return _state["library"]  # type: ignore[return-value]
    except KeyError:
        pass
    with _lock:
        if "library" not in _state:
            try:
                _state["library"] = _build(_source_text())
            except Exception as exc:
                _state["library"] = None
                _state["error"] = exc
                reason = " ".join(str(exc).split())[:300] or type(exc).__name__
                warnings.warn(
                    f"qml-hybrid: the compiled layer kernel could not be built ({type(exc).__name__}: {reason}); "
                    f"the torch engine uses its pure-torch kernels (set {ENV_SWITCH}=off to skip the build).",
                    RuntimeWarning,
                    stacklevel=2,
                )
    return _state["library"]  # type: ignore[return-value]


def available() -> bool:
    """Whether the compiled kernel is usable (builds it on the first call)."""
    return library() is not None


def build_directory() -> Path:
    """Where builds go (one subdirectory per source, flags and machine)."""
    return tuning.cache_dir() / "native"


def _pointer(tensor: torch.Tensor) -> ctypes.c_void_p:
    return ctypes.c_void_p(tensor.data_ptr())


def _readable(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor's values in plain contiguous memory (torch's lazy conjugate and negative views resolved)."""
    return tensor.resolve_conj().resolve_neg().contiguous()


def _writable(tensor: torch.Tensor, like: torch.Tensor) -> None:
    plain = tensor.is_contiguous() and not tensor.is_conj() and not tensor.is_neg()
    if not plain or tensor.shape != like.shape or tensor.dtype != like.dtype or tensor.device != like.device:
        raise ValueError("the compiled layer kernel writes only into plain contiguous tensors of the state's shape")


def _bits(
    state: torch.Tensor, mats: torch.Tensor, qubits: tuple[int, ...], num_qubits: int, group: tuple[int, int]
) -> torch.Tensor:
    """The qubits' index bits, after the checks that keep the kernel inside its buffers (it trusts its inputs)."""
    lo, h = group
    bits = [num_qubits - 1 - q for q in qubits]
    if state.device.type != "cpu" or state.dtype not in _DTYPE_CODES or mats.dtype != state.dtype:
        raise ValueError(
            f"the compiled layer kernel takes CPU states and matrices of one dtype among {list(_DTYPE_CODES)}, "
            f"got states {state.dtype} on {state.device} and matrices {mats.dtype}"
        )
    if state.dim() != 2 or state.shape[1] != 2**num_qubits:
        raise ValueError(f"expected states of shape (B, {2**num_qubits}), got {tuple(state.shape)}")
    if mats.shape[0] not in (1, state.shape[0]) or tuple(mats.shape[1:]) != (len(qubits), 2, 2):
        raise ValueError(
            f"expected matrices of shape (1 or {state.shape[0]}, {len(qubits)}, 2, 2), got {tuple(mats.shape)}"
        )
    if len(set(bits)) != len(bits) or not all(lo <= b < lo + h for b in bits) or lo + h > num_qubits or lo < 0:
        raise ValueError(f"qubits {qubits} are not distinct qubits of the group {group} of {num_qubits} qubits")
    return torch.tensor(bits, dtype=torch.int32)


def _layout(
    state: torch.Tensor, mats: torch.Tensor, qubits: tuple[int, ...], num_qubits: int, group: tuple[int, int], tile: int
) -> tuple:
    """The arguments both entry points end with, after :func:`_bits`' checks (``bits`` kept alive by the tuple)."""
    bits = _bits(state, mats, qubits, num_qubits, group)
    layout = (_pointer(bits), len(qubits), num_qubits, state.shape[0], mats.shape[0], *group, tile)
    return (*layout, torch.get_num_threads()), bits


def forward(
    state: torch.Tensor,
    mats: torch.Tensor,
    qubits: tuple[int, ...],
    num_qubits: int,
    group: tuple[int, int],
    tile_log2: int,
    out: torch.Tensor,
) -> torch.Tensor:
    """``out = (tensor product of mats[:, j] on qubits[j]) state`` by the compiled kernel (no autograd).

    Args:
        state: the states, contiguous, on the CPU.
        mats: one ``2 x 2`` matrix per qubit, per sample or shared, contiguous, ``state``'s dtype.
        qubits: the qubits, all within ``group``.
        num_qubits: the state's width.
        group: ``(lo, h)``: the bits ``lo .. lo + h - 1`` of the index the qubits lie in (bit 0 is the last qubit).
        tile_log2: amplitudes per tile, log2.
        out: where to write the result (may be ``state``).

    Shape:
        state, out: ``(B, 2**n)``; mats: ``(B or 1, g, 2, 2)``. Returns ``out``.
    """
    lib = library()
    assert lib is not None
    state, mats = _readable(state), _readable(mats)
    _writable(out, state)
    layout, _bits_alive = _layout(state, mats, qubits, num_qubits, group, tile_log2)
    code = lib.qml_layer_forward(_DTYPE_CODES[state.dtype], _pointer(state), _pointer(out), _pointer(mats), *layout)
    if code != 0:
        raise RuntimeError(f"the compiled layer kernel rejected dtype {state.dtype}")
    return out


def backward(
    grad_out: torch.Tensor,
    x: torch.Tensor,
    mats: torch.Tensor,
    qubits: tuple[int, ...],
    num_qubits: int,
    group: tuple[int, int],
    tile_log2: int,
    grad_in: torch.Tensor,
    *,
    conj_x: bool = False,
) -> torch.Tensor:
    """The backward of :func:`forward` by the compiled kernel: ``grad_in = U^dagger grad_out`` and the matrices' grads.

    Args:
        grad_out: the cotangent of the output.
        x: the input of the forward (its conjugate when ``conj_x``).
        mats: the matrices, as for :func:`forward`.
        qubits: the qubits, all within ``group``.
        num_qubits: the state's width.
        group: ``(lo, h)``, as for :func:`forward`.
        tile_log2: amplitudes per tile, log2.
        grad_in: where to write the cotangent of the input (may be ``grad_out``).
        conj_x: ``x`` holds the conjugated input (the adjoint sweep carries ``conj(psi)``).

    Shape:
        grad_out, x, grad_in: ``(B, 2**n)``; mats: ``(B or 1, g, 2, 2)``. Returns the gradient w.r.t. ``mats``,
        ``mats``' shape: ``grad_out[b] x[b]^dagger`` per gate, summed over the batch for shared matrices.
    """
    lib = library()
    assert lib is not None
    grad_out, x, mats = _readable(grad_out), _readable(x), _readable(mats)
    _writable(grad_in, x)
    if grad_out.shape != x.shape or grad_out.dtype != x.dtype:
        raise ValueError(f"expected a cotangent like the states {tuple(x.shape)}, got {tuple(grad_out.shape)}")
    layout, _bits_alive = _layout(x, mats, qubits, num_qubits, group, tile_log2)
    grad_mats = torch.empty_like(mats)
    pointers = [_pointer(t) for t in (grad_out, x, grad_in, grad_mats, mats)]
    code = lib.qml_layer_backward(_DTYPE_CODES[x.dtype], *pointers, *layout, int(conj_x))
    if code != 0:
        raise RuntimeError(f"the compiled layer kernel rejected dtype {x.dtype}")
    return grad_mats
