"""Building blocks of the FineGAN generator and the feature extractor (docs/method.md)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
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


def joint_code_block(
    block: nn.Sequential, feat: torch.Tensor, code: torch.Tensor, code_first: bool
) -> torch.Tensor:
    """``block(cat[tiled code, feat])`` for a same_block, without building the tiled code.

    A 3x3 convolution of a constant map is, per sample, the code-contracted kernel applied to
    a ones map (zero padding makes the border exact), so the (N, K, S, S) tile and the
    K-channel convolution over it are replaced by an (N, C_out, 3, 3) kernel on one channel.
    Same result (to float rounding) at a fraction of the cost when K is large (200 at 128 px).
    """
    conv = block[0]
    k, f = code.shape[1], feat.shape[1]
    parts = conv.weight.split([k, f] if code_first else [f, k], dim=1)
    w_code, w_feat = parts if code_first else parts[::-1]
    n, size = feat.shape[0], feat.shape[-1]
    kernel = torch.einsum("nk,okij->noij", code.to(w_code.dtype), w_code)  # (N, O, 3, 3)
    ones = feat.new_ones(1, n, size, size)
    from_code = F.conv2d(ones, kernel.reshape(-1, 1, 3, 3), padding=1, groups=n)
    out = F.conv2d(feat, w_feat, padding=1) + from_code.view(n, -1, size, size)
    return block[2](block[1](out))
