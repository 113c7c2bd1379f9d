"""Shared test setup."""

import os
import sys
from pathlib import Path

# Import the packages from this checkout even when it is not pip-installed.
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Desktop-app tests run headless (must be set before any QApplication exists).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# --- engine fixtures ------------------------------------------------------------------------
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from engine.config import ModelConfig  # noqa: E402

TINY = ModelConfig(
    image_size=64,
    z_dim=16,
    num_parents=2,
    num_children=4,
    num_backgrounds=4,
    gf_dim=16,
    ef_dim=8,
    df_dim=8,
    bd_dim=4,
    bd_code_dim=16,
    ex_dim=4,
)


@pytest.fixture
def tiny_config() -> ModelConfig:
    return TINY


@pytest.fixture
def tiny_model_file(tmp_path):
    """A randomly initialised tiny model saved in our format."""
    from engine import MixNMatch
    from engine.model_file import save_model

    model = MixNMatch.from_random(TINY, seed=0)
    path = tmp_path / "tiny.safetensors"
    save_model(
        path,
        TINY,
        {"generator": model.generator, "encoders": model.encoders, "extractor": model.extractor},
        {"name": "tiny"},
    )
    return path


def random_image(seed: int, size=(96, 80)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


@pytest.fixture
def image_files(tmp_path):
    """Four small random PNG files."""
    paths = []
    for i in range(4):
        p = tmp_path / f"ref{i}.png"
        random_image(i).save(p)
        paths.append(p)
    return paths


@pytest.fixture
def tiny_cub(tmp_path):
    """A 24-image CUB-format folder of random pictures with boxes."""
    root = tmp_path / "cub"
    (root / "images" / "a").mkdir(parents=True)
    lines, boxes = [], []
    for i in range(1, 25):
        random_image(100 + i).save(root / "images" / "a" / f"{i}.jpg")
        lines.append(f"{i} a/{i}.jpg")
        boxes.append(f"{i} 20 15 40 30")
    (root / "images.txt").write_text("\n".join(lines) + "\n")
    (root / "bounding_boxes.txt").write_text("\n".join(boxes) + "\n")
    return root


@pytest.fixture(scope="session")
def demo_model():
    """A real, randomly initialised demo-preset engine model (built once per test run)."""
    from engine import PRESETS, MixNMatch

    return MixNMatch.from_random(PRESETS["demo"], seed=0)


# --- evaluation fixtures ---------------------------------------------------------------------
EVAL_TINY = ModelConfig(
    image_size=64, num_parents=6, num_children=24, num_backgrounds=8,
    gf_dim=16, ef_dim=16, df_dim=16, bd_dim=8, bd_code_dim=32, ex_dim=8,
)  # fmt: skip
EVAL_CLASSES = {"background": 8, "shape": 6, "texture": 24, "facing": 2}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> dict:
    """A labelled independent SynthBirds folder, a tiny model (with and without extractor) and
    a tiny oracle trained on it (evaluation and probe tests)."""
    from engine import MixNMatch
    from engine.evaluate import OracleConfig, TrainSettings, load_labelled, train_oracle
    from engine.model_file import save_model
    from engine.synth import generate_dataset

    root = tmp_path_factory.mktemp("eval")
    data = root / "birds"
    generate_dataset(data, 40, seed=11, width=96, independent=True, workers=1)
    model = MixNMatch.from_random(EVAL_TINY, seed=3)
    nets = {"generator": model.generator, "encoders": model.encoders}
    save_model(root / "code_only.safetensors", EVAL_TINY, nets, {"name": "code-only"})
    nets["extractor"] = model.extractor
    save_model(root / "tiny.safetensors", EVAL_TINY, nets, {"name": "tiny", "preset": "test"})
    labelled = load_labelled(data)
    train, held_out = labelled.split()
    oracle = train_oracle(
        train,
        held_out,
        OracleConfig(width=8, embed_dim=16),
        TrainSettings(steps=4, batch_size=8),
    )
    oracle.save(root / "oracle.safetensors")
    return {
        "root": root,
        "data": data,
        "model": root / "tiny.safetensors",
        "code_only": root / "code_only.safetensors",
        "oracle": root / "oracle.safetensors",
    }
