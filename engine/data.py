"""CUB-format data pipeline for training (method facts, section 8; box mask, section 4).

A dataset folder holds ``images.txt`` ("<id> <relative path>"), ``bounding_boxes.txt``
("<id> <x> <y> <w> <h>", top-left corner and size in pixels) and the images under ``images/``;
``train_test_split.txt`` ("<id> <1 = train, 0 = test>") is optional. Ids are matched by id, not by
row order, and any raster format Pillow decodes itself is accepted (never EPS/PS: see
``engine.safe_io``).

Each sample is pre-processed as the method defines it, generalised to any model size S:

* object: a square of 1.5x the box's longer side centred on the box (clipped to the image), resized
  so its short side is round(2.375 S), a random 2S crop, a random horizontal flip, resized to S;
* background: the full image resized so its short side is int(bg * 76 / 64), a random bg x bg crop
  (bg = S - 2), an independent random flip, with the box warped into that crop.

The resize-crop-resize chains are applied as one resampling of the equivalent source window, which
has the same geometry and is faster and sharper than resampling twice.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset, Sampler

from engine.crop import (  # noqa: F401 (re-exported: the crop rule lives in engine.crop)
    centre_offset,
    object_crop_box,
    object_resize,
    object_window,
    resample,
    resized_size,
    warp_box,
)
from engine.errors import DataError
from engine.networks.discriminators import RECEPTIVE_FIELD
from engine.safe_io import open_raster

log = logging.getLogger(__name__)

IMAGES_TXT = "images.txt"
BOXES_TXT = "bounding_boxes.txt"
SPLIT_TXT = "train_test_split.txt"
MAX_IMAGE_SIZE = 1024  # largest model image size (as ModelConfig)
MAX_LISTED = 20  # problems shown in a DataError message
BOX_TOLERANCE = 1.0  # px a box may stick out of its image
_SWAPPED_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that swap width and height
# What reading a broken, truncated or oversized image file can raise.
_IMAGE_ERRORS = (
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


# ----------------------------------------------------------------------------- reading / checks


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
    if orientation in _SWAPPED_ORIENTATIONS:
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
            except _IMAGE_ERRORS as err:
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


def _format_problems(root: Path, problems: Sequence[str]) -> str:
    """One line for a single problem or folder-level ones, else one problem per line (capped)."""
    if len(problems) == 1 or all(_problem_key(p)[1] < 0 for p in problems):
        return f"{root}: " + "; ".join(problems)
    lines = list(problems[:MAX_LISTED])
    if len(problems) > MAX_LISTED:
        lines.append(f"... and {len(problems) - MAX_LISTED} more")
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    return f"{root}: invalid dataset ({count}):\n" + "\n".join(lines)


def _check_split(split: str | None) -> None:
    if split not in (None, "train", "test"):
        raise DataError(f"split must be None, 'train' or 'test', got {split!r}")


def read_cub(root: str | os.PathLike, split: str | None = None) -> list[Record]:
    """Records of a CUB-format folder (sorted by id); raises DataError listing every problem.

    Only the text files and the existence of the images are checked (fast); ``check_dataset``
    also opens every image.
    """
    _check_split(split)
    root = Path(root)
    records, problems, _ = scan_dataset(root, deep=False, split=split)
    if problems:
        raise DataError(_format_problems(root, [msg for msg, _ in problems]))
    return records


def check_dataset(root: str | os.PathLike, min_size: int = 32, deep: bool = True) -> list[str]:
    """Every problem of a folder as "file:line: message"; empty when valid.

    ``deep`` opens each image header (size, readability; no full decode) to also check image
    size and that boxes lie inside their image.
    """
    return [msg for msg, _ in scan_dataset(Path(root), min_size=min_size, deep=deep)[1]]


# ----------------------------------------------------------------------------- dataset


def _to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB PIL image -> (3, H, W) float in [-1, 1]."""
    arr = np.array(img, dtype=np.uint8)  # (H, W, 3)
    return torch.from_numpy(arr).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


