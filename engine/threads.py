"""How many CPU threads PyTorch may use for one operation (the intra-op thread count).

Interactive mixing runs small convolutions: with as many threads as cores, one busy core
elsewhere on the machine stalls every parallel region until the descheduled thread runs again
(measured 10-100x slower composites on a 2-core CPU, see ``benchmarks/bench_threads.py``).
The interactive policy leaves half of the CPUs free, which costs little when the machine is
idle and keeps latency flat when it is not.

This module imports torch only inside the functions that need it.
"""

from __future__ import annotations

import os

# Measured on 16 CPUs: 4 threads keep loaded latency at idle level; all 16 are faster when idle
# (paper preset 70 ms vs 148 ms) but 2.4x slower, with 1.4 s spikes, when one core is busy.
MAX_INTERACTIVE_THREADS = 4


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def interactive_threads(cpus: int | None = None) -> int:
    """The policy for interactive inference: half the CPUs (rounded down), 1 to 4."""
    cpus = available_cpus() if cpus is None else cpus
    return max(1, min(MAX_INTERACTIVE_THREADS, cpus // 2))


def env_threads() -> int | None:
    """``OMP_NUM_THREADS`` when it is set to a positive integer, else None."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def resolve_threads(requested: int | None = None) -> int:
    """The caller's count if given, else ``OMP_NUM_THREADS``, else the interactive policy."""
    if requested is not None:
        if int(requested) < 1:
            from engine.errors import MixNMatchError

            raise MixNMatchError(f"thread count must be at least 1, got {requested}")
        return int(requested)
    return env_threads() or interactive_threads()


def use_threads(count: int) -> None:
    """Make PyTorch use ``count`` intra-op threads in the calling thread.

    The setting is per OS thread for PyTorch's OpenMP pool, so a worker thread must call this
    itself; it is cheap when the count is already right.
    """
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
