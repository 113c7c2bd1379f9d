"""``evaluate``: factor transfer, reconstruction and realism of a model, judged by the oracle.

Everything is measured on a labelled SynthBirds folder made with ``--independent`` (never one used
for training). Composites are made exactly as ``Mixer.mix`` makes them (see ``mixing``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.errors import DataError
from engine.evaluate import metrics, probes
from engine.evaluate.labels import CLASS_FACTORS, LabelledSet
from engine.evaluate.mixing import encode_all, mix_batch
from engine.evaluate.oracle import Oracle
from engine.evaluate.sheets import BAD, INK, OK, Tile, table_image
from engine.infer import MixNMatch
from engine.vocabulary import SLOTS

REPORT_FORMAT = "mixnmatch-eval"
REPORT_VERSION = 1
SLOT_LETTERS = ("A", "B", "C", "D")
# Which slot each factor should come from, per mode.
SOURCES = {
    "code": {"background": 0, "shape": 2, "texture": 3, "facing": 1, "angle": 1},
    "feature": {"background": 0, "shape": 2, "texture": 3, "facing": 2, "angle": 2},
}
ANGLE_OK_DEG = 10.0  # a composite's angle counts as transferred within this error (grid colours)
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


def sample_quadruples(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 4) rows of four distinct image indices (A, B, C, D)."""
    if n < 4:
        raise DataError(f"the evaluation folder needs at least 4 images, it has {n}")
    return np.stack([rng.choice(n, 4, replace=False) for _ in range(count)]).astype(np.int64)


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


# ------------------------------------------------------------------------------ report files


