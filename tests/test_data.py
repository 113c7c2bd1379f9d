"""CUB-format data pipeline: validation, crop/box geometry, patch mask, loader, converter, CLI."""

from __future__ import annotations

import io
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.cli.data import main as data_main
from engine.crop import object_crop_box, resized_size, warp_box
from engine.data import CubDataset, Record, check_dataset, convert_plain, make_loader, read_cub
from engine.errors import DataError
from engine.networks.discriminators import num_patches, patch_weight_map

RED, GREEN = (255, 0, 0), (0, 160, 0)


def _image(size=(80, 64), box=None, seed=0) -> Image.Image:
    """Noise image, or a green image with a red box when ``box`` (x, y, w, h) is given."""
    w, h = size
    if box is None:
        arr = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
        return Image.fromarray(arr)
    img = Image.new("RGB", size, GREEN)
    x, y, bw, bh = box
    img.paste(RED, (x, y, x + bw, y + bh))
    return img


def make_cub(root: Path, items, shuffle_boxes=False, ext="png") -> Path:
    """items: list of (size, box) -> CUB folder with ids 1..n under images/c/."""
    (root / "images" / "c").mkdir(parents=True, exist_ok=True)
    lines, boxes = [], []
    for i, (size, box, *painted) in enumerate(items, 1):
        img = _image(size, box if painted and painted[0] else None, seed=i)
        img.save(root / "images" / "c" / f"{i}.{ext}")
        lines.append(f"{i} c/{i}.{ext}")
        boxes.append(f"{i} {box[0]} {box[1]} {box[2]} {box[3]}")
    if shuffle_boxes:
        boxes = boxes[::-1]
    (root / "images.txt").write_text("\n".join(lines) + "\n")
    (root / "bounding_boxes.txt").write_text("\n".join(boxes) + "\n")
    return root


@pytest.fixture
def cub(tmp_path) -> Path:
    items = [
        ((80, 64), (10, 8, 30, 20)),
        ((64, 96), (5, 10, 40, 50)),
        ((100, 70), (50, 20, 30, 30)),
    ]
    return make_cub(tmp_path / "cub", items)


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def test_valid_folder_and_ids_matched_by_id(tmp_path):
    items = [((80, 64), (10, 8, 30, 20)), ((64, 96), (5, 10, 40, 50)), ((100, 70), (1, 2, 3, 4))]
    root = make_cub(tmp_path / "d", items, shuffle_boxes=True)
    _write(root / "images.txt", "3 c/3.png\n1 c/1.png\n\n2 c/2.png\n")  # rows out of order
    assert check_dataset(root) == []
    records = read_cub(root)
    assert [r.id for r in records] == [1, 2, 3]
    assert records[0].box == (10, 8, 30, 20)
    assert records[2].box == (1, 2, 3, 4)
    assert records[1].path == root / "images" / "c" / "2.png"


def test_split(cub):
    _write(cub / "train_test_split.txt", "1 1\n2 0\n3 1\n")
    assert [r.id for r in read_cub(cub, "train")] == [1, 3]
    assert [r.id for r in read_cub(cub, "test")] == [2]
    _write(cub / "train_test_split.txt", "1 1\n2 5\n")
    with pytest.raises(DataError, match=r"train_test_split.txt:2: malformed"):
        read_cub(cub, "train")


def _corrupt(root: Path, case: str) -> None:
    img_txt, box_txt = root / "images.txt", root / "bounding_boxes.txt"
    if case == "missing images.txt":
        img_txt.unlink()
    elif case == "missing image":
        (root / "images" / "c" / "2.png").unlink()
    elif case == "unreadable image":
        (root / "images" / "c" / "2.png").write_bytes(b"not an image at all")
    elif case == "box outside":
        _write(box_txt, "1 10 8 30 20\n2 5 10 40 50\n3 90 20 30 30\n")
    elif case == "empty box":
        _write(box_txt, "1 10 8 30 20\n2 5 10 0 50\n3 50 20 30 30\n")
    elif case == "duplicate id":
        _write(img_txt, "1 c/1.png\n2 c/2.png\n3 c/3.png\n2 c/3.png\n")
    elif case == "duplicate box id":
        _write(box_txt, "1 10 8 30 20\n2 5 10 40 50\n3 50 20 30 30\n1 1 1 5 5\n")
    elif case == "id missing in boxes":
        _write(box_txt, "1 10 8 30 20\n3 50 20 30 30\n")
    elif case == "id missing in images":
        _write(box_txt, "1 10 8 30 20\n2 5 10 40 50\n3 50 20 30 30\n9 1 1 5 5\n")
    elif case == "malformed image line":
        _write(img_txt, "1 c/1.png\n2 c/2.png\n3 c/3.png\nx c/4.png\n")
    elif case == "malformed box line":
        _write(box_txt, "1 10 8 30 20\n2 5 ten 40 50\n3 50 20 30 30\n")
    elif case == "too small":
        _image((20, 64)).save(root / "images" / "c" / "2.png")


