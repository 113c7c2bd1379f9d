"""The training loop: data, stages, logging, checkpoints, resume, export, distributed.

``iter_train`` yields a ``TrainProgress`` every ``log_every`` steps so a caller (CLI or GUI)
can show progress and stop between steps (``should_stop``); stylegan3-style hooks.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist

from engine.data.dataset import CubDataset
from engine.data.loading import make_loader
from engine.devices import resolve_device
from engine.errors import MixNMatchError
from engine.model_file import save_model
from engine.parts import split_file
from engine.train.checkpoints import (
    check_run_folder,
    list_checkpoints,
    load_latest,
    remove_stale_temporaries,
    run_lock,
    save_checkpoint,
)
from engine.train.config import TrainConfig, check_paths
from engine.train.samples import write_sample_grid
from engine.train.trainer import Trainer

log = logging.getLogger(__name__)


class NonFiniteLoss(MixNMatchError):
    """A loss became NaN or infinite."""


@dataclass
class TrainProgress:
    stage: int
    step: int
    total: int
    losses: dict[str, float] = field(default_factory=dict)
    steps_per_s: float = 0.0
    eta_s: float = 0.0
    event: str = "step"  # step | checkpoint | eval | done | stopped


def _prepare_data(cfg: TrainConfig, run_dir: Path) -> Path:
    if cfg.data is not None:
        return Path(cfg.data)
    from engine.synth import generate_dataset

    kind = "independent" if cfg.independent else "natural"
    cache = run_dir / "cache" / f"synthbirds-{kind}-{cfg.synthetic}-seed{cfg.seed}"
    if not (cache / ".complete").exists():
        if _is_main():
            log.info("generating %d %s SynthBirds images into %s", cfg.synthetic, kind, cache)
            generate_dataset(cache, cfg.synthetic, seed=cfg.seed, independent=cfg.independent)
            (cache / ".complete").write_text("ok\n")
        _barrier()
    return cache


def _is_main() -> bool:
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


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


def _sync_buffers(trainer: Trainer) -> None:
    """Rank 0's BatchNorm running statistics win (as DDP's broadcast_buffers)."""
    if dist.is_available() and dist.is_initialized():
        for net in list(trainer.networks().values()) + [trainer.generator_ema]:
            for buf in net.buffers():
                dist.broadcast(buf, 0)


def _rng_state(dataset: CubDataset) -> dict:
    state = {"torch": torch.get_rng_state()}
    if dataset.generator is not None:
        state["data"] = dataset.generator.get_state()
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, dataset: CubDataset) -> None:
    torch.set_rng_state(state["torch"])
    if "data" in state and dataset.generator is not None:
        dataset.generator.set_state(state["data"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save(
    cfg: TrainConfig,
    trainer: Trainer,
    dataset: CubDataset,
    stage: int,
    step: int,
    total: int,
    event: str,
    stage1_steps: int,
) -> TrainProgress:
    """Checkpoint (rank 0 only) and report it."""
    if _is_main():
        state = {
            "config": cfg.to_dict(),
            "stage": stage,
            "step": step,
            "stage1_steps": stage1_steps,
            "trainer": trainer.state_dict(),
            "rng": _rng_state(dataset),
        }
        save_checkpoint(Path(cfg.out), stage, step, state, cfg.keep_checkpoints)
    return TrainProgress(stage, step, total, event=event)


def prepare_run_dir(cfg: TrainConfig) -> Path:
    """Create RUN_DIR and write the resolved config.json; one clear error if impossible."""
    run_dir = Path(cfg.out)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    except OSError as err:
        raise MixNMatchError(
            f"{run_dir}: cannot write to run folder: {err.strerror or err}"
        ) from None
    return run_dir


def _agree_to_stop(should_stop: Callable[[], bool] | None) -> bool:
    """Poll the abort hook; under torchrun every rank stops at the same step."""
    flag = bool(should_stop is not None and should_stop())
    if dist.is_available() and dist.is_initialized():
        t = torch.tensor([float(flag)])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        flag = bool(t.item())
    return flag


def _tensorboard(run_dir: Path):
    """A TensorBoard writer when the tensorboard package is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


