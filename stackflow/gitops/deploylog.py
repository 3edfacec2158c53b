"""The deployment log: one record per ``up`` a merge ran, and the per-stack deploy lock.

It is the audit trail (who deployed which commit of which pull request to which stack,
when, and whether it worked) and the raw data for delivery metrics. It lives in the
records location (:func:`stackflow.adapters.storage.resolve_locations`): beside a file or S3
state, or wherever ``records:`` in stackflow.yaml says.

S3 has no append, and two merges may deploy at once, so the log is **one object per
record** rather than one growing file: ``deployments/<project>/<stack>/<start>-<id>.json``,
each holding one JSON line, written with ``if_none_match`` so nothing is ever overwritten.
Readers list the prefix and sort by start time. No compare-and-swap retry loop is needed
and no writer can lose another's record.

A record is written ``started`` before ``up`` and overwritten (``if_match`` its own etag)
with the outcome after: ``succeeded``, ``failed`` or ``cancelled`` (SIGINT/SIGTERM). A run
killed outright leaves ``started``, so no deploy is ever missing from the log. A deploy
skipped because a newer commit is already deployed is logged ``superseded``.

The log is also what a deploy reconciles from: :meth:`DeploymentLog.last_succeeded` is
the commit the stack runs now. :class:`StackLock` (``locks/<project>/<stack>.json``,
compare-and-swap) lets one deploy per stack run at a time.
"""

from __future__ import annotations

import getpass
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from stackflow.adapters.storage import BlobStore, PreconditionFailedError, open_store
from stackflow.clock import utc_iso, utc_now
from stackflow.errors import StackflowError

PREFIX = "deployments"
LOCKS = "locks"
RESULTS = ("started", "succeeded", "failed", "cancelled", "superseded")


def current_actor(environ: Mapping[str, str] | None = None) -> str:
    """Who is deploying: ``GITHUB_ACTOR`` in Actions, else the local user."""
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTOR"):
        return env["GITHUB_ACTOR"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True, slots=True)
class DeployRecord:
    project: str
    stack: str
    commit: str
    result: str
    """One of :data:`RESULTS`."""
    started_at: str
    finished_at: str | None
    """None while ``started``."""
    actor: str
    pull_request: int | None = None
    message: str | None = None
    """Why it failed (the one-line error), or None."""
    counts: dict[str, int] = field(default_factory=dict)
    """Resources per operation, as the engine reported them."""
    kind: str = "deploy"
    """``deploy``, or ``rollback`` for a break-glass ``stackflow rollback --now``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "commit": self.commit,
            "pull_request": self.pull_request,
            "result": self.result,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "actor": self.actor,
            "message": self.message,
            "counts": dict(self.counts),
            "kind": self.kind,
        }

    def to_json_line(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeployRecord:
        return cls(
            project=str(data["project"]),
            stack=str(data["stack"]),
            commit=str(data["commit"]),
            result=str(data["result"]),
            started_at=str(data["started_at"]),
            finished_at=None if data.get("finished_at") is None else str(data["finished_at"]),
            actor=str(data["actor"]),
            pull_request=data.get("pull_request"),
            message=data.get("message"),
            counts=dict(data.get("counts") or {}),
            kind=str(data.get("kind") or "deploy"),
        )

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        try:
            start = datetime.fromisoformat(self.started_at.replace("Z", "+00:00"))
            end = datetime.fromisoformat(self.finished_at.replace("Z", "+00:00"))
            return (end - start).total_seconds()
        except (ValueError, TypeError):
            return None


@dataclass(frozen=True, slots=True)
class Started:
    """A ``started`` record in the log: where it is and its version, to complete it."""

    key: str
    etag: str


class DeploymentLog:
    """Append-only records in a :class:`~stackflow.adapters.storage.BlobStore`."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store

    @classmethod
    def open(cls, location: str) -> DeploymentLog:
        return cls(open_store(location))

    def append(self, record: DeployRecord) -> str:
        """Store ``record`` as a new object; returns its key."""
        return self.start(record).key

    def start(self, record: DeployRecord) -> Started:
        """Store ``record`` (normally ``started``) as a new object, to :meth:`finish`."""
        stamp = record.started_at.replace("-", "").replace(":", "")
        stack = record.stack.split("/")[-1]
        # The nanosecond clock orders records of one second (deploys of a stack are
        # serialised by its lock); the random part keeps two writers apart.
        unique = f"{time.time_ns():016x}{uuid.uuid4().hex[:8]}"
        key = f"{PREFIX}/{record.project}/{stack}/{stamp}-{unique}.json"
        etag = self.store.put(key, record.to_json_line().encode("utf-8"), if_none_match=True)
        return Started(key, etag)

    def finish(self, started: Started, record: DeployRecord) -> None:
        """Replace the ``started`` record with its outcome (only if nobody changed it)."""
        self.store.put(started.key, record.to_json_line().encode("utf-8"), if_match=started.etag)

    def last_succeeded(self, project: str, stack: str) -> DeployRecord | None:
        """The newest successful deploy of the stack: the commit it runs now."""
        done = [r for r in self.records(project=project, stack=stack) if r.result == "succeeded"]
        return done[-1] if done else None

    def records(
        self, *, project: str | None = None, stack: str | None = None
    ) -> list[DeployRecord]:
        """Records, oldest first, optionally of one project and/or stack."""
        prefix = f"{PREFIX}/{project}/" if project else f"{PREFIX}/"
        found: list[tuple[str, str, DeployRecord]] = []
        for key in self.store.list(prefix):
            parts = key.split("/")
            if len(parts) != 4 or (stack is not None and parts[2] != stack):
                continue
            blob = self.store.get(key)
            if blob is None:
                continue
            try:
                for line in blob.data.decode("utf-8").splitlines():
                    if line.strip():
                        parsed = DeployRecord.from_dict(json.loads(line))
                        found.append((parsed.started_at, key.rsplit("/", 1)[-1], parsed))
            except (ValueError, KeyError, TypeError) as err:  # UnicodeDecodeError too
                raise StackflowError(
                    f"reading the deployment log in {self.store.describe()}: {key} is not "
                    f"a deployment record ({err}); move the object aside"
                ) from err
        return [r for _, _, r in sorted(found, key=lambda f: (f[0], f[1], f[2].project))]


