"""Builders for hand-made manifests, so diff tests read as the change they describe."""

from __future__ import annotations

from typing import Any

from stackflow.plan import Manifest, Resource, ResourceOptions

PROJECT = "shop"
STACK = "dev"


def urn(type_: str, name: str, *, parents: tuple[str, ...] = ()) -> str:
    chain = "$".join((*parents, type_))
    return f"urn:pulumi:{STACK}::{PROJECT}::{chain}::{name}"


def res(
    type_: str,
    name: str,
    inputs: dict[str, Any] | None = None,
    *,
    custom: bool = True,
    parents: tuple[str, ...] = (),
    **options: Any,
) -> Resource:
    extra = {
        k: options.pop(k) for k in ("parent", "provider", "property_dependencies") if k in options
    }
    return Resource(
        urn=urn(type_, name, parents=parents),
        type=type_,
        name=name,
        custom=custom,
        inputs=inputs or {},
        options=ResourceOptions(**options),
        **extra,
    )


def manifest(*resources: Resource, outputs: dict[str, Any] | None = None) -> Manifest:
    return Manifest(
        project=PROJECT,
        stack=STACK,
        resources=tuple(resources),
        outputs=outputs or {},
        environment="dev",
    )
