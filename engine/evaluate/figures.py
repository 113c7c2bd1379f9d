"""Report images: grid.png (quadruples and their composites as the oracle reads them) and
vary_<factor>.png (one slot takes many images, the others keep a base quadruple)."""

from __future__ import annotations

import numpy as np
import torch

from engine.evaluate.labels import LabelledSet
from engine.evaluate.mixing import SLOT_LETTERS, SOURCES
from engine.evaluate.oracle import Oracle
from engine.evaluate.sheets import BAD, INK, OK, Tile, table_image
from engine.infer import MixNMatch
from engine.vocabulary import SLOTS

ANGLE_OK_DEG = 10.0  # a composite's angle counts as transferred within this error (grid colours)


def _angle_text(facing: int, angle: float) -> str:
    return f"{'LR'[int(facing)]} {int(round(angle)):+d}°"


def _source_caption(data: LabelledSet, i: int, slot: int) -> list:
    lab, names = data.labels, data.names
    if slot == 0:
        return [[(names["background"][lab["background"][i]], INK)]]
    if slot == 1:
        return [[(_angle_text(lab["facing"][i], lab["angle"][i]), INK)]]
    if slot == 2:
        return [[(names["shape"][lab["shape"][i]], INK)]]
    return [[(names["texture"][lab["texture"][i]], INK)]]


def _composite_caption(data: LabelledSet, pred: dict, j: int, quad, mode: str) -> list:
    lab, names = data.labels, data.names
    src = SOURCES[mode]

    def tok(factor: str) -> tuple:
        value = int(pred[factor][j])
        ok = value == lab[factor][quad[src[factor]]]
        return names[factor][value], OK if ok else BAD

    angle = float(pred["angle"][j])
    facing = int(pred["facing"][j])
    pose_ok = facing == lab["facing"][quad[src["facing"]]] and (
        abs(angle - lab["angle"][quad[src["angle"]]]) <= ANGLE_OK_DEG
    )
    return [
        [tok("background"), tok("shape")],
        [tok("texture")],
        [(_angle_text(facing, angle), OK if pose_ok else BAD)],
    ]


def grid_image(report: dict, art: dict, data: LabelledSet, rows: int):
    quads = art["quads"][:rows]
    modes = list(art["composites"])
    header = ["A: background", "B: pose", "C: shape", "D: texture", "code mode"]
    if "feature" in modes:
        header.append("feature mode (C)")
    table = []
    for j, quad in enumerate(quads):
        row = [
            Tile(art["crops"][quad[k]].permute(1, 2, 0).numpy(), _source_caption(data, quad[k], k))
            for k in range(4)
        ]
        for mode in modes:
            row.append(
                Tile(
                    art["composites"][mode][j].permute(1, 2, 0).numpy(),
                    _composite_caption(data, art["preds"][mode], j, quad, mode),
                )
            )
        table.append(row)
    size = report["model"]["image_size"]
    tile = max(size, 128)
    title = (
        f"{report['model']['name']}: composites read by the oracle "
        "(green = from its source, red = not; angle within 10°)\n"
        "captions: background, shape / texture / facing (L, R) and angle"
    )
    return table_image(title, header, table, tile)


def _vary_refs(data: LabelledSet, factor: str, base, count: int, rng) -> list[int]:
    """Images for the varied slot: as many distinct classes (or a spread of poses) as possible."""
    pool = np.array([i for i in rng.permutation(len(data)) if i not in set(base)])
    if len(pool) == 0:
        return []
    if factor == "pose":
        order = pool[np.lexsort((data.labels["angle"][pool], data.labels["facing"][pool]))]
        picks = np.linspace(0, len(order) - 1, min(count, len(order))).round().astype(int)
        return [int(order[k]) for k in picks]
    seen, first, rest = set(), [], []
    for i in pool:
        cls = int(data.labels[factor][i])
        (rest if cls in seen else first).append(int(i))
        seen.add(cls)
    return (first + rest)[:count]


def vary_images(
    report: dict,
    art: dict,
    data: LabelledSet,
    model: MixNMatch,
    oracle: Oracle,
    count: int,
    seed: int,
) -> dict:
    """One sheet per factor: a base quadruple, one slot takes ``count`` other images."""
    rng = np.random.default_rng(seed + 1)
    base = [int(v) for v in art["quads"][0]]
    mixer = model.mixer()
    for k, slot in enumerate(SLOTS):
        mixer.set_reference(slot, data.reference(base[k]))
    modes = ["code"] + (["feature"] if model.has_feature_mode else [])
    base_out = {mode: mixer.mix(mode).image for mode in modes}
    sheets = {}
    for k, slot in enumerate(SLOTS):
        refs = _vary_refs(data, slot, base, count, rng)
        rows, labels = [], []
        ref_row = [
            Tile(art["crops"][base[k]].permute(1, 2, 0).numpy(), _source_caption(data, base[k], k))
        ]
        ref_row += [
            Tile(art["crops"][i].permute(1, 2, 0).numpy(), _source_caption(data, i, k))
            for i in refs
        ]
        rows.append(ref_row)
        labels.append(f"{SLOT_LETTERS[k]}: {slot}")
        for mode in modes:
            if mode == "feature" and slot == "pose":
                continue  # the pose slot is unused in feature mode
            outs = mixer.sweep(slot, [data.reference(i) for i in refs], mode)
            images = np.stack([base_out[mode]] + [o.image for o in outs])
            pred = oracle.predict(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous())
            src = [base[k]] + refs
            row = []
            for j, img in enumerate(images):
                row.append(Tile(img, [_vary_caption(data, pred, j, src[j], slot)]))
            rows.append(row)
            labels.append(f"{mode} mode")
        header = ["base"] + [str(j + 1) for j in range(len(refs))]
        title = (
            f"vary {slot}: slot {SLOT_LETTERS[k]} takes each image of the first row; other slots "
            "keep the base quadruple\n"
            f"captions under composites: the oracle's reading of the {slot} "
            "(green = matches the image above)"
        )
        if slot == "shape" and "feature" in modes:
            title += "; feature mode takes shape and pose from C"
        tile = max(model.config.image_size, 96)
        sheets[slot] = table_image(title, header, rows, tile, labels)
    return sheets


def _vary_caption(data: LabelledSet, pred: dict, j: int, source: int, slot: str) -> list:
    lab, names = data.labels, data.names
    if slot == "pose":
        facing, angle = int(pred["facing"][j]), float(pred["angle"][j])
        ok = facing == lab["facing"][source] and abs(angle - lab["angle"][source]) <= ANGLE_OK_DEG
        return [(_angle_text(facing, angle), OK if ok else BAD)]
    value = int(pred[slot][j])
    return [(names[slot][value], OK if value == lab[slot][source] else BAD)]
