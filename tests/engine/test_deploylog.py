"""The deployment log on the file backend (a folder) and on S3 (moto in-process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from stackflow.adapters.storage import BlobStore, FileStore, S3Store, resolve_locations
from stackflow.errors import StackflowError
from stackflow.gitops.deploylog import DeploymentLog, DeployRecord, current_actor
from stackflow.repoconfig import RepoConfig


def record(stack: str, start: str, result: str = "succeeded", **kw: object) -> DeployRecord:
    return DeployRecord(
        project="demo",
        stack=stack,
        commit="a" * 40,
        result=result,
        started_at=start,
        finished_at=start.replace(":00Z", ":42Z"),
        actor="alice",
        pull_request=12,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "file":
        yield FileStore(tmp_path / ".pulumi-state" / ".stackflow")
        return
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="state")
        yield S3Store("state", ".stackflow", client=client)


def test_records_round_trip_sorted_by_start(store: BlobStore) -> None:
    log = DeploymentLog(store)
    log.append(record("prod", "2026-11-22T12:00:00Z"))
    log.append(record("dev", "2026-11-22T10:00:00Z", counts={"create": 2}))
    log.append(record("staging", "2026-11-22T11:00:00Z", "failed", message="boom"))
    records = log.records()
    assert [r.stack for r in records] == ["dev", "staging", "prod"]
    assert records[0].counts == {"create": 2}
    assert records[1].message == "boom"
    assert records[0].duration_seconds == 42
    assert [r.stack for r in log.records(stack="staging")] == ["staging"]
    assert log.records(project="other") == []


def test_each_record_is_its_own_json_line_object(store: BlobStore) -> None:
    log = DeploymentLog(store)
    first = log.append(record("dev", "2026-11-22T10:00:00Z"))
    second = log.append(record("dev", "2026-11-22T10:00:00Z"))  # same second: no clash
    assert first != second
    assert first.startswith("deployments/demo/dev/20261122T100000Z-")
    blob = store.get(first)
    assert blob is not None
    lines = blob.data.decode().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["pull_request"] == 12


def test_records_live_beside_the_effective_backend(tmp_path: Path) -> None:
    repo = RepoConfig(root=tmp_path)
    assert resolve_locations(repo, {}).records == str(tmp_path / ".pulumi-state/.stackflow")
    s3 = resolve_locations(repo, {"PULUMI_BACKEND_URL": "s3://bucket/prefix"})
    assert s3.records == "s3://bucket/prefix/.stackflow"


def test_actor_comes_from_github_or_the_user() -> None:
    assert current_actor({"GITHUB_ACTOR": "octocat"}) == "octocat"
    assert current_actor({})


@pytest.mark.parametrize("garbage", [b"\xff\xfe not text", b"{not json", b'{"stack": 1}'])
def test_a_corrupt_record_is_one_error_naming_it(store: BlobStore, garbage: bytes) -> None:
    log = DeploymentLog(store)
    log.append(record("dev", "2026-01-01T10:00:00Z"))
    store.put("deployments/demo/dev/2026-01-02T00:00:00Z-x.json", garbage)
    with pytest.raises(StackflowError, match=r"2026-01-02T00:00:00Z-x\.json is not a deployment"):
        log.records()
