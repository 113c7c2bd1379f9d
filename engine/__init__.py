"""MixNMatch Studio engine: networks, model files, inference and training. Never imports Qt.

Public API (the CLI and the GUI use only these names). Names load lazily, so light modules
such as ``engine.synth`` or ``engine.config`` can be imported without loading torch.
"""

from __future__ import annotations

from engine.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "ModelConfig": "engine.config",
    "PRESETS": "engine.config",
    "preset": "engine.config",
    "MixNMatchError": "engine.errors",
    "ModelFileError": "engine.errors",
    "ImageError": "engine.errors",
    "DataError": "engine.errors",
    "Reference": "engine.images",
    "CROP_MODES": "engine.crop",
    "default_box": "engine.crop",
    "known_box": "engine.images",
    "load_frames": "engine.images",
    "load_image": "engine.images",
    "save_png": "engine.images",
    "LAYERS": "engine.vocabulary",
    "MODES": "engine.vocabulary",
    "SLOTS": "engine.vocabulary",
    "SLOT_FACTOR": "engine.vocabulary",
    "MixNMatch": "engine.infer",
    "Mixer": "engine.infer",
    "MixResult": "engine.infer",
    "resolve_device": "engine.devices",
    "official_files": "engine.model_file",
    "InputRecord": "engine.output",
    "composite_metadata": "engine.output",
    "model_preset": "engine.output",
    "bundled_model_path": "engine.resources",
    "examples_dir": "engine.resources",
    "resources_dir": "engine.resources",
    "interactive_threads": "engine.threads",
    "resolve_threads": "engine.threads",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
