"""``mixnmatch-mix``: mix background, pose, shape and texture of four images into one PNG."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.cli.common import Parser, UsageError, run_main

PROG = "mixnmatch-mix"


def _box(text: str | None, slot: str) -> tuple[int, int, int, int] | None:
    if text is None:
        return None
    from engine.errors import ImageError
    from engine.images import parse_box

    try:
        return parse_box(text.split(","))
    except ImageError as err:
        raise UsageError(f"--crop-{slot}: {err}") from None


def build_parser() -> Parser:
    p = Parser(
        prog=PROG,
        description="Generate an image with the background of A, the pose "
        "of B, the shape of C and the texture of D (MixNMatch).",
    )
    for slot, letter in (("background", "A"), ("pose", "B"), ("shape", "C"), ("texture", "D")):
        p.add_argument(f"--{slot}", metavar=letter, help=f"image giving the {slot}")
        p.add_argument(
            f"--crop-{slot}",
            metavar="x,y,w,h",
            help=f"object box in the {slot} image (default: centred square)",
        )
    p.add_argument(
        "--mode",
        choices=["code", "feature"],
        default="code",
        help="feature: pose and shape both come from the shape image",
    )
    p.add_argument("--model", metavar="PATH", help="model file (default: the bundled model)")
    p.add_argument("--out", default="mix.png", metavar="OUT.png")
    p.add_argument("--layers", metavar="DIR", help="also write every layer as PNG into DIR")
    p.add_argument("--scale", type=int, default=1, metavar="N", help="upscale the output N x")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    return p


def main(argv: list[str] | None = None) -> int:
    def body() -> int:
        from engine import SLOTS, MixNMatch, Reference, save_png
        from engine.infer import LAYERS
        from engine.safe_io import check_outputs

        args = build_parser().parse_args(argv)
        needed = [s for s in SLOTS if not (s == "pose" and args.mode == "feature")]
        missing = [s for s in needed if getattr(args, s) is None]
        if missing:
            raise UsageError(f"missing --{' --'.join(missing)}")
        if not 1 <= args.scale <= 16:
            raise UsageError("--scale must be between 1 and 16")
        boxes = {slot: _box(getattr(args, f"crop_{slot}"), slot) for slot in needed}
        layer_files = [Path(args.layers) / f"{n}.png" for n in LAYERS] if args.layers else []
        check_outputs([args.out, *layer_files], [getattr(args, s) for s in needed])
        model = (
            MixNMatch.load(args.model, args.device)
            if args.model
            else MixNMatch.load_bundled(args.device)
        )
        mixer = model.mixer()
        meta = {"mixnmatch:mode": args.mode, "mixnmatch:model": model.name}
        for slot in needed:
            ref = Reference.from_path(getattr(args, slot), boxes[slot])
            mixer.set_reference(slot, ref)
            meta[f"mixnmatch:{slot}"] = json.dumps(
                {"file": ref.name, "sha1": ref.digest, "box": ref.effective_box()}
            )
        result = mixer.mix(args.mode)
        save_png(result.image, args.out, meta, args.scale)
        if args.layers:
            folder = Path(args.layers)
            folder.mkdir(parents=True, exist_ok=True)
            for name, layer in result.layers.items():
                save_png(layer, folder / f"{name}.png", meta, args.scale)
        print(f"{args.out} ({args.mode} mode, {result.seconds * 1000:.0f} ms on {model.device})")
        return 0

    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
