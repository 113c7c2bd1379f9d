"""Training-only critics (docs/method.md): background PatchGAN D with its aux head, the
parent/child info discriminators, the four image-code critics (Bi_Dis) and the stage-2
feature discriminator. All return logits (use BCE-with-logits / WGAN losses on them)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from engine.config import ModelConfig

RECEPTIVE_FIELD = 34  # px one background-discriminator patch sees (PatchTrunk + head)
PATCH_STRIDE = 4  # px between neighbouring patches


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.2, inplace=True)


class PatchTrunk(nn.Sequential):
    """4x4 convs s2, s2, s1 (no padding, no norm): 34 px receptive field, stride 4."""

    def __init__(self, in_ch: int, widths: tuple[int, int, int]) -> None:
        a, b, c = widths
        super().__init__(
            nn.Conv2d(in_ch, a, 4, 2, 0, bias=False), _lrelu(),
            nn.Conv2d(a, b, 4, 2, 0, bias=False), _lrelu(),
            nn.Conv2d(b, c, 4, 1, 0, bias=False), _lrelu(),
        )  # fmt: skip


class BackgroundDiscriminator(nn.Module):
    """Patch real/fake logits and patch background-vs-object logits, (N, 1, P, P) each."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d = cfg.df_dim
        self.trunk = PatchTrunk(3, (d, 2 * d, 4 * d))
        self.real_fake = nn.Conv2d(4 * d, 1, 4, 1, 0)
        self.is_background = nn.Conv2d(4 * d, 1, 4, 1, 0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)  # (N, 4d, P+3, P+3)
        return self.real_fake(h), self.is_background(h)


def num_patches(bg_size: int) -> int:
    """Patches per side of the background discriminator output (24 at 126 px, 8 at 62 px)."""
    return (bg_size - RECEPTIVE_FIELD) // PATCH_STRIDE + 1


def patch_weight_map(boxes: torch.Tensor, bg_size: int) -> torch.Tensor:
    """Real-patch weights of the background discriminator (method facts, section 4).

    ``boxes``: (N, 4) [y1, x1, y2, x2] in background-crop pixels. A patch is 0 when its receptive
    field (34 px, stride 4) overlaps the box, else 1; degenerate boxes give all ones.
    Returns (N, 1, P, P) float, on the boxes' device.
    """
    p = num_patches(bg_size)
    boxes = boxes.float()
    y1, x1, y2, x2 = boxes.unbind(1)  # (N,) each
    lo = torch.ceil((torch.stack([y1, x1], 1) - RECEPTIVE_FIELD) / PATCH_STRIDE)  # (N, 2)
    hi = torch.floor(torch.stack([y2, x2], 1) / PATCH_STRIDE)  # (N, 2)
    lo, hi = lo.clamp(0, p - 1), hi.clamp(0, p - 1)
    idx = torch.arange(p, device=boxes.device, dtype=boxes.dtype)  # (P,)
    inside = (idx >= lo[..., None]) & (idx <= hi[..., None])  # (N, 2, P): rows, cols
    valid = (y2 > y1) & (x2 > x1)  # (N,)
    covered = inside[:, 0, :, None] & inside[:, 1, None, :] & valid[:, None, None]  # (N, P, P)
    return (~covered).float().unsqueeze(1)  # (N, 1, P, P)


class FeatureDiscriminator(nn.Module):
    """Stage-2 critic on parent feature maps, resized to the background D size (Dis_Dis)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        f = cfg.feature_dim
        self.size = cfg.bg_size
        self.trunk = PatchTrunk(f, (2 * f, 4 * f, 8 * f))
        self.real_fake = nn.Conv2d(8 * f, 1, 4, 1, 0)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(h, size=self.size, mode="bilinear", align_corners=True)
        return self.real_fake(self.trunk(h))  # (N, 1, P, P)


class InfoDiscriminator(nn.Module):
    """Parent or child D: 4x4/s2 conv trunk to 4 px, a code classifier head (the
    information loss) and, for the child D, a real/fake head on final images."""

    def __init__(self, cfg: ModelConfig, num_classes: int, width: int, real_fake: bool) -> None:
        super().__init__()
        n = int(math.log2(cfg.image_size)) - 2
        widths = [width * 2 ** min(i, 3) for i in range(n)]
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 4, 2, 1, bias=False), _lrelu()]
        for a, b in zip(widths, widths[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), _lrelu()]
        last = widths[-1]
        layers += [nn.Conv2d(last, last, 3, 1, 1, bias=False), nn.BatchNorm2d(last), _lrelu()]
        self.trunk = nn.Sequential(*layers)  # (N, last, 4, 4)
        self.code_head = nn.Sequential(
            nn.Conv2d(last, last, 3, 1, 1, bias=False), nn.BatchNorm2d(last), _lrelu(),
            nn.Conv2d(last, num_classes, 4, 4),
        )  # fmt: skip
        self.real_fake = nn.Conv2d(last, 1, 4, 4) if real_fake else None

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) masked foreground -> (N, K) code logits."""
        return self.code_head(self.trunk(x)).flatten(1)

    def real_fake_logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) final image -> (N,) real/fake logits (child D only)."""
        assert self.real_fake is not None, "this discriminator has no real/fake head"
        return self.real_fake(self.trunk(x)).flatten()


class NoisyLinear(nn.Sequential):
    """Linear -> LeakyReLU, then additive Gaussian noise (kept on in eval, as released)."""

    def __init__(self, in_dim: int, out_dim: int, std: float) -> None:
        super().__init__(nn.Linear(in_dim, out_dim), _lrelu())
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = super().forward(x)
        return h + torch.randn_like(h) * self.std


class ImageCodeCritic(nn.Module):
    """One Bi_Dis head: WGAN critic of (image, code) pairs for one factor (BiGAN/ALI style)."""

    def __init__(self, cfg: ModelConfig, code_dim: int) -> None:
        super().__init__()
        w, h = cfg.bd_dim, cfg.bd_code_dim
        n = int(math.log2(cfg.image_size)) - 2
        widths = [w * 2**i for i in range(n)]  # 16..256 at 128 px
        layers: list[nn.Module] = []
        prev = 3
        for width in widths:
            layers += [nn.Conv2d(prev, width, 4, 2, 1), _lrelu()]
            prev = width
        layers += [nn.Conv2d(prev, h, 4, 1, 0), _lrelu()]  # (N, h, 1, 1)
        self.image_branch = nn.Sequential(*layers)
        self.code_branch = nn.Sequential(
            NoisyLinear(code_dim, h, 0.5), NoisyLinear(h, h, 0.3), NoisyLinear(h, h, 0.3)
        )
        self.joint = nn.Sequential(nn.Linear(2 * h, 2 * h), _lrelu(), nn.Linear(2 * h, 1))

    def forward(self, image: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        joint = torch.cat([self.image_branch(image).flatten(1), self.code_branch(code)], dim=1)
        return self.joint(joint).flatten()  # (N,)


class ImageCodeCritics(nn.ModuleDict):
    """The four critics BD_z, BD_b, BD_p, BD_c."""

    def __init__(self, cfg: ModelConfig) -> None:
        dims = {
            "z": cfg.z_dim,
            "b": cfg.num_backgrounds,
            "p": cfg.num_parents,
            "c": cfg.num_children,
        }
        super().__init__({k: ImageCodeCritic(cfg, d) for k, d in dims.items()})
