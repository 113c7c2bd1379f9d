"""``mixnmatch-data``: check, convert, synthesise and benchmark training data.

Formats: docs/method.md, "Data".

Subcommands:
  check DIR [--min-size PX]                       list every problem as "file:line: message"
  convert-plain --images DIR --boxes CSV --out DIR  plain images + "filename,x,y,w,h" -> CUB format
  synth ...                                       render a SynthBirds dataset (see ``synth --help``)
  bench DIR --image-size S [--batch-size B] [--workers K]  loader throughput in samples/s

Exit codes: 0 success, 1 problems found (check), 2 usage or data error (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from engine.cli.common import Parser, run_main
from engine.cli.options import non_negative_int, positive_int
from engine.errors import MixNMatchError

PROG = "mixnmatch-data"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _cmd_check(args: argparse.Namespace) -> int:
    from engine.data.cub import scan_dataset

    root = Path(args.dir)
    if not root.is_dir():
        raise MixNMatchError(f"{root}: folder not found")
    _, problems, listed = scan_dataset(root, min_size=args.min_size, deep=True)
    for message, _ in problems:
        print(message)
    if problems:
        bad = len({ident for _, ident in problems if ident is not None})
        print(f"{root}: {_plural(len(problems), 'problem')} ({bad} of {listed} images affected)")
        return 1
    print(f"{root}: OK, {listed} images")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from engine.data.convert import convert_plain
    from engine.data.cub import check_dataset

    count = convert_plain(args.images, args.boxes, args.out)
    print(f"{args.out}: wrote {count} images in CUB format")
    problems = check_dataset(args.out)
    for message in problems:
        print(message)
    if problems:
        print(f"{args.out}: {_plural(len(problems), 'problem')}; fix them before training")
        return 1
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from engine.data.loading import benchmark_loader

    rate = benchmark_loader(args.dir, args.image_size, args.batch_size, args.workers, args.batches)
    print(
        f"{rate:.0f} samples/s (image size {args.image_size}, batch {args.batch_size}, "
        f"workers {args.workers})"
    )
    return 0


def _add_synth(sub: argparse._SubParsersAction) -> None:
    """Wire ``synth`` lazily so a broken generator never breaks the other subcommands."""
    helptext = "render a SynthBirds dataset with ground-truth factors"
    try:
        from engine.synth import add_synth_arguments, run_synth
    except Exception as err:  # noqa: BLE001 - any import failure disables only this command
        reason = f"synth is unavailable: {type(err).__name__}: {err}"
        parser = sub.add_parser("synth", help=helptext)
        parser.add_argument("rest", nargs=argparse.REMAINDER)

        def unavailable(args: argparse.Namespace) -> int:
            raise MixNMatchError(reason)

        parser.set_defaults(func=unavailable)
        return
    parser = sub.add_parser("synth", help=helptext)
    add_synth_arguments(parser)

    def run(args: argparse.Namespace) -> int:
        result = run_synth(args)
        return 0 if result is None else int(result)

    parser.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description="Check, convert and benchmark MixNMatch datasets.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    check = sub.add_parser("check", help="validate a CUB-format folder")
    check.add_argument("dir", metavar="DIR")
    check.add_argument(
        "--min-size",
        type=positive_int,
        default=32,
        metavar="PX",
        help="smallest accepted image side (default 32)",
    )
    check.set_defaults(func=_cmd_check)

    convert = sub.add_parser("convert-plain", help="images + boxes CSV -> CUB-format folder")
    convert.add_argument("--images", required=True, metavar="DIR")
    convert.add_argument(
        "--boxes", required=True, metavar="CSV", help='lines "filename,x,y,w,h" (header optional)'
    )
    convert.add_argument("--out", required=True, metavar="DIR")
    convert.set_defaults(func=_cmd_convert)

    _add_synth(sub)

    bench = sub.add_parser("bench", help="measure the training loader's samples/s")
    bench.add_argument("dir", metavar="DIR")
    bench.add_argument("--image-size", type=positive_int, required=True, metavar="S")
    bench.add_argument("--batch-size", type=positive_int, default=16, metavar="B")
    bench.add_argument("--workers", type=non_negative_int, default=0, metavar="K")
    bench.add_argument("--batches", type=positive_int, default=20, metavar="N")
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    def body() -> int:
        args = build_parser().parse_args(argv)
        return int(args.func(args))

    try:
        return run_main(PROG, body)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
