"""Learning-curve figure from ``metrics.jsonl``: one panel per factor, drawn with Pillow only.

Panels: background, shape, texture and facing transfer (code and feature mode, with chance),
angle error, and the generator's NMI of each code with its intended factor (plus p with the
background, the failure to watch for). ``write_run_comparison`` puts several runs on the same
axes (one panel per figure, x = images seen), to compare recipes per image.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

W, H, PAD = 360, 220, 36
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14)]
PANELS = [
    ("background", ["code/background", "feature/background", "code/background_from_C"], (0, 1)),
    ("shape", ["code/shape", "feature/shape"], (0, 1)),
    ("texture", ["code/texture", "feature/texture"], (0, 1)),
    ("facing", ["code/facing", "feature/facing"], (0, 1)),
    ("angle error (deg)", ["code/angle_mae", "feature/angle_mae"], None),
    (
        "generator NMI",
        ["gen/nmi_b_background", "gen/nmi_p_shape", "gen/nmi_c_texture", "gen/nmi_p_background"],
        (0, 1),
    ),
]


# Figures compared across runs: (panel title, metrics key, y range or None for automatic).
COMPARED = [
    ("code mode: shape from C", "code/shape", (0, 1)),
    ("code mode: background from A", "code/background", (0, 1)),
    ("code mode: background from shape slot C", "code/background_from_C", (0, 1)),
    ("image change when b is resampled", "gen/change_b", None),
    ("generator NMI p-shape", "gen/nmi_p_shape", (0, 1)),
    ("generator NMI p-background (failure)", "gen/nmi_p_background", (0, 1)),
    ("generator NMI b-background", "gen/nmi_b_background", (0, 1)),
    ("generator NMI c-texture", "gen/nmi_c_texture", (0, 1)),
    ("parent mask area", "gen/parent_mask_area", (0, 1)),
]


def read_evals(path: Path) -> list[dict]:
    """The ``event: eval`` rows of a metrics.jsonl (x = images seen)."""
    rows = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row.get("event") == "eval":
            rows.append(row)
    return rows


def _panel(draw: ImageDraw.ImageDraw, x0: int, y0: int, title: str, series: dict, yrange, font):
    draw.rectangle([x0, y0, x0 + W - 1, y0 + H - 1], outline=(200, 200, 200))
    draw.text((x0 + PAD, y0 + 4), title, fill=(0, 0, 0), font=font)
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    if not xs:
        return
    lo_x, hi_x = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    lo_y, hi_y = yrange if yrange else (0.0, max(ys) * 1.1 or 1.0)
    left, right, top, bottom = x0 + PAD, x0 + W - 10, y0 + 20, y0 + H - 24

    def pos(x: float, y: float) -> tuple[float, float]:
        fx = (x - lo_x) / (hi_x - lo_x)
        fy = (min(max(y, lo_y), hi_y) - lo_y) / (hi_y - lo_y)
        return left + fx * (right - left), bottom - fy * (bottom - top)

    for frac in (0, 0.5, 1):
        yv = lo_y + frac * (hi_y - lo_y)
        _, py = pos(lo_x, yv)
        draw.line([left, py, right, py], fill=(235, 235, 235))
        draw.text((x0 + 2, py - 6), f"{yv:.2g}", fill=(90, 90, 90), font=font)
    draw.text((left, bottom + 6), f"{lo_x:,.0f}", fill=(90, 90, 90), font=font)
    label = f"{hi_x:,.0f} images"
    draw.text((right - 6 * len(label), bottom + 6), label, fill=(90, 90, 90), font=font)
    for k, (name, pts) in enumerate(series.items()):
        colour = (150, 150, 150) if name == "chance" else COLOURS[k % len(COLOURS)]
        line = [pos(x, y) for x, y in pts]
        if len(line) > 1:
            draw.line(line, fill=colour, width=2)
        for px, py in line:
            draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=colour)
        draw.text((right - 150, top + 2 + 11 * k), name, fill=colour, font=font)


def _save(img: Image.Image, out_path: Path) -> Path:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp.png")
    img.save(tmp)
    tmp.replace(out_path)
    return out_path


def _draw_panels(panels: list[tuple[str, dict, tuple | None]], out_path: Path) -> Path:
    """Draw (title, series, y range) panels three to a row and save the figure atomically."""
    font = ImageFont.load_default()
    cols = 3
    img = Image.new("RGB", (cols * W, ((len(panels) + cols - 1) // cols) * H), "white")
    draw = ImageDraw.Draw(img)
    for i, (title, series, yrange) in enumerate(panels):
        _panel(draw, (i % cols) * W, (i // cols) * H, title, series, yrange, font)
    return _save(img, out_path)


def write_learning_curves(metrics_path: Path, out_path: Path) -> Path | None:
    """Draw the learning curves of a run; None when no evaluation was logged yet."""
    rows = read_evals(metrics_path)
    if not rows:
        return None
    panels = []
    for title, keys, yrange in PANELS:
        series = {}
        for key in keys:
            pts = [(r["images_seen"], r[key]) for r in rows if key in r]
            if pts:
                series[key] = pts
        chance_key = f"chance/{keys[0].split('/', 1)[1]}" if "/" in keys[0] else None
        if chance_key and any(chance_key in r for r in rows):
            series["chance"] = [(r["images_seen"], r[chance_key]) for r in rows if chance_key in r]
        panels.append((title, series, yrange))
    return _draw_panels(panels, out_path)


def write_run_comparison(runs: dict[str, Path], out_path: Path) -> Path | None:
    """Draw the evaluations of several runs (name -> metrics.jsonl) on shared axes.

    None when no run has an evaluation yet.
    """
    evals = {name: read_evals(Path(path)) for name, path in runs.items()}
    if not any(evals.values()):
        return None
    panels = [
        (
            title,
            {
                name: [(r["images_seen"], r[key]) for r in rows if key in r]
                for name, rows in evals.items()
            },
            yrange,
        )
        for title, key, yrange in COMPARED
    ]
    return _draw_panels(panels, out_path)
