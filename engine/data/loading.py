"""The training data loader, one builder for training and ``mixnmatch-data bench``.

Batches come from ``StepBatchSampler``: a fresh permutation per epoch seeded by (seed, epoch) and
sharded across ranks, so the batch of any step is known in advance and a resumed run sees exactly
the batches it would have seen.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from engine.data.dataset import CubDataset
from engine.errors import DataError, MixNMatchError


class StepBatchSampler(Sampler[list[int]]):
    """Batches for steps ``start..`` : a fresh permutation per epoch seeded by (seed, epoch),
    sharded across ranks, so a resumed run sees exactly the batches it would have seen."""

    def __init__(self, n: int, batch: int, seed: int, start: int, rank: int = 0, world: int = 1):
        self.n, self.batch, self.seed, self.start = n, batch, seed, start
        self.rank, self.world = rank, world
        self.per_epoch = (n // world) // batch
        if self.per_epoch < 1:
            raise MixNMatchError(
                f"dataset has {n} images: too few for batch size {batch} x {world} process(es)"
            )

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start
        while True:
            epoch, offset = divmod(step, self.per_epoch)
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            perm = torch.randperm(self.n, generator=gen)[self.rank :: self.world].tolist()
            for b in range(offset, self.per_epoch):
                yield perm[b * self.batch : (b + 1) * self.batch]
                step += 1

    def __len__(self) -> int:  # effectively infinite; the loop counts steps
        return 2**62


def make_loader(
    dataset: Dataset,
    batch_size: int,
    seed: int = 0,
    *,
    stage: int = 1,
    start_step: int = 0,
    workers: int = 0,
    rank: int = 0,
    world: int = 1,
) -> DataLoader:
    """The loader of a training stage: endless batches from step ``start_step`` on (this rank's
    shard), with order and worker augmentation reproducible for (seed, stage, step, rank).

    Augmentation in the main process (``workers == 0``) draws from ``dataset.generator``, which
    the caller seeds (and a run checkpoints).
    """
    sampler = StepBatchSampler(len(dataset), batch_size, seed + stage, start_step, rank, world)
    # Own generator: creating the iterator must not consume the global RNG (exact resume).
    worker_seed = torch.Generator().manual_seed(seed * 31 + stage * 7 + start_step + rank)
    return DataLoader(dataset, batch_sampler=sampler, num_workers=workers, generator=worker_seed)


def benchmark_loader(
    root: str | os.PathLike, image_size: int, batch_size: int, workers: int, batches: int
) -> float:
    """Samples per second of the training loader (the first batch, worker start-up, excluded)."""
    dataset = CubDataset(root, image_size)
    if len(dataset) < batch_size:
        raise DataError(f"{root}: {len(dataset)} images, fewer than batch size {batch_size}")
    loaded = iter(make_loader(dataset, batch_size, workers=workers))
    next(loaded)
    start = time.perf_counter()
    for _ in range(batches):
        next(loaded)
    elapsed = time.perf_counter() - start
    return batches * batch_size / max(elapsed, 1e-9)
