"""Training recipes: time budget, quick evaluations, float16 export in parts, the GPU recipe,
the mask prior option, and the CLI's run-folder and config rules."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from engine import MixNMatch, MixNMatchError
from engine.cli.train import main as train_main
from engine.cli.train import parse_duration
from engine.codes import sample_tied
from engine.errors import ConfigError
from engine.networks import InfoDiscriminator
from engine.parts import join_parts
from engine.synth import generate_dataset
from engine.train import TrainConfig, iter_train
from engine.train.losses import mask_area_prior

ROOT = Path(__file__).resolve().parent.parent


def _cfg(tiny_config, data, out, **kw) -> TrainConfig:
    base = dict(
        model=tiny_config, preset="demo", data=str(data), out=str(out), steps=3,
        stage2_steps=2, batch_size=4, log_every=1, sample_every=100, checkpoint_every=100,
        seed=1, device="cpu",
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_parse_duration():
    assert parse_duration("45m") == 2700
    assert parse_duration("1h30m") == 5400
    assert parse_duration("90s") == 90
    assert parse_duration("600") == 600
    for bad in ("", "soon", "5x", "0m", "m"):
        with pytest.raises(Exception, match="duration"):
            parse_duration(bad)


def test_time_budget_ends_both_stages_and_exports(tiny_config, tiny_cub, tmp_path):
    cfg = _cfg(tiny_config, tiny_cub, tmp_path / "b", steps=100000, stage2_steps=100000,
               time_budget=6.0, stage2_share=0.5)  # fmt: skip
    events = list(iter_train(cfg))
    assert events[-1].event == "done"
    stage1 = [e.step for e in events if e.event == "step" and e.stage == 1]
    assert 1 <= max(stage1) < 100000
    model = MixNMatch.load(tmp_path / "b" / "model.safetensors", "cpu")
    assert model.info["steps"] == max(stage1)  # where stage 1 really stopped
    # a finished run keeps only its newest checkpoint
    assert len(list((tmp_path / "b" / "checkpoints").glob("ckpt-*.pt"))) == 1


def test_float16_export_in_verified_parts(tiny_config, tiny_cub, tmp_path):
    cfg = _cfg(tiny_config, tiny_cub, tmp_path / "h", export_dtype="float16", export_parts_mb=0.2)
    list(iter_train(cfg))
    path = tmp_path / "h" / "model.safetensors"
    with safe_open(str(path), "pt") as f:
        dtypes = {f.get_tensor(k).dtype for k in f.keys()}
    assert torch.float16 in dtypes and torch.float32 not in dtypes
    parts = sorted(path.parent.glob("model.safetensors.part*"))
    assert len(parts) >= 2 and all(p.stat().st_size <= 200_000 for p in parts)
    joined = join_parts(parts[0], tmp_path / "joined.safetensors")
    assert joined.read_bytes() == path.read_bytes()
    model = MixNMatch.load(joined, "cpu")  # upcast on load
    assert next(model.generator.parameters()).dtype == torch.float32
    parts[1].write_bytes(parts[1].read_bytes()[:-1] + b"\0")
    with pytest.raises(MixNMatchError, match="SHA-256"):
        join_parts(parts[0], tmp_path / "broken.safetensors")


def test_quick_evaluations_log_curves_and_do_not_change_training(tiny_config, tiny_cub, tmp_path):
    val = tmp_path / "val"
    generate_dataset(val, 40, seed=5, width=96, independent=True, workers=1)
    plain = _cfg(tiny_config, tiny_cub, tmp_path / "plain", steps=4, stage2_steps=1)
    watched = _cfg(tiny_config, tiny_cub, tmp_path / "watched", steps=4, stage2_steps=1,
                   eval_every=2, eval_data=str(val), eval_pairs=8)  # fmt: skip
    a = [e.losses for e in iter_train(plain) if e.event == "step"]
    b = [e.losses for e in iter_train(watched) if e.event == "step"]
    assert a == b  # probes use their own random generators
    rows = [
        json.loads(x) for x in (tmp_path / "watched" / "metrics.jsonl").read_text().splitlines()
    ]
    evals = [r for r in rows if r.get("event") == "eval"]
    assert [(r["stage"], r["step"]) for r in evals] == [(1, 2), (1, 4), (2, 1)]
    assert evals[0]["images_seen"] == 8 and evals[-1]["images_seen"] == 20
    assert "feature/shape" in evals[-1] and "feature/shape" not in evals[0]
    for key in ("code/background_from_C", "gen/nmi_p_shape", "enc/recovery_c", "score"):
        assert key in evals[0]
    assert (tmp_path / "watched" / "learning_curves.png").stat().st_size > 1000


def test_mask_prior_option(tiny_config, tiny_cub, tmp_path):
    full = torch.ones(3, 1, 8, 8)
    assert float(mask_area_prior(full, 0.05, 0.45)) == pytest.approx(0.55)
    assert float(mask_area_prior(full * 0.3, 0.05, 0.45)) == 0.0
    assert float(mask_area_prior(full * 0.0, 0.05, 0.45)) == pytest.approx(0.05)
    cfg = _cfg(tiny_config, tiny_cub, tmp_path / "m", steps=2, stage="1", mask_prior_weight=10.0)
    losses = [e.losses for e in iter_train(cfg) if e.event == "step"]
    assert all("mask" in row and row["mask"] >= 0 for row in losses)
    plain = _cfg(tiny_config, tiny_cub, tmp_path / "p", steps=1, stage="1")
    assert "mask" not in next(e.losses for e in iter_train(plain) if e.event == "step")


def test_parent_info_mask_option(tiny_config, tiny_cub, tmp_path, monkeypatch):
    from engine.train.trainer import Trainer

    seen = []
    classify = InfoDiscriminator.classify

    def spy(self, x):
        if self.code_head[-1].out_channels == tiny_config.num_parents:
            seen.append(x.detach())
        return classify(self, x)

    monkeypatch.setattr(InfoDiscriminator, "classify", spy)
    cfg = _cfg(tiny_config, tiny_cub, tmp_path / "k", steps=1, stage="1", parent_info="mask")
    trainer = Trainer(cfg, torch.device("cpu"))
    codes, _ = sample_tied(tiny_config, 2, torch.device("cpu"))
    fake = trainer.generator(codes.z, codes.b, codes.p, codes.c)
    x = trainer._parent_info_input(fake)
    assert torch.equal(x, (fake.parent_mask * 2 - 1).expand(-1, 3, -1, -1))
    assert [e.step for e in iter_train(cfg) if e.event == "step"] == [1]
    assert seen and all(bool((v[:, 0] == v[:, 1]).all()) for v in seen)  # grey: no colour
    with pytest.raises(ConfigError, match="parent_info"):
        _cfg(tiny_config, tiny_cub, tmp_path / "x", parent_info="colour")


def test_background_info_option(tiny_config, tiny_cub, tmp_path):
    """b must be readable from the background image: a classifier trained with the generator,
    its loss logged, its weights in checkpoints (resume) but not in the model file."""
    cfg = _cfg(
        tiny_config, tiny_cub, tmp_path / "b", steps=2, stage="1", background_info_weight=1.0
    )
    rows = [e.losses for e in iter_train(cfg) if e.event == "step"]
    assert all(row["b_info"] > 0 for row in rows)
    assert all(row["info"] >= row["b_info"] for row in rows)  # part of the info term
    resumed = _cfg(
        tiny_config, tiny_cub, tmp_path / "b", steps=3, stage="1", background_info_weight=1.0
    )
    assert [e.step for e in iter_train(resumed, resume=True) if e.event == "step"] == [3]
    from engine.train.trainer import Trainer

    trainer = Trainer(cfg, torch.device("cpu"))
    assert "background_info" in trainer.networks()
    assert "background_info" not in trainer.inference_networks()
    gen_enc = {id(p) for g in trainer.optimizers["gen_enc"].param_groups for p in g["params"]}
    assert all(id(p) in gen_enc for p in trainer.background_info.parameters())
    plain = Trainer(_cfg(tiny_config, tiny_cub, tmp_path / "q", steps=1), torch.device("cpu"))
    assert plain.background_info is None and "background_info" not in plain.networks()


def test_gpu_recipe_resolves(tmp_path, capsys):
    recipe = ROOT / "recipes" / "synthbirds-gpu.toml"
    assert train_main(["--config", str(recipe), "--out", str(tmp_path / "g"), "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["device"] == "cuda" and cfg["time_budget"] == 2700
    assert cfg["export_dtype"] == "float16" and cfg["export_parts_mb"] == 15
    assert cfg["synthetic"] > 0 and cfg["batch_size"] >= 32


RUNNER = textwrap.dedent(
    """
    import importlib.abc, importlib.util, sys
    BLOCKED = {"PySide6", "qimage2ndarray", "tqdm", "matplotlib", "tensorboard", "scipy",
               "pandas", "torchvision", "sklearn", "yaml"}

    class NotInstalled(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        # importing these packages fails as if they were not installed

        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in BLOCKED:
                return importlib.util.spec_from_loader(name, self)

        def create_module(self, spec):
            raise ModuleNotFoundError(f"No module named {spec.name!r}", name=spec.name)

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, NotInstalled())
    from engine.cli.train import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_gpu_recipe_runs_on_cpu_with_synthetic_data_and_no_extra_packages(tmp_path):
    """The recipe's whole path (parallel SynthBirds generation, both stages, float16 export,
    parts) with tiny settings, importing nothing beyond PyTorch, NumPy, Pillow, safetensors;
    also guards against the generator pool hanging on exit."""
    out = tmp_path / "recipe"
    argv = [
        "--config", str(ROOT / "recipes" / "synthbirds-gpu.toml"), "--device", "cpu",
        "--synthetic", "24", "--num-parents", "2", "--num-children", "4", "--steps", "2",
        "--stage2-steps", "1", "--batch-size", "4", "--workers", "0", "--out", str(out),
        "--export-parts-mb", "10", "-q",
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, *argv], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=400,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "stopping after this step" not in proc.stderr
    assert len(list(out.glob("model.safetensors.part*"))) >= 2
    assert (out / "model.safetensors.sha256").is_file()
    assert MixNMatch.load(out / "model.safetensors", "cpu").has_feature_mode


