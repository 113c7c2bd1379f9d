"""Batched mixing for evaluation: the computation of ``Mixer.mix``, many quadruples at once.

Each image is encoded once (E_z, E_b, E_p, E_c; b, p, c as soft codes, as the Mixer does); a
quadruple (A, B, C, D) then generates

* code mode: background stage (z_A, b_A), parent stage (z_B, p_C), child stage (c_D);
* feature mode: background stage (z_A, b_A), parent feature map EX(C), child stage (c_D);

and the composite is quantised to 8 bits like ``MixResult.image``.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.codes import Codes, soft_code
from engine.evaluate.labels import to_float, to_uint8_tensor
from engine.infer import MixNMatch


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
