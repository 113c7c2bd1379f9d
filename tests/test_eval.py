"""mixnmatch-eval: oracle, batched mixing, report schema, chance levels, images, error paths."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from engine import MixNMatch, Reference
from engine.cli.evaluate import main
from engine.evaluate import (
    EvalSettings,
    Oracle,
    evaluate,
    load_labelled,
    metrics,
)
from engine.evaluate.labels import CLASS_FACTORS, to_float
from engine.evaluate.mixing import SOURCES, encode_all, mix_batch, sample_quadruples, transfer_table
from engine.synth import generate_dataset
from tests.conftest import EVAL_CLASSES as CLASSES  # noqa: E402


@pytest.fixture(scope="module")
def cli_report(work, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("report") / "rep"
    argv = [
        "--model", str(work["model"]), "--data", str(work["data"]), "--oracle", str(work["oracle"]),
        "--pairs", "12", "--out", str(out), "--device", "cpu", "--grid-rows", "3",
    ]  # fmt: skip
    rc = main(argv)
    assert rc == 0
    return {"out": out, "report": json.loads((out / "report.json").read_text())}


# -------------------------------------------------------------------------------------- oracle


def test_oracle_file_round_trip(work):
    oracle = Oracle.load(work["oracle"])
    assert oracle.config.classes == CLASSES
    held = oracle.info["held_out"]
    assert set(held) == set(CLASS_FACTORS) | {"angle_mae_deg"}
    assert all(0 <= held[f] <= 1 for f in CLASS_FACTORS)
    assert oracle.info["training"]["steps"] == 4
    assert oracle.info["parameters"] == sum(p.numel() for p in oracle.net.parameters())
    data = load_labelled(work["data"])
    crops = data.crops(64, indices=[0, 1, 2])
    pred = oracle.predict(crops)
    assert pred["features"].shape == (3, 16)
    assert all(pred[f].shape == (3,) and pred[f].max() < CLASSES[f] for f in CLASS_FACTORS)
    # inputs of another size are resized to the oracle's
    big = torch.nn.functional.interpolate(to_float(crops), size=128, mode="bilinear")
    assert oracle.features(big).shape == (3, 16)


def test_oracle_crop_is_the_models_crop(work):
    data = load_labelled(work["data"])
    rec = data.records[5]
    expected = Reference(Image.open(rec.path).convert("RGB"), rec.box).to_tensor(64)
    assert torch.allclose(to_float(data.crops(64, indices=[5])[0]), expected, atol=1e-6)


def test_labels_split_and_factors(work):
    data = load_labelled(work["data"])
    train, test = data.split()
    assert len(train) + len(test) == 40 and len(test) == 4
    assert set(data.labels) == set(CLASS_FACTORS) | {"angle"}
    assert np.all(np.abs(data.labels["angle"]) <= 30)


# ------------------------------------------------------------------------------------- mixing


@pytest.mark.parametrize("mode", ["code", "feature"])
def test_batched_mix_equals_mixer(work, mode):
    model = MixNMatch.load(work["model"], "cpu")
    data = load_labelled(work["data"])
    crops = data.crops(64)
    quads = np.array([[3, 7, 11, 19], [0, 1, 2, 5]])
    batch = mix_batch(model, encode_all(model, crops), crops, quads, mode)
    for row, quad in enumerate(quads):
        mixer = model.mixer()
        for slot, i in zip(("background", "pose", "shape", "texture"), quad):
            mixer.set_reference(slot, data.reference(int(i)))
        expected = mixer.mix(mode).image.astype(int)
        got = batch[row].permute(1, 2, 0).numpy().astype(int)
        assert np.abs(got - expected).max() <= 1


# ------------------------------------------------------------------------------------ metrics


def test_metrics():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    assert metrics.frechet_distance(x, x) == pytest.approx(0, abs=1e-6)
    shift = np.array([3.0, 0, 0, 0, 0])
    assert metrics.frechet_distance(x, x + shift) == pytest.approx(9.0, rel=1e-6)
    levels = metrics.chance_levels(np.array([0, 0, 0, 1]), 8)
    assert levels == {"chance": 0.75, "chance_uniform": 0.125, "chance_majority": 0.75}
    assert metrics.chance_levels(np.arange(24), 24)["chance"] == pytest.approx(1 / 24)
    img = rng.integers(0, 256, size=(2, 8, 8, 3)).astype(np.uint8)
    assert metrics.pixel_errors(img, img)["l1"] == 0
    assert metrics.coverage(np.array([0, 0, 2]), 4) == 0.5


@pytest.mark.parametrize("mode", ["code", "feature"])
def test_transfer_bookkeeping(work, mode):
    """A composite that shows exactly slot k's image scores 100% for the factors taken from k."""
    data = load_labelled(work["data"])
    quads = sample_quadruples(len(data), 30, np.random.default_rng(0))
    for k in range(4):
        pred = {f: data.labels[f][quads[:, k]] for f in CLASS_FACTORS}
        pred["angle"] = data.labels["angle"][quads[:, k]]
        tr = transfer_table(pred, data.labels, quads, mode, CLASSES)
        for factor in CLASS_FACTORS:
            assert tr[factor]["by_slot"]["ABCD"[k]] == 1.0
            if SOURCES[mode][factor] == k:
                assert tr[factor]["accuracy"] == 1.0
        if SOURCES[mode]["angle"] == k:
            assert tr["angle"]["mae_deg"] == 0.0
    assert tr["texture"]["accuracy"] == 1.0 and tr["shape"]["source"] == "C"


