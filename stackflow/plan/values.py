"""How property values are encoded in manifests and plans.

Values are plain JSON. A handful of one-key objects whose key starts with ``$`` are
reserved as markers; every producer (offline synth, engine events) and consumer (diff,
policies, renderers) goes through the helpers below rather than spelling them out.

* ``{"$unknown": true}`` -- a value known only after deploy (a computed output).
* ``{"$secret": "<hex digest>"}`` -- a secret. The plaintext never leaves the process
  that saw it; the keyed digest lets two manifests tell "this secret changed" without it.
* ``{"$asset": {...}}`` / ``{"$archive": {...}}`` -- Pulumi assets and archives, by
  path, text digest or URI.

Inside strings, a value the offline synth made up (an autoname's suffix, an id, the
account id of ``get_caller_identity``) is marked ``‹kind:text›``: ``logs-‹random:1b0a416›``,
``arn:aws:iam::‹account:123456789012›:root``. The text stays, so two manifests of an
unchanged resource still compare equal; every sink shows only the kind
(``logs-‹random›``), never a real-looking value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from stackflow.plan import wire

UNKNOWN_KEY: Final = "$unknown"
SECRET_KEY: Final = "$secret"  # noqa: S105 -- a marker key, not a password
ASSET_KEY: Final = "$asset"
ARCHIVE_KEY: Final = "$archive"

UNKNOWN: Final[dict[str, bool]] = {UNKNOWN_KEY: True}
"""The marker for a value known only after deploy."""

SECRET_DISPLAY: Final = "[secret]"  # noqa: S105 -- what a secret shows as
UNKNOWN_DISPLAY: Final = "(known after deploy)"


_PLACEHOLDER = re.compile(r"‹([a-z]+):[^‹›]*›")
_CANDIDATE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{6,}"
)


def placeholder(kind: str, text: str) -> str:
    """An invented value, marked: ``‹random:1b0a416›``."""
    return f"‹{kind}:{text}›"


def show_placeholders(text: str) -> str:
    """``logs-‹random:1b0a416›`` as a reviewer sees it: ``logs-‹random›``."""
    return _PLACEHOLDER.sub(r"‹\1›", text) if "‹" in text else text


def mark_invented(value: Any, invented: Mapping[str, str]) -> Any:
    """``value`` with every invented text (``invented``: lower-cased text -> kind) inside
    its strings marked as a :func:`placeholder`; markers and keys are left alone."""
    if not invented:
        return value
    lengths = sorted({len(k) for k in invented}, reverse=True)

    def text(s: str) -> str:
        out: list[str] = []
        pos = 0
        for match in _CANDIDATE.finditer(s):
            run, low, start = match.group(0), match.group(0).lower(), match.start()
            i = 0
            while i < len(run):
                for n in lengths:
                    kind = invented.get(low[i : i + n]) if n <= len(run) - i else None
                    if kind is not None:
                        out.extend((s[pos : start + i], placeholder(kind, run[i : i + n])))
                        pos = start + i + n
                        i += n
                        break
                else:
                    i += 1
        return "".join((*out, s[pos:])) if out else s

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return text(v)
        if is_marker(v):
            return v
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)


def unknown() -> dict[str, bool]:
    """A fresh unknown marker (a new dict, safe to mutate)."""
    return {UNKNOWN_KEY: True}


def secret(digest: str) -> dict[str, str]:
    """A secret marker carrying the keyed digest of the plaintext (never the plaintext)."""
    return {SECRET_KEY: digest}


def is_unknown(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and value.get(UNKNOWN_KEY) is True


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and SECRET_KEY in value


def is_marker(value: Any) -> bool:
    """True for any reserved marker object (unknown, secret, asset, archive)."""
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in (UNKNOWN_KEY, SECRET_KEY, ASSET_KEY, ARCHIVE_KEY)
    )


def contains_unknown(value: Any) -> bool:
    """True when the value is, or anywhere contains, an unknown marker."""
    if is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def display(value: Any) -> Any:
    """The value as humans see it: secrets as ``[secret]``, unknowns as ``(known after
    deploy)``, assets and archives as ``asset(...)``, invented values as ``‹random›``.
    Every sink that shows values goes through here.

    Defence in depth: a mapping that carries a secret marker, or Pulumi's raw secret
    signature, beside other keys (a producer bug that left the plaintext next to it)
    shows as ``[secret]`` as a whole.
    """
    if isinstance(value, dict) and (
        SECRET_KEY in value or value.get(wire.SIG_KEY) == wire.SECRET_SIG
    ):
        return SECRET_DISPLAY
    if is_unknown(value):
        return UNKNOWN_DISPLAY
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in (ASSET_KEY, ARCHIVE_KEY):
            key = next(iter(value))
            return f"{key[1:]}({display(value[key])})"
        return {str(k): display(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [display(v) for v in value]
    if isinstance(value, str):
        return show_placeholders(value)
    return value
