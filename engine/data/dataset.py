"""The training dataset: object crops, background crops and warped boxes.

Each sample is pre-processed as the method defines it (method facts, section 8; the box feeds the
background discriminator's patch mask, section 4), generalised to any model size S:

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
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset

from engine.crop import (
    centre_offset,
    object_crop_box,
    object_resize,
    object_window,
    resample,
    resized_size,
    warp_box,
)
from engine.data.cub import (
    IMAGE_ERRORS,
    SWAPPED_ORIENTATIONS,
    Record,
    check_split,
    format_problems,
    scan_dataset,
)
from engine.errors import DataError
from engine.networks.discriminators import RECEPTIVE_FIELD
from engine.safe_io import open_raster

log = logging.getLogger(__name__)

MAX_IMAGE_SIZE = 1024  # largest model image size (as ModelConfig)


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
        check_split(split)
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
                raise DataError(format_problems(self.root, [msg for msg, _ in problems]))
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
            if img.getexif().get(0x0112, 1) in SWAPPED_ORIENTATIONS:
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
            except IMAGE_ERRORS as err:
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
