"""Sample grids written during training: references, reconstructions, mixes, layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.codes import sample_tied, soft_codes
from engine.images import to_uint8


def _row(images: list[torch.Tensor]) -> np.ndarray:
    return np.concatenate([to_uint8(t) for t in images], axis=0)  # (K*N, S, S, 3)


@torch.no_grad()
def write_sample_grid(trainer, x: torch.Tensor, path: Path, seed: int = 0) -> Path:
    """Rows: real references; reconstructions (E -> EMA G); code-mode mixes of four rolled
    references (background i, pose i+1, shape i+2, texture i+3); feature-mode mixes; the layers
    of tied random codes (background, parent mask, child mask, parent and child foregrounds)."""
    g = trainer.generator_ema if trainer.ema_calibrated else trainer.recalibrate_ema()
    enc, ex = trainer.encoders, trainer.extractor
    was_training = enc.training, ex.training
    enc.eval(), ex.eval()
    x = x.to(trainer.device)
    n = x.shape[0]
    codes = soft_codes(enc(x))
    recon = g(codes["z"], codes["b"], codes["p"], codes["c"]).child

    def roll(t: torch.Tensor, k: int) -> torch.Tensor:
        return t.roll(-k, dims=0)

    z, b, c = codes["z"], codes["b"], roll(codes["c"], 3)
    mix = g.mix(z, b, c, z_pose=roll(z, 1), p=roll(codes["p"], 2)).child
    feat = g.mix(z, b, c, features=roll(ex(x), 2))
    rng = torch.Generator(device="cpu").manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=rng)))
        tied, _ = sample_tied(trainer.cfg.model, n, torch.device("cpu"))
    tied_out = g(*(t.to(trainer.device) for t in (tied.z, tied.b, tied.p, tied.c)))
    rows = [
        x,
        recon,
        mix,
        feat.child,
        tied_out.background,
        tied_out.parent_mask,
        tied_out.child_mask,
        tied_out.parent_fg * tied_out.parent_mask,
        tied_out.child_fg * tied_out.child_mask,
        tied_out.child,
    ]
    grid = _row(rows)  # (R*N, S, S, 3)
    s = grid.shape[1]
    grid = (
        grid.reshape(len(rows), n, s, s, 3)
        .transpose(0, 2, 1, 3, 4)
        .reshape(len(rows) * s, n * s, 3)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path)
    enc.train(was_training[0]), ex.train(was_training[1])
    return path
