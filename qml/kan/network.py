"""QKAN networks: stacked QKAN layers, and the encoder-decoder forms (JHCG net, HQKAN).

* :class:`QKAN` stacks :class:`~qml.kan.layer.QKANLayer`'s: ``width = [d0, d1, ..., dk]``.
* :class:`JHCG` is the Jiang-Huang-Chen-Goan encoder-decoder ``y = D(KAN(N(E x)))``: a linear encoder
  ``E`` to a small latent width, an optional normalisation ``N``, a KAN in the latent space, a linear
  decoder ``D`` (arXiv 2509.14026; docs/papers.md §3).
* :class:`HQKAN` is the JHCG net with a QKAN latent of width ``ceil(log2 d)`` by default: the drop-in
  replacement for a transformer MLP block of the paper (``Linear(d -> e) -> QKAN([e, e']) -> Linear(e' -> d_out)``).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from qml.kan.layer import QKANLayer, _xavier_normal
from qml.kan.qkan_compat import NetworkOptions, layer_state_from_qkan, translate_qkan_options, with_qkan_defaults
from qml.layers.init import seeded_linear

__all__ = ["HQKAN", "JHCG", "QKAN"]


class QKAN(nn.Module):
    """A stack of QKAN layers.

    Args:
        width: layer widths ``[d0, d1, ..., dk]`` (``k >= 1`` layers).
        reps: re-uploadings of every DARUAN.
        generator: draws every layer's ``theta``.
        **options: passed to every :class:`~qml.kan.layer.QKANLayer` (ansatz, trainability, backend ...);
            the ``qkan`` package's ``QKAN`` keywords are accepted too (``ba_trainable``, ``is_batchnorm``,
            ``ansatz="pz_encoding"``, ``seed``, ``device``, ``norm_out``, ``p_dtype``, ``theta_init``,
            ``preact_init``, ``solver="exact"`` ...; :func:`~qml.kan.qkan_compat.translate_qkan_options`),
            with a clear error for the few that have no counterpart. The defaults stay ours
            (``preact_trainable=True``, ``base_trainable=True``, Born-rule read-out): see
            :meth:`from_qkan` and ``docs/qkan.md`` for qkan's.

    Shape:
        - Input: ``(batch_size, width[0])``.
        - Output: ``(batch_size, width[-1])``.
    """

    def __init__(
        self, width: Sequence[int], reps: int = 3, *, generator: torch.Generator | None = None, **options: Any
    ) -> None:
        super().__init__()
        width = list(width)
        if len(width) < 2:
            raise ValueError(f"QKAN width needs at least an input and an output size, got {width}.")
        layer_options, network = translate_qkan_options(options, generator)
        self.width, self.reps, self.norm_out = width, reps, network.norm_out
        self.layers = nn.ModuleList(
            QKANLayer(a, b, reps, generator=network.generator, **layer_options) for a, b in itertools.pairwise(width)
        )
        self._initialise(network)

    def _initialise(self, network: NetworkOptions) -> None:
        """The alternative initial values qkan offers (``theta_init``, ``preact_init``), and the device."""
        with torch.no_grad():
            for layer in self.layers:
                if network.theta_init == "small_gaussian":  # qkan: N(0, 1 / reps), against barren plateaus
                    std = 1.0 / math.sqrt(max(self.reps, 1))
                    layer.theta.normal_(0.0, std, generator=network.generator)
                if network.preact_init:
                    shape, dtype = tuple(layer.preact_weight.shape), layer.preact_weight.dtype
                    layer.preact_weight.copy_(_xavier_normal(shape, network.generator, dtype))
                    layer.preact_bias.copy_(_xavier_normal(shape, network.generator, dtype))
        if network.device is not None:
            self.to(network.device)

    @classmethod
    def from_qkan(
        cls,
        state_dict: Mapping[str, torch.Tensor],
        width: Sequence[int] | None = None,
        reps: int | None = None,
        **qkan_options: Any,
    ) -> QKAN:
        """The network a ``qkan.QKAN(width, reps, **qkan_options)`` with this state dict computes.

        Starts from ``qkan.QKAN``'s defaults (:data:`~qml.kan.qkan_compat.QKAN_DEFAULTS`:
        ``preact_trainable=False``, ``ba_trainable=False``, ``fast_measure=True``), so pass the
        options the qkan model was built with, exactly as to ``qkan.QKAN``.

        Args:
            state_dict: ``qkan_model.state_dict()`` (or ``torch.load`` of a saved one).
            width: the qkan model's widths; read off the ``theta`` shapes when ``None`` (``p_dim=4``,
                qkan's default; ``p_dim=2`` storage needs it).
            reps: read off ``preacts_weight`` when ``None``.
            **qkan_options: ``qkan.QKAN`` keywords (and ours).

        Raises:
            KeyError: the state dict does not look like a ``qkan.QKAN``'s (the message names the entry).
            ValueError: ``width`` cannot be read off (``p_dim=2``), sizes that do not fit, or an option
                without a counterpart here.
        """
        width = _qkan_width(state_dict) if width is None else list(width)
        if reps is None:
            reps = int(state_dict["layers.0.preacts_weight"].shape[-1])
        model = cls(width, reps, **with_qkan_defaults(qkan_options))
        model.load_qkan_state_dict(state_dict)
        return model

    def load_qkan_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Load a ``qkan.QKAN`` state dict (renamed, reshaped and mask-folded; see :mod:`qml.kan.qkan_compat`).

        Build the network with the qkan model's options first (:meth:`from_qkan` does both). Every
        entry must be used and every layer filled.

        Raises:
            KeyError: missing or unexpected entries (named in the message).
            ValueError: tensor sizes that do not fit the layers.
        """
        ours: dict[str, torch.Tensor] = {}
        used: set[str] = set()
        for index, layer in enumerate(self.layers):
            prefix = f"layers.{index}."
            tensors = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
            used.update(prefix + k for k in tensors)
            for name, value in layer_state_from_qkan(layer, tensors, f"layers.{index}").items():
                ours[prefix + name] = value
        unused = sorted(set(state_dict) - used)
        if unused:
            raise KeyError(
                f"qkan state dict entries {unused[:6]}{' ...' if len(unused) > 6 else ''} have no place in a QKAN of "
                f"width {self.width} (qkan's is_map layers are not supported); build it with the qkan model's width."
            )
        self.load_state_dict(ours)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layers in order (and ``F.normalize(y, norm_out)`` when ``norm_out`` is set)."""
        for layer in self.layers:
            x = layer(x)
        return F.normalize(x, p=self.norm_out, dim=1) if self.norm_out else x

    def extend(self, reps: int) -> QKAN:
        """A copy whose layers all have ``reps`` re-uploadings and compute the same function now.

        See :meth:`qml.kan.layer.QKANLayer.extend`.
        """
        grown = copy.copy(self)
        nn.Module.__init__(grown)
        grown.width, grown.reps, grown.norm_out = list(self.width), reps, self.norm_out
        grown.layers = nn.ModuleList(layer.extend(reps) for layer in self.layers)
        return grown


def _qkan_width(state_dict: Mapping[str, torch.Tensor]) -> list[int]:
    """Widths ``[in, out_0, out_1, ...]`` from the ``(out, in, ...)`` theta of each qkan layer (``p_dim=4``)."""
    width: list[int] = []
    index = 0
    while f"layers.{index}.theta" in state_dict:
        theta = state_dict[f"layers.{index}.theta"]
        if theta.dim() != 4:
            raise ValueError(
                f"layers.{index}.theta has shape {tuple(theta.shape)}: qkan's p_dim=2 storage does not tell the "
                "widths apart; pass width=[...] as given to qkan.QKAN."
            )
        out_dim, in_dim = int(theta.shape[0]), int(theta.shape[1])
        if width and width[-1] != in_dim:
            raise ValueError(f"layers.{index}.theta takes {in_dim} inputs, but layer {index - 1} gives {width[-1]}.")
        width = [in_dim, out_dim] if not width else [*width, out_dim]
        index += 1
    if not width:
        raise KeyError("the state dict has no 'layers.0.theta': it is not a qkan.QKAN state dict.")
    return width


class JHCG(nn.Module):
    """Encoder-decoder KAN: ``y = decoder(kan(norm(encoder(x))))``.

    Args:
        in_dim: input features ``d``.
        out_dim: output features.
        kan: the latent network, mapping ``encoder.out_features`` to ``decoder.in_features``.
        latent: encoder output width.
        latent_out: decoder input width.
        norm: ``"layer"`` (LayerNorm), ``"batch"`` (BatchNorm1d) or ``None`` on the latent input.
        generator: draws the encoder and decoder weights (PyTorch's default uniform ranges).

    Shape:
        - Input: ``(batch_size, in_dim)``.
        - Output: ``(batch_size, out_dim)``.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        kan: nn.Module,
        latent: int,
        latent_out: int,
        *,
        norm: Literal["layer", "batch"] | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.encoder = seeded_linear(in_dim, latent, generator)
        self.norm = {"layer": nn.LayerNorm(latent), "batch": nn.BatchNorm1d(latent), None: nn.Identity()}[norm]
        self.kan = kan
        self.decoder = seeded_linear(latent_out, out_dim, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode, normalise, apply the latent KAN, decode."""
        return self.decoder(self.kan(self.norm(self.encoder(x))))


class HQKAN(JHCG):
    """The hybrid QKAN: ``Linear(d -> e) -> QKAN([e, e']) -> Linear(e' -> out_dim)``.

    Args:
        in_dim: input features ``d``.
        out_dim: output features.
        latent: ``e``; default ``ceil(log2 d)`` (at least 2), the paper's bottleneck.
        latent_out: ``e'``; default ``e``.
        reps: re-uploadings of the QKAN's DARUANs.
        norm: normalisation of the latent input (``None`` as in the reference).
        generator: draws every initial weight.
        **layer_options: passed to the QKAN layers.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        latent: int | None = None,
        latent_out: int | None = None,
        reps: int = 3,
        *,
        norm: Literal["layer", "batch"] | None = None,
        generator: torch.Generator | None = None,
        **layer_options: Any,
    ) -> None:
        latent = latent or max(2, math.ceil(math.log2(in_dim)))
        latent_out = latent_out or latent
        kan = QKAN([latent, latent_out], reps, generator=generator, **layer_options)
        super().__init__(in_dim, out_dim, kan, latent, latent_out, norm=norm, generator=generator)
