"""Builders for hand-made manifests, and the repository's policy pack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stackflow.plan.manifest import Manifest, Resource, ResourceOptions
from stackflow.plan.model import Level, PolicyFinding
from stackflow.policy import evaluate

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policies"
STACK = "test"
PROJECT = "proj"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def res(
    type_: str,
    name: str,
    inputs: dict[str, Any] | None = None,
    *,
    prop_deps: dict[str, list[Resource]] | None = None,
    parent: Resource | None = None,
    provider: Resource | None = None,
    protect: bool = False,
    depends_on: list[Resource] | None = None,
) -> Resource:
    """A custom resource; ``prop_deps`` name the resources each input came from, and
    ``depends_on`` adds plain dependencies (no property recorded for them)."""
    prop_deps = prop_deps or {}
    deps = sorted(
        {dep.urn for targets in prop_deps.values() for dep in targets}
        | {dep.urn for dep in depends_on or []}
    )
    return Resource(
        urn=urn(type_, name),
        type=type_,
        name=name,
        custom=not type_.startswith("pkg:"),
        parent=parent.urn if parent else None,
        provider=f"{provider.urn}::id-1" if provider else None,
        dependencies=tuple(deps),
        property_dependencies={k: tuple(d.urn for d in v) for k, v in prop_deps.items()},
        inputs=inputs or {},
        options=ResourceOptions(protect=protect),
    )


def manifest(*resources: Resource) -> Manifest:
    return Manifest(project=PROJECT, stack=STACK, resources=resources)


def run(
    *resources: Resource, kind: str | None = "prod", config_file: Path | None = None
) -> list[PolicyFinding]:
    return evaluate(manifest(*resources), pack_dir=PACK, environment=kind, config_file=config_file)


def of(findings: list[PolicyFinding], policy: str) -> list[PolicyFinding]:
    return [f for f in findings if f.policy == policy]


def mandatory(findings: list[PolicyFinding]) -> list[PolicyFinding]:
    return [f for f in findings if f.level is Level.MANDATORY]


@pytest.fixture
def pack_dir() -> Path:
    return PACK
