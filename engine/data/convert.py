"""``mixnmatch-data convert-plain``: a folder of images plus a boxes CSV -> a CUB-format folder."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

from engine.data.cub import BOXES_TXT, IMAGES_TXT, format_problems
from engine.errors import DataError


def convert_plain(
    images_dir: str | os.PathLike, boxes_csv: str | os.PathLike, out_dir: str | os.PathLike
) -> int:
    """Convert a folder of images plus a CSV "filename,x,y,w,h" (header optional) to CUB format.

    Writes images.txt, bounding_boxes.txt, image_class_labels.txt (all class 1) and classes.txt
    under ``out_dir`` and hard-links (or copies) the images to ``out_dir/images/``.
    Returns the number of images; raises DataError listing every problem.
    """
    images_dir, boxes_csv, out = Path(images_dir), Path(boxes_csv), Path(out_dir)
    if not images_dir.is_dir():
        raise DataError(f"{images_dir}: images folder not found")
    if not boxes_csv.is_file():
        raise DataError(f"{boxes_csv}: boxes file not found")
    if (out / IMAGES_TXT).exists():
        raise DataError(f"{out}: already holds a dataset ({IMAGES_TXT}); choose a new folder")
    name = boxes_csv.name
    rows: list[tuple[str, tuple[float, ...]]] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    text = boxes_csv.read_text(encoding="utf-8-sig", errors="replace")
    first = True
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        is_first, first = first, False
        fields = [f.strip() for f in line.split(",")]
        try:
            values = tuple(float(v) for v in fields[1:])
        except ValueError:
            values = ()
        if len(fields) != 5 or len(values) != 4 or not all(map(math.isfinite, values)):
            if is_first:
                continue  # header
            problems.append(f"{name}:{n}: malformed line, expected 'filename,x,y,w,h'")
            continue
        rel = fields[0]
        rel_path = Path(rel)
        if rel_path.is_absolute() or ".." in rel_path.parts or not rel:
            problems.append(f"{name}:{n}: filename must be relative to the images folder: {rel}")
        elif rel in seen:
            problems.append(f"{name}:{n}: duplicate filename {rel} (first on line {seen[rel]})")
        elif not (images_dir / rel).is_file():
            problems.append(f"{name}:{n}: image not found: {rel}")
        elif values[2] <= 0 or values[3] <= 0:
            problems.append(f"{name}:{n}: empty box (w={values[2]:g}, h={values[3]:g})")
        else:
            seen[rel] = n
            rows.append((rel, values))
    if not rows and not problems:
        problems.append(f"{name}: no images listed")
    if problems:
        raise DataError(format_problems(boxes_csv, problems))

    (out / "images").mkdir(parents=True, exist_ok=True)
    lines_img, lines_box, lines_cls = [], [], []
    for ident, (rel, (x, y, w, h)) in enumerate(rows, 1):
        src, dst = images_dir / rel, out / "images" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists():
            dst.unlink()
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        lines_img.append(f"{ident} {rel}")
        lines_box.append(f"{ident} {x:g} {y:g} {w:g} {h:g}")
        lines_cls.append(f"{ident} 1")
    (out / BOXES_TXT).write_text("\n".join(lines_box) + "\n", encoding="utf-8")
    (out / "image_class_labels.txt").write_text("\n".join(lines_cls) + "\n", encoding="utf-8")
    (out / "classes.txt").write_text("1 all\n", encoding="utf-8")
    (out / IMAGES_TXT).write_text("\n".join(lines_img) + "\n", encoding="utf-8")  # last: marks done
    return len(rows)
