"""``evaluate``: factor transfer, reconstruction and realism of a model, judged by the oracle.

Everything is measured on a labelled SynthBirds folder made with ``--independent`` (never one used
for training). Composites are made exactly as ``Mixer.mix`` makes them (see ``mixing``). This module
computes the report (a JSON-ready dict); ``engine.evaluate.writing`` writes it to files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import DataError
from engine.evaluate import metrics, probes
from engine.evaluate.labels import CLASS_FACTORS, LabelledSet
from engine.evaluate.mixing import encode_all, mix_batch, sample_quadruples, transfer_table
from engine.evaluate.oracle import Oracle
from engine.infer import MixNMatch

REPORT_FORMAT = "mixnmatch-eval"
REPORT_VERSION = 1
FD_NOTE = (
    "Frechet distance in the oracle's penultimate feature space (a small CNN trained on "
    "SynthBirds). It is NOT Inception FID and is not comparable with published FID numbers."
)


@dataclass
class EvalSettings:
    pairs: int = 500
    seed: int = 0
    grid_rows: int = 8
    vary_count: int = 8
    reconstructions: int | None = None  # default: min(pairs, images)


def _reading(pred: dict, labels: dict, idx: np.ndarray) -> dict:
    """Oracle accuracy per factor (and angle MAE) of images that should show ``idx``'s labels."""
    out = {f: metrics.accuracy(pred[f], labels[f][idx]) for f in CLASS_FACTORS}
    out["angle_mae_deg"] = float(np.mean(np.abs(pred["angle"] - labels["angle"][idx])))
    return out


def _coverage(pred: dict, classes: dict) -> dict:
    return {f: metrics.coverage(pred[f], classes[f]) for f in ("shape", "texture", "background")}


def _mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b, axis=1).mean())


def check_not_training_data(model: MixNMatch, data: LabelledSet) -> None:
    trained_on = model.info.get("trained_on")
    if isinstance(trained_on, str) and trained_on:
        try:
            same = Path(trained_on).resolve() == data.root.resolve()
        except OSError:
            same = False
        if same:
            raise DataError(
                f"{data.root}: model {model.name} was trained on this folder; "
                "evaluate on an independent SynthBirds folder"
            )


def evaluate(
    model: MixNMatch,
    oracle: Oracle,
    data: LabelledSet,
    settings: EvalSettings | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[dict, dict]:
    """Run the evaluation; returns (report, artefacts for the report images)."""
    st = settings or EvalSettings()
    say = log or (lambda _msg: None)
    check_not_training_data(model, data)
    start = time.perf_counter()
    rng = np.random.default_rng(st.seed)
    classes = dict(oracle.config.classes)
    for factor in CLASS_FACTORS:
        if len(data.names[factor]) != classes[factor]:
            raise DataError(
                f"{data.root}: {len(data.names[factor])} {factor} classes, the oracle reads "
                f"{classes[factor]}"
            )
    n, size = len(data), model.config.image_size
    say(f"decoding {n} crops at {size} px")
    crops = data.crops(size)
    labels = data.labels
    real = oracle.predict(crops)
    say("encoding")
    codes = encode_all(model, crops)
    quads = sample_quadruples(n, st.pairs, rng)
    modes = ["code"] + (["feature"] if model.has_feature_mode else [])

    report: dict = {
        "format": REPORT_FORMAT,
        "format_version": REPORT_VERSION,
        "model": {
            "name": model.name,
            "file": model.path.name if model.path else None,
            "preset": model.info.get("preset"),
            "trained_on": model.info.get("trained_on"),
            "image_size": size,
            "has_feature_mode": model.has_feature_mode,
        },
        "data": {"folder": data.root.name, "images": n, "independent": True},
        "oracle": {
            "file": oracle.path.name if oracle.path else None,
            "image_size": oracle.config.image_size,
            "parameters": oracle.info.get("parameters"),
            "held_out": oracle.info.get("held_out"),
        },
        "settings": {"pairs": st.pairs, "seed": st.seed, "device": str(model.device)},
        "feature_mode": {
            "available": model.has_feature_mode,
            "note": None
            if model.has_feature_mode
            else "the model has no feature extractor (stage 2 not trained); code mode only",
        },
        "ceiling": _reading(real, labels, np.arange(n)),
        "transfer": {},
        "reconstruction": {},
        "realism": {"note": FD_NOTE, "frechet": {}, "coverage": {"real": _coverage(real, classes)}},
    }
    art: dict = {"crops": crops, "quads": quads, "real": real, "composites": {}, "preds": {}}

    for mode in modes:
        say(f"{mode} mode: {st.pairs} quadruples")
        comps = mix_batch(model, codes, crops, quads, mode)
        pred = oracle.predict(comps)
        art["composites"][mode], art["preds"][mode] = comps, pred
        report["transfer"][mode] = transfer_table(pred, labels, quads, mode, classes)
        report["realism"]["frechet"][mode] = metrics.frechet_distance(
            real["features"], pred["features"]
        )
        report["realism"]["coverage"][mode] = _coverage(pred, classes)
    if "feature" not in modes:
        report["transfer"]["feature"] = None

    half = rng.permutation(n)
    report["realism"]["frechet"]["real_split_half"] = metrics.frechet_distance(
        real["features"][half[: n // 2]], real["features"][half[n // 2 :]]
    )
    report["realism"]["samples"] = {"real": n, "generated": st.pairs, "split_half": n // 2}

    r = min(st.reconstructions or st.pairs, n)
    idx = rng.permutation(n)[:r]
    others = np.roll(idx, 1)
    baseline = _mean_distance(real["features"][idx], real["features"][others]) if r > 1 else 0.0
    for mode in modes:
        say(f"{mode} mode: {r} reconstructions")
        recon = mix_batch(model, codes, crops, np.repeat(idx[:, None], 4, axis=1), mode)
        pred = oracle.predict(recon)
        dist = _mean_distance(pred["features"], real["features"][idx])
        report["reconstruction"][mode] = {
            "images": r,
            **metrics.pixel_errors(recon.numpy(), crops[idx].numpy()),
            "feature_distance": dist,
            "feature_distance_random_pair": baseline,
            "feature_distance_ratio": dist / baseline if baseline > 0 else float("nan"),
            "oracle": _reading(pred, labels, idx),
        }
        art.setdefault("recon", {})[mode] = (idx, recon)
    if "feature" not in modes:
        report["reconstruction"]["feature"] = None
    say("probing the generator and the encoders")
    report["probes"] = {
        "generator": probes.generator_probes(model, oracle, n=512, seed=st.seed),
        "encoder": probes.encoder_probes(model, data, crops, seed=st.seed),
    }
    report["settings"]["seconds"] = round(time.perf_counter() - start, 1)
    return report, art
