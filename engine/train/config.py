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
    independent: bool = False  # --synthetic: every factor drawn independently (no habitats)
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
    export_dtype: str = "float32"  # float32 | float16 (weights stored in half; loader upcasts)
    export_parts_mb: float = 0.0  # > 0: also write the model as numbered parts + SHA-256 list
    time_budget: float = 0.0  # seconds for the whole run (0: none); stage 2 gets its share
    stage2_share: float = 0.15  # share of the time budget kept for stage 2
    eval_every: int = 0  # stage-1 steps between quick evaluations (0: none)
    eval_data: str | None = None  # independent SynthBirds validation folder for them
    eval_pairs: int = 96  # quadruples per quick evaluation
    # Optimisation (method facts s5, s6)
    lr: float = 2e-4
    lr_feature_d: float = 2e-5
    betas: tuple[float, float] = (0.5, 0.999)
    ema_decay: float = 0.999
    bg_loss_weight: float = 10.0
    gp_weight: float = 10.0
    code_weights: tuple[float, float, float, float] = (5.0, 5.0, 10.0, 10.0)  # z, b, p, c
    soft_parent_prob: float = 0.2
    # Deviations from the released method, off by default (see README "Training experiments")
    mask_prior_weight: float = 0.0  # hinge on the mean parent/child mask area
    mask_max_area: float = 0.45  # largest mean mask area before the prior pushes back
    mask_min_area: float = 0.05  # smallest mean mask area before the prior pushes back

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
        if self.export_dtype not in ("float32", "float16"):
            raise ValueError(f"export dtype must be float32 or float16, got {self.export_dtype!r}")
        if self.time_budget < 0 or not 0 <= self.stage2_share < 1:
            raise ValueError("time budget must be >= 0 and stage-2 share in [0, 1)")
        if self.eval_every < 0 or (self.eval_every > 0 and not self.eval_data):
            raise ValueError("--eval-every needs --eval-data DIR (independent SynthBirds)")
        if not 0 <= self.mask_min_area < self.mask_max_area <= 1 or self.mask_prior_weight < 0:
            raise ValueError("mask prior: need weight >= 0 and 0 <= min area < max area <= 1")

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
