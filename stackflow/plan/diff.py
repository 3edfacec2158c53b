"""The offline diff: two Manifests of one stack, matched by URN, give a StackPlan.

What a reviewer sees, and why (also in docs/PLAN_FORMAT.md):

* **create** (or **import** when the resource carries an import id): a URN only at head.
  Its top-level inputs are listed as ``add`` diffs, so a new bucket shows its name and tags.
* **delete**: a URN only at base, and not claimed by an alias of a head resource.
* **update**: the same URN (or a head resource whose ``aliases`` name the base URN; the
  change then carries ``old_urn``) with changed inputs. Every changed leaf is one
  :class:`PropertyDiff` (``spec.replicas``, ``containers[0].image``,
  ``tags["kubernetes.io/role"]``). Inputs listed in ``ignoreChanges`` are not compared.
* **replace**: an update that changes an input the resource lists in ``replaceOnChanges``
  or a create-only one (:mod:`stackflow.plan.createonly`, generated from the providers'
  source). A created or replaced resource's computed outputs (id, ARN, autoname, ...)
  are unknown until deploy, so every input of another resource that depends on it
  (``propertyDependencies``) and carries one of them becomes "known after deploy"; where
  that input is create-only the dependent is replaced too, transitively.
* **same**: counted, never listed.

Values are compared strictly (``1`` is not ``True``; ``1`` equals ``1.0``, as protobuf
numbers do), a ``None`` input is the same as a missing one. Secrets compare by their
keyed digest and appear in a plan only as ``{"$secret": "redacted"}``: the digest stays in
the manifest. An unknown new value is a change "known after deploy", except where both
sides are unknown and nothing it depends on is created or replaced.

Deliberately not a change (noise a reviewer cannot act on): a new parent with the same
URN, changed ``dependencies``/``propertyDependencies`` alone, resource outputs (offline
they are the mock's answers), source positions, and a default provider's version. A
change to an explicit provider shows as the pseudo-path ``[provider]``; a change to
``protect`` or ``retainOnDelete`` as ``[protect]`` / ``[retainOnDelete]``, because turning
protection off is how a deletion starts.

Lists of named mappings (every item has a distinct string ``name``, as Kubernetes
containers, env, ports and volumes do) are matched by name, so inserting an env var is one
addition rather than a shift of every later index; other lists compare index by index.

Changes are in tree order (a component before its children, siblings by URN), diffs by
path: the order never depends on how the program happened to schedule its registrations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from stackflow.plan import createonly, risk, values
from stackflow.plan.manifest import Manifest, Resource
from stackflow.plan.model import (
    Change,
    Diagnostic,
    DiffKind,
    Op,
    OutputChange,
    PropertyDiff,
    Source,
    StackPlan,
)

Segment = str | int
"""One step of a property path: a mapping key or a list index."""

WILDCARD: Final = "*"
REDACTED_SECRET: Final = {values.SECRET_KEY: "redacted"}
"""What a secret looks like in a plan: a marker, without even the digest."""

PROVIDER_PATH: Final = "[provider]"
PROTECT_PATH: Final = "[protect]"
RETAIN_PATH: Final = "[retainOnDelete]"

# -- property paths ------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def format_path(segments: Sequence[Segment]) -> str:
    """``("a", "b", 0, "k.x")`` -> ``a.b[0]["k.x"]``. Keys that are not plain
    identifiers are quoted as JSON strings, as Pulumi's property paths do."""
    out: list[str] = []
    for segment in segments:
        if isinstance(segment, int):
            out.append(f"[{segment}]")
        elif _BARE_KEY.match(segment):
            out.append(f".{segment}" if out else segment)
        else:
            out.append(f"[{json.dumps(segment, ensure_ascii=False)}]")
    return "".join(out)


_PATH_TOKEN = re.compile(r'\.?([A-Za-z_*][A-Za-z0-9_*-]*)|\[(\d+|\*)\]|\[("(?:[^"\\]|\\.)*")\]')


def parse_path(text: str) -> tuple[Segment, ...]:
    """The inverse of :func:`format_path`; also reads Pulumi's ``*`` and ``[*]``
    wildcards (as in ``replaceOnChanges``). Raises ``ValueError`` on a malformed path."""
    segments: list[Segment] = []
    pos = 0
    while pos < len(text):
        match = _PATH_TOKEN.match(text, pos)
        if match is None or (match.group(0).startswith(".") and not segments):
            raise ValueError(f"not a property path: {text!r} (at offset {pos})")
        name, index, quoted = match.groups()
        if name is not None:
            segments.append(name)
        elif index is not None:
            segments.append(WILDCARD if index == WILDCARD else int(index))
        else:
            segments.append(json.loads(quoted))
        pos = match.end()
    return tuple(segments)


