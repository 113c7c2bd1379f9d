"""Building blocks shared by the FineGAN generator and the feature extractor (method facts s3)."""

from __future__ import annotations

import torch
from torch import nn


class GLU(nn.Module):
    """Gated linear unit over channels: first half * sigmoid(second half)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, gate = x.chunk(2, dim=1)
        return a * torch.sigmoid(gate)


def conv3x3(in_ch: int, out_ch: int) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=False)


def same_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """3x3 conv -> BN -> GLU, keeping the resolution."""
    return nn.Sequential(conv3x3(in_ch, out_ch * 2), nn.BatchNorm2d(out_ch * 2), GLU())


def up_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """Nearest x2 upsample -> 3x3 conv -> BN -> GLU."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        conv3x3(in_ch, out_ch * 2),
        nn.BatchNorm2d(out_ch * 2),
        GLU(),
    )


class ResBlock(nn.Module):
    """conv-BN-GLU-conv-BN with an identity skip."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            conv3x3(channels, channels * 2),
            nn.BatchNorm2d(channels * 2),
            GLU(),
            conv3x3(channels, channels),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ImageHead(nn.Module):
    """3x3 conv to an RGB image in [-1, 1] (tanh) or a 1-channel mask in [0, 1] (sigmoid)."""

    def __init__(self, in_ch: int, mask: bool = False) -> None:
        super().__init__()
        self.img = nn.Sequential(
            conv3x3(in_ch, 1 if mask else 3), nn.Sigmoid() if mask else nn.Tanh()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.img(x)


def tile_code(code: torch.Tensor, size: int) -> torch.Tensor:
    """(N, K) code -> (N, K, size, size) constant map, for concatenation with features."""
    return code[:, :, None, None].expand(-1, -1, size, size)
