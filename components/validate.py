"""Pure checks shared by the components: names, image references, quantities, tags.

Each check returns the reason a value is unusable, or ``None`` when it is fine, so a
component can put the reason into a :class:`~components.errors.ComponentArgsError`
that also names the argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_QUANTITY = re.compile(r"([+]?[0-9]+(?:\.[0-9]*)?|[+]?\.[0-9]+)([a-zA-Z]{0,2}|[eE][+-]?[0-9]+)")

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}


def dns_label_problem(value: str) -> str | None:
    """Why ``value`` is not an RFC 1123 label (Kubernetes names, namespaces), or None."""
    if not value:
        return "it is empty"
    if len(value) > 63:
        return f"it is {len(value)} characters long; at most 63 are allowed"
    if not _DNS_LABEL.fullmatch(value):
        return "use lower-case letters, digits and '-', starting and ending with a letter or digit"
    return None


def image_problem(image: str) -> str | None:
    """Why ``image`` is not a pinned container image reference, or None.

    A pinned reference carries a tag other than ``latest`` or a ``sha256`` digest; an
    untagged image means ``latest`` to the kubelet, so a deploy would not be repeatable.
    """
    if not image or image != image.strip() or any(c.isspace() for c in image):
        return "it is empty or contains whitespace"
    name, at, digest = image.partition("@")
    if at:
        return None if _DIGEST.fullmatch(digest) else "the digest is not 'sha256:<64 hex digits>'"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return "it has no tag; pin a version such as 'nginx:1.27.3' or a sha256 digest"
    tag = last.rsplit(":", 1)[1]
    if not _TAG.fullmatch(tag):
        return f"tag {tag!r} is not a valid image tag"
    if tag == "latest":
        return "the tag 'latest' is not repeatable; pin a version or a sha256 digest"
    return None


def parse_quantity(value: str) -> Fraction:
    """The exact value of a Kubernetes quantity such as ``250m``, ``1.5``, ``512Mi``, ``1e3``.

    Raises ``ValueError`` naming the quantity when it does not parse.
    """
    match = _QUANTITY.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. '250m', '512Mi')")
    number, suffix = Fraction(match.group(1)), match.group(2)
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    if re.fullmatch(r"[eE][+-]?[0-9]+", suffix):
        return number * Fraction(10) ** int(suffix[1:])
    raise ValueError(f"{value!r} has an unknown suffix {suffix!r}")


def tags_problem(tags: Mapping[str, str]) -> str | None:
    """Why ``tags`` cannot be AWS tags (key 1-128, value 0-256 characters, no aws: prefix)."""
    for key, value in tags.items():
        if not 1 <= len(key) <= 128:
            return f"tag key {key!r} must be 1 to 128 characters"
        if key.lower().startswith("aws:"):
            return f"tag key {key!r} uses the reserved 'aws:' prefix"
        if len(value) > 256:
            return f"tag {key!r} has a value longer than 256 characters"
    return None


def missing_tags(tags: Mapping[str, str], required: tuple[str, ...]) -> tuple[str, ...]:
    """The required tag keys that are absent or empty in ``tags``."""
    return tuple(key for key in required if not tags.get(key))