# ----------------------------------------------------------------------------- the evaluation


def test_report_schema_and_ranges(cli_report):
    rep = cli_report["report"]
    assert rep["format"] == "mixnmatch-eval"
    assert rep["model"]["has_feature_mode"] and rep["feature_mode"]["available"]
    for mode in ("code", "feature"):
        tr = rep["transfer"][mode]
        for factor in CLASS_FACTORS:
            item = tr[factor]
            assert item["source"] == "ABCD"[SOURCES[mode][factor]]
            assert 0 <= item["accuracy"] <= 1
            assert item["chance_uniform"] == pytest.approx(1 / CLASSES[factor])
            assert item["chance"] == max(item["chance_uniform"], item["chance_majority"])
            assert set(item["by_slot"]) == set("ABCD")
        assert tr["angle"]["mae_deg"] >= 0 and tr["angle"]["chance_mae_deg"] >= 0
        rec = rep["reconstruction"][mode]
        assert rec["images"] == 12 and 0 <= rec["l1"] <= 1 and rec["psnr_db"] > 0
        assert rec["feature_distance"] >= 0
        assert set(rec["oracle"]) == set(CLASS_FACTORS) | {"angle_mae_deg"}
        assert rep["realism"]["frechet"][mode] >= 0
        assert all(0 < v <= 1 for v in rep["realism"]["coverage"][mode].values())
    assert rep["transfer"]["code"]["facing"]["source"] == "B"
    assert rep["transfer"]["feature"]["facing"]["source"] == "C"
    assert "NOT Inception FID" in rep["realism"]["note"]
    assert all(0 <= rep["ceiling"][f] <= 1 for f in CLASS_FACTORS)


def test_chance_levels_match_sources(work):
    model = MixNMatch.load(work["model"], "cpu")
    data = load_labelled(work["data"])
    report, art = evaluate(model, Oracle.load(work["oracle"]), data, EvalSettings(pairs=10))
    quads = art["quads"]
    assert quads.shape == (10, 4)
    assert all(len(set(q)) == 4 for q in quads)
    for factor in CLASS_FACTORS:
        src = SOURCES["code"][factor]
        counts = np.bincount(data.labels[factor][quads[:, src]], minlength=CLASSES[factor])
        item = report["transfer"]["code"][factor]
        assert item["chance_majority"] == pytest.approx(counts.max() / 10)
        pred = art["preds"]["code"][factor]
        assert item["accuracy"] == pytest.approx(
            np.mean(pred == data.labels[factor][quads[:, src]])
        )


def test_report_files(cli_report, capsys):
    out = cli_report["out"]
    names = {p.name for p in out.iterdir()}
    assert {"report.json", "summary.md", "grid.png"} <= names
    assert {f"vary_{s}.png" for s in ("background", "pose", "shape", "texture")} <= names
    with Image.open(out / "grid.png") as grid:
        # header + 3 rows of (A, B, C, D, code, feature) tiles of 128 px
        assert grid.width > 6 * 128 and grid.height > 3 * 128
    summary = (out / "summary.md").read_text()
    assert "| background |" in summary and "NOT Inception FID" in summary


