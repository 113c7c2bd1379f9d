"""Interactive latency on an idle and on a loaded CPU, for each intra-op thread count.

"Loaded" means one extra process spinning a busy loop pinned to CPU 0, as when the user
compiles, browses or trains beside the app. For each preset and thread count (1 up to the
CPUs available, plus the engine's interactive policy), measures through the inference API:
  fresh: a new Mixer, four references, one composite (what a first result costs);
  slot:  one slot changed in a warm Mixer (what an edit costs).
Prints medians and 90th percentiles, loaded/idle ratios, and each count against the policy.
Run: ``python benchmarks/bench_threads.py`` (a few minutes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np
from PIL import Image

from engine import PRESETS, SLOTS, MixNMatch, Reference
from engine.threads import available_cpus, interactive_threads

BUSY_LOOP = "import os\nos.sched_setaffinity(0, {0})\nwhile True:\n    pass\n"


@contextmanager
def busy_core(on: bool):
    """A busy-loop process pinned to CPU 0 while the block runs (nothing if ``on`` is False)."""
    proc = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if on else None
    try:
        if proc is not None:
            time.sleep(0.5)  # let it start spinning
        yield
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()


def _refs(n: int) -> list[Reference]:
    rng = np.random.default_rng(1)
    return [
        Reference(Image.fromarray(rng.integers(0, 256, (160, 192, 3), dtype=np.uint8)))
        for _ in range(n)
    ]


def _times_ms(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(model: MixNMatch, refs: list[Reference], repeats: int) -> dict[str, list[float]]:
    counter = iter(range(10**9))

    def fresh() -> None:
        mixer = model.mixer()
        k = next(counter) % 8
        for slot, ref in zip(SLOTS, refs[k : k + 4]):
            mixer.set_reference(slot, ref)
        mixer.mix("code")

    warm = model.mixer()
    for slot, ref in zip(SLOTS, refs[:4]):
        warm.set_reference(slot, ref)

    def slot_change() -> None:
        k = next(counter)
        warm.set_reference(SLOTS[k % 4], refs[4 + k % 8])
        warm.mix("code")

    return {"fresh": _times_ms(fresh, repeats), "slot": _times_ms(slot_change, repeats)}


def p90(values: list[float]) -> float:
    return float(np.percentile(values, 90))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--presets", nargs="+", default=["demo", "paper"])
    args = p.parse_args()
    cpus, policy = available_cpus(), interactive_threads()
    counts = sorted(set(range(1, cpus + 1)) if cpus <= 4 else {1, 2, policy, cpus})
    print(f"{cpus} CPUs; interactive policy: {policy} thread(s); busy loop pinned to CPU 0")
    refs = _refs(12)
    print(
        f"{'preset':6} {'threads':>7} {'load':>6} {'fresh med':>10} {'fresh p90':>10} "
        f"{'slot med':>9} {'slot p90':>9} {'loaded/idle':>11}"
    )
    for preset in args.presets:
        results: dict[tuple[int, bool], dict[str, list[float]]] = {}
        for threads in counts:
            model = MixNMatch.from_random(PRESETS[preset], seed=0, device="cpu", threads=threads)
            for loaded in (False, True):
                with busy_core(loaded):
                    results[threads, loaded] = measure(model, refs, args.repeats)
                r = results[threads, loaded]
                ratio = ""
                if loaded:
                    idle = statistics.median(results[threads, False]["fresh"])
                    ratio = f"{statistics.median(r['fresh']) / idle:10.2f}x"
                print(
                    f"{preset:6} {threads:7d} {'busy' if loaded else 'idle':>6} "
                    f"{statistics.median(r['fresh']):8.1f}ms {p90(r['fresh']):8.1f}ms "
                    f"{statistics.median(r['slot']):7.1f}ms {p90(r['slot']):7.1f}ms {ratio}"
                )
        base = {k: statistics.median(v["fresh"]) for k, v in results.items()}
        for threads in counts:
            if threads != policy:
                print(
                    f"{preset:6} {threads} threads vs policy ({policy}): fresh composite "
                    f"idle {base[threads, False] / base[policy, False]:.2f}x, "
                    f"loaded {base[threads, True] / base[policy, True]:.2f}x the policy's time"
                )
    print(f"load average now: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
