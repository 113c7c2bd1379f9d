"""The stage runner: the steps of stage 1 (G, D, encoders) or stage 2 (feature extractor EX).

Between steps it polls the abort hook and the stage's deadline; after a step it logs, draws the
sample grid, runs quick evaluations and checkpoints at their intervals.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.data.dataset import CubDataset
from engine.data.loading import make_loader
from engine.errors import MixNMatchError
from engine.train.distributed import agree_to_stop, is_main, sync_buffers
from engine.train.monitor import Monitor
from engine.train.progress import LogSink, TrainProgress
from engine.train.samples import write_sample_grid
from engine.train.state import RunState

log = logging.getLogger(__name__)


class NonFiniteLoss(MixNMatchError):
    """A loss became NaN or infinite."""


def check_finite(losses: dict[str, float], stage: int, step: int) -> None:
    bad = [k for k, v in losses.items() if not math.isfinite(v)]
    if bad:
        raise NonFiniteLoss(
            f"stage {stage} step {step}: non-finite loss ({', '.join(bad)}); "
            "try a lower learning rate or fp32"
        )


@dataclass
class StageRunner:
    """Runs the stage ``state`` is in, from ``state.step`` to the stage's end."""

    state: RunState
    dataset: CubDataset
    sink: LogSink
    fixed: torch.Tensor  # (K, 3, S, S) real images the sample grid reconstructs
    monitor: Monitor | None  # quick evaluations (rank 0, with --eval-every)
    should_stop: Callable[[], bool] | None
    rank: int = 0
    world: int = 1

    def run(self, deadline: float) -> Generator[TrainProgress, None, bool]:
        """Yield the stage's progress; stop at the end, or at ``deadline`` (``time.monotonic``)
        with a checkpoint. Returns False when the abort hook stopped the run (checkpoint saved).
        """
        st, cfg = self.state, self.state.cfg
        stage = st.stage
        total = cfg.steps if stage == 1 else cfg.total_stage2_steps
        update = st.trainer.stage1_step if stage == 1 else st.trainer.stage2_step
        loader = make_loader(
            self.dataset,
            cfg.batch_size,
            cfg.seed,
            stage=stage,
            start_step=st.step,
            workers=cfg.workers,
            rank=self.rank,
            world=self.world,
        )
        batches = iter(loader)
        start, start_step = time.perf_counter(), st.step

        while st.step < total:
            if agree_to_stop(self.should_stop):
                yield st.save(total, "stopped")
                return False
            if agree_to_stop(lambda: time.monotonic() >= deadline):
                if is_main():
                    log.info("time budget: stage %d ends at step %d of %d", stage, st.step, total)
                break
            batch = next(batches)
            try:
                losses = update(batch)
                check_finite(losses, stage, st.step + 1)
            except NonFiniteLoss:
                st.save(total, "checkpoint")
                raise
            st.step += 1
            step = st.step
            sync_buffers(st.trainer)
            if step % cfg.log_every == 0 or step == total:
                rate = (step - start_step) / max(time.perf_counter() - start, 1e-9)
                yield self.sink.step(stage, step, total, losses, rate)
            if is_main() and (step % cfg.sample_every == 0 or step == total):
                self.sample_grid()
            if self.monitor is not None and stage == 1 and step % cfg.eval_every == 0:
                yield self.evaluate()
            if step % cfg.checkpoint_every == 0 or step == total:
                yield st.save(total, "checkpoint")
        if st.step < total:  # ended by the time budget: close the stage properly
            if is_main():
                self.sample_grid()
            yield st.save(total, "checkpoint")
        if stage == 1:
            st.stage1_steps = st.step
            if self.monitor is not None and st.step % cfg.eval_every != 0:
                yield self.evaluate()
        return True

    def sample_grid(self) -> None:
        """samples/s<stage>-<step>.png: reconstructions of the fixed images."""
        st = self.state
        path = Path(st.cfg.out) / "samples" / f"s{st.stage}-{st.step:07d}.png"
        write_sample_grid(st.trainer, self.fixed, path)

    def evaluate(self) -> TrainProgress:
        """A quick evaluation now (the extractor too in stage 2); its event."""
        st = self.state
        per_step = st.cfg.batch_size * self.world
        images_seen = per_step * (st.step if st.stage == 1 else st.stage1_steps + st.step)
        self.monitor.run(st.stage, st.step, images_seen, with_extractor=st.stage == 2)
        return TrainProgress(st.stage, st.step, st.step, event="eval")
