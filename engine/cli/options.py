"""Command-line options shared by several programs (no torch import here)."""

from __future__ import annotations

import argparse

from engine.threads import interactive_threads


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer of at least 0."""
    return _int_at_least(text, 0)


def add_threads_argument(parser: argparse.ArgumentParser, default_help: str = "") -> None:
    """``--threads N``: intra-op CPU threads (default None: the program's own policy)."""
    default_help = default_help or (
        f"OMP_NUM_THREADS if set, else half the CPUs, at most 4 ({interactive_threads()} here)"
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"CPU threads for PyTorch (default: {default_help})",
    )
