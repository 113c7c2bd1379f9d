"""The training run: set-up, the stages in order, resume, time budget, export, distributed.

``iter_train`` yields a ``TrainProgress`` every ``log_every`` steps so a caller (CLI or GUI)
can show progress and stop between steps (``should_stop``); stylegan3-style hooks. The steps of
a stage run in ``engine.train.stages``, checkpoints and RNG states live in ``engine.train.state``
and step figures go through ``engine.train.progress``.
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
from pathlib import Path

import torch

from engine.data.dataset import CubDataset
from engine.errors import MixNMatchError
from engine.model_file import save_model
from engine.parts import split_file
from engine.train.checkpoints import (
    check_run_folder,
    list_checkpoints,
    load_latest,
    remove_stale_temporaries,
    run_lock,
)
from engine.train.config import TrainConfig, check_paths
from engine.train.distributed import barrier, is_main, setup_distributed
from engine.train.monitor import Monitor
from engine.train.progress import LogSink, TrainProgress
from engine.train.stages import StageRunner
from engine.train.state import RunState
from engine.train.trainer import Trainer

log = logging.getLogger(__name__)

_is_main = is_main  # the name engine.cli.train imports


def _prepare_data(cfg: TrainConfig, run_dir: Path) -> Path:
    if cfg.data is not None:
        return Path(cfg.data)
    from engine.synth import generate_dataset

    kind = "independent" if cfg.independent else "natural"
    cache = run_dir / "cache" / f"synthbirds-{kind}-{cfg.synthetic}-seed{cfg.seed}"
    if not (cache / ".complete").exists():
        if is_main():
            log.info("generating %d %s SynthBirds images into %s", cfg.synthetic, kind, cache)
            generate_dataset(cache, cfg.synthetic, seed=cfg.seed, independent=cfg.independent)
            (cache / ".complete").write_text("ok\n")
        barrier()
    return cache


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
    fixed = _fixed_images(data_dir, cfg.model.image_size, dataset)
    monitor = None
    if cfg.eval_every > 0 and is_main():
        monitor = Monitor(trainer, run_dir, cfg.eval_data, cfg.eval_pairs)
    torch.manual_seed(cfg.seed + 7919 * rank)  # per-rank code sampling
    state = RunState.begin(cfg, trainer, dataset.generator, resume, rank)

    start_time = time.monotonic()  # the time budget counts from here: data and models are ready
    end_stage1, end_run = _deadlines(cfg, start_time)
    stages = [1, 2] if cfg.stage == "all" else [int(cfg.stage)]
    with LogSink(run_dir, write=is_main()) as sink:
        runner = StageRunner(state, dataset, sink, fixed, monitor, should_stop, rank, world)
        for current in stages:
            if current < state.stage:
                continue
            if current > state.stage:
                state.stage, state.step = current, 0
            finished = yield from runner.run(end_stage1 if state.stage == 1 else end_run)
            if not finished:
                return
        if monitor is not None and state.stage == 2:
            yield runner.evaluate()
        if is_main():
            ran_stage2 = 2 in stages and state.stage == 2
            stage1_steps = state.stage1_steps if 1 in stages else 0
            export(cfg, trainer, stage1_steps, state.step if ran_stage2 else 0)
            for old in list_checkpoints(run_dir)[:-1]:  # a finished run keeps one checkpoint
                old.unlink(missing_ok=True)
            if monitor is not None:
                spent = time.monotonic() - start_time
                log.info(
                    "quick evaluations took %.0f s of %.0f s (%.1f%%)",
                    monitor.seconds, spent, 100 * monitor.seconds / max(spent, 1e-9),
                )  # fmt: skip
        yield TrainProgress(state.stage, state.step, state.step, event="done")


def _fixed_images(data_dir: Path, image_size: int, dataset: CubDataset) -> torch.Tensor:
    """(K, 3, S, S) centre crops of the first K <= 8 images, reconstructed by the sample grid."""
    first = CubDataset(data_dir, image_size, augment=False, records=dataset.records[:8])
    return torch.stack([first[i]["image"] for i in range(min(8, len(dataset)))])


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
    if cfg.data:  # the folder's name only: a model file never records the trainer's paths
        data = Path(cfg.data)
        synth = (data / "factors.csv").is_file()
        trained_on = f"SynthBirds folder {data.name}" if synth else f"folder {data.name}"
    else:
        trained_on = f"SynthBirds {kind}, {cfg.synthetic} images, seed {cfg.seed}"
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
