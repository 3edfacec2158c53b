"""Fixtures of the ephemeral-environment tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stackflow.adapters.storage import FileStore, resolve_locations
from stackflow.ephemeral import Environments
from stackflow.repoconfig import RepoConfig

from .fakes import CrashingStore, FakeGitHub, InMemoryEngine


@pytest.fixture(scope="session")
def hostile_branches() -> list[str]:
    """At least 50 branch names meant to break naming, quoting or paths."""
    doc = json.loads((Path(__file__).parent / "hostile_branches.json").read_text("utf-8"))
    branches: list[str] = doc["branches"]
    return branches


TEMPLATE = """\
# The ephemeral stack config template of the test project.
config:
  aws:region: us-east-1
  stackflow:environment: prod   # a template cannot escape the ephemeral kind
  stackflow:namespace: "${stack}"
  stackflow:hostname: "${stack}.preview.example.com"
  stackflow:tags:
    branch: "${branch}"
    pullRequest: "${pr}"
    keep: "$${literal}"
"""

START = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


class Clock:
    """An injectable clock that moves only when told."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, hours: float) -> None:
        self.current += timedelta(hours=hours)


def make_repo(root: Path, *, ttl_hours: int = 24, max_parallel: int = 2) -> RepoConfig:
    """A repository with a Pulumi project, its ephemeral template and stackflow.yaml."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text(
        "name: stackflow-test\nruntime: python\nmain: stacks/\nstackConfigDir: stacks\n"
    )
    (root / "stacks").mkdir(exist_ok=True)
    (root / "stacks" / "ephemeral.yaml").write_text(TEMPLATE)
    (root / "stackflow.yaml").write_text(
        "protected_stacks: [dev, staging, prod, local]\n"
        "backend: file://.pulumi-state\n"
        f"ephemeral:\n  ttl_hours: {ttl_hours}\n  max_parallel: {max_parallel}\n"
    )
    return RepoConfig.load(root)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def repo(tmp_path: Path) -> RepoConfig:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def engine() -> InMemoryEngine:
    return InMemoryEngine(existing=("dev", "staging", "prod"))


@pytest.fixture
def github() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
def store(repo: RepoConfig) -> CrashingStore:
    return CrashingStore(FileStore(Path(resolve_locations(repo, {}).records)))


@pytest.fixture
def envs(
    repo: RepoConfig,
    engine: InMemoryEngine,
    github: FakeGitHub,
    store: CrashingStore,
    clock: Clock,
) -> Environments:
    return Environments.open(repo, engine, github=github, store=store, now=clock)


@pytest.fixture
def s3_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An S3 client on moto (in-process), with bucket ``state-bucket``."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="state-bucket")
        yield client
