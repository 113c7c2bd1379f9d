"""SynthBirds bird drawing: plumage colours and patterns on a posed, supersampled silhouette.

``_draw_bird`` draws the bird at ``SUPERSAMPLE`` x through masks (so any plumage fits any body
plan) and downsamples it with LANCZOS; ``_shade_bird`` adds volume before compositing.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from .anatomy import _bird_geometry, _ellipse, _jitter_plan
from .factors import _PLUMAGES, SHAPES, Color, Factors

SUPERSAMPLE = 3

# Bare-part colours per body plan: beak, legs, iris (None = plain dark eye).
_PARTS = {
    "round_songbird": ((55, 48, 40), (150, 110, 90), None),
    "long_tailed": ((30, 30, 30), (40, 40, 40), None),
    "duck": ((230, 175, 40), (240, 135, 40), None),
    "owl": ((190, 180, 130), (200, 190, 160), (250, 200, 30)),
    "wader": ((215, 125, 40), (70, 70, 55), None),
    "crested": ((235, 115, 50), (120, 90, 80), None),
}


def _vary(rng: np.random.Generator, color, amount: float = 0.08) -> Color:
    """A colour with small per-image brightness and channel jitter."""
    f = 1 + rng.uniform(-amount, amount)
    return tuple(int(min(255.0, max(0.0, c * f + e))) for c, e in zip(color, rng.normal(0, 5, 3)))


def _shade(color, factor: float) -> Color:
    """A darker (< 1) or lighter (> 1) version of a colour."""
    return tuple(int(min(255, v * factor)) for v in color)


class _Pen:
    """Maps bird units to canvas pixels: mirror, rotation, scale and shift.

    ``pen(pts)`` gives the flat coordinate list ImageDraw wants; ``pen.box`` a circle's box.
    """

    def __init__(self, facing: str, angle_deg: float) -> None:
        a = math.radians(angle_deg)
        m = -1.0 if facing == "left" else 1.0
        # Row vectors, p' = p @ a: mirror x, then turn counter-clockwise on screen (y down).
        self.a = np.array([[m * math.cos(a), -m * math.sin(a)], [math.sin(a), math.cos(a)]])
        self.k, self.t = 1.0, np.zeros(2)

    def posed(self, pts) -> np.ndarray:
        return np.asarray(pts, float) @ self.a

    def __call__(self, pts) -> list[float]:
        return (self.posed(pts) * self.k + self.t).ravel().tolist()

    def box(self, c, radius: float) -> list[float]:
        x, y = self.posed(c) * self.k + self.t
        r = radius * self.k
        return [x - r, y - r, x + r, y + r]


def _draw_pattern(d: ImageDraw.ImageDraw, g: dict, pattern: str, u: _Pen, rng) -> str:
    """Draw a plumage pattern mask; return the region it must be clipped to."""
    p, hc, r = g["plan"], g["head_c"], g["head_r"]
    axis, down = g["axis"], g["down"]
    if pattern == "bars":
        step = 0.12 * (1 + 0.1 * rng.normal())
        ln = down * p["body_ry"] * 1.5
        for t in np.arange(-p["body_rx"] * 1.1, p["body_rx"] * 1.2, step):
            d.line(u([axis * t - ln, axis * t + ln]), fill=255, width=max(1, int(u.k * 0.045)))
        return "body"
    if pattern == "spots":
        lo = np.minimum(g["body"].min(0), hc - r)
        hi = np.maximum(g["body"].max(0), hc + r)
        for pt, s in zip(rng.uniform(lo, hi, (45, 2)), rng.uniform(0.022, 0.036, 45)):
            d.ellipse(u.box(pt, s), fill=255)
        return "all"
    if pattern == "streaks":
        along = rng.uniform(-0.4, 0.95, 28)[:, None] * p["body_rx"] * axis
        across = rng.uniform(-0.15, 0.9, 28)[:, None] * p["body_ry"] * down
        for c in along + across:
            d.line(u([c, c + np.array([0.02, 0.09])]), fill=255, width=max(1, int(u.k * 0.03)))
        return "body"
    if pattern == "breast":
        c = axis * 0.45 * p["body_rx"] + down * 0.4 * p["body_ry"]
        d.polygon(u(_ellipse(c, 0.55 * p["body_rx"], 0.75 * p["body_ry"], p["body_deg"])), fill=255)
        if len(g["neck"]):
            d.line(u(g["neck"][:2]), fill=255, width=int(u.k * p["neck_w"] * 1.6))
        return "soft_body"
    if pattern == "crown":
        d.polygon(u(_ellipse(hc + r * np.array([-0.1, -0.6]), 1.05 * r, 0.7 * r)), fill=255)
        for poly in g["extras"]:
            d.polygon(u(poly), fill=255)
        return "head"
    if pattern == "eyepatch":
        band = np.array([[-1.2, -0.26], [1.3, -0.2], [1.3, 0.22], [-1.2, 0.3]]) * r
        d.polygon(u(band + np.array([hc[0], g["eye"][0][1]])), fill=255)
        return "head"
    return "none"


def _fit_pen(g: dict, f: Factors, width: int, height: int) -> tuple[_Pen, tuple[int, ...]]:
    """Pose the bird so its box has the requested centre and longer side.

    Returns the pen (drawing at ``SUPERSAMPLE`` x) and the frame region x0, y0, x1, y1 it covers.
    """
    pen = _Pen(f.facing, f.angle_deg)
    outline = pen.posed(np.vstack([g["body"], g["head"], g["tail"], g["beak"], g["wing"]]))
    outline = np.vstack([outline] + [pen.posed(poly) for poly in g["extras"]])
    legs = pen.posed(np.vstack([np.asarray(seg) for seg in g["legs"]]))
    lw = g["plan"]["leg_w"] / 2
    lo = np.minimum(outline.min(0), legs.min(0) - lw)
    hi = np.maximum(outline.max(0), legs.max(0) + lw)
    k = f.scale * min(width, height) / float((hi - lo).max())
    c, half = np.array([f.center_x, f.center_y]), (hi - lo) * k / 2
    x0, y0 = np.maximum(0, np.floor(c - half) - 2).astype(int)
    x1, y1 = np.minimum([width, height], np.ceil(c + half) + 2).astype(int)
    pen.k = k * SUPERSAMPLE
    pen.t = SUPERSAMPLE * (c - (lo + hi) / 2 * k - np.array([x0, y0]))
    return pen, (int(x0), int(y0), int(max(x1, x0 + 1)), int(max(y1, y0 + 1)))


def _draw_bird(f: Factors, width: int, height: int, rng: np.random.Generator):
    """Draw the posed bird at ``SUPERSAMPLE`` x and downsample it with LANCZOS.

    Returns (colour premultiplied by coverage, coverage) as "RGB" and "L" images and the frame
    region x0, y0, x1, y1 they cover.
    """
    plan = _jitter_plan(rng, f.shape)
    g = _bird_geometry(plan)
    _, base, wing, accent, pattern = _PLUMAGES[f.texture]
    base, wing, accent = _vary(rng, base), _vary(rng, wing), _vary(rng, accent, 0.05)
    beak_c, leg_c, iris = _PARTS[SHAPES[f.shape]]
    u, (x0, y0, x1, y1) = _fit_pen(g, f, width, height)
    size = (SUPERSAMPLE * (x1 - x0), SUPERSAMPLE * (y1 - y0))
    rgb, alpha = Image.new("RGB", size), Image.new("L", size)
    dr, da = ImageDraw.Draw(rgb), ImageDraw.Draw(alpha)

    def both(kind: str, xy, color, **kw) -> None:
        getattr(dr, kind)(xy, fill=color, **kw)
        getattr(da, kind)(xy, fill=255, **kw)

    leg_w, leg_c = max(1, int(u.k * plan["leg_w"])), _vary(rng, leg_c, 0.05)
    for seg in g["legs"]:
        both("line", u(seg), leg_c, width=leg_w, joint="curve")
    both("polygon", u(g["tail"]), _shade(wing, 0.85))
    # Silhouette masks: body (with neck) and head (with crest / tufts).
    body_m, head_m = Image.new("L", size), Image.new("L", size)
    db, dh = ImageDraw.Draw(body_m), ImageDraw.Draw(head_m)
    db.polygon(u(g["body"]), fill=255)
    if len(g["neck"]):
        db.line(u(g["neck"]), fill=255, width=int(u.k * plan["neck_w"] * 2), joint="curve")
    dh.polygon(u(g["head"]), fill=255)
    for poly in g["extras"]:
        dh.polygon(u(poly), fill=255)
    sil = ImageChops.lighter(body_m, head_m)
    rgb.paste(base, mask=sil)
    alpha.paste(255, mask=sil)
    pm = Image.new("L", size)
    region = _draw_pattern(ImageDraw.Draw(pm), g, pattern, u, rng)
    if region != "none":
        if region == "soft_body":
            pm = pm.filter(ImageFilter.BoxBlur(u.k * 0.04))
        clip = {"body": body_m, "soft_body": body_m, "head": head_m}.get(region, sil)
        rgb.paste(accent, mask=ImageChops.multiply(pm, clip))
    # Wing with a darker edge and primary feathers.
    w = g["wing"]
    edge = max(1, int(u.k * 0.012))
    dr.polygon(u(w), fill=wing, outline=_shade(wing, 0.65), width=edge)
    da.polygon(u(w), fill=255, outline=255, width=edge)
    tip = w[len(w) // 2]
    for j in (0.25, 0.45, 0.65):
        start = w[int(len(w) * (0.5 - j / 2.6))]
        seg = [start + (tip - start) * 0.35, tip + (start - tip) * 0.02]
        dr.line(u(seg), fill=_shade(wing, 0.6), width=max(1, int(u.k * 0.01)))
    both("polygon", u(g["beak"]), _vary(rng, beak_c, 0.05))
    eye_c, eye_r = g["eye"]
    if iris is not None:
        dr.ellipse(u.box(eye_c, eye_r), fill=iris)
    dr.ellipse(u.box(eye_c, eye_r * (0.55 if iris else 1.0)), fill=(15, 15, 15))
    dr.ellipse(u.box(eye_c + np.array([0.3, -0.35]) * eye_r, eye_r * 0.3), fill=(245, 245, 245))
    out = (x1 - x0, y1 - y0)
    lanczos = Image.Resampling.LANCZOS
    return rgb.resize(out, lanczos), alpha.resize(out, lanczos), (x0, y0, x1, y1)


def _shade_bird(rgb: Image.Image, alpha: Image.Image, px_per_unit: float) -> np.ndarray:
    """Give the flat drawing volume: a top-lit gradient and darker rims (float RGB).

    The colour stays premultiplied: it is clamped to the coverage (LANCZOS rings differently in
    colour and coverage), so nothing is added where the bird is absent.
    """
    rim = alpha.filter(ImageFilter.BoxBlur(max(1, round(0.035 * px_per_unit))))
    rim = np.clip((np.asarray(rim, np.float32) / 255 - 0.5) * 2.5, 0, 1)
    light = np.linspace(1.12, 0.82, rim.shape[0], dtype=np.float32)[:, None] * (0.8 + 0.2 * rim)
    col = np.minimum(np.asarray(rgb, np.float32), np.asarray(alpha, np.float32)[..., None])
    return col * light[:, :, None]
