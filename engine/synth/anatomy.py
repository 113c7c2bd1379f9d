"""SynthBirds body plans and their geometry in bird units (body about 1 long, y down, facing +x).

A body plan is jittered per image (``_jitter_plan``) and turned into the polygons and polylines
of one bird (``_bird_geometry``): body, head, neck, crest or tufts, tail, wing, beak, eye, legs.
"""

from __future__ import annotations

import math

import numpy as np

from .factors import SHAPES

# Body plans in bird units (body about 1 long, y down, facing +x).  Names ending in ``_deg`` are
# angles (0 = forward, 90 = down); the others are lengths or offsets, jittered per image.
_PLAN_KEYS = (
    "body_rx body_ry body_deg egg head_x head_y head_r neck_w beak_len beak_w beak_tip beak_deg "
    "tail_len tail_w tail_deg fork wing_x wing_y wing_len wing_h wing_deg leg_len leg_w leg_x "
    "crest tufts eye_r"
).split()
_PLAN_VALUES = {
    "round_songbird": (0.40, 0.31, -25, 0.12, 0.33, -0.30, 0.20, 0, 0.14, 0.055, 0.1, 5)
    + (0.34, 0.09, 160, 0, -0.04, -0.04, 0.56, 0.17, -18, 0.22, 0.025, 0.07, 0, 0, 0.18),
    "long_tailed": (0.36, 0.20, -18, 0.08, 0.34, -0.22, 0.15, 0, 0.13, 0.04, 0.1, 4)
    + (1.00, 0.06, 168, 0.03, -0.05, -0.03, 0.55, 0.13, -14, 0.22, 0.02, 0.06, 0, 0, 0.2),
    "duck": (0.52, 0.26, 3, -0.08, 0.50, -0.44, 0.16, 0.10, 0.22, 0.06, 0.85, 8)
    + (0.16, 0.08, 200, 0, -0.08, -0.07, 0.70, 0.16, -3, 0.12, 0.04, 0.10, 0, 0, 0.16),
    "owl": (0.30, 0.42, 0, 0.0, 0.04, -0.50, 0.27, 0, 0.10, 0.05, 0.1, 65)
    + (0.16, 0.08, 105, 0, -0.06, 0.02, 0.60, 0.20, -80, 0.10, 0.05, 0.08, 0, 0.12, 0.24),
    "wader": (0.38, 0.19, -12, 0.05, 0.62, -0.78, 0.10, 0.06, 0.42, 0.035, 0.05, 8)
    + (0.14, 0.06, 165, 0, -0.04, -0.03, 0.60, 0.14, -10, 0.85, 0.022, 0.06, 0, 0, 0.2),
    "crested": (0.42, 0.27, -28, 0.10, 0.35, -0.32, 0.18, 0, 0.14, 0.07, 0.1, 8)
    + (0.50, 0.10, 150, 0, -0.05, -0.03, 0.58, 0.15, -22, 0.22, 0.025, 0.07, 0.32, 0, 0.18),
}


def _rot(pts: np.ndarray, deg: float) -> np.ndarray:
    """Rotate points (N, 2) by ``deg`` (y down: positive turns +x towards +y)."""
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return pts @ np.array([[c, s], [-s, c]])


def _dir(deg: float) -> np.ndarray:
    """Unit vector pointing at ``deg``."""
    a = math.radians(deg)
    return np.array([math.cos(a), math.sin(a)])


def _ellipse(c, rx: float, ry: float, deg: float = 0.0, egg: float = 0.0, n: int = 40):
    """Polygon of a rotated ellipse; ``egg`` > 0 makes the front (+x) end fuller."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pts = np.stack([rx * np.cos(t), ry * np.sin(t) * (1 + egg * np.cos(t))], 1)
    return _rot(pts, deg) + c


def _teardrop(c, length: float, half_h: float, deg: float, n: int = 36) -> np.ndarray:
    """Polygon with a round front (+x) and a pointed back: wings."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pts = np.stack([length / 2 * np.cos(t), half_h * np.sin(t) * np.sqrt((1 + np.cos(t)) / 2)], 1)
    return _rot(pts, deg) + c


