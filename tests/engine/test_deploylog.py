"""The deployment log on the file backend (a folder) and on S3 (moto in-process), and the
per-stack deploy lock."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from stackflow.adapters.storage import (
    Blob,
    BlobStore,
    FileStore,
    PreconditionFailedError,
    S3Store,
    resolve_locations,
)
from stackflow.errors import StackflowError
from stackflow.gitops.deploylog import DeploymentLog, DeployRecord, StackLock, current_actor
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


def test_the_actor_is_the_local_user_unless_github_names_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert current_actor({"GITHUB_ACTOR": ""}) == getpass.getuser()
    for error in (KeyError, OSError):

        def nobody(error: type[Exception] = error) -> str:
            raise error("no such user")

        monkeypatch.setattr(getpass, "getuser", nobody)
        assert current_actor({}) == "unknown"
    assert current_actor({"GITHUB_ACTOR": "octocat"}) == "octocat"


def test_a_record_written_before_the_newer_fields_reads_with_their_defaults() -> None:
    old = DeployRecord.from_dict(
        {
            "project": "demo",
            "stack": "dev",
            "commit": "a" * 40,
            "result": "started",
            "started_at": "2026-11-22T10:00:00Z",
            "actor": "alice",
            "counts": None,
        }
    )
    assert (old.finished_at, old.pull_request, old.message, old.counts, old.kind) == (
        None,
        None,
        None,
        {},
        "deploy",
    )
    assert old.duration_seconds is None  # still running
    rollback = record("dev", "2026-11-22T10:00:00Z", kind="rollback", counts={"update": 1})
    assert DeployRecord.from_dict(json.loads(rollback.to_json_line())) == rollback
    garbled = record("dev", "2026-11-22T10:00:00Z")
    assert (
        DeployRecord(**{**garbled.to_dict(), "finished_at": "yesterday"}).duration_seconds is None
    )


def test_the_stack_runs_the_commit_of_its_newest_successful_deploy(store: BlobStore) -> None:
    log = DeploymentLog(store)
    assert log.last_succeeded("demo", "prod") is None
    for start, commit, result in [
        ("2026-11-22T10:00:00Z", "a", "succeeded"),
        ("2026-11-22T11:00:00Z", "b", "succeeded"),
        ("2026-11-22T12:00:00Z", "c", "failed"),
        ("2026-11-22T13:00:00Z", "d", "started"),
    ]:
        log.append(DeployRecord("demo", "prod", commit, result, start, None, "alice"))
    log.append(DeployRecord("demo", "dev", "e", "succeeded", "2026-11-22T14:00:00Z", None, "a"))
    assert log.last_succeeded("demo", "prod").commit == "b"  # type: ignore[union-attr]


def test_records_of_one_second_keep_the_order_they_were_written_in(store: BlobStore) -> None:
    log = DeploymentLog(store)
    written = [("prod", "z"), ("dev", "y"), ("prod", "x"), ("dev", "w"), ("prod", "v")]
    for stack, commit in written:
        log.append(
            DeployRecord("demo", stack, commit, "succeeded", "2026-11-22T10:00:00Z", None, "a")
        )
    assert [(r.stack, r.commit) for r in log.records()] == written
    assert log.last_succeeded("demo", "prod").commit == "v"  # type: ignore[union-attr]


def test_only_deployment_records_of_the_asked_stack_are_read(store: BlobStore) -> None:
    log = DeploymentLog(store)
    key = log.append(record("acme/dev", "2026-11-22T10:00:00Z"))  # a fully qualified stack
    assert key.startswith("deployments/demo/dev/")
    log.append(record("prod", "2026-11-22T11:00:00Z"))
    store.put("deployments/demo/dev/nested/x.json", b"not a record")
    store.put("deployments/stray.json", b"not a record")
    assert [r.stack for r in log.records(stack="dev")] == ["acme/dev"]
    assert [r.stack for r in log.records(project="demo")] == ["acme/dev", "prod"]


class Expiring(FileStore):
    """A folder where the oldest record expires (a retention rule) between the listing
    and its read."""

    def get(self, key: str) -> Blob | None:
        if "T090000Z" in key:
            return None
        return super().get(key)


def test_a_record_expiring_while_the_log_is_read_hides_no_other(tmp_path: Path) -> None:
    log = DeploymentLog(Expiring(tmp_path))
    log.append(record("dev", "2026-11-22T09:00:00Z"))
    log.append(record("dev", "2026-11-22T10:00:00Z", "failed"))
    log.append(record("dev", "2026-11-22T11:00:00Z"))
    assert [(r.started_at, r.result) for r in log.records()] == [
        ("2026-11-22T10:00:00Z", "failed"),
        ("2026-11-22T11:00:00Z", "succeeded"),
    ]


def test_a_record_changed_by_someone_else_is_not_overwritten(store: BlobStore) -> None:
    log = DeploymentLog(store)
    started = log.start(record("dev", "2026-11-22T10:00:00Z", "started"))
    store.put(started.key, record("dev", "2026-11-22T10:00:00Z", "failed").to_json_line().encode())
    with pytest.raises(PreconditionFailedError):
        log.finish(started, record("dev", "2026-11-22T10:00:00Z", "succeeded"))
    assert [r.result for r in log.records()] == ["failed"]


class Racing:
    """A store where another writer creates the very key we are about to create, just
    before our write (two runners picking the same name: the clash ``if_none_match``
    exists to refuse)."""

    def __init__(self, store: BlobStore, theirs: bytes) -> None:
        self.store, self.theirs = store, theirs

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        self.store.put(key, self.theirs)
        return self.store.put(key, data, if_match=if_match, if_none_match=if_none_match)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def test_a_record_another_writer_created_under_the_same_key_is_never_overwritten(
    store: BlobStore,
) -> None:
    theirs = record("dev", "2026-11-22T10:00:00Z", "failed", message="theirs")
    log = DeploymentLog(Racing(store, theirs.to_json_line().encode()))  # type: ignore[arg-type]
    with pytest.raises(PreconditionFailedError):
        log.append(record("dev", "2026-11-22T10:00:00Z"))
    assert DeploymentLog(store).records() == [theirs]


# -------------------------------------------------------------------- the stack lock

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def holder(store: BlobStore) -> str:
    blob = store.get("locks/demo/prod.json")
    assert blob is not None
    return str(json.loads(blob.data)["holder"])


def test_a_lock_is_held_for_three_hours_then_taken_over(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    now = [T0]
    StackLock(store, "demo", "prod", "run 1", now=lambda: now[0]).acquire()
    late = StackLock(store, "demo", "acme/prod", "run 2", timeout=0, now=lambda: now[0])
    now[0] = T0 + timedelta(hours=3) - timedelta(seconds=1)
    with pytest.raises(
        StackflowError, match=r"holds the stack's lock .* until 2026-11-22T13:00:00Z"
    ):
        late.acquire()
    now[0] = T0 + timedelta(hours=3)
    late.acquire()
    assert holder(store) == "run 2"


def test_a_waiting_deploy_polls_every_five_seconds_for_four_hours(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    StackLock(store, "demo", "prod", "run 1", lease=timedelta(days=1), now=lambda: T0).acquire()
    slept: list[float] = []
    told: list[str] = []
    waiting = StackLock(store, "demo", "prod", "run 2", now=lambda: T0, sleep=slept.append)
    with pytest.raises(StackflowError, match=r"another deploy \(run 1\) holds"):
        waiting.acquire(told.append)
    assert slept == [5.0] * (4 * 3600 // 5)
    assert told == ["waiting for run 1 to finish deploying demo/prod"]


def test_an_unreadable_lock_is_taken_over(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.put("locks/demo/prod.json", b"{not json")
    StackLock(store, "demo", "prod", "run 2", timeout=0, now=lambda: T0).acquire()
    assert holder(store) == "run 2"


class Released(FileStore):
    """A store where another deploy holds the lock when we try to create it, and releases
    it before we read it."""

    refused = False

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        if key.startswith("locks/") and not self.refused:
            self.refused = True
            super().delete(key)
            raise PreconditionFailedError(f"writing {key}: it already exists")
        return super().put(key, data, if_match=if_match, if_none_match=if_none_match)


def test_a_lock_released_while_we_look_at_it_is_taken(tmp_path: Path) -> None:
    StackLock(FileStore(tmp_path), "demo", "prod", "run 1", now=lambda: T0).acquire()
    store = Released(tmp_path)
    lock = StackLock(store, "demo", "prod", "run 2", timeout=0, now=lambda: T0)
    lock.acquire()
    assert holder(store) == "run 2"
    lock.release()
    assert list(store.list("locks/")) == []


def test_release_leaves_a_lock_it_does_not_hold(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    now = [T0]
    first = StackLock(store, "demo", "prod", "run 1", now=lambda: now[0])
    first.release()  # never acquired: nothing to do
    first.acquire()
    now[0] += timedelta(hours=4)
    StackLock(store, "demo", "prod", "run 2", now=lambda: now[0]).acquire()  # lease ran out
    first.release()
    assert holder(store) == "run 2"


class Contested(FileStore):
    """A folder where another deploy takes over a stale lock just before we do."""

    contested = False

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        if if_match is not None and not self.contested:
            self.contested = True
            fresh = {"holder": "run 3", "expires_at": "2026-11-22T13:00:00Z"}
            super().put(key, json.dumps(fresh).encode())
        return super().put(key, data, if_match=if_match, if_none_match=if_none_match)


def test_a_stale_lock_another_deploy_took_over_first_is_not_ours(tmp_path: Path) -> None:
    store = Contested(tmp_path)
    store.put("locks/demo/prod.json", b"{not json")  # a dead holder's
    late = StackLock(store, "demo", "prod", "run 2", timeout=0, now=lambda: T0)
    with pytest.raises(StackflowError, match=r"another deploy \(run 3\) holds"):
        late.acquire()
    assert holder(store) == "run 3"
