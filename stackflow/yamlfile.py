"""Reading the YAML files stackflow is given (stackflow.yaml, Pulumi.yaml, stack files,
offline.yaml), and stack config values as the Pulumi CLI reads them.

Every reader refuses, with one line, what is not a file it could mean: bytes that are not
UTF-8, invalid YAML, and nesting deeper than :data:`MAX_DEPTH` (which would otherwise end
in a RecursionError traceback).

Stack config (``Pulumi.<stack>.yaml``) is read the way the Pulumi CLI reads it (Go,
``gopkg.in/yaml.v3``, ``config.Value``): a scalar value reaches the program as the text
written in the file (``yes``, ``12:30``, ``0755``, ``1.50`` stay exactly that; ``~`` and
``null`` are empty); an object or list is resolved by yaml.v3's rules -- YAML 1.2 booleans
(``true``/``false`` only), integers in any base Go's ``ParseInt(s, 0)`` takes (so ``0755``
is octal 493 inside an object, as yaml.v3 keeps for compatibility), floats, ``~``/``null``
-- and passed as compact JSON. PyYAML alone reads YAML 1.1 (``yes`` -> true, ``12:30`` ->
750), which is not what the program sees.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Final

import yaml

from stackflow.errors import StackflowError, yaml_problem

MAX_DEPTH: Final = 64
"""Deeper nesting is refused: no configuration stackflow reads needs it."""


def _decoded(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise StackflowError(f"reading {path}: {err.strerror}; check the path") from err
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise StackflowError(
            f"reading {path}: byte {err.start} is not UTF-8; save the file as UTF-8"
        ) from err


def _depth_problem(node: yaml.Node, path: Path) -> None:
    stack: list[tuple[yaml.Node, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise StackflowError(
                f"reading {path}: nested deeper than {MAX_DEPTH} levels; flatten it"
            )
        if isinstance(current, yaml.MappingNode):
            stack.extend((v, depth + 1) for _, v in current.value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((v, depth + 1) for v in current.value)


def compose(path: Path) -> yaml.Node | None:
    """The YAML node tree of ``path`` (None for an empty file), checked as above."""
    text = _decoded(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        raise StackflowError(
            f"reading {path}: not valid YAML ({yaml_problem(err)}); fix the file"
        ) from err
    except RecursionError as err:
        raise StackflowError(
            f"reading {path}: nested deeper than {MAX_DEPTH} levels; flatten it"
        ) from err
    if node is not None:
        _depth_problem(node, path)
    return node


def read_yaml(path: Path) -> Any:
    """The document in ``path`` as plain Python (PyYAML's safe types); None when empty."""
    node = compose(path)
    if node is None:
        return None
    try:
        return yaml.SafeLoader("").construct_document(node)
    except yaml.YAMLError as err:
        raise StackflowError(
            f"reading {path}: not valid YAML ({yaml_problem(err)}); fix the file"
        ) from err


# ---- stack config as Pulumi reads it ---------------------------------------------------

_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_GO_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO]?[0-7]+|[1-9][0-9]*|0)\Z")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")


def _go_int(text: str) -> int | None:
    if not _GO_INT.match(text):
        return None
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    lowered = digits.lower()
    if lowered.startswith("0x"):
        value = int(digits[2:], 16)
    elif lowered.startswith("0b"):
        value = int(digits[2:], 2)
    elif lowered.startswith("0o"):
        value = int(digits[2:], 8)
    elif len(digits) > 1 and digits.startswith("0"):
        value = int(digits[1:], 8)  # 0755: yaml.v3 still reads YAML 1.1 octal
    else:
        value = int(digits)
    return sign * value if -(2**63) <= sign * value < 2**63 else None


def resolve(node: yaml.Node) -> Any:
    """A node inside an object or list, as yaml.v3 decodes it into ``interface{}``."""
    if isinstance(node, yaml.MappingNode):
        return {str(key.value): resolve(value) for key, value in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [resolve(item) for item in node.value]
    text = str(node.value)
    if getattr(node, "style", None):  # quoted or block: a string, whatever it looks like
        return text
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    plain = text.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return number
    if _YAML_FLOAT.match(plain):
        value = float(plain)
        # Go's encoding/json prints a whole float64 without a fraction (1e3 -> 1000).
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    return text


def config_value(node: yaml.Node) -> Any:
    """One value of a stack file's ``config:`` as the Pulumi CLI hands it on: a scalar
    as its text, ``{secure: ...}`` as that mapping, anything else as yaml.v3 resolves it."""
    if isinstance(node, yaml.ScalarNode):
        if not node.style and node.value in _NULL:
            return ""
        return str(node.value)
    return resolve(node)


def config_json(value: Any) -> str:
    """An object or list config value as the text the program gets (Go's json.Marshal)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stack_config_entries(path: Path) -> list[tuple[str, Any]]:
    """The ``config:`` entries of a stack file, in order, each value as the Pulumi CLI
    passes it (:func:`config_value`); keys as written (not yet namespaced)."""
    root = compose(path)
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        raise StackflowError(f"reading {path}: the document must be a mapping")
    found: list[tuple[str, Any]] = []
    for name, node in root.value:
        if name.value != "config" or (isinstance(node, yaml.ScalarNode) and not node.value):
            continue
        if not isinstance(node, yaml.MappingNode):
            raise StackflowError(f"reading {path}: config must be a mapping")
        found = [(str(k.value), config_value(v)) for k, v in node.value]
    return found
