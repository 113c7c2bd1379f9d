"""The four MixNMatch encoders E_z, E_b, E_p, E_c: one CNN class built four times (s4).

Each maps a (N, 3, S, S) object crop in [-1, 1] to its code: z in [-4, 4] (tanh * 4),
b / p / c as raw logits (softmax gives the soft code used at inference).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from engine.config import ModelConfig

FACTORS = ("z", "b", "p", "c")


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.2, inplace=True)


def _conv_bn(in_ch: int, out_ch: int, k: int, s: int, p: int) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, k, s, p, bias=False), nn.BatchNorm2d(out_ch), _lrelu()]


class CodeEncoder(nn.Sequential):
    """Image -> one code. At 128 px: 4x4/s2 convs 3-64-128-256-512, down to 1024 at 4 px,
    3x3 convs 1024-512-512, 4x4/s4 conv to the code (released layout, one branch)."""

    def __init__(self, cfg: ModelConfig, out_dim: int) -> None:
        e = cfg.ef_dim
        widths = [e * 2**i for i in range(int(math.log2(cfg.image_size)) - 3)]
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 4, 2, 1, bias=False), _lrelu()]
        for a, b in zip(widths, widths[1:]):
            layers += _conv_bn(a, b, 4, 2, 1)
        last = widths[-1]
        super().__init__(
            nn.Sequential(*layers),  # (N, last, 8, 8)
            nn.Sequential(*_conv_bn(last, 2 * last, 4, 2, 1)),  # (N, 2*last, 4, 4)
            nn.Sequential(*_conv_bn(2 * last, last, 3, 1, 1)),
            nn.Sequential(*_conv_bn(last, last, 3, 1, 1)),
            nn.Conv2d(last, out_dim, 4, 4, 0),  # (N, out_dim, 1, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).flatten(1)  # (N, out_dim)


class Encoders(nn.Module):
    """E = {z, b, p, c}; each branch runs alone via ``encode(x, factor)``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        dims = {
            "z": cfg.z_dim,
            "b": cfg.num_backgrounds,
            "p": cfg.num_parents,
            "c": cfg.num_children,
        }
        for factor in FACTORS:
            self.add_module(f"model_{factor}", CodeEncoder(cfg, dims[factor]))

    def encode(self, x: torch.Tensor, factor: str) -> torch.Tensor:
        """(N, 3, S, S) -> z (N, z_dim) in [-4, 4] or logits (N, K) for b, p, c."""
        out = getattr(self, f"model_{factor}")(x)
        return torch.tanh(out) * 4 if factor == "z" else out

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {factor: self.encode(x, factor) for factor in FACTORS}
