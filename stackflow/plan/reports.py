"""What a deploy and an ephemeral environment came to: the models the deploy and
environment comments render (:func:`stackflow.render.markdown.render_deploy`,
:func:`~stackflow.render.markdown.render_environment`), kept beside the Plan so sources
produce them and renderers only read them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EnvironmentStatus(StrEnum):
    READY = "ready"
    DESTROYED = "destroyed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class EnvironmentReport:
    """What the ephemeral-environment comment shows about one branch stack."""

    project: str
    stack: str
    branch: str
    status: EnvironmentStatus
    url: str | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)
    """Stack outputs; secrets as ``$secret`` markers (masked again here regardless)."""
    expires_at: datetime | None = None
    ttl_label_prefix: str | None = None
    """When set, the comment says how to extend the lifetime (a label like ``ttl:48``)."""
    message: str | None = None
    """Why it failed, or any note to the author."""
    head: str | None = None


class DeployStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Not run, e.g. because an earlier stage failed."""


@dataclass(frozen=True, slots=True)
class StackDeployment:
    """The outcome of ``up`` on one stack."""

    project: str
    stack: str
    status: DeployStatus
    counts: Mapping[str, int] = field(default_factory=dict)
    """Resources per operation (``create``, ``update``, ...), as the engine reported."""
    duration_seconds: float | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class DeployReport:
    """The outcome of a merge's deploy, in promotion order."""

    stacks: tuple[StackDeployment, ...]
    head: str | None = None
    run_url: str | None = None
