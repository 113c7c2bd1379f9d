"""``mixnmatch-train``: train MixNMatch stage 1 and/or stage 2 and export the model file.

Any option may come from ``--config FILE.toml`` (keys as the long option names, with
underscores); command-line options win. The resolved config is printed and saved to
RUN_DIR/config.json. Runs under ``torchrun --nproc_per_node=N`` for data-parallel training.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import threading
import time
import tomllib
from pathlib import Path

from engine.cli.common import Parser, UsageError, run_main
from engine.cli.options import add_threads_argument
from engine.config import PRESETS, preset

PROG = "mixnmatch-train"
CLI_DEFAULTS = {"preset": "demo"}  # every other default is TrainConfig's
RUN_FLAGS = ("resume", "dry_run", "quiet", "export_only", "overwrite", "config", "threads")


def build_parser() -> Parser:
    p = Parser(
        prog=PROG,
        description="Train MixNMatch (stage 1: generator + encoders; "
        "stage 2: feature extractor) on a CUB-format folder or on SynthBirds.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", metavar="DIR", help="CUB-format training folder")
    src.add_argument(
        "--synthetic",
        type=int,
        metavar="N",
        help="generate N SynthBirds images (natural mode) into the run's cache",
    )
    p.add_argument(
        "--independent",
        action="store_true",
        default=None,
        help="with --synthetic: draw every factor independently (no habitat preference)",
    )
    p.add_argument("--preset", choices=sorted(PRESETS), help="model size")
    p.add_argument("--num-parents", type=int, metavar="N", help="shape categories (preset's)")
    p.add_argument("--num-children", type=int, metavar="N", help="texture categories (preset's)")
    p.add_argument("--out", metavar="RUN_DIR", help="run folder (checkpoints, samples, logs)")
    p.add_argument("--stage", choices=["1", "2", "all"], help="which stages to run")
    p.add_argument("--steps", type=int, metavar="N", help="stage-1 steps")
    p.add_argument("--stage2-steps", type=int, metavar="N", help="stage-2 steps (0: steps/4)")
    p.add_argument("--batch-size", type=int, metavar="N", help="images per step")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="auto: CUDA when present")
    p.add_argument("--precision", choices=["fp32", "bf16"], help="bf16: autocast")
    p.add_argument("--seed", type=int, metavar="S", help="random seed")
    p.add_argument("--checkpoint-every", type=int, metavar="K", help="steps between checkpoints")
    p.add_argument("--sample-every", type=int, metavar="K", help="steps between sample grids")
    p.add_argument("--log-every", type=int, metavar="K", help="steps between metrics rows")
    p.add_argument("--workers", type=int, metavar="K", help="data-loader worker processes")
    p.add_argument(
        "--cache-images",
        action="store_true",
        default=None,
        help="keep decoded images in memory (small datasets)",
    )
    p.add_argument(
        "--skip-bad",
        action="store_true",
        default=None,
        help="skip and report bad images instead of refusing the data",
    )
    p.add_argument(
        "--time-budget",
        type=parse_duration,
        metavar="DURATION",
        help="stop at a step boundary when spent (e.g. 45m, 1h30m, 600s; 0: none); "
        "stage 2 keeps --stage2-share of it",
    )
    p.add_argument(
        "--stage2-share", type=float, metavar="F", help="share of the time budget for stage 2"
    )
    p.add_argument("--eval-every", type=int, metavar="K", help="quick evaluation every K steps")
    p.add_argument(
        "--eval-data", metavar="DIR", help="independent SynthBirds validation folder for them"
    )
    p.add_argument("--eval-pairs", type=int, metavar="N", help="quadruples per quick evaluation")
    p.add_argument(
        "--mask-prior-weight",
        type=float,
        metavar="W",
        help="weight of the mask-area hinge (not in the released method; 0 = off)",
    )
    p.add_argument("--mask-max-area", type=float, metavar="F", help="largest mask area allowed")
    p.add_argument("--mask-min-area", type=float, metavar="F", help="smallest mask area allowed")
    p.add_argument(
        "--background-info-weight",
        type=float,
        metavar="W",
        help="weight of an info loss that makes b recoverable from the background image "
        "(not in the released method; 0 = off)",
    )
    p.add_argument(
        "--parent-info",
        choices=["masked_foreground", "mask"],
        help="what the parent code classifier sees (released: masked_foreground; mask: the "
        "parent mask alone, so p can only describe the silhouette)",
    )
    p.add_argument(
        "--gp-every",
        type=int,
        metavar="K",
        help="lazy gradient penalty for the image-code critics: every K-th step, weighted by "
        "K (StyleGAN2; 1 = every step, as released)",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        default=None,
        help="torch.compile the generator, encoders and discriminators (minutes of compile "
        "time at start-up; needs a C++ compiler on CPU)",
    )
    p.add_argument(
        "--export-dtype", choices=["float32", "float16"], help="weights in the model file"
    )
    p.add_argument(
        "--export-parts-mb",
        type=float,
        metavar="MB",
        help="also write the model as numbered parts of at most MB megabytes + a SHA-256 list",
    )
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    p.add_argument("--export", metavar="MODEL", help="model file to write at the end")
    p.add_argument("--config", metavar="FILE.toml", help="read options from a TOML file")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument(
        "--export-only",
        action="store_true",
        help="export the model from the newest checkpoint of --out and exit",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start a new run in a folder that holds one (its checkpoints and metrics go)",
    )
    add_threads_argument(p, "OMP_NUM_THREADS if set, else PyTorch's own (all cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _show_defaults(p)
    return p


def _show_defaults(parser: Parser) -> None:
    """Append each option's default, read from TrainConfig (the one source of defaults)."""
    from engine.train.config import TrainConfig

    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    for action in parser._actions:
        default = CLI_DEFAULTS.get(action.dest)
        if default is None and action.dest in fields:
            default = fields[action.dest].default
        if default is None or default is dataclasses.MISSING or not action.help:
            continue
        if isinstance(default, bool):
            continue
        action.help += f" (default {default})"


