"""The one place that resolves paths under the project's ``resources/`` folder."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

BUNDLED_MODEL_NAME = "synthbirds.safetensors"
INSTALLED_PACKAGE = "mixnmatch_resources"  # what ``resources/`` is called in a wheel


def resources_dir() -> Path:
    """``$MIXNMATCH_RESOURCES`` if set, else ``resources/`` beside the ``engine`` package
    (a checkout), else the installed ``mixnmatch_resources`` package (a wheel)."""
    env = os.environ.get("MIXNMATCH_RESOURCES")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent / "resources"
    if checkout.is_dir():
        return checkout
    spec = importlib.util.find_spec(INSTALLED_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return checkout


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
