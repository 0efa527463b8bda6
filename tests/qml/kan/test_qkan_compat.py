"""qkan compatibility: qkan's keywords on ``QKAN``, its state dicts (renamed, reshaped, mask folded), its
``fast_measure`` read-out, and integer inputs. The round trip against the real package is
``benchmarks/qkan_state_dict_check.py`` (qkan lives in its own environment)."""

from __future__ import annotations

import math

import pytest
import torch

from circuits import TorchBackend
from qml.kan import QKAN, QKANLayer


def _random(model: QKAN, seed: int = 0) -> QKAN:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape, generator=gen, dtype=p.dtype) * 2 - 1)
    return model


def _qkan_state_dict(model: QKAN, masks: list[torch.Tensor] | None = None, flat: bool = False) -> dict:
    """Our model's tensors in qkan's format: qkan's names, a mask per layer, ``p_dim=2`` storage when ``flat``."""
    out = {}
    for index, layer in enumerate(model.layers):
        prefix = f"layers.{index}."
        mask = torch.ones_like(layer.postact_weight) if masks is None else masks[index]
        tensors = {
            "theta": layer.theta,
            "preacts_weight": layer.preact_weight,
            "preacts_bias": layer.preact_bias,
            "postact_weights": layer.postact_weight,
            "postact_bias": layer.postact_bias,
            "base_weight": layer.base_weight,
            "mask": mask,
        }
        for name, value in tensors.items():
            value = value.detach().clone()
            if flat:
                value = value.reshape(-1, value.shape[-2] * value.shape[-1]) if name == "theta" else value
                value = value.reshape(layer.out_dim * layer.in_dim, -1).squeeze(-1) if name != "theta" else value
            out[prefix + name] = value
    return out


EVERYTHING_TRAINABLE = {
    "fast_measure": False,
    "preact_trainable": True,
    "ba_trainable": True,
    "postact_weight_trainable": True,
    "postact_bias_trainable": True,
}


@pytest.mark.parametrize("flat", [False, True], ids=["p_dim=4", "p_dim=2"])
def test_state_dict_round_trip_folds_the_mask(flat):
    ours = _random(QKAN([3, 4, 2], reps=2))
    masks = [torch.tensor([[1.0, 0, 1], [1, 1, 1], [0, 1, 1], [1, 1, 0]]), torch.tensor([[1.0, 1, 0, 1], [0, 1, 1, 1]])]
    state = _qkan_state_dict(ours, masks, flat)
    loaded = QKAN.from_qkan(state, [3, 4, 2] if flat else None, **EVERYTHING_TRAINABLE)
    assert loaded.width == [3, 4, 2] and loaded.reps == 2
    with torch.no_grad():  # the function qkan computes: postact and base weights times the mask
        for layer, mask in zip(ours.layers, masks, strict=True):
            layer.postact_weight.mul_(mask)
            layer.base_weight.mul_(mask)
    x = torch.rand(5, 3, generator=torch.Generator().manual_seed(1)) * 2 - 1
    torch.testing.assert_close(loaded(x), ours(x), atol=1e-6, rtol=0)
    assert loaded.layers[0].options["base_trainable"] and loaded.layers[0].preact_weight.requires_grad


def test_preacts_qkan_ignores_are_ignored_and_qkan_defaults_apply():
    """qkan.QKAN's defaults: raw-input encoding (preacts unread), no base branch, |a| - |b| read-out."""
    ours = _random(QKAN([2, 3], reps=2))
    loaded = QKAN.from_qkan(_qkan_state_dict(ours))
    layer = loaded.layers[0]
    assert layer.fast_measure and not layer.options["preact_trainable"] and not layer.options["base_trainable"]
    torch.testing.assert_close(layer.preact_weight, torch.ones_like(layer.preact_weight))
    torch.testing.assert_close(layer.preact_bias, torch.zeros_like(layer.preact_bias))
    torch.testing.assert_close(layer.base_weight, ours.layers[0].base_weight)  # qkan adds F.linear(silu(x), bw)
    assert not layer.base_weight.requires_grad


def test_fast_measure_is_the_amplitude_difference_of_the_final_state(pz_one_repetition_state):
    """pz, one repetition, one edge: |a| - |b| of H, RZ RY RZ(w x + b), RZ RY on |0>, by 2x2 matrices."""
    layer = QKANLayer(1, 1, 1, fast_measure=True, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        layer.preact_weight.fill_(0.8)
        layer.preact_bias.fill_(-0.3)
    for x in (0.7, -1.9, 0.0):
        state = pz_one_repetition_state(layer.theta[0, 0], 0.8 * x - 0.3)
        expected = float(state[0].abs() - state[1].abs())
        got = layer.activations(torch.tensor([[x]], dtype=torch.float64))
        assert float(got) == pytest.approx(expected, abs=1e-12)


def test_fast_measure_on_a_backend_equals_the_fast_path_and_has_finite_gradients():
    gen = torch.Generator().manual_seed(2)
    fast = QKANLayer(2, 2, 2, fast_measure=True, dtype=torch.float64, generator=gen)
    on_engine = QKANLayer(2, 2, 2, fast_measure=True, dtype=torch.float64, backend=TorchBackend(dtype=torch.complex128))
    on_engine.load_state_dict(fast.state_dict())
    x = torch.rand(4, 2, dtype=torch.float64, generator=gen)
    torch.testing.assert_close(on_engine(x), fast(x), atol=1e-10, rtol=0)
    with torch.no_grad():  # RY(-pi/2) H |0> = |0>, and the RZ's only add phases: |b| = 0, where sqrt is singular
        fast.theta.zero_()
        fast.theta[..., 0, 1] = -math.pi / 2
    phi = fast.activations(x)
    torch.testing.assert_close(phi, torch.ones_like(phi), atol=1e-7, rtol=0)
    fast(x).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in fast.parameters() if p.grad is not None)


