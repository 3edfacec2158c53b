"""Output helpers shared by commands."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from stackflow.errors import StackflowError


def write_output(target: str, text: str, *, what: str) -> None:
    """Write ``text`` to a file, or to standard output when ``target`` is ``-``."""
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise StackflowError(
            f"writing {what} to {target}: {err.strerror}; choose a writable path"
        ) from err


def terminal_progress() -> Callable[[str], None] | None:
    """A progress line on stderr, rewritten in place, when stderr is a terminal; else none.

    Scripts and CI logs (not a terminal) get no progress lines at all.
    """
    if not sys.stderr.isatty():
        return None

    def show(message: str) -> None:
        sys.stderr.write(f"\r\033[K{message}")
        sys.stderr.flush()

    import atexit

    atexit.register(lambda: sys.stderr.write("\r\033[K"))
    return show
