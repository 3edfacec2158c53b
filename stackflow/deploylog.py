"""The deployment log: one record per ``up`` a merge ran, kept beside the state.

It is the audit trail (who deployed which commit of which pull request to which stack,
when, and whether it worked) and the raw data for delivery metrics. It lives in the
records location next to the Pulumi state (``RepoConfig.records_location``): a folder for
the file backend, an S3 prefix for the S3 backend.

S3 has no append, and two merges may deploy at once, so the log is **one object per
record** rather than one growing file: ``deployments/<project>/<stack>/<start>-<id>.json``,
each holding one JSON line, written with ``if_none_match`` so nothing is ever overwritten.
Readers list the prefix and sort by start time. No compare-and-swap retry loop is needed
and no writer can lose another's record.
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from stackflow.errors import StackflowError
from stackflow.repoconfig import RepoConfig
from stackflow.storage import BlobStore, open_store

PREFIX = "deployments"


def current_actor(environ: Mapping[str, str] | None = None) -> str:
    """Who is deploying: ``GITHUB_ACTOR`` in Actions, else the local user."""
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTOR"):
        return env["GITHUB_ACTOR"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def records_location(repo: RepoConfig, backend_url: str) -> str:
    """Where records live for ``backend_url`` (which may come from PULUMI_BACKEND_URL
    rather than stackflow.yaml): beside that state."""
    return replace(repo, backend=backend_url).records_location


@dataclass(frozen=True, slots=True)
class DeployRecord:
    project: str
    stack: str
    commit: str
    result: str
    """``succeeded`` or ``failed``."""
    started_at: str
    finished_at: str
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
            finished_at=str(data["finished_at"]),
            actor=str(data["actor"]),
            pull_request=data.get("pull_request"),
            message=data.get("message"),
            counts=dict(data.get("counts") or {}),
            kind=str(data.get("kind") or "deploy"),
        )

    @property
    def duration_seconds(self) -> float:
        start = datetime.fromisoformat(self.started_at.replace("Z", "+00:00"))
        end = datetime.fromisoformat(self.finished_at.replace("Z", "+00:00"))
        return (end - start).total_seconds()


class DeploymentLog:
    """Append-only records in a :class:`~stackflow.storage.BlobStore`."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store

    @classmethod
    def open(cls, location: str) -> DeploymentLog:
        return cls(open_store(location))

    def append(self, record: DeployRecord) -> str:
        """Store ``record`` as a new object; returns its key."""
        stamp = record.started_at.replace("-", "").replace(":", "")
        stack = record.stack.split("/")[-1]
        key = f"{PREFIX}/{record.project}/{stack}/{stamp}-{uuid.uuid4().hex[:12]}.json"
        self.store.put(key, record.to_json_line().encode("utf-8"), if_none_match=True)
        return key

    def records(
        self, *, project: str | None = None, stack: str | None = None
    ) -> list[DeployRecord]:
        """Records, oldest first, optionally of one project and/or stack."""
        prefix = f"{PREFIX}/{project}/" if project else f"{PREFIX}/"
        found: list[DeployRecord] = []
        for key in self.store.list(prefix):
            parts = key.split("/")
            if len(parts) != 4 or (stack is not None and parts[2] != stack):
                continue
            blob = self.store.get(key)
            if blob is None:
                continue
            for line in blob.data.decode("utf-8").splitlines():
                if not line.strip():
                    continue
                try:
                    found.append(DeployRecord.from_dict(json.loads(line)))
                except (ValueError, KeyError, TypeError) as err:
                    raise StackflowError(
                        f"reading the deployment log in {self.store.describe()}: {key} is not "
                        f"a deployment record ({err}); move the object aside"
                    ) from err
        return sorted(found, key=lambda r: (r.started_at, r.project, r.stack))
