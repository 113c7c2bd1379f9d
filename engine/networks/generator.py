"""FineGAN three-stage generator as slimmed by MixNMatch (docs/method.md: Generator).

Background stage (z, b) -> B; parent stage (z, p) -> feature map h_p -> shape/pose foreground
P_fg and mask P_mask; child stage (h_p, c) -> texture foreground C_fg and mask C_mask.
Composite: P = P_fg*P_mask + B*(1-P_mask); final C = C_fg*C_mask + P*(1-C_mask).
Stages are separate methods so inference can cache each one; feature mode feeds h_p from the
stage-2 feature extractor instead of the parent stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.config import ModelConfig
from engine.networks.blocks import GLU, ImageHead, ResBlock, joint_code_block, same_block, up_block


def _up_widths(cfg: ModelConfig, tail: int, last: int) -> list[int]:
    """Channel widths after each x2 upsample, from 4 px to image_size px.

    At 128 px (5 ups) this gives the released widths: background 256,128,64,64,32 and
    parent 256,128,64,16,16.
    """
    g, n = cfg.gf_dim, cfg.num_ups
    head = [4 * g, 2 * g, g][: n - 1]
    middle = [tail] * (n - 1 - len(head))
    return head + middle + [last]


class InitStage(nn.Module):
    """Code + z -> Linear -> BN1d -> GLU -> (8g, 4, 4) -> chain of x2 up-blocks."""

    def __init__(self, cfg: ModelConfig, code_dim: int, widths: list[int]) -> None:
        super().__init__()
        self.base = 8 * cfg.gf_dim
        in_dim = cfg.z_dim + code_dim
        self.fc = nn.Sequential(
            nn.Linear(in_dim, self.base * 16 * 2, bias=False),
            nn.BatchNorm1d(self.base * 16 * 2),
            GLU(),
        )
        prev = self.base
        for i, width in enumerate(widths, start=1):
            self.add_module(f"upsample{i}", up_block(prev, width))
            prev = width
        self.num_ups = len(widths)

    def forward(self, z: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, code], dim=1)).view(-1, self.base, 4, 4)
        for i in range(1, self.num_ups + 1):
            h = getattr(self, f"upsample{i}")(h)
        return h


class ParentStage(InitStage):
    """Shape + pose: init stage, then the p code tiled and joined, then 3 residual blocks."""

    def __init__(self, cfg: ModelConfig) -> None:
        f = cfg.feature_dim
        super().__init__(cfg, cfg.num_parents, _up_widths(cfg, f, f))
        self.jointConv = same_block(cfg.num_parents + f, f)
        self.residual = nn.Sequential(*[ResBlock(f) for _ in range(3)])

    def forward(self, z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        h = super().forward(z, p)  # (N, f, S, S)
        h = joint_code_block(self.jointConv, h, p, code_first=False)  # cat[h, tiled p]
        return self.residual(h)  # (N, f, S, S): the parent feature map h_p


class ChildStage(nn.Module):
    """Texture: h_p joined with the tiled c code -> 2 residual blocks -> feature_dim channels."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        f, w = cfg.feature_dim, cfg.gf_dim // 2
        self.jointConv = same_block(cfg.num_children + f, w)
        self.residual = nn.Sequential(*[ResBlock(w) for _ in range(2)])
        self.samesample = same_block(w, f)

    def forward(self, h_p: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = joint_code_block(self.jointConv, h_p, c, code_first=True)  # cat[tiled c, h_p]
        return self.samesample(self.residual(h))


@dataclass
class GeneratorOutput:
    """Every layer of one generation; images in [-1, 1], masks in [0, 1]."""

    background: torch.Tensor  # (N, 3, S, S) B
    background_small: torch.Tensor  # (N, 3, S-2, S-2) B for the background D
    parent: torch.Tensor  # (N, 3, S, S) composite after the parent stage
    child: torch.Tensor  # (N, 3, S, S) final composite
    parent_fg: torch.Tensor  # (N, 3, S, S)
    child_fg: torch.Tensor  # (N, 3, S, S)
    parent_mask: torch.Tensor  # (N, 1, S, S)
    child_mask: torch.Tensor  # (N, 1, S, S)
    features: torch.Tensor  # (N, f, S, S) parent feature map h_p


class Generator(nn.Module):
    """FineGAN generator G(z, b, p, c) with stage-wise entry points."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        g, f = cfg.gf_dim, cfg.feature_dim
        self.background_stage = InitStage(cfg, cfg.num_backgrounds, _up_widths(cfg, g, g // 2))
        self.background_image = ImageHead(g // 2)
        self.parent_stage = ParentStage(cfg)
        self.parent_image = ImageHead(f)
        self.parent_mask = ImageHead(f, mask=True)
        self.child_stage = ChildStage(cfg)
        self.child_image = ImageHead(f)
        self.child_mask = ImageHead(f, mask=True)

    def background(self, z: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(N, z_dim), (N, Nb) -> background image B (N, 3, S, S)."""
        return self.background_image(self.background_stage(z, b))

    def parent_features(self, z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """(N, z_dim), (N, Np) -> parent feature map h_p (N, f, S, S)."""
        return self.parent_stage(z, p)

    def foreground(
        self, h_p: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """h_p, c -> (P_fg, P_mask, C_fg, C_mask)."""
        h_c = self.child_stage(h_p, c)
        return (
            self.parent_image(h_p),
            self.parent_mask(h_p),
            self.child_image(h_c),
            self.child_mask(h_c),
        )

    def compose(
        self,
        bg: torch.Tensor,
        h_p: torch.Tensor,
        c: torch.Tensor,
        foreground: tuple[torch.Tensor, ...] | None = None,
    ) -> GeneratorOutput:
        """Background image + parent feature map + child code -> all layers.

        ``foreground`` (P_fg, P_mask, C_fg, C_mask) may be passed when already computed.
        """
        p_fg, p_mask, c_fg, c_mask = foreground or self.foreground(h_p, c)
        parent = p_fg * p_mask + bg * (1 - p_mask)
        child = c_fg * c_mask + parent * (1 - c_mask)
        small = F.interpolate(bg, size=self.cfg.bg_size, mode="bilinear", align_corners=True)
        return GeneratorOutput(bg, small, parent, child, p_fg, c_fg, p_mask, c_mask, h_p)

    def mix(
        self,
        z_background: torch.Tensor,
        b: torch.Tensor,
        c: torch.Tensor,
        z_pose: torch.Tensor | None = None,
        p: torch.Tensor | None = None,
        features: torch.Tensor | None = None,
    ) -> GeneratorOutput:
        """Wire the stages for one set of factors (the one place that does it).

        Background from (z_background, b); parent feature map from (z_pose, p) in code mode or
        given as ``features`` (N, f, S, S) in feature mode; child from c.
        """
        bg = self.background(z_background, b)
        if features is None:
            if z_pose is None or p is None:
                raise ValueError("code mode needs z_pose and p (or give features)")
            features = self.parent_features(z_pose, p)
        return self.compose(bg, features, c)

    def forward(
        self,
        z: torch.Tensor,
        b: torch.Tensor,
        p: torch.Tensor,
        c: torch.Tensor,
        z_pose: torch.Tensor | None = None,
    ) -> GeneratorOutput:
        """Training form: one z for both stages unless ``z_pose`` is given (inference)."""
        return self.mix(z, b, c, z_pose=z if z_pose is None else z_pose, p=p)
