"""Write an evaluation report: report.json, summary.md, grid.png and vary_<factor>.png."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from engine.evaluate.figures import grid_image, vary_images
from engine.evaluate.labels import LabelledSet
from engine.evaluate.oracle import Oracle
from engine.evaluate.run import EvalSettings
from engine.evaluate.summary import summary_markdown
from engine.infer import MixNMatch


def write_report(
    out_dir: str | Path,
    report: dict,
    art: dict,
    data: LabelledSet,
    model: MixNMatch,
    oracle: Oracle,
    settings: EvalSettings,
) -> dict[str, Path]:
    """report.json, summary.md, grid.png and vary_<factor>.png in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"report": out / "report.json", "summary": out / "summary.md", "grid": out / "grid.png"}
    paths["report"].write_text(json.dumps(_finite(report), indent=1) + "\n", encoding="utf-8")
    paths["summary"].write_text(summary_markdown(report), encoding="utf-8")
    grid_image(report, art, data, settings.grid_rows).save(paths["grid"])
    sheets = vary_images(report, art, data, model, oracle, settings.vary_count, settings.seed)
    for slot, img in sheets.items():
        paths[f"vary_{slot}"] = out / f"vary_{slot}.png"
        img.save(paths[f"vary_{slot}"])
    return paths


def _finite(value):
    """NaN/inf -> None so report.json is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value
