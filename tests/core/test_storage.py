"""Both stores keep compare-and-swap semantics: a stale writer loses, loudly."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from stackflow.adapters.storage import (
    BlobStore,
    FileStore,
    PreconditionFailedError,
    S3Store,
    open_store,
)
from stackflow.errors import StackflowError


@pytest.fixture(params=["file", "s3"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BlobStore]:
    if request.param == "file":
        yield FileStore(tmp_path / "records")
        return
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="state-bucket")
        yield S3Store("state-bucket", "team/.stackflow", client=client)


def test_put_get_list_delete(store: BlobStore) -> None:
    assert store.get("registry/a.json") is None
    store.put("registry/b.json", b"B")
    store.put("registry/a.json", b"A")
    store.put("log/1.json", b"L")
    blob = store.get("registry/a.json")
    assert blob is not None
    assert blob.data == b"A"
    assert list(store.list("registry/")) == ["registry/a.json", "registry/b.json"]
    assert list(store.list()) == ["log/1.json", "registry/a.json", "registry/b.json"]
    store.delete("registry/a.json")
    store.delete("registry/a.json")  # deleting what is gone is fine
    assert list(store.list("registry/")) == ["registry/b.json"]


def test_if_none_match_refuses_to_overwrite(store: BlobStore) -> None:
    store.put("k.json", b"1", if_none_match=True)
    with pytest.raises(PreconditionFailedError):
        store.put("k.json", b"2", if_none_match=True)
    blob = store.get("k.json")
    assert blob is not None
    assert blob.data == b"1"


def test_if_match_detects_a_lost_update(store: BlobStore) -> None:
    etag = store.put("k.json", b"1")
    store.put("k.json", b"2", if_match=etag)  # the current etag wins
    with pytest.raises(PreconditionFailedError):
        store.put("k.json", b"3", if_match=etag)  # a stale one loses
    with pytest.raises(PreconditionFailedError):
        store.delete("k.json", if_match=etag)
    blob = store.get("k.json")
    assert blob is not None
    assert blob.data == b"2"


def test_keys_must_be_relative(store: BlobStore) -> None:
    for key in ("../escape", "/abs", "a//b", ""):
        with pytest.raises(StackflowError, match="not a relative path"):
            store.get(key)


def test_file_store_counter_survives_concurrent_writers(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.put("counter", b"0")

    def bump() -> None:
        for _ in range(20):
            while True:
                blob = store.get("counter")
                assert blob is not None
                try:
                    store.put("counter", str(int(blob.data) + 1).encode(), if_match=blob.etag)
                    break
                except PreconditionFailedError:
                    continue

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    blob = store.get("counter")
    assert blob is not None
    assert blob.data == b"80"


def test_open_store_picks_the_implementation(tmp_path: Path) -> None:
    assert isinstance(open_store(str(tmp_path)), FileStore)
    assert isinstance(open_store(f"file://{tmp_path}"), FileStore)
    with pytest.raises(StackflowError, match="no bucket named"):
        open_store("s3://")
