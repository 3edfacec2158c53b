"""Small object storage for stackflow's records: the deployment log, the ephemeral
registry, the deploy locks. Two implementations behind one Protocol -- a folder and an S3
prefix -- both with compare-and-swap writes so two CI jobs cannot lose each other's update.

``location`` strings: ``file:///abs/path`` or a plain path, and
``s3://bucket/prefix[?region=R]``.

Where the records live is decided in one place, :func:`resolve_locations`: every command
that touches the engine's state, the registry or the log asks it, so the three can never
disagree (a registry on the runner's disk while the state is on S3 leaks environments).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from stackflow.errors import StackflowError
from stackflow.repoconfig import RepoConfig

RECORDS_DIR = ".stackflow"
"""Records beside a file:// or s3:// state live in this folder (or key prefix) of it."""


class PreconditionFailedError(StackflowError):
    """A conditional write lost a race: the object changed (or appeared) meanwhile."""


@dataclass(frozen=True, slots=True)
class Blob:
    data: bytes
    etag: str
    """Opaque version token for compare-and-swap."""


class BlobStore(Protocol):
    """Keys are ``/``-separated relative paths, e.g. ``registry/web/pr-12.json``."""

    def get(self, key: str) -> Blob | None: ...

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Write ``data``; return the new etag. ``if_match``: only if the object still has
        that etag. ``if_none_match``: only if no object exists. Raises PreconditionFailedError."""
        ...

    def delete(self, key: str, *, if_match: str | None = None) -> None: ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix``, sorted."""
        ...

    def describe(self) -> str:
        """Where this store lives, for messages."""
        ...


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_key(key: str) -> None:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StackflowError(f"storing an object: key {key!r} is not a relative path")


class FileStore:
    """A folder. Writes are atomic (temp file + rename) and conditional writes hold an
    exclusive lock on a sibling ``.lock`` file, so concurrent processes on one machine
    see compare-and-swap semantics."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key

    def get(self, key: str) -> Blob | None:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        return Blob(data=data, etag=_etag(data))

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _Locked(path):
            current = self.get(key)
            if if_none_match and current is not None:
                raise PreconditionFailedError(f"writing {key} in {self.root}: it already exists")
            if if_match is not None and (current is None or current.etag != if_match):
                raise PreconditionFailedError(f"writing {key} in {self.root}: it changed meanwhile")
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            Path(tmp).replace(path)
        return _etag(data)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        path = self._path(key)
        if not path.parent.exists():
            return
        with _Locked(path):
            current = self.get(key)
            if current is None:
                return
            if if_match is not None and current.etag != if_match:
                raise PreconditionFailedError(
                    f"deleting {key} in {self.root}: it changed meanwhile"
                )
            path.unlink()

    def list(self, prefix: str = "") -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return iter(())
        # os.walk rather than Path.rglob: a deployment log of 10,000 records (and their
        # lock files) lists in a fifth of the time (benchmarks/metrics_bench.py).
        root = str(self.root)
        keys = []
        for folder, _, files in os.walk(base):
            rel = os.path.relpath(folder, root).replace(os.sep, "/")
            stem = "" if rel == "." else rel + "/"
            keys += [stem + name for name in files if not name.startswith(".")]
        return iter(sorted(keys))


class _Locked:
    def __init__(self, path: Path) -> None:
        self.lock_path = path.with_name(f".{path.name}.lock")
        self.fd = -1

    def __enter__(self) -> None:
        import fcntl

        self.fd = os.open(self.lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        import fcntl

        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


class S3Store:
    """An S3 prefix, through boto3, using S3's conditional writes (``IfMatch`` /
    ``IfNoneMatch``). The client honours ``AWS_ENDPOINT_URL`` (e.g. a moto server)."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client if client is not None else boto3.client("s3")

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, doing: str, err: Exception) -> StackflowError:
        code = getattr(err, "response", {}).get("Error", {}).get("Code", "")
        if code in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
            return PreconditionFailedError(f"{doing} in {self.describe()}: it changed meanwhile")
        return StackflowError(
            f"{doing} in {self.describe()}: {err}; check the bucket exists and the "
            "credentials may read and write it"
        )

    def get(self, key: str) -> Blob | None:
        from botocore.exceptions import ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._fail(f"reading {key}", err) from err
        return Blob(data=obj["Body"].read(), etag=obj["ETag"])

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key), "Body": data}
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        if if_none_match:
            kwargs["IfNoneMatch"] = "*"
        try:
            return str(self.client.put_object(**kwargs)["ETag"])
        except ClientError as err:
            raise self._fail(f"writing {key}", err) from err

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        try:
            self.client.delete_object(**kwargs)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return
            raise self._fail(f"deleting {key}", err) from err

    def list(self, prefix: str = "") -> Iterator[str]:
        if prefix:
            _check_key(prefix.rstrip("/"))
        base = f"{self.prefix}/" if self.prefix else ""
        full = base + prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        keys: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            keys.extend(obj["Key"][strip:] for obj in page.get("Contents", ()))
        return iter(sorted(keys))


