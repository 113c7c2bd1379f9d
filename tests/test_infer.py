"""Inference API: deterministic mixes, per-slot caching, explicit codes, sweeps."""

import numpy as np
import pytest
import torch

from engine import MixNMatch, MixNMatchError, Reference
from engine.infer import SLOTS
from tests.conftest import random_image


@pytest.fixture
def model(tiny_config):
    return MixNMatch.from_random(tiny_config, seed=0)


@pytest.fixture
def refs():
    return [Reference(random_image(i), name=f"r{i}") for i in range(4)]


def _fill(mixer, refs):
    for slot, ref in zip(SLOTS, refs):
        mixer.set_reference(slot, ref)


def test_mix_is_deterministic_with_all_layers(model, refs):
    a, b = model.mixer(), model.mixer()
    _fill(a, refs), _fill(b, refs)
    for mode in ("code", "feature"):
        ra, rb = a.mix(mode), b.mix(mode)
        assert ra.image.shape == (64, 64, 3) and ra.image.dtype == np.uint8
        assert np.array_equal(ra.image, rb.image)
        assert set(ra.layers) >= {"background", "parent", "child", "parent_mask", "child_mask"}


def test_only_the_changed_slot_is_encoded(model, refs, monkeypatch):
    mixer = model.mixer()
    _fill(mixer, refs)
    mixer.mix()
    calls = []
    original = mixer._encode_refs
    monkeypatch.setattr(mixer, "_encode_refs", lambda r, f: calls.append(f) or original(r, f))
    mixer.mix()
    assert calls == []  # nothing changed: nothing re-encoded
    mixer.set_reference("texture", refs[0])
    mixer.mix()
    assert calls == ["c"]  # only E_c runs on the new texture image


def test_feature_mode_ignores_pose(model, refs):
    mixer = model.mixer()
    _fill(mixer, refs)
    first = mixer.mix("feature").image
    mixer.set_reference("pose", Reference(random_image(99)))
    assert np.array_equal(first, mixer.mix("feature").image)
    assert not np.array_equal(first, mixer.mix("code").image)
    mixer.set_reference("pose", None)
    assert mixer.missing("feature") == [] and mixer.missing("code") == ["pose"]


def test_explicit_codes_and_reroll(model, refs):
    mixer = model.mixer()
    _fill(mixer, refs)
    base = mixer.mix().image
    mixer.reroll("shape", seed=5)
    rolled = mixer.mix().image
    mixer.reroll("shape", seed=5)
    assert np.array_equal(rolled, mixer.mix().image)
    mixer.set_code("pose", z=np.zeros(model.config.z_dim))
    assert not np.array_equal(base, mixer.mix().image)
    with pytest.raises(MixNMatchError):
        mixer.set_code("texture", index=99)
    with pytest.raises(MixNMatchError):
        mixer.set_code("pose", z=np.zeros(3))
    assert len(mixer.top_k("texture", 3)) == 3 and mixer.top_k("pose") == []


def test_sweep_matches_single_mixes(model, refs):
    mixer = model.mixer()
    _fill(mixer, refs)
    sweep = mixer.sweep("texture", refs[:3])
    for ref, result in zip(refs[:3], sweep):
        mixer.set_reference("texture", ref)
        single = mixer.mix().image
        assert np.abs(single.astype(int) - result.image.astype(int)).max() <= 1
    frames = mixer.interpolate("background", refs[0], refs[1], 4)
    assert len(frames) == 4


def test_missing_slots_and_bad_mode(model, refs):
    mixer = model.mixer()
    mixer.set_reference("background", refs[0])
    with pytest.raises(MixNMatchError, match="missing reference"):
        mixer.mix()
    with pytest.raises(MixNMatchError, match="unknown mode"):
        mixer.mix("sketch")
    with pytest.raises(MixNMatchError, match="unknown slot"):
        mixer.set_reference("colour", refs[0])


def test_explicit_cuda_without_cuda_is_a_clear_error(tiny_config):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(MixNMatchError, match="CUDA"):
        MixNMatch.from_random(tiny_config, device="cuda")
