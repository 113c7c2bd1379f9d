"""Training: stage 1 (generator, discriminators, encoders) and stage 2 (feature extractor).

``TrainConfig`` imports without torch (argument checking stays fast); the loop is loaded on
first use.
"""

from engine.train.config import TrainConfig

__all__ = ["TrainConfig", "TrainProgress", "iter_train", "train"]


def __getattr__(name: str):
    if name in ("TrainProgress", "iter_train", "train"):
        from engine.train import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'engine.train' has no attribute {name!r}")
