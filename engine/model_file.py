"""Model files: our ``.safetensors`` format and the importer for the released ``.pth`` files.

A model file holds the inference networks under ``generator.*``, ``encoders.*`` and (optional)
``extractor.*``, plus one JSON header in the safetensors metadata (format version, model config,
provenance). Loading checks the header's config and every tensor's name, shape, dtype and values
(finite, plausible, BatchNorm variances >= 0) before any network is allocated; nothing in a file
is ever executed.
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
from engine.safe_io import atomic_write, check_input_file

FORMAT_NAME = "mixnmatch-studio"
FORMAT_VERSION = 1
METADATA_KEY = "mixnmatch"
PARTS = ("generator", "encoders", "extractor")
_PREFIXES = ("module.", "_orig_mod.")
MAX_ABS_WEIGHT = 1e6  # trained weights and BatchNorm statistics are many orders smaller


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


def expected_states(cfg: ModelConfig, parts) -> dict[str, dict[str, torch.Tensor]]:
    """State dicts (shapes and dtypes only, on the meta device: no memory) of ``parts``."""
    with torch.device("meta"):
        nets = build_networks(cfg, with_extractor="extractor" in parts)
    return {part: net.state_dict() for part, net in nets.items()}


def check_values(
    expected: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor], path: Path, part: str
) -> None:
    """Refuse tensors that cannot be trained weights: a wrong dtype kind, NaN/inf, absurd
    magnitudes, negative BatchNorm variances, or views whose memory is shared or expanded."""
    for key, ref in expected.items():
        value = state[key]
        where = f"{path}: {part}: {key}"
        if value.is_floating_point() != ref.is_floating_point():
            kind = "floating-point" if ref.is_floating_point() else "integer"
            raise ModelFileError(f"{where}: {value.dtype} tensor where {kind} values belong")
        if value.untyped_storage().nbytes() < value.numel() * value.element_size():
            raise ModelFileError(f"{where}: expanded or overlapping tensor (not plain weights)")
        if not ref.is_floating_point() or value.numel() == 0:
            continue
        data = value.detach().float()
        if not bool(torch.isfinite(data).all()):
            raise ModelFileError(f"{where}: holds NaN or infinite values (broken weights)")
        peak = float(data.abs().max())
        if peak > MAX_ABS_WEIGHT:
            raise ModelFileError(f"{where}: implausible value {peak:.3g} (broken weights)")
        if key.endswith("running_var") and bool((data < 0).any()):
            raise ModelFileError(f"{where}: negative BatchNorm variance (broken weights)")


def load_checked(
    cfg: ModelConfig,
    states: Mapping[str, Mapping[str, torch.Tensor]],
    paths: Mapping[str, Path],
    device: torch.device | str = "cpu",
) -> dict[str, nn.Module]:
    """Check every part's keys, shapes and values against the config, then build and load.

    The networks are only allocated once everything matches, so a small file can never make
    them allocate more than the weights it actually holds."""
    expected = expected_states(cfg, states)
    for part, ref in expected.items():
        check_state_dict(ref, states[part], paths[part], part)
        check_values(ref, states[part], paths[part], part)
    nets = build_networks(cfg, with_extractor="extractor" in states)
    for part, net in nets.items():
        net.load_state_dict(states[part])
        net.to(device).eval()
    return nets


def check_state_dict(net: nn.Module | Mapping, state: Mapping, path: Path, part: str) -> None:
    """Refuse missing/extra keys and wrong shapes with one line naming the first problems.

    ``net`` is a network or its state dict; ``state`` maps keys to anything with a shape."""
    expected = net.state_dict() if isinstance(net, nn.Module) else net
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

    metadata = {key: json.dumps(header)}
    return atomic_write(
        path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata), what, ModelFileError
    )


def read_json_header(path: Path, what: str, key: str, fmt: str, version: int) -> dict:
    """The JSON header stored under metadata ``key`` of a safetensors file (model files and the
    oracle), checked for its format name and version; one ModelFileError line otherwise."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as err:  # safetensors raises its own error types for bad files
        raise ModelFileError(f"{path}: not a readable .safetensors {what} file ({err})") from None
    if key not in meta:
        raise ModelFileError(f"{path}: safetensors file without a MixNMatch header ({what})")
    try:
        header = json.loads(meta[key])
    except json.JSONDecodeError:
        raise ModelFileError(f"{path}: corrupt MixNMatch header (invalid JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: corrupt MixNMatch header (not a JSON object)")
    if header.get("format") != fmt:
        raise ModelFileError(f"{path}: not a MixNMatch Studio {what} file")
    if header.get("format_version") != version:
        raise ModelFileError(
            f"{path}: {what} format version {header.get('format_version')} is not supported "
            f"(this version reads {version})"
        )
    return header


