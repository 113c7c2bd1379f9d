"""Batched mixing for evaluation: the computation of ``Mixer.mix``, many quadruples at once.

Each image is encoded once (E_z, E_b, E_p, E_c; b, p, c as soft codes, as the Mixer does); a
quadruple (A, B, C, D) then generates

* code mode: background stage (z_A, b_A), parent stage (z_B, p_C), child stage (c_D);
* feature mode: background stage (z_A, b_A), parent feature map EX(C), child stage (c_D);

and the composite is quantised to 8 bits like ``MixResult.image``. ``transfer_table`` then reads
which slot each factor of the composites came from (the oracle's predictions against the labels
of every slot).
"""

from __future__ import annotations

import numpy as np
import torch

from engine.codes import Codes, soft_code
from engine.errors import DataError
from engine.evaluate import metrics
from engine.evaluate.labels import CLASS_FACTORS, to_float, to_uint8_tensor
from engine.infer import MixNMatch
from engine.vocabulary import SLOTS

SLOT_LETTERS = ("A", "B", "C", "D")
# Which slot each factor should come from, per mode.
SOURCES = {
    "code": {"background": 0, "shape": 2, "texture": 3, "facing": 1, "angle": 1},
    "feature": {"background": 0, "shape": 2, "texture": 3, "facing": 2, "angle": 2},
}


def sample_quadruples(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 4) rows of four distinct image indices (A, B, C, D)."""
    if n < 4:
        raise DataError(f"the evaluation folder needs at least 4 images, it has {n}")
    return np.stack([rng.choice(n, 4, replace=False) for _ in range(count)]).astype(np.int64)


@torch.inference_mode()
def encode_all(model: MixNMatch, crops: torch.Tensor, batch: int = 128) -> Codes:
    """Encode uint8 crops at model resolution once (codes stay on the model's device)."""
    parts: dict[str, list[torch.Tensor]] = {f: [] for f in "zbpc"}
    for i in range(0, len(crops), batch):
        x = to_float(crops[i : i + batch]).to(model.device)
        for factor in "zbpc":
            out = model.encoders.encode(x, factor)
            parts[factor].append(soft_code(factor, out))
    return Codes(*(torch.cat(parts[f]) for f in "zbpc"))


@torch.inference_mode()
def mix_batch(
    model: MixNMatch,
    codes: Codes,
    crops: torch.Tensor,
    quads: np.ndarray,
    mode: str = "code",
    batch: int = 64,
) -> torch.Tensor:
    """Composites (M, 3, S, S) uint8 of quadruples ``quads`` (M, 4): rows of image indices
    (background A, pose B, shape C, texture D); in feature mode B is unused."""
    g = model.generator
    out = []
    for i in range(0, len(quads), batch):
        q = torch.as_tensor(quads[i : i + batch], dtype=torch.long)
        a, b, c, d = (q[:, k].to(codes.z.device) for k in range(4))
        if mode == "feature":
            h_p = model.extractor(to_float(crops[q[:, 2]]).to(model.device))
            out_g = g.mix(codes.z[a], codes.b[a], codes.c[d], features=h_p)
        else:
            out_g = g.mix(codes.z[a], codes.b[a], codes.c[d], z_pose=codes.z[b], p=codes.p[c])
        child = out_g.child
        out.append(to_uint8_tensor(child.float().cpu()))
    if not out:
        size = model.config.image_size
        return torch.empty(0, 3, size, size, dtype=torch.uint8)
    return torch.cat(out)


def transfer_table(pred: dict, labels: dict, quads: np.ndarray, mode: str, classes: dict) -> dict:
    """Per factor: accuracy from its intended slot, chance, and accuracy from every slot."""
    out: dict = {}
    for factor in CLASS_FACTORS:
        src = SOURCES[mode][factor]
        target = labels[factor][quads[:, src]]
        out[factor] = {
            "source": SLOT_LETTERS[src],
            "slot": SLOTS[src],
            "accuracy": metrics.accuracy(pred[factor], target),
            **metrics.chance_levels(target, classes[factor]),
            "by_slot": {
                SLOT_LETTERS[k]: metrics.accuracy(pred[factor], labels[factor][quads[:, k]])
                for k in range(4)
            },
        }
    src = SOURCES[mode]["angle"]
    target = labels["angle"][quads[:, src]]
    out["angle"] = {
        "source": SLOT_LETTERS[src],
        "slot": SLOTS[src],
        "mae_deg": float(np.mean(np.abs(pred["angle"] - target))),
        "chance_mae_deg": metrics.angle_chance(target),
        "by_slot_mae_deg": {
            SLOT_LETTERS[k]: float(np.mean(np.abs(pred["angle"] - labels["angle"][quads[:, k]])))
            for k in range(4)
        },
    }
    return out