def _segments_match(a: Sequence[Segment], b: Sequence[Segment]) -> bool:
    """True when one path is a prefix of the other, ``*`` matching any one segment."""
    return all(x == y or WILDCARD in (x, y) for x, y in zip(a, b, strict=False))


def _covers(pattern: Sequence[Segment], path: Sequence[Segment]) -> bool:
    """True when ``path`` lies at or below ``pattern``."""
    return len(pattern) <= len(path) and _segments_match(pattern, path)


def _parse_patterns(patterns: Iterable[str]) -> list[tuple[Segment, ...]]:
    parsed = []
    for pattern in patterns:
        try:
            parsed.append(parse_path(pattern))
        except ValueError:
            continue  # a pattern the engine would reject; it cannot match a path we make
    return parsed


def _ignored(resource: Resource) -> list[tuple[Segment, ...]]:
    """``ignoreChanges`` as paths. An empty path ignores nothing: the engine's reset of
    it finds no value and reports the path (where, read as the root, it would hide every
    change)."""
    return [p for p in _parse_patterns(resource.options.ignore_changes) if p]


def _force_new(resource: Resource) -> list[tuple[Segment, ...]]:
    patterns = list(createonly.paths(resource.type))
    patterns.extend(resource.options.replace_on_changes)
    return _parse_patterns(patterns)


def _path_key(segments: Sequence[Segment]) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, s) if isinstance(s, int) else (1, s) for s in segments)


# -- values ----------------------------------------------------------------------------


def redact(value: Any) -> Any:
    """The value with every secret replaced by a digest-free marker."""
    if values.is_secret(value):
        return dict(REDACTED_SECRET)
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _same_scalar(old: Any, new: Any) -> bool:
    numbers = (int, float)
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, numbers) and isinstance(new, numbers):
        return old == new
    return type(old) is type(new) and bool(old == new)


def _named(items: list[Any]) -> bool:
    """A list of mappings each with a distinct string ``name`` (Kubernetes containers,
    env, ports, volumes): matched by name, so an insertion is one addition, not a shift."""
    names = [i.get("name") if isinstance(i, dict) else None for i in items]
    return bool(items) and all(isinstance(n, str) for n in names) and len(set(names)) == len(names)


def _diff_named(old: list[Any], new: list[Any], path: tuple[Segment, ...]) -> list[_Leaf]:
    """Named items compared by name; an item is shown at its head index (its base index
    when deleted). A pure reordering is not a change."""
    old_by_name = {item["name"]: (i, item) for i, item in enumerate(old)}
    new_names = {item["name"] for item in new}
    leaves: list[_Leaf] = []
    for i, item in enumerate(new):
        _, before = old_by_name.get(item["name"], (i, None))
        leaves.extend(diff_values(before, item, (*path, i)))
    for name, (i, item) in old_by_name.items():
        if name not in new_names:
            leaves.append(_Leaf((*path, i), DiffKind.DELETE, item, None))
    return sorted(leaves, key=lambda leaf: _path_key(leaf.path))


def _archive(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and isinstance(value.get(values.ARCHIVE_KEY), dict)
    )


@dataclass(frozen=True, slots=True)
class _Leaf:
    path: tuple[Segment, ...]
    kind: DiffKind
    old: Any
    new: Any


