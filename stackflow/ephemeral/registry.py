"""The registry of branch stacks: one JSON record per stack, beside the Pulumi state.

Key: ``registry/<project>/<stack>.json`` in a :class:`~stackflow.adapters.storage.BlobStore` (a
folder for the file backend, an S3 prefix for the S3 backend). The registry is what the
reaper trusts: a stack without a record is never touched. Every change is a
compare-and-swap (``if_none_match`` to create, ``if_match`` to update or delete) retried on
:class:`~stackflow.adapters.storage.PreconditionFailedError`, so two CI jobs changing the same
record cannot lose each other's update.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from stackflow.adapters.storage import BlobStore, PreconditionFailedError
from stackflow.clock import utc_iso
from stackflow.errors import StackflowError

RECORD_VERSION = 1
PREFIX = "registry"
CAS_ATTEMPTS = 8
READ_WORKERS = 16
"""Concurrent GETs when listing the registry (see docs/PERFORMANCE.md, "Ephemeral")."""


class State(StrEnum):
    DEPLOYING = "deploying"
    """Registered before ``up`` (so the reaper always knows the stack); the ``up`` is
    running, or crashed before it could say how it went."""
    ACTIVE = "active"
    """The last ``up`` succeeded."""
    FAILED = "failed"
    """The last ``up`` failed (``last_error`` says why); the stack may hold resources."""
    DESTROYING = "destroying"
    """Doomed: a ``down`` or the reaper started destroying it. Only finishing remains."""
    DESTROYED = "destroyed"
    """Destroyed and removed from the backend; only the record is left to delete."""


LIVE = frozenset({State.DEPLOYING, State.ACTIVE, State.FAILED})
MAX_TTL_HOURS = 24.0 * 90
"""No record or label keeps a branch stack longer than 90 days."""


@dataclass(frozen=True, slots=True)
class EnvironmentRecord:
    """One branch stack. Times are timezone-aware UTC."""

    project: str
    stack: str
    branch: str
    pr: int | None
    created_at: datetime
    ttl_hours: float
    """Lifetime from ``created_at``, from ``ephemeral.ttl_hours`` at the last ``up``; a
    pull-request label ``<extend_label_prefix><hours>`` overrides it at reap time."""
    state: State = State.ACTIVE
    last_deployed_at: datetime | None = None
    head: str | None = None
    """The commit last deployed."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """Stack outputs as the engine reports them: secrets are ``{"$secret": digest}``."""
    last_error: str | None = None
    """Why the last ``up`` (state ``failed``) or destroy (``destroying``) failed."""

    @property
    def live(self) -> bool:
        """Not being torn down: the reaper's rules apply, ``up`` may run again."""
        return self.state in LIVE

    def expires_at(self, ttl_hours: float | None = None) -> datetime:
        hours = self.ttl_hours if ttl_hours is None else ttl_hours
        return self.created_at + timedelta(hours=max(0.0, min(hours, MAX_TTL_HOURS)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "project": self.project,
            "stack": self.stack,
            "branch": self.branch,
            "pr": self.pr,
            "created_at": utc_iso(self.created_at),
            "ttl_hours": self.ttl_hours,
            "state": self.state.value,
            "last_deployed_at": utc_iso(self.last_deployed_at) if self.last_deployed_at else None,
            "head": self.head,
            "outputs": self.outputs,
            "last_error": self.last_error,
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), sort_keys=True, indent=1).encode("utf-8") + b"\n"

    @classmethod
    def from_dict(cls, data: Any) -> EnvironmentRecord:
        if not isinstance(data, dict):
            raise ValueError(f"it is {type(data).__name__}, not a JSON object")
        if data.get("version") != RECORD_VERSION:
            raise ValueError(f"record version {data.get('version')!r} is not {RECORD_VERSION}")
        deployed = data.get("last_deployed_at")
        pr = data.get("pr")
        if pr is not None and (not isinstance(pr, int) or isinstance(pr, bool)):
            raise ValueError(f"pr {pr!r} is not a number")
        ttl = data.get("ttl_hours")
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl < math.inf:
            raise ValueError(f"ttl_hours {ttl!r} is not a positive number of hours")
        return cls(
            project=str(data["project"]),
            stack=str(data["stack"]),
            branch=str(data["branch"]),
            pr=pr,
            created_at=_parse_time(data["created_at"]),
            ttl_hours=min(float(ttl), MAX_TTL_HOURS),
            state=State(data["state"]),
            last_deployed_at=_parse_time(deployed) if deployed else None,
            head=data.get("head"),
            outputs=dict(data.get("outputs") or {}),
            last_error=data.get("last_error"),
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """A record as listed: the stack named by its key, the record (None when unreadable)
    and why it could not be read."""

    key_stack: str
    record: EnvironmentRecord | None
    problem: str | None = None


NewRecord = TypeVar("NewRecord", EnvironmentRecord, EnvironmentRecord | None)


class Registry:
    """The records of one Pulumi project's branch stacks."""

    def __init__(self, store: BlobStore, project: str, *, read_workers: int = READ_WORKERS):
        self.store = store
        self.project = project
        self.read_workers = read_workers

    @property
    def prefix(self) -> str:
        return f"{PREFIX}/{self.project}/"

    def key(self, stack: str) -> str:
        return f"{self.prefix}{stack}.json"

    def get(self, stack: str) -> EnvironmentRecord | None:
        blob = self.store.get(self.key(stack))
        return None if blob is None else self._decode(stack, blob.data)

    def mutate(
        self, stack: str, change: Callable[[EnvironmentRecord | None], NewRecord]
    ) -> NewRecord:
        """Apply ``change`` -- given the current record (None: absent), the new one (None:
        delete it) -- with compare-and-swap, re-reading and retrying when another
        writer got there first. Returns what was written (None: deleted or left absent).
        ``change`` may raise to abort; it may be called more than once."""
        key = self.key(stack)
        for _ in range(CAS_ATTEMPTS):
            blob = self.store.get(key)
            current = None if blob is None else self._decode(stack, blob.data)
            new = change(current)
            try:
                if new is None:
                    if blob is not None:
                        self.store.delete(key, if_match=blob.etag)
                elif blob is None:
                    self.store.put(key, new.to_bytes(), if_none_match=True)
                elif new != current:
                    self.store.put(key, new.to_bytes(), if_match=blob.etag)
            except PreconditionFailedError:
                continue
            return new
        raise StackflowError(
            f"updating the registry record {key} in {self.store.describe()}: it kept changing "
            f"under {CAS_ATTEMPTS} attempts; another job is busy with this stack, retry later"
        )

    def stacks(self) -> list[str]:
        """The stacks that have a record (one LIST), sorted."""
        names = (k[len(self.prefix) :] for k in self.store.list(self.prefix))
        return [n[: -len(".json")] for n in names if n.endswith(".json") and "/" not in n]

    def entries(self) -> list[Entry]:
        """Every record of the project, read with bounded concurrency, sorted by key."""
        return parallel(self.entry, self.stacks(), self.read_workers)

    def entry(self, stack: str) -> Entry:
        """The record of ``stack`` as listed: unreadable or vanished ones say why."""
        try:
            record = self.get(stack)
        except StackflowError as err:
            return Entry(stack, None, err.message)
        if record is None:
            return Entry(stack, None, "deleted while listing")
        return Entry(stack, record)

    def _decode(self, stack: str, data: bytes) -> EnvironmentRecord:
        try:
            return EnvironmentRecord.from_dict(json.loads(data))
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as err:
            raise StackflowError(
                f"reading the registry record {self.key(stack)} in {self.store.describe()}: "
                f"it is not a valid record ({err}); fix or delete it by hand"
            ) from err


Item = TypeVar("Item")
Result = TypeVar("Result")


def parallel(work: Callable[[Item], Result], items: Sequence[Item], workers: int) -> list[Result]:
    """``work`` over ``items`` in order, at most ``workers`` at once (I/O-bound work)."""
    if len(items) <= 1 or workers <= 1:
        return [work(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(work, items))


def _parse_time(text: Any) -> datetime:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return moment.astimezone(UTC)
