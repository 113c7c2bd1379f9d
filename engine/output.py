"""Writing composites in the format their file name asks for, with our metadata.

``composite_metadata`` is the one schema, written by ``mixnmatch-mix`` and by the app (saved
results, layers and sheets): ``Software``, ``mixnmatch:mode``, ``mixnmatch:model``,
``mixnmatch:preset``, ``mixnmatch:layer``, one ``mixnmatch:<slot>`` JSON record per slot that
holds an input (``InputRecord``) and, for sheets, ``mixnmatch:varying``. Light: no torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from engine.errors import ImageError

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
EXIF_DESCRIPTION = 0x010E  # ImageDescription: holds the metadata as JSON in JPEG and WebP
PREFIX = "mixnmatch:"


@dataclass(frozen=True)
class InputRecord:
    """One slot's input as a composite's metadata records it (enough to make it again)."""

    file: str = ""  # the image's file name, or a description such as "pasted image"
    sha1: str = ""  # Reference.digest: the pixels
    box: tuple[int, int, int, int] | None = None  # object box (x, y, w, h); None: whole image
    crop: str = ""  # crop mode: "object" or "whole"; "" when the slot holds a code alone
    crop_rect: tuple[int, int, int, int] | None = None  # what the model saw (l, t, r, b)
    code: str = "encoded"  # or "seed N" (a re-roll) or "index N" (a picked category)

    @classmethod
    def of(cls, reference, code: str = "encoded") -> InputRecord:
        """The record of an engine ``Reference``."""
        whole = reference.crop == "whole"
        return cls(
            file=reference.name,
            sha1=reference.digest,
            box=None if whole else tuple(reference.effective_box()),
            crop=reference.crop,
            crop_rect=tuple(reference.crop_rect()),
            code=code,
        )


def composite_metadata(
    software: str,
    mode: str,
    model: str,
    preset: str,
    inputs: Mapping[str, InputRecord],
    layer: str = "composite",
    varying: str = "",
) -> dict[str, str]:
    """The text entries of one written image: how it was made (see the module docstring)."""
    meta = {
        "Software": software,
        f"{PREFIX}mode": mode,
        f"{PREFIX}model": model,
        f"{PREFIX}preset": preset,
        f"{PREFIX}layer": layer,
    }
    for slot, record in inputs.items():
        meta[f"{PREFIX}{slot}"] = json.dumps(asdict(record))
    if varying:
        meta[f"{PREFIX}varying"] = varying
    return meta


def model_preset(config, info: Mapping | None = None) -> str:
    """The name of the preset ``config`` equals, else the one its file states, else "custom"."""
    from engine.config import PRESETS

    named = next((name for name, preset in PRESETS.items() if preset == config), "")
    return named or str((info or {}).get("preset") or "custom")


def output_format(path: str | Path) -> str:
    """The Pillow format the extension names; ImageError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(FORMATS)
        shown = suffix or "no extension"
        raise ImageError(f"{path}: cannot write {shown}; use one of {known}")
    return FORMATS[suffix]


def save_image(
    image: np.ndarray,
    path: str | Path,
    metadata: dict[str, str] | None = None,
    scale: int = 1,
    quality: int = 95,
) -> Path:
    """Write PNG (text chunks), JPEG or WebP (EXIF ImageDescription, JSON) by extension."""
    fmt = output_format(path)
    if fmt == "PNG":
        from engine.images import save_png  # imports torch: only when writing

        return save_png(image, path, metadata, scale)
    img = Image.fromarray(np.asarray(image))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.LANCZOS)
    exif = Image.Exif()
    exif[EXIF_DESCRIPTION] = json.dumps(metadata or {})
    from engine.safe_io import atomic_write

    return atomic_write(
        path, lambda tmp: img.save(tmp, format=fmt, quality=quality, exif=exif), fmt, ImageError
    )


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata ``save_image`` wrote (PNG text chunks or the EXIF description)."""
    with Image.open(path) as img:
        if img.format == "PNG":
            return dict(img.text)
        text = img.getexif().get(EXIF_DESCRIPTION)
    return json.loads(text) if text else {}
