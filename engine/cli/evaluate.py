"""``mixnmatch-eval``: measure how well a model mixes, judged by the SynthBirds oracle.

  mixnmatch-eval --model MODEL --data DIR [--pairs N] [--out REPORT_DIR] [--oracle PATH]
                 [--seed S] [--device auto|cpu|cuda]
  mixnmatch-eval --compare RUN_DIR [RUN_DIR ...] --out FIGURE.png
  mixnmatch-eval --train-oracle --data DIR --out ORACLE.safetensors [--test DIR] [--steps N]
                 [--seed S]

DIR is a SynthBirds folder made with ``mixnmatch-data synth --independent`` that was never used to
train the model. Exit codes: 0 success, 2 usage or data error (one line on stderr).
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine.cli.common import Parser, UsageError, run_main
from engine.cli.options import add_threads_argument

PROG = "mixnmatch-eval"


def build_parser() -> Parser:
    p = Parser(
        prog=PROG,
        description="Evaluate factor transfer, reconstruction and realism of a MixNMatch model "
        "on an independent SynthBirds folder, or train the oracle that judges it.",
    )
    p.add_argument(
        "--train-oracle",
        action="store_true",
        help="train the oracle on --data and write it to --out",
    )
    p.add_argument(
        "--compare",
        nargs="+",
        metavar="RUN_DIR",
        help="draw the evaluations logged by these training runs on shared axes into --out",
    )
    p.add_argument("--data", metavar="DIR", help="SynthBirds folder made with --independent")
    p.add_argument("--model", metavar="PATH", help="model file (default: the bundled model)")
    p.add_argument(
        "--out",
        metavar="PATH",
        help="report folder (default eval-report), or the oracle file to write with --train-oracle",
    )
    p.add_argument(
        "--oracle",
        metavar="PATH",
        help="oracle file (default: resources/oracle/oracle.safetensors)",
    )
    p.add_argument(
        "--pairs",
        type=int,
        default=500,
        metavar="N",
        help="random quadruples per mode (default 500)",
    )
    p.add_argument(
        "--grid-rows",
        type=int,
        default=8,
        metavar="R",
        help="quadruples shown in grid.png (default 8)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    add_threads_argument(p, "OMP_NUM_THREADS if set, else PyTorch's own (all cores)")
    train = p.add_argument_group("oracle training (--train-oracle)")
    train.add_argument(
        "--test",
        metavar="DIR",
        help="held-out SynthBirds folder (default: the test split of --data)",
    )
    train.add_argument(
        "--steps", type=int, default=3000, metavar="N", help="training steps (default 3000)"
    )
    train.add_argument("--batch-size", type=int, default=64, metavar="B")
    train.add_argument(
        "--size", type=int, default=64, metavar="PX", help="oracle input size (default 64)"
    )
    train.add_argument(
        "--width", type=int, default=32, metavar="W", help="oracle base width (default 32)"
    )
    return p


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _train(args) -> int:
    import torch

    from engine.evaluate.labels import CLASS_FACTORS, load_labelled
    from engine.evaluate.oracle import OracleConfig, TrainSettings, train_oracle

    if not args.out:
        raise UsageError("--train-oracle needs --out ORACLE.safetensors")
    for name in ("steps", "batch_size"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    data = load_labelled(args.data)
    if args.test:
        if Path(args.test).resolve() == Path(args.data).resolve():
            raise UsageError("--test must be another folder than --data")
        train, held_out = data, load_labelled(args.test)
    else:
        train, held_out = data.split()
    if len(train) < 2 or len(held_out) < 1:
        raise UsageError("the oracle needs at least 2 training and 1 held-out image")
    torch.manual_seed(args.seed)
    cfg = OracleConfig(
        image_size=args.size,
        width=args.width,
        classes={f: len(train.names[f]) for f in CLASS_FACTORS},
    )
    settings = TrainSettings(steps=args.steps, batch_size=args.batch_size, seed=args.seed)
    _say(f"training the oracle on {len(train)} images, {len(held_out)} held out")
    oracle = train_oracle(train, held_out, cfg, settings, _say)
    command = f"{PROG} --train-oracle --data {Path(args.data).name}"
    if args.test:
        command += f" --test {Path(args.test).name}"
    command += f" --steps {args.steps} --seed {args.seed} --batch-size {args.batch_size}"
    command += f" --size {args.size} --width {args.width}"
    oracle.info["training"].update(
        {
            "command": command,
            "train_data": Path(args.data).name,
            "held_out_data": Path(args.test).name if args.test else "test split of train_data",
        }
    )
    oracle.save(args.out)
    held = oracle.info["held_out"]
    print(
        f"{args.out}: oracle held-out accuracy: background {held['background']:.1%}, "
        f"shape {held['shape']:.1%}, texture {held['texture']:.1%}, facing {held['facing']:.1%}; "
        f"angle error {held['angle_mae_deg']:.2f} deg "
        f"({oracle.info['training']['seconds']:.0f} s)"
    )
    return 0


def _evaluate(args) -> int:
    from engine import MixNMatch
    from engine.evaluate.labels import load_labelled
    from engine.evaluate.oracle import DEFAULT_FILE, Oracle
    from engine.evaluate.run import EvalSettings, evaluate
    from engine.evaluate.summary import summary_markdown
    from engine.evaluate.writing import write_report
    from engine.resources import resources_dir

    if args.pairs < 1:
        raise UsageError("--pairs must be at least 1")
    if args.grid_rows < 1:
        raise UsageError("--grid-rows must be at least 1")
    if args.test:
        raise UsageError("--test is only used with --train-oracle")
    if args.threads:
        from engine.threads import use_threads

        use_threads(args.threads)
    data = load_labelled(args.data)
    model = (
        MixNMatch.load(args.model, args.device, args.threads)
        if args.model
        else MixNMatch.load_bundled(args.device, args.threads)
    )
    oracle_path = Path(args.oracle) if args.oracle else resources_dir() / "oracle" / DEFAULT_FILE
    oracle = Oracle.load(oracle_path, model.device)
    settings = EvalSettings(pairs=args.pairs, seed=args.seed, grid_rows=args.grid_rows)
    report, art = evaluate(model, oracle, data, settings, _say)
    out = Path(args.out or "eval-report")
    paths = write_report(out, report, art, data, model, oracle, settings)
    print(summary_markdown(report))
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _compare(args) -> int:
    from engine.evaluate.curves import write_run_comparison

    if not args.out or Path(args.out).suffix.lower() != ".png":
        raise UsageError("--compare needs --out FIGURE.png")
    runs = {}
    for folder in map(Path, args.compare):
        metrics = folder / "metrics.jsonl"
        if not metrics.is_file():
            raise UsageError(f"{folder}: no metrics.jsonl (not a training run folder)")
        runs[folder.name] = metrics
    if len(runs) != len(args.compare):
        raise UsageError("--compare: two run folders have the same name")
    if write_run_comparison(runs, Path(args.out)) is None:
        raise UsageError("--compare: no run has logged an evaluation yet (--eval-every)")
    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    def body() -> int:
        args = build_parser().parse_args(argv)
        if args.compare:
            return _compare(args)
        if not args.data:
            raise UsageError("--data DIR is required")
        return _train(args) if args.train_oracle else _evaluate(args)

    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
