"""``mixnmatch-import-official``: convert released G.pth / E.pth / EX.pth into our model file."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.cli.common import Parser, run_main

PROG = "mixnmatch-import-official"


def main(argv: list[str] | None = None) -> int:
    def body() -> int:
        from engine.errors import ModelFileError
        from engine.model_file import import_official, save_model
        from engine.safe_io import check_output_file

        p = Parser(
            prog=PROG,
            description="Import the released MixNMatch weights (CUB, Dogs, "
            "Cars). Files are read with weights_only=True: no code is executed.",
        )
        p.add_argument("--generator", required=True, metavar="G.pth")
        p.add_argument("--encoder", required=True, metavar="E.pth")
        p.add_argument(
            "--extractor",
            metavar="EX.pth",
            help="stage-2 feature extractor (without it, no feature mode)",
        )
        p.add_argument("--name", help="model name stored in the file")
        p.add_argument("-o", "--out", required=True, metavar="MODEL.safetensors")
        args = p.parse_args(argv)
        inputs = (args.generator, args.encoder, args.extractor)
        check_output_file(args.out, inputs, ModelFileError)  # before reading any weights
        cfg, nets = import_official(*inputs)
        info = {
            "name": args.name or Path(args.out).name.split(".")[0],
            "preset": "released",
            "trained_on": "released MixNMatch weights",
            "source": {
                "generator": args.generator,
                "encoder": args.encoder,
                "extractor": args.extractor,
            },
        }
        save_model(args.out, cfg, nets, info)
        feature = (
            "with feature mode"
            if "extractor" in nets
            else "without feature mode (no --extractor given)"
        )
        print(
            f"{args.out}: {cfg.image_size}px, {cfg.num_parents} shapes, "
            f"{cfg.num_children} textures, {cfg.num_backgrounds} backgrounds, {feature}"
        )
        return 0

    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
