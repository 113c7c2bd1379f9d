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
