"""Model files: our ``.safetensors`` format and the importer for the released ``.pth`` files.

A model file holds the inference networks under ``generator.*``, ``encoders.*`` and (optional)
``extractor.*``, plus one JSON header in the safetensors metadata (format version, model config,
provenance). Loading rebuilds the architecture from the header, then loads the weights; nothing
in a file is ever executed.
"""

from __future__ import annotations

import datetime as _dt
import json
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from engine.config import ModelConfig
from engine.errors import ModelFileError
from engine.networks import Encoders, FeatureExtractor, Generator

FORMAT_NAME = "mixnmatch-studio"
FORMAT_VERSION = 1
METADATA_KEY = "mixnmatch"
PARTS = ("generator", "encoders", "extractor")
_PREFIXES = ("module.", "_orig_mod.")


def clean_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The one place that strips wrapper prefixes (DataParallel/DDP ``module.``, compile)."""
    cleaned = {}
    for key, value in state.items():
        changed = True
        while changed:
            changed = False
            for prefix in _PREFIXES:
                if key.startswith(prefix):
                    key, changed = key[len(prefix) :], True
        cleaned[key] = value
    return cleaned


def build_networks(cfg: ModelConfig, with_extractor: bool = True) -> dict[str, nn.Module]:
    nets: dict[str, nn.Module] = {"generator": Generator(cfg), "encoders": Encoders(cfg)}
    if with_extractor:
        nets["extractor"] = FeatureExtractor(cfg)
    return nets


def check_state_dict(
    net: nn.Module, state: Mapping[str, torch.Tensor], path: Path, part: str
) -> None:
    """Refuse missing/extra keys and wrong shapes with one line naming the first problems."""
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    for label, items in (
        ("missing keys", missing),
        ("unexpected keys", extra),
        ("wrong shapes", wrong),
    ):
        if items:
            more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
            raise ModelFileError(f"{path}: {part}: {label}: {', '.join(items[:3])}{more}")


def save_model(
    path: str | Path,
    cfg: ModelConfig,
    nets: Mapping[str, nn.Module],
    info: Mapping[str, object] | None = None,
) -> Path:
    """Write generator/encoders/(extractor) weights and the JSON header, atomically."""
    path = Path(path)
    tensors = {}
    for part in PARTS:
        if part in nets:
            for key, value in nets[part].state_dict().items():
                tensors[f"{part}.{key}"] = value.detach().to("cpu").contiguous()
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": cfg.to_dict(),
        "parts": [p for p in PARTS if p in nets],
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **dict(info or {}),
    }
    return write_safetensors(path, tensors, header, "model file")


def write_safetensors(
    path: Path, tensors: dict, header: dict, what: str, key: str = METADATA_KEY
) -> Path:
    """Atomically write tensors plus one JSON header under metadata ``key`` (temp + rename)."""
    from safetensors.torch import save_file

    tmp = path.with_name(path.name + ".tmp")
    try:
        save_file(tensors, str(tmp), metadata={key: json.dumps(header)})
        tmp.replace(path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ModelFileError(f"{path}: cannot write {what}: {err.strerror or err}") from None
    return path


def read_header(path: str | Path) -> dict:
    """Read and validate the JSON header without loading weights."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    if path.suffix in (".pth", ".pt", ".pkl"):
        raise ModelFileError(
            f"{path}: a PyTorch checkpoint, not a model file; convert released weights with "
            "mixnmatch-import-official"
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as err:  # safetensors raises its own error types for bad files
        raise ModelFileError(f"{path}: not a readable .safetensors model file ({err})") from None
    if METADATA_KEY not in meta:
        raise ModelFileError(f"{path}: safetensors file without a MixNMatch header")
    try:
        header = json.loads(meta[METADATA_KEY])
    except json.JSONDecodeError:
        raise ModelFileError(f"{path}: corrupt MixNMatch header (invalid JSON)") from None
    if header.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: not a MixNMatch Studio model file")
    if header.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {header.get('format_version')} is not supported "
            f"(this version reads {FORMAT_VERSION})"
        )
    try:
        header["config"] = ModelConfig.from_dict(header["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: invalid model config in header: {err}") from None
    return header


def load_model(
    path: str | Path, device: torch.device | str = "cpu"
) -> tuple[dict, dict[str, nn.Module]]:
    """Load a model file -> (header, {part: network in eval mode on device})."""
    from safetensors.torch import load_file

    path = Path(path)
    header = read_header(path)
    cfg: ModelConfig = header["config"]
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as err:
        raise ModelFileError(f"{path}: cannot read weights ({err})") from None
    parts = header.get("parts", ["generator", "encoders"])
    nets = build_networks(cfg, with_extractor="extractor" in parts)
    grouped: dict[str, dict[str, torch.Tensor]] = {p: {} for p in PARTS}
    for key, value in tensors.items():
        part, _, rest = key.partition(".")
        if part not in grouped:
            raise ModelFileError(f"{path}: unexpected tensor {key}")
        grouped[part][rest] = value
    for part, net in nets.items():
        check_state_dict(net, grouped[part], path, part)
        net.load_state_dict(grouped[part])
        net.to(device).eval()
    if grouped["extractor"] and "extractor" not in nets:
        raise ModelFileError(f"{path}: extractor weights present but not declared in the header")
    return header, nets


def _torch_load(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ModelFileError(
            f"{path}: refused: the file holds Python objects other than tensors "
            "(loading it could run code)"
        ) from None
    except Exception as err:
        raise ModelFileError(f"{path}: not a readable PyTorch checkpoint ({err})") from None
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ModelFileError(f"{path}: not a state dict of tensors")
    return clean_state_dict(state)


def infer_official_config(g: Mapping, e: Mapping) -> ModelConfig:
    """Category counts and widths of a released checkpoint, read from tensor shapes."""
    try:
        z_dim = e["model_z.4.weight"].shape[0]
        gf_dim = g["background_stage.fc.1.weight"].shape[0] // (16 * 2 * 8)
        feature_dim = gf_dim // 4
        ups = sum(
            1 for k in g if k.startswith("background_stage.upsample") and k.endswith(".1.weight")
        )
        return ModelConfig(
            image_size=4 * 2**ups,
            z_dim=z_dim,
            num_backgrounds=g["background_stage.fc.0.weight"].shape[1] - z_dim,
            num_parents=g["parent_stage.fc.0.weight"].shape[1] - z_dim,
            num_children=g["child_stage.jointConv.0.weight"].shape[1] - feature_dim,
            gf_dim=gf_dim,
            ef_dim=e["model_z.0.0.weight"].shape[0],
        )
    except (KeyError, IndexError, ValueError) as err:
        raise ModelFileError(f"not a released MixNMatch generator/encoder pair ({err})") from None


def import_official(
    generator: str | Path,
    encoder: str | Path,
    extractor: str | Path | None = None,
) -> tuple[ModelConfig, dict[str, nn.Module]]:
    """Read released G.pth / E.pth / EX.pth (weights_only) into our networks, validated."""
    paths = {"generator": Path(generator), "encoders": Path(encoder)}
    if extractor is not None:
        paths["extractor"] = Path(extractor)
    states = {part: _torch_load(p) for part, p in paths.items()}
    cfg = infer_official_config(states["generator"], states["encoders"])
    if "extractor" in states:
        first = states["extractor"].get("first.0.0.weight")
        if first is None:
            raise ModelFileError(f"{paths['extractor']}: not a released feature extractor")
        from dataclasses import replace

        cfg = replace(cfg, ex_dim=first.shape[0] // 2)
    nets = build_networks(cfg, with_extractor="extractor" in states)
    for part, net in nets.items():
        check_state_dict(net, states[part], paths[part], part)
        net.load_state_dict(states[part])
        net.eval()
    return cfg, nets
