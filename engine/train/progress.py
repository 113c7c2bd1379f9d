"""What a run reports: ``TrainProgress`` events for the caller and the logging sink that writes
step figures to metrics.jsonl (and TensorBoard when installed)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainProgress:
    stage: int
    step: int
    total: int
    losses: dict[str, float] = field(default_factory=dict)
    steps_per_s: float = 0.0
    eta_s: float = 0.0
    event: str = "step"  # step | checkpoint | eval | done | stopped


def _tensorboard(run_dir: Path):
    """A TensorBoard writer when the tensorboard package is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


class LogSink:
    """Step figures of a run: one metrics.jsonl row and TensorBoard scalars per logged step,
    written by the main rank only (``write=False`` on the others); a context manager."""

    def __init__(self, run_dir: Path, write: bool) -> None:
        self.metrics = open(run_dir / "metrics.jsonl", "a") if write else None
        self.board = _tensorboard(run_dir) if write else None

    def step(
        self, stage: int, step: int, total: int, losses: dict[str, float], rate: float
    ) -> TrainProgress:
        """Record the losses after ``step`` at ``rate`` steps/s; the event for the caller."""
        progress = TrainProgress(stage, step, total, losses, rate, (total - step) / max(rate, 1e-9))
        if self.metrics is not None:
            row = {"stage": stage, "step": step, "steps_per_s": round(rate, 4)}
            self.metrics.write(json.dumps({**row, **losses}) + "\n")
            self.metrics.flush()
        if self.board is not None:
            for key, value in losses.items():
                self.board.add_scalar(f"stage{stage}/{key}", value, step)
        return progress

    def close(self) -> None:
        if self.metrics is not None:
            self.metrics.close()
        if self.board is not None:
            self.board.close()

    def __enter__(self) -> LogSink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
