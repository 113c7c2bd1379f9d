"""SynthBirds datasets: CUB-format folders written by worker processes, the CLI and a sample grid.

Image ``i`` (0-based) of a dataset gets its factors from ``numpy.random.default_rng([seed, i])``
and is drawn by ``render(factors, seed=seed * 2**32 + i)``, so the output does not depend on the
number of workers.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import itertools
import json
import multiprocessing
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from engine.errors import ConfigError

from .factors import (
    BACKGROUNDS,
    FACTOR_COLUMNS,
    PREFERRED_HABITAT,
    SHAPES,
    SPECIES,
    TEXTURES,
    image_height,
    sample_factors,
)
from .rendering import render

MAX_COUNT = 1_000_000  # images per dataset (labels are collected in memory)
BYTES_PER_PIXEL = 0.25  # a low estimate of a JPEG's size (quality 90, smooth drawings)
LABEL_FILES = (
    "images.txt",
    "bounding_boxes.txt",
    "image_class_labels.txt",
    "train_test_split.txt",
    "classes.txt",
    "factors.csv",
    "factor_names.json",
)
_IMAGE_NAME = re.compile(r"[a-z_]+_\d{6,}\.jpg")


def _image_item(seed: int, index: int, width: int, height: int, independent: bool):
    """Factors and rendering of dataset image ``index`` (0-based)."""
    factors = sample_factors(np.random.default_rng([seed, index]), width, height, independent)
    img, box = render(factors, width, height, seed * 2**32 + index)
    return factors, img, box


def _work_chunk(job: tuple[str, int, int, int, int, int, bool]) -> list[tuple]:
    """Render and save images ``start .. stop - 1``; returns their label rows (worker side)."""
    out_dir, seed, start, stop, width, height, independent = job
    rows = []
    for i in range(start, stop):
        factors, img, box = _image_item(seed, i, width, height, independent)
        cls = SPECIES[factors.species]
        rel = f"{cls}/{cls.split('.', 1)[1]}_{i + 1:06d}.jpg"
        img.save(os.path.join(out_dir, "images", rel), "JPEG", quality=90)
        rows.append((i, rel, box, factors))
    return rows


def _own_image(rel: Path) -> bool:
    """Whether a path under images/ has the name this tool gives an image (species/name_N.jpg)."""
    return (
        len(rel.parts) == 2
        and rel.parts[0] in SPECIES
        and _IMAGE_NAME.fullmatch(rel.parts[1]) is not None
        and rel.parts[1].startswith(rel.parts[0].split(".", 1)[1] + "_")
    )


def _remove_own_files(out: Path) -> None:
    """Delete what an earlier run of this tool wrote (label files and its own image names),
    never anything else: a user's files under the folder stay where they are."""
    for name in LABEL_FILES:
        (out / name).unlink(missing_ok=True)
    images = out / "images"
    for cls in SPECIES:
        folder = images / cls
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.is_file() and not path.is_symlink() and _own_image(path.relative_to(images)):
                path.unlink()
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if now empty


def _only_own_files(out: Path) -> bool:
    """True when a folder holds nothing but an interrupted run's images (no labels yet)."""
    for path in out.rglob("*"):
        rel = path.relative_to(out)
        if path.is_dir() and (rel.parts[0] == "images" and len(rel.parts) <= 2):
            continue
        if not (path.is_file() and rel.parts[0] == "images" and _own_image(Path(*rel.parts[1:]))):
            return False
    return True


