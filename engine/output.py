"""Writing composites in the format their file name asks for, with our metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from engine.errors import ImageError

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
EXIF_DESCRIPTION = 0x010E  # ImageDescription: holds the metadata as JSON in JPEG and WebP


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
