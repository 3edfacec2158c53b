"""Embedded documents: a string property that holds JSON or YAML (bucket and IAM policies,
container definitions, state-machine definitions, Kubernetes manifests) is diffed as the
structure it holds, so a reviewer sees ``Statement[1]`` added with its ``Principal``
rather than two long strings cut at the same width.

Used by every renderer (terminal, comment, job summary); the plan JSON keeps the two
strings whole, so nothing is lost for a program that reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import yaml

from stackflow.plan.diff import diff_values, format_path
from stackflow.plan.model import DiffKind, PropertyDiff

MAX_DOCUMENT_CHARS: Final = 1_000_000
"""Longer strings are not parsed (they are shown shortened, as any long value)."""


@dataclass(frozen=True, slots=True)
class DocumentDiff:
    """The changes inside an embedded document: ``kind`` is ``JSON`` or ``YAML``;
    ``diffs`` have paths relative to the document (``Statement[1].Principal``), or the
    empty path for a whole document (created or removed)."""

    kind: str
    diffs: tuple[PropertyDiff, ...]


def parse_document(text: Any) -> tuple[str, Any] | None:
    """(``JSON`` or ``YAML``, the structure) when ``text`` is a string holding a JSON or
    YAML object or array; None for anything else (plain strings, scalars, bad syntax)."""
    if not isinstance(text, str) or len(text) > MAX_DOCUMENT_CHARS:
        return None
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return "JSON", json.loads(stripped)
        except (ValueError, RecursionError):
            return None
    if "\n" not in stripped or ":" not in stripped:
        return None  # one line of text is text, even when YAML could read it as a mapping
    try:
        loaded = yaml.safe_load(stripped)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
    return ("YAML", loaded) if isinstance(loaded, dict | list) and loaded else None


def document_diff(diff: PropertyDiff) -> DocumentDiff | None:
    """The structured form of ``diff`` when its value(s) are embedded documents."""
    old = parse_document(diff.old) if diff.kind is not DiffKind.ADD else None
    new = parse_document(diff.new) if diff.kind is not DiffKind.DELETE else None
    if diff.kind is DiffKind.ADD and new is not None:
        return DocumentDiff(new[0], (PropertyDiff("", DiffKind.ADD, new=new[1]),))
    if diff.kind is DiffKind.DELETE and old is not None:
        return DocumentDiff(old[0], (PropertyDiff("", DiffKind.DELETE, old=old[1]),))
    if old is None or new is None:
        return None
    leaves = diff_values(old[1], new[1])
    kind = old[0] if old[0] == new[0] else f"{old[0]} → {new[0]}"
    return DocumentDiff(
        kind,
        tuple(
            PropertyDiff(format_path(leaf.path), leaf.kind, old=leaf.old, new=leaf.new)
            for leaf in leaves
        ),
    )


def describe(document: DocumentDiff) -> str:
    """``JSON document, 2 changes`` (or ``..., reformatted, same content``)."""
    if len(document.diffs) == 1 and not document.diffs[0].path:
        return f"{document.kind} document"
    n = len(document.diffs)
    if not n:
        return f"{document.kind} document, reformatted, same content"
    return f"{document.kind} document, {n} change{'s' if n != 1 else ''}"
