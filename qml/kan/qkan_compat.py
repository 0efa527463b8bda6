"""Compatibility with the reference package ``qkan`` (Jiang et al., arXiv 2509.14026): its keywords and state dicts.

:class:`~qml.kan.network.QKAN` accepts ``qkan.QKAN``'s constructor keywords next to its own
(:func:`translate_qkan_options`), and loads ``qkan`` state dicts (:func:`layer_state_from_qkan`:
key renaming, ``p_dim=2`` storage reshaped, the pruning mask folded into the weights). What maps
and what does not is in ``docs/qkan.md`` ("Coming from the qkan package").

``qkan`` layer tensors (``layers.{l}.`` prefix in a ``qkan.QKAN``):

===================  ==============================  ===================================================
qkan                 ours                            how
===================  ==============================  ===================================================
``theta``            ``theta``                       same layout ``(out, in, blocks, K)``
``preacts_weight``   ``preact_weight``               ones when qkan ignores it (``preact_trainable=False``)
``preacts_bias``     ``preact_bias``                 zeros when qkan ignores it (``rpz`` always reads it)
``postact_weights``  ``postact_weight``              times ``mask``
``postact_bias``     ``postact_bias``                as is (qkan adds it when nonzero or trainable)
``base_weight``      ``base_weight``                 times ``mask``
``mask``             (none)                          folded into the two weights above
``bn.*``             ``bn.*``                        with ``is_batchnorm=True``
===================  ==============================  ===================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from circuits.library.daruan import DARUAN_ANSATZES

__all__ = [
    "QKAN_DEFAULTS",
    "QKAN_LAYER_KEYS",
    "NetworkOptions",
    "layer_state_from_qkan",
    "translate_qkan_options",
    "with_qkan_defaults",
]

QKAN_DEFAULTS: dict[str, Any] = {
    "ansatz": "pz_encoding",
    "preact_trainable": False,
    "postact_weight_trainable": False,
    "postact_bias_trainable": False,
    "ba_trainable": False,
    "fast_measure": True,
}
"""``qkan.QKAN``'s defaults where they differ from ours (ours: ``preact_trainable=True``,
``base_trainable=True``, Born-rule read-out); :meth:`QKAN.from_qkan <qml.kan.network.QKAN.from_qkan>`
starts from them."""

QKAN_LAYER_KEYS = ("theta", "preacts_weight", "preacts_bias", "postact_weights", "postact_bias", "base_weight", "mask")
"""The tensors of one ``qkan.QKANLayer`` in its state dict (plus ``bn.*`` with ``is_batchnorm=True``)."""

_ANSATZ_ALIASES = {"pz_encoding": "pz", "rpz_encoding": "rpz", "px_encoding": "px"}
_RAW_INPUT_WITHOUT_PREACTS = frozenset({"pz", "mix", "real"})
"""Ansatzes whose data angle qkan takes as the raw input when ``preact_trainable=False`` (``rpz`` and ``px``
always read ``w x + b``)."""
_SAME_FUNCTION_SOLVERS = frozenset({"exact", "cutn", "tn", "flash", "cute", "cutile"})
"""qkan solvers that simulate exactly; ours computes the same function on its fast path."""
_RENAMED = {"ba_trainable": "base_trainable", "is_batchnorm": "batchnorm", "p_dtype": "dtype"}
_OURS = frozenset(
    {
        "ansatz",
        "preact_trainable",
        "postact_weight_trainable",
        "postact_bias_trainable",
        "base_trainable",
        "fast_measure",
        "batchnorm",
        "backend",
        "dtype",
    }
)
_ACCEPTED_AND_IGNORED = {
    "p_dim": (2, 4),  # qkan's storage layout; the state-dict loader reshapes
    "checkpoint_reps": (False, True),  # a memory option of qkan's exact solver
}


@dataclass
class NetworkOptions:
    """What ``qkan``'s keywords ask of the whole network rather than of each layer.

    Attributes:
        generator: draws the initial weights (from ``seed=``).
        device: where the parameters go (``device=``).
        norm_out: ``p`` of the output normalisation ``F.normalize(y, p, dim=1)``; 0 for none.
        theta_init: ``"xavier"`` (ours and qkan's default) or ``"small_gaussian"`` (``N(0, 1/reps)``).
        preact_init: draw the pre-processing ``w`` and ``b`` Xavier-normal instead of ones and zeros.
    """

    generator: torch.Generator | None = None
    device: torch.device | str | None = None
    norm_out: int = 0
    theta_init: str = "xavier"
    preact_init: bool = False


def with_qkan_defaults(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` completed with :data:`QKAN_DEFAULTS` where neither qkan's name nor ours is given."""
    ours_of = {**_RENAMED}
    defaults = {k: v for k, v in QKAN_DEFAULTS.items() if k not in options and ours_of.get(k) not in options}
    return {**defaults, **options}


def _refuse(name: str, value: Any, why: str) -> None:
    raise ValueError(f"qkan option {name}={value!r} is not supported by qml.kan.QKAN: {why}")


def translate_qkan_options(
    options: Mapping[str, Any], generator: torch.Generator | None
) -> tuple[dict[str, Any], NetworkOptions]:
    """Split keyword arguments (ours and ``qkan.QKAN``'s) into layer options and network options.

    Args:
        options: the keywords :class:`~qml.kan.network.QKAN` received besides ``width`` and ``reps``.
        generator: the ``generator=`` argument (``seed=`` must not be given with it).

    Returns:
        ``(layer_options, network)``: keywords for every :class:`~qml.kan.layer.QKANLayer`, and
        :class:`NetworkOptions`.

    Raises:
        TypeError: an unknown keyword, or one given under both names (``ba_trainable`` and
            ``base_trainable``, ``p_dtype`` and ``dtype``, ``seed`` and ``generator``).
        ValueError: a qkan option without a counterpart here (the message says why and what to use).
    """
    layer: dict[str, Any] = {}
    network = NetworkOptions(generator=generator)
    for name, value in options.items():
        if name in _RENAMED:
            ours = _RENAMED[name]
            if ours in options:
                raise TypeError(f"QKAN got both {name}= (qkan's name) and {ours}= (ours); pass one of them.")
            layer[ours] = value
        elif name in _OURS:
            layer[name] = value
        elif name == "seed":
            if generator is not None:
                raise TypeError("QKAN got both seed= and generator=; pass one of them.")
            if value is not None:
                network.generator = torch.Generator().manual_seed(int(value))
        elif name == "device":
            network.device = value
        elif name == "norm_out":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"norm_out must be an int >= 0 (the p of the output norm; 0: none), got {value!r}.")
            network.norm_out = value
        elif name == "theta_init":
            if value not in ("xavier", "small_gaussian"):
                raise ValueError(f"theta_init must be 'xavier' or 'small_gaussian', got {value!r}.")
            network.theta_init = value
        elif name == "preact_init":
            network.preact_init = bool(value)
        elif name in _ACCEPTED_AND_IGNORED:
            if value not in _ACCEPTED_AND_IGNORED[name]:
                raise ValueError(f"{name} must be one of {_ACCEPTED_AND_IGNORED[name]}, got {value!r}.")
        else:
            _check_unsupported(name, value)
    ansatz = layer.get("ansatz")
    if ansatz is not None:
        if callable(ansatz):
            _refuse("ansatz", ansatz, "custom ansatz callables have no circuit here; use one of " + _names() + ".")
        layer["ansatz"] = _ANSATZ_ALIASES.get(ansatz, ansatz)
    return layer, network


