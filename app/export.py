"""Export: PNG with metadata (inputs, crops, codes, model), layers, overwrite questions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from . import APP_NAME, __version__
from .state import Combination, MixOutcome, ModelInfo


def input_records(combination: Combination, records: Mapping, skip: str = "") -> dict:
    """The engine's ``InputRecord`` of each slot that holds something, with the slot's code.

    ``records``: the worker's record of each slot with an image; ``skip``: a slot to leave out.
    """
    from engine import InputRecord

    described = {}
    for slot, state in combination.items():
        if state.is_empty or slot == skip:
            continue
        code = "encoded" if state.code is None else f"{state.code.kind} {state.code.value}"
        described[slot] = replace(records.get(slot) or InputRecord(file=state.name), code=code)
    return described


def build_metadata(
    combination: Combination,
    records: Mapping,
    model: ModelInfo | None,
    layer: str = "composite",
    varying: str = "",
) -> dict[str, str]:
    """Text entries describing how an image was made (the engine's schema, as the CLI's)."""
    from engine import composite_metadata

    return composite_metadata(
        f"{APP_NAME} {__version__}",
        combination.mode,
        model.name if model else "",
        model.preset if model else "",
        input_records(combination, records, skip=varying),
        layer,
        varying,
    )


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

    records = {slot: report.record for slot, report in outcome.reports.items()}
    targets = layer_paths(path, outcome) if layers else {"composite": path}
    written = []
    for name, target in targets.items():
        array = outcome.array if name == "composite" else outcome.layer_arrays[name]
        meta = build_metadata(outcome.combination, records, model, layer=name)
        save_png(array, target, meta, scale=scale)
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
