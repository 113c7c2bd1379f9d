"""Reference images: robust loading, their crop for the model, and PNG export with metadata.

A reference's view is the training crop rule (``engine.crop``): the object crop around its box
(or the default box), or in the ``whole`` crop mode the whole image resized to the model size,
the released evaluation's preprocessing.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, PngImagePlugin

from engine.crop import (  # noqa: F401 (default_box is re-exported)
    CROP_MODES,
    default_box,
    object_crop,
    object_crop_box,
    whole_image,
)
from engine.errors import ImageError
from engine.safe_io import atomic_write, check_input_file, open_raster

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_PIXELS = 64_000_000  # ~8000 x 8000
MAX_FRAME_PIXELS = 64_000_000  # all frames of an animation together
MIN_SIDE = 8  # px: a shorter side holds no object to crop
MAX_ASPECT = 20  # long side / short side
_MODES_16BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def _open(source: str | Path | bytes | Image.Image) -> tuple[Image.Image, str]:
    """Open (and fully decode frame 0 of) a raster image; the caller closes it."""
    if isinstance(source, Image.Image):
        check_size(source.width, source.height, "image")
        return source, "image"
    if isinstance(source, (bytes, bytearray)):
        if len(source) > MAX_FILE_BYTES:
            raise ImageError("image data is too large (over 200 MB)")
        stream: io.BytesIO | Path = io.BytesIO(source)
        label = "pasted image"
    else:
        path = check_input_file(source, ImageError)
        label = str(path)
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageError(f"{path}: file is too large (over 200 MB)")
        stream = path
    img = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy on NaN/inf float TIFFs
            img = open_raster(stream)
            check_size(img.width, img.height, label)
            img.load()
    except ImageError:
        _close(img)
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        _close(img)
        raise ImageError(f"{label}: refused: image is a decompression bomb") from None
    except Image.UnidentifiedImageError:
        _close(img)
        raise ImageError(
            f"{label}: not an image (unknown or corrupt format; raster images only)"
        ) from None
    except PermissionError:
        _close(img)
        raise ImageError(f"{label}: permission denied") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        _close(img)
        raise ImageError(f"{label}: corrupt or truncated image ({err})") from None
    return img, label


def _close(img: Image.Image | None) -> None:
    if img is not None:
        img.close()


def check_size(width: int, height: int, label: str) -> None:
    """Refuse images too large to decode, with a tiny short side or a degenerate aspect ratio."""
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{label}: image is too large ({width}x{height} pixels, "
            f"limit {MAX_PIXELS // 1_000_000} megapixels)"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            f"{label}: image is too small ({width}x{height} pixels; "
            f"the short side must be at least {MIN_SIDE} px)"
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageError(
            f"{label}: image is too thin ({width}x{height} pixels; "
            f"the aspect ratio must be at most {MAX_ASPECT}:1)"
        )


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> RGB: EXIF orientation, alpha flattened on white, 16-bit rescaled."""
    img = ImageOps.exif_transpose(img)
    if img.mode in _MODES_16BIT or img.mode == "F":
        arr = np.nan_to_num(np.asarray(img, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        top = 65535.0 if img.mode.startswith("I;16") else max(float(arr.max()), 1.0)
        img = Image.fromarray(np.clip(arr / top * 255.0, 0, 255).astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return img.convert("RGB")


def load_image(source: str | Path | bytes | Image.Image) -> Image.Image:
    """Open any common raster image (frame 0 of animations) as RGB; ImageError with one line
    if not. Files are closed before returning."""
    img, label = _open(source)
    try:
        img.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return to_rgb(img)
    except (OSError, ValueError) as err:
        raise ImageError(f"{label}: cannot decode image ({err})") from None
    finally:
        if img is not source:
            img.close()


def load_frames(
    source: str | Path | bytes, max_frames: int = 120, max_pixels: int = MAX_FRAME_PIXELS
) -> list[Image.Image]:
    """Every frame (up to ``max_frames``) of an animated GIF/APNG/WebP, as RGB.

    All frames together hold at most ``max_pixels``: larger frames are scaled down to fit.
    """
    img, label = _open(source)
    frames = []
    try:
        count = min(getattr(img, "n_frames", 1), max_frames)
        scale = min(1.0, (max_pixels / (count * img.width * img.height)) ** 0.5)
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        for i in range(count):
            img.seek(i)
            frame = to_rgb(img.copy())
            frames.append(frame if frame.size == size else frame.resize(size, Image.BILINEAR))
    except (OSError, ValueError, EOFError) as err:
        if not frames:
            raise ImageError(f"{label}: cannot decode frames ({err})") from None
    finally:
        img.close()
    return frames


def known_box(path: str | Path) -> tuple[int, int, int, int] | None:
    """The object box of an image listed in a ``boxes.csv`` beside it (``filename,x,y,w,h``),
    as shipped with the example images; None when there is none. A listed but malformed box
    raises ImageError naming the table and line."""
    path = Path(path)
    table = path.parent / "boxes.csv"
    try:
        lines = table.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for n, line in enumerate(lines, 1):
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 5 and parts[0] == path.name:
            try:
                return parse_box(parts[1:])
            except ImageError as err:
                raise ImageError(f"{table}:{n}: {path.name}: {err}") from None
    return None


def parse_box(values) -> tuple[int, int, int, int]:
    """Four finite numbers x, y, w, h (w, h > 0) -> an int box; ImageError otherwise."""
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ImageError(f"crop box must be 4 numbers x,y,w,h, got {list(values)}") from None
    if len(numbers) != 4:
        raise ImageError(f"crop box must have 4 numbers x,y,w,h, got {len(numbers)}")
    if not all(math.isfinite(v) and abs(v) < 1e9 for v in numbers):
        raise ImageError(f"crop box numbers must be finite, got {numbers}")
    box = tuple(int(round(v)) for v in numbers)
    if box[2] <= 0 or box[3] <= 0:
        raise ImageError(f"crop box {box} is empty")
    return box  # type: ignore[return-value]


def validate_box(box: tuple[float, float, float, float], width: int, height: int) -> None:
    x, y, w, h = box
    if w <= 0 or h <= 0:
        raise ImageError(f"crop box {tuple(box)} is empty")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ImageError(f"crop box {tuple(box)} lies outside the {width}x{height} image")


@dataclass(frozen=True)
class Reference:
    """One slot's reference: an RGB image, an optional object box (x, y, w, h) and a crop mode.

    ``crop``: ``object`` (the training crop around the box) or ``whole`` (the whole image resized
    to the model size, aspect not preserved: the released evaluation's preprocessing).
    """

    image: Image.Image
    box: tuple[int, int, int, int] | None = None
    name: str = ""
    _digest: str = field(default="", compare=False, repr=False)
    crop: str = "object"

    def __post_init__(self) -> None:
        if self.crop not in CROP_MODES:
            raise ImageError(f"unknown crop mode {self.crop!r}; use {' or '.join(CROP_MODES)}")
        if self.image.mode != "RGB":
            object.__setattr__(self, "image", to_rgb(self.image))
        if self.box is not None:
            try:
                box = parse_box(self.box)
                validate_box(box, *self.image.size)
            except ImageError as err:
                raise ImageError(f"{self.name}: {err}" if self.name else str(err)) from None
            object.__setattr__(self, "box", box)

    @classmethod
    def from_path(cls, path: str | Path, box=None, crop: str = "object") -> Reference:
        """Load a reference; without ``box``, a box listed in a ``boxes.csv`` beside it."""
        box = box if box is not None else known_box(path)
        return cls(load_image(path), box, Path(path).name, crop=crop)

    def with_box(self, box) -> Reference:
        return Reference(self.image, box, self.name, self._digest, self.crop)

    def with_crop(self, crop: str) -> Reference:
        return Reference(self.image, self.box, self.name, self._digest, crop)

    @property
    def digest(self) -> str:
        """SHA-1 of the pixels (and size), for caching and export metadata."""
        if not self._digest:
            h = hashlib.sha1(f"{self.image.size}".encode())
            h.update(self.image.tobytes())
            object.__setattr__(self, "_digest", h.hexdigest())
        return self._digest

    @property
    def key(self) -> str:
        return f"{self.digest}:{self.box}:{self.crop}"

    def effective_box(self) -> tuple[int, int, int, int]:
        return self.box if self.box is not None else default_box(*self.image.size)

    def crop_rect(self) -> tuple[int, int, int, int]:
        """Effective crop (left, top, right, bottom) in image pixels."""
        if self.crop == "whole":
            return 0, 0, *self.image.size
        return object_crop_box(self.effective_box(), *self.image.size)

    def to_tensor(self, size: int) -> torch.Tensor:
        """The model's view of this reference: (3, size, size) in [-1, 1]."""
        if self.crop == "whole":
            view = whole_image(self.image, size)
        else:
            view = object_crop(self.image, self.effective_box(), size)
        arr = torch.from_numpy(np.asarray(view, dtype=np.float32).copy())
        return arr.permute(2, 0, 1) / 127.5 - 1.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] (or masks in [0, 1] with C=1) -> (N, H, W, 3) uint8.

    Linear map [-1, 1] -> [0, 255]; never a per-image min-max stretch.
    """
    x = x.detach().float().cpu()
    if x.shape[1] == 1:  # masks
        x = x.expand(-1, 3, -1, -1) * 2 - 1
    arr = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return arr.permute(0, 2, 3, 1).numpy()


def save_png(
    image: np.ndarray | Image.Image,
    path: str | Path,
    metadata: dict[str, str] | None = None,
    scale: int = 1,
) -> Path:
    """Write a PNG with tEXt metadata, atomically; ``scale`` > 1 upscales with Lanczos."""
    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.LANCZOS)
    info = PngImagePlugin.PngInfo()
    for key, value in (metadata or {}).items():
        info.add_text(str(key), str(value))
    return atomic_write(
        path, lambda tmp: img.save(tmp, format="PNG", pnginfo=info), "PNG", ImageError
    )
