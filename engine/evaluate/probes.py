"""Disentanglement probes: does each code drive its factor, and do the encoders read them back?

Three groups, all judged by the SynthBirds oracle on an independent validation folder:

* generator probes (random untied codes): normalised mutual information (NMI) and purity of each
  code (b, p, c, and z through a fixed projection) with each oracle factor, with a shuffled
  floor; how much the final image changes when one code alone is resampled; mask areas and the
  share of the frame where the background layer shows;
* encoder probes: code recovery on generated images (argmax E(G(y)) = y), NMI of each encoder's
  argmax with each true factor of real images, and where the reconstructed masks fall relative
  to the real object box;
* transfer: four-image mixes in code (and feature) mode, which slot each factor came from.

``quick_eval`` runs a small version of all three for ``mixnmatch-train --eval-every``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.codes import sample_untied
from engine.config import ModelConfig
from engine.evaluate import metrics
from engine.evaluate.labels import CLASS_FACTORS, LabelledSet, to_uint8_tensor
from engine.evaluate.mixing import encode_all, mix_batch, sample_quadruples, transfer_table
from engine.evaluate.oracle import Oracle
from engine.images import Reference
from engine.infer import MixNMatch

CODES = ("b", "p", "c", "z")
# The oracle factor each code should drive (z drives pose: facing and angle).
INTENDED = {"b": "background", "p": "shape", "c": "texture", "z": "facing"}
Z_BINS = 8


def _z_bins(z: torch.Tensor, bins: int = Z_BINS) -> np.ndarray:
    """Quantile bins of z projected on a fixed unit direction (a coarse, honest lower bound)."""
    gen = torch.Generator().manual_seed(1234)
    u = torch.randn(z.shape[1], generator=gen)
    proj = (z.float().cpu() @ (u / u.norm())).numpy()
    edges = np.quantile(proj, np.linspace(0, 1, bins + 1)[1:-1])
    return np.digitize(proj, edges)


def _code_table(codes: dict[str, np.ndarray], pred: dict, seed: int) -> dict:
    """NMI and purity of every (code, factor) pair, plus a shuffled-code floor."""
    rng = np.random.default_rng(seed)
    nmi, purity, floor = {}, {}, {}
    for k, idx in codes.items():
        nmi[k] = {f: metrics.nmi(idx, pred[f]) for f in CLASS_FACTORS}
        purity[k] = {f: metrics.purity(idx, pred[f]) for f in CLASS_FACTORS}
        shuffled = rng.permutation(idx)
        floor[k] = max(metrics.nmi(shuffled, pred[f]) for f in CLASS_FACTORS)
    return {"nmi": nmi, "purity": purity, "nmi_floor": floor}


@torch.no_grad()
def generator_probes(model: MixNMatch, oracle: Oracle, n: int = 256, seed: int = 0) -> dict:
    """Probe the generator on ``n`` random untied codes (needs no real images)."""
    g, cfg, dev = model.generator, model.config, model.device
    gen = torch.Generator(device=dev).manual_seed(seed)
    codes, idx = sample_untied(cfg, n, dev, generator=gen)
    out = g(codes.z, codes.b, codes.p, codes.c)
    base = to_uint8_tensor(out.child.float().cpu())
    pred = oracle.predict(base)
    table = _code_table(
        {"b": idx["b"].cpu().numpy(), "p": idx["p"].cpu().numpy(), "c": idx["c"].cpu().numpy(),
         "z": _z_bins(codes.z)},
        pred,
        seed,
    )  # fmt: skip
    fresh, _ = sample_untied(cfg, n, dev, generator=gen)
    change = {}
    for k in CODES:  # resample one code alone; mean |difference| of the final image, 0-1 scale
        varied = {f: getattr(codes, f) for f in CODES}
        varied[k] = getattr(fresh, k)
        img = g(varied["z"], varied["b"], varied["p"], varied["c"]).child
        change[k] = float((img - out.child).abs().mean() / 2)
    p_mask, c_mask = out.parent_mask.float(), out.child_mask.float()
    return {
        **table,
        "image_change": change,
        "parent_mask_area": float(p_mask.mean()),
        "child_mask_area": float(c_mask.mean()),
        "background_visible": float(((1 - p_mask) * (1 - c_mask)).mean()),
        "samples": n,
    }


def box_in_crop(ref: Reference, size: int) -> torch.Tensor:
    """(1, size, size) mask, 1 inside the reference's object box as seen in its model crop."""
    left, top, right, bottom = ref.crop_rect()
    w, h = right - left, bottom - top
    side = min(w, h) * 2 / 2.375  # the centred square the crop rule keeps
    ox, oy = left + (w - side) / 2, top + (h - side) / 2
    x, y, bw, bh = ref.effective_box()
    c0 = max(0, int(round((x - ox) / side * size)))
    c1 = min(size, int(round((x + bw - ox) / side * size)))
    r0 = max(0, int(round((y - oy) / side * size)))
    r1 = min(size, int(round((y + bh - oy) / side * size)))
    out = torch.zeros(1, size, size)
    out[:, r0:r1, c0:c1] = 1.0
    return out


def _box_mask(data: LabelledSet, indices: np.ndarray, size: int) -> torch.Tensor:
    """(N, 1, size, size) object-box masks of ``data``'s images ``indices``."""
    return torch.stack([box_in_crop(data.reference(int(i)), size) for i in indices])


