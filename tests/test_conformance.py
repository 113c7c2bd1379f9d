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

from engine import MixNMatch
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
