"""summary.md: the evaluation report as readable tables (transfer, reconstruction, realism,
leakage, probes)."""

from __future__ import annotations

import math

from engine.evaluate import probes
from engine.evaluate.labels import CLASS_FACTORS
from engine.evaluate.run import FD_NOTE


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
