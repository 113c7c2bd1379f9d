"""Stage-2 feature extractor EX (docs/method.md: Stage 2): a U-Net from an image to the generator's
parent feature map h_p, so feature mode takes shape and pose together from one image."""

from __future__ import annotations

import math

import torch
from torch import nn

from engine.config import ModelConfig
from engine.networks.blocks import GLU, ResBlock, same_block


def _down(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch * 2, 4, 2, 1), nn.BatchNorm2d(out_ch * 2), GLU())


def _up(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(in_ch, out_ch * 2, 4, 2, 1), nn.BatchNorm2d(out_ch * 2), GLU()
    )


class FeatureExtractor(nn.Module):
    """(N, 3, S, S) image -> (N, f, S, S) parent feature map. Downsamples to 2 px."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        x = cfg.ex_dim
        n = int(math.log2(cfg.image_size)) - 1  # number of down blocks (6 at 128 px)
        downs = [x * 2 ** min(i, 4) for i in range(n)]  # 32, 64, 128, 256, 512, 512
        ups = [downs[-1] // 2] + [downs[n - 1 - i] for i in range(1, n - 1)] + [cfg.feature_dim]
        self.first = nn.Sequential(same_block(3, x), same_block(x, x))
        prev = x
        for i, width in enumerate(downs, start=1):
            self.add_module(f"down{i}", _down(prev, width))
            prev = width
        for i, width in enumerate(ups, start=1):
            skip = downs[n - 1 - i] if i < n else 0
            self.add_module(f"up{i}", _up(prev, width))
            prev = width + skip
        self.last = nn.Sequential(ResBlock(cfg.feature_dim), ResBlock(cfg.feature_dim))
        self.num_levels = n

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h = self.first(image)  # (N, x, S, S)
        skips = []
        for i in range(1, self.num_levels + 1):
            h = getattr(self, f"down{i}")(h)
            skips.append(h)
        skips.pop()  # the bottleneck itself is not a skip
        for i in range(1, self.num_levels + 1):
            h = getattr(self, f"up{i}")(h)
            if skips:
                h = torch.cat([h, skips.pop()], dim=1)
        return self.last(h)  # (N, f, S, S)