def diff_values(old: Any, new: Any, path: tuple[Segment, ...] = ()) -> list[_Leaf]:
    """Every changed leaf between two JSON values; markers are leaves."""
    if old is None and new is None:
        return []
    if old is None:
        return [_Leaf(path, DiffKind.ADD, None, new)]
    if new is None:
        return [_Leaf(path, DiffKind.DELETE, old, None)]
    if _archive(old) and _archive(new):
        # Two versions of packaged code: the files that changed, by name.
        return diff_values(old[values.ARCHIVE_KEY], new[values.ARCHIVE_KEY], path)
    if values.is_marker(old) or values.is_marker(new):
        if values.is_unknown(old) and values.is_unknown(new):
            return []
        if old == new:  # the same secret digest, the same asset
            return []
        return [_Leaf(path, DiffKind.UPDATE, old, new)]
    if isinstance(old, dict) and isinstance(new, dict):
        leaves: list[_Leaf] = []
        for key in sorted(old.keys() | new.keys()):
            leaves.extend(diff_values(old.get(key), new.get(key), (*path, key)))
        return leaves
    if isinstance(old, list) and isinstance(new, list):
        if _named(old) and _named(new):
            return _diff_named(old, new, path)
        leaves = []
        for i in range(max(len(old), len(new))):
            leaves.extend(
                diff_values(
                    old[i] if i < len(old) else None, new[i] if i < len(new) else None, (*path, i)
                )
            )
        return leaves
    if _same_scalar(old, new):
        return []
    return [_Leaf(path, DiffKind.UPDATE, old, new)]


# -- resources ------------------------------------------------------------------------


def _provider_identity(reference: str | None) -> str | None:
    """The provider a resource uses, ignoring the id (a placeholder offline) and the
    version in a default provider's name (an SDK upgrade is not a change to review).

    A reference is ``<provider URN>::<id>``; a URN is ``urn:pulumi:S::P::type::name``."""
    if reference is None:
        return None
    urn = reference.rsplit("::", 1)[0] if reference.count("::") >= 4 else reference
    prefix, _, name = urn.rpartition("::")
    return f"{prefix}::default" if name.startswith("default") else urn


def _is_option_path(path: str) -> bool:
    return path.startswith("[") and not path.startswith('["')


def _input_diffs(old: Resource, new: Resource) -> list[PropertyDiff]:
    ignored = _ignored(new)
    force_new = _force_new(new)
    diffs = []
    for leaf in diff_values(old.inputs, new.inputs):
        if any(_covers(pattern, leaf.path) for pattern in ignored):
            continue
        diffs.append(
            PropertyDiff(
                path=format_path(leaf.path),
                kind=leaf.kind,
                old=redact(leaf.old),
                new=redact(leaf.new),
                replace=any(_segments_match(p, leaf.path) for p in force_new),
            )
        )
    return diffs


def _option_diffs(old: Resource, new: Resource) -> list[PropertyDiff]:
    diffs = []
    old_provider, new_provider = _provider_identity(old.provider), _provider_identity(new.provider)
    if old_provider != new_provider:
        diffs.append(
            PropertyDiff(PROVIDER_PATH, DiffKind.UPDATE, old=old.provider, new=new.provider)
        )
    if old.options.protect != new.options.protect:
        diffs.append(
            PropertyDiff(
                PROTECT_PATH, DiffKind.UPDATE, old=old.options.protect, new=new.options.protect
            )
        )
    if old.options.retain_on_delete != new.options.retain_on_delete:
        diffs.append(
            PropertyDiff(
                RETAIN_PATH,
                DiffKind.UPDATE,
                old=old.options.retain_on_delete,
                new=new.options.retain_on_delete,
            )
        )
    return diffs


def _op(diffs: Sequence[PropertyDiff]) -> Op:
    if not diffs:
        return Op.SAME
    return Op.REPLACE if any(d.replace for d in diffs) else Op.UPDATE


def _sorted_diffs(diffs: Iterable[PropertyDiff]) -> tuple[PropertyDiff, ...]:
    def key(d: PropertyDiff) -> tuple[int, tuple[tuple[int, int | str], ...], str]:
        if _is_option_path(d.path):
            return (1, (), d.path)  # resource options after inputs
        return (0, _path_key(parse_path(d.path)), d.path)

    return tuple(sorted(diffs, key=key))


def _created(resource: Resource, inputs: Mapping[str, Any]) -> Change:
    diffs = [
        PropertyDiff(path=format_path((key,)), kind=DiffKind.ADD, new=redact(inputs[key]))
        for key in sorted(inputs)
        if inputs[key] is not None
    ]
    return Change(
        urn=resource.urn,
        type=resource.type,
        name=resource.name,
        op=Op.READ if resource.read else Op.IMPORT if resource.options.import_id else Op.CREATE,
        diffs=tuple(diffs),
        source_position=resource.source_position,
    )


def _deleted(resource: Resource) -> Change:
    return Change(
        urn=resource.urn,
        type=resource.type,
        name=resource.name,
        op=Op.DELETE,
        source_position=resource.source_position,
    )


