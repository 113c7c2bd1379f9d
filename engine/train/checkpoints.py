"""Resumable training checkpoints: atomic writes, the last few kept, corrupt ones skipped.

Files hold only tensors, numbers, strings and containers, so they load with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import torch

from engine.errors import MixNMatchError

log = logging.getLogger(__name__)
_NAME = re.compile(r"^ckpt-s([12])-(\d{7})\.pt$")


def checkpoint_path(run_dir: Path, stage: int, step: int) -> Path:
    return run_dir / "checkpoints" / f"ckpt-s{stage}-{step:07d}.pt"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoints oldest first (stage, then step)."""
    folder = run_dir / "checkpoints"
    found = []
    for p in folder.glob("ckpt-s*.pt") if folder.is_dir() else []:
        m = _NAME.match(p.name)
        if m:
            found.append(((int(m.group(1)), int(m.group(2))), p))
    return [p for _, p in sorted(found)]


def save_checkpoint(run_dir: Path, stage: int, step: int, state: dict, keep: int) -> Path:
    """Write to a temporary file, fsync, rename; then prune to the newest ``keep``."""
    path = checkpoint_path(run_dir, stage, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise MixNMatchError(f"{path}: cannot write checkpoint: {err.strerror or err}") from None
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return path


def load_latest(run_dir: Path) -> tuple[Path, dict] | None:
    """Newest checkpoint that loads; a corrupt newest one falls back to the previous."""
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # truncated / corrupt file: try the previous one
            log.warning("checkpoint %s is unreadable (%s); trying the previous one", path, err)
    return None
