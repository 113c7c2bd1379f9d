"""Which torch device to compute on (shared by inference and training)."""

from __future__ import annotations

import torch

from engine.errors import MixNMatchError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto``: CUDA when available, else CPU. Explicit ``cuda`` without CUDA is an error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise MixNMatchError("CUDA was requested but no CUDA device is available")
    return dev
