"""The Manifest: the desired state of one stack, as a program declares it.

Produced by the offline synth (``stackflow.plan.synth``) and consumed by the diff and the
in-process policy runner. Stored as JSON with a schema version; serialization is
canonical (sorted keys, fixed separators) so two runs on the same input are
byte-identical.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class ResourceOptions:
    """The resource options that matter to a reviewer and to policies."""

    protect: bool = False
    ignore_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False
    retain_on_delete: bool = False
    replace_on_changes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    """Alias URNs (in the engine's URN format) this resource was previously known by."""
    additional_secret_outputs: tuple[str, ...] = ()
    import_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "protect": self.protect,
            "ignoreChanges": list(self.ignore_changes),
            "deleteBeforeReplace": self.delete_before_replace,
            "retainOnDelete": self.retain_on_delete,
            "replaceOnChanges": list(self.replace_on_changes),
            "aliases": list(self.aliases),
            "additionalSecretOutputs": list(self.additional_secret_outputs),
            "importId": self.import_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResourceOptions:
        return cls(
            protect=bool(data.get("protect", False)),
            ignore_changes=tuple(data.get("ignoreChanges", ())),
            delete_before_replace=bool(data.get("deleteBeforeReplace", False)),
            retain_on_delete=bool(data.get("retainOnDelete", False)),
            replace_on_changes=tuple(data.get("replaceOnChanges", ())),
            aliases=tuple(data.get("aliases", ())),
            additional_secret_outputs=tuple(data.get("additionalSecretOutputs", ())),
            import_id=data.get("importId"),
        )


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource as the program registered it.

    ``inputs`` and ``outputs`` hold JSON values with the markers of
    :mod:`stackflow.plan.values`; ``outputs`` are what the offline mock answered
    (ids, ARNs, ...), not what a cloud would.
    """

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None = None
    provider: str | None = None
    """Provider reference ``<provider urn>::<id>``, when one was given or is default."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    options: ResourceOptions = field(default_factory=ResourceOptions)
    source_position: str | None = None
    """``path:line`` of the registration in the program, relative to the project."""
    read: bool = False
    """Read, not managed: a ``get()`` or a ``StackReference`` (the engine reads it)."""
    remote: bool = False
    """A multi-language component: its children are decided by its provider."""

    def to_dict(self) -> dict[str, Any]:
        flags = {k: True for k, v in (("read", self.read), ("remote", self.remote)) if v}
        return {
            **flags,
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "provider": self.provider,
            "dependencies": list(self.dependencies),
            "propertyDependencies": {k: list(v) for k, v in self.property_dependencies.items()},
            "inputs": self.inputs,
            "outputs": self.outputs,
            "options": self.options.to_dict(),
            "sourcePosition": self.source_position,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Resource:
        return cls(
            urn=data["urn"],
            type=data["type"],
            name=data["name"],
            custom=bool(data["custom"]),
            parent=data.get("parent"),
            provider=data.get("provider"),
            dependencies=tuple(data.get("dependencies", ())),
            property_dependencies={
                k: tuple(v) for k, v in data.get("propertyDependencies", {}).items()
            },
            inputs=dict(data.get("inputs", {})),
            outputs=dict(data.get("outputs", {})),
            options=ResourceOptions.from_dict(data.get("options", {})),
            source_position=data.get("sourcePosition"),
            read=bool(data.get("read", False)),
            remote=bool(data.get("remote", False)),
        )


@dataclass(frozen=True, slots=True)
class Manifest:
    """Every resource of one stack, in registration order, plus the stack outputs."""

    project: str
    stack: str
    resources: tuple[Resource, ...]
    outputs: dict[str, Any] = field(default_factory=dict)
    environment: str | None = None
    """The environment kind (``dev``, ``staging``, ``prod``, ``ephemeral``) when known."""
    notes: tuple[str, ...] = ()
    """What the offline synth could not show (multi-language components, skipped
    projects); the plan carries them as info diagnostics."""
    schema_version: int = SCHEMA_VERSION

    def by_urn(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schemaVersion": self.schema_version,
            "project": self.project,
            "stack": self.stack,
            "environment": self.environment,
            "resources": [r.to_dict() for r in self.resources],
            "outputs": self.outputs,
            **({"notes": list(self.notes)} if self.notes else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        version = data.get("schemaVersion")
        if version != SCHEMA_VERSION:
            from stackflow.errors import StackflowError

            raise StackflowError(
                f"reading a manifest: schema version {version!r} is not {SCHEMA_VERSION}; "
                "synthesize it again with this version of stackflow"
            )
        return cls(
            project=data["project"],
            stack=data["stack"],
            environment=data.get("environment"),
            resources=tuple(Resource.from_dict(r) for r in data["resources"]),
            outputs=dict(data.get("outputs", {})),
            notes=tuple(data.get("notes", ())),
        )

    def to_json(self) -> str:
        return canonical_json(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        return cls.from_dict(json.loads(text))


def canonical_json(data: Any) -> str:
    """Deterministic, human-diffable JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
