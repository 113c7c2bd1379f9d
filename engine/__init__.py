"""MixNMatch Studio engine: networks, model files, inference and training. Never imports Qt.

Public API (the CLI and the GUI use only these names).
"""

from engine.config import PRESETS, ModelConfig, preset
from engine.errors import DataError, ImageError, MixNMatchError, ModelFileError
from engine.images import Reference, default_box, load_frames, load_image, save_png
from engine.infer import LAYERS, MODES, SLOT_FACTOR, SLOTS, Mixer, MixNMatch, MixResult
from engine.resources import bundled_model_path, examples_dir, resources_dir

__version__ = "0.1.0"

__all__ = [
    "LAYERS",
    "MODES",
    "PRESETS",
    "SLOTS",
    "SLOT_FACTOR",
    "DataError",
    "ImageError",
    "MixNMatch",
    "MixNMatchError",
    "MixResult",
    "Mixer",
    "ModelConfig",
    "ModelFileError",
    "Reference",
    "__version__",
    "bundled_model_path",
    "default_box",
    "examples_dir",
    "load_frames",
    "load_image",
    "preset",
    "resources_dir",
    "save_png",
]
