"""SynthBirds rendering: habitat, bird and camera touches composed into one image and its box."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from .birds import _draw_bird, _shade_bird
from .factors import Factors
from .habitats import render_background

ALPHA_THRESHOLD = 64  # a pixel belongs to the bird's box when its coverage is >= 25%

_NOISE_BANK: dict[tuple[int, int], np.ndarray] = {}


def _sensor_noise(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Unit Gaussian noise (H, W, 3): a random window of a fixed, seeded bank (fast)."""
    bank = _NOISE_BANK.get((h, w))
    if bank is None:
        bank = np.random.default_rng(1234).standard_normal((h + 64, w + 64, 3), dtype=np.float32)
        _NOISE_BANK[(h, w)] = bank
    y, x = rng.integers(0, 64, 2)
    return bank[y : y + h, x : x + w] * (1 if rng.random() < 0.5 else -1)


def _blur3(arr: np.ndarray, a: float, axis: int) -> np.ndarray:
    """A 3-tap blur [a, 1 - 2a, a] along one axis (edges repeated)."""
    pad = [(0, 0)] * arr.ndim
    pad[axis] = (1, 1)
    p = np.pad(arr, pad, mode="edge")
    n = arr.shape[axis]
    take = lambda i: p.take(range(i, i + n), axis=axis)  # noqa: E731
    return (1 - 2 * a) * take(1) + a * (take(0) + take(2))


def _finish(arr: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Camera touches: mild blur, lighting gradient, exposure, white balance, sensor noise."""
    a = rng.uniform(0.06, 0.16)
    arr = _blur3(_blur3(arr, a, 0), a, 1)
    h, w = arr.shape[:2]
    ang = rng.uniform(0, 2 * np.pi)
    y = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None, None]
    x = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :, None]
    slope = rng.uniform(0.1, 0.3)
    light = rng.uniform(0.9, 1.08) * (1 + slope * (x * math.cos(ang) + y * math.sin(ang)))
    gain = light * rng.uniform(0.96, 1.04, 3).astype(np.float32)
    arr = arr * gain + _sensor_noise(rng, h, w) * rng.uniform(1.5, 4.0) + 0.5
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def render_layers(factors: Factors, width: int = 192, height: int = 160, seed: int = 0):
    """Render one image; returns (RGB image, bird coverage (H, W) uint8, box x, y, w, h)."""
    rng = np.random.default_rng(seed)
    frame = np.asarray(render_background(factors.background, width, height, rng), np.float32)
    rgb, alpha, (x0, y0, x1, y1) = _draw_bird(factors, width, height, rng)
    a = np.asarray(alpha, np.float32)[..., None] / 255
    px_per_unit = factors.scale * min(width, height) / 1.5
    frame[y0:y1, x0:x1] = frame[y0:y1, x0:x1] * (1 - a) + _shade_bird(rgb, alpha, px_per_unit)
    mask = np.zeros((height, width), np.uint8)
    mask[y0:y1, x0:x1] = np.asarray(alpha)
    rows = np.flatnonzero((mask >= ALPHA_THRESHOLD).any(1))
    cols = np.flatnonzero((mask >= ALPHA_THRESHOLD).any(0))
    if len(rows) == 0:  # not for valid factors; keep a sane box anyway
        rows, cols = np.array([y0]), np.array([x0])
    box = (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
    return _finish(frame, rng), mask, box


def render(
    factors: Factors, width: int = 192, height: int = 160, seed: int = 0
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Render one SynthBirds image (before JPEG) and its tight bird box (x, y, w, h)."""
    img, _, box = render_layers(factors, width, height, seed)
    return img, box
