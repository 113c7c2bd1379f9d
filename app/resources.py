"""The one place that resolves paths under ``resources/`` and lists example images."""

from __future__ import annotations

from pathlib import Path

import engine  # its path helpers load lazily, without torch

ROOT = engine.resources_dir()
ICONS = ROOT / "icons"
EXAMPLES = ROOT / "examples"
DESKTOP_FILE = ROOT / "mixnmatch.desktop"

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MODEL_SUFFIXES = (".safetensors", ".pth")


def icon_path(name: str) -> Path:
    """Path of an icon shipped in resources/icons (``name`` without suffix)."""
    return ICONS / f"{name}.svg"


def list_images(folder: Path | str) -> list[Path]:
    """Image files directly inside ``folder`` (sorted); [] if it is missing or unreadable."""
    folder = Path(folder)
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]


def example_images() -> list[Path]:
    """Example images in resources/examples (and its sub-folders); [] if none."""
    if not EXAMPLES.is_dir():
        return []
    found = list_images(EXAMPLES)
    for sub in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        found.extend(list_images(sub))
    return found


def is_model_file(path: Path | str) -> bool:
    return Path(path).suffix.lower() in MODEL_SUFFIXES
