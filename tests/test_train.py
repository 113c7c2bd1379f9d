"""Training: losses finite and moving, exact resume, atomic checkpoints, CLI errors, DDP."""

import dataclasses
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from engine import MixNMatch, MixNMatchError
from engine.cli.train import main as train_main
from engine.train import TrainConfig, iter_train
from engine.train.checkpoints import list_checkpoints, save_checkpoint

ROOT = Path(__file__).resolve().parent.parent


def _cfg(tiny_config, data, out, **kw) -> TrainConfig:
    base = dict(
        model=tiny_config,
        preset="demo",
        data=str(data),
        out=str(out),
        steps=3,
        stage2_steps=2,
        batch_size=4,
        log_every=1,
        sample_every=100,
        checkpoint_every=100,
        seed=1,
        device="cpu",
    )
    base.update(kw)
    return TrainConfig(**base)


def _losses(cfg, resume=False):
    return {
        (p.stage, p.step): p.losses for p in iter_train(cfg, resume=resume) if p.event == "step"
    }


def test_both_stages_train_and_export(tiny_config, tiny_cub, tmp_path):
    cfg = _cfg(tiny_config, tiny_cub, tmp_path / "run")
    losses = _losses(cfg)
    assert set(losses) == {(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)}
    for values in losses.values():
        assert all(math.isfinite(v) for v in values.values())
    for key in losses[(1, 1)]:
        assert losses[(1, 1)][key] != losses[(1, 3)][key], f"{key} did not change"
    assert losses[(2, 1)]["ex_l1"] != losses[(2, 2)]["ex_l1"]
    model = MixNMatch.load(tmp_path / "run" / "model.safetensors", "cpu")
    assert model.has_feature_mode and model.info["steps"] == 3
    # the model file names the data folder, never the path it had on the training machine
    assert model.info["trained_on"].endswith(Path(tiny_cub).name)
    assert str(Path(tiny_cub).parent) not in model.info["trained_on"]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["steps"] == 3
    assert (tmp_path / "run" / "metrics.jsonl").read_text().count("\n") == 5
    assert list((tmp_path / "run" / "samples").glob("*.png"))


def test_same_seed_same_losses_and_resume_is_exact(tiny_config, tiny_cub, tmp_path):
    full = _losses(_cfg(tiny_config, tiny_cub, tmp_path / "a", steps=4, stage2_steps=1))
    again = _losses(_cfg(tiny_config, tiny_cub, tmp_path / "b", steps=4, stage2_steps=1))
    assert full == again  # same seed, same device, same data
    part = _cfg(tiny_config, tiny_cub, tmp_path / "c", steps=2, stage2_steps=1)
    list(iter_train(dataclasses.replace(part, stage="1")))
    resumed = _losses(dataclasses.replace(part, steps=4), resume=True)
    assert resumed[(1, 3)] == full[(1, 3)] and resumed[(1, 4)] == full[(1, 4)]


def test_interrupted_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    good = save_checkpoint(tmp_path, 1, 10, {"w": torch.ones(3)}, keep=3)

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(MixNMatchError, match="No space left"):
        save_checkpoint(tmp_path, 1, 20, {"w": torch.zeros(3)}, keep=3)
    assert list_checkpoints(tmp_path) == [good]
    assert not list((tmp_path / "checkpoints").glob("*.tmp"))
    assert torch.equal(torch.load(good, weights_only=True)["w"], torch.ones(3))


def test_corrupt_newest_checkpoint_falls_back(tiny_config, tiny_cub, tmp_path):
    cfg = _cfg(tiny_config, tiny_cub, tmp_path / "r", steps=5, checkpoint_every=1, stage="1")
    done: list[int] = []
    for p in iter_train(cfg, should_stop=lambda: len(done) >= 2):  # interrupted after step 2
        if p.event == "step":
            done.append(p.step)
    newest = list_checkpoints(tmp_path / "r")[-1]
    newest.write_bytes(newest.read_bytes()[:100])
    progress = list(iter_train(dataclasses.replace(cfg, steps=3), resume=True))
    assert [p.step for p in progress if p.event == "step"] == [2, 3]


def test_non_finite_loss_stops_with_checkpoint(tiny_config, tiny_cub, tmp_path, monkeypatch):
    from engine.train.trainer import Trainer

    monkeypatch.setattr(Trainer, "stage1_step", lambda self, batch: {"g": float("nan")})
    cfg = _cfg(tiny_config, tiny_cub, tmp_path / "nan", stage="1")
    with pytest.raises(MixNMatchError, match="non-finite loss"):
        list(iter_train(cfg))
    assert list_checkpoints(tmp_path / "nan")


