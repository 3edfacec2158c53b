"""The Plan: what a change will do to each affected stack.

Sources produce it (the offline diff of two manifests, or the engine's events); sinks
consume it (terminal table, PR comment, job summary, JSON, drift issues). Nothing
downstream knows which source made a Plan beyond ``StackPlan.source``.

The JSON keys ``stacks[].project``, ``stacks[].stack``, ``stacks[].source``,
``stacks[].changes[].{urn,type,name,op,diffs[].path}``, ``stacks[].counts`` and
``stacks[].policy[].{policy,level,urn,message}`` are a documented contract
(docs/PLAN_FORMAT.md); add keys freely, never rename or remove these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from stackflow.plan.manifest import canonical_json

PLAN_FORMAT_VERSION = 1
PLAN_PACK = "stackflow-plan"
"""The pack name of findings the plan raises itself (:mod:`stackflow.plan.risk`)."""
DRIFT_UNCHECKED = "drift-unchecked"
"""The label of a refresh plan that could not read some of the stack's resources."""


class Op(StrEnum):
    """What happens to one resource."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    READ = "read"
    IMPORT = "import"
    SAME = "same"


class Source(StrEnum):
    OFFLINE = "offline"
    """Synthesized from the program with no engine, no credentials and no state."""
    ENGINE = "engine"
    """Reported by the Pulumi engine (preview, up, refresh)."""


class Level(StrEnum):
    """Policy enforcement levels, as pulumi-policy names them."""

    MANDATORY = "mandatory"
    ADVISORY = "advisory"
    REMEDIATE = "remediate"
    DISABLED = "disabled"


class DiffKind(StrEnum):
    ADD = "add"
    DELETE = "delete"
    UPDATE = "update"


@dataclass(frozen=True, slots=True)
class PropertyDiff:
    """One changed property. ``path`` uses dots and ``[i]``: ``spec.replicas``,
    ``tags.owner``, ``containers[0].image``. Values carry markers (secrets stay
    digests, never plaintext)."""

    path: str
    kind: DiffKind
    old: Any = None
    new: Any = None
    replace: bool = False
    """This change forces a replacement (when the source can know it)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind.value,
            "old": self.old,
            "new": self.new,
            "replace": self.replace,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PropertyDiff:
        return cls(
            path=data["path"],
            kind=DiffKind(data["kind"]),
            old=data.get("old"),
            new=data.get("new"),
            replace=bool(data.get("replace", False)),
        )


@dataclass(frozen=True, slots=True)
class Change:
    """A resource that is created, updated, replaced, deleted, read or imported."""

    urn: str
    type: str
    name: str
    op: Op
    diffs: tuple[PropertyDiff, ...] = ()
    old_urn: str | None = None
    """For a resource renamed through an alias: the URN it had before."""
    source_position: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "op": self.op.value,
            "diffs": [d.to_dict() for d in self.diffs],
            "oldUrn": self.old_urn,
            "sourcePosition": self.source_position,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(
            urn=data["urn"],
            type=data["type"],
            name=data["name"],
            op=Op(data["op"]),
            diffs=tuple(PropertyDiff.from_dict(d) for d in data.get("diffs", ())),
            old_urn=data.get("oldUrn"),
            source_position=data.get("sourcePosition"),
        )


@dataclass(frozen=True, slots=True)
class OutputChange:
    """A stack output that appears, changes or goes away."""

    name: str
    op: Op
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "op": self.op.value, "old": self.old, "new": self.new}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutputChange:
        return cls(name=data["name"], op=Op(data["op"]), old=data.get("old"), new=data.get("new"))


class FindingStatus(StrEnum):
    """A finding compared with the base: a policy delta."""

    NEW = "new"
    """Not found at the base: this change brings it (or a stricter rule finds it)."""
    EXISTING = "existing"
    """Found at the base too: listed, not blocking (unless policy_block_existing)."""
    FIXED = "fixed"
    """Found at the base, gone at the head: this change fixes it."""


