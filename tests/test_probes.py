"""Disentanglement probes: NMI/purity arithmetic, leakage verdicts, probe reports and summary."""

import numpy as np
import pytest

from engine import MixNMatch
from engine.evaluate import Oracle, load_labelled, metrics, probes
from engine.evaluate.summary import leakage_lines, summary_markdown, verdict
from tests.conftest import EVAL_TINY as TINY


def test_nmi_and_purity_known_cases():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 6, 5000)
    assert metrics.nmi(a, a) == pytest.approx(1.0)
    assert metrics.nmi(a, (a + 2) % 6) == pytest.approx(1.0)  # relabelling does not matter
    assert metrics.nmi(a, rng.integers(0, 6, 5000)) < 0.01  # independent labelings
    assert metrics.nmi(a, np.zeros_like(a)) == 0.0  # constant labeling carries nothing
    coarse = a // 2  # a determines coarse, not the other way round
    assert 0.3 < metrics.nmi(a, coarse) < 1.0
    assert metrics.purity(a, coarse) == 1.0
    assert metrics.purity(coarse, a) == pytest.approx(1 / 2, abs=0.03)


def _entry(by_slot, source="A", chance=0.2):
    return {"by_slot": dict(zip("ABCD", by_slot)), "source": source, "chance": chance}


def test_verdicts():
    assert verdict(_entry([0.9, 0.2, 0.2, 0.2])) == "from its slot A"
    assert verdict(_entry([0.2, 0.21, 0.22, 0.2])) == "at chance: from no slot"
    assert verdict(_entry([0.3, 0.2, 0.7, 0.2])).startswith("LEAKS: comes from slot C")
    assert verdict(_entry([0.2, 0.2, 0.9, 0.2], source="C")) == "from its slot C"


def test_probes_on_a_tiny_model(work):
    model = MixNMatch.load(work["model"], "cpu")
    oracle = Oracle.load(work["oracle"])
    data = load_labelled(work["data"])
    gen = probes.generator_probes(model, oracle, n=32)
    assert set(gen["nmi"]) == set(probes.CODES)
    for code in probes.CODES:
        assert all(0 <= v <= 1 for v in gen["nmi"][code].values())
        assert all(0 < v <= 1 for v in gen["purity"][code].values())
        assert gen["image_change"][code] >= 0
    assert 0 <= gen["background_visible"] <= 1
    assert 0 <= gen["parent_mask_area"] <= 1 and 0 <= gen["child_mask_area"] <= 1
    quick = probes.QuickEval.prepare(data, oracle, TINY.image_size, pairs=8, seed=1)
    quick.samples = 16
    result = quick(model)
    flat = probes.flat_metrics(result)
    for key in ("score", "code/background", "code/background_from_C", "feature/shape",
                "gen/nmi_p_shape", "gen/background_visible", "enc/recovery_p",
                "enc/real_nmi_p_shape", "enc/parent_mask_in_box", "chance/shape"):  # fmt: skip
        assert key in flat and np.isfinite(flat[key]), key
    assert 0 <= flat["enc/parent_mask_in_box"] <= 1
    assert flat["score"] == pytest.approx(
        np.mean([flat[f"code/{f}"] for f in ("background", "shape", "texture", "facing")])
    )


@pytest.mark.parametrize("box", [(60, 50, 50, 40), (5, 10, 80, 60), (120, 90, 70, 60)])
def test_box_in_crop_matches_the_crop_rule(box):
    from PIL import Image, ImageDraw

    from engine.images import Reference

    img = Image.new("RGB", (192, 160), "black")
    x, y, w, h = box
    ImageDraw.Draw(img).rectangle([x, y, x + w - 1, y + h - 1], fill="white")
    ref = Reference(img, box)
    seen = ref.to_tensor(64).mean(0) > 0  # white where the box lands in the model crop
    mask = probes.box_in_crop(ref, 64)[0] > 0
    iou = (seen & mask).sum() / (seen | mask).sum()
    assert iou > 0.9, float(iou)


def test_summary_has_leakage_and_probe_tables(work, tmp_path):
    from engine.evaluate import EvalSettings, evaluate

    model = MixNMatch.load(work["model"], "cpu")
    report, _ = evaluate(
        model, Oracle.load(work["oracle"]), load_labelled(work["data"]), EvalSettings(pairs=8)
    )
    text = summary_markdown(report)
    assert "## Where each factor came from (leakage)" in text
    assert "## Generator probes" in text and "## Encoder probes" in text
    lines = leakage_lines(report)
    assert sum(line.startswith("| code |") for line in lines) == 4
    assert sum(line.startswith("| feature |") for line in lines) == 4
    assert report["probes"]["generator"]["samples"] == 512
