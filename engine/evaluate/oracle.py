"""The oracle: a small CNN that reads SynthBirds factors from an object crop.

It sees the same crop the models see (``Reference.to_tensor``), at its own resolution (inputs of
another size are resized), and predicts the background class, the shape class, the texture
class, facing (left/right) and the rotation angle (regression, in units of 30 degrees). Its
penultimate layer (``features``) is the embedding for the Frechet distance.

Weights are stored as safetensors with one JSON header: the oracle's config, class names, held-out
accuracies and how it was trained.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import ModelFileError
from engine.evaluate.labels import ANGLE_SCALE, CLASS_FACTORS, LabelledSet, to_float
from engine.model_file import read_json_header, write_safetensors

FORMAT_NAME = "mixnmatch-oracle"
FORMAT_VERSION = 1
METADATA_KEY = "mixnmatch-oracle"
DEFAULT_FILE = "oracle.safetensors"


@dataclass(frozen=True)
class OracleConfig:
    """Architecture of the oracle; the class counts are those of SynthBirds."""

    image_size: int = 64
    width: int = 32
    embed_dim: int = 128
    classes: dict[str, int] = field(
        default_factory=lambda: {"background": 8, "shape": 6, "texture": 24, "facing": 2}
    )

    def __post_init__(self) -> None:
        if self.image_size < 16 or self.image_size & (self.image_size - 1):
            raise ValueError(
                f"oracle image size must be a power of two >= 16, got {self.image_size}"
            )
        if self.width < 4:
            raise ValueError(f"oracle width must be >= 4, got {self.width}")
        if set(self.classes) != set(CLASS_FACTORS):
            raise ValueError(f"oracle classes must name {', '.join(CLASS_FACTORS)}")

    @property
    def num_blocks(self) -> int:
        """Conv blocks, each halving the resolution, down to 4 x 4."""
        return int(math.log2(self.image_size)) - 2

    @property
    def num_outputs(self) -> int:
        return sum(self.classes[f] for f in CLASS_FACTORS) + 1  # + angle

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> OracleConfig:
        return cls(
            image_size=int(data["image_size"]),
            width=int(data["width"]),
            embed_dim=int(data["embed_dim"]),
            classes={k: int(v) for k, v in data["classes"].items()},
        )


class OracleNet(nn.Module):
    """Strided conv-BN-ReLU blocks down to 4 x 4 (each block after the first adds a 3x3 conv at
    its resolution), a linear embedding, and one linear layer holding every head."""

    def __init__(self, cfg: OracleConfig) -> None:
        super().__init__()
        self.cfg = cfg
        widths = [cfg.width * min(k + 2, 8) // 2 for k in range(cfg.num_blocks)]
        layers: list[nn.Module] = []
        prev = 3
        for k, w in enumerate(widths):
            layers += _conv_bn_relu(prev, w, stride=2)
            if k > 0:
                layers += _conv_bn_relu(w, w, stride=1)
            prev = w
        self.trunk = nn.Sequential(*layers)
        self.embed = nn.Sequential(
            nn.Flatten(),
            nn.Linear(prev * 16, cfg.embed_dim),
            nn.BatchNorm1d(cfg.embed_dim),
            nn.ReLU(inplace=True),
        )
        self.heads = nn.Linear(cfg.embed_dim, cfg.num_outputs)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(self.trunk(x))

    def split(self, out: torch.Tensor) -> dict[str, torch.Tensor]:
        """Head outputs -> per-factor logits and the angle (in units of ANGLE_SCALE)."""
        parts, start = {}, 0
        for factor in CLASS_FACTORS:
            k = self.cfg.classes[factor]
            parts[factor] = out[:, start : start + k]
            start += k
        parts["angle"] = out[:, start]
        return parts

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.split(self.heads(self.features(x)))


def _conv_bn_relu(in_ch: int, out_ch: int, stride: int) -> list[nn.Module]:
    return [
        nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    ]


class Oracle:
    """A trained oracle in eval mode: ``predict`` and ``features`` on [-1, 1] crops."""

    def __init__(
        self,
        net: OracleNet,
        info: dict,
        device: torch.device | str = "cpu",
        path: Path | None = None,
    ) -> None:
        self.path = path
        self.net = net.to(device).eval()
        self.config = net.cfg
        self.info = info
        self.device = torch.device(device)

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = to_float(x) if x.dtype == torch.uint8 else x.float()
        x = x.to(self.device)
        size = self.config.image_size
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(
                x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        return x

    @torch.inference_mode()
    def features(self, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
        """(N, 3, H, W) crops (uint8 or [-1, 1]) -> (N, embed_dim) penultimate embedding."""
        outs = [self.net.features(self._prepare(x[i : i + batch])) for i in range(0, len(x), batch)]
        return torch.cat(outs).float().cpu() if outs else torch.empty(0, self.config.embed_dim)

    @torch.inference_mode()
    def predict(self, x: torch.Tensor, batch: int = 256) -> dict[str, np.ndarray]:
        """Class indices per factor, ``angle`` in degrees and ``features``, as numpy arrays."""
        feats = self.features(x, batch)
        parts = self.net.split(self.net.heads(feats.to(self.device)))
        out = {f: parts[f].argmax(dim=1).cpu().numpy() for f in CLASS_FACTORS}
        out["angle"] = (parts["angle"].float().cpu() * ANGLE_SCALE).numpy().astype(np.float64)
        out["features"] = feats.numpy().astype(np.float64)
        return out

    @property
    def names(self) -> dict[str, list[str]]:
        return self.info.get("class_names", {})

    # -- files ---------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            **self.info,
        }
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        return write_safetensors(path, tensors, header, "oracle", METADATA_KEY)

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str = "cpu") -> Oracle:
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise ModelFileError(
                f"{path}: no such oracle file (train one with mixnmatch-eval --train-oracle)"
            )
        header = read_json_header(path, "oracle", METADATA_KEY, FORMAT_NAME, FORMAT_VERSION)
        try:
            cfg = OracleConfig.from_dict(header.pop("config"))
        except (KeyError, TypeError, ValueError):
            raise ModelFileError(f"{path}: invalid oracle config in its header") from None
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        net = OracleNet(cfg)
        try:
            net.load_state_dict(tensors)
        except RuntimeError:
            raise ModelFileError(f"{path}: oracle weights do not match its config") from None
        for key in ("format", "format_version"):
            header.pop(key, None)
        return cls(net, header, device, path)


# ----------------------------------------------------------------------------------- training


@dataclass
class TrainSettings:
    steps: int = 4000
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    angle_weight: float = 4.0
    seed: int = 0
    shift: int = 3  # random translation (px at the oracle's size), as the training crops jitter


def augment(x: torch.Tensor, gen: torch.Generator, shift: int) -> torch.Tensor:
    """Label-preserving augmentation of a [-1, 1] batch: no flips (facing is a label), no
    rotation (angle is a label), no hue change (colours are labels). Small shifts, mild
    brightness/contrast, occasional blur or loss of resolution (generated images are softer)
    and sensor noise."""
    n, _, h, w = x.shape
    if shift > 0:
        padded = F.pad(x, (shift,) * 4, mode="replicate")
        dx = torch.randint(0, 2 * shift + 1, (n,), generator=gen)
        dy = torch.randint(0, 2 * shift + 1, (n,), generator=gen)
        x = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    gain = 1 + (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.12
    bias = (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.08
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * gain + mean + bias
    pick = torch.rand(n, generator=gen)
    blur, lowres = pick < 0.2, (pick >= 0.2) & (pick < 0.4)
    if blur.any():
        k = torch.tensor([0.25, 0.5, 0.25])
        kernel = (k[:, None] * k[None, :]).expand(3, 1, 3, 3)
        x[blur] = F.conv2d(F.pad(x[blur], (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
    if lowres.any():
        factor = 0.35 + 0.4 * float(torch.rand(1, generator=gen))
        x[lowres] = _resample(x[lowres], factor)
    noise = torch.rand(n, 1, 1, 1, generator=gen) * 0.05
    x = x + noise * torch.randn(x.shape, generator=gen)
    return x.clamp(-1, 1)


def _resample(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Down to ``factor`` of the size (antialiased) and back up: a softer image."""
    size = x.shape[-2:]
    small = F.interpolate(x, scale_factor=factor, mode="bilinear", antialias=True)
    return F.interpolate(small, size=size, mode="bilinear", align_corners=False)


