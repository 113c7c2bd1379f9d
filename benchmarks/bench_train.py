"""Training speed: stage-1 and stage-2 steps/s for both presets in fp32 and bf16 autocast.

Synthetic batches (speed does not depend on the pixels). Also prints where a step spends
its time: backward + update of each optimiser (generator+encoders, critics with their
gradient penalty, discriminators) and the forward passes. The released stage-1 trainer
was measured at 3.4 s per step (paper preset, batch 4, fp32) on the same 2-core CPU;
that figure is an external reference, printed for comparison, not re-measured here.
Run: ``python benchmarks/bench_train.py [--presets demo paper] [--steps 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from engine.config import PRESETS
from engine.train.config import TrainConfig
from engine.train.trainer import Trainer

RELEASED_PAPER_B4_S = 3.4


def _batch(cfg, n: int) -> dict[str, torch.Tensor]:
    s = cfg.image_size
    return {
        "image": torch.rand(n, 3, s, s) * 2 - 1,
        "background": torch.rand(n, 3, s - 2, s - 2) * 2 - 1,
        "box": torch.tensor([[s * 0.3, s * 0.3, s * 0.7, s * 0.7]]).repeat(n, 1),
    }


def time_steps(
    preset: str,
    batch: int,
    precision: str,
    stage: int,
    steps: int,
    breakdown: dict[str, float] | None = None,
) -> float:
    """Median seconds per step after one warm-up step; ``breakdown`` receives time shares
    (backward + update of each optimiser, and everything else)."""
    model = PRESETS[preset]
    cfg = TrainConfig(
        model=model, preset=preset, data=".", batch_size=batch, precision=precision, device="cpu"
    )
    torch.manual_seed(0)
    trainer = Trainer(cfg, torch.device("cpu"))
    data = _batch(model, batch)
    step = trainer.stage1_step if stage == 1 else trainer.stage2_step
    step(data)
    trainer.timings.clear()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step(data)
        times.append(time.perf_counter() - start)
    if breakdown is not None:
        total = sum(times)
        parts = {k: v / total for k, v in trainer.timings.items()}
        parts["forward passes and the rest"] = 1 - sum(parts.values())
        breakdown.update(parts)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=["demo", "paper"])
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print(
        f"{'preset':6} {'batch':>5} {'stage':>5} {'fp32 s/step':>12} {'bf16 s/step':>12} "
        f"{'bf16 speed-up':>14}"
    )
    for preset in args.presets:
        for batch in (4, 12) if preset == "paper" else (16,):
            for stage in (1, 2):
                shares: dict[str, float] = {}
                fp32 = time_steps(preset, batch, "fp32", stage, args.steps, shares)
                bf16 = time_steps(preset, batch, "bf16", stage, args.steps)
                print(
                    f"{preset:6} {batch:5d} {stage:5d} {fp32:12.3f} {bf16:12.3f} "
                    f"{fp32 / bf16:14.2f}"
                )
                print(
                    "  fp32 time: "
                    + ", ".join(
                        f"{k} {v:.0%}" for k, v in sorted(shares.items(), key=lambda kv: -kv[1])
                    )
                )
                if preset == "paper" and batch == 4 and stage == 1:
                    best = min(fp32, bf16)
                    print(
                        f"  released trainer reference: {RELEASED_PAPER_B4_S:.1f} s/step "
                        f"-> ours {RELEASED_PAPER_B4_S / best:.2f}x faster"
                    )


if __name__ == "__main__":
    main()
