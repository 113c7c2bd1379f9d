"""Labelled SynthBirds folders: CUB records joined with ``factors.csv``, and their crops.

The crop of every image is exactly the one the models see: ``Reference(image, box)`` with the box
from ``bounding_boxes.txt``, resized by the training crop rule (``Reference.to_tensor``). Crops are
kept as uint8 tensors (lossless: ``to_tensor`` maps 8-bit pixels linearly to [-1, 1]).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.data.cub import Record, read_cub
from engine.errors import DataError
from engine.images import Reference, load_image

FACTORS_CSV = "factors.csv"
FACING = ("left", "right")
# Class factors the oracle reads, in head order, and the continuous one.
CLASS_FACTORS = ("background", "shape", "texture", "facing")
ANGLE_SCALE = 30.0  # SynthBirds angles lie in [-30, 30] degrees


def default_class_names() -> dict[str, list[str]]:
    """SynthBirds class names per factor (index = class id)."""
    from engine.synth import BACKGROUNDS, SHAPES, TEXTURES

    return {
        "background": list(BACKGROUNDS),
        "shape": list(SHAPES),
        "texture": list(TEXTURES),
        "facing": list(FACING),
    }


@dataclass
class LabelledSet:
    """A SynthBirds folder: records (sorted by id) and per-image ground truth as arrays."""

    root: Path
    records: list[Record]
    labels: dict[str, np.ndarray]  # background/shape/texture/facing: int64, angle: float64 deg
    names: dict[str, list[str]]

    def __len__(self) -> int:
        return len(self.records)

    def subset(self, indices) -> LabelledSet:
        idx = np.asarray(indices, dtype=np.int64)
        return LabelledSet(
            self.root,
            [self.records[i] for i in idx],
            {k: v[idx] for k, v in self.labels.items()},
            self.names,
        )

    def split(self) -> tuple[LabelledSet, LabelledSet]:
        """(train, test) by the folder's train_test_split.txt (every 10th image if absent)."""
        test_ids = set()
        path = self.root / "train_test_split.txt"
        if path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                fields = line.split()
                if len(fields) == 2 and fields[1] == "0" and fields[0].isdigit():
                    test_ids.add(int(fields[0]))
        else:
            test_ids = {r.id for k, r in enumerate(self.records) if k % 10 == 9}
        is_test = np.array([r.id in test_ids for r in self.records], dtype=bool)
        return self.subset(np.flatnonzero(~is_test)), self.subset(np.flatnonzero(is_test))

    def reference(self, i: int) -> Reference:
        rec = self.records[i]
        return Reference(load_image(rec.path), rec.box, rec.path.name)

    def crops(
        self,
        size: int,
        indices: list[int] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> torch.Tensor:
        """(N, 3, size, size) uint8 crops, as the models see them."""
        chosen = range(len(self)) if indices is None else indices
        out = torch.empty(len(chosen), 3, size, size, dtype=torch.uint8)
        for k, i in enumerate(chosen):
            out[k] = to_uint8_tensor(self.reference(i).to_tensor(size))
            if progress is not None and (k + 1) % 250 == 0:
                progress(k + 1, len(chosen))
        return out


def to_uint8_tensor(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float -> uint8 (the inverse of the linear map used by ``Reference.to_tensor``)."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 -> [-1, 1] float."""
    return x.float() / 127.5 - 1.0


def _parse_rows(path: Path, names: dict[str, list[str]]) -> dict[int, tuple]:
    rows: dict[int, tuple] = {}
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            needed = {"id", "shape", "texture", "background", "angle_deg", "facing"}
            absent = needed - set(reader.fieldnames or ())
            if absent:
                raise DataError(f"{path}: missing column(s) {', '.join(sorted(absent))}")
            for n, row in enumerate(reader, 2):
                try:
                    facing = FACING.index(row["facing"].strip())
                    values = (
                        int(row["background"]),
                        int(row["shape"]),
                        int(row["texture"]),
                        facing,
                        float(row["angle_deg"]),
                    )
                except (ValueError, AttributeError):
                    raise DataError(f"{path}:{n}: malformed factors row") from None
                for factor, value in zip(CLASS_FACTORS, values):
                    if not 0 <= value < len(names[factor]):
                        raise DataError(f"{path}:{n}: {factor} class {value} out of range")
                rows[int(row["id"])] = values
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file") from None
    return rows


def load_labelled(root: str | Path, require_independent: bool = True) -> LabelledSet:
    """Read a SynthBirds folder; one-line DataError if it is not one (or is natural mode)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: folder not found")
    csv_path = root / FACTORS_CSV
    if not csv_path.is_file():
        raise DataError(
            f"{root}: no {FACTORS_CSV}: not a SynthBirds folder "
            "(make one with: mixnmatch-data synth --independent)"
        )
    names = default_class_names()
    names_file = root / "factor_names.json"
    if names_file.is_file():
        try:
            stored = json.loads(names_file.read_text(encoding="utf-8"))
            for factor in ("background", "shape", "texture"):
                if factor in stored:
                    names[factor] = [str(v) for v in stored[factor]]
        except (json.JSONDecodeError, TypeError):
            raise DataError(f"{names_file}: invalid JSON") from None
    records = read_cub(root)
    rows = _parse_rows(csv_path, names)
    lacking = [r.id for r in records if r.id not in rows]
    if lacking:
        raise DataError(
            f"{csv_path}: no factors for image id {lacking[0]} ({len(lacking)} missing)"
        )
    table = np.array([rows[r.id] for r in records], dtype=np.float64).reshape(-1, 5)
    labels = {f: table[:, k].astype(np.int64) for k, f in enumerate(CLASS_FACTORS)}
    labels["angle"] = table[:, 4]
    if (
        require_independent
        and len(records) >= 8
        and np.all(labels["shape"] == labels["texture"] // 4)
    ):
        raise DataError(
            f"{root}: natural-mode SynthBirds (every shape follows its texture); "
            "use a folder made with --independent"
        )
    return LabelledSet(root, records, labels, names)
