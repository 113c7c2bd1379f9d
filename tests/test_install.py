"""A non-editable install works: sdist -> wheel -> fresh venv outside the checkout.

The fresh venv gets the project with ``--no-deps``; torch, PySide6 and the other
dependencies come from the test's own environment (a ``.pth`` line), as a pre-installed torch
would. Then ``mixnmatch-mix`` runs on the bundled model and the GUI starts offscreen.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

from engine.resources import BUNDLED_MODEL_NAME

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "main.py")
PACKAGES = ("engine", "app", "resources")


def _build(hook: str, source: Path, out: Path) -> Path:
    code = f"from setuptools import build_meta as b; print(b.{hook}({str(out)!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=source, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a fresh venv holding the wheel built from the sdist."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    source.mkdir()
    for name in SHIPPED:
        shutil.copy2(ROOT / name, source / name)
    for name in PACKAGES:
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    sdist = _build("build_sdist", source, tmp / "dist")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    unpacked = next((tmp / "unpacked").iterdir())
    wheel = _build("build_wheel", unpacked, tmp / "wheel")
    env = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    target = next((env / "lib").glob("python3*/site-packages"))
    (target / "outer.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python")]
    done = subprocess.run(
        pip + ["install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return env / "bin"


def _run(bin_dir: Path, args: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MIXNMATCH_RESOURCES")}
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True,
        timeout=300, env={**clean, **env},
    )  # fmt: skip


def test_wheel_carries_resources_and_runs_outside_the_checkout(installed, tmp_path):
    where = _run(
        installed,
        ["python", "-c", "import engine; print(engine.__file__, engine.bundled_model_path())"],
        tmp_path,
    )
    engine_file, model = where.stdout.split()
    assert ROOT not in Path(engine_file).parents and str(installed.parent) in engine_file
    assert Path(model).name == BUNDLED_MODEL_NAME and str(installed.parent) in model
    examples = Path(model).parent.parent / "examples"
    shots = sorted(examples.glob("synth_*.jpg"))[:4]
    out = tmp_path / "mix.webp"
    args = ["mixnmatch-mix", "--out", str(out), "--threads", "1"]
    for slot, shot in zip(("background", "pose", "shape", "texture"), shots):
        args += [f"--{slot}", str(shot)]
    done = _run(installed, args, tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 0 and "code mode" in done.stdout


def test_gui_starts_offscreen_from_the_wheel(installed, tmp_path):
    done = _run(
        installed, ["mixnmatch", "--check"], tmp_path,
        QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: synthbirds (cpu")