class CubDataset(Dataset):
    """Object crops, background crops and warped boxes of a CUB-format folder.

    Items: ``image`` (3, S, S) and ``background`` (3, bg, bg) floats in [-1, 1], ``box`` (4,)
    [y1, x1, y2, x2] in background pixels, ``index``. Random augmentation uses torch's RNG, so
    DataLoader worker seeding (see ``make_loader``) makes it reproducible.

    Invalid data raises DataError listing the problems; with ``skip_bad`` bad items are dropped and
    each is reported once in ``warnings``. ``cache=True`` keeps decoded images in memory as uint8
    arrays (at the reduced resolution the crops need): only for small datasets, and each loader
    worker holds its own copy.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        image_size: int,
        split: str | None = None,
        augment: bool = True,
        cache: bool = False,
        skip_bad: bool = False,
        records: Sequence[Record] | None = None,
        min_size: int = 32,
    ) -> None:
        _check_split(split)
        if isinstance(image_size, bool) or not isinstance(image_size, int):
            raise DataError(f"image size must be a whole number, got {image_size!r}")
        if not RECEPTIVE_FIELD + 2 <= image_size <= MAX_IMAGE_SIZE:
            raise DataError(
                f"image size must be between {RECEPTIVE_FIELD + 2} and {MAX_IMAGE_SIZE} px, "
                f"got {image_size}"
            )
        self.root = Path(root)
        self.image_size = int(image_size)
        self.bg_size = self.image_size - 2
        self.object_resize = object_resize(self.image_size)  # 304 at 128 px
        self.bg_resize = int(self.bg_size * 76 / 64)  # 149 at bg 126
        self.augment = augment
        self.cache = cache
        self.skip_bad = skip_bad
        self.warnings: list[str] = []
        self.generator: torch.Generator | None = None  # used in the main process only
        self._cache: dict[int, tuple[np.ndarray, float, float, int, int]] = {}
        self._bad: set[int] = set()
        if records is None:
            found, problems, _ = scan_dataset(self.root, min_size=min_size, deep=True, split=split)
            fatal = [msg for msg, ident in problems if ident is None]
            if problems and (not skip_bad or (fatal and not found)):
                raise DataError(_format_problems(self.root, [msg for msg, _ in problems]))
            self.warnings.extend(msg for msg, _ in problems)
            for msg in self.warnings:
                log.warning("skipped: %s", msg)
            records = found
        self.records = list(records)
        if not self.records:
            raise DataError(f"{self.root}: no usable images")

    def __len__(self) -> int:
        return len(self.records)

    def _randint(self, high: int) -> int:
        """Uniform integer in [0, high]."""
        if not self.augment or high <= 0:
            return 0
        gen = self.generator if torch.utils.data.get_worker_info() is None else None
        return int(torch.randint(0, high + 1, (1,), generator=gen))

    def _offset(self, size: tuple[int, int], crop: int) -> tuple[int, int]:
        """Random crop offset (centre crop when not augmenting)."""
        if not self.augment:
            return centre_offset(size, crop)
        return self._randint(size[0] - crop), self._randint(size[1] - crop)

    def _flip(self) -> bool:
        return self.augment and self._randint(1) == 1

    def _needed_scale(self, rec: Record, width: int, height: int) -> float:
        """Fraction of full resolution both crops need (lets JPEG decode at reduced size)."""
        left, top, right, bottom = object_crop_box(rec.box, width, height)
        crop_short = min(right - left, bottom - top)
        return max(self.object_resize / (2 * crop_short), self.bg_resize / min(width, height))

    def _decode(self, index: int) -> tuple[Image.Image, float, float, int, int]:
        """(RGB image, x scale, y scale, full width, full height) of the record's file."""
        if index in self._cache:
            arr, sx, sy, width, height = self._cache[index]
            return Image.fromarray(arr), sx, sy, width, height
        rec = self.records[index]
        with open_raster(rec.path) as img:
            width, height = img.size
            if img.getexif().get(0x0112, 1) in _SWAPPED_ORIENTATIONS:
                width, height = height, width
            scale = self._needed_scale(rec, width, height)
            if scale < 1 and img.format == "JPEG":
                img.draft("RGB", (math.ceil(img.width * scale), math.ceil(img.height * scale)))
            out = ImageOps.exif_transpose(img).convert("RGB")
        sx, sy = out.width / width, out.height / height
        if self.cache:
            self._cache[index] = (np.asarray(out).copy(), sx, sy, width, height)
        return out, sx, sy, width, height

    def __getitem__(self, index: int) -> dict:
        for attempt in range(len(self.records)):
            i = (index + attempt) % len(self.records)
            if i in self._bad:
                continue
            try:
                return self._sample(i)
            except _IMAGE_ERRORS as err:
                msg = f"{self.records[i].path}: unreadable image: {err}"
                if not self.skip_bad:
                    raise DataError(msg) from None
                self._bad.add(i)
                self.warnings.append(msg)
                log.warning("skipped: %s", msg)
        raise DataError(f"{self.root}: no readable images")

    def _sample(self, index: int) -> dict:
        rec = self.records[index]
        img, sx, sy, width, height = self._decode(index)
        s, bg = self.image_size, self.bg_size

        # Object: crop square -> resize short side -> random 2S crop -> flip -> S.
        # (engine.crop: the same rule as a reference's view, Reference.to_tensor)
        window = object_window(rec.box, width, height, s, self._offset)
        obj = resample(img, _scaled(window, sx, sy, img.size), s)
        image = _to_tensor(obj)  # (3, S, S)
        if self._flip():
            image = image.flip(2)

        # Background: full image -> resize short side -> random bg crop -> flip; box follows.
        size = resized_size(width, height, self.bg_resize)
        ox, oy = self._offset(size, bg)
        kx, ky = width / size[0], height / size[1]
        window = (ox * kx, oy * ky, (ox + bg) * kx, (oy + bg) * ky)
        back = resample(img, _scaled(window, sx, sy, img.size), bg)
        background = _to_tensor(back)  # (3, bg, bg)
        flip = self._flip()
        if flip:
            background = background.flip(2)
        box = warp_box(rec.box, width, height, size, (ox, oy), bg, flip)
        return {
            "image": image,
            "background": background,
            "box": torch.tensor(box, dtype=torch.float32),  # (4,) y1, x1, y2, x2
            "index": index,
        }