@dataclass
class StackLock:
    """One deploy per stack at a time, across runners: an object created with
    ``if_none_match`` in the records store, deleted (``if_match``) on release. A holder
    that died (runner killed) is taken over once its lease (:attr:`lease`) has run out;
    waiting gives up after :attr:`timeout` seconds with a message naming the holder."""

    store: BlobStore
    project: str
    stack: str
    holder: str
    """Who holds it, for messages: the commit and the run."""
    lease: timedelta = timedelta(hours=3)
    timeout: float = 4 * 3600.0
    poll: float = 5.0
    now: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
    _etag: str | None = field(default=None, init=False)

    @property
    def key(self) -> str:
        return f"{LOCKS}/{self.project}/{self.stack.split('/')[-1]}.json"

    def acquire(self, on_wait: Callable[[str], None] | None = None) -> None:
        waited = 0.0
        told = False
        while True:
            body = json.dumps(
                {"holder": self.holder, "expires_at": utc_iso(self.now() + self.lease)}
            ).encode("utf-8")
            try:
                self._etag = self.store.put(self.key, body, if_none_match=True)
                return
            except PreconditionFailedError:
                pass
            current = self.store.get(self.key)
            if current is None:
                continue
            holder, expires = _lock_fields(current.data)
            if expires is None or expires <= self.now():
                try:  # the holder died: take over its stale lease
                    self._etag = self.store.put(self.key, body, if_match=current.etag)
                    return
                except PreconditionFailedError:
                    continue
            if waited >= self.timeout:
                raise StackflowError(
                    f"deploying {self.project}/{self.stack}: another deploy ({holder}) holds "
                    f"the stack's lock in {self.store.describe()} until {utc_iso(expires)}; "
                    "wait for it, or delete the lock object if that run is gone"
                )
            if on_wait is not None and not told:
                on_wait(f"waiting for {holder} to finish deploying {self.project}/{self.stack}")
                told = True
            self.sleep(self.poll)
            waited += self.poll

    def release(self) -> None:
        if self._etag is None:
            return
        # When our lease ran out and another deploy took the lock over, it is theirs now.
        with suppress(PreconditionFailedError):
            self.store.delete(self.key, if_match=self._etag)
        self._etag = None


def _lock_fields(data: bytes) -> tuple[str, datetime | None]:
    try:
        doc = json.loads(data)
        expires = datetime.fromisoformat(str(doc["expires_at"]).replace("Z", "+00:00"))
        return str(doc.get("holder", "?")), expires
    except (ValueError, KeyError, TypeError):
        return "an unreadable lock", None