def read_header(path: str | Path) -> dict:
    """Read and validate the JSON header without loading weights."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise ModelFileError(f"{path}: no such model file")
    check_input_file(path, ModelFileError)
    if path.suffix in (".pth", ".pt", ".pkl"):
        raise ModelFileError(
            f"{path}: a PyTorch checkpoint, not a model file; convert released weights with "
            "mixnmatch-import-official"
        )
    header = read_json_header(path, "model", METADATA_KEY, FORMAT_NAME, FORMAT_VERSION)
    try:
        header["config"] = ModelConfig.from_dict(header["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: invalid model config in header: {err}") from None
    parts = header.setdefault("parts", ["generator", "encoders"])
    if (
        not isinstance(parts, list)
        or not all(isinstance(p, str) and p in PARTS for p in parts)
        or not {"generator", "encoders"} <= set(parts)
    ):
        raise ModelFileError(
            f"{path}: invalid header: parts must list generator, encoders and optionally "
            f"extractor, got {parts!r}"
        )
    return header


def load_model(
    path: str | Path, device: torch.device | str = "cpu"
) -> tuple[dict, dict[str, nn.Module]]:
    """Load a model file -> (header, {part: network in eval mode on device})."""
    from safetensors.torch import load_file

    path = Path(path)
    header = read_header(path)
    cfg: ModelConfig = header["config"]
    parts = header["parts"]
    _check_file_shapes(path, cfg, parts)
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as err:
        raise ModelFileError(f"{path}: cannot read weights ({one_line(err)})") from None
    grouped: dict[str, dict[str, torch.Tensor]] = {p: {} for p in parts}
    for key, value in tensors.items():
        part, _, rest = key.partition(".")
        if part not in grouped:
            raise ModelFileError(f"{path}: unexpected tensor {key}")
        grouped[part][rest] = value
    return header, load_checked(cfg, grouped, dict.fromkeys(parts, path), device)


def _check_file_shapes(path: Path, cfg: ModelConfig, parts) -> None:
    """Compare the file's tensor names and shapes with the header's config, reading no data."""
    from safetensors import safe_open

    shapes: dict[str, dict[str, _Shape]] = {p: {} for p in parts}
    try:
        with safe_open(str(path), framework="pt") as f:
            for key in f.keys():
                part, _, rest = key.partition(".")
                if part not in shapes:
                    raise ModelFileError(f"{path}: unexpected tensor {key}")
                shapes[part][rest] = _Shape(f.get_slice(key).get_shape())
    except ModelFileError:
        raise
    except Exception as err:  # safetensors raises its own error types for bad files
        raise ModelFileError(f"{path}: cannot read weights ({one_line(err)})") from None
    for part, ref in expected_states(cfg, parts).items():
        check_state_dict(ref, shapes[part], path, part)


class _Shape:
    """Stands in for a tensor whose shape is known but whose data is not loaded."""

    def __init__(self, shape) -> None:
        self.shape = tuple(shape)


def one_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _torch_load(path: Path) -> dict[str, torch.Tensor]:
    path = check_input_file(path, ModelFileError)
    _check_pth_kind(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "weights only" in str(err).lower():
            raise ModelFileError(
                f"{path}: refused: the file holds Python objects other than tensors "
                "(loading it could run code)"
            ) from None
        raise ModelFileError(f"{path}: corrupt PyTorch checkpoint ({one_line(err)})") from None
    except Exception as err:
        reason = one_line(err) if str(err).strip() else f"truncated: {type(err).__name__}"
        raise ModelFileError(f"{path}: not a readable PyTorch checkpoint ({reason})") from None
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ModelFileError(f"{path}: not a state dict of tensors")
    return clean_state_dict(state)


def _check_pth_kind(path: Path) -> None:
    """Name what a file is when it is clearly not a PyTorch checkpoint (before unpickling)."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    if not head:
        raise ModelFileError(f"{path}: empty file, not a PyTorch checkpoint")
    if head.startswith(b"PK") or head.startswith(b"\x80"):
        return  # zip-based (PyTorch >= 1.6) or legacy pickle
    if len(head) == 9 and head[8:9] == b"{":
        raise ModelFileError(
            f"{path}: a .safetensors file, not a PyTorch .pth checkpoint (open it as a model file)"
        )
    raise ModelFileError(f"{path}: not a PyTorch checkpoint (unknown file format)")


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
    except (KeyError, IndexError, ValueError, AttributeError) as err:
        raise ModelFileError(f"not a released MixNMatch generator/encoder pair ({err})") from None


def official_files(path: str | Path) -> tuple[Path, Path, Path | None]:
    """The G/E/EX files of a released model given any one of them or their folder.

    Accepts the released names (G.pth, E.pth, EX.pth) and training outputs (G_0.pth, ...);
    EX is None when absent. ModelFileError when G or E cannot be found.
    """
    path = Path(path)
    folder, suffix = (path, "") if path.is_dir() else (path.parent, _official_suffix(path))
    if suffix is None:
        raise ModelFileError(
            f"{path.name}: not a MixNMatch model (expected .safetensors or G.pth/E.pth/EX.pth)"
        )
    generator, encoder, extractor = (folder / f"{n}{suffix}.pth" for n in ("G", "E", "EX"))
    for needed in (generator, encoder):
        if not needed.is_file():
            raise ModelFileError(f"{needed.name} not found next to {path.name} in {folder}")
    return generator, encoder, extractor if extractor.is_file() else None


def _official_suffix(path: Path) -> str | None:
    """``_0`` for ``G_0.pth``, ``""`` for ``EX.pth``; None for a name that is not released."""
    stem = path.stem
    for prefix in ("EX", "G", "E"):
        if stem.startswith(prefix) and (len(stem) == len(prefix) or stem[len(prefix)] == "_"):
            return stem[len(prefix) :]
    return None


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
        if first is None or first.dim() != 4:
            raise ModelFileError(f"{paths['extractor']}: not a released feature extractor")
        from dataclasses import replace

        try:
            cfg = replace(cfg, ex_dim=first.shape[0] // 2)
        except ValueError as err:
            raise ModelFileError(f"{paths['extractor']}: {err}") from None
    return cfg, load_checked(cfg, states, paths)
