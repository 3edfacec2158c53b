"""How property values are encoded in manifests and plans.

Values are plain JSON. A handful of one-key objects whose key starts with ``$`` are
reserved as markers; every producer (offline synth, engine events) and consumer (diff,
policies, renderers) goes through the helpers below rather than spelling them out.

* ``{"$unknown": true}`` -- a value known only after deploy (a computed output).
* ``{"$secret": "<hex digest>"}`` -- a secret. The plaintext never leaves the process
  that saw it; the keyed digest lets two manifests tell "this secret changed" without it.
* ``{"$asset": {...}}`` / ``{"$archive": {...}}`` -- Pulumi assets and archives, by
  path, text digest or URI.
"""

from __future__ import annotations

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
    deploy)``, assets and archives as ``asset(...)``. Every sink that shows values goes
    through here.

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
    return value