CASES = {
    "missing images.txt": "images.txt: file not found",
    "missing image": "images.txt:2: image not found: c/2.png",
    "unreadable image": "images.txt:2: unreadable image c/2.png",
    "box outside": "bounding_boxes.txt:3: box (90, 20, 30, 30) outside the 100x70 image",
    "empty box": "bounding_boxes.txt:2: empty box (w=0, h=50)",
    "duplicate id": "images.txt:4: duplicate id 2 (first on line 2)",
    "duplicate box id": "bounding_boxes.txt:4: duplicate id 1 (first on line 1)",
    "id missing in boxes": "images.txt:2: id 2 has no box in bounding_boxes.txt",
    "id missing in images": "bounding_boxes.txt:4: id 9 is not in images.txt",
    "malformed image line": "images.txt:4: malformed line",
    "malformed box line": "bounding_boxes.txt:2: malformed line",
    "too small": "images.txt:2: image c/2.png is 20x64 px, smaller than 32 px",
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_error_reported_with_file_and_line(cub, case):
    _corrupt(cub, case)
    problems = check_dataset(cub)
    assert len(problems) == 1, problems
    assert problems[0].startswith(CASES[case]), problems
    with pytest.raises(DataError) as info:
        CubDataset(cub, 64, augment=False)
    assert CASES[case] in str(info.value)


def test_skip_bad_drops_and_reports(cub):
    _corrupt(cub, "empty box")
    ds = CubDataset(cub, 64, skip_bad=True)
    assert [r.id for r in ds.records] == [1, 3]
    assert len(ds.warnings) == 1 and "empty box" in ds.warnings[0]


def test_many_problems_capped(tmp_path):
    root = make_cub(tmp_path / "d", [((80, 64), (1, 1, 10, 10))])
    _write(root / "bounding_boxes.txt", "".join(f"{i} 1 1 0 0\n" for i in range(1, 31)))
    with pytest.raises(DataError) as info:
        read_cub(root)
    text = str(info.value)
    assert "30 problems" in text and "... and 10 more" in text
    assert len(text.splitlines()) == 22


def test_truncated_image_at_load_time(cub):
    data = io.BytesIO()
    _image((100, 70)).save(data, "JPEG")
    (cub / "images" / "c" / "3.png").write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    ds = CubDataset(cub, 64, augment=False)
    with pytest.raises(DataError, match="unreadable image"):
        ds[2]
    ds = CubDataset(cub, 64, augment=False, skip_bad=True)
    assert ds[2]["index"] == 0 and ds[2]["index"] == 0
    assert len(ds.warnings) == 1


def test_exif_orientation_applied(tmp_path):
    root = make_cub(tmp_path / "d", [((80, 64), (0, 0, 64, 80))])
    path = root / "images" / "c" / "1.png"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: displayed as 64 x 80
    _image((80, 64)).save(root / "images" / "c" / "1.jpg", exif=exif)
    path.unlink()
    _write(root / "images.txt", "1 c/1.jpg\n")
    assert check_dataset(root) == []
    sample = CubDataset(root, 64, augment=False)[0]
    assert sample["image"].shape == (3, 64, 64)


# ----------------------------------------------------------------------------- geometry


def test_object_crop_box():
    assert object_crop_box((40, 30, 20, 40), 200, 200) == (20, 20, 80, 80)  # centred, side 60
    assert object_crop_box((0, 0, 20, 20), 200, 200) == (0, 0, 25, 25)  # clipped top-left
    assert object_crop_box((150, 80, 50, 20), 200, 100) == (138, 53, 200, 100)  # clipped
    assert object_crop_box((10.5, 10.5, 9, 9), 100, 100) == (9, 9, 21, 21)


def test_resized_size():
    assert resized_size(200, 100, 149) == (298, 149)
    assert resized_size(100, 300, 149) == (149, 447)
    assert resized_size(500, 375, 304) == (405, 304)


def test_warp_box_hand_cases():
    box = (10, 20, 30, 40)
    assert warp_box(box, 149, 149, (149, 149), (5, 7), 126, False) == (13, 5, 53, 35)
    assert warp_box(box, 149, 149, (149, 149), (5, 7), 126, True) == (13, 91, 53, 121)
    # 2x scale, clamping to the crop.
    y1, x1, y2, x2 = warp_box((50, 25, 100, 50), 200, 100, (298, 149), (100, 10), 126, False)
    assert (x1, x2) == (0, pytest.approx(123.5))
    assert (y1, y2) == (pytest.approx(27.25), pytest.approx(101.75))


def _red(img: torch.Tensor) -> torch.Tensor:
    """(3, H, W) in [-1, 1] -> (H, W) bool of clearly red pixels."""
    return (img[0] > 0.5) & (img[1] < -0.2)


@pytest.mark.parametrize("image_size", [64, 128])
def test_box_follows_background_crop(tmp_path, image_size):
    items = [((160, 120), (30, 40, 50, 30), True), ((160, 200), (50, 60, 40, 90), True)]
    ds = CubDataset(make_cub(tmp_path / "d", items), image_size, augment=True)
    bg = image_size - 2
    for seed in range(6):
        torch.manual_seed(seed)
        for i in range(2):
            s = ds[i]
            y1, x1, y2, x2 = s["box"].tolist()
            assert 0 <= y1 < y2 <= bg and 0 <= x1 < x2 <= bg
            red = _red(s["background"])
            ys, xs = torch.nonzero(red, as_tuple=True)
            assert len(ys) > 0
            assert ys.min() >= y1 - 1 and ys.max() <= y2 and xs.min() >= x1 - 1 and xs.max() <= x2
            assert red[int(y1) + 2 : int(y2) - 2, int(x1) + 2 : int(x2) - 2].all()
            # The object crop is centred on the box: its centre is red.
            c = image_size // 2
            assert _red(s["image"])[c - 2 : c + 2, c - 2 : c + 2].all()


def test_known_flip_mirrors_background_and_box(tmp_path):
    root = make_cub(tmp_path / "d", [((160, 120), (20, 40, 50, 30), True)])
    ds = CubDataset(root, 64, augment=False)
    plain = ds[0]
    ds._flip = lambda: True  # force both flips
    flipped = ds[0]
    assert torch.equal(flipped["background"], plain["background"].flip(2))
    assert torch.equal(flipped["image"], plain["image"].flip(2))
    y1, x1, y2, x2 = plain["box"].tolist()
    assert flipped["box"].tolist() == pytest.approx([y1, 62 - x2, y2, 62 - x1])


# ----------------------------------------------------------------------------- patch mask


def _weights_loop(boxes: torch.Tensor, bg: int) -> torch.Tensor:
    p = num_patches(bg)
    out = torch.ones(len(boxes), 1, p, p)
    for n, (y1, x1, y2, x2) in enumerate(boxes.tolist()):
        if y2 <= y1 or x2 <= x1:
            continue
        r1, c1 = (min(max(math.ceil((v - 34) / 4), 0), p - 1) for v in (y1, x1))
        r2, c2 = (min(max(math.floor(v / 4), 0), p - 1) for v in (y2, x2))
        out[n, :, r1 : r2 + 1, c1 : c2 + 1] = 0
    return out


@pytest.mark.parametrize("bg,p", [(126, 24), (62, 8)])
def test_patch_weight_map_matches_loop(bg, p):
    g = torch.Generator().manual_seed(bg)
    corners = torch.rand(400, 2, 2, generator=g) * (bg + 20) - 10
    boxes = torch.cat([corners.min(1).values, corners.max(1).values], 1)  # (N, 4)
    boxes = torch.cat([boxes, torch.randint(-4, bg + 4, (200, 4), generator=g).float()])
    boxes = (boxes * 4).round() / 4  # exact in float32 and float64
    boxes = boxes.clamp(0, bg)
    weights = patch_weight_map(boxes, bg)
    assert weights.shape == (600, 1, p, p)
    assert torch.equal(weights, _weights_loop(boxes, bg))
    assert patch_weight_map(torch.tensor([[0.0, 0, bg, bg]]), bg).sum() == 0
    assert patch_weight_map(torch.tensor([[5.0, 5, 5, 50]]), bg).sum() == p * p


# ----------------------------------------------------------------------------- dataset / loader


@pytest.mark.parametrize("image_size", [64, 128])
def test_batch_shapes_and_ranges(cub, image_size):
    ds = CubDataset(cub, image_size)
    batch = next(iter(make_loader(ds, 3, seed=1)))
    bg = image_size - 2
    assert batch["image"].shape == (3, 3, image_size, image_size)
    assert batch["background"].shape == (3, 3, bg, bg)
    assert batch["box"].shape == (3, 4) and batch["index"].shape == (3,)
    for key in ("image", "background"):
        assert batch[key].dtype == torch.float32
        assert batch[key].min() >= -1 and batch[key].max() <= 1
    assert batch["box"].min() >= 0 and batch["box"].max() <= bg
    assert patch_weight_map(batch["box"], bg).shape == (3, 1, num_patches(bg), num_patches(bg))


def _epoch(cub, seed: int, workers: int) -> list[torch.Tensor]:
    """The first epoch (3 batches of 1) of a training loader over ``cub``."""
    dataset = CubDataset(cub, 64)
    dataset.generator = torch.Generator().manual_seed(seed + 1)  # main-process augmentation
    loader = make_loader(dataset, 1, seed, workers=workers)
    batches = itertools.islice(loader, len(dataset))
    return [torch.cat([b["image"].flatten(), b["box"].flatten()]) for b in batches]


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_deterministic(cub, workers):
    runs = [_epoch(cub, s, workers) for s in (3, 3, 4)]
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[1], strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(runs[0], runs[2], strict=True))


