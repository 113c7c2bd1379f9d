"""MixNMatch Studio desktop app (Qt). Talks to the model only through the ``engine`` package."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("mixnmatch-studio")
except metadata.PackageNotFoundError:  # running from a source checkout
    __version__ = "0.1.0"

APP_NAME = "MixNMatch Studio"
ORG_NAME = "MixNMatch"
