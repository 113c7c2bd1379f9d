"""``mixnmatch-mix`` end to end on a small random model file."""

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from engine.cli.mix import main

ROOT = Path(__file__).resolve().parent.parent


def test_mix_writes_png_with_metadata_and_layers(tmp_path, tiny_model_file, image_files):
    out = tmp_path / "mix.png"
    args = [
        "--background",
        str(image_files[0]),
        "--pose",
        str(image_files[1]),
        "--shape",
        str(image_files[2]),
        "--texture",
        str(image_files[3]),
        "--model",
        str(tiny_model_file),
        "--out",
        str(out),
        "--layers",
        str(tmp_path / "l"),
        "--scale",
        "2",
        "--crop-shape",
        "10,10,40,40",
    ]
    assert main(args) == 0
    with Image.open(out) as img:
        assert img.size == (128, 128)
        assert img.text["mixnmatch:mode"] == "code"
        assert (
            "ref2.png" in img.text["mixnmatch:shape"]
            and "[10, 10, 40, 40]" in img.text["mixnmatch:shape"]
        )
    assert (tmp_path / "l" / "child_mask.png").exists()
    feature = [
        "--background",
        str(image_files[0]),
        "--shape",
        str(image_files[2]),
        "--texture",
        str(image_files[3]),
        "--model",
        str(tiny_model_file),
        "--mode",
        "feature",
        "--out",
        str(tmp_path / "f.png"),
    ]
    assert main(feature) == 0


def test_whole_image_feeds_every_slot_whole(tmp_path, tiny_model_file, image_files):
    slots = ("background", "pose", "shape", "texture")
    args = [f"--{s}={p}" for s, p in zip(slots, image_files)]
    out = tmp_path / "whole.png"
    assert main(args + ["--model", str(tiny_model_file), "--whole-image", "--out", str(out)]) == 0
    with Image.open(out) as img:
        for slot in slots:
            described = json.loads(img.text[f"mixnmatch:{slot}"])
            assert described["crop"] == "whole" and described["box"] is None


def test_user_errors_are_one_line_exit_2(tmp_path, tiny_model_file, image_files, capsys):
    base = [
        "--background",
        str(image_files[0]),
        "--pose",
        str(image_files[1]),
        "--shape",
        str(image_files[2]),
        "--model",
        str(tiny_model_file),
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (base, "missing --texture"),
        (base + ["--texture", str(empty)], "no images in this folder"),
        (base + ["--texture", str(image_files[3]), "--crop-texture", "1,2,3"], "4 numbers"),
        (
            base[:-1] + [str(tmp_path / "none.safetensors"), "--texture", str(image_files[3])],
            "no such model file",
        ),
        (base + ["--texture", str(image_files[3]), "--mode", "paint"], "invalid choice"),
        (
            base + ["--texture", str(image_files[3]), "--whole-image", "--crop-shape", "1,2,3,4"],
            "--crop-shape has no effect with --whole-image",
        ),
    ]
    for args, expect in cases:
        assert main(args) == 2
        err = capsys.readouterr().err
        assert expect in err and err.count("\n") == 1, err


def test_console_entry_runs_as_a_module(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli.mix", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0 and "--texture" in out.stdout