def targets(data: LabelledSet, indices: np.ndarray | None = None) -> dict[str, torch.Tensor]:
    idx = np.arange(len(data)) if indices is None else indices
    out = {f: torch.from_numpy(data.labels[f][idx]) for f in CLASS_FACTORS}
    out["angle"] = torch.from_numpy(data.labels["angle"][idx] / ANGLE_SCALE).float()
    return out


def loss_fn(pred: dict[str, torch.Tensor], tgt: dict[str, torch.Tensor], angle_weight: float):
    loss = sum(F.cross_entropy(pred[f], tgt[f]) for f in CLASS_FACTORS)
    return loss + angle_weight * F.smooth_l1_loss(pred["angle"], tgt["angle"], beta=0.1)


def score(oracle: Oracle, crops: torch.Tensor, data: LabelledSet) -> dict[str, float]:
    """Accuracy per class factor and angle MAE (degrees) of the oracle on real crops."""
    pred = oracle.predict(crops)
    out = {f: float(np.mean(pred[f] == data.labels[f])) for f in CLASS_FACTORS}
    out["angle_mae_deg"] = float(np.mean(np.abs(pred["angle"] - data.labels["angle"])))
    return out


def soften(crops: torch.Tensor, factor: float = 0.5) -> torch.Tensor:
    """uint8 crops at ``factor`` of their resolution, upsampled back (a softer view)."""
    return ((_resample(to_float(crops), factor).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def train_oracle(
    train: LabelledSet,
    held_out: LabelledSet,
    cfg: OracleConfig | None = None,
    settings: TrainSettings | None = None,
    log: Callable[[str], None] | None = None,
    train_crops: torch.Tensor | None = None,
    held_out_crops: torch.Tensor | None = None,
) -> Oracle:
    """Train on ``train`` (all crops decoded once, uint8) and score on ``held_out``."""
    if cfg is None:
        cfg = OracleConfig(classes={f: len(train.names[f]) for f in CLASS_FACTORS})
    st = settings or TrainSettings()
    say = log or (lambda _msg: None)
    start = time.perf_counter()
    torch.manual_seed(st.seed)
    gen = torch.Generator().manual_seed(st.seed)
    if train_crops is None:
        say(f"decoding {len(train)} training crops at {cfg.image_size} px")
        train_crops = train.crops(cfg.image_size)
    if held_out_crops is None:
        held_out_crops = held_out.crops(cfg.image_size)
    decode_s = time.perf_counter() - start
    tgt = targets(train)
    net = OracleNet(cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=st.lr, weight_decay=st.weight_decay)
    warmup = max(1, min(200, st.steps // 10))

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        t = (step - warmup) / max(1, st.steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * t)) * 0.98 + 0.02

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    n = len(train)
    order = torch.randperm(n, generator=gen)
    cursor = 0
    net.train()
    running = 0.0
    for step in range(st.steps):
        if cursor + st.batch_size > n:
            order, cursor = torch.randperm(n, generator=gen), 0
        idx = order[cursor : cursor + st.batch_size]
        cursor += st.batch_size
        x = augment(to_float(train_crops[idx]), gen, st.shift)
        loss = loss_fn(net(x), {k: v[idx] for k, v in tgt.items()}, st.angle_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        value = float(loss.detach())
        running = 0.98 * running + 0.02 * value if step else value
        if (step + 1) % 250 == 0 or step + 1 == st.steps:
            say(
                f"step {step + 1}/{st.steps}  loss {running:.3f}  "
                f"{time.perf_counter() - start:.0f} s"
            )
    train_s = time.perf_counter() - start
    info = {
        "class_names": dict(train.names),
        "training": {
            "train_images": len(train),
            "held_out_images": len(held_out),
            "steps": st.steps,
            "batch_size": st.batch_size,
            "lr": st.lr,
            "weight_decay": st.weight_decay,
            "angle_weight": st.angle_weight,
            "seed": st.seed,
            "augmentation": f"shift +-{st.shift} px, brightness/contrast +-6%, 3x3 blur p=0.2, "
            "resolution x0.35-0.75 p=0.2, noise std <= 0.05; no flips, rotations or hue changes",
            "decode_seconds": round(decode_s, 1),
            "seconds": round(train_s, 1),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "parameters": sum(p.numel() for p in net.parameters()),
    }
    oracle = Oracle(net, info)
    oracle.info["held_out"] = score(oracle, held_out_crops, held_out)
    # Robustness probes: the same held-out images with half and a quarter of their resolution.
    oracle.info["held_out_half_resolution"] = score(oracle, soften(held_out_crops, 0.5), held_out)
    oracle.info["held_out_quarter_resolution"] = score(
        oracle, soften(held_out_crops, 0.25), held_out
    )
    return oracle
