"""Reference images: every bad kind refused with one line; every mode loads as RGB."""

import io

import numpy as np
import pytest
from PIL import Image

from engine import ImageError, Reference, default_box, load_frames, load_image, save_png
from engine.images import MAX_PIXELS


def _err(source) -> str:
    with pytest.raises(ImageError) as err:
        load_image(source)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_bad_inputs_are_refused(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert "not an image" in _err(text)
    assert "is a folder" in _err(tmp_path)
    assert "no such file" in _err(tmp_path / "missing.jpg")
    good = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(good, "JPEG")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(good.getvalue()[:200])
    assert "cut.jpg" in _err(truncated)
    assert "not an image" in _err(b"\x00\x01garbage")


def test_decompression_bomb_is_refused(tmp_path):
    side = int(MAX_PIXELS**0.5) + 100  # a large 1-bit PNG compresses to almost nothing
    bomb = tmp_path / "bomb.png"
    Image.new("1", (side, side)).save(bomb)
    assert bomb.stat().st_size < 2_000_000
    message = _err(bomb)
    assert "too large" in message or "decompression bomb" in message


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "RGBA", "LA", "I;16", "I", "F", "1"])
def test_every_mode_becomes_rgb(mode):
    arr = (np.arange(32 * 32).reshape(32, 32) % 256).astype(np.uint8)
    img = Image.fromarray(arr, "L").convert(mode)
    buf = io.BytesIO()
    img.save(buf, "TIFF" if mode in ("I;16", "I", "F", "CMYK") else "PNG")
    out = load_image(buf.getvalue())
    assert out.mode == "RGB" and out.size == (32, 32)


def test_alpha_is_flattened_on_white_and_exif_applied():
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    assert load_image(rgba).getpixel((0, 0)) == (255, 255, 255)
    img = Image.new("RGB", (40, 20), "blue")
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    assert load_image(buf.getvalue()).size == (20, 40)


def test_animated_gif_frames(tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "green", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    assert load_image(path).getpixel((0, 0))[0] > 200  # frame 0
    assert len(load_frames(path)) == 3


def test_crop_rule_and_default_box():
    assert default_box(300, 150) == (100, 25, 100, 100)
    wide = Reference(Image.new("RGB", (300, 150)))
    assert wide.crop_rect() == (75, 0, 225, 150)  # default: the largest centred square
    img = Image.new("RGB", (300, 200))
    ref = Reference(img, (100, 50, 40, 20))
    assert ref.crop_rect() == (90, 30, 150, 90)  # 1.5 x 40 = 60 px square around the centre
    assert ref.to_tensor(64).shape == (3, 64, 64)
    with pytest.raises(ImageError):
        Reference(img, (400, 10, 10, 10))
    with pytest.raises(ImageError):
        Reference(img, (10, 10, 0, 10))


def test_save_png_keeps_metadata_and_scales(tmp_path):
    path = save_png(np.zeros((8, 8, 3), np.uint8), tmp_path / "x.png", {"mode": "code"}, scale=3)
    with Image.open(path) as img:
        assert img.size == (24, 24) and img.text["mode"] == "code"


def test_known_box_from_boxes_csv_beside_the_image(tmp_path):
    Image.new("RGB", (100, 80)).save(tmp_path / "bird.png")
    (tmp_path / "boxes.csv").write_text("filename,x,y,w,h\nbird.png,10,20,30,40\n")
    assert Reference.from_path(tmp_path / "bird.png").box == (10, 20, 30, 40)
    assert Reference.from_path(tmp_path / "bird.png", (1, 1, 5, 5)).box == (1, 1, 5, 5)
    Image.new("RGB", (100, 80)).save(tmp_path / "other.png")
    assert Reference.from_path(tmp_path / "other.png").box is None