def _pair(base: Mapping[str, Resource], head: Manifest) -> dict[str, Resource]:
    """Head URN -> the base resource it continues: the same URN, else the first of its
    aliases that exists at base and is not kept by a head resource of its own."""
    head_urns = {r.urn for r in head.resources}
    claimed: set[str] = set()
    pairs: dict[str, Resource] = {}
    for resource in sorted(head.resources, key=lambda r: r.urn):
        if resource.urn in base:
            pairs[resource.urn] = base[resource.urn]
    for resource in sorted(head.resources, key=lambda r: r.urn):
        if resource.urn in pairs:
            continue
        for alias in resource.options.aliases:
            if alias in base and alias not in head_urns and alias not in claimed:
                claimed.add(alias)
                pairs[resource.urn] = base[alias]
                break
    return pairs


_MIN_COMPUTED_LEN: Final = 6
"""Shorter computed strings (``"us"``, ``"aws"``) are too common to trace reliably."""


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, dict) and not values.is_marker(value):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _computed(resource: Resource) -> frozenset[str]:
    """The strings the cloud decides for ``resource`` (its id, ARN, autoname, endpoint...):
    its outputs that are not echoes of its inputs. Offline they are the mock's stand-ins;
    once the resource is created or replaced the engine knows none of them."""
    inputs = {leaf for leaf in _leaves(resource.inputs) if isinstance(leaf, str)}
    return frozenset(
        leaf
        for leaf in _leaves(resource.outputs)
        if isinstance(leaf, str) and len(leaf) >= _MIN_COMPUTED_LEN and leaf not in inputs
    )


