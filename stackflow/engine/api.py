"""What stackflow asks of the Pulumi engine.

The real implementation drives ``pulumi.automation`` (``stackflow.engine.automation``).
Code above this interface (deploy, drift, ephemeral environments) depends only on the
Protocol, so its own tests can use an in-memory engine while the Automation API wiring is
tested against a scripted ``pulumi`` executable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stackflow.plan.model import StackPlan


@dataclass(frozen=True, slots=True)
class EngineTarget:
    """One stack of one project, and how to run it."""

    project_dir: Path
    stack: str
    environment: str | None = None
    """Environment kind; picks the policy config when ``policy_config`` is None."""
    policy_pack: Path | None = None
    policy_config: Path | None = None
    config_file: Path | None = None
    """A rendered stack config (ephemeral stacks); None uses ``Pulumi.<stack>.yaml``."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment variables for the engine (backend URL, passphrase, endpoints)."""


@dataclass(frozen=True, slots=True)
class UpResult:
    plan: StackPlan
    outputs: dict[str, Any]
    """Stack outputs; secrets are ``{"$secret": ...}`` markers, never plaintext."""


class Engine(Protocol):
    def preview(self, target: EngineTarget) -> StackPlan: ...

    def up(self, target: EngineTarget) -> UpResult: ...

    def destroy(self, target: EngineTarget) -> StackPlan: ...

    def refresh(self, target: EngineTarget, *, preview_only: bool = True) -> StackPlan:
        """With ``preview_only``, the differences between state and cloud (drift)."""
        ...

    def stack_exists(self, target: EngineTarget) -> bool: ...

    def remove_stack(self, target: EngineTarget) -> None:
        """Forget the stack (``pulumi stack rm``); only after a successful destroy."""
        ...