def test_cli_dry_run_and_errors(tiny_cub, tmp_path, capsys):
    assert train_main(["--data", str(tiny_cub), "--out", str(tmp_path / "x"), "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["image_size"] == 64
    toml = tmp_path / "c.toml"
    toml.write_text("steps = 7\nbatch-size = 6\n")
    assert (
        train_main(
            [
                "--data",
                str(tiny_cub),
                "--out",
                str(tmp_path / "x"),
                "--config",
                str(toml),
                "--steps",
                "9",
                "--dry-run",
            ]
        )
        == 0
    )
    resolved = json.loads(capsys.readouterr().out)
    assert (resolved["steps"], resolved["batch_size"]) == (9, 6)
    blocker = tmp_path / "file"
    blocker.write_text("")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["--out", str(tmp_path / "y")], "give --data DIR or --synthetic N"),
        (["--data", str(empty), "--out", str(tmp_path / "y"), "--steps", "1"], "images.txt"),
        (
            ["--data", str(tiny_cub), "--out", str(blocker / "run"), "--steps", "1"],
            "is not a folder",
        ),
        (
            ["--data", str(tiny_cub), "--out", str(tmp_path / "z"), "--batch-size", "1"],
            "batch size",
        ),
    ]
    for args, expect in cases:
        assert train_main(args) == 2
        err = capsys.readouterr().err
        assert expect in err and err.count("\n") == 1, err


def test_resume_with_another_model_is_refused(tiny_config, tiny_cub, tmp_path):
    cfg = _cfg(tiny_config, tiny_cub, tmp_path / "r", steps=1, stage="1")
    list(iter_train(cfg))
    other = dataclasses.replace(tiny_config, num_parents=4)
    with pytest.raises(MixNMatchError, match="does not match"):
        list(iter_train(dataclasses.replace(cfg, model=other, steps=2), resume=True))


def test_two_process_gloo_training_keeps_ranks_identical(tiny_config, tiny_cub, tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(
        textwrap.dedent(f"""
        import os, sys, torch
        sys.path.insert(0, {str(ROOT)!r})
        from engine.config import ModelConfig
        from engine.train import TrainConfig
        from engine.train import loop
        model = ModelConfig(**{tiny_config.to_dict()!r})
        cfg = TrainConfig(model=model, data={str(tiny_cub)!r}, out={str(tmp_path / "run")!r},
                          steps=2, stage2_steps=1, batch_size=4, seed=3, device="cpu",
                          sample_every=100, checkpoint_every=100)
        captured = {{}}
        list(loop.iter_train(cfg, on_trainer=lambda t: captured.update(trainer=t)))
        rank = int(os.environ["RANK"])
        trainer = captured["trainer"]
        torch.save({{k: v for k, v in trainer.generator.state_dict().items()}},
                   {str(tmp_path)!r} + f"/rank{{rank}}.pt")
    """)
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_port=29533",
            str(script),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tiny_cub, tmp_path):
    import signal
    import time

    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "engine.cli.train",
        "--data",
        str(tiny_cub),
        "--out",
        str(run),
        "--steps",
        "100000",
        "--batch-size",
        "4",
        "--log-every",
        "1",
        "--sample-every",
        "100000",
        "--checkpoint-every",
        "100000",
        "--num-parents",
        "2",
        "--num-children",
        "4",
        "-q",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 240
    metrics = run / "metrics.jsonl"
    while time.time() < deadline and not (metrics.exists() and metrics.read_text().count("\n")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err
    assert "checkpoint saved" in err and "Traceback" not in err
    assert list_checkpoints(run)


def test_export_only_from_newest_checkpoint(tiny_config, tiny_cub, tmp_path):
    cfg = _cfg(tiny_config, tiny_cub, tmp_path / "r", steps=2, checkpoint_every=1, stage="1")
    list(iter_train(cfg))
    out = tmp_path / "early.safetensors"
    assert train_main(["--out", str(tmp_path / "r"), "--export-only", "--export", str(out)]) == 0
    model = MixNMatch.load(out, "cpu")
    assert model.info["steps"] == 2 and not model.has_feature_mode
    assert train_main(["--out", str(tmp_path / "none"), "--export-only"]) == 2