def _names() -> str:
    return ", ".join([*DARUAN_ANSATZES, *_ANSATZ_ALIASES])


def _check_unsupported(name: str, value: Any) -> None:
    """Accept a qkan option whose value changes nothing here, refuse the others, reject unknown names."""
    if name == "group":
        if value != -1:
            _refuse(name, value, "sharing theta across edges is not implemented; every edge has its own (group=-1).")
    elif name == "is_map":
        if value:
            _refuse(
                name,
                value,
                "append the map yourself: nn.Sequential(model, nn.Linear(d, h), nn.SiLU(), nn.Linear(h, out)).",
            )
    elif name == "hidden":
        if value:
            _refuse(name, value, "it sizes qkan's is_map layers, which are not supported.")
    elif name == "solver":
        if value not in _SAME_FUNCTION_SOLVERS:
            _refuse(
                name,
                value,
                "the exact solvers (exact, cutn, flash, ...) are all the fast path here; to run the circuits on "
                "PennyLane, Qiskit or hardware pass backend= (PennyLaneBackend, AerBackend, a ProviderBackend).",
            )
    elif name == "qml_device":
        if value != "default.qubit":
            _refuse(name, value, "pass backend=PennyLaneBackend(...) to run the circuits on a PennyLane device.")
    elif name == "theta_size":
        if value is not None:
            _refuse(name, value, "it sizes custom ansatzes, which are not supported.")
    elif name == "base_activation":
        if not (value == "silu" or isinstance(value, nn.SiLU)):
            _refuse(name, value, "the base branch is silu (qkan's default).")
    elif name == "save_act":
        if value:
            _refuse(name, value, "use QKANLayer.activations(x) for the edge activations of an input.")
    elif name == "solver_kwargs":
        if value:
            _refuse(name, value, "no solver options apply to the fast path.")
    elif name == "c_dtype":
        if value not in (torch.complex64, torch.complex128, torch.float32, torch.float64):
            _refuse(name, value, "the fast path computes in the parameter dtype (dtype= / p_dtype=), real arithmetic.")
    else:
        known = sorted({*_OURS, *_RENAMED, *_ACCEPTED_AND_IGNORED, "seed", "device", "norm_out", "theta_init"})
        known += ["preact_init", "group", "is_map", "hidden", "solver", "qml_device", "theta_size"]
        known += ["base_activation", "save_act", "solver_kwargs", "c_dtype"]
        raise TypeError(f"QKAN got an unexpected keyword {name!r}; it accepts {', '.join(sorted(known))}.")


