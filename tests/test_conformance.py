"""Our paper preset computes exactly what the released MixNMatch code computes.

Released-layout state dicts are filled by the documented deterministic rule, saved as .pth
files (with DataParallel ``module.`` prefixes, like the released G.pth / E.pth / EX.pth),
converted with the same importer users run, saved/loaded through our model format, and every
output is compared with the vector produced by the released code.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine import SLOTS, MixNMatch, Reference
from engine.cli.mix import main as mix_main
from engine.images import to_uint8
from engine.model_file import save_model

DATA = Path(__file__).parent / "data" / "conformance"
TOL = 1e-4


def rule_state_dict(keys: list, seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape, dtype in keys:
        if dtype == "int64":
            state[name] = torch.tensor(0)
        elif name.endswith("running_var"):
            state[name] = torch.rand(shape, generator=gen) + 0.5
        elif name.endswith("running_mean"):
            state[name] = torch.randn(shape, generator=gen) * 0.1
        elif name.endswith(".bias"):
            state[name] = torch.randn(shape, generator=gen) * 0.1
        elif len(shape) == 1:
            state[name] = 1 + 0.1 * torch.randn(shape, generator=gen)
        else:
            state[name] = torch.randn(shape, generator=gen) / math.sqrt(math.prod(shape[1:]))
    return state


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    layout = json.loads((DATA / "official_checkpoint_layout.json").read_text())
    sums = json.loads((DATA / "weight_sums.json").read_text())
    folder = tmp_path_factory.mktemp("released")
    paths = {}
    for part, seed in (("G", 1), ("E", 2), ("EX", 3)):
        state = rule_state_dict(layout[part], seed)
        for key, value in state.items():  # the rule is reproduced exactly
            assert float(value.double().sum()) == pytest.approx(
                sums[part][key], rel=1e-6, abs=1e-4
            ), key
        paths[part] = folder / f"{part}.pth"
        torch.save(state, paths[part])
    model = MixNMatch.load_official(paths["G"], paths["E"], paths["EX"], device="cpu")
    ours = folder / "imported.safetensors"
    save_model(
        ours,
        model.config,
        {"generator": model.generator, "encoders": model.encoders, "extractor": model.extractor},
    )
    return MixNMatch.load(ours, device="cpu")


@pytest.fixture(scope="module")
def vector():
    return {k: torch.from_numpy(v) for k, v in np.load(DATA / "outputs.npz").items()}


def close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max().item() <= TOL


def test_imported_config_is_paper_layout(released):
    cfg = released.config
    assert (cfg.image_size, cfg.z_dim, cfg.num_parents, cfg.num_children, cfg.num_backgrounds) == (
        128,
        100,
        20,
        200,
        200,
    )
    assert released.has_feature_mode


@torch.inference_mode()
def test_encoders_match(released, vector):
    logits = {f: released.encoders.encode(vector["in_background"], f) for f in "zbpc"}
    for f in "zbpc":
        close(logits[f], vector[f"enc_logits_{f}"])
    enc = released.encoders
    close(enc.encode(vector["in_pose"], "z"), vector["code_z_pose"])
    close(enc.encode(vector["in_shape"], "p").softmax(1), vector["code_p"])
    close(enc.encode(vector["in_texture"], "c").softmax(1), vector["code_c"])
    close(enc.encode(vector["in_background"], "b").softmax(1), vector["code_b"])


@torch.inference_mode()
@pytest.mark.parametrize("mode", ["code", "feature"])
def test_generator_matches(released, vector, mode):
    g = released.generator
    bg = g.background(vector["code_z_background"], vector["code_b"])
    if mode == "code":
        h_p = g.parent_features(vector["code_z_pose"], vector["code_p"])
    else:
        h_p = released.extractor(vector["in_shape"])
        close(h_p, vector["feature_shape"])
    out = g.compose(bg, h_p, vector["code_c"])
    prefix = f"{mode}_mode"
    close(out.background_small, vector[f"{prefix}_background"])
    close(out.parent, vector[f"{prefix}_parent"])
    close(out.child, vector[f"{prefix}_child"])
    close(out.parent_mask, vector[f"{prefix}_parent_mask"])
    close(out.child_mask, vector[f"{prefix}_child_mask"])


def _as_png(x: torch.Tensor, path: Path) -> Path:
    """A (1, 3, S, S) input in [-1, 1] (8-bit levels) as the S x S PNG it came from."""
    arr = ((x[0].permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    Image.fromarray(arr).save(path)
    return path


@pytest.mark.parametrize("mode", ["code", "feature"])
def test_whole_image_mix_reproduces_the_released_evaluation(released, vector, mode, tmp_path):
    """``mixnmatch-mix --whole-image`` on imported released weights gives the released
    evaluation's composite and layers (within one 8-bit level: float rounding at .5)."""
    images = {s: _as_png(vector[f"in_{s}"], tmp_path / f"{s}.png") for s in SLOTS}
    layers = tmp_path / "layers"
    argv = [f"--{s}={images[s]}" for s in SLOTS if not (mode == "feature" and s == "pose")]
    argv += ["--whole-image", "--mode", mode, "--model", str(released.path)]
    argv += ["--out", str(tmp_path / "mix.png"), "--layers", str(layers), "--device", "cpu"]
    assert mix_main(argv) == 0
    prefix = f"{mode}_mode"
    expected = {
        "mix": to_uint8(vector[f"{prefix}_child"])[0],
        "layers/parent": to_uint8(vector[f"{prefix}_parent"])[0],
        "layers/child_mask": to_uint8(vector[f"{prefix}_child_mask"])[0],
        "layers/parent_mask": to_uint8(vector[f"{prefix}_parent_mask"])[0],
    }
    for name, want in expected.items():
        with Image.open(tmp_path / f"{name}.png") as img:
            got = np.asarray(img.convert("RGB")).astype(int)
        assert np.abs(got - want.astype(int)).max() <= 1, name
    # what the model sees is the released input exactly; the object crop (our default) is not
    for s in SLOTS:
        whole = Reference.from_path(images[s], crop="whole").to_tensor(128)
        assert (whole - vector[f"in_{s}"][0]).abs().max() <= 1e-6, s
        cropped = Reference.from_path(images[s]).to_tensor(128)
        assert (cropped - vector[f"in_{s}"][0]).abs().max() > 0.1, s
