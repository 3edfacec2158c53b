"""Branch -> stack name for ephemeral (per-branch) stacks.

The name is used as the Pulumi stack name, in the rendered config file name
(``Pulumi.<name>.yaml``), as a Kubernetes namespace and inside AWS resource names, so it
is held to the narrowest of those alphabets and well under their limits:

* ``[a-z0-9-]``, starting with a letter and ending with a letter or digit (an RFC 1123
  DNS label: a valid Kubernetes namespace and S3 bucket name prefix; Pulumi itself allows
  ``[A-Za-z0-9_.-]``);
* at most :data:`MAX_LENGTH` (40) characters, which leaves 23 characters of a 63-character
  DNS label / namespace / bucket name for a resource's own suffix (Pulumi's auto-names add
  8: ``-`` and 7 hex digits);
* a fixed prefix -- ``pr-<N>-`` for a pull request's branch, ``br-`` for a bare branch --
  so that no branch can map onto a long-lived stack (``dev``, ``prod``, or anything in
  ``protected_stacks``): those never carry the prefix. A protected list that does name a
  prefixed stack is honoured too: the name is then refused.

The name is the branch itself when the branch is already clean (lowercase ASCII letters
and digits separated by single dashes) and fits. Otherwise -- the branch had to be
lower-cased, transliterated, stripped of other characters or shortened -- the name ends in
``-`` and the first 8 hex digits of the SHA-256 of the raw branch, so two branches that
normalize alike (``Prod`` and ``prod``, ``feat/x`` and ``feat-x``) still get different
names. A clean branch whose last dash-separated part happens to be 8 hex digits is hashed
too, so a clean name can never equal a hashed one. Distinctness of two hashed names rests
on the 32-bit digest; the registry additionally refuses to reuse a name for another branch.

Every non-empty branch yields a name (hostile input is never passed through: shell
metacharacters, newlines and look-alike letters all fall outside ``[a-z0-9]``); an empty
branch, a pull-request number outside 1..999999999, or a name on the protected list is
refused with a :class:`~stackflow.errors.StackflowError`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

from stackflow.errors import StackflowError
from stackflow.repoconfig import DEFAULT_PROMOTION

MAX_LENGTH = 40
"""Longest stack name produced (see the module docstring for why 40)."""
HASH_LENGTH = 8
BRANCH_PREFIX = "br-"
MAX_PR = 999_999_999

_HEX = re.compile(rf"[0-9a-f]{{{HASH_LENGTH}}}")
_NAME = re.compile(r"(?:br|pr-[1-9][0-9]{0,8})-[a-z0-9]+(?:-[a-z0-9]+)*")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def stack_name(
    branch: str, pr: int | None = None, *, protected: Iterable[str] = DEFAULT_PROMOTION
) -> str:
    """The ephemeral stack name of ``branch`` (and its pull request ``pr``, when known).

    Deterministic: the same inputs always give the same name, on every machine.
    """
    if not branch:
        raise StackflowError("naming the stack of a branch: --branch is empty; pass the branch")
    if pr is not None and not 1 <= pr <= MAX_PR:
        raise StackflowError(
            f"naming the stack of branch {branch!r}: --pr {pr!r} is not a pull-request "
            f"number; pass a number from 1 to {MAX_PR}"
        )
    prefix = BRANCH_PREFIX if pr is None else f"pr-{pr}-"
    room = MAX_LENGTH - len(prefix)
    slug = _slug(branch)
    if slug == branch and len(slug) <= room and not _HEX.fullmatch(slug.rsplit("-", 1)[-1]):
        name = prefix + slug
    else:
        digest = hashlib.sha256(branch.encode("utf-8", "surrogatepass")).hexdigest()
        head = slug[: room - HASH_LENGTH - 1].rstrip("-")
        name = prefix + (f"{head}-" if head else "") + digest[:HASH_LENGTH]
    if name.casefold() in {p.casefold() for p in protected}:
        raise StackflowError(
            f"naming the stack of branch {branch!r}: {name!r} is a protected stack; "
            "remove it from protected_stacks in stackflow.yaml or rename the branch"
        )
    return name


def is_ephemeral_name(name: str) -> bool:
    """True for names :func:`stack_name` can produce; the reaper touches no other stack."""
    return len(name) <= MAX_LENGTH and _NAME.fullmatch(name) is not None


def _slug(branch: str) -> str:
    """Lowercase ASCII letters and digits joined by single dashes.

    Compatibility decomposition (NFKD) first, so full-width and other look-alike forms and
    accented letters become their ASCII base letters (full-width ``prod`` -> ``prod``, ``é`` ->
    ``e``); whatever is left outside ASCII is dropped, every other run becomes one dash.
    """
    ascii_only = unicodedata.normalize("NFKD", branch).encode("ascii", "ignore").decode()
    return _NOT_ALNUM.sub("-", ascii_only.lower()).strip("-")
