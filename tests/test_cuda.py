"""CUDA paths: device choice, inference equal to the CPU, both training stages on the GPU.

These need a CUDA device; on machines without one they are skipped (the same code paths run on
the CPU in the rest of the suite).
"""

import dataclasses

import numpy as np
import pytest
import torch

from engine import MixNMatch
from engine.infer import resolve_device
from engine.train import TrainConfig, iter_train
from engine.train.trainer import Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_auto_device_is_cuda():
    assert resolve_device("auto").type == "cuda"


def test_cuda_mix_matches_cpu(tiny_config):
    from engine.evaluate.labels import to_uint8_tensor

    cpu = MixNMatch.from_random(tiny_config, seed=3, device="cpu")
    gpu = MixNMatch.from_random(tiny_config, seed=3, device="cuda")
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(4, tiny_config.z_dim, generator=gen)
    codes = [
        torch.eye(k)[torch.arange(4) % k]
        for k in (tiny_config.num_backgrounds, tiny_config.num_parents, tiny_config.num_children)
    ]
    with torch.no_grad():
        a = cpu.generator(z, *codes).child
        b = gpu.generator(z.cuda(), *(c.cuda() for c in codes)).child.cpu()
    assert torch.allclose(a, b, atol=2e-3), float((a - b).abs().max())
    diff = (to_uint8_tensor(a).int() - to_uint8_tensor(b).int()).abs()
    assert int(diff.max()) <= 1


def test_both_stages_train_on_cuda(tiny_config, tiny_cub, tmp_path):
    cfg = TrainConfig(
        model=tiny_config, preset="demo", data=str(tiny_cub), out=str(tmp_path / "run"),
        steps=3, stage2_steps=2, batch_size=4, log_every=1, sample_every=100,
        checkpoint_every=100, device="cuda",
    )  # fmt: skip
    seen: list[Trainer] = []
    events = list(iter_train(cfg, on_trainer=seen.append))
    assert seen[0].device.type == "cuda"
    losses = [e.losses for e in events if e.event == "step"]
    assert len(losses) == 5
    assert all(np.isfinite(v) for row in losses for v in row.values())
    model = MixNMatch.load(tmp_path / "run" / "model.safetensors", device="cuda")
    assert model.has_feature_mode and model.device.type == "cuda"


def test_bf16_autocast_step_on_cuda(tiny_config, tiny_cub, tmp_path):
    cfg = TrainConfig(
        model=tiny_config, preset="demo", data=str(tiny_cub), out=str(tmp_path / "bf16"),
        steps=2, stage2_steps=1, batch_size=4, log_every=1, sample_every=100,
        checkpoint_every=100, device="cuda", precision="bf16",
    )  # fmt: skip
    events = list(iter_train(dataclasses.replace(cfg)))
    assert events[-1].event == "done"
