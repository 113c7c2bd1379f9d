"""Shared command-line plumbing: one-line errors, never a traceback, for every program."""

from __future__ import annotations

import argparse
import os
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
    """Run a program body; user errors become ``prog: error: ...`` on stderr and exit 2.

    Only the errors meant for users (MixNMatchError, UsageError, OSError) are reported as
    user errors. Anything else is a bug: one "internal error" line and exit 1, with the
    traceback when MIXNMATCH_DEBUG is set.
    """
    try:
        return int(body() or 0)
    except (MixNMatchError, UsageError) as err:
        print(f"{prog}: error: {_last_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"{prog}: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - a bug: say so in one line
        if os.environ.get("MIXNMATCH_DEBUG"):
            raise
        print(
            f"{prog}: internal error: {type(err).__name__}: {_last_line(err)} "
            "(please report it; MIXNMATCH_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1


def _last_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[-1] if lines else type(err).__name__
