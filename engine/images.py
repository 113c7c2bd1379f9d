"""Reference images: robust loading, the crop rule, and PNG export with metadata.

The crop rule is the training one (method facts s8): a square of 1.5x the box's longer side,
centred on the box, clipped to the image, resized so its short side is 2.375x the model size,
centre-cropped to 2x and resized to the model size. Without a box, the default box is the
centred square of 2/3 of the image's shorter side, so the crop is the largest centred square.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, PngImagePlugin

from engine.data import object_crop_box, resized_size
from engine.errors import ImageError

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_PIXELS = 64_000_000  # ~8000 x 8000
_MODES_16BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def _open(source: str | Path | bytes | Image.Image) -> tuple[Image.Image, str]:
    if isinstance(source, Image.Image):
        return source, "image"
    if isinstance(source, (bytes, bytearray)):
        if len(source) > MAX_FILE_BYTES:
            raise ImageError("image data is too large (over 200 MB)")
        stream: io.BytesIO | Path = io.BytesIO(source)
        label = "pasted image"
    else:
        path = Path(source)
        label = str(path)
        if path.is_dir():
            raise ImageError(f"{path}: is a folder, not an image")
        if not path.is_file():
            raise ImageError(f"{path}: no such file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageError(f"{path}: file is too large (over 200 MB)")
        stream = path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(stream)
            if img.width * img.height > MAX_PIXELS:
                raise ImageError(
                    f"{label}: image is too large ({img.width}x{img.height} pixels, "
                    f"limit {MAX_PIXELS // 1_000_000} megapixels)"
                )
            img.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{label}: refused: image is a decompression bomb") from None
    except Image.UnidentifiedImageError:
        raise ImageError(f"{label}: not an image (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"{label}: corrupt or truncated image ({err})") from None
    return img, label


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> RGB: EXIF orientation, alpha flattened on white, 16-bit rescaled."""
    img = ImageOps.exif_transpose(img)
    if img.mode in _MODES_16BIT or img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
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
    """Open any common image (frame 0 of animations) as RGB; ImageError with one line if not."""
    img, label = _open(source)
    try:
        img.seek(0)
        return to_rgb(img)
    except (OSError, ValueError) as err:
        raise ImageError(f"{label}: cannot decode image ({err})") from None


def load_frames(source: str | Path | bytes, max_frames: int = 120) -> list[Image.Image]:
    """Every frame (up to ``max_frames``) of an animated GIF/APNG/WebP, as RGB."""
    img, label = _open(source)
    frames = []
    try:
        for i in range(min(getattr(img, "n_frames", 1), max_frames)):
            img.seek(i)
            frames.append(to_rgb(img.copy()))
    except (OSError, ValueError, EOFError) as err:
        if not frames:
            raise ImageError(f"{label}: cannot decode frames ({err})") from None
    return frames


def default_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Centred square of 2/3 the shorter side: its 1.5x crop is the largest centred square."""
    side = max(1, int(min(width, height) / 1.5))
    return (width - side) // 2, (height - side) // 2, side, side


def known_box(path: str | Path) -> tuple[int, int, int, int] | None:
    """The object box of an image listed in a ``boxes.csv`` beside it (``filename,x,y,w,h``),
    as shipped with the example images; None when there is none."""
    path = Path(path)
    table = path.parent / "boxes.csv"
    try:
        lines = table.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 5 and parts[0] == path.name:
            try:
                x, y, w, h = (int(round(float(v))) for v in parts[1:])
            except ValueError:
                return None
            return (x, y, w, h) if w > 0 and h > 0 else None
    return None


def validate_box(box: tuple[float, float, float, float], width: int, height: int) -> None:
    x, y, w, h = box
    if w <= 0 or h <= 0:
        raise ImageError(f"crop box {tuple(box)} is empty")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ImageError(f"crop box {tuple(box)} lies outside the {width}x{height} image")


@dataclass(frozen=True)
class Reference:
    """One slot's reference: an RGB image and an optional object box (x, y, w, h)."""

    image: Image.Image
    box: tuple[int, int, int, int] | None = None
    name: str = ""
    _digest: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.image.mode != "RGB":
            object.__setattr__(self, "image", to_rgb(self.image))
        if self.box is not None:
            box = tuple(int(round(v)) for v in self.box)
            validate_box(box, *self.image.size)
            object.__setattr__(self, "box", box)

    @classmethod
    def from_path(cls, path: str | Path, box=None) -> Reference:
        """Load a reference; without ``box``, a box listed in a ``boxes.csv`` beside it."""
        return cls(load_image(path), box if box is not None else known_box(path), Path(path).name)

    def with_box(self, box) -> Reference:
        return Reference(self.image, box, self.name, self._digest)

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
        return f"{self.digest}:{self.box}"

    def effective_box(self) -> tuple[int, int, int, int]:
        return self.box if self.box is not None else default_box(*self.image.size)

    def crop_rect(self) -> tuple[int, int, int, int]:
        """Effective crop (left, top, right, bottom) in image pixels."""
        return object_crop_box(self.effective_box(), *self.image.size)

    def to_tensor(self, size: int) -> torch.Tensor:
        """The model's view of this reference: (3, size, size) in [-1, 1]."""
        crop = self.image.crop(self.crop_rect())
        crop = crop.resize(resized_size(*crop.size, round(size * 2.375)), Image.BILINEAR)
        w, h = crop.size
        left, top = (w - 2 * size) // 2, (h - 2 * size) // 2
        crop = crop.crop((left, top, left + 2 * size, top + 2 * size))
        crop = crop.resize((size, size), Image.BILINEAR)
        arr = torch.from_numpy(np.asarray(crop, dtype=np.float32).copy())
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
    """Write a PNG with tEXt metadata; ``scale`` > 1 upscales with Lanczos."""
    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.LANCZOS)
    info = PngImagePlugin.PngInfo()
    for key, value in (metadata or {}).items():
        info.add_text(str(key), str(value))
    path = Path(path)
    try:
        img.save(path, format="PNG", pnginfo=info)
    except OSError as err:
        raise ImageError(f"{path}: cannot write PNG ({err.strerror or err})") from None
    return path
