"""A corpus of hostile inputs, generated here, against the command-line programs.

Every case must end with exit status 2 and exactly one ``prog: error: ...`` line on stderr naming
the problem: no traceback, no hang, bounded memory, and no external program (Ghostscript) run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from conftest import TINY, random_image
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n{ } loop\n"

# Runs a CLI's main() in a child process and records the child's peak memory in a file.
# (VmHWM, not ru_maxrss: the latter can carry over the parent's peak through fork and exec.)
_RUNNER = textwrap.dedent("""
    import importlib, os, sys
    module, argv = sys.argv[1], sys.argv[2:]
    try:
        code = importlib.import_module(module).main(argv)
    finally:
        with open("/proc/self/status") as status:
            peak_kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
        with open(os.environ["PEAK_FILE"], "w") as fh:
            fh.write(peak_kb)
    sys.exit(code)
""")


def run_cli(tmp_path: Path, module: str, *args, timeout: float = 120) -> tuple[int, str, float]:
    """(exit status, stderr, peak memory in MB) of ``module.main(args)`` in a fresh process.

    A ``gs`` placed first on PATH records any attempt to run Ghostscript."""
    fake_bin = tmp_path / "fake-bin"
    fake_bin.mkdir(exist_ok=True)
    gs = fake_bin / "gs"
    gs.write_text(f"#!/bin/sh\ntouch {tmp_path / 'gs-was-run'}\nexit 1\n")
    gs.chmod(0o755)
    env = dict(
        os.environ,
        PATH=f"{fake_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        PEAK_FILE=str(tmp_path / "peak"),
        PYTHONPATH=str(ROOT),
    )
    env.pop("MIXNMATCH_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, module, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=tmp_path,
    )
    assert not (tmp_path / "gs-was-run").exists(), "Ghostscript was started"
    peak_mb = int((tmp_path / "peak").read_text()) / 1024
    return proc.returncode, proc.stderr, peak_mb


def assert_one_error_line(code: int, err: str, prog: str, *expect: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"{prog}: error: "), err
    for word in expect:
        assert word in lines[0], err
    return lines[0]


# ------------------------------------------------------------------------------ images (1, 2)


def _mix_args(refs: list[Path], model: Path, out: Path) -> list[str]:
    args = []
    for slot, ref in zip(("background", "pose", "shape", "texture"), refs):
        args += [f"--{slot}", str(ref)]
    return args + ["--model", str(model), "--out", str(out)]


def _hostile_image(tmp_path: Path, case: str) -> tuple[Path, str]:
    path = tmp_path / f"{case}.png"
    if case == "eps-as-jpeg":
        path = tmp_path / "photo.jpg"
        path.write_bytes(EPS)
        return path, "not an image"
    if case == "strip-65000x1":
        Image.new("RGB", (65000, 1), "white").save(path)
        return path, "too small"
    if case == "strip-4000x40":
        Image.new("RGB", (4000, 40), "white").save(path)
        return path, "too thin"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["eps-as-jpeg", "strip-65000x1", "strip-4000x40"])
def test_mix_refuses_hostile_images_quickly_in_bounded_memory(
    tmp_path, tiny_model_file, image_files, case
):
    bad, expect = _hostile_image(tmp_path, case)
    out = tmp_path / "out.png"
    start = time.perf_counter()
    code, err, peak_mb = run_cli(
        tmp_path, "engine.cli.mix", *_mix_args([bad, *image_files[1:]], tiny_model_file, out)
    )
    assert time.perf_counter() - start < 60
    assert_one_error_line(code, err, "mixnmatch-mix", expect, bad.name)
    assert peak_mb < 1500, f"{peak_mb:.0f} MB"
    assert not out.exists()


def test_eps_is_refused_by_every_image_reader(tmp_path, tiny_cub):
    from engine import ImageError, load_frames, load_image
    from engine.data import check_dataset

    fake = tmp_path / "bird.png"
    fake.write_bytes(EPS)
    for reader in (load_image, load_frames):
        with pytest.raises(ImageError, match="not an image"):
            reader(fake)
    with pytest.raises(ImageError):
        load_image(EPS)
    (tiny_cub / "images" / "a" / "1.jpg").write_bytes(EPS)
    problems = check_dataset(tiny_cub)
    assert len(problems) == 1 and "a/1.jpg" in problems[0]


def test_thin_images_and_large_animations_are_bounded():
    from engine import ImageError, Reference, load_frames, load_image

    for size in ((2000, 40), (3, 500)):
        with pytest.raises(ImageError, match="too thin|too small"):
            load_image(Image.new("RGB", size))
    # A crop box at the edge of a tall image makes a 1 px wide crop: only the pixels the
    # model needs are computed (this took minutes and gigabytes with a full resize).
    ref = Reference(Image.new("RGB", (300, 6000)), (299, 0, 1, 6000))
    start = time.perf_counter()
    assert ref.to_tensor(64).shape == (3, 64, 64)
    assert time.perf_counter() - start < 5
    frames = [Image.new("RGB", (1000, 1000), c) for c in ("red", "green", "blue", "white")]
    buf = __import__("io").BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    loaded = load_frames(buf.getvalue(), max_pixels=1_000_000)
    assert len(loaded) == 4 and sum(f.width * f.height for f in loaded) <= 1_000_000


# ------------------------------------------------------------------------------ model files (3, 4)


def _write_raw_model(path: Path, header: object, tensors: dict | None = None) -> Path:
    from safetensors.torch import save_file

    tensors = tensors or {"generator.x": torch.zeros(1)}
    save_file(tensors, str(path), metadata={"mixnmatch": json.dumps(header)})
    return path


def _header(**config) -> dict:
    return {
        "format": "mixnmatch-studio",
        "format_version": 1,
        "config": {**TINY.to_dict(), **config},
        "parts": ["generator", "encoders"],
    }


def _tampered_model(src: Path, dst: Path, key: str, change) -> Path:
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tensors[key] = change(tensors[key])
    save_file(tensors, str(dst), metadata=meta)
    return dst


BAD_MODELS = {
    # name: (how to make it from the tiny model file, words the error must contain)
    "gf_dim-32768": (lambda p, t: _write_raw_model(p, _header(gf_dim=32768)), "gf_dim"),
    "children-1e8": (lambda p, t: _write_raw_model(p, _header(num_children=10**8)), "children"),
    "image_size-65536": (lambda p, t: _write_raw_model(p, _header(image_size=65536)), "image_size"),
    "z_dim-float": (lambda p, t: _write_raw_model(p, _header(z_dim=1.5)), "z_dim"),
    "header-list": (lambda p, t: _write_raw_model(p, [1, 2]), "header"),
    "header-null": (lambda p, t: _write_raw_model(p, None), "header"),
    "header-string": (lambda p, t: _write_raw_model(p, "x"), "header"),
    "parts-null": (lambda p, t: _write_raw_model(p, {**_header(), "parts": None}), "parts"),
    "wrong-shapes": (lambda p, t: _write_raw_model(p, _header()), "missing keys"),
    "nan-weights": (
        lambda p, t: _tampered_model(t, p, "generator.background_stage.fc.0.weight", _nan),
        "NaN",
    ),
    "inf-encoder": (
        lambda p, t: _tampered_model(t, p, "encoders.model_z.0.0.weight", _inf),
        "NaN or infinite",
    ),
    "huge-weights": (
        lambda p, t: _tampered_model(
            t, p, "generator.background_stage.fc.0.weight", lambda x: x * 1e30
        ),
        "implausible",
    ),
    "negative-bn-var": (
        lambda p, t: _tampered_model(
            t, p, "generator.background_stage.fc.1.running_var", lambda x: -x - 1
        ),
        "negative BatchNorm variance",
    ),
    "int8-weights": (
        lambda p, t: _tampered_model(
            t, p, "generator.background_stage.fc.0.weight", lambda x: x.to(torch.int8)
        ),
        "int8",
    ),
}


def _nan(x: torch.Tensor) -> torch.Tensor:
    x = x.clone()
    x.view(-1)[0] = float("nan")
    return x


def _inf(x: torch.Tensor) -> torch.Tensor:
    x = x.clone()
    x.view(-1)[-1] = float("inf")
    return x


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_model_files_are_refused_before_building_networks(
    tmp_path, tiny_model_file, image_files, case
):
    from engine import MixNMatch, ModelFileError

    make, expect = BAD_MODELS[case]
    path = make(tmp_path / f"{case}.safetensors", tiny_model_file)
    with pytest.raises(ModelFileError, match=expect) as err:
        MixNMatch.load(path, "cpu")
    assert "\n" not in str(err.value) and path.name in str(err.value)


def test_mix_with_size_bomb_and_nan_model_files_exits_2(tmp_path, tiny_model_file, image_files):
    for case in ("gf_dim-32768", "nan-weights"):
        make, expect = BAD_MODELS[case]
        path = make(tmp_path / f"{case}.safetensors", tiny_model_file)
        code, err, peak_mb = run_cli(
            tmp_path, "engine.cli.mix", *_mix_args(image_files, path, tmp_path / "o.png")
        )
        assert_one_error_line(code, err, "mixnmatch-mix", expect)
        assert peak_mb < 1500, f"{peak_mb:.0f} MB"


def _official_pair(tmp_path: Path, change=None) -> tuple[Path, Path]:
    from engine import MixNMatch

    model = MixNMatch.from_random(TINY, seed=0)
    g, e = model.generator.state_dict(), model.encoders.state_dict()
    if change is not None:
        change(g, e)
    torch.save(g, tmp_path / "G.pth")
    torch.save(e, tmp_path / "E.pth")
    return tmp_path / "G.pth", tmp_path / "E.pth"


def _expanded_z(g: dict, e: dict) -> None:
    row = e["model_z.4.weight"][:1]
    e["model_z.4.weight"] = row.expand(10**8, *row.shape[1:])  # stride 0: a few bytes on disk


@pytest.mark.parametrize(
    "case, change, expect",
    [
        ("nan", lambda g, e: g.__setitem__("child_stage.jointConv.0.weight", _nan(g[
            "child_stage.jointConv.0.weight"])), "NaN"),
        ("int8", lambda g, e: g.__setitem__("background_stage.fc.0.weight", g[
            "background_stage.fc.0.weight"].to(torch.int8)), "int8"),
        ("expanded", _expanded_z, "z_dim"),
    ],
)  # fmt: skip
def test_import_official_refuses_broken_weights(tmp_path, case, change, expect):
    gen, enc = _official_pair(tmp_path, change)
    out = tmp_path / "model.safetensors"
    code, err, peak_mb = run_cli(
        tmp_path,
        "engine.cli.import_official",
        *("--generator", gen, "--encoder", enc, "-o", out),
    )
    assert_one_error_line(code, err, "mixnmatch-import-official", expect)
    assert peak_mb < 1500 and not out.exists()


# ------------------------------------------------------------------------------ values (11)


@pytest.mark.parametrize(
    "toml, expect",
    [
        ('steps = "abc"', "steps"),
        ("steps = [1, 2]", "steps"),
        ('lr = "fast"', "lr"),
        ("batch-size = 2.5", "batch-size"),
        ("data = 5", "data"),
        ('device = "tpu"', "device"),
        ("checkpoint-every = 0", "checkpoint-every"),
        ("sample-every = 0", "sample-every"),
        ("log-every = 0", "log-every"),
        ("num-parents = -1", "num_parents"),
        ("cache-images = 3", "cache-images"),
        ("betas = [0.5]", "betas"),
    ],
)
def test_train_refuses_wrong_toml_types_with_one_line(tmp_path, capsys, toml, expect):
    from engine.cli.train import main

    config = tmp_path / "run.toml"
    data = "" if toml.startswith("data") else f'data = "{tmp_path}"\n'
    config.write_text(f'{data}out = "{tmp_path / "run"}"\n{toml}\n')
    assert main(["--config", str(config), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert_one_error_line(2, err, "mixnmatch-train", expect)


@pytest.mark.parametrize(
    "args, expect",
    [
        (["--checkpoint-every", "0"], "checkpoint-every"),
        (["--sample-every", "0"], "sample-every"),
        (["--log-every", "0"], "log-every"),
        (["--num-parents", "0"], "num_parents"),
        (["--num-parents", "-1"], "num_parents"),
    ],
)
def test_train_refuses_bad_option_values(tmp_path, capsys, args, expect):
    from engine.cli.train import main

    argv = ["--data", str(tmp_path), "--out", str(tmp_path / "run"), "--dry-run", *args]
    assert main(argv) == 2
    assert_one_error_line(2, capsys.readouterr().err, "mixnmatch-train", expect)


def test_mix_refuses_infinite_crop_box(tmp_path, capsys, tiny_model_file, image_files):
    from engine.cli.mix import main

    args = _mix_args(image_files, tiny_model_file, tmp_path / "o.png")
    assert main([*args, "--crop-background", "inf,0,10,10"]) == 2
    assert_one_error_line(2, capsys.readouterr().err, "mixnmatch-mix", "--crop-background")


def test_data_bench_refuses_huge_image_size(tiny_cub, capsys):
    from engine.cli.data import main

    assert main(["bench", str(tiny_cub), "--image-size", "100000"]) == 2
    assert_one_error_line(2, capsys.readouterr().err, "mixnmatch-data", "image size")


def test_unexpected_errors_are_not_called_user_errors(capsys):
    from engine.cli.common import run_main

    def buggy() -> int:
        raise ValueError("a bug, not bad input")

    assert run_main("prog", buggy) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("prog: internal error: ValueError")


# ------------------------------------------------------------------------------ messages (12)


def test_misleading_messages_now_name_the_problem(tmp_path):
    from engine import ImageError, ModelFileError, Reference, load_image
    from engine.model_file import import_official

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        load_image(fifo)
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    with pytest.raises(ImageError, match="symbolic link loop"):
        load_image(loop)
    gen, enc = _official_pair(tmp_path)
    for content, expect in (
        (b"", "empty file"),
        (b"just some text\n", "unknown file format"),
        ((7).to_bytes(8, "little") + b'{"a":1}', "a .safetensors file"),
    ):
        gen.write_bytes(content)
        with pytest.raises(ModelFileError, match=expect):
            import_official(gen, enc)
    random_image(0, (100, 80)).save(tmp_path / "bird.png")
    (tmp_path / "boxes.csv").write_text("filename,x,y,w,h\nbird.png,500,20,30,40\n")
    with pytest.raises(ImageError, match=r"bird\.png.*outside"):
        Reference.from_path(tmp_path / "bird.png")
    (tmp_path / "boxes.csv").write_text("filename,x,y,w,h\nbird.png,inf,20,30,40\n")
    with pytest.raises(ImageError, match=r"boxes\.csv:2: bird\.png"):
        Reference.from_path(tmp_path / "bird.png")


def test_nan_tiff_loads_without_warnings(recwarn):
    import io

    import numpy as np

    from engine import load_image

    arr = np.full((16, 16), np.nan, dtype=np.float32)
    buf = io.BytesIO()
    Image.fromarray(arr, "F").save(buf, "TIFF")
    assert load_image(buf.getvalue()).size == (16, 16)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_image_files_are_closed(tmp_path):
    from engine import load_frames, load_image

    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "blue")]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        load_image(path)
        load_frames(path)
    assert len(os.listdir("/proc/self/fd")) <= before


def test_peak_memory_helper_measures_the_child(tmp_path):
    """The memory bound above is real: a child that allocates 300 MB reports it."""
    script = tmp_path / "hog.py"
    script.write_text("import numpy as np\ndef main(argv):\n    np.ones(300_000_000, 'u1')\n")
    code, _, peak_mb = run_cli(tmp_path, "hog")  # imported from the child's working folder
    assert code == 0 and peak_mb > 300
