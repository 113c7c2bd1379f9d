"""Training data (docs/method.md, "Data"): CUB-format folders, the training dataset and loader.

* ``engine.data.cub``: parse and validate a CUB-format folder (no torch);
* ``engine.data.dataset``: ``CubDataset``, object and background crops with warped boxes;
* ``engine.data.loading``: the training loader (``make_loader``) and its benchmark;
* ``engine.data.convert``: plain images + boxes CSV -> CUB format.

Names load lazily, so checking a folder does not import torch. The crop rule itself lives in
``engine.crop`` (shared with inference); its names are re-exported here for old import paths.
"""

from __future__ import annotations

from engine.lazy import lazy_exports

_EXPORTS = {
    "Record": "engine.data.cub",
    "check_dataset": "engine.data.cub",
    "read_cub": "engine.data.cub",
    "scan_dataset": "engine.data.cub",
    "CubDataset": "engine.data.dataset",
    "StepBatchSampler": "engine.data.loading",
    "benchmark_loader": "engine.data.loading",
    "make_loader": "engine.data.loading",
    "convert_plain": "engine.data.convert",
    "centre_offset": "engine.crop",
    "object_crop_box": "engine.crop",
    "object_resize": "engine.crop",
    "object_window": "engine.crop",
    "resample": "engine.crop",
    "resized_size": "engine.crop",
    "warp_box": "engine.crop",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
