"""Inference API shared by the CLI and the GUI (docs/method.md: Inference).

``MixNMatch`` is a loaded model; ``Mixer`` holds four slots (background, pose, shape, texture),
encodes each reference once with only the encoder branches it needs, caches the generator's
stages and recomputes only what a change touches.

Code mode: background stage (E_z, E_b of the background image), parent stage (E_z of the pose
image, E_p of the shape image), child stage (E_c of the texture image). Feature mode: the parent
feature map comes from EX(shape image); the pose slot is unused. b, p, c are soft codes
(softmax of the encoder logits), as in the released evaluation.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.codes import soft_code
from engine.config import ModelConfig
from engine.devices import resolve_device
from engine.errors import MixNMatchError, ModelFileError
from engine.images import Reference, to_uint8
from engine.model_file import build_networks, import_official, load_model
from engine.resources import bundled_model_path
from engine.threads import resolve_threads, use_threads
from engine.vocabulary import LAYERS, MODES, SLOT_FACTOR, SLOTS  # noqa: F401 (public names)


def _computes(method: Callable) -> Callable:
    """Run a Mixer method without autograd, on the model's intra-op thread count."""

    @functools.wraps(method)
    def wrapper(self: Mixer, *args, **kwargs):
        use_threads(self.model.threads)
        with torch.inference_mode():
            return method(self, *args, **kwargs)

    return wrapper


class MixNMatch:
    """A loaded model: generator, encoders and (optional) feature extractor, in eval mode.

    ``threads``: intra-op CPU threads for its computations; None picks
    ``engine.threads.resolve_threads()`` (``OMP_NUM_THREADS``, else half the CPUs, at most 4),
    which keeps interactive latency low when other processes use the CPU.
    """

    def __init__(
        self,
        cfg: ModelConfig,
        nets: dict,
        info: dict,
        device: torch.device,
        path: Path | None = None,
        threads: int | None = None,
    ) -> None:
        self.config = cfg
        self.generator = nets["generator"].to(device).eval()
        self.encoders = nets["encoders"].to(device).eval()
        self.extractor = nets["extractor"].to(device).eval() if "extractor" in nets else None
        self.info = info
        self.device = device
        self.path = path
        self.name = str(info.get("name") or (path.stem if path else "model"))
        self.threads = resolve_threads(threads)

    @property
    def has_feature_mode(self) -> bool:
        return self.extractor is not None

    @classmethod
    def load(
        cls, path: str | Path, device: str | torch.device = "auto", threads: int | None = None
    ) -> MixNMatch:
        dev = resolve_device(device)
        header, nets = load_model(path, dev)
        cfg = header.pop("config")
        return cls(cfg, nets, header, dev, Path(path), threads)

    @classmethod
    def load_bundled(
        cls, device: str | torch.device = "auto", threads: int | None = None
    ) -> MixNMatch:
        path = bundled_model_path()
        if path is None:
            raise ModelFileError("no bundled model found in resources/models/")
        return cls.load(path, device, threads)

    @classmethod
    def load_official(
        cls, generator, encoder, extractor=None, device="auto", threads: int | None = None
    ) -> MixNMatch:
        dev = resolve_device(device)
        cfg, nets = import_official(generator, encoder, extractor)
        info = {"name": Path(generator).parent.name or "released", "preset": "released"}
        return cls(cfg, nets, info, dev, Path(generator), threads)

    @classmethod
    def from_random(
        cls, cfg: ModelConfig, seed: int = 0, device="cpu", threads: int | None = None
    ) -> MixNMatch:
        """A randomly initialised model (tests, demos)."""
        from engine.networks import init_weights

        torch.manual_seed(seed)
        nets = build_networks(cfg)
        for net in nets.values():
            net.apply(init_weights)
        info = {"name": f"random-{seed}", "preset": "random"}
        return cls(cfg, nets, info, resolve_device(device), None, threads)

    def mixer(self) -> Mixer:
        return Mixer(self)


@dataclass
class MixResult:
    """A composite and its layers as (S, S, 3) uint8 arrays at model resolution."""

    image: np.ndarray
    layers: dict[str, np.ndarray]
    mode: str
    seconds: float = 0.0


@dataclass
class _Slot:
    ref: Reference | None = None
    override: torch.Tensor | None = None  # one-hot (b/p/c) or z vector (pose)
    override_z_bg: torch.Tensor | None = None  # background layout z when no reference
    version: int = 0
    cache: dict[str, torch.Tensor] = field(default_factory=dict)  # factor -> (1, K)