def test_code_only_model(work, tmp_path, capsys):
    argv = [
        "--model", str(work["code_only"]), "--data", str(work["data"]),
        "--oracle", str(work["oracle"]), "--pairs", "6", "--out", str(tmp_path / "r"),
    ]  # fmt: skip
    assert main(argv) == 0
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    assert rep["transfer"]["feature"] is None and not rep["feature_mode"]["available"]
    assert rep["reconstruction"]["feature"] is None
    assert "Feature mode: not available" in capsys.readouterr().out


# -------------------------------------------------------------------------------- error paths


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mixnmatch-eval: error:")
    return err[0]


def test_missing_model(work, tmp_path, capsys):
    argv = ["--model", str(tmp_path / "none.safetensors"), "--data", str(work["data"]),
            "--oracle", str(work["oracle"])]  # fmt: skip
    assert main(argv) == 2
    assert "no such model file" in _one_line_error(capsys)


def test_data_without_factors(work, tmp_path, capsys):
    plain = tmp_path / "plain"
    shutil.copytree(work["data"], plain)
    (plain / "factors.csv").unlink()
    argv = ["--model", str(work["model"]), "--data", str(plain), "--oracle", str(work["oracle"])]
    assert main(argv) == 2
    assert "factors.csv" in _one_line_error(capsys)


def test_natural_mode_folder_refused(work, tmp_path, capsys):
    natural = tmp_path / "natural"
    generate_dataset(natural, 12, seed=1, width=64, independent=False, workers=1)
    argv = ["--model", str(work["model"]), "--data", str(natural), "--oracle", str(work["oracle"])]
    assert main(argv) == 2
    assert "--independent" in _one_line_error(capsys)


def test_missing_oracle(work, tmp_path, capsys):
    argv = ["--model", str(work["model"]), "--data", str(work["data"]),
            "--oracle", str(tmp_path / "nope.safetensors")]  # fmt: skip
    assert main(argv) == 2
    assert "--train-oracle" in _one_line_error(capsys)


def test_train_oracle_cli(work, tmp_path, capsys):
    out = tmp_path / "o.safetensors"
    argv = ["--train-oracle", "--data", str(work["data"]), "--out", str(out), "--steps", "2",
            "--batch-size", "4", "--width", "4", "--seed", "5"]  # fmt: skip
    assert main(argv) == 0
    assert "held-out accuracy" in capsys.readouterr().out
    info = Oracle.load(out).info
    assert info["training"]["seed"] == 5 and "--train-oracle" in info["training"]["command"]
    assert main(["--train-oracle", "--data", str(work["data"])]) == 2
    assert "--out" in _one_line_error(capsys)


def _run_with_evals(folder, rows):
    folder.mkdir()
    lines = [json.dumps({"stage": 1, "step": 1, "d_bg": 1.0})]  # a loss row is skipped
    lines += [json.dumps({"event": "eval", **row}) for row in rows]
    (folder / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_compare_runs_draws_each_run(tmp_path, capsys):
    """--compare draws each run's evaluations on shared axes: the runs' colours appear."""
    a = _run_with_evals(
        tmp_path / "demo",
        [{"images_seen": n, "gen/nmi_p_shape": v} for n, v in [(8000, 0.1), (16000, 0.4)]],
    )
    b = _run_with_evals(
        tmp_path / "cpu",
        [{"images_seen": n, "gen/nmi_p_shape": v} for n, v in [(8000, 0.2), (32000, 0.9)]],
    )
    out = tmp_path / "compare.png"
    assert main(["--compare", str(a), str(b), "--out", str(out)]) == 0
    pixels = {tuple(p) for p in np.asarray(Image.open(out).convert("RGB")).reshape(-1, 3)}
    assert (31, 119, 180) in pixels and (214, 39, 40) in pixels  # first and second run


@pytest.mark.parametrize(
    "case, message",
    [
        ("no-out", "--compare needs --out FIGURE.png"),
        ("not-a-run", "no metrics.jsonl"),
        ("no-evals", "no run has logged an evaluation"),
    ],
)
def test_compare_runs_errors(tmp_path, capsys, case, message):
    run = _run_with_evals(tmp_path / "run", [] if case == "no-evals" else [{"images_seen": 1}])
    target = tmp_path / "empty" if case == "not-a-run" else run
    target.mkdir(exist_ok=True)
    args = ["--compare", str(target)] + ([] if case == "no-out" else ["--out", "f.png"])
    assert main(args) == 2
    assert message in _one_line_error(capsys)
