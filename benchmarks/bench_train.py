"""Training speed: today's settings against the fast CPU settings, side by side in one run.

Every configuration gets its own Trainer on synthetic batches (speed does not depend on the
pixels), and their steps are interleaved in the same process: each round runs one step of
today's settings (demo preset, batch 16, fp32, gradient penalty every step, eager) and one
step of each other configuration, alternating which goes first, for as many steps as the
longest lazy-penalty cycle (``gp_every``), so penalty steps and plain steps are both counted.
Each round gives images/s for every configuration; the ratios to today's settings are per
round, and the medians are printed.
Interleaving keeps the comparison fair when other processes load the machine (absolute
images/s are then depressed; the ratios hold better). Compile time (``--compile``) is
reported separately and excluded from images/s.

Run: ``python benchmarks/bench_train.py [--quick] [--cpu-preset] [--compile] [--threads 2]``;
``--table`` prints the older per-preset table (fp32 vs bf16, stage 1 and 2, time shares).
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
TODAY = {"batch_size": 16, "gp_every": 1, "compile": False}
# --cpu-preset: the cpu preset (the demo model at half width) at today's and the fast settings.


def _batch(cfg, n: int) -> dict[str, torch.Tensor]:
    s = cfg.image_size
    return {
        "image": torch.rand(n, 3, s, s) * 2 - 1,
        "background": torch.rand(n, 3, s - 2, s - 2) * 2 - 1,
        "box": torch.tensor([[s * 0.3, s * 0.3, s * 0.7, s * 0.7]]).repeat(n, 1),
    }


def _trainer(preset: str, **options) -> tuple[Trainer, dict]:
    model = PRESETS[preset]
    cfg = TrainConfig(model=model, preset=preset, data=".", device="cpu", **options)
    torch.manual_seed(0)
    return Trainer(cfg, torch.device("cpu")), _batch(model, cfg.batch_size)


def configurations(args) -> dict[str, dict]:
    """Name -> TrainConfig options; the first is today's settings."""
    k, b = args.gp_every, args.batch_size
    confs = {"today (batch 16, GP every step)": dict(TODAY)}
    if not args.quick:  # what each change gives on its own
        confs[f"lazy GP every {k}"] = {**TODAY, "gp_every": k}
        confs[f"batch {b}"] = {**TODAY, "batch_size": b}
    confs[f"fast: batch {b}, GP every {k}"] = {**TODAY, "batch_size": b, "gp_every": k}
    if args.compile:
        confs["fast + compile"] = {"batch_size": b, "gp_every": k, "compile": True}
    if args.cpu_preset:
        confs["cpu preset, batch 16"] = {**TODAY, "preset": "cpu"}
        confs[f"cpu preset, batch {b}, GP every {k}"] = {
            **confs[f"fast: batch {b}, GP every {k}"],
            "preset": "cpu",
        }
    return confs


def compare(args) -> None:
    confs = configurations(args)
    runs = {}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    for name, options in confs.items():
        trainer, batch = _trainer(**{"preset": "demo", **options})
        start = time.perf_counter()
        for _ in range(2 if options["compile"] else 1):  # warm-up (and compilation)
            trainer.stage1_step(batch)
        warm = time.perf_counter() - start
        if options["compile"]:
            print(f"  {name}: compile + 2 warm-up steps {warm:.0f} s (not counted below)")
        runs[name] = (trainer, batch, options)
    names = list(confs)
    cycle = max(options["gp_every"] for options in confs.values())
    rates: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        elapsed = dict.fromkeys(names, 0.0)
        for i in range(cycle):  # one step of each configuration in turn, order alternating
            for name in names if (r * cycle + i) % 2 == 0 else names[::-1]:
                trainer, batch, _ = runs[name]
                start = time.perf_counter()
                trainer.stage1_step(batch)
                elapsed[name] += time.perf_counter() - start
        for name in names:
            rates[name].append(cycle * runs[name][2]["batch_size"] / elapsed[name])
        print(
            f"  round {r + 1}/{args.rounds}: "
            + ", ".join(f"{rates[n][-1]:.1f}" for n in names)
            + " images/s",
            flush=True,
        )
    base = rates[names[0]]
    print(f"\n{'configuration':36} {'images/s':>9} {'ratio to today':>15} {'(range)':>14}")
    for name in names:
        ratios = [a / b for a, b in zip(rates[name], base)]
        print(
            f"{name:36} {statistics.median(rates[name]):9.1f} {statistics.median(ratios):15.2f}"
            f"   ({min(ratios):.2f}-{max(ratios):.2f})"
        )
    print(f"(medians over {args.rounds} interleaved rounds; ratio = per-round images/s ratio)")


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
    trainer, data = _trainer(preset, batch_size=batch, precision=precision)
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


def table(args) -> None:
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="today vs fast only, 6 rounds")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 6 quick, 12 full)")
    p.add_argument("--batch-size", type=int, default=32, help="fast settings' batch size")
    p.add_argument("--gp-every", type=int, default=4, help="fast settings' lazy GP interval")
    p.add_argument("--compile", action="store_true", help="also fast settings + torch.compile")
    p.add_argument(
        "--cpu-preset", action="store_true", help="also the cpu preset (half width), both settings"
    )
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--table", action="store_true", help="the older per-preset table instead")
    p.add_argument("--presets", nargs="+", default=["demo", "paper"], help="with --table")
    p.add_argument("--steps", type=int, default=5, help="with --table: timed steps")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.table:
        table(args)
        return
    args.rounds = args.rounds or (6 if args.quick else 12)
    compare(args)


if __name__ == "__main__":
    main()