def _prepare_out_dir(out: Path, overwrite: bool) -> None:
    """Create the output folder. A folder that is not empty is refused unless it holds only an
    interrupted run's images or ``overwrite`` is set; then only this tool's files are removed."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if (out / "factor_names.json").is_file() and not overwrite:
            raise ConfigError(
                f"{out} already holds a SynthBirds dataset; pass --overwrite to replace it "
                "or pick a new folder"
            )
        if not overwrite and not _only_own_files(out):
            raise ConfigError(
                f"{out} is not empty and holds no SynthBirds dataset; pick a new folder"
            )
        _remove_own_files(out)
    try:
        for cls in SPECIES:
            (out / "images" / cls).mkdir(parents=True, exist_ok=True)
        probe = out / ".write_test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise OSError(f"cannot write to {out}: {err.strerror or err}") from None


def _check_free_space(out: Path, count: int, width: int, height: int) -> None:
    """Refuse a dataset that clearly cannot fit on the disk before writing anything."""
    need = count * (width * height * BYTES_PER_PIXEL + 2048)
    free = shutil.disk_usage(out).free
    if need > free:
        raise ConfigError(
            f"{count} images of {width}x{height} need about {need / 1e9:.1f} GB; "
            f"only {free / 1e9:.1f} GB free in {out}"
        )


def _write_labels(out: Path, rows: list[tuple]) -> None:
    """Write the CUB text files, factors.csv and factor_names.json."""
    rows = sorted(rows, key=lambda r: r[0])
    files = {
        "images.txt": [f"{i + 1} {rel}" for i, rel, _, _ in rows],
        "bounding_boxes.txt": [
            f"{i + 1} {x:.1f} {y:.1f} {w:.1f} {h:.1f}" for i, _, (x, y, w, h), _ in rows
        ],
        "image_class_labels.txt": [f"{i + 1} {f.species + 1}" for i, _, _, f in rows],
        "train_test_split.txt": [f"{i + 1} {int(i % 10 != 9)}" for i, _, _, _ in rows],
        "classes.txt": [f"{k + 1} {name}" for k, name in enumerate(SPECIES)],
    }
    for name, lines in files.items():
        (out / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open(out / "factors.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(FACTOR_COLUMNS)
        for i, _, _, f in rows:
            writer.writerow(
                [i + 1, f.species, f.shape, f.texture, f.background]
                + [f"{f.center_x:.2f}", f"{f.center_y:.2f}", f"{f.scale:.4f}"]
                + [f"{f.angle_deg:.2f}", f.facing]
            )
    names = {
        "shape": list(SHAPES),
        "texture": list(TEXTURES),
        "background": list(BACKGROUNDS),
        "species": list(SPECIES),
        "species_shape": [k // 4 for k in range(len(SPECIES))],
        "preferred_background": list(PREFERRED_HABITAT),
    }
    (out / "factor_names.json").write_text(json.dumps(names, indent=1) + "\n", encoding="utf-8")


def _reset_signals() -> None:
    """Pool initializer: workers die on Ctrl-C / SIGTERM instead of running a handler they
    inherited from the parent (which would, for example, print a message in every worker)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run_pool(jobs, workers: int, collect: Callable[[list[tuple]], None]) -> None:
    """Render ``jobs`` on a process pool, at most a few per worker queued at a time."""
    # Workers only use numpy and Pillow, so forking is safe and skips re-importing the
    # caller's modules; other platforms spawn.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    pool = multiprocessing.get_context(method).Pool(workers, initializer=_reset_signals)
    try:
        while wave := list(itertools.islice(jobs, workers * 4)):
            for part in pool.imap_unordered(_work_chunk, wave):
                collect(part)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


@contextlib.contextmanager
def _interrupts_raise():
    """While generating, Ctrl-C and SIGTERM stop at once (KeyboardInterrupt), whatever handler
    the caller installed; the caller's handlers are restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    saved = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def generate_dataset(
    out_dir: str | os.PathLike,
    count: int,
    seed: int = 0,
    width: int = 192,
    independent: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    overwrite: bool = False,
) -> dict:
    """Render ``count`` SynthBirds images into a CUB-format folder; returns timing statistics.

    An existing dataset is replaced only with ``overwrite`` (removing only files this tool
    wrote). Ctrl-C raises KeyboardInterrupt promptly and leaves a partial folder without labels.
    """
    for name, value, low in (("--count", count, 1), ("--seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name} must be a whole number >= {low}, got {value!r}")
    if count > MAX_COUNT:
        raise ConfigError(f"--count is too large ({count}; at most {MAX_COUNT} images)")
    if not 32 <= width <= 1024:
        raise ConfigError(f"--size must be between 32 and 1024 pixels, got {width}")
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    height = image_height(width)
    out = Path(out_dir)
    start = time.perf_counter()
    _prepare_out_dir(out, overwrite)
    _check_free_space(out, count, width, height)
    chunk = max(4, min(64, count // (workers * 8) or 1))
    jobs = (
        (str(out), seed, a, min(a + chunk, count), width, height, independent)
        for a in range(0, count, chunk)
    )  # a generator: jobs are made as they are handed out, never all at once
    workers = min(workers, -(-count // chunk))
    rows: list[tuple] = []

    def collect(part: list[tuple]) -> None:
        rows.extend(part)
        if progress is not None:
            progress(len(rows), count)

    with _interrupts_raise():
        if workers == 1:
            for job in jobs:
                collect(_work_chunk(job))
        else:
            _run_pool(jobs, workers, collect)
    _write_labels(out, rows)
    seconds = time.perf_counter() - start
    return {
        "out_dir": str(out),
        "count": count,
        "width": width,
        "height": height,
        "independent": independent,
        "workers": workers,
        "seconds": seconds,
        "images_per_s": count / seconds if seconds > 0 else float("inf"),
    }


# ------------------------------------------------------------------------------ CLI and grid


def add_synth_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``mixnmatch-data synth`` to a parser."""
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (CUB format)")
    parser.add_argument("--count", required=True, type=int, metavar="N", help="number of images")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    parser.add_argument(
        "--size", type=int, default=192, metavar="PX", help="image width; height = 5/6 of it"
    )
    parser.add_argument(
        "--independent",
        action="store_true",
        help="draw every factor independently (evaluation set) instead of natural habitats",
    )
    parser.add_argument(
        "--workers", type=int, default=None, metavar="K", help="processes (default: all CPUs)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a SynthBirds dataset in --out (only files this tool wrote are removed)",
    )


