"""The one place that resolves paths under the project's ``resources/`` folder."""

from __future__ import annotations

import os
from pathlib import Path

BUNDLED_MODEL_NAME = "synthbirds-demo.safetensors"


def resources_dir() -> Path:
    """``$MIXNMATCH_RESOURCES`` if set, else ``resources/`` beside the ``engine`` package."""
    env = os.environ.get("MIXNMATCH_RESOURCES")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "resources"


def bundled_model_path() -> Path | None:
    """The default model shipped in ``resources/models/``, or None if absent."""
    models = resources_dir() / "models"
    preferred = models / BUNDLED_MODEL_NAME
    if preferred.is_file():
        return preferred
    found = sorted(models.glob("*.safetensors")) if models.is_dir() else []
    return found[0] if found else None


def examples_dir() -> Path:
    return resources_dir() / "examples"