class Mixer:
    """Four slots and the stage caches; not thread-safe (use from one worker thread)."""

    def __init__(self, model: MixNMatch) -> None:
        self.model = model
        self.slots = {name: _Slot() for name in SLOTS}
        self._stage_cache: dict[str, tuple[tuple, torch.Tensor]] = {}

    # -- slot edits ---------------------------------------------------------------------------
    def _check_slot(self, slot: str) -> _Slot:
        if slot not in self.slots:
            raise MixNMatchError(f"unknown slot {slot!r}; slots are {', '.join(SLOTS)}")
        return self.slots[slot]

    def set_reference(self, slot: str, ref: Reference | None) -> None:
        """Put a reference in a slot (None clears it); it is encoded lazily, once."""
        state = self._check_slot(slot)
        same = ref is not None and state.ref is not None and ref.key == state.ref.key
        if same and state.override is None:
            return
        # The same image again only drops an explicit code; its encoding stays cached.
        cache = state.cache if same else {}
        self.slots[slot] = _Slot(ref=ref, version=state.version + 1, cache=cache)

    def set_code(self, slot: str, index: int | None = None, z: np.ndarray | None = None) -> None:
        """Explicit code: a category index for background/shape/texture, a z vector for pose."""
        state = self._check_slot(slot)
        cfg = self.model.config
        if slot == "pose":
            if z is None:
                raise MixNMatchError("the pose slot takes a z vector")
            vec = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(1, -1)
            if vec.shape[1] != cfg.z_dim:
                raise MixNMatchError(f"z must have {cfg.z_dim} values, got {vec.shape[1]}")
            state.override = vec.to(self.model.device)
        else:
            k = self.num_categories(slot)
            if index is None or not 0 <= int(index) < k:
                raise MixNMatchError(f"{slot} category must be in 0..{k - 1}, got {index}")
            state.override = F.one_hot(torch.tensor([int(index)]), k).float().to(self.model.device)
        state.version += 1

    def reroll(self, slot: str, seed: int) -> None:
        """Replace the slot's factor with a random category (b, p, c) or random z, from seed."""
        gen = torch.Generator().manual_seed(int(seed))
        if slot == "pose":
            self.set_code(slot, z=torch.randn(1, self.model.config.z_dim, generator=gen).numpy())
            return
        index = int(torch.randint(self.num_categories(slot), (1,), generator=gen))
        z_bg = torch.randn(1, self.model.config.z_dim, generator=gen)
        self.set_code(slot, index=index)
        if slot == "background" and self.slots[slot].ref is None:
            self.slots[slot].override_z_bg = z_bg.to(self.model.device)

    def num_categories(self, slot: str) -> int:
        cfg = self.model.config
        return {
            "background": cfg.num_backgrounds,
            "shape": cfg.num_parents,
            "texture": cfg.num_children,
            "pose": 0,
        }[slot]

    @_computes
    def top_k(self, slot: str, k: int = 5) -> list[tuple[int, float]]:
        """The encoder's k most likely categories (index, probability) for the slot's image."""
        state = self._check_slot(slot)
        if slot == "pose" or state.ref is None:
            return []
        probs = self._encoded(slot, SLOT_FACTOR[slot])[0]
        values, indices = probs.topk(min(k, probs.numel()))
        return [(int(i), float(v)) for v, i in zip(values, indices)]

    def missing(self, mode: str = "code") -> list[str]:
        needed = ("background", "shape", "texture") if mode == "feature" else SLOTS
        return [s for s in needed if self.slots[s].ref is None and self.slots[s].override is None]

    # -- encoding -----------------------------------------------------------------------------
    @torch.inference_mode()
    def _encode_refs(self, refs: list[Reference], factor: str) -> torch.Tensor:
        """Batch of references -> (N, K) z or soft code, or (N, f, S, S) features ('feature')."""
        size = self.model.config.image_size
        x = torch.stack([r.to_tensor(size) for r in refs]).to(self.model.device)
        if factor == "feature":
            if self.model.extractor is None:
                raise MixNMatchError(
                    f"model {self.model.name} has no feature extractor: feature mode is unavailable"
                )
            return self.model.extractor(x)
        out = self.model.encoders.encode(x, factor)
        return soft_code(factor, out)

    def _encoded(self, slot: str, factor: str) -> torch.Tensor:
        state = self.slots[slot]
        if factor not in state.cache:
            state.cache[factor] = self._encode_refs([state.ref], factor)
        return state.cache[factor]

    def _factor(self, slot: str, factor: str) -> torch.Tensor:
        """The slot's code for ``factor``: its override if set, else its encoded reference."""
        state = self.slots[slot]
        if slot == "background" and factor == "z":
            if state.ref is None:
                if state.override_z_bg is None:
                    state.override_z_bg = torch.zeros(
                        1, self.model.config.z_dim, device=self.model.device
                    )
                return state.override_z_bg
            return self._encoded(slot, "z")
        if state.override is not None and factor != "feature":
            return state.override
        if state.ref is None:
            raise MixNMatchError(f"the {slot} slot is empty")
        return self._encoded(slot, factor)

    def _stage(self, name: str, key: tuple, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        cached = self._stage_cache.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        value = compute()
        self._stage_cache[name] = (key, value)
        return value

    # -- generation ---------------------------------------------------------------------------
    def _check_mode(self, mode: str, ignore: str | None = None) -> None:
        if mode not in MODES:
            raise MixNMatchError(f"unknown mode {mode!r}; use 'code' or 'feature'")
        if mode == "feature" and not self.model.has_feature_mode:
            raise MixNMatchError(
                f"model {self.model.name} has no feature extractor: feature mode is unavailable"
            )
        missing = [s for s in self.missing(mode) if s != ignore]
        if missing:
            raise MixNMatchError(f"missing reference for: {', '.join(missing)}")

    @_computes
    def mix(self, mode: str = "code") -> MixResult:
        """Generate the composite from the four slots, recomputing only changed stages."""
        self._check_mode(mode)
        start = time.perf_counter()
        g = self.model.generator
        v = {name: s.version for name, s in self.slots.items()}
        bg = self._stage(
            "bg",
            (v["background"],),
            lambda: g.background(self._factor("background", "z"), self._factor("background", "b")),
        )
        if mode == "feature":
            h_p = self._stage(
                "h_p", ("feature", v["shape"]), lambda: self._factor("shape", "feature")
            )
        else:
            h_p = self._stage(
                "h_p",
                ("code", v["pose"], v["shape"]),
                lambda: g.parent_features(self._factor("pose", "z"), self._factor("shape", "p")),
            )
        key = (self._stage_cache["h_p"][0], v["texture"])
        fg = self._stage("fg", key, lambda: g.foreground(h_p, self._factor("texture", "c")))
        out = g.compose(bg, h_p, self._factor("texture", "c"), fg)
        _check_finite(out, self.model.name)
        result = _result(out, mode, 0)
        result.seconds = time.perf_counter() - start
        return result

    @torch.inference_mode()
    def _generate(self, mode: str, varying: str, given: dict[str, torch.Tensor]) -> list[MixResult]:
        """Batch in which ``varying`` takes the rows of ``given`` (factor -> (N, ...))."""
        self._check_mode(mode, ignore=varying)
        start = time.perf_counter()
        g, n = self.model.generator, next(iter(given.values())).shape[0]

        def pick(slot: str, factor: str) -> torch.Tensor:
            if slot == varying and factor in given:
                return given[factor]
            code = self._factor(slot, factor)
            return code.expand(n, *code.shape[1:])

        z, b, c = pick("background", "z"), pick("background", "b"), pick("texture", "c")
        if mode == "feature":
            out = g.mix(z, b, c, features=pick("shape", "feature"))
        else:
            out = g.mix(z, b, c, z_pose=pick("pose", "z"), p=pick("shape", "p"))
        _check_finite(out, self.model.name)
        seconds = (time.perf_counter() - start) / n
        return [_result(out, mode, i, seconds) for i in range(n)]

    def _slot_codes(self, slot: str, refs: list[Reference], mode: str) -> dict[str, torch.Tensor]:
        factor = _varying_factor(slot, mode)
        if factor is None:
            raise MixNMatchError("in feature mode the pose slot is unused")
        codes = {factor: self._encode_refs(refs, factor)}
        if slot == "background":  # the background stage also takes the layout z
            codes["z"] = self._encode_refs(refs, "z")
        return codes

    @_computes
    def sweep(self, slot: str, refs: list[Reference], mode: str = "code") -> list[MixResult]:
        """Vary one factor: ``slot`` takes each reference in turn, other slots stay (batched)."""
        self._check_slot(slot)
        if not refs:
            return []
        return self._generate(mode, slot, self._slot_codes(slot, refs, mode))

    @_computes
    def interpolate(
        self, slot: str, a: Reference, b: Reference, steps: int, mode: str = "code"
    ) -> list[MixResult]:
        """Linear path of one factor's code (or feature map) from reference a to reference b."""
        self._check_slot(slot)
        if steps < 2:
            raise MixNMatchError("interpolation needs at least 2 steps")
        ends = self._slot_codes(slot, [a, b], mode)
        path = {}
        for factor, pair in ends.items():
            t = torch.linspace(0, 1, steps, device=pair.device)
            t = t.view(-1, *[1] * (pair.dim() - 1))  # (steps, 1, ...)
            path[factor] = pair[0:1] * (1 - t) + pair[1:2] * t
        return self._generate(mode, slot, path)


def _varying_factor(slot: str, mode: str) -> str | None:
    if mode == "feature":
        if slot == "pose":
            return None
        if slot == "shape":
            return "feature"
    return SLOT_FACTOR[slot] if slot != "pose" else "z"


def _check_finite(out, name: str) -> None:
    """Refuse a composite with NaN/inf pixels instead of showing a black or grey image."""
    if not all(bool(torch.isfinite(t).all()) for t in (out.child, out.parent, out.background)):
        raise MixNMatchError(
            f"model {name} produced non-finite values (NaN or infinity): its weights are broken"
        )


def _result(out, mode: str, i: int, seconds: float = 0.0) -> MixResult:
    sl = slice(i, i + 1)
    tensors = {
        "background": out.background[sl],
        "parent": out.parent[sl],
        "child": out.child[sl],
        "parent_foreground": (out.parent_fg * out.parent_mask)[sl],
        "child_foreground": (out.child_fg * out.child_mask)[sl],
        "parent_mask": out.parent_mask[sl],
        "child_mask": out.child_mask[sl],
    }
    layers = {name: to_uint8(t)[0] for name, t in tensors.items()}
    return MixResult(layers["child"], layers, mode, seconds)
