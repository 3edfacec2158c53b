"""Drift: differences between the state Pulumi recorded and what is in the cloud.

For each long-lived stack (``protected_stacks`` in ``stackflow.yaml`` that have a stack
file in the project), a preview-only refresh asks the providers what really exists; the
differences are a :class:`~stackflow.plan.model.StackPlan` like any other, so the same
renderers show them. With an issue tracker, each drifting stack gets one GitHub issue,
found again by a hidden marker and updated on every run, and closed once the drift is gone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from stackflow.adapters.storage import BlobStore
from stackflow.clock import utc_iso
from stackflow.engine.api import Engine
from stackflow.engine.automation import UNCHECKED_NOTE, make_target
from stackflow.errors import StackflowError
from stackflow.plan.model import Plan, StackPlan
from stackflow.project import Project
from stackflow.repoconfig import RepoConfig

DRIFT_LABEL = "drift"
STATE_PREFIX = "drift"


class IssueTracker(Protocol):
    """What drift needs of GitHub (``stackflow.adapters.github.GitHubClient`` provides it)."""

    def upsert_issue(
        self, title: str, body: str, *, marker: str, labels: Sequence[str] = ()
    ) -> int: ...

    def close_issue(self, marker: str, comment: str | None = None) -> bool: ...


def issue_marker(project: str, stack: str) -> str:
    return f"stackflow-drift:{project}/{stack}"


def long_lived_stacks(repo: RepoConfig, projects: Sequence[Project]) -> list[tuple[Project, str]]:
    """The protected stacks that exist (have a stack file) in each project."""
    return [(p, s) for p in projects for s in p.stacks() if repo.is_protected(s)]


@dataclass(frozen=True, slots=True)
class DriftOutcome:
    project: str
    stack: str
    plan: StackPlan | None
    error: str | None = None
    issue: int | None = None
    """The issue opened or updated for this drift."""
    closed_issue: bool = False
    """An earlier drift issue was closed because the drift is gone."""

    @property
    def drifted(self) -> bool:
        return self.plan is not None and self.plan.has_changes

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "drifted": self.drifted,
            "error": self.error,
            "issue": self.issue,
            "closed_issue": self.closed_issue,
        }


@dataclass(frozen=True, slots=True)
class DriftReport:
    outcomes: tuple[DriftOutcome, ...]

    @property
    def drifted(self) -> bool:
        return any(o.drifted for o in self.outcomes)

    @property
    def errors(self) -> tuple[DriftOutcome, ...]:
        return tuple(o for o in self.outcomes if o.error)

    def plan(self) -> Plan:
        return Plan(stacks=tuple(o.plan for o in self.outcomes if o.plan is not None))


def issue_body(plan: StackPlan) -> str:
    from stackflow.render.markdown import render_comment

    stack = plan.stack
    intro = (
        f"The cloud no longer matches the state of `{plan.project}/{stack}`: someone "
        "or something changed these resources outside Pulumi. This issue is updated by every "
        "drift check and closed, with the run's link, once the stack is clean.\n\n"
        "**Two ways out** (each runs a drift check afterwards and closes this issue when "
        "clean; also from the drift workflow's *Run workflow* button):\n\n"
        f"- Put the cloud back to what Git says: `stackflow drift --stack {stack} "
        "--remediate` (an `up` of the commit last deployed to it).\n"
        f"- Keep what the cloud has: `stackflow drift --stack {stack} --accept` (a "
        "`refresh` into the state), then codify the summary it prints in a pull request, "
        "or the next `up` puts the cloud back.\n\n"
    )
    return intro + render_comment(Plan(stacks=(plan,)), limit=60_000)


def check_drift(
    engine: Engine,
    repo: RepoConfig,
    stacks: Sequence[tuple[Project, str]],
    *,
    issues: IssueTracker | None = None,
    on_stack: Callable[[str], None] | None = None,
    run_url: str | None = None,
) -> DriftReport:
    """A preview-only refresh of each stack; one failing stack does not stop the others.
    A clean stack's drift issue is closed with a link to ``run_url`` (this run)."""
    outcomes: list[DriftOutcome] = []
    for project, stack in stacks:
        if on_stack is not None:
            on_stack(f"{project.name}/{stack}")
        try:
            plan = engine.refresh(make_target(repo, project.dir, stack), preview_only=True)
        except StackflowError as err:
            outcomes.append(DriftOutcome(project.name, stack, None, error=err.message))
            continue
        if plan.drift_unchecked and not plan.has_changes:
            # Nothing drifted among what could be read; the rest cannot say "no drift".
            why = "; ".join(
                d.message for d in plan.diagnostics if d.message.startswith(UNCHECKED_NOTE)
            )
            outcomes.append(DriftOutcome(project.name, stack, plan, error=why))
            continue
        issue, closed = None, False
        if issues is not None:
            marker = issue_marker(project.name, stack)
            if plan.has_changes:
                issue = issues.upsert_issue(
                    f"Drift in {project.name}/{stack}",
                    issue_body(plan),
                    marker=marker,
                    labels=(DRIFT_LABEL,),
                )
            else:
                where = f" ({run_url})" if run_url else ""
                closed = issues.close_issue(
                    marker, comment=f"The latest drift check{where} found no differences; closing."
                )
        outcomes.append(DriftOutcome(project.name, stack, plan, issue=issue, closed_issue=closed))
    return DriftReport(outcomes=tuple(outcomes))


@dataclass(frozen=True, slots=True)
class DriftState:
    """What the last drift check found for one stack, kept beside the deployment log so
    ``stackflow status`` can show it without asking the cloud again."""

    project: str
    stack: str
    checked_at: str
    drifted: bool
    error: str | None = None
    """Why the check could not run (``drifted`` is then False and means nothing)."""
    issue: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "checked_at": self.checked_at,
            "drifted": self.drifted,
            "error": self.error,
            "issue": self.issue,
            "counts": dict(self.counts),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftState:
        return cls(
            project=str(data["project"]),
            stack=str(data["stack"]),
            checked_at=str(data["checked_at"]),
            drifted=bool(data["drifted"]),
            error=data.get("error"),
            issue=data.get("issue"),
            counts=dict(data.get("counts") or {}),
        )


class DriftStates:
    """The last drift state of each stack: ``drift/<project>/<stack>.json`` in the records
    store, overwritten by every check (the issue keeps the history)."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store

    def save(self, report: DriftReport, checked_at: datetime) -> None:
        for o in report.outcomes:
            state = DriftState(
                project=o.project,
                stack=o.stack,
                checked_at=utc_iso(checked_at),
                drifted=o.drifted,
                error=o.error,
                issue=o.issue,
                counts=dict(o.plan.counts) if o.plan else {},
            )
            self.put(state)

    def put(self, state: DriftState) -> None:
        data = json.dumps(state.to_dict(), sort_keys=True).encode("utf-8") + b"\n"
        self.store.put(f"{STATE_PREFIX}/{state.project}/{state.stack}.json", data)

    def load(self) -> dict[tuple[str, str], DriftState]:
        found: dict[tuple[str, str], DriftState] = {}
        for key in self.store.list(f"{STATE_PREFIX}/"):
            blob = self.store.get(key)
            if blob is None or not key.endswith(".json"):
                continue
            try:
                state = DriftState.from_dict(json.loads(blob.data))
            except (ValueError, KeyError, TypeError) as err:
                raise StackflowError(
                    f"reading the drift state {key} in {self.store.describe()}: it is not a "
                    f"drift state ({err}); delete it, the next drift check writes it again"
                ) from err
            found[(state.project, state.stack)] = state
        return found