def _check_finite(losses: dict[str, float], stage: int, step: int) -> None:
    bad = [k for k, v in losses.items() if not math.isfinite(v)]
    if bad:
        raise NonFiniteLoss(
            f"stage {stage} step {step}: non-finite loss ({', '.join(bad)}); "
            "try a lower learning rate or fp32"
        )


def _deadlines(cfg: TrainConfig, start: float) -> tuple[float, float]:
    """(end of stage 1, end of the run) in ``time.monotonic`` seconds; inf without a budget."""
    if cfg.time_budget <= 0:
        return math.inf, math.inf
    share = {"1": 0.0, "2": 1.0, "all": cfg.stage2_share}[cfg.stage]
    return start + cfg.time_budget * (1 - share), start + cfg.time_budget


def _start_run_folder(run_dir: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to mix a new run into an old one; with ``overwrite`` remove what a run wrote."""
    check_run_folder(run_dir, resume, overwrite)
    if overwrite and not resume:
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
        shutil.rmtree(run_dir / "samples", ignore_errors=True)
        for name in ("metrics.jsonl", "learning_curves.png"):
            (run_dir / name).unlink(missing_ok=True)
    remove_stale_temporaries(run_dir)


def iter_train(
    cfg: TrainConfig,
    resume: bool = False,
    should_stop: Callable[[], bool] | None = None,
    on_trainer: Callable[[Trainer], None] | None = None,
    overwrite: bool = False,
) -> Iterator[TrainProgress]:
    """Run the configured stages (see ``_iter_train``) holding the run folder's lock."""
    run_dir = Path(cfg.out)
    if int(os.environ.get("RANK", "0")) == 0:  # before torch.distributed is set up
        check_paths(cfg)
        _start_run_folder(run_dir, resume, overwrite)
        with run_lock(run_dir):
            yield from _iter_train(cfg, resume, should_stop, on_trainer)
    else:
        yield from _iter_train(cfg, resume, should_stop, on_trainer)


def _iter_train(
    cfg: TrainConfig,
    resume: bool = False,
    should_stop: Callable[[], bool] | None = None,
    on_trainer: Callable[[Trainer], None] | None = None,
) -> Iterator[TrainProgress]:
    """Run the configured stages, yielding progress; checkpoints and exports on rank 0.

    ``should_stop`` is polled between steps (abort hook); ``on_trainer`` receives the trainer
    once it is built (inspection, tests). With ``cfg.time_budget`` each stage also ends at a
    step boundary when its share of the budget is spent (stage 2 keeps ``stage2_share``); the
    budget counts from the first step (data generated, networks built), evaluations included.
    """
    run_dir = Path(cfg.out)
    rank, world, device = setup_distributed(cfg.device)
    if rank == 0:
        prepare_run_dir(cfg)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 tensor cores for fp32 training
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    trainer = Trainer(cfg, device)
    if on_trainer is not None:
        on_trainer(trainer)
    data_dir = _prepare_data(cfg, run_dir)
    dataset = CubDataset(
        data_dir, cfg.model.image_size, augment=True, cache=cfg.cache_images, skip_bad=cfg.skip_bad
    )
    dataset.generator = torch.Generator().manual_seed(cfg.seed + 1 + rank)
    fixed = torch.stack(
        [
            CubDataset(data_dir, cfg.model.image_size, augment=False, records=dataset.records[:8])[
                i
            ]["image"]
            for i in range(min(8, len(dataset)))
        ]
    )
    monitor = None
    if cfg.eval_every > 0 and _is_main():
        from engine.train.monitor import Monitor

        monitor = Monitor(trainer, run_dir, cfg.eval_data, cfg.eval_pairs)
    torch.manual_seed(cfg.seed + 7919 * rank)  # per-rank code sampling
    stage, step, stage1_steps = (2 if cfg.stage == "2" else 1), 0, cfg.steps
    found = load_latest(run_dir) if resume else None
    if found is not None:
        path, state = found
        saved = state["config"]["model"]
        if saved != cfg.model.to_dict():
            raise MixNMatchError(
                f"{path}: checkpoint model {saved} does not match the "
                f"configured model {cfg.model.to_dict()}"
            )
        trainer.load_state_dict(state["trainer"])
        stage, step = int(state["stage"]), int(state["step"])
        stage1_steps = int(state.get("stage1_steps", cfg.steps))
        if rank == 0:
            _set_rng_state(state["rng"], dataset)
        if _is_main():
            log.info("resumed from %s (stage %d, step %d)", path, stage, step)
    elif resume and _is_main():
        log.warning("no readable checkpoint in %s: starting from step 0", run_dir)
    if found is None and cfg.stage == "2":
        raise MixNMatchError(
            f"{run_dir}: stage 2 needs a stage-1 checkpoint in this run "
            "folder (run stage 1 first, or --stage all)"
        )

    per_step = cfg.batch_size * world
    start_time = time.monotonic()  # the time budget counts from here: data and models are ready
    end_stage1, end_run = _deadlines(cfg, start_time)

    def images_seen(stage: int, step: int) -> int:
        return per_step * (step if stage == 1 else stage1_steps + step)

    def evaluate(stage: int, step: int) -> TrainProgress:
        monitor.run(stage, step, images_seen(stage, step), with_extractor=stage == 2)
        return TrainProgress(stage, step, step, event="eval")

    stages = [1, 2] if cfg.stage == "all" else [int(cfg.stage)]
    metrics = open(run_dir / "metrics.jsonl", "a") if _is_main() else None
    board = _tensorboard(run_dir) if _is_main() else None
    try:
        for current in stages:
            if current < stage:
                continue
            if current > stage:
                stage, step = current, 0
            total = cfg.steps if stage == 1 else cfg.total_stage2_steps
            deadline = end_stage1 if stage == 1 else end_run
            update = trainer.stage1_step if stage == 1 else trainer.stage2_step
            loader = make_loader(
                dataset,
                cfg.batch_size,
                cfg.seed,
                stage=stage,
                start_step=step,
                workers=cfg.workers,
                rank=rank,
                world=world,
            )
            batches = iter(loader)
            start, start_step = time.perf_counter(), step

            while step < total:
                if _agree_to_stop(should_stop):
                    yield _save(cfg, trainer, dataset, stage, step, total, "stopped", stage1_steps)
                    return
                if _agree_to_stop(lambda d=deadline: time.monotonic() >= d):
                    if _is_main():
                        log.info("time budget: stage %d ends at step %d of %d", stage, step, total)
                    break
                batch = next(batches)
                try:
                    losses = update(batch)
                    _check_finite(losses, stage, step + 1)
                except NonFiniteLoss:
                    _save(cfg, trainer, dataset, stage, step, total, "checkpoint", stage1_steps)
                    raise
                step += 1
                _sync_buffers(trainer)
                if step % cfg.log_every == 0 or step == total:
                    rate = (step - start_step) / max(time.perf_counter() - start, 1e-9)
                    progress = TrainProgress(
                        stage, step, total, losses, rate, (total - step) / max(rate, 1e-9)
                    )
                    if metrics is not None:
                        row = {"stage": stage, "step": step, "steps_per_s": round(rate, 4)}
                        metrics.write(json.dumps({**row, **losses}) + "\n")
                        metrics.flush()
                    if board is not None:
                        for key, value in losses.items():
                            board.add_scalar(f"stage{stage}/{key}", value, step)
                    yield progress
                if _is_main() and (step % cfg.sample_every == 0 or step == total):
                    write_sample_grid(
                        trainer, fixed, run_dir / "samples" / f"s{stage}-{step:07d}.png"
                    )
                if monitor is not None and stage == 1 and step % cfg.eval_every == 0:
                    yield evaluate(stage, step)
                if step % cfg.checkpoint_every == 0 or step == total:
                    yield _save(
                        cfg, trainer, dataset, stage, step, total, "checkpoint", stage1_steps
                    )
            if step < total:  # ended by the time budget: close the stage properly
                if _is_main():
                    write_sample_grid(
                        trainer, fixed, run_dir / "samples" / f"s{stage}-{step:07d}.png"
                    )
                yield _save(cfg, trainer, dataset, stage, step, total, "checkpoint", stage1_steps)
            if stage == 1:
                stage1_steps = step
                if monitor is not None and step % cfg.eval_every != 0:
                    yield evaluate(stage, step)
        if monitor is not None and stage == 2:
            yield evaluate(stage, step)
        if _is_main():
            ran_stage2 = 2 in stages and stage == 2
            export(cfg, trainer, stage1_steps if 1 in stages else 0, step if ran_stage2 else 0)
            for old in list_checkpoints(run_dir)[:-1]:  # a finished run keeps one checkpoint
                old.unlink(missing_ok=True)
            if monitor is not None:
                spent = time.monotonic() - start_time
                log.info(
                    "quick evaluations took %.0f s of %.0f s (%.1f%%)",
                    monitor.seconds, spent, 100 * monitor.seconds / max(spent, 1e-9),
                )  # fmt: skip
        yield TrainProgress(stage, step, step, event="done")
    finally:
        if metrics is not None:
            metrics.close()
        if board is not None:
            board.close()


def export(
    cfg: TrainConfig, trainer: Trainer, steps: int, stage2_steps: int, path: Path | None = None
) -> Path:
    """Write the inference model file: EMA generator, encoders, and EX when stage 2 ran."""
    path = path or (Path(cfg.export) if cfg.export else Path(cfg.out) / "model.safetensors")
    nets = trainer.inference_networks()
    if stage2_steps <= 0:
        nets.pop("extractor")
    if cfg.export_dtype == "float16":  # half the file; the loader upcasts to float32
        nets = {k: copy.deepcopy(v).half() for k, v in nets.items()}
    kind = "independent" if cfg.independent else "natural"
    trained_on = cfg.data or f"SynthBirds {kind}, {cfg.synthetic} images, seed {cfg.seed}"
    info = {
        "name": path.stem,
        "preset": cfg.preset,
        "trained_on": trained_on,
        "steps": steps,
        "stage2_steps": stage2_steps,
        "seed": cfg.seed,
        "batch_size": cfg.batch_size,
        "precision": cfg.precision,
        "weights_dtype": cfg.export_dtype,
    }
    save_model(path, cfg.model, nets, info)
    if cfg.export_parts_mb > 0:
        split_file(path, cfg.export_parts_mb)
    return path


def export_checkpoint(run_dir: str | Path, path: str | Path | None = None) -> Path:
    """Export the inference model from the newest checkpoint of a run (on demand)."""
    found = load_latest(Path(run_dir))
    if found is None:
        raise MixNMatchError(f"{run_dir}: no readable checkpoint to export")
    _, state = found
    cfg = TrainConfig.from_dict(state["config"])
    trainer = Trainer(cfg, torch.device("cpu"))
    trainer.load_state_dict(state["trainer"])
    stage, step = int(state["stage"]), int(state["step"])
    stage1 = int(state.get("stage1_steps", cfg.steps))
    steps, stage2 = (step, 0) if stage == 1 else (stage1, step)
    return export(
        cfg, trainer, steps, stage2, Path(path) if path else Path(run_dir) / "model.safetensors"
    )


def train(
    cfg: TrainConfig, resume: bool = False, progress: Callable[[TrainProgress], None] | None = None
) -> TrainProgress:
    last = TrainProgress(0, 0, 0)
    for last in iter_train(cfg, resume=resume):
        if progress is not None:
            progress(last)
    return last
