"""Weight initialisation of the released code: orthogonal convs/linears, BN ~ N(1, 0.02)."""

from __future__ import annotations

from torch import nn


def init_weights(module: nn.Module) -> None:
    """Apply to every sub-module with ``net.apply(init_weights)``."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.orthogonal_(module.weight, 1.0)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