def _jitter_plan(rng: np.random.Generator, shape: int) -> dict[str, float]:
    """The body plan of ``shape`` with per-image jitter on every size and angle."""
    plan = dict(zip(_PLAN_KEYS, _PLAN_VALUES[SHAPES[shape]], strict=True))
    noise = rng.normal(0.0, 1.0, len(plan))
    for (key, value), e in zip(plan.items(), noise, strict=True):
        plan[key] = value + 5.0 * e if key.endswith("_deg") else value * (1 + 0.07 * e)
    return plan


def _bird_geometry(p: dict[str, float]) -> dict:
    """Polygons and polylines of a bird in bird units, from a (jittered) body plan."""
    body_c = np.zeros(2)
    axis, down = _dir(p["body_deg"]), _dir(p["body_deg"] + 90)
    head_c = np.array([p["head_x"], p["head_y"]])
    r = p["head_r"]
    g: dict = {"head_c": head_c, "head_r": r, "axis": axis, "down": down, "plan": p}
    g["body"] = _ellipse(body_c, p["body_rx"], p["body_ry"], p["body_deg"], p["egg"])
    g["head"] = _ellipse(head_c, r, r, 0, n=32)
    neck = []
    if p["neck_w"] > 0:
        base = axis * p["body_rx"] * 0.65 - down * p["body_ry"] * 0.3
        bow = 0.08 if p["head_y"] < -0.6 else 0.0  # long necks bow forward
        mid = base + (head_c - base) * 0.5 + np.array([bow, 0.0])
        neck = [base, mid, head_c]
    g["neck"] = neck
    extras = []
    if p["crest"] > 0:  # a pointed crest raked back from the crown
        tip = np.array([-0.7 * p["crest"], -r - 0.6 * p["crest"]])
        extras.append(
            head_c + np.array([r * np.array([0.3, -0.85]), tip, r * np.array([-0.75, -0.3])])
        )
    if p["tufts"] > 0:
        for sx in (-0.55, 0.35):
            b = head_c + r * np.array([sx, -0.75])
            extras.append(
                np.array([b, b + np.array([-0.12 * r, -p["tufts"]]), b + [0.45 * r, 0.1 * r]])
            )
    g["extras"] = extras
    # Tail: a tapered quad from the rear of the body; ``fork`` pulls the tip's middle in.
    tdir = _dir(p["tail_deg"])
    root = tdir * p["body_rx"] * 0.7
    tip = root + tdir * p["tail_len"]
    side = np.array([-tdir[1], tdir[0]])
    w0 = p["body_ry"] * 0.45
    g["tail"] = np.array(
        [
            root + side * w0,
            tip + side * p["tail_w"],
            tip - tdir * p["fork"],
            tip - side * p["tail_w"],
            root - side * w0,
        ]
    )
    g["wing"] = _teardrop(
        np.array([p["wing_x"], p["wing_y"]]), p["wing_len"], p["wing_h"], p["wing_deg"]
    )
    # Beak: from the head's edge, half-width ``beak_w`` at the base, ``beak_tip`` of it at the tip.
    bdir = _dir(p["beak_deg"])
    bside = np.array([-bdir[1], bdir[0]])
    base = head_c + bdir * r * 0.8
    btip = base + bdir * p["beak_len"]
    tw = p["beak_w"] * p["beak_tip"]
    g["beak"] = np.array(
        [
            base - bside * p["beak_w"],
            btip - bside * tw,
            btip + bside * tw,
            base + bside * p["beak_w"],
        ]
    )
    eye_off = np.array([0.45, -0.05]) if p["tufts"] > 0 else np.array([0.35, -0.18])
    g["eye"] = (head_c + eye_off * r, p["eye_r"] * r)
    # Legs: from under the body straight down, with a small backward knee and three toes.
    legs = []
    bottom = down * p["body_ry"] * 0.8
    for dx in (-p["leg_x"], p["leg_x"]):
        top = bottom + axis * dx
        foot = top + np.array([0.0, p["leg_len"]])
        knee = (top + foot) / 2 + np.array([-0.04 * p["leg_len"], 0.0])
        legs.append([top, knee, foot])
        toe = 0.07 + 0.05 * p["leg_len"]
        for ang in (0, 20, 180):
            legs.append([foot, foot + _dir(ang) * toe * (0.6 if ang == 180 else 1.0)])
    g["legs"] = legs
    return g
