"""One frozen model configuration (architecture sizes) and the named presets.

Glossary used everywhere: z = pose/noise (continuous), b = background, p = parent (shape),
c = child (texture). The paper preset is the released CUB layout (docs/method.md).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from engine.errors import ConfigError

# Upper bounds far above any useful model, but low enough that a config can never ask for
# gigabytes of weights (the paper model uses 128 px, widths of 64 and 200 categories).
_UPPER = {
    "image_size": 1024,
    "z_dim": 1024,
    "num_parents": 2000,
    "num_children": 2000,
    "num_backgrounds": 2000,
    "gf_dim": 256,
    "ef_dim": 256,
    "df_dim": 256,
    "bd_dim": 256,
    "bd_code_dim": 2048,
    "ex_dim": 256,
}


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` as an int in [low, high], else ConfigError naming ``name`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        upper = f" and {high}" if high is not None else ""
        bound = f"between {low}{upper}" if high is not None else f">= {low}"
        raise ConfigError(f"{name} must be {bound}, got {value}")
    return value


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of every MixNMatch network. Pass it explicitly; derive with ``replace``."""

    image_size: int = 128  # generator output / encoder input (power of two, >= 64)
    z_dim: int = 100
    num_parents: int = 20  # p: shape categories
    num_children: int = 200  # c: texture categories (children nest in parents)
    num_backgrounds: int = 200  # b: background categories (tied to c in training)
    gf_dim: int = 64  # generator width; parent feature map has gf_dim // 4 channels
    ef_dim: int = 64  # encoder width
    df_dim: int = 64  # child / background discriminator width (parent D uses half)
    bd_dim: int = 16  # image-code critic (Bi_Dis) image-branch width
    bd_code_dim: int = 512  # image-code critic code-branch width
    ex_dim: int = 32  # stage-2 feature extractor width

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            check_int(f"model {f.name}", getattr(self, f.name), 1, _UPPER[f.name])
        if self.image_size < 64 or self.image_size & (self.image_size - 1):
            raise ConfigError(f"image_size must be a power of two >= 64, got {self.image_size}")
        if self.num_children < self.num_parents:
            raise ConfigError(
                f"num_children ({self.num_children}) must be >= "
                f"num_parents ({self.num_parents}): children nest in parents"
            )
        if self.gf_dim % 8:
            raise ConfigError(f"gf_dim must be a multiple of 8, got {self.gf_dim}")

    @property
    def feature_dim(self) -> int:
        """Channels of the parent feature map (p_temp), shared by the feature extractor."""
        return self.gf_dim // 4

    @property
    def num_ups(self) -> int:
        """Generator upsampling steps from 4x4 to image_size."""
        return int(math.log2(self.image_size)) - 2

    @property
    def bg_size(self) -> int:
        """Background discriminator input size (126 at 128 px: 24x24 patches of 34 px)."""
        return self.image_size - 2

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"model config must be a table of fields, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown model config fields: {sorted(unknown)}")
        return cls(**data)


PRESETS: dict[str, ModelConfig] = {
    # Exactly the released CUB layout (G 13.5M, E 77.2M, EX 39.1M parameters).
    "paper": ModelConfig(),
    # Small 64 px model that trains on a 2-core CPU; sized for SynthBirds
    # (6 body plans x 4 plumages, 8 habitats) with spare categories.
    "demo": ModelConfig(
        image_size=64,
        num_parents=8,
        num_children=32,
        num_backgrounds=32,
        gf_dim=32,
        ef_dim=32,
        df_dim=32,
        bd_dim=16,
        bd_code_dim=256,
        ex_dim=16,
    ),
}


# The demo model at half width, about 2x faster to train on a 2-core CPU and measured to learn
# at least as well per image (docs/experiments.md).
PRESETS["cpu"] = dataclasses.replace(
    PRESETS["demo"], gf_dim=16, ef_dim=16, df_dim=16, bd_dim=8, bd_code_dim=128, ex_dim=8
)


def preset(name: str) -> ModelConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