def layer_state_from_qkan(
    layer: nn.Module, tensors: Mapping[str, torch.Tensor], where: str = "qkan layer"
) -> dict[str, torch.Tensor]:
    """One ``qkan.QKANLayer``'s tensors under our names and shapes, for ``layer.load_state_dict``.

    Args:
        layer: the :class:`~qml.kan.layer.QKANLayer` to load into (its options decide what qkan ignored).
        tensors: the qkan layer's entries without their prefix (``theta``, ``preacts_weight``, ...).
        where: names the layer in messages (``"layers.0"``).

    Raises:
        KeyError: a tensor of :data:`QKAN_LAYER_KEYS` is missing, or ``bn.*`` does not match ``is_batchnorm``.
        ValueError: a tensor whose size does not fit the layer (another width, reps or ansatz).
    """
    missing = [k for k in QKAN_LAYER_KEYS if k not in tensors]
    if missing:
        raise KeyError(f"{where}: the qkan state dict lacks {missing}; expected {list(QKAN_LAYER_KEYS)}.")
    has_bn = any(k.startswith("bn.") for k in tensors)
    if has_bn != (layer.bn is not None):
        raise KeyError(
            f"{where}: the qkan state dict {'has' if has_bn else 'has no'} batch-norm entries (bn.*), but the layer "
            f"was built with is_batchnorm={layer.bn is not None}; build it with is_batchnorm={has_bn}."
        )
    unknown = sorted(k for k in tensors if k not in QKAN_LAYER_KEYS and not k.startswith("bn."))
    if unknown:
        raise KeyError(f"{where}: unexpected qkan entries {unknown}; expected {list(QKAN_LAYER_KEYS)} and bn.*.")

    def natural(key: str, like: torch.Tensor) -> torch.Tensor:
        value = tensors[key].detach()
        if value.numel() != like.numel():
            raise ValueError(
                f"{where}.{key} has shape {tuple(value.shape)} ({value.numel()} values), but the layer "
                f"(in_dim={layer.in_dim}, out_dim={layer.out_dim}, reps={layer.reps}, ansatz={layer.ansatz!r}) "
                f"needs {tuple(like.shape)}; build it with qkan's width, reps and ansatz."
            )
        return value.reshape(like.shape).to(dtype=like.dtype, device=like.device)  # p_dim=2 storage is flattened

    mask = natural("mask", layer.postact_weight)
    state = {
        "theta": natural("theta", layer.theta),
        "preact_weight": natural("preacts_weight", layer.preact_weight),
        "preact_bias": natural("preacts_bias", layer.preact_bias),
        "postact_weight": natural("postact_weights", layer.postact_weight) * mask,
        "postact_bias": natural("postact_bias", layer.postact_bias),
        "base_weight": natural("base_weight", layer.base_weight) * mask,
    }
    if not layer.options["preact_trainable"] and layer.ansatz in _RAW_INPUT_WITHOUT_PREACTS:
        # qkan's solvers then encode the input itself (RZ(x)) and never read the pre-processing tensors
        state["preact_weight"] = torch.ones_like(state["preact_weight"])
        state["preact_bias"] = torch.zeros_like(state["preact_bias"])
    for key, value in tensors.items():
        if key.startswith("bn."):
            state[key] = value.detach()
    return state
