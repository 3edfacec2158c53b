"""Bring a branch stack up, and tear it down, in an order that a crash at any step leaves
recoverable:

* ``up``: register (record ``deploying``), render config, engine ``up``, then record
  ``active`` with the outputs -- or ``failed`` with the error. A stack in the backend
  always has a record first, so nothing is ever orphaned; a teardown that finished while
  ``up`` ran leaves the deployed stack re-registered ``destroying``, for the next run.
* teardown (``down`` and the reaper): mark ``destroying``, destroy, remove the stack from
  the backend, mark ``destroyed``, remove the config file, delete the record. A failed
  destroy leaves the record ``destroying`` with the error; the next ``down`` or reap
  finishes it. A stack the engine does not know (never deployed) is not destroyed, only
  forgotten.

Two guards run before any teardown, on both the requested name and the record's own
fields: the stack must carry a branch-stack name (:func:`stackflow.naming.is_ephemeral_name`)
and must not be protected in ``stackflow.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from stackflow.adapters.storage import BlobStore, open_store, resolve_locations
from stackflow.clock import utc_now
from stackflow.engine.api import Engine, EngineTarget
from stackflow.ephemeral.config import ENVIRONMENT_KIND, remove_config, write_config
from stackflow.ephemeral.registry import EnvironmentRecord, Registry, State
from stackflow.errors import StackflowError
from stackflow.naming import is_ephemeral_name, stack_name
from stackflow.plan.model import StackPlan
from stackflow.project import Project, load_project
from stackflow.repoconfig import RepoConfig


class RefusedError(StackflowError):
    """A stack the ephemeral code must not touch: protected, or not a branch stack."""


class PullRequests(Protocol):
    """What the reaper and ``list`` ask of GitHub (``stackflow.adapters.github.GitHubClient``)."""

    def pull_request_state(self, number: int) -> str:
        """``open``, ``closed`` or ``merged``."""
        ...

    def pull_request_labels(self, number: int) -> list[str]: ...

    def branch_exists(self, branch: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Environments:
    """Everything the lifecycle functions need, built once at the entry point."""

    repo: RepoConfig
    project: Project
    registry: Registry
    engine: Engine
    github: PullRequests | None = None
    now: Callable[[], datetime] = utc_now
    """The clock, injectable for tests; must return timezone-aware UTC times."""

    @classmethod
    def open(
        cls,
        repo: RepoConfig,
        engine: Engine,
        *,
        github: PullRequests | None = None,
        store: BlobStore | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> Environments:
        """The branch stacks of ``ephemeral.project``, with the registry in ``store``
        (default: the records location, :func:`~stackflow.adapters.storage.resolve_locations`)."""
        project = load_project(repo.root / repo.ephemeral.project)
        if store is None:
            store = open_store(resolve_locations(repo).records)
        registry = Registry(store, project.name)
        return cls(
            repo=repo, project=project, registry=registry, engine=engine, github=github, now=now
        )

    def clock(self) -> datetime:
        """Now, to the second (the precision records keep)."""
        return self.now().replace(microsecond=0)

    def target(self, stack: str, config_file: Path) -> EngineTarget:
        pack = self.repo.policy_pack_dir
        return EngineTarget(
            project_dir=self.project.dir,
            stack=stack,
            environment=ENVIRONMENT_KIND,
            policy_pack=pack if pack.is_dir() else None,
            config_file=config_file,
        )

    def guard(self, stack: str, record: EnvironmentRecord | None = None) -> None:
        """Refuse to touch anything but a registered, unprotected branch stack."""
        names = {stack} if record is None else {stack, record.stack}
        for name in names:
            if self.repo.is_protected(name):
                raise RefusedError(
                    f"tearing down stack {name!r}: it is protected in stackflow.yaml; "
                    "branch environments never touch protected stacks"
                )
            if not is_ephemeral_name(name):
                raise RefusedError(
                    f"tearing down stack {name!r}: it is not a branch-stack name; only stacks "
                    "named by `stackflow stack-name` are managed here"
                )
        if record is not None and (record.stack != stack or record.project != self.project.name):
            raise RefusedError(
                f"tearing down stack {stack!r}: its registry record names "
                f"{record.project}/{record.stack}; fix or delete the record by hand"
            )


@dataclass(frozen=True, slots=True)
class UpOutcome:
    record: EnvironmentRecord
    plan: StackPlan
    created: bool
    """True when this ``up`` registered the stack."""


def up(
    envs: Environments, *, branch: str, pr: int | None = None, head: str | None = None
) -> UpOutcome:
    """Register the branch stack (or refresh its record), render its config, deploy it and
    record its outputs. The TTL still counts from the first registration."""
    stack = stack_name(branch, pr, protected=envs.repo.protected_stacks)
    started = envs.clock()
    ttl = envs.repo.ephemeral.ttl_hours
    created = False

    def register(current: EnvironmentRecord | None) -> EnvironmentRecord:
        nonlocal created
        created = current is None
        if current is None:
            return EnvironmentRecord(
                project=envs.project.name,
                stack=stack,
                branch=branch,
                pr=pr,
                created_at=started,
                ttl_hours=ttl,
                state=State.DEPLOYING,
                head=head,
            )
        if current.branch != branch or current.pr != pr:
            raise StackflowError(
                f"deploying branch {branch!r}: stack {stack} is registered for branch "
                f"{current.branch!r} (PR {current.pr}); destroy that one first"
            )
        if not current.live:
            raise StackflowError(
                f"deploying branch {branch!r}: stack {stack} is {current.state.value}; run "
                "`stackflow ephemeral down` for the branch to finish that, then deploy again"
            )
        return replace(current, ttl_hours=ttl, state=State.DEPLOYING)

    envs.registry.mutate(stack, register)
    config = write_config(envs.project, stack=stack, branch=branch, pr=pr)
    try:
        result = envs.engine.up(envs.target(stack, config))
    except (StackflowError, KeyboardInterrupt) as err:
        why = err.message if isinstance(err, StackflowError) else "the up was cancelled"
        envs.registry.mutate(stack, lambda current: _up_failed(current, why))
        raise
    deployed = envs.clock()
    torn_down = False

    def record_outputs(current: EnvironmentRecord | None) -> EnvironmentRecord:
        nonlocal torn_down
        torn_down = current is None or not current.live
        if current is None:
            # A teardown finished while we deployed: the stack the engine now holds must
            # have a record, or nothing would ever destroy it. It stays doomed.
            current = EnvironmentRecord(
                project=envs.project.name,
                stack=stack,
                branch=branch,
                pr=pr,
                created_at=started,
                ttl_hours=ttl,
                state=State.DESTROYING,
            )
        state = State.ACTIVE if current.live else State.DESTROYING
        return replace(
            current,
            state=state,
            last_deployed_at=deployed,
            head=head or current.head,
            outputs=result.outputs,
            last_error=None if current.live else current.last_error,
        )

    record = envs.registry.mutate(stack, record_outputs)
    if torn_down:
        raise StackflowError(
            f"deploying branch {branch!r}: stack {stack} was torn down while it deployed; "
            "it is recorded `destroying`, so the next `ephemeral down` or reap destroys it"
        )
    return UpOutcome(record=record, plan=result.plan, created=created)


def _up_failed(current: EnvironmentRecord | None, message: str) -> EnvironmentRecord | None:
    if current is None or not current.live:
        return current
    return replace(current, state=State.FAILED, last_error=message)


class TeardownStatus(StrEnum):
    DESTROYED = "destroyed"
    """The engine destroyed the stack; it and its record are gone."""
    FORGOTTEN = "forgotten"
    """The engine did not know the stack (never deployed, or removed by an earlier run);
    only the record was removed."""
    FAILED = "failed"
    """Destroy failed; the record stays ``destroying`` with the error."""
    ABSENT = "absent"
    """No record: nothing to do."""
    CHANGED = "changed"
    """The record changed since the reaper decided (re-created); left alone."""
    REFUSED = "refused"
    """Protected, not a branch-stack name, or a record that disagrees with its key;
    never touched."""


@dataclass(frozen=True, slots=True)
class TeardownOutcome:
    stack: str
    status: TeardownStatus
    detail: str = ""
    branch: str | None = None
    pr: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "branch": self.branch,
            "pr": self.pr,
            "status": self.status.value,
            "detail": self.detail,
        }


def down(envs: Environments, *, branch: str, pr: int | None = None) -> list[TeardownOutcome]:
    """Tear down the branch's stacks: the one of ``pr`` when given, else every registered
    stack of the branch (a branch may have had several pull requests)."""
    if pr is not None:
        stacks = [stack_name(branch, pr, protected=envs.repo.protected_stacks)]
    else:
        stacks = [
            e.record.stack
            for e in envs.registry.entries()
            if e.record is not None and e.record.branch == branch
        ]
    return [teardown(envs, stack) for stack in stacks]


def teardown(
    envs: Environments, stack: str, *, decided_on: EnvironmentRecord | None = None
) -> TeardownOutcome:
    """Destroy a registered branch stack and forget it (see the module docstring). A stack
    the guards refuse is reported ``refused`` and left alone.

    ``decided_on``: the record a reaper decided on; when the record has since been
    re-created (another ``created_at``), nothing is done.
    """
    changed = False

    def doom(current: EnvironmentRecord | None) -> EnvironmentRecord | None:
        nonlocal changed
        changed = False
        if current is None:
            return None
        envs.guard(stack, current)
        if decided_on is not None and current.created_at != decided_on.created_at:
            changed = True
            return current
        if current.live:
            return replace(current, state=State.DESTROYING, last_error=None)
        return current

    try:
        envs.guard(stack)
        record = envs.registry.mutate(stack, doom)
    except RefusedError as err:
        return TeardownOutcome(stack, TeardownStatus.REFUSED, err.message)
    if record is None:
        return TeardownOutcome(stack, TeardownStatus.ABSENT, "not in the registry")
    if changed:
        return TeardownOutcome(
            stack, TeardownStatus.CHANGED, "re-created meanwhile", record.branch, record.pr
        )
    status, detail = TeardownStatus.FORGOTTEN, "destroyed by an earlier run; record removed"
    if record.state is State.DESTROYING:
        detail = "the engine does not know it (never deployed); record removed"
        try:
            config = write_config(envs.project, stack=stack, branch=record.branch, pr=record.pr)
            target = envs.target(stack, config)
            if envs.engine.stack_exists(target):
                envs.engine.destroy(target)
                envs.engine.remove_stack(target)
                status, detail = TeardownStatus.DESTROYED, "destroyed; stack and record removed"
        except StackflowError as err:
            message = err.message
            envs.registry.mutate(stack, lambda c: _failed(c, message))
            return TeardownOutcome(stack, TeardownStatus.FAILED, message, record.branch, record.pr)
        envs.registry.mutate(stack, _destroyed)
    remove_config(envs.project, stack)
    envs.registry.mutate(stack, _forget)
    return TeardownOutcome(stack, status, detail, record.branch, record.pr)


def _failed(current: EnvironmentRecord | None, message: str) -> EnvironmentRecord | None:
    if current is None or current.state is not State.DESTROYING:
        return current
    return replace(current, last_error=message)


def _destroyed(current: EnvironmentRecord | None) -> EnvironmentRecord | None:
    if current is None:
        return None
    return replace(current, state=State.DESTROYED, last_error=None)


def _forget(current: EnvironmentRecord | None) -> EnvironmentRecord | None:
    if current is None or current.state is State.DESTROYED:
        return None
    return current