def test_cache_gives_same_samples(cub):
    a, b = CubDataset(cub, 64, augment=False), CubDataset(cub, 64, augment=False, cache=True)
    for i in range(3):
        for _ in range(2):  # second pass reads the cache
            assert torch.equal(a[i]["image"], b[i]["image"])
            assert torch.equal(a[i]["background"], b[i]["background"])


def test_records_argument(cub):
    records = [Record(7, cub / "images" / "c" / "1.png", (10, 8, 30, 20))]
    ds = CubDataset(cub, 64, records=records)
    assert len(ds) == 1 and ds[0]["image"].shape == (3, 64, 64)


# ----------------------------------------------------------------------------- converter / CLI


def _plain(tmp_path: Path) -> tuple[Path, Path]:
    images = tmp_path / "plain"
    (images / "sub").mkdir(parents=True)
    _image((80, 64)).save(images / "a.jpg")
    _image((64, 90)).save(images / "sub" / "b.png")
    csv = tmp_path / "boxes.csv"
    _write(csv, "filename,x,y,w,h\na.jpg,10,8,30,20\nsub/b.png, 5, 10, 40, 50\n")
    return images, csv


def test_convert_plain_round_trip(tmp_path):
    images, csv = _plain(tmp_path)
    assert convert_plain(images, csv, tmp_path / "out") == 2
    out = tmp_path / "out"
    assert check_dataset(out) == []
    records = read_cub(out)
    assert [r.box for r in records] == [(10, 8, 30, 20), (5, 10, 40, 50)]
    assert records[1].path.name == "b.png"
    assert (out / "image_class_labels.txt").read_text() == "1 1\n2 1\n"
    with pytest.raises(DataError, match="already holds a dataset"):
        convert_plain(images, csv, out)


