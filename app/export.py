"""Export: PNG with metadata (inputs, crops, codes, model), layers, overwrite questions."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from . import APP_NAME, __version__
from .state import SLOTS, MixOutcome, ModelInfo


def build_metadata(outcome: MixOutcome, model: ModelInfo | None) -> dict[str, str]:
    """tEXt entries describing how the image was made (enough to redo it)."""
    combination = outcome.combination
    meta = {
        "Software": f"{APP_NAME} {__version__}",
        "mode": combination.mode,
        "model": model.name if model else "",
        "preset": model.preset if model else "",
    }
    seeds = []
    for slot in SLOTS:
        state, report = combination[slot], outcome.reports.get(slot)
        meta[f"{slot}.name"] = state.name
        meta[f"{slot}.sha1"] = report.digest if report else ""
        box = state.effective_box
        meta[f"{slot}.box"] = ",".join(map(str, box)) if box else ""
        meta[f"{slot}.crop"] = ",".join(map(str, report.crop)) if report and report.crop else ""
        meta[f"{slot}.crop_mode"] = state.crop if state.image is not None else ""
        code = state.code
        meta[f"{slot}.code"] = "encoded" if code is None else f"{code.kind} {code.value}"
        if code is not None and code.kind == "seed":
            seeds.append(f"{slot}={code.value}")
    meta["seed"] = " ".join(seeds) if seeds else "none"
    meta["mixnmatch"] = json.dumps({k: v for k, v in meta.items() if k != "Software"})
    return meta


def layer_paths(path: Path, outcome: MixOutcome) -> dict[str, Path]:
    """composite -> path, each layer -> <stem>_<layer>.png beside it."""
    paths = {"composite": path}
    for name in outcome.layer_arrays:
        paths[name] = path.with_name(f"{path.stem}_{name}.png")
    return paths


def save_outcome(
    path: Path,
    outcome: MixOutcome,
    model: ModelInfo | None,
    scale: int = 1,
    layers: bool = False,
) -> list[Path]:
    """Write the composite (and optionally every layer); returns the files written.

    Does not ask about overwriting: call ``confirm_overwrite`` first.
    """
    from engine import save_png

    meta = build_metadata(outcome, model)
    targets = layer_paths(path, outcome) if layers else {"composite": path}
    written = []
    for name, target in targets.items():
        array = outcome.array if name == "composite" else outcome.layer_arrays[name]
        save_png(array, target, {**meta, "layer": name}, scale=scale)
        written.append(target)
    return written


def confirm_overwrite(parent: QWidget | None, paths: list[Path]) -> bool:
    """True if none of ``paths`` exists or the user agrees to replace them."""
    existing = [p for p in paths if p.exists()]
    if not existing:
        return True
    names = "\n".join(p.name for p in existing[:8]) + ("\n…" if len(existing) > 8 else "")
    answer = QMessageBox.question(
        parent,
        "Replace files?",
        f"{len(existing)} file(s) already exist in {existing[0].parent}:\n\n{names}\n\n"
        "Replace them?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def with_png_suffix(path: str | Path) -> Path:
    path = Path(path)
    return path if path.suffix.lower() == ".png" else path.with_name(path.name + ".png")
