"""SynthBirds generator: determinism, label correctness, CUB files, factor statistics, CLI."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import synth
from engine.synth.birds import _draw_bird

W, H = 96, 80


def _factors(**kw) -> synth.Factors:
    base = dict(species=0, shape=0, texture=0, background=0, center_x=48.0, center_y=40.0)
    base.update(scale=0.6, angle_deg=0.0, facing="right")
    base.update(kw)
    return synth.Factors(**base)


POSES = [
    _factors(shape=s, texture=(5 * s + 3) % 24, background=s, angle_deg=a, facing=f)
    for s, (a, f) in enumerate([(0, "right"), (30, "left"), (-30, "right")] * 2)
] + [_factors(shape=4, texture=22, background=7, scale=0.3, center_x=20.0, center_y=60.0)]


@pytest.mark.parametrize("f", POSES)
def test_box_is_tight_around_the_bird_and_rerender_is_identical(f: synth.Factors) -> None:
    img, mask, box = synth.render_layers(f, W, H, seed=5)
    again, mask2, box2 = synth.render_layers(f, W, H, seed=5)
    assert img.size == (W, H) and img.mode == "RGB"
    assert np.array_equal(np.asarray(img), np.asarray(again)) and box == box2
    assert np.array_equal(mask, mask2)
    x, y, w, h = box
    assert 0 <= x and 0 <= y and x + w <= W and y + h <= H
    bird = mask >= synth.ALPHA_THRESHOLD
    outside = bird.copy()
    outside[y : y + h, x : x + w] = False
    assert not outside.any(), "bird pixels outside its box"
    inside = bird[y : y + h, x : x + w]
    assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
    # The box follows the requested pose within a couple of pixels.
    assert abs(max(w, h) - f.scale * min(W, H)) <= 3
    assert abs(x + w / 2 - f.center_x) <= 2 and abs(y + h / 2 - f.center_y) <= 2
    assert synth.render(f, W, H, seed=5)[1] == box


def test_bird_colour_never_exceeds_its_coverage() -> None:
    """Every part of the bird (wings, tails, legs) is in the coverage mask, so compositing the
    premultiplied colour adds nothing where the bird is absent."""
    rng = np.random.default_rng(0)
    for i in range(40):
        f = synth.sample_factors(rng, W, H, independent=True)
        rgb, alpha, _ = _draw_bird(f, W, H, np.random.default_rng(i))
        excess = np.asarray(rgb, float).max(-1) - np.asarray(alpha, float)
        assert excess.max() <= 40, (i, f)


def test_seed_drives_jitter_and_facing_mirrors() -> None:
    f = POSES[0]
    a = np.asarray(synth.render(f, W, H, seed=1)[0])
    b = np.asarray(synth.render(f, W, H, seed=2)[0])
    assert not np.array_equal(a, b)
    left = synth.render_layers(_factors(facing="left", center_x=48.0), W, H, seed=1)[1]
    right = synth.render_layers(_factors(facing="right", center_x=48.0), W, H, seed=1)[1]
    assert np.abs(left.astype(int) - right[:, ::-1].astype(int)).mean() < 4


def test_natural_and_independent_factor_statistics() -> None:
    n = 4000
    rng = np.random.default_rng(0)
    nat = [synth.sample_factors(rng, 192, 160) for _ in range(n)]
    ind = [synth.sample_factors(rng, 192, 160, independent=True) for _ in range(n)]
    assert all(f.shape == f.species // 4 and f.texture == f.species for f in nat)
    pref = np.mean([f.background == synth.PREFERRED_HABITAT[f.species] for f in nat])
    expected = synth.NATURAL_HABITAT_PROB + (1 - synth.NATURAL_HABITAT_PROB) / 8
    assert abs(pref - expected) < 0.03
    assert (
        abs(np.mean([f.background == synth.PREFERRED_HABITAT[f.texture] for f in ind]) - 1 / 8)
        < 0.03
    )
    assert np.mean([f.shape == f.texture // 4 for f in ind]) < 0.25
    for key, k in (("shape", 6), ("texture", 24), ("background", 8)):
        counts = Counter(getattr(f, key) for f in ind)
        assert len(counts) == k and min(counts.values()) > n / k * 0.7
    assert len(Counter(f.background for f in nat)) == 8
    for f in nat + ind:
        half = f.scale * 160 / 2
        assert 0.3 <= f.scale <= 0.7 and -30 <= f.angle_deg <= 30 and f.facing in ("left", "right")
        assert half <= f.center_x <= 192 - half and half <= f.center_y <= 160 - half
    forced = synth.sample_factors(rng, 192, 160, species=9)
    assert (forced.species, forced.shape, forced.texture) == (9, 2, 9)


def test_class_tables_are_consistent() -> None:
    assert len(synth.SHAPES) == 6 and len(synth.TEXTURES) == 24 and len(synth.BACKGROUNDS) == 8
    assert len(set(synth.TEXTURES)) == 24 and len(synth.PREFERRED_HABITAT) == 24
    assert Counter(synth.PREFERRED_HABITAT) == Counter({b: 3 for b in range(8)})
    assert synth.SPECIES[0] == "001.round_songbird_red_solid"
    assert synth.image_height(192) == 160


def _read_pairs(path: Path) -> dict[int, list[str]]:
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return {int(r[0]): r[1:] for r in rows}


def test_dataset_is_valid_cub_and_reproducible_from_factors(tmp_path: Path) -> None:
    out = tmp_path / "birds"
    stats = synth.generate_dataset(out, 10, seed=3, width=W, workers=1)
    assert stats["count"] == 10 and stats["images_per_s"] > 0
    images = _read_pairs(out / "images.txt")
    boxes = _read_pairs(out / "bounding_boxes.txt")
    labels = _read_pairs(out / "image_class_labels.txt")
    split = _read_pairs(out / "train_test_split.txt")
    classes = _read_pairs(out / "classes.txt")
    assert set(images) == set(boxes) == set(labels) == set(split) == set(range(1, 11))
    assert [classes[k][0] for k in sorted(classes)] == list(synth.SPECIES)
    with open(out / "factors.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert (
        tuple(rows[0])
        == synth.FACTOR_COLUMNS
        == (
            "id",
            "species",
            "shape",
            "texture",
            "background",
            "center_x",
            "center_y",
            "scale",
            "angle_deg",
            "facing",
        )
    )
    names = json.loads((out / "factor_names.json").read_text())
    assert names["shape"] == list(synth.SHAPES) and names["background"] == list(synth.BACKGROUNDS)
    assert names["texture"] == list(synth.TEXTURES)
    for row in rows[1:]:
        i = int(row[0])
        ints = [int(v) for v in row[1:5]]
        f = synth.Factors(*ints, *(float(v) for v in row[5:9]), row[9])
        rel = images[i][0]
        assert rel.startswith(synth.SPECIES[f.species] + "/")
        assert int(labels[i][0]) == f.species + 1
        path = out / "images" / rel
        with Image.open(path) as im:
            assert im.size == (W, synth.image_height(W)) and im.format == "JPEG"
        img, box = synth.render(f, W, synth.image_height(W), seed=3 * 2**32 + i - 1)
        assert [float(v) for v in boxes[i]] == list(map(float, box))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        assert buf.getvalue() == path.read_bytes(), "re-render from factors.csv differs"


def test_output_is_identical_for_any_worker_count_and_seeded(tmp_path: Path) -> None:
    def files(d: Path) -> dict[str, bytes]:
        return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}

    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    synth.generate_dataset(a, 9, seed=1, width=64, workers=1, independent=True)
    seen = []
    synth.generate_dataset(
        b, 9, seed=1, width=64, workers=2, independent=True, progress=lambda d, t: seen.append(d)
    )
    assert files(a) == files(b)
    assert seen[-1] == 9
    synth.generate_dataset(c, 9, seed=2, width=64, workers=1, independent=True)
    assert files(a)["images.txt"] != files(c)["images.txt"] or files(a) != files(c)
    # Regenerating into an existing SynthBirds folder replaces it.
    synth.generate_dataset(a, 4, seed=1, width=64, workers=1, independent=True, overwrite=True)
    assert len(list((a / "images").rglob("*.jpg"))) == 4


def _args(out, count=3, **kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    synth.add_synth_arguments(parser)
    argv = ["--out", str(out), "--count", str(count), "--size", "64", "--workers", "1"]
    for key, value in kw.items():
        argv += [f"--{key}", str(value)]
    return parser.parse_args(argv)


def test_cli_summary_line(tmp_path: Path, capsys) -> None:
    parser = argparse.ArgumentParser()
    synth.add_synth_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path / "ok"), "--count", "3", "--size", "64"])
    assert args.seed == 0 and args.workers is None and args.independent is False
    assert synth.run_synth(_args(tmp_path / "ok2")) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "images/s" in out[0] and "3 images" in out[0]


@pytest.mark.parametrize("case", ["count", "file", "foreign", "size", "workers", "underfile"])
def test_cli_user_errors_exit_2_with_one_line(tmp_path: Path, capsys, case: str) -> None:
    out = tmp_path / "out"
    if case == "count":
        args = _args(out, count=0)
    elif case == "file":
        out.write_text("x")
        args = _args(out)
    elif case == "foreign":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
        args = _args(out)
    elif case == "size":
        args = _args(out, size=8)
    elif case == "workers":
        args = _args(out, workers=0)
    else:  # an output path under a plain file cannot be created (also as root)
        (tmp_path / "plain").write_text("x")
        args = _args(tmp_path / "plain" / "out")
    assert synth.run_synth(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0] and "Traceback" not in err[0]
    if case == "foreign":
        assert (out / "notes.txt").read_text() == "mine"


def test_sample_grid(tmp_path: Path) -> None:
    path = tmp_path / "grid.png"
    synth.sample_grid(path, rows=1, cols=2, size=48)
    with Image.open(path) as im:
        assert im.size == (2 * 48 + 3 * 2, synth.image_height(48) + 2 * 2)


def test_package_exports_the_public_api() -> None:
    for name in synth.__all__:
        assert getattr(synth, name) is not None, name
    from engine.synth import (  # noqa: F401  (the names other modules import)
        BACKGROUNDS,
        SHAPES,
        TEXTURES,
        Factors,
        add_synth_arguments,
        generate_dataset,
        render,
        run_synth,
        sample_factors,
        sample_grid,
    )


def test_runs_as_a_module(tmp_path: Path) -> None:
    out = tmp_path / "m"
    argv = ["--out", str(out), "--count", "2", "--size", "48", "--workers", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "engine.synth", *argv],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 2 images" in done.stdout
    assert len(_read_pairs(out / "images.txt")) == 2
