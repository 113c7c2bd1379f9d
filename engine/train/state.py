"""A run's resumable state: where it stands (stage, step, length of stage 1) and what a checkpoint
holds (config, trainer weights and optimisers, random-generator states), so a resumed run
continues bit-exactly where it stopped."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.errors import MixNMatchError
from engine.train.checkpoints import load_latest, save_checkpoint
from engine.train.config import TrainConfig
from engine.train.distributed import is_main
from engine.train.progress import TrainProgress
from engine.train.trainer import Trainer

log = logging.getLogger(__name__)


@dataclass
class RunState:
    """The trainer, its place in the run, and the generator of main-process augmentation."""

    cfg: TrainConfig
    trainer: Trainer
    data_rng: torch.Generator | None  # CubDataset.generator: augmentation without loader workers
    stage: int
    step: int
    stage1_steps: int  # steps stage 1 ran (its share of a time budget may end it early)

    @classmethod
    def begin(
        cls,
        cfg: TrainConfig,
        trainer: Trainer,
        data_rng: torch.Generator | None,
        resume: bool,
        rank: int,
    ) -> RunState:
        """A fresh run, or with ``resume`` the newest readable checkpoint's state."""
        run_dir = Path(cfg.out)
        state = cls(cfg, trainer, data_rng, 2 if cfg.stage == "2" else 1, 0, cfg.steps)
        found = load_latest(run_dir) if resume else None
        if found is not None:
            state.restore(*found, rank)
        elif resume and is_main():
            log.warning("no readable checkpoint in %s: starting from step 0", run_dir)
        if found is None and cfg.stage == "2":
            raise MixNMatchError(
                f"{run_dir}: stage 2 needs a stage-1 checkpoint in this run "
                "folder (run stage 1 first, or --stage all)"
            )
        return state

    def restore(self, path: Path, saved: dict, rank: int) -> None:
        """Continue from checkpoint ``saved`` (read from ``path``) if it holds the same model."""
        model = saved["config"]["model"]
        if model != self.cfg.model.to_dict():
            raise MixNMatchError(
                f"{path}: checkpoint model {model} does not match the "
                f"configured model {self.cfg.model.to_dict()}"
            )
        self.trainer.load_state_dict(saved["trainer"])
        self.stage, self.step = int(saved["stage"]), int(saved["step"])
        self.stage1_steps = int(saved.get("stage1_steps", self.cfg.steps))
        if rank == 0:
            self._set_rng_state(saved["rng"])
        if is_main():
            log.info("resumed from %s (stage %d, step %d)", path, self.stage, self.step)

    def rng_state(self) -> dict:
        """torch's global RNG, the augmentation generator and the CUDA RNGs."""
        state = {"torch": torch.get_rng_state()}
        if self.data_rng is not None:
            state["data"] = self.data_rng.get_state()
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def _set_rng_state(self, state: dict) -> None:
        torch.set_rng_state(state["torch"])
        if "data" in state and self.data_rng is not None:
            self.data_rng.set_state(state["data"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])

    def save(self, total: int, event: str) -> TrainProgress:
        """Checkpoint (rank 0 only) and report it."""
        if is_main():
            checkpoint = {
                "config": self.cfg.to_dict(),
                "stage": self.stage,
                "step": self.step,
                "stage1_steps": self.stage1_steps,
                "trainer": self.trainer.state_dict(),
                "rng": self.rng_state(),
            }
            save_checkpoint(
                Path(self.cfg.out), self.stage, self.step, checkpoint, self.cfg.keep_checkpoints
            )
        return TrainProgress(self.stage, self.step, total, event=event)
