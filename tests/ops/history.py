"""A generated delivery history: a git repository whose default branch has merged feature
branches with chosen author times, and a deployment log for dev, staging and prod with
failed deploys, a re-run, a rollback and drift.

The plan below is the ground truth; tests recompute the expected figures from it with
their own arithmetic, never with stackflow's functions."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stackflow.adapters.storage import FileStore
from stackflow.clock import utc_iso
from stackflow.ephemeral.registry import EnvironmentRecord, Registry
from stackflow.gitops.deploylog import DeploymentLog, DeployRecord
from stackflow.gitops.drift import DriftState, DriftStates

BASE = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
FEATURES = 8
STACKS = ("dev", "staging", "prod")


def merge_time(i: int) -> datetime:
    return BASE + timedelta(days=1 + 2 * i, hours=1)


def first_commit_time(i: int) -> datetime:
    """Feature ``i``'s first commit: 30 hours before its merge."""
    return merge_time(i) - timedelta(hours=30)


@dataclass(frozen=True)
class Deploy:
    stack: str
    change: int
    """Index into ``History.line`` (0 is the initial commit; feature i is change i + 1)."""
    start: datetime
    hours: float = 0.25
    result: str = "succeeded"
    kind: str = "deploy"
    actor: str = "deployer"

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=self.hours)


@dataclass
class History:
    root: Path
    line: list[str] = field(default_factory=list)
    """First-parent commits of main, oldest first: the initial commit, then each merge."""
    deploys: list[Deploy] = field(default_factory=list)
    ephemeral: EnvironmentRecord | None = None
    """One branch stack in the registry, created 10 hours before the history was built."""

    @property
    def records_dir(self) -> Path:
        return self.root / ".pulumi-state" / ".stackflow"


def _git(root: Path, *args: str, when: datetime | None = None, author: str = "Ada") -> str:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME=author,
        GIT_AUTHOR_EMAIL=f"{author.lower()}@example.com",
        GIT_COMMITTER_NAME="Merger",
        GIT_COMMITTER_EMAIL="merger@example.com",
    )
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def plan_deploys(line: list[str]) -> list[Deploy]:
    """Baseline deploys of the initial commit, then each merge through dev, staging and
    prod, with these exceptions: feature 2's prod deploy fails and is re-run 2 h later;
    feature 5's prod deploy is rolled back to feature 4 an hour later; feature 6's first
    dev deploy fails and is re-run 30 min later; feature 7 reached only dev."""
    deploys = [Deploy(s, 0, BASE + timedelta(hours=1)) for s in STACKS]
    for i in range(FEATURES):
        change, t = i + 1, merge_time(i)
        if i == 6:
            deploys.append(Deploy("dev", change, t + timedelta(hours=1), result="failed"))
            deploys.append(Deploy("dev", change, t + timedelta(hours=1.5)))
        else:
            deploys.append(Deploy("dev", change, t + timedelta(hours=1)))
        if i == 7:
            continue
        deploys.append(Deploy("staging", change, t + timedelta(hours=2)))
        if i == 2:
            deploys.append(Deploy("prod", change, t + timedelta(hours=3), result="failed"))
            deploys.append(Deploy("prod", change, t + timedelta(hours=5)))
        else:
            deploys.append(Deploy("prod", change, t + timedelta(hours=3), actor="release-bot"))
        if i == 5:
            deploys.append(Deploy("prod", change - 1, t + timedelta(hours=4), kind="rollback"))
    return deploys


def build(root: Path) -> History:
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", "-b", "main")
    _write(
        root,
        "stackflow.yaml",
        "projects: ['.']\npromotion: [dev, staging, prod]\n"
        "protected_stacks: [staging, prod]\nbackend: file://.pulumi-state\n",
    )
    _write(root, "Pulumi.yaml", "name: demo\nruntime: python\n")
    for stack in STACKS:
        _write(root, f"Pulumi.{stack}.yaml", f"config:\n  stackflow:environment: {stack}\n")
    _write(root, ".gitignore", ".pulumi-state/\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "initial", when=BASE)
    history = History(root=root, line=[_git(root, "rev-parse", "HEAD")])
    for i in range(FEATURES):
        branch = f"feature-{i}"
        _git(root, "checkout", "-q", "-b", branch, "main")
        for n, when in enumerate((first_commit_time(i), merge_time(i) - timedelta(hours=10))):
            _write(root, f"features/{i}-{n}.txt", f"feature {i} part {n}\n")
            _git(root, "add", "-A")
            _git(root, "commit", "-q", "-m", f"feature {i} part {n}", when=when, author="Grace")
        _git(root, "checkout", "-q", "main")
        _git(root, "merge", "-q", "--no-ff", "-m", f"Merge feature {i}", branch, when=merge_time(i))
        history.line.append(_git(root, "rev-parse", "HEAD"))
    history.deploys = plan_deploys(history.line)
    log = DeploymentLog(FileStore(history.records_dir))
    for d in history.deploys:
        log.append(
            DeployRecord(
                project="demo",
                stack=d.stack,
                commit=history.line[d.change],
                result=d.result,
                started_at=utc_iso(d.start),
                finished_at=utc_iso(d.end),
                actor=d.actor,
                pull_request=d.change + 100 if d.change else None,
                message="boom" if d.result == "failed" else None,
                kind=d.kind,
            )
        )
    registry = Registry(FileStore(history.records_dir), "demo")
    record = EnvironmentRecord(
        project="demo",
        stack="pr-42-login",
        branch="login",
        pr=42,
        created_at=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=10),
        ttl_hours=72.0,
    )
    registry.mutate(record.stack, lambda _: record)
    history.ephemeral = record
    states = DriftStates(FileStore(history.records_dir))
    checked = utc_iso(merge_time(7))
    states.put(DriftState("demo", "prod", checked, drifted=True, issue=7, counts={"update": 1}))
    states.put(DriftState("demo", "staging", checked, drifted=False))
    return history
