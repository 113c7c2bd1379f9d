"""Resumable training checkpoints: atomic writes, the last few kept, corrupt ones skipped;
plus the run-folder guards (refuse to mix two runs, exclusive lock).

Files hold only tensors, numbers, strings and containers, so they load with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from pathlib import Path

import torch

from engine.errors import MixNMatchError

log = logging.getLogger(__name__)
_NAME = re.compile(r"^ckpt-s([12])-(\d{7})\.pt$")
_STATE_KEYS = ("config", "stage", "step", "trainer", "rng")
_TRAINER_KEYS = ("nets", "generator_ema", "optimizers")
_RUN_FILES = ("config.json", "metrics.jsonl", "model.safetensors")


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
    """Write to a temporary file of this writer, fsync, rename; then prune to the newest
    ``keep`` that are not newer than this one (never a checkpoint ahead of the current run).

    Any failure (``OSError``, or torch's ``RuntimeError`` on a full disk) is one
    MixNMatchError line, and the temporary file is always removed."""
    path = checkpoint_path(run_dir, stage, step)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except Exception as err:  # noqa: BLE001 - any write failure is reported in one line
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        reason = (reason.strip().splitlines() or [type(err).__name__])[-1]
        raise MixNMatchError(f"{path}: cannot write checkpoint: {reason}") from None
    finally:
        tmp.unlink(missing_ok=True)
    older = [p for p in list_checkpoints(run_dir) if _key(p) <= (stage, step)]
    for old in older[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return path


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete checkpoint temporaries left by a killed writer (call while holding the run lock)."""
    folder = run_dir / "checkpoints"
    stale = list(folder.glob(".ckpt-s*.tmp")) + list(folder.glob("ckpt-s*.pt.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _key(path: Path) -> tuple[int, int]:
    m = _NAME.match(path.name)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def check_state(state: object) -> str | None:
    """Why a loaded checkpoint cannot be resumed from (wrong structure), or None."""
    if not isinstance(state, dict):
        return "not a training checkpoint"
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        return f"not a training checkpoint (missing {', '.join(missing)})"
    config, trainer = state["config"], state["trainer"]
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        return "checkpoint without a model config"
    if not isinstance(trainer, dict) or not all(k in trainer for k in _TRAINER_KEYS):
        return "checkpoint without network and optimizer states"
    if state["stage"] not in (1, 2) or not isinstance(state["step"], int) or state["step"] < 0:
        return f"checkpoint with an impossible stage/step ({state['stage']}, {state['step']})"
    return None


def load_latest(run_dir: Path) -> tuple[Path, dict] | None:
    """Newest checkpoint that loads and has the right structure; a corrupt newest one falls
    back to the previous. None when there is none (the caller says so)."""
    for path in reversed(list_checkpoints(run_dir)):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # truncated / corrupt file: try the previous one
            log.warning("checkpoint %s is unreadable (%s); trying the previous one", path, err)
            continue
        problem = check_state(state)
        if problem is None:
            return path, state
        log.warning("checkpoint %s: %s; trying the previous one", path, problem)
    return None


@contextlib.contextmanager
def run_lock(run_dir: Path):
    """Hold an exclusive lock on a run folder while a run writes to it; a second run into the
    same folder gets one clear error instead of interleaving files."""
    import fcntl

    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise MixNMatchError(
                f"{run_dir}: another training run is writing to this folder"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def check_run_folder(run_dir: Path, resume: bool, overwrite: bool = False) -> None:
    """Refuse to start a new run in a folder that already holds one (unless ``resume`` or
    ``overwrite``): its checkpoints, config and metrics would be mixed with the new run's."""
    if resume or overwrite or not run_dir.is_dir():
        return
    earlier = [n for n in _RUN_FILES if (run_dir / n).exists()] + [
        p.name for p in list_checkpoints(run_dir)[-1:]
    ]
    if earlier:
        raise MixNMatchError(
            f"{run_dir}: already holds a run ({', '.join(earlier)}); use --resume to continue "
            "it, or choose a new --out"
        )
