"""Latent codes: z (pose/noise), b (background), p (parent = shape), c (child = texture).

FineGAN ties codes during training: p = parent of c (consecutive blocks of children share a
parent) and b = c. Encoders are trained on untied, independently sampled codes
(docs/method.md: Codes).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.config import ModelConfig


@dataclass
class Codes:
    """A batch of generator inputs; b, p, c are one-hot or soft probability vectors."""

    z: torch.Tensor  # (N, z_dim)
    b: torch.Tensor  # (N, Nb)
    p: torch.Tensor  # (N, Np)
    c: torch.Tensor  # (N, Nc)


def child_to_parent(c_index: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """Parent index of each child index: floor(c / (Nc / Np)), in exact integer arithmetic."""
    return (c_index * cfg.num_parents) // cfg.num_children


def sample_tied(
    cfg: ModelConfig, n: int, device: torch.device, generator: torch.Generator | None = None
) -> tuple[Codes, torch.Tensor]:
    """FineGAN's tied codes: random child c, p = parent(c), b = c. Returns codes and c indices."""
    z = torch.randn(n, cfg.z_dim, device=device, generator=generator)
    c_idx = torch.randint(cfg.num_children, (n,), device=device, generator=generator)
    p_idx = child_to_parent(c_idx, cfg)
    b_idx = c_idx % cfg.num_backgrounds
    codes = Codes(
        z,
        F.one_hot(b_idx, cfg.num_backgrounds).float(),
        F.one_hot(p_idx, cfg.num_parents).float(),
        F.one_hot(c_idx, cfg.num_children).float(),
    )
    return codes, c_idx


def sample_untied(
    cfg: ModelConfig, n: int, device: torch.device, generator: torch.Generator | None = None
) -> tuple[Codes, dict[str, torch.Tensor]]:
    """Independent z, b, p, c (for encoder training). Returns codes and their class indices."""
    z = torch.randn(n, cfg.z_dim, device=device, generator=generator)
    idx = {
        "b": torch.randint(cfg.num_backgrounds, (n,), device=device, generator=generator),
        "p": torch.randint(cfg.num_parents, (n,), device=device, generator=generator),
        "c": torch.randint(cfg.num_children, (n,), device=device, generator=generator),
    }
    codes = Codes(
        z,
        F.one_hot(idx["b"], cfg.num_backgrounds).float(),
        F.one_hot(idx["p"], cfg.num_parents).float(),
        F.one_hot(idx["c"], cfg.num_children).float(),
    )
    return codes, idx


def soft_codes(outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Encoder outputs -> generator inputs: z as is, b, p and c logits -> probabilities."""
    return {k: soft_code(k, v) for k, v in outputs.items()}


def soft_code(factor: str, output: torch.Tensor) -> torch.Tensor:
    """One encoder output (N, K) as a generator input (softmax unless it is z)."""
    return output if factor == "z" else output.softmax(dim=1)
