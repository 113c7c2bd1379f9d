"""Several processes under torchrun: setup, rank 0's role, and the agreements between ranks.

Without torchrun (or ``torch.distributed`` not initialised) every helper acts as the one process.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
import torch.distributed as dist

from engine.devices import resolve_device
from engine.train.trainer import Trainer


def setup_distributed(device: str) -> tuple[int, int, torch.device]:
    """Under torchrun (WORLD_SIZE > 1): NCCL on CUDA, gloo on CPU. Returns rank, world, device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, resolve_device(device)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return dist.get_rank(), world, dev


def is_main() -> bool:
    """True on rank 0 (and in a single process): the rank that writes files."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def sync_buffers(trainer: Trainer) -> None:
    """Rank 0's BatchNorm running statistics win (as DDP's broadcast_buffers)."""
    if dist.is_available() and dist.is_initialized():
        for net in list(trainer.networks().values()) + [trainer.generator_ema]:
            for buf in net.buffers():
                dist.broadcast(buf, 0)


def agree_to_stop(should_stop: Callable[[], bool] | None) -> bool:
    """Poll the abort hook; under torchrun every rank stops at the same step."""
    flag = bool(should_stop is not None and should_stop())
    if dist.is_available() and dist.is_initialized():
        t = torch.tensor([float(flag)])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        flag = bool(t.item())
    return flag
