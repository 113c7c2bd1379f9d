"""Training speed options keep the method's losses (README "Performance")."""

from __future__ import annotations

import copy
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from engine.train.config import TrainConfig
from engine.train.trainer import Trainer, average_gradients


def _batch(cfg, n: int, seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    s = cfg.image_size
    return {
        "image": torch.rand(n, 3, s, s, generator=g) * 2 - 1,
        "background": torch.rand(n, 3, s - 2, s - 2, generator=g) * 2 - 1,
        "box": torch.tensor([[s * 0.3, s * 0.3, s * 0.7, s * 0.7]]).repeat(n, 1),
    }


def _trainer(tiny_config, **kw) -> Trainer:
    cfg = TrainConfig(model=tiny_config, data=".", batch_size=4, device="cpu", **kw)
    torch.manual_seed(0)
    return Trainer(cfg, torch.device("cpu"))


def _step(trainer: Trainer, batch, seed: int) -> dict[str, float]:
    torch.manual_seed(seed)
    return trainer.stage1_step(batch)


def test_gp_every_one_is_the_reference_exactly(tiny_config):
    ref, lazy = _trainer(tiny_config), _trainer(tiny_config, gp_every=1)
    batch = _batch(tiny_config, 4)
    for seed in (5, 6):
        assert _step(lazy, batch, seed) == _step(ref, batch, seed)


def test_lazy_gradient_penalty_is_weighted_by_k_and_skipped_between(tiny_config):
    k, w = 4, 10.0
    ref, lazy = _trainer(tiny_config), _trainer(tiny_config, gp_every=k)
    batch = _batch(tiny_config, 4)
    # Step 0 is a penalty step: same random draws, so every loss matches the reference
    # except the critics', whose penalty term is weighted by k.
    a, b = _step(ref, batch, 5), _step(lazy, batch, 5)
    assert b["gp"] == a["gp"]
    assert b["critic"] == pytest.approx(a["critic"] + (k - 1) * w * a["gp"], rel=1e-5, abs=1e-5)
    for key in ("d_bg", "d_child", "info", "g_adv", "code"):
        assert b[key] == a[key], key
    # Step 1 is not: from the same state, the critics' loss is the reference's without GP.
    ref.load_state_dict(copy.deepcopy(lazy.state_dict()))
    ref.stage1_steps_done = 0  # the reference computes its penalty on every step anyway
    a, b = _step(ref, batch, 6), _step(lazy, batch, 6)
    assert "gp" not in b and "gp" in a
    assert b["critic"] == pytest.approx(a["critic"] - w * a["gp"], rel=1e-5, abs=1e-5)
    assert b["d_bg"] == a["d_bg"] and b["d_child"] == a["d_child"]
    assert lazy.stage1_steps_done == 2
    assert [("gp" in _step(lazy, batch, s)) for s in range(7, 13)] == [
        False, False, True, False, False, False,
    ]  # fmt: skip


def test_step_counter_survives_a_checkpoint(tiny_config):
    lazy = _trainer(tiny_config, gp_every=3)
    batch = _batch(tiny_config, 4)
    for seed in range(2):
        _step(lazy, batch, seed)
    other = _trainer(tiny_config, gp_every=3)
    other.load_state_dict(copy.deepcopy(lazy.state_dict()))
    assert other.stage1_steps_done == 2
    assert _step(other, batch, 9) == _step(lazy, batch, 9)


def test_gp_every_is_validated(tiny_config):
    from engine.errors import ConfigError

    with pytest.raises(ConfigError, match="gp-every"):
        TrainConfig(model=tiny_config, data=".", gp_every=0)
    with pytest.raises(ConfigError, match="compile"):
        TrainConfig(model=tiny_config, data=".", compile="yes")


def _grads(rank: int) -> list[torch.nn.Parameter]:
    shapes = [(3, 2), (5,), (2, 2, 2), (4,)]
    params = [torch.nn.Parameter(torch.zeros(s)) for s in shapes]
    for i, p in enumerate(params[:3]):  # the last one has no gradient
        p.grad = torch.arange(p.numel(), dtype=torch.float32).view(p.shape) * (rank + 1) + i
    return params


def _average_on_rank(rank: int, world: int, init: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        params = _grads(rank)
        grads = [p.grad for p in params[:3]]
        average_gradients(params)
        for i, (p, g) in enumerate(zip(params, grads)):
            if i == 3:
                assert p.grad is None
                continue
            assert p.grad is g  # averaged in place, as the optimiser expects
            base = torch.arange(p.numel(), dtype=torch.float32).view(p.shape)
            expected = sum(base * (r + 1) + i for r in range(world)) / world
            torch.testing.assert_close(p.grad, expected)
    finally:
        dist.destroy_process_group()


def test_flattened_all_reduce_averages_over_two_ranks(tmp_path):
    init = f"file://{tmp_path / 'store'}"
    mp.spawn(_average_on_rank, args=(2, init), nprocs=2, join=True)


def test_trainer_step_under_a_one_rank_group_matches_no_group(tiny_config, tmp_path):
    batch = _batch(tiny_config, 4)
    plain = _step(_trainer(tiny_config), batch, 5)
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    try:
        grouped = _step(_trainer(tiny_config), batch, 5)
    finally:
        dist.destroy_process_group()
    assert grouped == plain


@pytest.mark.skipif(
    not os.environ.get("MIXNMATCH_TEST_COMPILE"),
    reason="torch.compile takes minutes on a small CPU; set MIXNMATCH_TEST_COMPILE=1",
)
def test_compiled_step_matches_eager(tiny_config):
    eager, compiled = _trainer(tiny_config), _trainer(tiny_config, compile=True)
    batch = _batch(tiny_config, 4)
    for seed in (5, 6):
        a, b = _step(eager, batch, seed), _step(compiled, batch, seed)
        assert a.keys() == b.keys()
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-3, abs=1e-3), key
