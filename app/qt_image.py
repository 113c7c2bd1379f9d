"""Conversions between NumPy arrays, PIL images and QImage (always deep copies)."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage

os.environ.setdefault("QT_DRIVER", "PySide6")  # qimage2ndarray picks its binding from this
import qimage2ndarray  # noqa: E402


def array_to_qimage(array: np.ndarray) -> QImage:
    """(H, W, 3) or (H, W) uint8 array -> QImage (a copy that owns its pixels)."""
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"expected uint8 pixels, got {array.dtype}")
    if array.ndim == 2:
        return qimage2ndarray.gray2qimage(array)
    if array.ndim == 3 and array.shape[2] == 1:
        return qimage2ndarray.gray2qimage(array[..., 0])
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) image, got shape {array.shape}")
    return qimage2ndarray.array2qimage(array)


def qimage_to_array(image: QImage, alpha: bool = False) -> np.ndarray:
    """QImage -> (H, W, 3) uint8 RGB array, or (H, W, 4) RGBA with ``alpha``."""
    fmt = QImage.Format.Format_ARGB32 if alpha else QImage.Format.Format_RGB32
    converted = image.convertToFormat(fmt)
    rgb = qimage2ndarray.rgb_view(converted)
    if not alpha:
        return rgb.copy()
    return np.dstack([rgb, qimage2ndarray.alpha_view(converted)]).copy()


def pil_to_qimage(image: Image.Image) -> QImage:
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    return array_to_qimage(np.asarray(image))


def qimage_to_pil(image: QImage) -> Image.Image:
    """QImage -> PIL (RGBA when the QImage has transparency, else RGB)."""
    if image.hasAlphaChannel():
        return Image.fromarray(qimage_to_array(image, alpha=True), "RGBA")
    return Image.fromarray(qimage_to_array(image), "RGB")


def preview_qimage(image: Image.Image, max_side: int = 768) -> QImage:
    """A display copy of ``image`` no larger than ``max_side`` on its long edge."""
    scale = max_side / max(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    return pil_to_qimage(image)
