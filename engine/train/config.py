"""The frozen training configuration: built by the CLI (or a TOML file), passed explicitly."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from engine.config import ModelConfig


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; saved to RUN_DIR/config.json and inside checkpoints."""

    model: ModelConfig = field(default_factory=ModelConfig)
    preset: str = "paper"
    data: str | None = None  # CUB-format folder
    synthetic: int = 0  # generate this many SynthBirds images into the run's cache instead
    out: str = "runs/mixnmatch"
    stage: str = "all"  # "1", "2" or "all"
    steps: int = 20000  # stage-1 steps
    stage2_steps: int = 0  # 0: a quarter of ``steps``
    batch_size: int = 12
    device: str = "auto"
    precision: str = "fp32"  # fp32 | bf16 (autocast)
    seed: int = 0
    checkpoint_every: int = 1000
    sample_every: int = 1000
    log_every: int = 10
    keep_checkpoints: int = 3
    workers: int = 0
    cache_images: bool = False
    skip_bad: bool = False
    export: str | None = None  # inference model path (default RUN_DIR/model.safetensors)
    # Optimisation (method facts s5, s6)
    lr: float = 2e-4
    lr_feature_d: float = 2e-5
    betas: tuple[float, float] = (0.5, 0.999)
    ema_decay: float = 0.999
    bg_loss_weight: float = 10.0
    gp_weight: float = 10.0
    code_weights: tuple[float, float, float, float] = (5.0, 5.0, 10.0, 10.0)  # z, b, p, c
    soft_parent_prob: float = 0.2

    def __post_init__(self) -> None:
        if self.stage not in ("1", "2", "all"):
            raise ValueError(f"stage must be 1, 2 or all, got {self.stage!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be fp32 or bf16, got {self.precision!r}")
        if self.batch_size < 2:
            raise ValueError("batch size must be at least 2 (BatchNorm needs a batch)")
        if self.steps < 0 or self.stage2_steps < 0:
            raise ValueError("steps must be >= 0")
        if (self.data is None) == (self.synthetic <= 0):
            raise ValueError("give exactly one of --data DIR or --synthetic N")

    @property
    def total_stage2_steps(self) -> int:
        return self.stage2_steps or max(1, self.steps // 4)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        data = dict(data)
        data["model"] = ModelConfig.from_dict(data["model"])
        for key in ("betas", "code_weights"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)
