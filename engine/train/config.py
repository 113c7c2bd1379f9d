"""The frozen training configuration: built by the CLI (or a TOML file), passed explicitly.

Every field is checked for type and range on construction (``validate``), so a wrong value
from a TOML file or the command line is one ConfigError line naming the field.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.config import ModelConfig, check_int
from engine.errors import ConfigError


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
    # Optimisation (docs/method.md: Stage 1, Stage 2)
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
    parent_info: str = "masked_foreground"  # what the parent code classifier sees: or "mask"
    background_info_weight: float = 0.0  # > 0: b must be recoverable from the background image
    # Speed options (README "Performance"); the defaults are the released method, exactly
    gp_every: int = 1  # critics' gradient penalty every K-th stage-1 step, weighted by K
    compile: bool = False  # torch.compile the generator, encoders and discriminators

    def __post_init__(self) -> None:
        validate(self)
        if (self.data is None) == (self.synthetic <= 0):
            raise ConfigError("give exactly one of --data DIR or --synthetic N")
        if self.stage2_share >= 1:
            raise ConfigError("stage2-share must be below 1")
        if self.eval_every > 0 and not self.eval_data:
            raise ConfigError("--eval-every needs --eval-data DIR (independent SynthBirds)")
        if self.mask_min_area >= self.mask_max_area:
            raise ConfigError("mask-min-area must be below mask-max-area")

    @property
    def total_stage2_steps(self) -> int:
        return self.stage2_steps or max(1, self.steps // 4)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
            raise ConfigError("training config must be a table with a model table")
        data = dict(data)
        data["model"] = ModelConfig.from_dict(data["model"])
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown training config fields: {sorted(unknown)}")
        return cls(**data)


# Whole-number options: (lowest, highest or None).
_INTS = {
    "synthetic": (0, 1_000_000),
    "steps": (0, 10**9),
    "stage2_steps": (0, 10**9),
    "batch_size": (2, 4096),
    "seed": (0, 2**32 - 1),
    "checkpoint_every": (1, None),
    "sample_every": (1, None),
    "log_every": (1, None),
    "keep_checkpoints": (1, None),
    "workers": (0, 256),
    "eval_every": (0, None),
    "eval_pairs": (4, 100_000),
    "gp_every": (1, 1000),
}
# Real-valued options: (lowest, highest, whether the lowest is allowed).
_FLOATS = {
    "lr": (0.0, 1.0, False),
    "lr_feature_d": (0.0, 1.0, False),
    "ema_decay": (0.0, 1.0, True),
    "bg_loss_weight": (0.0, 1e6, True),
    "gp_weight": (0.0, 1e6, True),
    "soft_parent_prob": (0.0, 1.0, True),
    "time_budget": (0.0, 1e7, True),
    "stage2_share": (0.0, 1.0, True),
    "export_parts_mb": (0.0, 1e6, True),
    "mask_prior_weight": (0.0, 1e6, True),
    "mask_max_area": (0.0, 1.0, True),
    "mask_min_area": (0.0, 1.0, True),
    "background_info_weight": (0.0, 1e6, True),
}
_CHOICES = {
    "stage": ("1", "2", "all"),
    "precision": ("fp32", "bf16"),
    "export_dtype": ("float32", "float16"),
    "parent_info": ("masked_foreground", "mask"),
}
_TUPLES = {"betas": (2, 0.0, 1.0), "code_weights": (4, 0.0, 1e6)}
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def _option(name: str) -> str:
    """A field's name as the command-line option spells it."""
    return name.replace("_", "-")


def _check_float(name: str, value: object, low: float, high: float, closed: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    ok = math.isfinite(value) and (value >= low if closed else value > low) and value <= high
    if not ok:
        lower = f">= {low:g}" if closed else f"> {low:g}"
        raise ConfigError(f"{name} must be {lower} and <= {high:g}, got {value!r}")
    return float(value)


def _check_path(name: str, value: object, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name} must be a path (text), got {value!r}")


def validate(cfg: TrainConfig) -> None:
    """Check every field's type and range (values may come from a TOML file); normalises
    lists to tuples and stage numbers to text. Raises ConfigError naming the field."""
    if not isinstance(cfg.model, ModelConfig):
        raise ConfigError(f"model must be a model config, got {cfg.model!r}")
    if isinstance(cfg.stage, int) and not isinstance(cfg.stage, bool):
        object.__setattr__(cfg, "stage", str(cfg.stage))
    if type(cfg.batch_size) is int and cfg.batch_size < 2:
        raise ConfigError("batch size must be at least 2 (BatchNorm needs a batch)")
    for name, (low, high) in _INTS.items():
        check_int(_option(name), getattr(cfg, name), low, high)
    for name, (low, high, closed) in _FLOATS.items():
        value = _check_float(_option(name), getattr(cfg, name), low, high, closed)
        object.__setattr__(cfg, name, value)
    for name, choices in _CHOICES.items():
        if getattr(cfg, name) not in choices:
            raise ConfigError(
                f"{name} must be one of {', '.join(choices)}, got {getattr(cfg, name)!r}"
            )
    if not isinstance(cfg.device, str) or not _DEVICE.fullmatch(cfg.device):
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {cfg.device!r}")
    if not isinstance(cfg.preset, str):
        raise ConfigError(f"preset must be a preset name, got {cfg.preset!r}")
    _check_path("data", cfg.data, optional=True)
    _check_path("out", cfg.out, optional=False)
    _check_path("export", cfg.export, optional=True)
    _check_path("eval_data", cfg.eval_data, optional=True)
    for name in ("cache_images", "skip_bad", "independent", "compile"):
        if not isinstance(getattr(cfg, name), bool):
            raise ConfigError(f"{_option(name)} must be true or false, got {getattr(cfg, name)!r}")
    for name, (length, low, high) in _TUPLES.items():
        value = getattr(cfg, name)
        if not isinstance(value, (list, tuple)) or len(value) != length:
            raise ConfigError(f"{_option(name)} must be a list of {length} numbers, got {value!r}")
        numbers = tuple(_check_float(_option(name), v, low, high, True) for v in value)
        object.__setattr__(cfg, name, numbers)
    if cfg.betas[0] >= 1.0 or cfg.betas[1] >= 1.0:
        raise ConfigError(f"betas must be below 1, got {cfg.betas}")


def check_paths(cfg: TrainConfig) -> None:
    """Check at start-up, not after hours of training, that the run folder and the export
    file can be written and the data folder exists; ConfigError naming the path otherwise."""
    from engine.safe_io import check_output_dir, check_output_file

    if cfg.data is not None and not Path(cfg.data).is_dir():
        raise ConfigError(f"{cfg.data}: data folder not found")
    check_output_dir(cfg.out, ConfigError)
    if cfg.export is not None:
        check_output_file(cfg.export, [cfg.data], ConfigError)
