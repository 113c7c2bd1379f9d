"""Which model to load (a small spec the worker thread turns into an engine model)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .state import ModelInfo


@dataclass(frozen=True)
class ModelSpec:
    """``kind`` is "bundled" (resources/models), "file" (ours or released) or "random"."""

    kind: str = "bundled"
    path: str = ""
    device: str = "auto"
    preset: str = "demo"
    seed: int = 0
    threads: int | None = None  # CPU threads; None: the engine's interactive policy

    @classmethod
    def for_path(
        cls, path: str | Path, device: str = "auto", threads: int | None = None
    ) -> ModelSpec:
        return cls(kind="file", path=str(path), device=device, threads=threads)

    def label(self) -> str:
        if self.kind == "file":
            return Path(self.path).name
        if self.kind == "random":
            return f"untrained {self.preset} model"
        return "bundled model"

    def load(self):
        """Build the engine model (slow: imports torch). Runs on the worker thread."""
        import engine

        if self.kind == "bundled":
            return engine.MixNMatch.load_bundled(device=self.device, threads=self.threads)
        if self.kind == "random":
            if self.preset not in engine.PRESETS:
                names = ", ".join(sorted(engine.PRESETS))
                raise engine.ModelFileError(
                    f"unknown preset {self.preset!r}; choose one of {names}"
                )
            device = "cpu" if self.device == "auto" else self.device
            return engine.MixNMatch.from_random(
                engine.PRESETS[self.preset], seed=self.seed, device=device, threads=self.threads
            )
        path = Path(self.path)
        if not path.exists():
            raise engine.ModelFileError(f"{path}: no such file")
        if path.is_dir() or path.suffix.lower() == ".pth":
            generator, encoder, extractor = engine.official_files(path)
            return engine.MixNMatch.load_official(
                generator, encoder, extractor, device=self.device, threads=self.threads
            )
        return engine.MixNMatch.load(path, device=self.device, threads=self.threads)


def describe_model(model, spec: ModelSpec) -> ModelInfo:
    """ModelInfo for a loaded engine model (runs on the worker thread)."""
    import engine

    info = dict(getattr(model, "info", {}) or {})
    config = model.config
    preset = engine.model_preset(config, info)
    path = getattr(model, "path", None)
    return ModelInfo(
        name=str(getattr(model, "name", "") or info.get("name") or spec.label()),
        preset=preset,
        device=str(model.device),
        has_feature_mode=bool(model.has_feature_mode),
        image_size=int(config.image_size),
        path=str(path) if path else spec.path,
        details={str(k): str(v) for k, v in info.items()},
        threads=int(getattr(model, "threads", 0) or 0),
    )
