"""MixNMatch networks: FineGAN generator, encoders, discriminators, feature extractor."""

from engine.networks.discriminators import (
    BackgroundDiscriminator,
    FeatureDiscriminator,
    ImageCodeCritic,
    ImageCodeCritics,
    InfoDiscriminator,
)
from engine.networks.encoders import CodeEncoder, Encoders
from engine.networks.extractor import FeatureExtractor
from engine.networks.generator import Generator, GeneratorOutput
from engine.networks.init import init_weights

__all__ = [
    "BackgroundDiscriminator",
    "CodeEncoder",
    "Encoders",
    "FeatureDiscriminator",
    "FeatureExtractor",
    "Generator",
    "GeneratorOutput",
    "ImageCodeCritic",
    "ImageCodeCritics",
    "InfoDiscriminator",
    "init_weights",
]