def test_convert_plain_errors(tmp_path):
    images, csv = _plain(tmp_path)
    _write(csv, "a.jpg,10,8,30,20\nmissing.jpg,1,1,5,5\n../x.jpg,1,1,5,5\na.jpg,1,1,5,5\nb,1\n")
    with pytest.raises(DataError) as info:
        convert_plain(images, csv, tmp_path / "out")
    text = str(info.value)
    for expected in (
        "boxes.csv:2: image not found: missing.jpg",
        "boxes.csv:3: filename must be relative",
        "boxes.csv:4: duplicate filename a.jpg (first on line 1)",
        "boxes.csv:5: malformed line",
    ):
        assert expected in text
    assert not (tmp_path / "out" / "images.txt").exists()


def test_cli_check(cub, tmp_path, capsys):
    assert data_main(["check", str(cub)]) == 0
    assert "OK, 3 images" in capsys.readouterr().out
    _corrupt(cub, "empty box")
    _corrupt(cub, "missing image")
    assert data_main(["check", str(cub)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("bounding_boxes.txt:2: empty box")
    assert out[1].startswith("images.txt:2: image not found")  # reported, though id 2 also bad
    assert "2 problems" in out[-1]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["check", "{tmp}/nowhere"], "nowhere: folder not found"),
        (["check"], "the following arguments are required"),
        (["check", "{tmp}", "--min-size", "0"], "argument --min-size: must be at least 1, got 0"),
        (["bench", "{tmp}", "--image-size", "x"], "--image-size: expected a whole number, got 'x'"),
        (["bench", "{tmp}", "--image-size", "64", "--workers", "-1"], "must be at least 0, got -1"),
        (["frobnicate"], "invalid choice"),
        (["bench", "{tmp}", "--image-size", "64"], "images.txt: file not found; bounding_"),
        (["convert-plain", "--images", "{tmp}/x", "--boxes", "b", "--out", "o"], "not found"),
    ],
)
def test_cli_errors_one_line_exit_2(tmp_path, capsys, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert data_main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("mixnmatch-data: error: ")
    assert message in captured.err and "Traceback" not in captured.err


def test_cli_convert_and_bench(tmp_path, capsys):
    images, csv = _plain(tmp_path)
    out = tmp_path / "out"
    argv = ["convert-plain", "--images", str(images), "--boxes", str(csv), "--out", str(out)]
    assert data_main(argv) == 0
    assert "wrote 2 images" in capsys.readouterr().out
    argv = ["bench", str(out), "--image-size", "64", "--batch-size", "2", "--batches", "2"]
    assert data_main(argv) == 0
    assert "samples/s" in capsys.readouterr().out
