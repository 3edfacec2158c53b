"""Merge-to-deploy: ``up`` on the stacks a merge affects, in promotion order.

The affected stacks come from :mod:`stackflow.affected`; this module orders them by
``stackflow.yaml``'s ``promotion`` (stacks it does not list go last, in a stable order),
runs ``up`` on each through an :class:`~stackflow.engine.api.Engine`, stops at the first
failure (later stages are reported as skipped, never run), and appends one record per
stack it ran to the deployment log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stackflow.affected import AffectedStack
from stackflow.clock import utc_iso, utc_now
from stackflow.deploylog import DeploymentLog, DeployRecord
from stackflow.engine.api import Engine
from stackflow.engine.automation import make_target
from stackflow.errors import StackflowError
from stackflow.plan.model import StackPlan
from stackflow.render.markdown import DeployReport, DeployStatus, StackDeployment
from stackflow.repoconfig import RepoConfig


def promotion_order(
    stacks: Sequence[AffectedStack], promotion: Sequence[str]
) -> list[AffectedStack]:
    """``stacks`` by their stage in ``promotion`` (case-insensitive); unlisted stacks last,
    each group in (directory, stack) order."""
    rank = {name.casefold(): i for i, name in enumerate(promotion)}
    return sorted(stacks, key=lambda s: (rank.get(s.stack.casefold(), len(rank)), s.dir, s.stack))


@dataclass(frozen=True, slots=True)
class StackOutcome:
    project: str
    stack: str
    dir: str
    status: DeployStatus
    plan: StackPlan | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    """Secrets are markers, never plaintext."""
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_seconds: float | None = None
    error: StackflowError | None = field(default=None, compare=False)
    """Why a FAILED stack failed, with its exit code (e.g. 2 for a mandatory policy)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "dir": self.dir,
            "status": self.status.value,
            "message": self.message,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_seconds": self.duration_seconds,
            "counts": dict(self.plan.counts) if self.plan else {},
            "outputs": self.outputs,
        }


@dataclass(frozen=True, slots=True)
class DeployResult:
    outcomes: tuple[StackOutcome, ...]
    commit: str
    pull_request: int | None = None

    @property
    def ok(self) -> bool:
        return all(o.status is not DeployStatus.FAILED for o in self.outcomes)

    def to_report(self, *, run_url: str | None = None) -> DeployReport:
        """The shape :func:`stackflow.render.markdown.render_deploy` comments with."""
        return DeployReport(
            stacks=tuple(
                StackDeployment(
                    project=o.project,
                    stack=o.stack,
                    status=o.status,
                    counts=dict(o.plan.counts) if o.plan else {},
                    duration_seconds=o.duration_seconds,
                    message=o.message,
                )
                for o in self.outcomes
            ),
            head=self.commit,
            run_url=run_url,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "pull_request": self.pull_request,
            "ok": self.ok,
            "stacks": [o.to_dict() for o in self.outcomes],
        }


def _record(
    item: AffectedStack,
    commit: str,
    actor: str,
    pull_request: int | None,
    started: datetime,
    finished: datetime,
    result: str,
    message: str | None,
    plan: StackPlan | None = None,
) -> DeployRecord:
    return DeployRecord(
        project=item.project,
        stack=item.stack,
        commit=commit,
        result=result,
        started_at=utc_iso(started),
        finished_at=utc_iso(finished),
        actor=actor,
        pull_request=pull_request,
        message=message,
        counts=dict(plan.counts) if plan else {},
    )


def deploy_stack(
    engine: Engine,
    repo: RepoConfig,
    item: AffectedStack,
    *,
    log: DeploymentLog,
    commit: str,
    actor: str,
    pull_request: int | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> StackOutcome:
    """``up`` one stack and append its record to the deployment log, whatever the result:
    ``stackflow deploy`` runs this per stack, and so does ``stackflow up`` (the deploy
    workflow's per-environment jobs), so every engine change lands in the audit trail."""
    started, tick = clock(), time.monotonic()
    plan: StackPlan | None = None
    outputs: dict[str, Any] = {}
    message: str | None = None
    error: StackflowError | None = None
    try:
        result = engine.up(make_target(repo, repo.root / item.dir, item.stack))
        plan, outputs = result.plan, result.outputs
        status = DeployStatus.SUCCEEDED
    except StackflowError as err:
        status, message, error = DeployStatus.FAILED, err.message, err
    except Exception as err:
        # A bug, not a user error: keep the traceback, but the audit trail still
        # records that this stack's deploy started and did not succeed.
        log.append(
            _record(item, commit, actor, pull_request, started, clock(), "failed", repr(err))
        )
        raise
    record = _record(
        item, commit, actor, pull_request, started, clock(), status.value, message, plan
    )
    log.append(record)
    return StackOutcome(
        item.project,
        item.stack,
        item.dir,
        status,
        plan=plan,
        outputs=outputs,
        message=message,
        started_at=record.started_at,
        finished_at=record.finished_at,
        duration_seconds=round(time.monotonic() - tick, 3),
        error=error,
    )


def deploy(
    engine: Engine,
    repo: RepoConfig,
    stacks: Sequence[AffectedStack],
    *,
    log: DeploymentLog,
    commit: str,
    actor: str,
    pull_request: int | None = None,
    clock: Callable[[], datetime] = utc_now,
    on_stack: Callable[[AffectedStack], None] | None = None,
) -> DeployResult:
    """Run ``up`` on ``stacks`` in promotion order, stopping at the first failure."""
    outcomes: list[StackOutcome] = []
    failed = False
    for item in promotion_order(stacks, repo.promotion):
        if failed:
            outcomes.append(
                StackOutcome(
                    item.project,
                    item.stack,
                    item.dir,
                    DeployStatus.SKIPPED,
                    message="not run: an earlier stack failed",
                )
            )
            continue
        if on_stack is not None:
            on_stack(item)
        outcome = deploy_stack(
            engine,
            repo,
            item,
            log=log,
            commit=commit,
            actor=actor,
            pull_request=pull_request,
            clock=clock,
        )
        failed = outcome.status is DeployStatus.FAILED
        outcomes.append(outcome)
    return DeployResult(outcomes=tuple(outcomes), commit=commit, pull_request=pull_request)
