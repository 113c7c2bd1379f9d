"""``mixnmatch-mix`` output formats, batch mode and quick argument checks."""

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from engine.cli.mix import main
from engine.output import read_metadata

ROOT = Path(__file__).resolve().parent.parent
SLOTS = ("background", "pose", "shape", "texture")


def _args(image_files, model, out):
    args = ["--model", str(model), "--out", str(out)]
    for slot, path in zip(SLOTS, image_files):
        args += [f"--{slot}", str(path)]
    return args


@pytest.mark.parametrize("suffix,fmt", [(".png", "PNG"), (".jpg", "JPEG"), (".webp", "WEBP")])
def test_extension_picks_the_format_and_keeps_metadata(
    tmp_path, tiny_model_file, image_files, suffix, fmt
):
    out = tmp_path / f"mix{suffix}"
    assert main(_args(image_files, tiny_model_file, out)) == 0
    with Image.open(out) as img:
        assert img.format == fmt and img.size == (64, 64)
    meta = read_metadata(out)
    assert meta["mixnmatch:mode"] == "code" and "ref2.png" in meta["mixnmatch:shape"]


def test_unknown_extension_is_refused_before_loading(tmp_path, image_files, capsys):
    out = tmp_path / "mix.gif"
    assert main(_args(image_files, tmp_path / "no-model.safetensors", out)) == 2
    err = capsys.readouterr().err
    assert "cannot write .gif" in err and ".webp" in err and err.count("\n") == 1
    assert not out.exists()


def test_batch_csv_writes_one_composite_per_row(tmp_path, tiny_model_file, image_files, capsys):
    table = tmp_path / "quads.csv"
    table.write_text(
        "background,pose,shape,texture,out\n"
        "ref0.png,ref1.png,ref2.png,ref3.png,first.jpg\n"
        "ref3.png,ref2.png,ref1.png,ref0.png,\n"
        "ref0.png,ref1.png,missing.png,ref3.png,bad.png\n"
    )
    out = tmp_path / "mixes"
    args = ["--batch", str(table), "--out", str(out), "--model", str(tiny_model_file)]
    assert main(args) == 1  # one row refers to a missing file
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["first.jpg", "mix_0002.png"]
    assert "skipped bad.png" in captured.err and "missing.png" in captured.err
    assert "\r" not in captured.err  # no progress frames when stderr is not a terminal
    assert "2 of 3 composites written" in captured.out
    assert "ref3.png" in read_metadata(out / "mix_0002.png")["mixnmatch:background"]


def test_folders_pair_images_and_single_files_repeat(
    tmp_path, tiny_model_file, image_files, capsys
):
    backgrounds = tmp_path / "bg"
    backgrounds.mkdir()
    for i, path in enumerate(image_files[:3]):
        (backgrounds / f"b{i}.png").write_bytes(path.read_bytes())
    args = _args(image_files, tiny_model_file, tmp_path / "out")
    args[args.index("--background") + 1] = str(backgrounds)
    assert main(args + ["--format", "webp"]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["mix_0001.webp", "mix_0002.webp", "mix_0003.webp"]
    assert "b2.png" in read_metadata(tmp_path / "out" / "mix_0003.webp")["mixnmatch:background"]
    shapes = tmp_path / "shapes"
    shapes.mkdir()
    (shapes / "s.png").write_bytes(image_files[2].read_bytes())
    args[args.index("--shape") + 1] = str(shapes)
    assert main(args) == 2
    assert "different numbers of images (background 3, shape 1)" in capsys.readouterr().err


def test_help_does_not_import_torch():
    code = (
        "import sys\nfrom engine.cli.mix import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "sys.exit(3 if 'torch' in sys.modules else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and "--batch" in done.stdout