def _fresh_paths(
    value: Any, computed: frozenset[str], path: tuple[Segment, ...]
) -> list[tuple[Segment, ...]]:
    """Paths in ``value`` that will only be known after deploy because they come from a
    created or replaced resource: unknown or secret leaves, and strings that carry one of
    its computed values (``vpc-...``, ``arn:aws:...``, a policy document embedding one)."""
    if values.is_unknown(value) or values.is_secret(value):
        return [path]
    if isinstance(value, str):
        return [path] if any(c in value for c in computed) else []
    if isinstance(value, dict) and not values.is_marker(value):
        return [p for k in sorted(value) for p in _fresh_paths(value[k], computed, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _fresh_paths(v, computed, (*path, i))]
    return []


def _at(value: Any, path: Sequence[Segment]) -> Any:
    for segment in path:
        if isinstance(segment, int) and isinstance(value, list) and segment < len(value):
            value = value[segment]
        elif isinstance(segment, str) and isinstance(value, dict):
            value = value.get(segment)
        else:
            return None
    return value


def _unknown_at(value: Any, path: Sequence[Segment]) -> Any:
    """A copy of ``value`` with the value at ``path`` unknown (a value already wholly
    unknown stays so: nothing is known inside it)."""
    if not path or values.is_unknown(value):
        return values.unknown()
    head, rest = path[0], path[1:]
    if isinstance(value, dict) and isinstance(head, str):
        return {**value, head: _unknown_at(value.get(head), rest)}
    if isinstance(value, list) and isinstance(head, int) and head < len(value):
        return [_unknown_at(v, rest) if i == head else v for i, v in enumerate(value)]
    return value


class _Cascade:
    """Unknowns propagate as the engine's do.

    A created or replaced resource's computed outputs are unknown until deploy, so every
    input of another resource that depends on it (``propertyDependencies``) and carries
    one of them becomes "known after deploy"; where that input is create-only the
    dependent is replaced too, and its own outputs become unknown in turn (repeated until
    nothing more moves)."""

    def __init__(self, head: Mapping[str, Resource], pairs: Mapping[str, Resource]) -> None:
        self.head = head
        self.pairs = pairs
        self.moved = {urn for urn in head if urn not in pairs}
        self.children: dict[str, list[str]] = {}
        for resource in head.values():
            if resource.parent is not None:
                self.children.setdefault(resource.parent, []).append(resource.urn)

    def _expand(self, deps: Iterable[str]) -> set[str]:
        """Dependencies with each component standing for its descendants, as the
        engine reads them."""
        out: set[str] = set()
        todo = list(deps)
        while todo:
            urn = todo.pop()
            if urn in out:
                continue
            out.add(urn)
            resource = self.head.get(urn)
            if resource is not None and not resource.custom:
                todo.extend(self.children.get(urn, ()))
        return out

    def fresh(self, resource: Resource) -> list[tuple[Segment, ...]]:
        """The input paths of ``resource`` that depend on something created or replaced."""
        out: list[tuple[Segment, ...]] = []
        for key, deps in sorted(resource.property_dependencies.items()):
            moved = self._expand(deps) & self.moved
            if moved and resource.inputs.get(key) is not None:
                computed = frozenset[str]().union(*(_computed(self.head[m]) for m in moved))
                out.extend(_fresh_paths(resource.inputs[key], computed, (key,)))
        return out

    def created_inputs(self, resource: Resource) -> dict[str, Any]:
        """A created resource's inputs with what depends on other new resources unknown."""
        inputs: dict[str, Any] = dict(resource.inputs)
        for path in self.fresh(resource):
            inputs = _unknown_at(inputs, path)
        return inputs

    def run(self, diffs: dict[str, list[PropertyDiff]]) -> None:
        self.moved |= {urn for urn, d in diffs.items() if _op(d) is Op.REPLACE}
        done: dict[str, set[tuple[Segment, ...]]] = {}
        grew = True
        while grew:
            grew = False
            for urn in sorted(self.pairs):
                resource = self.head[urn]
                ignored = _ignored(resource)
                force_new = _force_new(resource)
                seen = done.setdefault(urn, set())
                for path in self.fresh(resource):
                    if path in seen or any(_covers(p, path) for p in ignored):
                        continue
                    seen.add(path)
                    diffs[urn] = _known_after_deploy(
                        diffs[urn], path, self.pairs[urn].inputs, force_new
                    )
                if urn not in self.moved and _op(diffs[urn]) is Op.REPLACE:
                    self.moved.add(urn)
                    grew = True
            grew = self._dependent_replacements(diffs) or grew

    def _dependent_replacements(self, diffs: dict[str, list[PropertyDiff]]) -> bool:
        """The engine's rule for a resource replaced delete-before-replace (its step
        generator's ``calculateDependentReplacements``): each dependent, in the old state,
        gets every input that depends on it made wholly unknown, and is replaced too when
        such an input holds a create-only path; each of them shows. True when a dependent
        became a replacement."""
        gone = {
            self.pairs[urn].urn
            for urn in self.moved
            if urn in self.pairs and _delete_before_replace(self.pairs[urn], self.head[urn])
        }
        grew = False
        for urn in sorted(self.pairs):
            old = self.pairs[urn]
            if urn in self.moved or not old.custom:
                continue
            kept = diffs[urn]
            for key, deps in sorted(old.property_dependencies.items()):
                if not gone & set(deps) or old.inputs.get(key) is None:
                    continue
                force_new = [p for p in _force_new(self.head[urn]) if p[:1] == (key,)]
                outermost = [
                    p for p in force_new if not any(_covers(q, p) and q != p for q in force_new)
                ]
                unknown = [
                    PropertyDiff(
                        format_path(p),
                        DiffKind.UPDATE,
                        old=redact(_at(old.inputs, p)),
                        new=values.unknown(),
                        replace=True,
                    )
                    for p in outermost
                    if WILDCARD not in p
                ]
                if unknown:
                    kept = [
                        d
                        for d in kept
                        if _is_option_path(d.path) or parse_path(d.path)[:1] != (key,)
                    ] + unknown
            if kept is not diffs[urn]:
                diffs[urn] = kept
                self.moved.add(urn)
                grew = True
        return grew


def _delete_before_replace(old: Resource, new: Resource) -> bool:
    """Whether the engine deletes ``old`` before creating its replacement: the option, or
    the Kubernetes provider's rule (an object named by the program, keeping its name and
    namespace: two objects cannot have one name)."""
    if new.options.delete_before_replace:
        return True
    if not new.type.startswith("kubernetes:"):
        return False
    name = _at(new.inputs, ("metadata", "name"))
    return (
        isinstance(name, str)
        and not values.is_unknown(name)
        and name == _at(old.inputs, ("metadata", "name"))
        and _at(new.inputs, ("metadata", "namespace")) == _at(old.inputs, ("metadata", "namespace"))
    )


def _known_after_deploy(
    diffs: Sequence[PropertyDiff],
    path: tuple[Segment, ...],
    old_inputs: Mapping[str, Any],
    force_new: Sequence[tuple[Segment, ...]],
) -> list[PropertyDiff]:
    """``diffs`` with the input at ``path`` changing to "known after deploy"."""
    kept: list[PropertyDiff] = []
    inside = False
    for d in diffs:
        if _is_option_path(d.path):
            kept.append(d)
            continue
        d_path = parse_path(d.path)
        if _covers(path, d_path):
            continue  # at or below the path: superseded
        if _covers(d_path, path):  # an ancestor (a new list or map): unknown inside it
            inside = True
            d = PropertyDiff(
                d.path,
                d.kind,
                old=d.old,
                new=redact(_unknown_at(d.new, path[len(d_path) :])),
                replace=d.replace or any(_segments_match(p, path) for p in force_new),
            )
        kept.append(d)
    if not inside:
        old = _at(old_inputs, path)
        kept.append(
            PropertyDiff(
                path=format_path(path),
                kind=DiffKind.UPDATE if old is not None else DiffKind.ADD,
                old=redact(old),
                new=values.unknown(),
                replace=any(_segments_match(p, path) for p in force_new),
            )
        )
    return kept


def _tree_key(urn: str, parents: Mapping[str, str | None]) -> tuple[str, ...]:
    """The URNs from the outermost known ancestor down to ``urn``: sorting by it lists a
    component before its children, and siblings by URN."""
    chain = [urn]
    parent = parents.get(urn)
    while parent is not None and parent in parents and parent not in chain:
        chain.append(parent)
        parent = parents.get(parent)
    return tuple(reversed(chain))


def _output_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[OutputChange, ...]:
    changes = []
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            changes.append(OutputChange(name, Op.DELETE, old=redact(old[name])))
        elif name not in old:
            changes.append(OutputChange(name, Op.CREATE, new=redact(new[name])))
        elif diff_values(old[name], new[name]):
            changes.append(
                OutputChange(name, Op.UPDATE, old=redact(old[name]), new=redact(new[name]))
            )
    return tuple(changes)


def diff_manifests(
    base: Manifest | None,
    head: Manifest,
    *,
    base_rev: str | None = None,
    head_rev: str | None = None,
) -> StackPlan:
    """The offline plan of one stack: what changes from ``base`` (None: nothing exists
    yet) to ``head``. Pure: the same manifests always give the same plan."""
    base_by_urn = base.by_urn() if base is not None else {}
    head_by_urn = head.by_urn()
    pairs = _pair(base_by_urn, head)
    diffs = {
        urn: [*_input_diffs(old, head_by_urn[urn]), *_option_diffs(old, head_by_urn[urn])]
        for urn, old in pairs.items()
    }
    cascade = _Cascade(head_by_urn, pairs)
    cascade.run(diffs)

    changes: list[Change] = []
    same = 0
    for urn, resource in head_by_urn.items():
        if urn not in pairs or resource.read:  # the engine reads on every run
            changes.append(_created(resource, cascade.created_inputs(resource)))
            continue
        op = _op(diffs[urn])
        old_urn = pairs[urn].urn if pairs[urn].urn != urn else None
        if op is Op.SAME and old_urn is None:
            same += 1
            continue
        changes.append(
            Change(
                urn=urn,
                type=resource.type,
                name=resource.name,
                op=Op.UPDATE if op is Op.SAME else op,
                diffs=_sorted_diffs(diffs[urn]),
                old_urn=old_urn,
                source_position=resource.source_position,
            )
        )
    kept = {r.urn for r in pairs.values()}
    # A read that the program no longer makes is forgotten, not deleted.
    changes.extend(_deleted(r) for urn, r in base_by_urn.items() if urn not in kept and not r.read)
    parents = {r.urn: r.parent for r in (*(base.resources if base else ()), *head.resources)}
    changes.sort(key=lambda c: _tree_key(c.urn, parents))
    base_resources = base.resources if base is not None else ()
    return StackPlan.build(
        project=head.project,
        stack=head.stack,
        source=Source.OFFLINE,
        changes=changes,
        same=same,
        policy=tuple(
            risk.findings(
                changes,
                protected={r.urn: r.options.protect for r in base_resources},
                retained={r.urn: r.options.retain_on_delete for r in base_resources},
            )
        ),
        outputs=_output_changes(base.outputs if base is not None else {}, head.outputs),
        base=base_rev,
        head=head_rev,
        environment=head.environment,
        diagnostics=tuple(Diagnostic("info", note) for note in head.notes),
    )
