"""The object-crop rule, shared by training (``engine.data``) and inference (``engine.images``).

The object crop is a square of 1.5x the box's longer side, centred on the box and clipped to
the image. It is resized so its short side is 2.375x the model size, a 2x window is taken from
it (at the centre, or at a random offset when training augments) and that window is resampled
once, bilinearly, to the model size. Without a box, the default box is the centred square of
2/3 of the image's shorter side, so the crop is the largest centred square.

The ``whole`` crop mode is the released evaluation's preprocessing: the whole image resized to
the model size, the aspect ratio not preserved, nothing cut.

Boxes are (x, y, w, h) in image pixels; rectangles are (left, top, right, bottom).
Light module: PIL only, no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PIL import Image

CROP_MODES = ("object", "whole")
OBJECT_RESIZE = 2.375  # short side of the resized object crop, in model sizes
REDUCING_GAP = 3.0  # PIL's two-step downscale for large reductions (bounded cost)


def default_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Centred square of 2/3 the shorter side: its 1.5x crop is the largest centred square."""
    side = max(1, int(min(width, height) / 1.5))
    return (width - side) // 2, (height - side) // 2, side, side


def object_crop_box(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """Square of side 2*int(0.75*max(w, h)) centred on the box, clipped: (l, t, r, b)."""
    x, y, w, h = box
    r = int(0.75 * max(w, h))
    cx, cy = int(x + w / 2), int(y + h / 2)
    left, top = max(0, cx - r), max(0, cy - r)
    right, bottom = min(width, cx + r), min(height, cy + r)
    if right <= left or bottom <= top:  # box outside the image: fall back to the whole image
        return 0, 0, width, height
    return left, top, right, bottom


def resized_size(width: float, height: float, short: int) -> tuple[int, int]:
    """Size after resizing the short side to ``short`` (the long side truncated, as usual)."""
    if width <= height:
        return short, max(short, int(short * height / width))
    return max(short, int(short * width / height)), short


def object_resize(size: int) -> int:
    """Short side of the resized object crop for a model of ``size`` px (304 at 128 px)."""
    return round(size * OBJECT_RESIZE)


def centre_offset(resized: tuple[int, int], crop: int) -> tuple[int, int]:
    """Offset of the centred ``crop`` x ``crop`` window in an image of size ``resized``."""
    return round((resized[0] - crop) / 2), round((resized[1] - crop) / 2)


def object_window(
    box: Sequence[float],
    width: int,
    height: int,
    size: int,
    pick_offset: Callable[[tuple[int, int], int], tuple[int, int]] = centre_offset,
) -> tuple[float, float, float, float]:
    """The source window (l, t, r, b) in image pixels that becomes the model's object view.

    ``pick_offset(resized, crop)`` places the 2*size window in the resized crop: centred by
    default, at random when training augments.
    """
    left, top, right, bottom = object_crop_box(box, width, height)
    cw, ch = right - left, bottom - top
    resized = resized_size(cw, ch, object_resize(size))
    ox, oy = pick_offset(resized, 2 * size)
    kx, ky = cw / resized[0], ch / resized[1]  # source px per resized px
    return left + ox * kx, top + oy * ky, left + (ox + 2 * size) * kx, top + (oy + 2 * size) * ky


def resample(img: Image.Image, window: Sequence[float], size: int | tuple[int, int]) -> Image.Image:
    """The window (l, t, r, b) of ``img`` resampled once, bilinearly, to ``size``."""
    out = (size, size) if isinstance(size, int) else size
    return img.resize(out, Image.BILINEAR, box=tuple(window), reducing_gap=REDUCING_GAP)


def object_crop(img: Image.Image, box: Sequence[float] | None, size: int) -> Image.Image:
    """The model's centred object view of ``img`` (size x size), as training sees it unaugmented."""
    if box is None:
        box = default_box(*img.size)
    window = object_window(box, img.width, img.height, size)
    return resample(img, window, size)


def whole_image(img: Image.Image, size: int) -> Image.Image:
    """The released evaluation's preprocessing: the whole image resized to size x size."""
    return img.resize((size, size), Image.BILINEAR)


def warp_box(
    box: Sequence[float],
    width: float,
    height: float,
    resized: tuple[int, int],
    offset: tuple[int, int],
    bg: int,
    flip: bool,
) -> tuple[float, float, float, float]:
    """Warp an (x, y, w, h) image box into a bg x bg crop at ``offset`` of the resized image.

    Returns (y1, x1, y2, x2) in crop pixels, clamped to [0, bg], mirrored when ``flip``.
    """
    x, y, w, h = box
    sx, sy = resized[0] / width, resized[1] / height
    x1, x2 = x * sx - offset[0], (x + w) * sx - offset[0]
    y1, y2 = y * sy - offset[1], (y + h) * sy - offset[1]
    x1, x2, y1, y2 = (min(max(v, 0.0), float(bg)) for v in (x1, x2, y1, y2))
    if flip:
        x1, x2 = bg - x2, bg - x1
    return y1, x1, y2, x2
