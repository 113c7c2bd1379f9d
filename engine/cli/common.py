"""Shared command-line plumbing: one-line errors, never a traceback, for every program."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from engine.errors import MixNMatchError


class UsageError(Exception):
    """Bad command-line arguments (exit code 2)."""


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage, so errors stay on one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


def run_main(prog: str, body: Callable[[], int | None]) -> int:
    """Run a program body; user errors become ``prog: error: ...`` on stderr and exit 2."""
    try:
        return int(body() or 0)
    except (MixNMatchError, UsageError, ValueError) as err:
        message = str(err).strip().splitlines()
        print(f"{prog}: error: {message[-1] if message else type(err).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        print(f"{prog}: error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 2
