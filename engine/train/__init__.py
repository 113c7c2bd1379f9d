"""Training: stage 1 (generator, discriminators, encoders) and stage 2 (feature extractor)."""

from engine.train.config import TrainConfig
from engine.train.loop import TrainProgress, iter_train, train

__all__ = ["TrainConfig", "TrainProgress", "iter_train", "train"]
