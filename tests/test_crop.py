"""One crop rule: a reference's view is the training crop of the same image and box.

Stated tolerance: identical (float rounding only) when the dataset decodes the image at full
resolution; at most one grey level (1/127.5) per pixel when it decodes a large JPEG at reduced
size (PIL's draft mode), the only difference left between the two roads.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.crop import default_box, object_crop_box, resized_size, warp_box, whole_image
from engine.data import CubDataset
from engine.errors import ImageError
from engine.images import Reference

GREY_LEVEL = 1 / 127.5


def _smooth(width: int, height: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack(
        [(xx * 0.3 + yy * 0.1) % 256, np.sin(xx / 40) * 100 + 128, np.cos(yy / 30) * 100 + 128],
        -1,
    ).astype(np.uint8)


@pytest.fixture(scope="module")
def cub(tmp_path_factory) -> tuple[Path, list]:
    root = tmp_path_factory.mktemp("cub")
    (root / "images" / "c").mkdir(parents=True)
    noise = np.random.default_rng(0).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    items = [
        ("1.png", noise, (100, 50, 60, 40)),
        ("2.png", _smooth(900, 600), (300, 200, 200, 150)),
        ("3.png", noise.transpose(1, 0, 2).copy(), (0, 0, 30, 90)),  # box at the corner
        ("4.jpg", _smooth(900, 600), (300, 200, 200, 150)),  # decoded at reduced size
    ]
    for name, arr, _ in items:
        Image.fromarray(arr).save(root / "images" / "c" / name, quality=95)
    (root / "images.txt").write_text(
        "".join(f"{i} c/{n}\n" for i, (n, _, _) in enumerate(items, 1))
    )
    (root / "bounding_boxes.txt").write_text(
        "".join(f"{i} {' '.join(map(str, b))}\n" for i, (_, _, b) in enumerate(items, 1))
    )
    return root, [b for _, _, b in items]


@pytest.mark.parametrize("size", [64, 128])
def test_reference_view_is_the_training_crop(cub, size):
    root, boxes = cub
    data = CubDataset(root, size, augment=False)
    for i, box in enumerate(boxes):
        rec = data.records[i]
        with Image.open(rec.path) as img:
            ref = Reference(img.convert("RGB"), box)
        diff = (data[i]["image"] - ref.to_tensor(size)).abs().max().item()
        tolerance = GREY_LEVEL + 1e-6 if rec.path.suffix == ".jpg" else 1e-6
        assert diff <= tolerance, (rec.path.name, size, diff)


def test_default_box_reference_is_the_training_crop_of_the_default_box(cub):
    root, _ = cub
    path = root / "images" / "c" / "1.png"
    with Image.open(path) as img:
        ref = Reference(img.convert("RGB"))
    explicit = Reference(ref.image, default_box(*ref.image.size))
    assert torch.equal(ref.to_tensor(64), explicit.to_tensor(64))


def test_whole_mode_is_the_bilinear_resize_of_the_whole_image(cub):
    root, _ = cub
    with Image.open(root / "images" / "c" / "1.png") as img:
        image = img.convert("RGB")
    ref = Reference(image, (100, 50, 60, 40), crop="whole")  # the box is ignored
    expected = np.asarray(image.resize((64, 64), Image.BILINEAR), dtype=np.float32)
    expected = torch.from_numpy(expected.copy()).permute(2, 0, 1) / 127.5 - 1.0
    assert torch.equal(ref.to_tensor(64), expected)
    assert torch.equal(ref.to_tensor(64), Reference(image, crop="whole").to_tensor(64))
    assert ref.crop_rect() == (0, 0, 300, 200)
    assert whole_image(image, 64).tobytes() == image.resize((64, 64), Image.BILINEAR).tobytes()


def test_crop_mode_is_part_of_the_key_and_checked():
    img = Image.new("RGB", (40, 30))
    assert Reference(img).key != Reference(img, crop="whole").key
    assert Reference(img).with_crop("whole").crop == "whole"
    assert Reference(img, crop="whole").with_box((1, 1, 5, 5)).crop == "whole"
    with pytest.raises(ImageError, match="unknown crop mode"):
        Reference(img, crop="centre")


def test_old_import_paths_still_work():
    from engine import data, images

    assert data.object_crop_box is object_crop_box
    assert data.resized_size is resized_size
    assert data.warp_box is warp_box
    assert images.default_box is default_box
