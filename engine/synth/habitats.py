"""SynthBirds habitats: the eight procedural backgrounds.

Habitats are drawn at half resolution (they are out of focus) with ``s`` = canvas width / 192,
so lengths below are in pixels of a 192-wide frame.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .factors import Color


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    """An RGB colour in [0, 1] from hue, saturation, value (hue wraps)."""
    return np.array(colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0), 1), min(max(v, 0), 1)), np.float32)


def _c255(col) -> Color:
    """A [0, 1] colour as 8-bit."""
    return tuple(int(min(255, max(0, c * 255))) for c in col)


def _vgrad(h: int, w: int, stops: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """A vertical gradient (H, W, 3) through colour stops at relative heights."""
    ys = np.linspace(0, 1, h, dtype=np.float32)
    col = np.stack(
        [np.interp(ys, [s[0] for s in stops], [s[1][c] for s in stops]) for c in range(3)]
    )
    return np.broadcast_to(col.T[:, None, :], (h, w, 3)).astype(np.float32)


def _smooth(rng: np.random.Generator, w: int, h: int, cells: int = 6) -> np.ndarray:
    """Low-frequency noise (H, W, 1) in about [-1, 1]."""
    small = rng.integers(0, 256, (max(2, cells * h // w), cells), dtype=np.uint8)
    big = Image.fromarray(small, "L").resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(big, np.float32)[..., None] / 127.5 - 1.0


def _to_img(arr: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(arr, 0, 1) * 255).astype(np.uint8), "RGB")


def _discs(img: Image.Image, xy, radius, color, opacity, blur: float = 0.0) -> Image.Image:
    """Blend soft discs of one colour into ``img`` (clouds, bokeh, sun, snowflakes, pebbles)."""
    mask = Image.new("L", img.size)
    d = ImageDraw.Draw(mask)
    for (x, y), r, o in zip(np.asarray(xy).tolist(), np.ravel(radius), np.ravel(opacity)):
        d.ellipse([x - r, y - r, x + r, y + r], fill=int(255 * o))
    if blur > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(blur))
    img.paste(_c255(color), mask=mask)
    return img


def _bg_sky(rng, w, h, s):
    hue = rng.uniform(0.56, 0.61)
    top = _hsv(hue, rng.uniform(0.5, 0.75), rng.uniform(0.68, 0.85))
    low = _hsv(hue + 0.02, rng.uniform(0.12, 0.3), rng.uniform(0.9, 0.98))
    img = _to_img(_vgrad(h, w, [(0, top), (1, low)]) + 0.02 * _smooth(rng, w, h))
    n = int(rng.integers(0, 4))
    centres = np.repeat(rng.uniform([0, 0], [w, 0.8 * h], (n, 2)), 7, axis=0)
    spread = np.repeat(rng.uniform(20, 60, n) * s, 7)[:, None] * np.array([1.0, 0.25])
    xy = centres + rng.uniform(-1, 1, (7 * n, 2)) * spread
    return _discs(img, xy, rng.uniform(6, 14, 7 * n) * s, _hsv(0, 0, 0.99), [0.8] * 7 * n, 4 * s)


def _bg_water(rng, w, h, s):
    hue = rng.uniform(0.48, 0.58)
    far = _hsv(hue, rng.uniform(0.3, 0.5), rng.uniform(0.55, 0.7))
    near = _hsv(hue + 0.02, rng.uniform(0.5, 0.75), rng.uniform(0.3, 0.45))
    arr = _vgrad(h, w, [(0, far), (1, near)])
    y = np.arange(h, dtype=np.float32)[:, None]
    x = np.arange(w, dtype=np.float32)[None, :]
    spacing = (2.5 + 7 * y / h) * s * rng.uniform(0.8, 1.3)
    phase = np.cumsum(2 * np.pi / spacing, axis=0)
    wobble = (
        1.2 * np.sin(x / (rng.uniform(8, 20) * s) + rng.uniform(0, 6))
        + _smooth(rng, w, h, 8)[..., 0]
    )
    ripple = np.sin(phase + wobble)[..., None]
    arr = arr * (1 + 0.12 * ripple) + 0.45 * np.clip(ripple - 0.75, 0, 1)
    if rng.random() < 0.4:  # a far shore along the top
        arr[: int(rng.uniform(0.08, 0.22) * h)] = _hsv(rng.uniform(0.22, 0.35), 0.45, 0.3)
    return _to_img(arr)


def _bg_grass(rng, w, h, s):
    hue = rng.uniform(0.2, 0.3)
    stops = [(0, _hsv(hue, 0.45, 0.75)), (0.5, _hsv(hue, 0.6, 0.55)), (1, _hsv(hue, 0.7, 0.35))]
    img = _to_img(_vgrad(h, w, stops) + 0.12 * _smooth(rng, w, h, 4))
    n = 260
    x0, y0 = rng.uniform(-5 * s, w + 5 * s, n), rng.uniform(0.25 * h, h + 10 * s, n)
    length = rng.uniform(8, 30, n) * s * (0.4 + y0 / h)
    a = np.radians(rng.normal(-90, 14, n))
    ends = np.stack([x0, y0, x0 + length * np.cos(a), y0 + length * np.sin(a)], 1)
    dark, light = _hsv(hue + 0.02, 0.8, 0.3), _hsv(hue - 0.03, 0.5, 0.85)
    cols = (dark + rng.uniform(0, 1, (n, 1)) * (light - dark)) * 255
    d = ImageDraw.Draw(img)
    for xy, col in zip(ends.tolist(), cols.astype(int).tolist()):
        d.line(xy, fill=tuple(col), width=max(1, round(1.5 * s)))
    return img


def _bg_foliage(rng, w, h, s):
    hue = rng.uniform(0.22, 0.38)
    base = _hsv(hue, rng.uniform(0.5, 0.8), rng.uniform(0.2, 0.32))
    img = _to_img(base * (1 + 0.45 * _smooth(rng, w, h, 5) + 0.2 * _smooth(rng, w, h, 12)))
    n = int(rng.integers(10, 24))
    light = _hsv(hue - 0.05, rng.uniform(0.2, 0.55), rng.uniform(0.85, 1.0))
    xy = rng.uniform([0, 0], [w, h], (n, 2))
    return _discs(img, xy, rng.uniform(3, 13, n) * s, light, rng.uniform(0.35, 0.6, n), 0.6 * s)


def _bg_branch(rng, w, h, s):
    hue = rng.choice([0.58, 0.3, 0.95]) + rng.normal(0, 0.02)
    img = _to_img(
        _hsv(hue, rng.uniform(0.1, 0.3), rng.uniform(0.72, 0.88)) * (1 + 0.08 * _smooth(rng, w, h))
    )
    d = ImageDraw.Draw(img)
    pts = np.stack([np.linspace(-10, w + 10, 7), np.linspace(*rng.uniform(0.3, 0.9, 2) * h, 7)], 1)
    pts[:, 1] += rng.normal(0, 3 * s, 7)
    t = rng.uniform(6, 14) * s
    bark = _hsv(rng.uniform(0.06, 0.1), rng.uniform(0.4, 0.6), rng.uniform(0.25, 0.4))
    for _ in range(int(rng.integers(1, 4))):  # twigs with a leaf
        start = pts[int(rng.integers(1, 6))]
        a = math.radians(rng.uniform(-160, -20) if rng.random() < 0.7 else rng.uniform(20, 160))
        end = start + rng.uniform(20, 50) * s * np.array([math.cos(a), math.sin(a)])
        d.line([*start, *end], fill=_c255(bark * 1.1), width=max(1, int(t / 2.5)))
        leaf = _hsv(rng.uniform(0.2, 0.33), 0.6, rng.uniform(0.35, 0.6))
        d.ellipse([*(end - 4 * s), *(end + 4 * s)], fill=_c255(leaf))
    d.line(pts.ravel().tolist(), fill=_c255(bark), width=max(1, int(t)), joint="curve")
    d.line((pts - [0, t / 4]).ravel().tolist(), fill=_c255(bark * 1.35), width=max(1, int(t / 4)))
    return img


def _bg_sand(rng, w, h, s):
    base = _hsv(rng.uniform(0.08, 0.12), rng.uniform(0.25, 0.45), rng.uniform(0.72, 0.88))
    y = np.arange(h, dtype=np.float32)[:, None, None]
    x = np.arange(w, dtype=np.float32)[None, :, None]
    a = rng.uniform(-0.6, 0.6)
    wave = np.sin(
        (y * math.cos(a) + x * math.sin(a)) / (rng.uniform(3, 6) * s) + _smooth(rng, w, h)
    )
    grain = rng.normal(0, 0.045, (h, w, 1)).astype(np.float32)
    img = _to_img(base * (1 + 0.05 * wave + 0.08 * _smooth(rng, w, h, 3) + grain))
    n = int(rng.integers(3, 12))
    xy = rng.uniform([0, 0], [w, h], (n, 2))
    return _discs(img, xy, rng.uniform(0.7, 2, n) * s, base * 0.55, [0.9] * n)


def _bg_snow(rng, w, h, s):
    snow = _hsv(rng.uniform(0.55, 0.62), rng.uniform(0.02, 0.09), rng.uniform(0.9, 0.98))
    arr = snow * (1 + 0.05 * _smooth(rng, w, h, 4)) * np.ones((h, w, 1), np.float32)
    horizon = int(rng.uniform(0.25, 0.5) * h)
    arr[:horizon] = _vgrad(horizon, w, [(0, _hsv(0.6, 0.08, 0.75)), (1, _hsv(0.6, 0.05, 0.88))])
    img = _to_img(arr)
    if rng.random() < 0.6:  # dark conifers far away
        d = ImageDraw.Draw(img)
        tree = _c255(_hsv(rng.uniform(0.3, 0.45), rng.uniform(0.2, 0.4), rng.uniform(0.15, 0.3)))
        for x in rng.uniform(-10, w + 10, int(rng.integers(6, 16))).tolist():
            tw, th = rng.uniform(6, 11) * s, rng.uniform(0.35, 0.75) * horizon
            d.polygon([x - tw, horizon + 1, x, horizon - th, x + tw, horizon + 1], fill=tree)
    if rng.random() < 0.5:  # falling snow
        n = int(rng.integers(15, 50))
        xy = rng.uniform([0, 0], [w, h], (n, 2))
        _discs(img, xy, rng.uniform(0.6, 1.6, n) * s, _hsv(0, 0, 1), [0.9] * n)
    return img


def _bg_sunset(rng, w, h, s):
    horizon = rng.uniform(0.65, 0.9)
    stops = [
        (0, _hsv(rng.uniform(0.7, 0.78), rng.uniform(0.5, 0.7), rng.uniform(0.25, 0.4))),
        (
            horizon * 0.55,
            _hsv(rng.uniform(0.9, 0.98), rng.uniform(0.45, 0.7), rng.uniform(0.6, 0.8)),
        ),
        (horizon, _hsv(rng.uniform(0.06, 0.11), rng.uniform(0.7, 0.9), rng.uniform(0.92, 1.0))),
        (1, _hsv(0.05, 0.6, 0.25)),
    ]
    img = _to_img(_vgrad(h, w, stops))
    sun = [[rng.uniform(0.1, 0.9) * w, horizon * h - rng.uniform(0, 15) * s]]
    _discs(img, sun, rng.uniform(25, 40) * s, _hsv(0.1, 0.5, 1.0), 0.5, 10 * s)
    _discs(img, sun, rng.uniform(6, 11) * s, _hsv(0.13, 0.15, 1.0), 1.0, 0.5 * s)
    if rng.random() < 0.5:  # dark land below the horizon
        ImageDraw.Draw(img).rectangle([0, horizon * h, w, h], fill=(25, 15, 25))
    return img


# Habitat drawers and their defocus blur range (pixels of a 192-wide frame).
_HABITAT_DRAWERS = (
    (_bg_sky, (1.5, 3.0)),
    (_bg_water, (0.8, 1.4)),
    (_bg_grass, (1.2, 2.2)),
    (_bg_foliage, (1.6, 3.0)),
    (_bg_branch, (1.2, 2.4)),
    (_bg_sand, (0.6, 1.0)),
    (_bg_snow, (1.2, 2.4)),
    (_bg_sunset, (1.2, 2.4)),
)


def render_background(
    background: int, width: int, height: int, rng: np.random.Generator
) -> Image.Image:
    """One habitat image (RGB), drawn at half resolution and slightly defocused."""
    hw, hh = max(8, width // 2), max(8, height // 2)
    draw, blur = _HABITAT_DRAWERS[background]
    img = draw(rng, hw, hh, hw / 192).filter(
        ImageFilter.GaussianBlur(rng.uniform(*blur) * hw / 192)
    )
    return img.resize((width, height), Image.Resampling.BICUBIC)
