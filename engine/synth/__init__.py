"""SynthBirds: a procedural bird world with ground-truth factors, written in CUB format.

Every image shows one bird drawn from the four factors that MixNMatch disentangles:

* shape (parent): one of 6 body plans (``SHAPES``) built from ellipses and polygons;
* texture (child): one of 24 plumages (``TEXTURES``) painted inside the silhouette through masks,
  so any plumage fits any body plan.  Species ``k`` has body plan ``k // 4`` and plumage ``k``;
* background: one of 8 habitats (``BACKGROUNDS``);
* pose: centre, scale, rotation (continuous) and facing (left / right).

In natural mode (the default) a species lives in its preferred habitat with probability 0.7 and
in a uniformly drawn one otherwise, like ducks on water in CUB.  In independent mode every factor
is drawn independently and uniformly (for evaluation); the species label then names the plumage,
whatever the body plan.

Rendering needs Pillow and numpy only: the bird's outline is posed (mirrored, rotated, scaled) as
vectors, drawn at 3x and downsampled with LANCZOS onto a defocused habitat; then mild blur, a
lighting gradient and sensor noise are added (and JPEG compression when saved).
Image ``i`` (0-based) of a dataset gets its factors from ``numpy.random.default_rng([seed, i])``
and is drawn by ``render(factors, seed=seed * 2**32 + i)``, so every image can be reproduced from
``factors.csv`` and the output does not depend on the number of workers.

Modules: ``factors`` (class tables, ``Factors``, ``sample_factors``), ``anatomy`` (body plans and
their geometry), ``birds`` (plumages drawn on the posed bird), ``habitats`` (backgrounds),
``rendering`` (composition and camera touches) and ``dataset`` (dataset writing, the
``mixnmatch-data synth`` options and a sample grid).  Run ``python -m engine.synth --out DIR
--count N`` to generate a dataset.
"""

from __future__ import annotations

from .birds import SUPERSAMPLE
from .dataset import add_synth_arguments, generate_dataset, main, run_synth, sample_grid
from .factors import (
    BACKGROUNDS,
    FACTOR_COLUMNS,
    NATURAL_HABITAT_PROB,
    PREFERRED_HABITAT,
    SHAPES,
    SPECIES,
    TEXTURES,
    Color,
    Factors,
    image_height,
    sample_factors,
)
from .habitats import render_background
from .rendering import ALPHA_THRESHOLD, render, render_layers

__all__ = [
    "ALPHA_THRESHOLD",
    "BACKGROUNDS",
    "FACTOR_COLUMNS",
    "NATURAL_HABITAT_PROB",
    "PREFERRED_HABITAT",
    "SHAPES",
    "SPECIES",
    "SUPERSAMPLE",
    "TEXTURES",
    "Color",
    "Factors",
    "add_synth_arguments",
    "generate_dataset",
    "image_height",
    "main",
    "render",
    "render_background",
    "render_layers",
    "run_synth",
    "sample_factors",
    "sample_grid",
]