def run_synth(args: argparse.Namespace) -> int:
    """Run ``mixnmatch-data synth``: generate, print a one-line summary; 2 on a user error."""
    tty = sys.stderr.isatty()

    def show(done: int, total: int) -> None:
        print(f"\rsynth: {done}/{total} images", end="", file=sys.stderr, flush=True)

    try:
        stats = generate_dataset(
            args.out,
            args.count,
            seed=args.seed,
            width=args.size,
            independent=args.independent,
            workers=args.workers,
            progress=show if tty else None,
            overwrite=getattr(args, "overwrite", False),
        )
    except (ConfigError, OSError) as err:
        if tty:
            print(file=sys.stderr)
        print(f"mixnmatch-data synth: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"\nmixnmatch-data synth: interrupted; {args.out} holds a partial dataset "
            "(run again to replace it)",
            file=sys.stderr,
        )
        return 130
    if tty:
        print(file=sys.stderr)
    mode = "independent" if stats["independent"] else "natural"
    print(
        f"synth: wrote {stats['count']} images ({stats['width']}x{stats['height']}, {mode}) "
        f"to {stats['out_dir']} in {stats['seconds']:.1f} s "
        f"({stats['images_per_s']:.1f} images/s, {stats['workers']} "
        f"worker{'s' if stats['workers'] != 1 else ''})"
    )
    return 0


def sample_grid(
    path: str | os.PathLike, rows: int = 4, cols: int = 8, size: int = 96, seed: int = 0
) -> None:
    """Write a PNG grid of SynthBirds samples: species in order (two body plans a row at the
    default 8 columns), every habitat in every row, birds shown at 50-70% of the frame."""
    cell_h = image_height(size)
    grid = Image.new("RGB", (cols * size + (cols + 1) * 2, rows * cell_h + (rows + 1) * 2), "white")
    rng = np.random.default_rng([seed, 7])
    for j in range(rows * cols):
        species = j % len(SPECIES) if j < len(SPECIES) else int(rng.integers(len(SPECIES)))
        f = sample_factors(rng, 192, 160, species=species)
        scale = max(f.scale, 0.5)
        half = scale * 80 + 2
        f = replace(
            f,
            background=(j + 3 * (j // cols)) % len(BACKGROUNDS),
            scale=scale,
            center_x=float(np.clip(f.center_x, half, 192 - half)),
            center_y=float(np.clip(f.center_y, half, 160 - half)),
        )
        img = render(f, 192, 160, seed=seed * 1000 + j)[0].resize((size, cell_h), Image.LANCZOS)
        r, c = divmod(j, cols)
        grid.paste(img, (2 + c * (size + 2), 2 + r * (cell_h + 2)))
    grid.save(path)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m engine.synth --out DIR --count N``."""
    parser = argparse.ArgumentParser(description="Generate a SynthBirds dataset (CUB format).")
    add_synth_arguments(parser)
    return run_synth(parser.parse_args(argv))