@torch.no_grad()
def encoder_probes(
    model: MixNMatch,
    data: LabelledSet,
    crops: torch.Tensor,
    n_generated: int = 256,
    n_boxes: int = 64,
    seed: int = 0,
) -> dict:
    """Code recovery on generated images; NMI of encoder argmax with true factors of real
    images; mask mass inside vs outside the real box on reconstructions."""
    g, enc, cfg, dev = model.generator, model.encoders, model.config, model.device
    gen = torch.Generator(device=dev).manual_seed(seed + 1)
    codes, idx = sample_untied(cfg, n_generated, dev, generator=gen)
    img = g(codes.z, codes.b, codes.p, codes.c).child
    pred = enc(img)
    recovery = {k: float((pred[k].argmax(1) == idx[k]).float().mean()) for k in ("b", "p", "c")}
    recovery["z_l1"] = float((pred["z"] - codes.z).abs().mean())

    real = encode_all(model, crops)
    real_idx = {k: getattr(real, k).argmax(1).cpu().numpy() for k in ("b", "p", "c")}
    real_idx["z"] = _z_bins(real.z)
    real_nmi = {
        k: {f: metrics.nmi(v, data.labels[f]) for f in CLASS_FACTORS} for k, v in real_idx.items()
    }

    rng = np.random.default_rng(seed)
    pick = rng.choice(len(data), min(n_boxes, len(data)), replace=False)
    box = _box_mask(data, pick, cfg.image_size).to(dev)
    sel = torch.as_tensor(pick, device=real.z.device)
    z = real.z[sel]
    out = g.mix(z, real.b[sel], real.c[sel], z_pose=z, p=real.p[sel])

    def inside_share(mask: torch.Tensor) -> float:
        mass = mask.float().sum()
        return float((mask.float() * box).sum() / mass.clamp(min=1e-6))

    return {
        "recovery": recovery,
        "real_nmi": real_nmi,
        "box_area": float(box.mean()),
        "parent_mask_in_box": inside_share(out.parent_mask),
        "child_mask_in_box": inside_share(out.child_mask),
    }


def transfer(
    model: MixNMatch,
    oracle: Oracle,
    data: LabelledSet,
    crops: torch.Tensor,
    quads: np.ndarray,
) -> dict:
    """Per mode: accuracy of each factor from its intended slot, and from every slot."""
    codes = encode_all(model, crops)
    classes = dict(oracle.config.classes)
    out = {}
    for mode in ["code"] + (["feature"] if model.has_feature_mode else []):
        pred = oracle.predict(mix_batch(model, codes, crops, quads, mode))
        out[mode] = transfer_table(pred, data.labels, quads, mode, classes)
    return out


@dataclass
class QuickEval:
    """A small, repeatable evaluation on a validation folder (crops decoded once)."""

    oracle: Oracle
    data: LabelledSet
    crops: torch.Tensor  # (N, 3, S, S) uint8
    quads: np.ndarray  # (M, 4)
    samples: int = 128  # random codes for the generator and encoder probes

    @classmethod
    def prepare(cls, data: LabelledSet, oracle: Oracle, size: int, pairs: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        return cls(oracle, data, data.crops(size), sample_quadruples(len(data), pairs, rng))

    def __call__(self, model: MixNMatch) -> dict:
        result = {
            "transfer": transfer(model, self.oracle, self.data, self.crops, self.quads),
            "generator": generator_probes(model, self.oracle, n=self.samples),
            "encoder": encoder_probes(model, self.data, self.crops, n_generated=self.samples),
        }
        result["score"] = selection_score(result)
        return result

    def evaluate_networks(self, cfg: ModelConfig, nets: dict, device: torch.device) -> dict:
        """Evaluate networks still in training (generator, encoders and maybe the extractor),
        wrapped as a model; they are left in eval mode."""
        return self(MixNMatch(cfg, nets, {"name": "training"}, device))


def selection_score(result: dict) -> float:
    """One number to choose checkpoints and recipes by (on validation data): the mean code-mode
    transfer accuracy of background, shape, texture and facing."""
    code = result["transfer"]["code"]
    return float(np.mean([code[f]["accuracy"] for f in CLASS_FACTORS]))


def flat_metrics(result: dict) -> dict[str, float]:
    """The figures of a probe result as flat ``name: value`` pairs (for metrics.jsonl)."""
    flat: dict[str, float] = {"score": result["score"]}
    for f in CLASS_FACTORS:
        flat[f"chance/{f}"] = result["transfer"]["code"][f]["chance"]
    flat["chance/angle_mae"] = result["transfer"]["code"]["angle"]["chance_mae_deg"]
    for mode, table in result["transfer"].items():
        for f in CLASS_FACTORS:
            flat[f"{mode}/{f}"] = table[f]["accuracy"]
            for slot, acc in table[f]["by_slot"].items():
                flat[f"{mode}/{f}_from_{slot}"] = acc
        flat[f"{mode}/angle_mae"] = table["angle"]["mae_deg"]
    gp = result["generator"]
    for k in CODES:
        for f in CLASS_FACTORS:
            flat[f"gen/nmi_{k}_{f}"] = gp["nmi"][k][f]
        flat[f"gen/nmi_floor_{k}"] = gp["nmi_floor"][k]
        flat[f"gen/change_{k}"] = gp["image_change"][k]
    for key in ("parent_mask_area", "child_mask_area", "background_visible"):
        flat[f"gen/{key}"] = gp[key]
    ep = result["encoder"]
    for k, v in ep["recovery"].items():
        flat[f"enc/recovery_{k}"] = v
    for k in ("b", "p", "c", "z"):
        for f in CLASS_FACTORS:
            flat[f"enc/real_nmi_{k}_{f}"] = ep["real_nmi"][k][f]
    for key in ("parent_mask_in_box", "child_mask_in_box", "box_area"):
        flat[f"enc/{key}"] = ep[key]
    return {k: round(float(v), 5) for k, v in flat.items()}