def test_run_folder_rules(tiny_cub, tmp_path, capsys):
    base = ["--data", str(tiny_cub), "--preset", "demo", "--num-parents", "2",
            "--num-children", "4", "--batch-size", "4", "--device", "cpu", "-q"]  # fmt: skip
    out = ["--out", str(tmp_path / "r")]
    assert train_main([*base, *out, "--steps", "0"]) == 2
    assert "nothing to train" in _one_line(capsys)
    assert train_main([*base, *out, "--steps", "1", "--stage", "1"]) == 0
    capsys.readouterr()
    assert train_main([*base, *out, "--steps", "1", "--stage", "1"]) == 2
    assert "already holds a run" in _one_line(capsys)
    assert train_main([*base, *out, "--steps", "1", "--stage", "1", "--overwrite"]) == 0


@pytest.mark.parametrize(
    "toml, message",
    [
        ('model = "x"', "cannot be set in a config file"),
        ("resume = true", "cannot be set in a config file"),
        ('time-budget = "soon"', "duration"),
        ("eval-every = 5", "--eval-every needs --eval-data"),
        ('export-dtype = "int8"', "export_dtype must be one of"),
    ],
)
def test_config_file_errors_are_one_line(tiny_cub, tmp_path, capsys, toml, message):
    path = tmp_path / "bad.toml"
    path.write_text(toml + "\n")
    argv = ["--config", str(path), "--data", str(tiny_cub), "--out", str(tmp_path / "o")]
    assert train_main(argv) == 2
    assert message in _one_line(capsys)


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        train_main(["--help"])
    text = capsys.readouterr().out
    assert "(default 20000)" in text and "(default demo)" in text and "(default 0.15)" in text
