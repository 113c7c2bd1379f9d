"""Never destroy a user's files: outputs checked up front, atomic writes, no temporaries left,
file modes from the umask, synth and checkpoints touching only their own files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from conftest import TINY
from PIL import Image

from engine import MixNMatchError, ModelFileError

ROOT = Path(__file__).resolve().parent.parent


def _mix(args: list[str]) -> int:
    from engine.cli.mix import main

    return main(args)


def _mix_args(image_files, model, out) -> list[str]:
    args = []
    for slot, ref in zip(("background", "pose", "shape", "texture"), image_files):
        args += [f"--{slot}", str(ref)]
    return args + ["--model", str(model), "--out", str(out)]


# ------------------------------------------------------------------------------ 8, 9: outputs


def test_mix_never_overwrites_an_input(tmp_path, capsys, tiny_model_file, image_files):
    before = image_files[0].read_bytes()
    assert _mix(_mix_args(image_files, tiny_model_file, image_files[0])) == 2
    err = capsys.readouterr().err
    assert "overwrite the input" in err and err.count("\n") == 1
    assert image_files[0].read_bytes() == before


def test_mix_checks_layers_before_writing_anything(tmp_path, capsys, tiny_model_file, image_files):
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    out = tmp_path / "result.png"
    args = _mix_args(image_files, tiny_model_file, out)
    assert _mix([*args, "--layers", str(blocker / "layers")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert not out.exists()


def test_png_writes_are_atomic(tmp_path, monkeypatch):
    from engine import ImageError, save_png

    target = tmp_path / "r.png"
    save_png(Image.new("RGB", (8, 8), "red"), target)
    good = target.read_bytes()

    def full_disk(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"\x89PNG partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_disk)
    with pytest.raises(ImageError, match="No space left"):
        save_png(Image.new("RGB", (8, 8), "blue"), target)
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.png"]  # no temporary left


def test_import_official_never_overwrites_its_input(tmp_path, capsys):
    from engine import MixNMatch
    from engine.cli.import_official import main

    model = MixNMatch.from_random(TINY, seed=0)
    gen, enc = tmp_path / "G.pth", tmp_path / "E.pth"
    torch.save(model.generator.state_dict(), gen)
    torch.save(model.encoders.state_dict(), enc)
    before = gen.read_bytes()
    assert main(["--generator", str(gen), "--encoder", str(enc), "-o", str(gen)]) == 2
    assert "overwrite the input" in capsys.readouterr().err
    assert gen.read_bytes() == before
    assert main(["--generator", str(gen), "--encoder", str(enc), "-o", "/no/such/dir/m"]) == 2
    assert "does not exist" in capsys.readouterr().err


# ------------------------------------------------------------------------------ 10, 13: writers


def test_model_write_failures_are_one_line_and_leave_no_temporary(tmp_path, monkeypatch):
    import safetensors.torch

    from engine import MixNMatch
    from engine.model_file import save_model

    model = MixNMatch.from_random(TINY, seed=0)
    nets = {"generator": model.generator, "encoders": model.encoders}
    with pytest.raises(ModelFileError, match="cannot write"):
        save_model(tmp_path / "missing" / "m.safetensors", TINY, nets)

    def disk_full(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise RuntimeError("PytorchStreamWriter failed writing file: file write failed")

    monkeypatch.setattr(safetensors.torch, "save_file", disk_full)
    with pytest.raises(ModelFileError, match="file write failed"):
        save_model(tmp_path / "m.safetensors", TINY, nets)
    assert list(tmp_path.iterdir()) == []


def test_written_files_follow_the_umask(tmp_path):
    from engine import MixNMatch, save_png
    from engine.model_file import save_model

    model = MixNMatch.from_random(TINY, seed=0)
    old = os.umask(0o022)
    try:
        path = save_model(tmp_path / "m.safetensors", TINY, {"generator": model.generator})
        png = save_png(Image.new("RGB", (8, 8)), tmp_path / "x.png")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
    assert png.stat().st_mode & 0o777 == 0o644


def test_checkpoint_failures_clean_up_and_pruning_spares_newer_runs(tmp_path, monkeypatch):
    from engine.train import checkpoints as ck

    run = tmp_path / "run"
    for step in (100, 200, 300):  # an earlier, longer run in this folder
        ck.save_checkpoint(run, 1, step, {"step": step}, keep=5)
    ck.save_checkpoint(run, 1, 10, {"step": 10}, keep=1)  # a new run must not lose this
    names = [p.name for p in ck.list_checkpoints(run)]
    assert "ckpt-s1-0000010.pt" in names and "ckpt-s1-0000300.pt" in names

    def disk_full(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(MixNMatchError, match="cannot write checkpoint: .*file write failed"):
        ck.save_checkpoint(run, 1, 400, {"step": 400}, keep=3)
    leftovers = [p.name for p in (run / "checkpoints").iterdir() if "tmp" in p.name]
    assert leftovers == []


def test_wrong_structure_checkpoints_are_skipped(tmp_path):
    from engine.train import checkpoints as ck

    run = tmp_path / "run"
    good = {
        "config": {"model": {}},
        "stage": 1,
        "step": 5,
        "trainer": {"nets": {}, "generator_ema": {}, "optimizers": {}},
        "rng": {},
    }
    ck.save_checkpoint(run, 1, 5, good, keep=3)
    ck.save_checkpoint(run, 1, 6, {"step": 6}, keep=3)  # loads, but is no training state
    path, state = ck.load_latest(run)
    assert path.name == "ckpt-s1-0000005.pt" and state["step"] == 5


def test_run_folder_guard_and_lock(tmp_path):
    from engine.train import checkpoints as ck

    run = tmp_path / "run"
    ck.check_run_folder(run, resume=False)  # a new folder is fine
    run.mkdir()
    (run / "config.json").write_text("{}")
    with pytest.raises(MixNMatchError, match="already holds a run"):
        ck.check_run_folder(run, resume=False)
    ck.check_run_folder(run, resume=True)
    with ck.run_lock(run):
        with pytest.raises(MixNMatchError, match="another training run"):
            with ck.run_lock(run):
                pass
    with ck.run_lock(run):  # released again
        pass


# ------------------------------------------------------------------------------ 7, 12, 13: synth


def test_synth_refuses_existing_dataset_and_never_deletes_user_files(tmp_path):
    from engine import synth

    out = tmp_path / "birds"
    synth.generate_dataset(out, 4, width=64, workers=1)
    mine = out / "images" / "my_photo.jpg"
    mine.write_bytes(b"user data")
    with pytest.raises(ValueError, match="--overwrite"):
        synth.generate_dataset(out, 2, width=64, workers=1)
    assert len(list((out / "images").rglob("*_0*.jpg"))) == 4
    synth.generate_dataset(out, 2, width=64, workers=1, overwrite=True)
    assert mine.read_bytes() == b"user data"
    assert len((out / "images.txt").read_text().splitlines()) == 2
    assert len([p for p in (out / "images").rglob("*.jpg") if p != mine]) == 2


def test_synth_refuses_impossible_counts_at_once(tmp_path):
    from engine import synth

    start = time.perf_counter()
    with pytest.raises(ValueError, match="too large"):
        synth.generate_dataset(tmp_path / "x", 10**9, width=64, workers=1)
    assert time.perf_counter() - start < 2 and not (tmp_path / "x").exists()


def test_synth_stops_promptly_on_ctrl_c_without_worker_messages(tmp_path):
    """The parent has a training-style handler that only prints; workers must not run it."""
    script = textwrap.dedent(f"""
        import signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from engine.cli.data import main
        signal.signal(signal.SIGINT, lambda *a: print("stopping after this step", file=sys.stderr))
        print("ready", flush=True)
        sys.exit(main(["synth", "--out", {str(tmp_path / "o")!r}, "--count", "20000",
                       "--size", "64", "--workers", "2"]))
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.time() + 60
    images = tmp_path / "o" / "images"
    while time.time() < deadline and not any(images.rglob("*.jpg")):
        time.sleep(0.1)
    os.killpg(os.getpgid(proc.pid), 0)  # still running
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("Ctrl-C was not honoured within 20 s") from None
    assert proc.returncode == 130, err
    assert "stopping after this step" not in err and "interrupted" in err
    assert not (tmp_path / "o" / "images.txt").exists()


def test_training_paths_are_checked_at_start_up(tmp_path):
    from engine.train.config import TrainConfig, check_paths

    cfg = TrainConfig(data=str(tmp_path), out=str(tmp_path / "run"))
    check_paths(cfg)
    with pytest.raises(ValueError, match="does not exist"):
        check_paths(TrainConfig(data=str(tmp_path), out="r", export="/no/such/dir/m.safetensors"))
    with pytest.raises(ValueError, match="data folder not found"):
        check_paths(TrainConfig(data=str(tmp_path / "nothing"), out=str(tmp_path / "run")))
