"""Loss terms of MixNMatch stage 1 (docs/method.md: Stage 1), on logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bce(logits: torch.Tensor, target: float | torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy on logits against a constant or a tensor target."""
    if not isinstance(target, torch.Tensor):
        target = torch.full_like(logits, float(target))
    return F.binary_cross_entropy_with_logits(logits, target)


def masked_real_bce(logits: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Background D on real patches: only patches away from the object box count.

    Per-patch BCE(real) * weight, averaged over all patches, rescaled by
    #all / #unmasked patches over the batch.
    """
    per_patch = F.binary_cross_entropy_with_logits(
        logits, torch.ones_like(logits), reduction="none"
    )
    return (per_patch * weight).mean() * (weight.numel() / weight.sum().clamp(min=1.0))


def gradient_penalty(
    critics: torch.nn.ModuleDict,
    real_image: torch.Tensor,
    real_codes: dict[str, torch.Tensor],
    fake_image: torch.Tensor,
    fake_codes: dict[str, torch.Tensor],
) -> torch.Tensor:
    """WGAN-GP on (image, code) pairs: per-sample mixes (one alpha per input) and, per critic,
    separate unit-norm penalties on the image gradient and on its code gradient."""
    n = real_image.shape[0]

    def mix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        alpha = torch.rand(n, *[1] * (a.dim() - 1), device=a.device, dtype=a.dtype)
        return (a * alpha + b * (1 - alpha)).detach()

    image_hat = mix(real_image, fake_image)
    images, codes, total = [], [], 0
    for k, critic in critics.items():
        img = image_hat.clone().requires_grad_(True)  # own leaf: per-critic image gradient
        code = mix(real_codes[k], fake_codes[k]).requires_grad_(True)
        total = total + critic(img, code).sum()
        images.append(img)
        codes.append(code)
    grads = torch.autograd.grad(total, images + codes, create_graph=True)
    penalty = 0
    for g in grads:
        norm = (g.flatten(1).pow(2).sum(1) + 1e-16).sqrt()
        penalty = penalty + (norm - 1).pow(2).mean()
    return penalty


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CE with class-index targets, or soft-label CE when targets are probability vectors."""
    if target.dim() == 1:
        return F.cross_entropy(logits, target)
    return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()


def mask_area_prior(mask: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Hinge on each mask's mean area (N, 1, S, S): zero while low <= area <= high.

    Not in the released method (an option): keeps a foreground layer from covering the whole
    frame (painting the background) or vanishing.
    """
    area = mask.float().mean(dim=(1, 2, 3))  # (N,)
    return (F.relu(area - high) + F.relu(low - area)).mean()
