"""The two ways out of drift, each ending with a fresh drift check that closes the drift
issue (with the run's link) when the stack is clean:

- **remediate**: ``up`` of the commit last deployed successfully to the stack (from the
  deployment log), from a worktree of that commit, so the cloud matches Git again. The
  record is marked ``kind: remediation``.
- **accept**: ``refresh`` into the state, so the state matches the cloud; what the cloud
  has that the code does not is summarised as Markdown for the pull request that
  codifies it (until then the next ``up`` would put the cloud back).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from stackflow.affected import AffectedStack
from stackflow.engine.api import Engine
from stackflow.engine.automation import make_target
from stackflow.errors import StackflowError
from stackflow.gitops.deploylog import DeploymentLog, DeployRecord, Started
from stackflow.gitops.drift import (
    DriftOutcome,
    DriftReport,
    DriftStates,
    IssueTracker,
    issue_marker,
)
from stackflow.plan.model import StackPlan
from stackflow.project import Project
from stackflow.repoconfig import RepoConfig


class MarkedLog(DeploymentLog):
    """The deployment log, with every record it appends marked with ``kind``."""

    def __init__(self, log: DeploymentLog, kind: str) -> None:
        super().__init__(log.store)
        self.kind = kind

    def append(self, record: DeployRecord) -> str:
        return super().append(replace(record, kind=self.kind))

    def start(self, record: DeployRecord) -> Started:
        return super().start(replace(record, kind=self.kind))

    def finish(self, started: Started, record: DeployRecord) -> None:
        super().finish(started, replace(record, kind=self.kind))


@dataclass(frozen=True, slots=True)
class RemediationResult:
    project: str
    stack: str
    action: str
    """``remediate`` or ``accept``."""
    drift: StackPlan
    """What differed before (for accept: what must now be codified)."""
    after: StackPlan
    """The drift check that followed."""
    commit: str | None = None
    """The commit deployed (remediate)."""
    issue_closed: bool = False

    @property
    def clean(self) -> bool:
        return not self.after.has_changes

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "action": self.action,
            "commit": self.commit,
            "drift_counts": dict(self.drift.counts),
            "clean": self.clean,
            "issue_closed": self.issue_closed,
        }


def deployed_commit(records: Sequence[DeployRecord]) -> str | None:
    """The commit of the newest successful deployment."""
    good = [r for r in records if r.result == "succeeded"]
    return max(good, key=lambda r: (r.started_at, r.finished_at)).commit if good else None


def _finish(
    engine: Engine,
    repo: RepoConfig,
    project: Project,
    stack: str,
    *,
    issues: IssueTracker | None,
    states: DriftStates | None,
    now: datetime,
    how: str,
    run_url: str | None,
) -> tuple[StackPlan, bool]:
    """The drift check after a way out; closes the issue when the stack is clean."""
    after = engine.refresh(make_target(repo, project.dir, stack), preview_only=True)
    closed = False
    if issues is not None and not after.has_changes and not after.drift_unchecked:
        where = f" in {run_url}" if run_url else ""
        closed = issues.close_issue(
            issue_marker(project.name, stack),
            comment=f"{how}{where}; the drift check that followed found no differences. Closing.",
        )
    if states is not None:
        outcome = DriftOutcome(project.name, stack, after, closed_issue=closed)
        states.save(DriftReport(outcomes=(outcome,)), now)
    return after, closed


def remediate(
    engine: Engine,
    repo: RepoConfig,
    project: Project,
    stack: str,
    *,
    git: Any,
    log: DeploymentLog,
    actor: str,
    now: datetime,
    issues: IssueTracker | None = None,
    states: DriftStates | None = None,
    run_url: str | None = None,
) -> RemediationResult:
    """``up`` of the stack's deployed commit from a worktree, then a drift check."""
    from stackflow.adapters import gitrepo
    from stackflow.gitops.deploy import deploy_stack

    doing = f"remediating drift in {project.name}/{stack}"
    commit = deployed_commit(log.records(project=project.name, stack=stack))
    if commit is None or commit.endswith("+dirty"):
        raise StackflowError(
            f"{doing}: the deployment log has no successful deployment of a commit to put "
            "back; deploy it through the pipeline, or accept the drift with --accept"
        )
    target = make_target(repo, project.dir, stack)
    drift = engine.refresh(target, preview_only=True)
    rel = project.dir.relative_to(repo.root).as_posix() or "."
    with gitrepo.worktree(git, commit) as tree:
        outcome = deploy_stack(
            engine,
            replace(repo, root=tree, backend=repo.backend_url),
            AffectedStack(dir=rel, project=project.name, stack=stack),
            log=MarkedLog(log, "remediation"),
            commit=commit,
            actor=actor,
        )
    if outcome.error is not None:
        raise outcome.error
    after, closed = _finish(
        engine, repo, project, stack, issues=issues, states=states, now=now,
        how=f"Remediated with `stackflow drift --stack {stack} --remediate` (an up of "
        f"{commit[:12]})", run_url=run_url,
    )  # fmt: skip
    return RemediationResult(project.name, stack, "remediate", drift, after, commit, closed)


def accept(
    engine: Engine,
    repo: RepoConfig,
    project: Project,
    stack: str,
    *,
    now: datetime,
    issues: IssueTracker | None = None,
    states: DriftStates | None = None,
    run_url: str | None = None,
) -> RemediationResult:
    """``refresh`` the cloud into the state, then a drift check."""
    target = make_target(repo, project.dir, stack)
    drift = engine.refresh(target, preview_only=True)
    engine.refresh(target, preview_only=False)
    after, closed = _finish(
        engine, repo, project, stack, issues=issues, states=states, now=now,
        how=f"Accepted into the state with `stackflow drift --stack {stack} --accept`; "
        "codify it in a pull request", run_url=run_url,
    )  # fmt: skip
    return RemediationResult(project.name, stack, "accept", drift, after, None, closed)


def _cell(value: Any) -> str:
    from stackflow.plan.values import display

    text = json.dumps(display(value), sort_keys=True)
    text = text if len(text) <= 120 else text[:119] + "…"
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def codify_summary(plan: StackPlan) -> str:
    """What the state accepted and the code does not have yet, for a pull request."""
    head = f"## Drift accepted into the state of `{plan.project}/{plan.stack}`\n\n"
    if not plan.has_changes:
        return head + "Nothing differed: there is nothing to codify.\n"
    lines = [
        head + "The state now matches the cloud; the code does not. Put these into the "
        "stack's code (or config) in a pull request, or the next `up` puts the cloud back:\n",
        "| Resource | Type | In the cloud now |",
        "|---|---|---|",
    ]
    for change in plan.changes:
        if change.op.value == "same":
            continue
        if change.op.value == "delete":
            what = "deleted outside Pulumi: remove it from the code"
        elif not change.diffs:
            what = f"{change.op.value} (no property details)"
        else:
            what = "<br>".join(f"`{d.path}`: {_cell(d.old)} → {_cell(d.new)}" for d in change.diffs)
        lines.append(f"| `{change.name}` | `{change.type}` | {what} |")
    return "\n".join(lines) + "\n"
