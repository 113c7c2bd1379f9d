"""Network shapes for both presets and both modes; gradients reach every parameter."""

import pytest
import torch
from torch import nn

from engine.config import PRESETS, ModelConfig
from engine.networks import (
    BackgroundDiscriminator,
    Encoders,
    FeatureDiscriminator,
    FeatureExtractor,
    Generator,
    ImageCodeCritics,
    InfoDiscriminator,
)
from engine.networks.discriminators import PATCH_STRIDE, RECEPTIVE_FIELD, num_patches


def _codes(cfg: ModelConfig, n: int = 2):
    return (
        torch.randn(n, cfg.z_dim),
        torch.eye(cfg.num_backgrounds)[:n],
        torch.eye(cfg.num_parents)[[0, 1][:n]],
        torch.eye(cfg.num_children)[:n],
    )


@pytest.mark.parametrize("name", ["demo", "cpu", "paper"])
def test_shapes_every_preset_both_modes(name):
    cfg = PRESETS[name]
    s, f = cfg.image_size, cfg.feature_dim
    g, e, ex = Generator(cfg).eval(), Encoders(cfg).eval(), FeatureExtractor(cfg).eval()
    x = torch.rand(2, 3, s, s) * 2 - 1
    with torch.no_grad():
        codes = e(x)
        assert codes["z"].shape == (2, cfg.z_dim) and codes["z"].abs().max() <= 4
        assert codes["b"].shape == (2, cfg.num_backgrounds)
        assert codes["p"].shape == (2, cfg.num_parents)
        assert codes["c"].shape == (2, cfg.num_children)
        out = g(*_codes(cfg))  # code mode
        assert out.child.shape == out.parent.shape == out.background.shape == (2, 3, s, s)
        assert out.background_small.shape == (2, 3, s - 2, s - 2)
        assert out.parent_mask.shape == out.child_mask.shape == (2, 1, s, s)
        assert out.features.shape == (2, f, s, s)
        feature = ex(x)  # feature mode: EX output replaces the parent stage
        assert feature.shape == (2, f, s, s)
        out = g.compose(
            g.background(codes["z"], codes["b"].softmax(1)), feature, codes["c"].softmax(1)
        )
        assert out.child.shape == (2, 3, s, s)
        assert out.child.min() >= -1 and out.child.max() <= 1


def test_paper_preset_has_released_parameter_counts():
    cfg = PRESETS["paper"]
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(Generator(cfg)) == 13_500_672
    assert count(Encoders(cfg)) == 77_172_232
    assert count(FeatureExtractor(cfg)) == 39_126_688
    assert count(BackgroundDiscriminator(cfg)) == 666_626
    assert count(InfoDiscriminator(cfg, 200, 64, True)) == 13_320_137
    assert count(ImageCodeCritics(cfg)) == 17_753_028
    assert count(FeatureDiscriminator(cfg)) == 174_081


def test_gradients_reach_every_parameter(tiny_config):
    cfg = tiny_config
    s = cfg.image_size
    nets = {
        "g": Generator(cfg), "e": Encoders(cfg), "ex": FeatureExtractor(cfg),
        "bg": BackgroundDiscriminator(cfg), "fd": FeatureDiscriminator(cfg),
        "pd": InfoDiscriminator(cfg, cfg.num_parents, 8, False),
        "cd": InfoDiscriminator(cfg, cfg.num_children, 8, True), "bd": ImageCodeCritics(cfg),
    }  # fmt: skip
    x = torch.rand(2, 3, s, s) * 2 - 1
    out = nets["g"](*_codes(cfg))
    codes = nets["e"](x)
    rf, aux = nets["bg"](out.background_small)
    loss = (
        out.child.mean()
        + rf.mean()
        + aux.mean()
        + nets["fd"](nets["ex"](x)).mean()
        + nets["pd"].classify(out.parent_fg).mean()
        + nets["cd"].classify(x).mean()
        + nets["cd"].real_fake_logits(x).mean()
        + sum(nets["bd"][k](x, v).mean() for k, v in codes.items())
    )
    loss.backward()
    for name, net in nets.items():
        for pname, p in net.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}.{pname} got no gradient"


@pytest.mark.parametrize("parents, children", [(12, 120), (20, 196), (3, 7)])
def test_other_category_counts(parents, children):
    """Dogs (12/120), Cars (20/196) and custom counts; children nest in parents."""
    from engine.codes import child_to_parent, sample_tied

    cfg = ModelConfig(
        image_size=64,
        num_parents=parents,
        num_children=children,
        num_backgrounds=children,
        gf_dim=16,
        ef_dim=8,
    )
    parent_of = child_to_parent(torch.arange(children), cfg)
    assert parent_of.min() == 0 and parent_of.max() == parents - 1
    assert torch.all(parent_of[1:] >= parent_of[:-1])  # consecutive blocks
    codes, _ = sample_tied(cfg, 3, torch.device("cpu"))
    with torch.no_grad():
        out = Generator(cfg).eval()(codes.z, codes.b, codes.p, codes.c)
    assert out.child.shape == (3, 3, 64, 64)
    assert Encoders(cfg).eval()(torch.zeros(1, 3, 64, 64))["c"].shape == (1, children)


def test_patch_grid_is_the_background_discriminators(tiny_config):
    """RECEPTIVE_FIELD, PATCH_STRIDE and num_patches describe BackgroundDiscriminator's output."""
    bg = tiny_config.bg_size
    d = BackgroundDiscriminator(tiny_config)
    for p in d.parameters():
        nn.init.constant_(p, 0.01)  # every input pixel in the field gets a positive gradient
    x = torch.ones(1, 3, bg, bg, requires_grad=True)
    real_fake, is_background = d(x)
    p = num_patches(bg)
    assert real_fake.shape == is_background.shape == (1, 1, p, p)
    real_fake[0, 0, 1, 2].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero().flatten()  # input rows patch (1, 2) sees
    cols = x.grad[0, 0].abs().sum(0).nonzero().flatten()
    assert (rows.min(), rows.max() + 1) == (PATCH_STRIDE, PATCH_STRIDE + RECEPTIVE_FIELD)
    assert (cols.min(), cols.max() + 1) == (2 * PATCH_STRIDE, 2 * PATCH_STRIDE + RECEPTIVE_FIELD)
