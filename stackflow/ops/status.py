"""``stackflow status``: every environment at a glance, for people who do not read Git logs.

One row per stack of every project (from its stack file): its environment kind, whether it
is protected, the last deployment (commit, pull request, who, when, result), how many
commits on the default branch it has not received yet, and what the last drift check
said. Then the ephemeral branch stacks with their pull request, age, TTL left and
stack-hours. Sources are read once by the caller and handed in; this module only joins
them into a :class:`StatusReport`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from stackflow.clock import utc_iso
from stackflow.gitops.deploylog import DeployRecord
from stackflow.gitops.drift import DriftState
from stackflow.project import Project
from stackflow.repoconfig import RepoConfig

if TYPE_CHECKING:
    from stackflow.ephemeral.reaper import Listing

COMPLETED = ("succeeded", "failed")
"""Record results that end a deployment; anything else (a deployment still running, one
cancelled) is shown as it is but never counts as the stack's deployed commit."""


class History(Protocol):
    """What status asks of git (:class:`GitHistory` answers from a clone)."""

    def pending(self, deployed: str) -> int | None:
        """First-parent commits (merges, squashes) on the default branch that ``deployed``
        does not contain; None when
        the commit is unknown to this clone."""
        ...

    def author(self, sha: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class LastDeployment:
    commit: str
    result: str
    at: str
    """When it finished (UTC, the record's form)."""
    actor: str
    author: str | None
    """The commit's author, when the clone knows the commit."""
    pull_request: int | None
    message: str | None

    @property
    def short(self) -> str:
        return self.commit[:7]

    def to_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "result": self.result,
            "at": self.at,
            "actor": self.actor,
            "author": self.author,
            "pull_request": self.pull_request,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class StackStatus:
    project: str
    stack: str
    kind: str | None
    """The stack's ``stackflow:environment``; None when its stack file names none."""
    protected: bool
    last: LastDeployment | None
    """The newest record of any result."""
    deployed: str | None
    """The commit of the newest successful deployment: what runs there."""
    pending: int | None
    """Commits on the default branch not yet deployed here; None when unknown (nothing
    deployed, or the deployed commit is not in this clone)."""
    drift: DriftState | None

    @property
    def drift_label(self) -> str:
        if self.drift is None:
            return "never checked"
        if self.drift.error:
            return "check failed"
        return "drifted" if self.drift.drifted else "clean"

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "kind": self.kind,
            "protected": self.protected,
            "last_deployment": self.last.to_dict() if self.last else None,
            "deployed_commit": self.deployed,
            "pending_commits": self.pending,
            "drift": self.drift_label,
            "drift_checked_at": self.drift.checked_at if self.drift else None,
            "drift_issue": self.drift.issue if self.drift else None,
        }


@dataclass(frozen=True, slots=True)
class EphemeralStatus:
    stack: str
    branch: str
    pr: int | None
    state: str
    age_hours: float
    ttl_left_hours: float

    @property
    def stack_hours(self) -> float:
        """Estimated cost so far: one stack running since it was created."""
        return self.age_hours

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "branch": self.branch,
            "pr": self.pr,
            "state": self.state,
            "age_hours": self.age_hours,
            "ttl_left_hours": self.ttl_left_hours,
            "stack_hours": self.stack_hours,
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    generated_at: str
    stacks: tuple[StackStatus, ...]
    ephemeral: tuple[EphemeralStatus, ...]

    @property
    def ephemeral_stack_hours(self) -> float:
        return round(sum(e.stack_hours for e in self.ephemeral), 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "stacks": [s.to_dict() for s in self.stacks],
            "ephemeral": [e.to_dict() for e in self.ephemeral],
            "ephemeral_stack_hours": self.ephemeral_stack_hours,
        }


def latest(records: Iterable[DeployRecord]) -> DeployRecord | None:
    """The newest record: by start, and of two with the same start, the completed one."""
    best = None
    for r in records:
        key = (r.started_at, r.result in COMPLETED, r.finished_at)
        if best is None or key >= best[0]:
            best = (key, r)
    return None if best is None else best[1]


def last_success(records: Iterable[DeployRecord]) -> DeployRecord | None:
    return latest(r for r in records if r.result == "succeeded")


def collect_status(
    repo: RepoConfig,
    stacks: Sequence[tuple[Project, str, str | None]],
    records: Sequence[DeployRecord],
    drift: Mapping[tuple[str, str], DriftState],
    history: History | None,
    *,
    now: datetime,
    ephemeral: Listing | None = None,
) -> StatusReport:
    """Join ``stacks`` ((project, stack, environment kind) from the stack files), the
    deployment log, the last drift states and the ephemeral listing into one report."""
    by_stack: dict[tuple[str, str], list[DeployRecord]] = {}
    for r in records:
        by_stack.setdefault((r.project, r.stack), []).append(r)
    rows = []
    for project, stack, kind in stacks:
        mine = by_stack.get((project.name, stack), [])
        last, good = latest(mine), last_success(mine)
        rows.append(
            StackStatus(
                project=project.name,
                stack=stack,
                kind=kind,
                protected=repo.is_protected(stack),
                last=_last(last, history),
                deployed=good.commit if good else None,
                pending=history.pending(good.commit) if good and history else None,
                drift=drift.get((project.name, stack)),
            )
        )
    envs = tuple(
        EphemeralStatus(
            stack=e.record.stack,
            branch=e.record.branch,
            pr=e.record.pr,
            state=e.record.state.value,
            age_hours=e.age_hours,
            ttl_left_hours=e.ttl_left_hours,
        )
        for e in (ephemeral.environments if ephemeral else ())
    )
    return StatusReport(generated_at=utc_iso(now), stacks=tuple(rows), ephemeral=envs)


def _last(record: DeployRecord | None, history: History | None) -> LastDeployment | None:
    if record is None:
        return None
    return LastDeployment(
        commit=record.commit,
        result=record.result,
        at=record.finished_at or record.started_at,
        actor=record.actor,
        author=history.author(record.commit) if history else None,
        pull_request=record.pull_request,
        message=record.message,
    )


class GitHistory:
    """:class:`History` from a clone: commits counted against the default branch (the
    remote's, else ``main``/``master``, else HEAD)."""

    def __init__(self, git: Any, branch: str | None = None) -> None:
        from stackflow.adapters import gitrepo

        self.git = git
        self.branch = branch or gitrepo.default_branch(git) or "HEAD"

    def _known(self, sha: str) -> bool:
        from git import GitCommandError

        try:
            self.git.git.cat_file("-e", f"{sha}^{{commit}}")
        except (GitCommandError, ValueError):
            return False
        return True

    def pending(self, deployed: str) -> int | None:
        if not self._known(deployed):
            return None
        return int(self.git.git.rev_list("--count", "--first-parent", f"{deployed}..{self.branch}"))

    def author(self, sha: str) -> str | None:
        if not self._known(sha):
            return None
        return str(self.git.git.log("-1", "--format=%an", sha)) or None
