"""``ephemeral list`` and ``ephemeral reap``: what runs, for how long, and what must go.

Both read every record of the registry, then ask GitHub (when there is a client) about
each record's pull request and branch. Reads and questions run with bounded concurrency.
A question GitHub fails to answer counts as "unknown", which is never a reason to destroy,
and holds back a TTL-based destroy of that pull request's stack (a label extending the TTL
could be unseen). Without a GitHub client at all, the TTL in the record is the rule.

The reaper destroys a registered branch stack when its pull request is closed or merged,
its branch is gone, or its TTL (from creation; a label ``<extend_label_prefix><hours>`` on
the pull request overrides it) has run out, and finishes any teardown an earlier run left
``destroying``. It never touches a stack without a record, a protected stack, or a record
whose own fields disagree with its key -- checked here when deciding and again in
:func:`~stackflow.ephemeral.lifecycle.teardown`.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from stackflow.clock import utc_iso
from stackflow.ephemeral.lifecycle import (
    Environments,
    PullRequests,
    TeardownOutcome,
    TeardownStatus,
    teardown,
)
from stackflow.ephemeral.registry import (
    Entry,
    EnvironmentRecord,
    parallel,
)
from stackflow.errors import StackflowError

UNKNOWN = "unknown"
GITHUB_WORKERS = 4
"""Records whose pull request and branch are looked up on GitHub at once."""


@dataclass(frozen=True, slots=True)
class Facts:
    """What GitHub says about a record's pull request and branch (``None``: unknown)."""

    pr_state: str = UNKNOWN
    """``open``, ``closed``, ``merged``, ``unknown`` (no PR, no client, or no answer)."""
    labels: tuple[str, ...] = ()
    branch_exists: bool | None = None
    answered: bool = True
    """False when GitHub failed to answer about the pull request: a TTL label may then be
    unseen, so an expired TTL is not acted on until it answers."""


@dataclass(frozen=True, slots=True)
class Observed:
    """One registry entry and what is known about it now."""

    entry: Entry
    facts: Facts


def observe(envs: Environments) -> list[Observed]:
    """Every registry entry with its facts: records read ``registry.read_workers`` at a
    time, then GitHub asked at most :data:`GITHUB_WORKERS` questions at a time (GitHub
    asks integrators not to hammer it; the client also spaces and retries its requests)."""
    entries = envs.registry.entries()
    github = envs.github
    if github is None:
        return [Observed(e, Facts()) for e in entries]

    def one(entry: Entry) -> Observed:
        return Observed(entry, _facts(github, entry.record) if entry.record else Facts())

    return parallel(one, entries, GITHUB_WORKERS)


def _facts(github: PullRequests, record: EnvironmentRecord) -> Facts:
    pr_state = UNKNOWN
    labels: tuple[str, ...] = ()
    answered = True
    pr = record.pr
    if pr is not None:
        try:
            pr_state = github.pull_request_state(pr)
            if pr_state == "open":
                labels = tuple(github.pull_request_labels(pr))
        except StackflowError:
            answered = False
    exists = None
    if pr_state == UNKNOWN:  # an open PR's branch exists: deleting it closes the PR
        try:
            exists = github.branch_exists(record.branch)
        except StackflowError:
            exists = None
    return Facts(pr_state=pr_state, labels=labels, branch_exists=exists, answered=answered)


def effective_ttl(envs: Environments, record: EnvironmentRecord, labels: Iterable[str]) -> float:
    """The record's TTL, or the largest valid ``<prefix><hours>`` label on its PR."""
    prefix = envs.repo.ephemeral.extend_label_prefix
    hours = []
    for label in labels:
        if prefix and label.startswith(prefix):
            try:
                value = float(label[len(prefix) :])
            except ValueError:
                continue
            if 0 < value < float("inf"):
                hours.append(value)
    return max(hours) if hours else record.ttl_hours


class Action(StrEnum):
    DESTROY = "destroy"
    FINISH = "finish"
    """Complete a teardown an earlier run left ``destroying`` or ``destroyed``."""
    KEEP = "keep"
    SKIP = "skip"
    """Never touched: protected, not a branch-stack name, or an unreadable record."""


@dataclass(frozen=True, slots=True)
class Decision:
    stack: str
    action: Action
    reason: str
    record: EnvironmentRecord | None
    facts: Facts
    expires_at: datetime | None


