"""Training: stage 1 (generator, discriminators, encoders) and stage 2 (feature extractor).

``TrainConfig`` imports without torch (argument checking stays fast); the loop is loaded on
first use.
"""

from engine.lazy import lazy_exports
from engine.train.config import TrainConfig

__all__ = ["TrainConfig", "TrainProgress", "iter_train", "train"]
__getattr__, __dir__ = lazy_exports(
    __name__, {name: "engine.train.loop" for name in ("TrainProgress", "iter_train", "train")}
)
