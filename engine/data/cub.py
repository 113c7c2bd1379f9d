"""CUB-format folders: parsing and validation (method facts, section 8).

A dataset folder holds ``images.txt`` ("<id> <relative path>"), ``bounding_boxes.txt``
("<id> <x> <y> <w> <h>", top-left corner and size in pixels) and the images under ``images/``;
``train_test_split.txt`` ("<id> <1 = train, 0 = test>") is optional. Ids are matched by id, not by
row order, and any raster format Pillow decodes itself is accepted (never EPS/PS: see
``engine.safe_io``). Every problem is reported as "file:line: message". No torch import here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from engine.errors import DataError
from engine.safe_io import open_raster

IMAGES_TXT = "images.txt"
BOXES_TXT = "bounding_boxes.txt"
SPLIT_TXT = "train_test_split.txt"
MAX_LISTED = 20  # problems shown in a DataError message
BOX_TOLERANCE = 1.0  # px a box may stick out of its image
SWAPPED_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that swap width and height
# What reading a broken, truncated or oversized image file can raise.
IMAGE_ERRORS = (
    OSError,
    UnidentifiedImageError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
)


@dataclass(frozen=True)
class Record:
    """One image of a dataset: its id, file and object box (x, y, w, h in pixels)."""

    id: int
    path: Path
    box: tuple[float, float, float, float]


def _read_lines(path: Path, maxsplit: int = -1) -> list[tuple[int, list[str]]]:
    """(line number, fields) for every non-blank line of a text file."""
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    return [
        (n, line.strip().split(maxsplit=maxsplit))
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip()
    ]


def _parse_id(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _image_size(path: Path) -> tuple[int, int]:
    """Displayed (EXIF-oriented) size; raises OSError / UnidentifiedImageError if unreadable."""
    with open_raster(path) as img:
        img.verify()  # must come first: reading EXIF may consume the file
    with open_raster(path) as img:
        width, height = img.size
        orientation = img.getexif().get(0x0112, 1)
    if orientation in SWAPPED_ORIENTATIONS:
        width, height = height, width
    return width, height


def _resolve(root: Path, rel: str) -> Path:
    """Images live under ``root/images`` (CUB); a path relative to the root is accepted too."""
    path = root / "images" / rel
    if not path.exists() and (root / rel).exists():
        return root / rel
    return path


def scan_dataset(
    root: Path, min_size: int = 32, deep: bool = True, split: str | None = None
) -> tuple[list[Record], list[tuple[str, int | None]], int]:
    """Parse and validate a folder.

    Returns (valid records sorted by id, problems as (message, id or None), images listed).
    A problem with an id disqualifies that record; one without an id concerns no single record.
    """
    problems: list[tuple[str, int | None]] = []
    if not root.is_dir():
        return [], [("folder not found", None)], 0
    missing = [name for name in (IMAGES_TXT, BOXES_TXT) if not (root / name).is_file()]
    if split is not None and not (root / SPLIT_TXT).is_file():
        missing.append(SPLIT_TXT)
    if missing:
        return [], [(f"{name}: file not found", None) for name in missing], 0

    paths: dict[int, tuple[int, str]] = {}  # id -> (line, relative path)
    for n, fields in _read_lines(root / IMAGES_TXT, maxsplit=1):
        ident = _parse_id(fields[0])
        if len(fields) != 2 or ident is None:
            problems.append((f"{IMAGES_TXT}:{n}: malformed line, expected '<id> <path>'", None))
        elif ident in paths:
            msg = f"{IMAGES_TXT}:{n}: duplicate id {ident} (first on line {paths[ident][0]})"
            problems.append((msg, ident))
        else:
            paths[ident] = (n, fields[1])
    if not paths and not problems:
        problems.append((f"{IMAGES_TXT}: no images listed", None))

    boxes: dict[int, tuple[int, tuple[float, float, float, float]]] = {}  # id -> (line, box)
    box_lines: dict[int, int] = {}  # id -> first line, for duplicates
    for n, fields in _read_lines(root / BOXES_TXT):
        ident = _parse_id(fields[0])
        try:
            values = tuple(float(v) for v in fields[1:])
        except ValueError:
            values = ()
        if len(values) != 4 or ident is None or not all(map(math.isfinite, values)):
            msg = f"{BOXES_TXT}:{n}: malformed line, expected '<id> <x> <y> <w> <h>'"
            problems.append((msg, ident if ident in paths else None))
            if ident is not None:
                box_lines.setdefault(ident, n)
        elif ident in box_lines:
            msg = f"{BOXES_TXT}:{n}: duplicate id {ident} (first on line {box_lines[ident]})"
            problems.append((msg, ident if ident in paths else None))
        elif ident not in paths:
            box_lines[ident] = n
            problems.append((f"{BOXES_TXT}:{n}: id {ident} is not in {IMAGES_TXT}", None))
        else:
            x, y, w, h = values
            box_lines[ident] = n
            boxes[ident] = (n, (x, y, w, h))
            if w <= 0 or h <= 0:
                problems.append((f"{BOXES_TXT}:{n}: empty box (w={w:g}, h={h:g})", ident))
            elif x < -BOX_TOLERANCE or y < -BOX_TOLERANCE:
                msg = f"{BOXES_TXT}:{n}: box ({x:g}, {y:g}, {w:g}, {h:g}) outside the image"
                problems.append((msg, ident))

    flags: dict[int, bool] = {}
    if (root / SPLIT_TXT).is_file():
        for n, fields in _read_lines(root / SPLIT_TXT):
            ident = _parse_id(fields[0])
            if len(fields) != 2 or ident is None or fields[1] not in ("0", "1"):
                msg = f"{SPLIT_TXT}:{n}: malformed line, expected '<id> <1 = train, 0 = test>'"
                problems.append((msg, ident if ident in paths else None))
            elif ident not in paths:
                problems.append((f"{SPLIT_TXT}:{n}: id {ident} is not in {IMAGES_TXT}", None))
            else:
                flags[ident] = fields[1] == "1"

    candidates = []
    for ident, (n, rel) in sorted(paths.items()):
        where = f"{IMAGES_TXT}:{n}"
        if ident not in box_lines:  # (a malformed or duplicate box line was reported already)
            problems.append((f"{where}: id {ident} has no box in {BOXES_TXT}", ident))
        if split is not None and ident not in flags:
            problems.append((f"{where}: id {ident} is not in {SPLIT_TXT}", ident))
        path = _resolve(root, rel)
        if not path.is_file():
            problems.append((f"{where}: image not found: {rel}", ident))
            continue
        if deep:
            try:
                width, height = _image_size(path)
            except IMAGE_ERRORS as err:
                problems.append((f"{where}: unreadable image {rel}: {err}", ident))
                continue
            if min(width, height) < min_size:
                msg = f"{where}: image {rel} is {width}x{height} px, smaller than {min_size} px"
                problems.append((msg, ident))
                continue
            box_line, (x, y, w, h) = boxes.get(ident, (0, (0.0, 0.0, 0.0, 0.0)))
            if x + w > width + BOX_TOLERANCE or y + h > height + BOX_TOLERANCE:
                msg = (
                    f"{BOXES_TXT}:{box_line}: box ({x:g}, {y:g}, {w:g}, {h:g}) "
                    f"outside the {width}x{height} image {rel}"
                )
                problems.append((msg, ident))
        candidates.append((ident, path))
    bad = {ident for _, ident in problems if ident is not None}
    records = [
        Record(ident, path, boxes[ident][1])
        for ident, path in candidates
        if ident not in bad and (split is None or flags[ident] == (split == "train"))
    ]
    problems.sort(key=lambda p: _problem_key(p[0]))
    return records, problems, len(paths)


def _problem_key(message: str) -> tuple[str, int]:
    """Sort problems by file, then line."""
    name, _, rest = message.partition(":")
    line = _parse_id(rest.partition(":")[0])
    return name, line if line is not None else -1


def format_problems(root: Path, problems: Sequence[str]) -> str:
    """One line for a single problem or folder-level ones, else one problem per line (capped)."""
    if len(problems) == 1 or all(_problem_key(p)[1] < 0 for p in problems):
        return f"{root}: " + "; ".join(problems)
    lines = list(problems[:MAX_LISTED])
    if len(problems) > MAX_LISTED:
        lines.append(f"... and {len(problems) - MAX_LISTED} more")
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    return f"{root}: invalid dataset ({count}):\n" + "\n".join(lines)


def check_split(split: str | None) -> None:
    if split not in (None, "train", "test"):
        raise DataError(f"split must be None, 'train' or 'test', got {split!r}")


def read_cub(root: str | os.PathLike, split: str | None = None) -> list[Record]:
    """Records of a CUB-format folder (sorted by id); raises DataError listing every problem.

    Only the text files and the existence of the images are checked (fast); ``check_dataset``
    also opens every image.
    """
    check_split(split)
    root = Path(root)
    records, problems, _ = scan_dataset(root, deep=False, split=split)
    if problems:
        raise DataError(format_problems(root, [msg for msg, _ in problems]))
    return records


def check_dataset(root: str | os.PathLike, min_size: int = 32, deep: bool = True) -> list[str]:
    """Every problem of a folder as "file:line: message"; empty when valid.

    ``deep`` opens each image header (size, readability; no full decode) to also check image
    size and that boxes lie inside their image.
    """
    return [msg for msg, _ in scan_dataset(Path(root), min_size=min_size, deep=deep)[1]]