def test_qkan_keywords_are_translated():
    model = QKAN(
        [3, 2],
        reps=2,
        ansatz="rpz_encoding",
        ba_trainable=False,
        is_batchnorm=True,
        p_dtype=torch.float64,
        seed=5,
        device="cpu",
        norm_out=2,
        solver="cutn",
        group=-1,
        p_dim=2,
        checkpoint_reps=True,
        c_dtype=torch.complex128,
    )
    layer = model.layers[0]
    assert layer.ansatz == "rpz" and not layer.options["base_trainable"] and layer.bn is not None
    assert layer.theta.dtype == torch.float64
    same_seed = QKAN([3, 2], reps=2, ansatz="rpz", base_trainable=False, batchnorm=True, dtype=torch.float64, seed=5)
    torch.testing.assert_close(same_seed.layers[0].theta, layer.theta, atol=0, rtol=0)  # seed -> a generator
    y = model(torch.rand(6, 3, dtype=torch.float64))
    torch.testing.assert_close(y.norm(dim=1), torch.ones(6, dtype=torch.float64))  # norm_out=2
    wide = QKAN([64, 64], reps=4, theta_init="small_gaussian", preact_init=True, seed=0)
    assert abs(float(wide.layers[0].theta.std()) - 0.5) < 0.02  # N(0, 1/reps)
    assert float((wide.layers[0].preact_weight - 1).abs().max()) > 0.1


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"group": 2}, ValueError, r"qkan option group=2 is not supported by qml\.kan\.QKAN: sharing theta"),
        ({"is_map": True}, ValueError, r"is_map=True .*append the map yourself"),
        ({"solver": "qiskit"}, ValueError, r"solver='qiskit' .*pass backend="),
        ({"base_activation": "gelu"}, ValueError, r"base_activation='gelu' .*the base branch is silu"),
        ({"c_dtype": torch.bfloat16}, ValueError, r"c_dtype=torch\.bfloat16"),
        ({"ansatz": lambda *a: None}, ValueError, r"custom ansatz callables"),
        ({"save_act": True}, ValueError, r"save_act=True"),
        ({"norm_out": -1}, ValueError, r"norm_out must be an int >= 0"),
        ({"frobnicate": 1}, TypeError, r"unexpected keyword 'frobnicate'; it accepts .*ba_trainable"),
        (
            {"ba_trainable": True, "base_trainable": True},
            TypeError,
            r"both ba_trainable= \(qkan's name\) and base_trainable=",
        ),
        ({"seed": 1, "generator": torch.Generator()}, TypeError, r"both seed= and generator="),
    ],
)
def test_unsupported_qkan_options_are_refused(options, error, message):
    with pytest.raises(error, match=message):
        QKAN([2, 2], reps=1, **options)


def test_state_dict_errors():
    model = QKAN([2, 3], reps=2)
    state = _qkan_state_dict(model)
    with pytest.raises(ValueError, match=r"p_dim=2 storage does not tell the widths apart; pass width="):
        QKAN.from_qkan(_qkan_state_dict(model, flat=True))
    with pytest.raises(KeyError, match=r"layers\.0: the qkan state dict lacks \['mask'\]"):
        QKAN.from_qkan({k: v for k, v in state.items() if not k.endswith("mask")})
    with pytest.raises(ValueError, match=r"layers\.0\.theta has shape \(3, 2, 3, 2\) \(36 values\), but the layer"):
        QKAN.from_qkan(state, [2, 3], reps=3)
    with pytest.raises(KeyError, match=r"entries \['layers\.1\.weight'\] have no place in a QKAN of width \[2, 3\]"):
        QKAN.from_qkan({**state, "layers.1.weight": torch.zeros(1)})
    with pytest.raises(
        KeyError, match=r"has batch-norm entries \(bn\.\*\), but the layer was built with is_batchnorm=False"
    ):
        QKAN.from_qkan({**state, "layers.0.bn.weight": torch.ones(2)})
    with pytest.raises(KeyError, match=r"not a qkan\.QKAN state dict"):
        QKAN.from_qkan({"theta": torch.zeros(1)})


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_integer_and_bool_inputs_are_converted_to_the_layer_dtype(dtype):
    layer = QKANLayer(3, 2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = torch.tensor([[1, 0, 1], [0, 1, 1]]).to(dtype)
    out = layer(x)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, layer(x.to(torch.float64)), atol=0, rtol=0)
    with pytest.raises(TypeError, match=r"QKANLayer input must be real, got a torch\.complex64 tensor"):
        layer(torch.ones(2, 3, dtype=torch.complex64))
