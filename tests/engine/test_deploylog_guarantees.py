"""What the deployment log guarantees its readers: a log opened by its location, records
listed by when they started, one canonical JSON line per record under the documented key,
and a waiting deploy that polls for exactly its timeout."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from stackflow.adapters.storage import BlobStore, FileStore
from stackflow.errors import StackflowError
from stackflow.gitops import deploylog
from stackflow.gitops.deploylog import DeploymentLog, StackLock

from . import test_deploylog
from .test_deploylog import T0, record

store = test_deploylog.store  # the fixture: a folder, and S3 (moto in-process)


def test_a_log_opened_by_its_location_reads_what_was_written_there(tmp_path: Path) -> None:
    """The commands (history, status, rollback, up) open the log from the records
    location in stackflow.yaml or beside the state."""
    DeploymentLog(FileStore(tmp_path)).append(record("dev", "2026-11-22T10:00:00Z"))
    opened = DeploymentLog.open(str(tmp_path))
    assert [(r.stack, r.started_at) for r in opened.records()] == [("dev", "2026-11-22T10:00:00Z")]


def test_records_are_listed_by_start_time_whatever_their_objects_are_called(
    store: BlobStore,
) -> None:
    """The log is sorted by when each deploy started, as its readers (last_succeeded,
    the metrics) assume; an object's name only breaks ties. A record copied in under
    another name (restored from a backup, or written by an older version's key format)
    still takes its place in time."""
    log = DeploymentLog(store)
    early = replace(record("prod", "2026-11-22T09:00:00Z"), commit="c" * 40)
    late = record("prod", "2026-11-22T11:00:00Z")
    store.put("deployments/demo/prod/b-restored.json", early.to_json_line().encode())
    store.put("deployments/demo/prod/a-restored.json", late.to_json_line().encode())
    log.append(replace(record("prod", "2026-11-22T10:00:00Z"), commit="b" * 40))
    assert [r.started_at for r in log.records()] == [
        "2026-11-22T09:00:00Z",
        "2026-11-22T10:00:00Z",
        "2026-11-22T11:00:00Z",
    ]
    assert log.last_succeeded("demo", "prod") == late


def test_a_record_is_one_canonical_json_line(store: BlobStore) -> None:
    """Sorted keys, no spaces, one line: equal records are the same bytes whatever order
    the engine reported their counts in, so stored objects (an S3 ETag is the MD5 of
    them) and `stackflow history --json` exports can be hashed and diffed."""
    one = record("dev", "2026-11-22T10:00:00Z", counts={"update": 1, "create": 2})
    other = record("dev", "2026-11-22T10:00:00Z", counts={"create": 2, "update": 1})
    assert one == other
    assert one.to_json_line() == other.to_json_line()
    line = one.to_json_line()
    assert line == json.dumps(json.loads(line), sort_keys=True, separators=(",", ":")) + "\n"
    assert line.startswith('{"actor":"alice","commit":"' + "a" * 40 + '","counts":{"create":2,')
    key = DeploymentLog(store).append(one)
    blob = store.get(key)
    assert blob is not None
    assert blob.data == line.encode("utf-8")


def test_a_records_key_is_its_start_then_the_nanosecond_clock_then_random_digits(
    store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``deployments/<project>/<stack>/<start>-<id>.json``: the id is the 16 hex digits of
    the nanosecond clock (so one writer's records of a second sort in the order written)
    and random hex digits (so two writers' keys hardly ever clash; a clash is refused)."""
    clock = SimpleNamespace(time_ns=lambda: 0x1234_5678_9ABC_DEF0)
    monkeypatch.setattr(deploylog, "time", clock)
    log = DeploymentLog(store)
    first = log.append(record("acme/dev", "2026-11-22T10:00:00Z"))
    second = log.append(record("acme/dev", "2026-11-22T10:00:00Z"))
    prefix = "deployments/demo/dev/20261122T100000Z-123456789abcdef0"
    for key in (first, second):
        assert key.startswith(prefix)
        tail = key.removeprefix(prefix)
        assert tail.endswith(".json")
        int(tail.removesuffix(".json"), 16)
    assert first != second


def test_a_waiting_deploy_gives_up_after_exactly_four_hours(tmp_path: Path) -> None:
    """The default timeout is four hours of waiting, counted from the first look at the
    held lock: polled every second, 14,400 polls; the holder is named once."""
    store = FileStore(tmp_path)
    StackLock(store, "demo", "prod", "run 1", lease=timedelta(days=1), now=lambda: T0).acquire()
    slept: list[float] = []
    told: list[str] = []
    waiting = StackLock(
        store, "demo", "prod", "run 2", poll=1.0, now=lambda: T0, sleep=slept.append
    )
    with pytest.raises(StackflowError, match=r"another deploy \(run 1\) holds"):
        waiting.acquire(told.append)
    assert len(slept) == 4 * 3600
    assert sum(slept) == 4 * 3600.0
    assert told == ["waiting for run 1 to finish deploying demo/prod"]
