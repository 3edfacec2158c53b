"""The registry on a folder and on S3 (moto): records round-trip, compare-and-swap keeps
every concurrent update, unreadable records are reported, not fatal."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from stackflow.adapters.storage import BlobStore, FileStore, PreconditionFailedError, S3Store
from stackflow.ephemeral.registry import EnvironmentRecord, Registry, State
from stackflow.errors import StackflowError

from .conftest import START
from .fakes import CrashingStore


@pytest.fixture(params=["file", "s3"])
def backing(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "file":
        return FileStore(tmp_path / "records")
    client = request.getfixturevalue("s3_client")
    return S3Store("state-bucket", "team/.stackflow", client=client)


def record(stack: str = "br-login", **changes: Any) -> EnvironmentRecord:
    base = EnvironmentRecord(
        project="web", stack=stack, branch="login", pr=12, created_at=START, ttl_hours=24.0
    )
    return replace(base, **changes)


def test_a_record_round_trips_under_its_key(backing: BlobStore) -> None:
    registry = Registry(backing, "web")
    original = record(
        state=State.DESTROYING,
        last_deployed_at=START,
        head="abc123",
        outputs={"url": "https://x", "password": {"$secret": "9f2c"}},
        last_error="boom",
    )
    registry.mutate("br-login", lambda _: original)
    assert registry.get("br-login") == original
    assert list(backing.list("registry/")) == ["registry/web/br-login.json"]
    assert registry.get("br-other") is None


def test_mutate_deletes_and_creates_only_when_absent(backing: BlobStore) -> None:
    registry = Registry(backing, "web")
    registry.mutate("br-login", lambda current: current or record())
    registry.mutate("br-login", lambda current: current or record(branch="other"))
    assert registry.get("br-login") == record()
    assert registry.mutate("br-login", lambda _: None) is None
    assert registry.get("br-login") is None


def test_a_stale_writer_loses_to_the_store_and_retries_on_the_fresh_record(
    backing: BlobStore,
) -> None:
    """Writer A reads, writer B updates meanwhile, A's conditional write is refused by the
    store itself (S3's IfMatch on moto, the folder's lock), A retries and keeps B's update."""
    registry = Registry(backing, "web")
    registry.mutate("br-login", lambda _: record())
    calls = 0

    def change_a(current: EnvironmentRecord | None) -> EnvironmentRecord:
        nonlocal calls
        calls += 1
        assert current is not None
        if calls == 1:
            registry.mutate("br-login", lambda c: replace(c or record(), outputs={"b": 1}))
        return replace(current, outputs={**current.outputs, "a": 1})

    registry.mutate("br-login", change_a)
    assert calls == 2
    got = registry.get("br-login")
    assert got is not None
    assert got.outputs == {"a": 1, "b": 1}


def test_concurrent_updates_are_all_kept(tmp_path: Path) -> None:
    """Eight writers each add one output to the same record at once; none is lost. (On the
    folder store only: moto checks S3 conditions and writes in two steps, not atomically,
    so racing threads in one process can slip between them; real S3 does not.)"""
    registry = Registry(FileStore(tmp_path), "web")
    registry.mutate("br-login", lambda _: record())
    barrier = threading.Barrier(8)

    def add(i: int) -> None:
        barrier.wait()

        def change(current: EnvironmentRecord | None) -> EnvironmentRecord:
            assert current is not None
            return replace(current, outputs={**current.outputs, f"k{i}": i})

        registry.mutate("br-login", change)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = registry.get("br-login")
    assert got is not None
    assert got.outputs == {f"k{i}": i for i in range(8)}


def test_a_lost_race_is_retried_with_the_fresh_record(tmp_path: Path) -> None:
    store = CrashingStore(FileStore(tmp_path))
    registry = Registry(store, "web")
    registry.mutate("br-login", lambda _: record())
    store.inject("put", PreconditionFailedError("raced"))
    seen: list[EnvironmentRecord | None] = []

    def change(current: EnvironmentRecord | None) -> EnvironmentRecord:
        seen.append(current)
        assert current is not None
        return replace(current, head="new")

    registry.mutate("br-login", change)
    assert len(seen) == 2
    got = registry.get("br-login")
    assert got is not None
    assert got.head == "new"


def test_a_record_that_keeps_changing_gives_up_with_a_clear_error(tmp_path: Path) -> None:
    store = CrashingStore(FileStore(tmp_path))
    registry = Registry(store, "web")
    registry.mutate("br-login", lambda _: record())
    for _ in range(8):
        store.inject("put", PreconditionFailedError("raced"))
    with pytest.raises(StackflowError, match="another job is busy with this stack"):
        registry.mutate("br-login", lambda c: replace(c or record(), head="x"))


def test_entries_lists_every_record_and_reports_unreadable_ones(backing: BlobStore) -> None:
    registry = Registry(backing, "web", read_workers=4)
    for i in range(20):
        registry.mutate(f"br-b{i:02}", lambda _, i=i: record(f"br-b{i:02}"))
    backing.put("registry/web/br-broken.json", b"{not json")
    backing.put("registry/other/br-b00.json", record().to_bytes())
    entries = registry.entries()
    assert [e.key_stack for e in entries] == sorted(
        [f"br-b{i:02}" for i in range(20)] + ["br-broken"]
    )
    broken = next(e for e in entries if e.key_stack == "br-broken")
    assert broken.record is None
    assert broken.problem is not None
    assert "fix or delete it by hand" in broken.problem
    assert all(e.record is not None for e in entries if e.key_stack != "br-broken")


def test_records_reject_naive_times_and_unknown_versions() -> None:
    data = record().to_dict()
    with pytest.raises(ValueError, match="no time zone"):
        EnvironmentRecord.from_dict({**data, "created_at": "2026-11-22T04:00:00"})
    with pytest.raises(ValueError, match="version"):
        EnvironmentRecord.from_dict({**data, "version": 99})
