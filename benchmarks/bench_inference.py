"""Per-composite latency of the inference API against the released evaluation's naive path.

For each preset and mode, on randomly initialised weights (speed does not depend on training):
  (a) four fresh references: every slot encoded with only the branches it needs, then G;
  (b) one slot changed: re-encode that slot and recompute only the stages it touches
      (median over changing each slot in turn);
  (c) baseline, as the released eval: all four encoders on each of the four images, nothing
      cached, then the whole generator.
Prints medians and the ratios c/a and c/b. Run: ``python benchmarks/bench_inference.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from PIL import Image

from engine import PRESETS, SLOTS, MixNMatch, Reference


def _refs(n: int, seed: int) -> list[Reference]:
    rng = np.random.default_rng(seed)
    return [
        Reference(Image.fromarray(rng.integers(0, 256, (160, 192, 3), dtype=np.uint8)))
        for _ in range(n)
    ]


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@torch.inference_mode()
def naive(model: MixNMatch, refs: list[Reference], mode: str) -> torch.Tensor:
    """The released eval: every encoder on every image, then the full generator."""
    size = model.config.image_size
    codes = [model.encoders(r.to_tensor(size)[None]) for r in refs]
    bg, pose, shape, tex = codes
    g = model.generator
    background = g.background(bg["z"], bg["b"].softmax(1))
    if mode == "feature":
        h_p = model.extractor(refs[2].to_tensor(size)[None])
    else:
        h_p = g.parent_features(pose["z"], shape["p"].softmax(1))
    return g.compose(background, h_p, tex["c"].softmax(1)).child


def bench(preset: str, mode: str, repeats: int) -> dict[str, float]:
    model = MixNMatch.from_random(
        PRESETS[preset], seed=0, device="cpu", threads=torch.get_num_threads()
    )
    pool = _refs(12, seed=1)
    counter = iter(range(10**9))

    def fresh() -> None:
        mixer = model.mixer()
        k = next(counter) % 8
        for slot, ref in zip(SLOTS, pool[k : k + 4]):
            mixer.set_reference(slot, ref)
        mixer.mix(mode)

    steady = model.mixer()
    for slot, ref in zip(SLOTS, pool[:4]):
        steady.set_reference(slot, ref)
    steady.mix(mode)
    slots = [s for s in SLOTS if not (mode == "feature" and s == "pose")]
    one_slot = []
    for i, slot in enumerate(slots):
        refs = iter(pool[4 + i :] * 1000)

        def change(slot=slot, refs=refs) -> None:
            steady.set_reference(slot, next(refs).with_box(None))
            steady.mix(mode)

        one_slot.append(_median_ms(change, repeats))
    a = _median_ms(fresh, repeats)
    b = statistics.median(one_slot)
    c = _median_ms(lambda: naive(model, pool[:4], mode), repeats)
    return {
        "a_fresh_ms": a,
        "b_one_slot_ms": b,
        "b_per_slot_ms": dict(zip(slots, one_slot)),
        "c_naive_ms": c,
        "c_over_a": c / a,
        "c_over_b": c / b,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--presets", nargs="+", default=["demo", "paper"])
    args = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print(
        f"{'preset':7} {'mode':8} {'(a) fresh':>10} {'(b) 1 slot':>11} {'(c) naive':>10} "
        f"{'c/a':>6} {'c/b':>6}  per-slot (b)"
    )
    for preset in args.presets:
        for mode in ("code", "feature"):
            r = bench(preset, mode, args.repeats)
            per = ", ".join(f"{k} {v:.1f}" for k, v in r["b_per_slot_ms"].items())
            print(
                f"{preset:7} {mode:8} {r['a_fresh_ms']:9.1f}ms {r['b_one_slot_ms']:10.1f}ms "
                f"{r['c_naive_ms']:9.1f}ms {r['c_over_a']:6.2f} {r['c_over_b']:6.2f}  {per}"
            )


if __name__ == "__main__":
    main()