def _pct(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


def _num(v: float | None, digits: int = 1) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def summary_markdown(report: dict) -> str:
    """A readable summary: transfer table, reconstruction and realism."""
    tr, ceil = report["transfer"], report["ceiling"]
    code, feat = tr["code"], tr.get("feature")
    m = report["model"]
    lines = [
        f"# MixNMatch evaluation: {m['name']}",
        "",
        f"Model `{m['file'] or m['name']}` ({m['preset'] or 'unknown'} preset, "
        f"{m['image_size']} px) on `{report['data']['folder']}` "
        f"({report['data']['images']} independent SynthBirds images), "
        f"{report['settings']['pairs']} random quadruples, seed {report['settings']['seed']}.",
        "Quadruple: background from A, pose from B, shape from C, texture from D."
        + (" Feature mode takes shape and pose from C." if feat else ""),
        "",
    ]
    held = report["oracle"].get("held_out")
    if held:
        lines += [
            f"Oracle `{report['oracle']['file'] or 'oracle'}` "
            f"({report['oracle']['parameters'] or '?'} parameters) on its own held-out images: "
            + ", ".join(f"{f} {_pct(held[f])}" for f in CLASS_FACTORS)
            + f", angle error {_num(held['angle_mae_deg'])} deg.",
            "",
        ]
    if feat is None:
        lines += [f"**Feature mode: not available**: {report['feature_mode']['note']}.", ""]
    lines += [
        "## Factor transfer (oracle judges the composite)",
        "",
        "| factor | source (code / feature) | code mode | feature mode | chance | "
        "oracle on real images |",
        "|---|---|---|---|---|---|",
    ]
    for factor in CLASS_FACTORS:
        c = code[factor]
        f = feat[factor] if feat else None
        chance = max(c["chance"], f["chance"]) if f else c["chance"]
        source = f"{c['source']} / {f['source']}" if f else c["source"]
        lines.append(
            f"| {factor} | {source} | {_pct(c['accuracy'])} | "
            f"{_pct(f['accuracy']) if f else 'n/a'} | {_pct(chance)} | {_pct(ceil[factor])} |"
        )
    ca, fa = code["angle"], feat["angle"] if feat else None
    chance_a = min(ca["chance_mae_deg"], fa["chance_mae_deg"]) if fa else ca["chance_mae_deg"]
    lines += [
        f"| angle error (deg, lower is better) | {ca['source']}"
        f"{' / ' + fa['source'] if fa else ''} | {_num(ca['mae_deg'])} | "
        f"{_num(fa['mae_deg']) if fa else 'n/a'} | {_num(chance_a)} | "
        f"{_num(ceil['angle_mae_deg'])} |",
        "",
        "Chance: the better of uniform guessing and always guessing the commonest source class "
        "(angle: always guessing the median angle).",
        "",
        "## Reconstruction (each image in all four slots)",
        "",
        "| mode | pixel L1 (0-1) | PSNR (dB) | oracle-feature distance (ratio to random pair) | "
        "background | shape | texture | facing | angle error (deg) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode in ("code", "feature"):
        rec = report["reconstruction"].get(mode)
        if not rec:
            continue
        o = rec["oracle"]
        lines.append(
            f"| {mode} | {rec['l1']:.3f} | {rec['psnr_db']:.1f} | "
            f"{rec['feature_distance']:.2f} ({rec['feature_distance_ratio']:.2f}) | "
            f"{_pct(o['background'])} | {_pct(o['shape'])} | {_pct(o['texture'])} | "
            f"{_pct(o['facing'])} | {_num(o['angle_mae_deg'])} |"
        )
    real = report["realism"]
    fd = real["frechet"]
    lines += [
        "",
        "## Realism and diversity",
        "",
        f"**{FD_NOTE}**",
        "",
        "| | Frechet distance (oracle features) | shape coverage | texture coverage | "
        "background coverage |",
        "|---|---|---|---|---|",
    ]
    for key, label in (
        ("code", "code-mode composites"),
        ("feature", "feature-mode composites"),
        ("real", "real images"),
    ):
        cov = real["coverage"].get(key)
        if cov is None:
            continue
        value = fd.get(key) if key != "real" else fd["real_split_half"]
        note = " (split-half, noise floor)" if key == "real" else ""
        lines.append(
            f"| {label} | {_num(value, 2)}{note} | {_pct(cov['shape'])} | "
            f"{_pct(cov['texture'])} | {_pct(cov['background'])} |"
        )
    lines += [
        "",
        "Coverage: fraction of the classes the oracle finds at least once among the images.",
        "",
    ]
    lines += leakage_lines(report) + probe_lines(report.get("probes"))
    return "\n".join(lines)


def verdict(entry: dict) -> str:
    """One line on where a factor actually came from (intended slot vs every slot)."""
    by_slot, src, chance = entry["by_slot"], entry["source"], entry["chance"]
    best = max(by_slot, key=by_slot.get)
    margin = 0.05
    if by_slot[best] < chance + margin:
        return "at chance: from no slot"
    if best != src and by_slot[best] > by_slot[src] + margin:
        return f"LEAKS: comes from slot {best} ({_pct(by_slot[best])}), not {src}"
    if by_slot[src] >= chance + margin:
        return f"from its slot {src}"
    return "at chance from its slot"


def leakage_lines(report: dict) -> list[str]:
    """Which slot each factor came from, per mode, with a verdict per factor."""
    lines = [
        "## Where each factor came from (leakage)",
        "",
        "Accuracy of the composite's factor against the factor of each source image; the "
        "intended slot is in bold.",
        "",
        "| mode | factor | A | B | C | D | chance | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, table in report["transfer"].items():
        if not table:
            continue
        for factor in CLASS_FACTORS:
            e = table[factor]
            cells = [
                f"**{_pct(v)}**" if k == e["source"] else _pct(v) for k, v in e["by_slot"].items()
            ]
            lines.append(
                f"| {mode} | {factor} | {' | '.join(cells)} | {_pct(e['chance'])} | {verdict(e)} |"
            )
    return lines + [""]


def probe_lines(pr: dict | None) -> list[str]:
    """Generator and encoder probes as two small tables."""
    if not pr:
        return []
    g, e = pr["generator"], pr["encoder"]
    lines = [
        "## Generator probes (random untied codes, read by the oracle)",
        "",
        "Normalised mutual information of each code with each oracle factor (intended pairs in "
        "bold; z through a fixed projection in 8 bins), the shuffled-code floor, and the mean "
        "change of the final image (0-1 scale) when that code alone is resampled.",
        "",
        "| code | " + " | ".join(CLASS_FACTORS) + " | floor | image change |",
        "|---|" + "---|" * (len(CLASS_FACTORS) + 2),
    ]
    for k in probes.CODES:
        cells = [
            f"**{g['nmi'][k][f]:.2f}**" if probes.INTENDED[k] == f else f"{g['nmi'][k][f]:.2f}"
            for f in CLASS_FACTORS
        ]
        lines.append(
            f"| {k} | {' | '.join(cells)} | {g['nmi_floor'][k]:.2f} | {g['image_change'][k]:.3f} |"
        )
    lines += [
        "",
        f"Mask area: parent {_pct(g['parent_mask_area'])}, child {_pct(g['child_mask_area'])}; "
        f"background layer visible in {_pct(g['background_visible'])} of the frame.",
        "",
        "## Encoder probes",
        "",
        "Code recovery on generated images: "
        + ", ".join(f"{k} {_pct(e['recovery'][k])}" for k in ("b", "p", "c"))
        + f" (z mean L1 {e['recovery']['z_l1']:.2f}).",
        "",
        "NMI of each encoder's argmax with the true factors of the real images:",
        "",
        "| encoder | " + " | ".join(CLASS_FACTORS) + " |",
        "|---|" + "---|" * len(CLASS_FACTORS),
    ]
    for k in probes.CODES:
        cells = [
            f"**{e['real_nmi'][k][f]:.2f}**"
            if probes.INTENDED[k] == f
            else f"{e['real_nmi'][k][f]:.2f}"
            for f in CLASS_FACTORS
        ]
        lines.append(f"| {k} | {' | '.join(cells)} |")
    lines += [
        "",
        f"Reconstructions of real images: {_pct(e['parent_mask_in_box'])} of the parent mask "
        f"and {_pct(e['child_mask_in_box'])} of the child mask fall inside the object box "
        f"(the box covers {_pct(e['box_area'])} of the crop).",
        "",
    ]
    return lines


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
