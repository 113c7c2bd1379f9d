"""SynthBirds class tables and factors: body plans, plumages, habitats, species, sampling.

Species ``k`` has body plan ``k // 4`` and plumage ``k``; every species prefers one habitat.
``sample_factors`` draws the ground truth of one image, in natural or independent mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHAPES: tuple[str, ...] = ("round_songbird", "long_tailed", "duck", "owl", "wader", "crested")
BACKGROUNDS: tuple[str, ...] = (
    "sky",
    "water",
    "grass",
    "foliage",
    "branch",
    "sand",
    "snow",
    "sunset",
)

# Plumages: name -> (base colour, wing colour, accent colour, pattern).
_PLUMAGES: tuple[tuple[str, tuple[int, int, int], tuple[int, int, int], tuple[int, ...], str], ...]
_PLUMAGES = (
    ("red_solid", (210, 35, 35), (135, 25, 25), (0, 0, 0), "solid"),
    ("yellow_blackmask", (245, 215, 40), (70, 70, 60), (20, 20, 20), "eyepatch"),
    ("blue_orangebreast", (45, 90, 205), (30, 55, 150), (235, 135, 45), "breast"),
    ("brown_streaked", (170, 125, 80), (105, 70, 40), (60, 38, 20), "streaks"),
    ("green_barred", (70, 175, 70), (30, 100, 40), (20, 55, 20), "bars"),
    ("magenta_solid", (205, 45, 165), (125, 30, 110), (0, 0, 0), "solid"),
    ("grey_redcrown", (155, 155, 160), (95, 95, 100), (225, 30, 30), "crown"),
    ("cyan_spotted", (50, 200, 215), (25, 115, 140), (250, 250, 250), "spots"),
    ("white_blackcrown", (238, 238, 232), (145, 145, 145), (20, 20, 20), "crown"),
    ("orange_barred", (245, 140, 30), (150, 80, 20), (70, 30, 10), "bars"),
    ("purple_palebreast", (110, 45, 175), (70, 30, 120), (225, 205, 245), "breast"),
    ("black_spotted", (35, 35, 42), (20, 20, 25), (240, 240, 240), "spots"),
    ("lavender_streaked", (185, 160, 230), (120, 90, 180), (70, 40, 120), "streaks"),
    ("teal_whitemask", (25, 135, 125), (15, 85, 80), (245, 245, 245), "eyepatch"),
    ("pink_solid", (245, 150, 185), (200, 100, 140), (0, 0, 0), "solid"),
    ("navy_whitebars", (35, 45, 115), (20, 25, 70), (225, 225, 235), "bars"),
    ("lime_bluecrown", (175, 225, 55), (105, 145, 35), (30, 40, 170), "crown"),
    ("rust_spotted", (175, 70, 30), (110, 45, 20), (250, 230, 170), "spots"),
    ("slate_orangebreast", (85, 100, 115), (55, 65, 75), (235, 90, 35), "breast"),
    ("olive_blackmask", (135, 135, 50), (85, 85, 30), (15, 15, 15), "eyepatch"),
    ("skyblue_streaked", (125, 185, 240), (70, 120, 190), (25, 45, 110), "streaks"),
    ("maroon_yellowbreast", (125, 25, 50), (80, 15, 30), (250, 220, 50), "breast"),
    ("white_blackbars", (240, 240, 235), (60, 60, 60), (20, 20, 20), "bars"),
    ("darkgreen_redmask", (30, 85, 45), (20, 55, 30), (230, 40, 30), "eyepatch"),
)
TEXTURES: tuple[str, ...] = tuple(p[0] for p in _PLUMAGES)
SPECIES: tuple[str, ...] = tuple(
    f"{k + 1:03d}.{SHAPES[k // 4]}_{name}" for k, name in enumerate(TEXTURES)
)
# Preferred habitat of every species (each habitat is preferred by 3 species).
PREFERRED_HABITAT: tuple[int, ...] = (4, 3, 6, 2, 0, 7, 2, 4, 1, 1, 6, 5)
PREFERRED_HABITAT += (3, 4, 6, 7, 1, 5, 0, 5, 0, 3, 2, 7)
NATURAL_HABITAT_PROB = 0.7
FACTOR_COLUMNS = (
    "id",
    "species",
    "shape",
    "texture",
    "background",
    "center_x",
    "center_y",
    "scale",
    "angle_deg",
    "facing",
)

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Factors:
    """Ground truth of one SynthBirds image (class indices are 0-based)."""

    species: int
    shape: int
    texture: int
    background: int
    center_x: float  # centre of the bird's box, pixels
    center_y: float
    scale: float  # box longer side / image smaller side
    angle_deg: float  # rotation, counter-clockwise
    facing: str  # "left" or "right"


def image_height(width: int) -> int:
    """Height of a SynthBirds image of the given width (aspect 6:5)."""
    return round(width * 5 / 6)


def sample_factors(
    rng: np.random.Generator,
    width: int,
    height: int,
    independent: bool = False,
    species: int | None = None,
) -> Factors:
    """Draw the factors of one image (natural mode, or every factor independent)."""
    texture = int(rng.integers(len(TEXTURES))) if species is None else int(species)
    if independent:
        shape = int(rng.integers(len(SHAPES)))
        background = int(rng.integers(len(BACKGROUNDS)))
    else:
        shape = texture // 4
        if rng.random() < NATURAL_HABITAT_PROB:
            background = PREFERRED_HABITAT[texture]
        else:
            background = int(rng.integers(len(BACKGROUNDS)))
    scale = float(rng.uniform(0.3, 0.7))
    half = scale * min(width, height) / 2 + 2
    cx = float(rng.uniform(half, max(half, width - half)))
    cy = float(rng.uniform(half, max(half, height - half)))
    return Factors(
        species=texture,
        shape=shape,
        texture=texture,
        background=background,
        center_x=round(cx, 2),
        center_y=round(cy, 2),
        scale=round(scale, 4),
        angle_deg=round(float(rng.uniform(-30, 30)), 2),
        facing="left" if rng.random() < 0.5 else "right",
    )