def decide(envs: Environments, observed: Observed, now: datetime) -> Decision:
    """What the reaper does with one entry, and why. Pure given its inputs."""
    entry, facts = observed.entry, observed.facts
    record = entry.record
    if record is None:
        return Decision(entry.key_stack, Action.SKIP, entry.problem or "", None, facts, None)
    try:
        envs.guard(entry.key_stack, record)
    except StackflowError as err:
        return Decision(entry.key_stack, Action.SKIP, err.message, record, facts, None)
    expires = record.expires_at(effective_ttl(envs, record, facts.labels))

    def verdict(action: Action, reason: str) -> Decision:
        return Decision(record.stack, action, reason, record, facts, expires)

    if not record.live:
        return verdict(Action.FINISH, f"left {record.state.value} by an earlier run")
    if facts.pr_state in ("closed", "merged"):
        return verdict(Action.DESTROY, f"pull request #{record.pr} is {facts.pr_state}")
    if facts.branch_exists is False:
        return verdict(Action.DESTROY, f"branch {record.branch!r} no longer exists")
    if now >= expires and not facts.answered:
        return verdict(
            Action.KEEP,
            f"TTL ran out at {utc_iso(expires)}, but GitHub did not answer about "
            f"pull request #{record.pr} (a TTL label may extend it); a later run decides",
        )
    if now >= expires:
        return verdict(Action.DESTROY, f"TTL ran out at {utc_iso(expires)}")
    return verdict(Action.KEEP, f"{_hours(expires - now)} h of TTL left")


@dataclass(frozen=True, slots=True)
class ReapItem:
    decision: Decision
    outcome: TeardownOutcome | None
    """None under ``--dry-run`` and for entries kept or skipped."""

    def to_dict(self) -> dict[str, Any]:
        d = self.decision
        return {
            "stack": d.stack,
            "branch": d.record.branch if d.record else None,
            "pr": d.record.pr if d.record else None,
            "action": d.action.value,
            "reason": d.reason,
            "pr_state": d.facts.pr_state,
            "expires_at": utc_iso(d.expires_at) if d.expires_at else None,
            "outcome": self.outcome.status.value if self.outcome else None,
            "detail": self.outcome.detail if self.outcome else None,
        }


@dataclass(frozen=True, slots=True)
class ReapReport:
    items: tuple[ReapItem, ...]
    dry_run: bool

    @property
    def failed(self) -> tuple[ReapItem, ...]:
        return tuple(
            i for i in self.items if i.outcome and i.outcome.status is TeardownStatus.FAILED
        )

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "items": [i.to_dict() for i in self.items]}


def reap(envs: Environments, *, dry_run: bool = False) -> ReapReport:
    """Decide for every registered stack, then (unless ``dry_run``) tear down those that
    must go, at most ``ephemeral.max_parallel`` at once. Safe to run again at any time."""
    now = envs.clock()
    decisions = [decide(envs, o, now) for o in observe(envs)]
    doomed = [d for d in decisions if d.action in (Action.DESTROY, Action.FINISH)]
    outcomes: dict[str, TeardownOutcome] = {}
    if not dry_run and doomed:
        workers = min(envs.repo.ephemeral.max_parallel, len(doomed))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            done = pool.map(lambda d: teardown(envs, d.stack, decided_on=d.record), doomed)
            outcomes = {o.stack: o for o in done}
    return ReapReport(
        items=tuple(ReapItem(d, outcomes.get(d.stack)) for d in decisions), dry_run=dry_run
    )


@dataclass(frozen=True, slots=True)
class Listed:
    record: EnvironmentRecord
    facts: Facts
    age_hours: float
    ttl_left_hours: float

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "stack": r.stack,
            "branch": r.branch,
            "pr": r.pr,
            "state": r.state.value,
            "pr_state": self.facts.pr_state,
            "created_at": utc_iso(r.created_at),
            "last_deployed_at": utc_iso(r.last_deployed_at) if r.last_deployed_at else None,
            "head": r.head,
            "age_hours": self.age_hours,
            "ttl_left_hours": self.ttl_left_hours,
            "last_error": r.last_error,
            "outputs": r.outputs,
        }


@dataclass(frozen=True, slots=True)
class Listing:
    environments: tuple[Listed, ...]
    unreadable: tuple[Entry, ...]

    @property
    def running(self) -> int:
        return len(self.environments)

    @property
    def stack_hours(self) -> float:
        """Hours the listed stacks have existed, summed: what they have cost so far."""
        return round(sum(e.age_hours for e in self.environments), 1)

    @property
    def committed_hours(self) -> float:
        """Hours they may still run before the reaper takes them, summed."""
        return round(sum(e.ttl_left_hours for e in self.environments), 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "environments": [e.to_dict() for e in self.environments],
            "unreadable": [{"stack": e.key_stack, "problem": e.problem} for e in self.unreadable],
            "cost": {
                "running": self.running,
                "stack_hours": self.stack_hours,
                "committed_hours": self.committed_hours,
            },
        }


def list_environments(envs: Environments) -> Listing:
    """Every registered branch stack with its age, TTL left and pull-request state."""
    now = envs.clock()
    listed, unreadable = [], []
    for o in observe(envs):
        record = o.entry.record
        if record is None:
            unreadable.append(o.entry)
            continue
        expires = record.expires_at(effective_ttl(envs, record, o.facts.labels))
        listed.append(
            Listed(
                record=record,
                facts=o.facts,
                age_hours=_hours(now - record.created_at),
                ttl_left_hours=max(0.0, _hours(expires - now)),
            )
        )
    return Listing(environments=tuple(listed), unreadable=tuple(unreadable))


def _hours(delta: timedelta) -> float:
    return round(float(delta.total_seconds()) / 3600, 1)
