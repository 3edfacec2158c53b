"""Output helpers shared by commands."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

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


def confirm_protected(action: str, stacks: list[str], *, yes: bool, required: bool) -> None:
    """Ask before ``action`` touches protected ``stacks`` when a person is at the terminal.

    No question with ``--yes``, with no protected stack, or under CI (``CI`` set to a
    true value, as every CI service does); then ``required`` decides: an action that must
    be confirmed (destroy) fails without ``--yes``, the others go ahead. Answering no, or
    no terminal for a required confirmation, changes nothing and exits 1.
    """
    if yes or not stacks:
        return
    named = ", ".join(stacks)
    in_ci = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
    if in_ci or not sys.stdin.isatty():
        if required:
            raise StackflowError(
                f"{action} {named}: protected (stackflow.yaml protected_stacks); pass --yes "
                "if you really mean it"
            )
        return
    if not click.confirm(f"{action} {named} (protected): continue?", default=False, err=True):
        raise StackflowError(f"{action} {named}: not confirmed; nothing was changed")