def open_store(location: str) -> BlobStore:
    """A store for ``s3://bucket/prefix[?region=R]``, ``file:///path`` or a plain path."""
    if location.startswith("s3://"):
        url, _, query = location[len("s3://") :].partition("?")
        bucket, _, prefix = url.partition("/")
        if not bucket:
            raise StackflowError(
                f"opening storage {location!r}: no bucket named; use s3://BUCKET/PREFIX"
            )
        region = _query(query).get("region")
        if region is None:
            return S3Store(bucket, prefix)
        import boto3

        return S3Store(bucket, prefix, client=boto3.client("s3", region_name=region))
    if location.startswith("file://"):
        location = location[len("file://") :]
    return FileStore(Path(location).expanduser())


def _query(query: str) -> dict[str, str]:
    return dict(p.partition("=")[::2] for p in query.split("&") if p)


@dataclass(frozen=True, slots=True)
class Locations:
    """Where the engine keeps state and stackflow keeps its records, resolved once."""

    state: str
    """The Pulumi backend URL the engine is given."""
    records: str
    """The store (:func:`open_store`) of the deployment log, the registry and the locks."""

    @property
    def registry(self) -> str:
        return _join(self.records, "registry")

    @property
    def deployment_log(self) -> str:
        return _join(self.records, "deployments")


def _join(location: str, key: str) -> str:
    return location.partition("?")[0].rstrip("/") + "/" + key


def state_backend(repo: RepoConfig, environ: Mapping[str, str] | None = None) -> str:
    """The Pulumi backend URL: ``PULUMI_BACKEND_URL`` when set, else stackflow.yaml's."""
    env = os.environ if environ is None else environ
    return env.get("PULUMI_BACKEND_URL") or repo.backend_url


def resolve_locations(repo: RepoConfig, environ: Mapping[str, str] | None = None) -> Locations:
    """The state backend (``PULUMI_BACKEND_URL`` over ``stackflow.yaml: backend``) and the
    records location (``stackflow.yaml: records``, else beside a ``file://`` or ``s3://``
    state). Raises, before anything is deployed, when the records have no home: stackflow
    cannot write into Pulumi Cloud, ``gs://`` or ``azblob://`` state."""
    state = state_backend(repo, environ)
    if repo.records:
        records = repo.records.removeprefix("file://")
        if not records.startswith("s3://"):
            path = Path(records).expanduser()
            records = str(path if path.is_absolute() else repo.root / path)
        return Locations(state=state, records=records)
    if state.startswith("file://"):
        path = Path(state[len("file://") :].partition("?")[0]).expanduser()
        path = path if path.is_absolute() else repo.root / path
        return Locations(state=state, records=str(path / RECORDS_DIR))
    if state.startswith("s3://"):
        url, _sep, query = state.partition("?")
        region = _query(query).get("region")
        tail = f"?region={region}" if region else ""
        return Locations(state=state, records=f"{url.rstrip('/')}/{RECORDS_DIR}{tail}")
    raise StackflowError(
        f"finding where to keep deployment records and the ephemeral registry: the state "
        f"backend {state} is not one stackflow can write to; set `records: s3://BUCKET/PREFIX` "
        "(or a folder) in stackflow.yaml"
    )