@dataclass(frozen=True, slots=True)
class PolicyFinding:
    """A policy violation (or an advisory note) on a resource, or on the whole stack
    when ``urn`` is None. ``status`` is None when it was not compared with a base."""

    policy: str
    level: Level
    message: str
    urn: str | None = None
    pack: str = "stackflow"
    status: FindingStatus | None = None

    @property
    def blocks(self) -> bool:
        """A mandatory finding that stops a merge: new, or not compared with a base."""
        return self.level is Level.MANDATORY and self.status in (None, FindingStatus.NEW)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "policy": self.policy,
            "level": self.level.value,
            "message": self.message,
            "urn": self.urn,
            "pack": self.pack,
        }
        if self.status is not None:
            data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyFinding:
        status = data.get("status")
        return cls(
            policy=data["policy"],
            level=Level(data["level"]),
            message=data["message"],
            urn=data.get("urn"),
            pack=data.get("pack", "stackflow"),
            status=FindingStatus(status) if status is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A message from the program or the engine worth showing to the reviewer."""

    severity: str
    """``error``, ``warning`` or ``info``."""
    message: str
    urn: str | None = None
    detail: str | None = None
    """More lines worth showing: for a failed program, the exception and the program's own
    frames (``at app/naming.py:2 in bucket_name: ...``), secrets redacted."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "message": self.message,
            "urn": self.urn,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnostic:
        return cls(
            severity=data["severity"],
            message=data["message"],
            urn=data.get("urn"),
            detail=data.get("detail"),
        )


def count_ops(changes: Iterable[Change], same: int = 0) -> dict[str, int]:
    """Counts per operation, every operation present (zero when none)."""
    counts = {op.value: 0 for op in Op}
    for change in changes:
        counts[change.op.value] += 1
    counts[Op.SAME.value] += same
    return counts


@dataclass(frozen=True, slots=True)
class Unexplained:
    """An engine change the offline plan of the same change does not explain."""

    urn: str
    paths: tuple[str, ...] = ()
    """The properties not from this change; empty: the whole change is not."""

    def to_dict(self) -> dict[str, Any]:
        return {"urn": self.urn, "paths": list(self.paths)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Unexplained:
        return cls(urn=data["urn"], paths=tuple(data.get("paths", ())))


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """An engine plan read beside the offline plan of the same change (code diff vs state
    diff, :mod:`stackflow.plan.reconcile`)."""

    offline_counts: dict[str, int]
    """What the change's code does (the offline plan's counts)."""
    unexplained: tuple[Unexplained, ...] = ()
    """Engine changes the code does not explain: drift, or commits merged but not deployed."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "offlineCounts": dict(self.offline_counts),
            "notFromThisChange": [u.to_dict() for u in self.unexplained],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reconciliation:
        return cls(
            offline_counts=dict(data.get("offlineCounts", {})),
            unexplained=tuple(Unexplained.from_dict(u) for u in data.get("notFromThisChange", ())),
        )


@dataclass(frozen=True, slots=True)
class StackPlan:
    """The plan of one stack. Unchanged resources are counted, never listed."""

    project: str
    stack: str
    source: Source
    changes: tuple[Change, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    outputs: tuple[OutputChange, ...] = ()
    policy: tuple[PolicyFinding, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    base: str | None = None
    """The base revision (commit SHA) the plan compares against; None for ``--no-base``
    or for engine plans (which compare against the stack's state)."""
    head: str | None = None
    environment: str | None = None
    labels: tuple[str, ...] = ()
    """What a reviewer must know about the stack itself: ``new`` (no stack file at the
    base), ``removed`` (its stack file is deleted), ``not-in-promotion`` (merging does not
    deploy it), ``unchanged`` (checked by impact and found unchanged: not planned further),
    ``drift-unchecked`` (a refresh could not read some resources: their provider never
    reads the world; a warning diagnostic names them)."""
    reads: tuple[str, ...] = ()
    """The stacks (``project/stack``) the program reads through ``StackReference``: the
    stack graph's edges (:mod:`stackflow.graph`)."""
    reconciliation: Reconciliation | None = None
    """On an engine plan that replaced the offline plan of the same stack: what of it the
    change's code explains, and what not."""

    @classmethod
    def build(
        cls,
        *,
        project: str,
        stack: str,
        source: Source,
        changes: Iterable[Change] = (),
        same: int = 0,
        **rest: Any,
    ) -> StackPlan:
        """A StackPlan whose counts are computed from ``changes`` and ``same``."""
        changes = tuple(changes)
        return cls(
            project=project,
            stack=stack,
            source=source,
            changes=changes,
            counts=count_ops(changes, same),
            **rest,
        )

    @property
    def key(self) -> str:
        return f"{self.project}/{self.stack}"

    @property
    def has_changes(self) -> bool:
        return bool(self.changes) or bool(self.outputs)

    @property
    def drift_unchecked(self) -> bool:
        """A refresh left resources out that no provider can read (render-to-directory
        Kubernetes): "no changes" then does not mean "no drift"."""
        return DRIFT_UNCHECKED in self.labels

    @property
    def mandatory_findings(self) -> tuple[PolicyFinding, ...]:
        """The mandatory findings that block: new ones, or all when not compared."""
        return tuple(f for f in self.policy if f.blocks)

    @property
    def has_mandatory_violations(self) -> bool:
        return bool(self.mandatory_findings)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    def with_policy(self, findings: Iterable[PolicyFinding]) -> StackPlan:
        """The plan with a policy pack's findings, keeping those the plan raised itself
        (pack ``stackflow-plan``: protected or stateful resources it deletes or
        replaces); mandatory findings first."""
        own = [f for f in self.policy if f.pack == PLAN_PACK]
        merged = [*own, *(f for f in findings if f.pack != PLAN_PACK)]
        return replace(
            self, policy=tuple(sorted(merged, key=lambda f: f.level is not Level.MANDATORY))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "source": self.source.value,
            "environment": self.environment,
            "labels": list(self.labels),
            "base": self.base,
            "head": self.head,
            "changes": [c.to_dict() for c in self.changes],
            "counts": dict(self.counts),
            "outputs": [o.to_dict() for o in self.outputs],
            "policy": [p.to_dict() for p in self.policy],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "reads": list(self.reads),
            "reconciliation": self.reconciliation.to_dict() if self.reconciliation else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StackPlan:
        return cls(
            project=data["project"],
            stack=data["stack"],
            source=Source(data["source"]),
            environment=data.get("environment"),
            labels=tuple(data.get("labels", ())),
            base=data.get("base"),
            head=data.get("head"),
            changes=tuple(Change.from_dict(c) for c in data.get("changes", ())),
            counts=dict(data.get("counts", {})),
            outputs=tuple(OutputChange.from_dict(o) for o in data.get("outputs", ())),
            policy=tuple(PolicyFinding.from_dict(p) for p in data.get("policy", ())),
            diagnostics=tuple(Diagnostic.from_dict(d) for d in data.get("diagnostics", ())),
            reads=tuple(data.get("reads", ())),
            reconciliation=Reconciliation.from_dict(data["reconciliation"])
            if data.get("reconciliation")
            else None,
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """Plans of one or more stacks, as one pull request (or one job) sees them."""

    stacks: tuple[StackPlan, ...] = ()
    version: int = PLAN_FORMAT_VERSION

    @property
    def has_mandatory_violations(self) -> bool:
        return any(s.has_mandatory_violations for s in self.stacks)

    @property
    def has_errors(self) -> bool:
        return any(s.has_errors for s in self.stacks)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "stacks": [s.to_dict() for s in self.stacks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        version = data.get("version", PLAN_FORMAT_VERSION)
        if version != PLAN_FORMAT_VERSION:
            from stackflow.errors import StackflowError

            raise StackflowError(
                f"reading a plan: format version {version!r} is not {PLAN_FORMAT_VERSION}; "
                "produce it again with this version of stackflow"
            )
        return cls(stacks=tuple(StackPlan.from_dict(s) for s in data.get("stacks", ())))

    def to_json(self) -> str:
        return canonical_json(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Plan:
        return cls.from_dict(json.loads(text))
