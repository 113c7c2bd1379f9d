"""``mixnmatch-mix``: mix background, pose, shape and texture of four images into one image.

Batch mode writes one composite per row of a CSV of quadruples, or per image when slots name
folders. Arguments are checked before torch is imported, so ``--help`` and mistakes are quick.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.cli.common import Parser, UsageError, run_main
from engine.cli.options import add_threads_argument
from engine.output import FORMATS, output_format

PROG = "mixnmatch-mix"
SLOTS = ("background", "pose", "shape", "texture")  # engine.SLOTS, without importing torch
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Task:
    """One composite to make: where it goes and, per slot, an image path and optional box."""

    out: Path
    inputs: dict[str, tuple[Path, Box | None]]


def _box(text: str | None, slot: str) -> Box | None:
    if text is None:
        return None
    from engine.errors import ImageError
    from engine.images import parse_box

    try:
        return parse_box(text.split(","))
    except ImageError as err:
        raise UsageError(f"--crop-{slot}: {err}") from None


def build_parser() -> Parser:
    p = Parser(
        prog=PROG,
        description="Generate an image with the background of A, the pose of B, the shape of C "
        "and the texture of D (MixNMatch). A slot may name a folder: one composite per image "
        "(folders are paired in name order; a single image is used for every composite).",
    )
    for slot, letter in (("background", "A"), ("pose", "B"), ("shape", "C"), ("texture", "D")):
        p.add_argument(f"--{slot}", metavar=letter, help=f"image (or folder) giving the {slot}")
        p.add_argument(
            f"--crop-{slot}",
            metavar="x,y,w,h",
            help=f"object box in the {slot} image (default: boxes.csv beside it, else the "
            "centred square)",
        )
    p.add_argument(
        "--whole-image",
        action="store_true",
        help="feed every image whole, resized to the model resolution (aspect not preserved, "
        "nothing cut): the released evaluation's preprocessing (default: the object crop)",
    )
    p.add_argument(
        "--mode",
        choices=["code", "feature"],
        default="code",
        help="feature: pose and shape both come from the shape image (default: %(default)s)",
    )
    p.add_argument("--model", metavar="PATH", help="model file (default: the bundled model)")
    p.add_argument(
        "--batch",
        metavar="FILE.csv",
        help="CSV with a header background,pose,shape,texture[,out]: one composite per row; "
        "paths are relative to the CSV's folder",
    )
    p.add_argument(
        "--out",
        metavar="PATH",
        help="output image; .png, .jpg/.jpeg or .webp picks the format (default: mix.png); "
        "in batch mode the output folder (default: mixes)",
    )
    p.add_argument(
        "--format",
        choices=sorted({s.lstrip(".") for s in FORMATS} - {"jpeg"}),
        default="png",
        help="image format in batch mode (default: %(default)s)",
    )
    p.add_argument("--layers", metavar="DIR", help="also write every layer as PNG into DIR")
    p.add_argument(
        "--scale", type=int, default=1, metavar="N", help="upscale the output N x (default: 1)"
    )
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    add_threads_argument(p)
    return p


def _images_in(folder: Path) -> list[Path]:
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise UsageError(f"{folder}: no images in this folder")
    return found


def _needed(mode: str) -> list[str]:
    return [s for s in SLOTS if not (mode == "feature" and s == "pose")]


def _tasks_from_csv(args, needed: list[str]) -> list[Task]:
    table = Path(args.batch)
    try:
        with table.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UsageError(f"{table}: cannot read the CSV ({err})") from None
    columns = rows[0].keys() if rows else ()
    missing = [s for s in needed if s not in columns]
    if missing:
        raise UsageError(f"{table}: the header must name the columns {', '.join(missing)}")
    out_dir, suffix = Path(args.out or "mixes"), f".{args.format}"
    tasks = []
    for line, row in enumerate(rows, start=2):
        empty = [s for s in needed if not (row.get(s) or "").strip()]
        if empty:
            raise UsageError(f"{table}:{line}: no {', '.join(empty)}")
        name = (row.get("out") or "").strip() or f"mix_{line - 1:04d}{suffix}"
        output_format(name)
        inputs = {s: (table.parent / row[s].strip(), None) for s in needed}
        tasks.append(Task(out_dir / name, inputs))
    if not tasks:
        raise UsageError(f"{table}: no rows")
    return tasks


def _tasks_from_args(args, needed: list[str]) -> list[Task]:
    """One task for four files, or one per image when some slots name folders."""
    paths = {s: Path(getattr(args, s)) for s in needed}
    folders = {s: _images_in(p) for s, p in paths.items() if p.is_dir()}
    if not folders:
        output_format(args.out or "mix.png")
        boxes = {s: _box(getattr(args, f"crop_{s}"), s) for s in needed}
        return [Task(Path(args.out or "mix.png"), {s: (paths[s], boxes[s]) for s in needed})]
    counts = {s: len(files) for s, files in folders.items()}
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{s} {n}" for s, n in counts.items())
        raise UsageError(f"the folders hold different numbers of images ({listed})")
    cropped = [s for s in folders if getattr(args, f"crop_{s}")]
    if cropped:
        raise UsageError(f"--crop-{cropped[0]} needs a single image, not a folder")
    out_dir, count = Path(args.out or "mixes"), next(iter(counts.values()))
    tasks = []
    for i in range(count):
        inputs = {
            s: (folders[s][i] if s in folders else paths[s], _box(getattr(args, f"crop_{s}"), s))
            for s in needed
        }
        tasks.append(Task(out_dir / f"mix_{i + 1:04d}.{args.format}", inputs))
    return tasks


def plan(args) -> list[Task]:
    """Check the arguments (without torch) and list the composites to make."""
    needed = _needed(args.mode)
    if not 1 <= args.scale <= 16:
        raise UsageError("--scale must be between 1 and 16")
    if args.batch:
        given = [s for s in SLOTS if getattr(args, s)]
        if given:
            raise UsageError(f"--batch takes the images from the CSV; drop --{given[0]}")
        tasks = _tasks_from_csv(args, needed)
    else:
        missing = [s for s in needed if getattr(args, s) is None]
        if missing:
            raise UsageError(f"missing --{' --'.join(missing)}")
        tasks = _tasks_from_args(args, needed)
    if args.whole_image:
        cropped = [s for s in SLOTS if getattr(args, f"crop_{s}")]
        if cropped:
            raise UsageError(f"--crop-{cropped[0]} has no effect with --whole-image; drop one")
    if args.layers and len(tasks) > 1:
        raise UsageError("--layers works with one composite, not in batch mode")
    _check_outputs(args, tasks)
    return tasks


def _check_outputs(args, tasks: list[Task]) -> None:
    """Every output path is checked before anything is computed: writable, and never one of
    the inputs."""
    from engine.safe_io import check_outputs
    from engine.vocabulary import LAYERS  # torch-free: paths are checked before torch loads

    inputs = [path for task in tasks for path, _ in task.inputs.values()]
    layers = [Path(args.layers) / f"{n}.png" for n in LAYERS] if args.layers else []
    check_outputs([t.out for t in tasks] + layers, inputs, UsageError)


class _Composer:
    """Loads the model once and makes composites, reusing decoded images and encodings."""

    def __init__(self, args) -> None:
        from engine import MixNMatch

        self.args = args
        if args.model:
            self.model = MixNMatch.load(args.model, args.device, args.threads)
        else:
            self.model = MixNMatch.load_bundled(args.device, args.threads)
        self.mixer = self.model.mixer()
        self._refs: dict[tuple, object] = {}

    def _reference(self, path: Path, box: Box | None):
        from engine import Reference

        key = (path, box)
        if key not in self._refs:
            if len(self._refs) > 64:
                self._refs.clear()
            crop = "whole" if self.args.whole_image else "object"
            self._refs[key] = Reference.from_path(path, box, crop=crop)
        return self._refs[key]

    def make(self, task: Task):
        """Mix one task and write it; returns the engine's MixResult."""
        from engine import __version__
        from engine.output import InputRecord, composite_metadata, model_preset, save_image

        inputs = {}
        for slot, (path, box) in task.inputs.items():
            ref = self._reference(path, box)
            self.mixer.set_reference(slot, ref)
            inputs[slot] = InputRecord.of(ref)
        software, model = f"{PROG} {__version__}", self.model
        preset = model_preset(model.config, model.info)

        def metadata(layer: str) -> dict[str, str]:
            return composite_metadata(software, self.args.mode, model.name, preset, inputs, layer)

        result = self.mixer.mix(self.args.mode)
        task.out.parent.mkdir(parents=True, exist_ok=True)
        save_image(result.image, task.out, metadata("composite"), self.args.scale)
        if self.args.layers:
            folder = Path(self.args.layers)
            folder.mkdir(parents=True, exist_ok=True)
            for name, layer in result.layers.items():
                save_image(layer, folder / f"{name}.png", metadata(name), self.args.scale)
        return result


def _run_batch(composer: _Composer, tasks: list[Task]) -> int:
    """Every task with a progress bar (stderr, only on a terminal); bad rows are reported."""
    from tqdm import tqdm

    from engine import MixNMatchError

    failed = 0
    for task in tqdm(tasks, desc="mixing", unit="image", disable=None, file=sys.stderr):
        try:
            composer.make(task)
        except (MixNMatchError, OSError) as err:
            failed += 1
            message = str(err).strip().splitlines()
            tqdm.write(f"{PROG}: skipped {task.out.name}: {message[-1]}", file=sys.stderr)
    folder = tasks[0].out.parent
    print(f"{folder}: {len(tasks) - failed} of {len(tasks)} composites written")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    def body() -> int:
        args = build_parser().parse_args(argv)
        tasks = plan(args)
        composer = _Composer(args)
        if len(tasks) > 1 or args.batch:
            return _run_batch(composer, tasks)
        result = composer.make(tasks[0])
        device = composer.model.device
        print(f"{tasks[0].out} ({args.mode} mode, {result.seconds * 1000:.0f} ms on {device})")
        return 0

    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