def parse_duration(text: str) -> float:
    """'45m', '1h30m', '90s', '2h' or plain seconds -> seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    value, total, seen = "", 0.0, False
    for ch in text.strip().lower():
        if ch.isdigit() or ch == ".":
            value += ch
        elif ch in units and value:
            total, value, seen = total + float(value) * units[ch], "", True
        else:
            raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 45m, 1h30m)")
    if value:
        total += float(value)
    elif not seen:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 45m, 1h30m)")
    if total <= 0:
        raise argparse.ArgumentTypeError(f"duration must be positive, got {text!r}")
    return total


def resolve_config(args) -> TrainConfig:  # noqa: F821
    from engine.train.config import TrainConfig

    values = dict(CLI_DEFAULTS)
    if args.config:
        try:
            table = tomllib.loads(Path(args.config).read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise UsageError(f"{args.config}: cannot read config file ({err})") from None
        table = {k.replace("-", "_"): v for k, v in table.items()}
        misplaced = sorted(set(table) & (set(RUN_FLAGS) | {"model"}))
        if misplaced:
            raise UsageError(
                f"{args.config}: {', '.join(misplaced)} cannot be set in a config file "
                "(give it on the command line; the model comes from preset, num-parents, "
                "num-children)"
            )
        values.update(table)
    values.update({k: v for k, v in vars(args).items() if v is not None})
    if isinstance(values.get("time_budget"), str):
        try:
            values["time_budget"] = parse_duration(values["time_budget"])
        except argparse.ArgumentTypeError as err:
            raise UsageError(f"time-budget: {err}") from None
    if not values.get("data") and not values.get("synthetic"):
        raise UsageError("give --data DIR or --synthetic N")
    if not values.get("out"):
        raise UsageError("give --out RUN_DIR")
    model = preset(values["preset"])
    overrides = {k: values.pop(k) for k in ("num_parents", "num_children") if k in values}
    if overrides:
        if "num_children" in overrides:
            overrides["num_backgrounds"] = overrides["num_children"]
        model = dataclasses.replace(model, **overrides)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(values) - fields - set(RUN_FLAGS)
    if unknown:
        raise UsageError(f"unknown option(s) in config: {', '.join(sorted(unknown))}")
    kwargs = {k: v for k, v in values.items() if k in fields}
    kwargs.setdefault("synthetic", 0)
    return TrainConfig(model=model, **kwargs)


def _summary(cfg) -> str:
    """One line on what this run will do (the full config goes to RUN_DIR/config.json)."""
    m = cfg.model
    data = cfg.data or (
        f"{cfg.synthetic} SynthBirds ({'independent' if cfg.independent else 'natural'})"
    )
    budget = f", time budget {cfg.time_budget / 60:.1f} min" if cfg.time_budget else ""
    extra = f", mask prior {cfg.mask_prior_weight:g}" if cfg.mask_prior_weight else ""
    if cfg.background_info_weight:
        extra += f", background info {cfg.background_info_weight:g}"
    if cfg.parent_info != "masked_foreground":
        extra += f", parent info on the {cfg.parent_info}"
    return (
        f"{PROG}: {cfg.preset} preset ({m.image_size} px, p/c/b {m.num_parents}/"
        f"{m.num_children}/{m.num_backgrounds}) on {data}; stage {cfg.stage}, "
        f"{cfg.steps} + {cfg.total_stage2_steps} steps x {cfg.batch_size}{budget}{extra}; "
        f"device {cfg.device}; run folder {cfg.out} (config.json)"
    )


def _bar(p, width: int = 24) -> str:
    done = int(width * p.step / max(p.total, 1))
    eta = time.strftime("%H:%M:%S", time.gmtime(p.eta_s)) if p.eta_s < 86400 * 4 else "--"
    main = " ".join(f"{k}={v:.3f}" for k, v in list(p.losses.items())[:5])
    return (
        f"\rstage {p.stage} [{'#' * done}{'.' * (width - done)}] {p.step}/{p.total} "
        f"{p.steps_per_s:.2f} it/s ETA {eta} {main}"
    )


def _install_stop_handler() -> threading.Event:
    """First Ctrl-C (or SIGTERM): finish the current step, checkpoint, exit. Second: abort."""
    stop = threading.Event()

    def handler(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(
            f"\n{PROG}: stopping after this step (Ctrl-C again aborts without saving)",
            file=sys.stderr,
        )

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def main(argv: list[str] | None = None) -> int:
    def body() -> int:
        args = build_parser().parse_args(argv)
        if args.export_only:
            if not args.out:
                raise UsageError("give --out RUN_DIR")
            from engine.train.loop import export_checkpoint

            print(f"{PROG}: model written to {export_checkpoint(args.out, args.export)}")
            return 0
        cfg = resolve_config(args)
        from engine.train.config import check_paths

        check_paths(cfg)  # before importing torch or generating anything
        if cfg.stage != "2" and cfg.steps == 0 and not args.resume:
            raise UsageError("--steps 0: nothing to train in stage 1")
        if args.dry_run:
            print(json.dumps(cfg.to_dict(), indent=2))
            return 0
        print(_summary(cfg))
        logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s")
        from engine.threads import use_threads
        from engine.train import iter_train
        from engine.train.loop import _is_main

        if args.threads:
            use_threads(args.threads)
        tty = sys.stderr.isatty()
        stop = _install_stop_handler()
        events = iter_train(
            cfg, resume=args.resume, should_stop=stop.is_set, overwrite=args.overwrite
        )
        for n, p in enumerate(events):
            if not _is_main():
                continue
            if p.event == "step" and not args.quiet:
                if tty:
                    print(_bar(p), end="", file=sys.stderr, flush=True)
                elif n % 20 == 0:  # a log file gets a plain line now and then
                    print(_bar(p).strip(), file=sys.stderr, flush=True)
            elif p.event == "stopped":
                print(
                    f"\n{PROG}: stopped; checkpoint saved at stage {p.stage} step {p.step}",
                    file=sys.stderr,
                )
                return 130
            elif p.event == "done":
                out = cfg.export or str(Path(cfg.out) / "model.safetensors")
                print(f"\n{PROG}: done; model written to {out}", file=sys.stderr)
        return 0

    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