def _scaled(
    window: Sequence[float], sx: float, sy: float, size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """A full-resolution window in the coordinates of the decoded image (of ``size``)."""
    left, top, right, bottom = window
    return (
        max(0.0, left * sx),
        max(0.0, top * sy),
        min(float(size[0]), right * sx),
        min(float(size[1]), bottom * sy),
    )


# ----------------------------------------------------------------------------- loading


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = True,
    workers: int = 0,
    seed: int = 0,
    drop_last: bool = True,
    sampler: Sampler | None = None,
) -> DataLoader:
    """A DataLoader whose order and augmentation are reproducible for a seed."""
    if isinstance(dataset, CubDataset) and workers == 0:
        dataset.generator = torch.Generator().manual_seed(seed + 1)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        num_workers=workers,
        generator=torch.Generator().manual_seed(seed),
        drop_last=drop_last,
        persistent_workers=workers > 0,
        pin_memory=torch.cuda.is_available(),
        worker_init_fn=_quiet_worker if workers > 0 else None,
    )


def _quiet_worker(worker_id: int) -> None:
    """Loader workers leave Ctrl-C to the main process (which stops them) and die on SIGTERM,
    instead of running a handler inherited from the main process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def benchmark_loader(
    root: str | os.PathLike, image_size: int, batch_size: int, workers: int, batches: int
) -> float:
    """Samples per second of the training loader (the first batch, worker start-up, excluded)."""
    dataset = CubDataset(root, image_size)
    if len(dataset) < batch_size:
        raise DataError(f"{root}: {len(dataset)} images, fewer than batch size {batch_size}")
    loader = make_loader(dataset, batch_size, workers=workers)
    done, start = -1, 0.0
    while done < batches:
        for _ in loader:
            done += 1
            if done == 0:
                start = time.perf_counter()
            if done >= batches:
                break
    elapsed = time.perf_counter() - start
    return batches * batch_size / max(elapsed, 1e-9)


# ----------------------------------------------------------------------------- conversion


def convert_plain(
    images_dir: str | os.PathLike, boxes_csv: str | os.PathLike, out_dir: str | os.PathLike
) -> int:
    """Convert a folder of images plus a CSV "filename,x,y,w,h" (header optional) to CUB format.

    Writes images.txt, bounding_boxes.txt, image_class_labels.txt (all class 1) and classes.txt
    under ``out_dir`` and hard-links (or copies) the images to ``out_dir/images/``.
    Returns the number of images; raises DataError listing every problem.
    """
    images_dir, boxes_csv, out = Path(images_dir), Path(boxes_csv), Path(out_dir)
    if not images_dir.is_dir():
        raise DataError(f"{images_dir}: images folder not found")
    if not boxes_csv.is_file():
        raise DataError(f"{boxes_csv}: boxes file not found")
    if (out / IMAGES_TXT).exists():
        raise DataError(f"{out}: already holds a dataset ({IMAGES_TXT}); choose a new folder")
    name = boxes_csv.name
    rows: list[tuple[str, tuple[float, ...]]] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    text = boxes_csv.read_text(encoding="utf-8-sig", errors="replace")
    first = True
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        is_first, first = first, False
        fields = [f.strip() for f in line.split(",")]
        try:
            values = tuple(float(v) for v in fields[1:])
        except ValueError:
            values = ()
        if len(fields) != 5 or len(values) != 4 or not all(map(math.isfinite, values)):
            if is_first:
                continue  # header
            problems.append(f"{name}:{n}: malformed line, expected 'filename,x,y,w,h'")
            continue
        rel = fields[0]
        rel_path = Path(rel)
        if rel_path.is_absolute() or ".." in rel_path.parts or not rel:
            problems.append(f"{name}:{n}: filename must be relative to the images folder: {rel}")
        elif rel in seen:
            problems.append(f"{name}:{n}: duplicate filename {rel} (first on line {seen[rel]})")
        elif not (images_dir / rel).is_file():
            problems.append(f"{name}:{n}: image not found: {rel}")
        elif values[2] <= 0 or values[3] <= 0:
            problems.append(f"{name}:{n}: empty box (w={values[2]:g}, h={values[3]:g})")
        else:
            seen[rel] = n
            rows.append((rel, values))
    if not rows and not problems:
        problems.append(f"{name}: no images listed")
    if problems:
        raise DataError(_format_problems(boxes_csv, problems))

    (out / "images").mkdir(parents=True, exist_ok=True)
    lines_img, lines_box, lines_cls = [], [], []
    for ident, (rel, (x, y, w, h)) in enumerate(rows, 1):
        src, dst = images_dir / rel, out / "images" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists():
            dst.unlink()
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        lines_img.append(f"{ident} {rel}")
        lines_box.append(f"{ident} {x:g} {y:g} {w:g} {h:g}")
        lines_cls.append(f"{ident} 1")
    (out / BOXES_TXT).write_text("\n".join(lines_box) + "\n", encoding="utf-8")
    (out / "image_class_labels.txt").write_text("\n".join(lines_cls) + "\n", encoding="utf-8")
    (out / "classes.txt").write_text("1 all\n", encoding="utf-8")
    (out / IMAGES_TXT).write_text("\n".join(lines_img) + "\n", encoding="utf-8")  # last: marks done
    return len(rows)
