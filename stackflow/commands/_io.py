"""Output helpers shared by commands."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from stackflow.errors import StackflowError

FC = TypeVar("FC", bound=Callable[..., Any])


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


# The flag vocabulary every command shares (README, "The CLI"): -s/--stack, -p/--project DIR,
# --json (--markdown, ...) prints that format to standard output, -o/--out PATH writes a file
# in the format its extension names, --root, --base/--head. Old spellings keep working for
# one release, with a deprecation warning on stderr.

FORMATS = {
    "json": ("JSON", (".json",)),
    "markdown": ("Markdown", (".md", ".markdown")),
    "html": ("HTML", (".html", ".htm")),
    "openmetrics": ("OpenMetrics text", (".prom", ".om")),
}
"""Output formats: the name shown in help and the file extensions that choose them."""
STDOUT_FORMATS = ("json", "markdown", "openmetrics")
"""The formats a ``--FORMAT`` flag prints to standard output (HTML is a file only)."""


def root_option() -> Callable[[FC], FC]:
    return click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(),
        show_default=True,
        help="Repository root (or a directory inside it).",
    )


def warn_renamed(old: str, new: str) -> None:
    click.echo(
        f"stackflow: warning: {old} is deprecated and goes in the next release; use {new}",
        err=True,
    )


def stdout_option(fmt: str, what: str) -> Callable[[FC], FC]:
    """``--json`` (``--markdown``, ...): print ``what`` in that format to standard output.
    The old ``--json PATH`` still writes the file, with a deprecation warning."""
    flag = f"--{fmt}"

    def check(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value not in (None, "-"):
            warn_renamed(f"{flag} PATH", "-o/--out PATH")
        return value

    return click.option(
        flag,
        f"{fmt}_target",
        is_flag=False,
        flag_value="-",
        metavar="",
        callback=check,
        help=f"Print {what} as {FORMATS[fmt][0]} to standard output.",
    )


def json_option(what: str) -> Callable[[FC], FC]:
    return stdout_option("json", what)


def out_option(what: str, formats: Sequence[str] = ("json",)) -> Callable[[FC], FC]:
    """``-o/--out PATH`` (repeatable): write ``what`` to a file, in the format its
    extension names."""
    kinds = ", ".join(f"{FORMATS[f][0]} for *{FORMATS[f][1][0]}" for f in formats)
    return click.option(
        "-o",
        "--out",
        "outs",
        multiple=True,
        metavar="PATH",
        help=f"Write {what} to PATH: {kinds} (repeatable).",
    )


def renamed_option(old: str, new: str, dest: str, **kwargs: Any) -> Callable[[FC], FC]:
    """A hidden option for a flag's old spelling: it still works, with a warning."""

    def warn(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is not None:
            warn_renamed(old, new)
        return value

    return click.option(old, dest, hidden=True, callback=warn, expose_value=True, **kwargs)


def route_outputs(what: str, outs: Sequence[str], **stdout: str | None) -> dict[str, list[str]]:
    """Where each format goes: ``stdout`` maps a format to its ``--FORMAT`` value (``-`` is
    standard output; a path is the deprecated spelling), ``outs`` are ``-o`` paths, each in
    the format its extension names. Two documents on standard output are refused."""
    targets: dict[str, list[str]] = {fmt: [] for fmt in stdout}
    for fmt, value in stdout.items():
        if value:
            targets[fmt].append(value)
    for out in outs:
        suffix = Path(out).suffix.lower()
        chosen = next((f for f in stdout if suffix in FORMATS[f][1]), None)
        if out == "-" or chosen is None:
            names = " or ".join(f"a {FORMATS[f][1][0]} file" for f in stdout)
            flags = " or ".join(f"--{f}" for f in stdout if f in STDOUT_FORMATS)
            raise StackflowError(
                f"writing {what} to {out}: name {names} (the extension picks the format); "
                f"for standard output use {flags}"
            )
        targets[chosen].append(out)
    if sum(t == "-" for found in targets.values() for t in found) > 1:
        raise StackflowError(
            f"writing {what}: two documents to standard output would run together; write "
            "all but one to files with -o PATH"
        )
    return {fmt: list(dict.fromkeys(found)) for fmt, found in targets.items()}


def to_stdout(targets: dict[str, list[str]]) -> bool:
    """Whether a document goes to standard output (then the human table does not)."""
    return any("-" in found for found in targets.values())
