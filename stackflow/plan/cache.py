"""A cache of base manifests, so the second plan against the same base synthesizes
only the head.

A base is a commit: its files cannot change, so the manifest of (commit, project, stack)
is fixed as long as nothing outside the commit that shapes a synth changes. The key holds
those too: stackflow's version, the Python and Pulumi SDK versions (the mock runtime and
the provider SDKs decide what a program registers), and a hash of the secret-digest key
(digests from another key would read as changed secrets). Entries live under
``<git common dir>/stackflow/cache/manifests/`` (:func:`stackflow.plan.synth.state_dir`),
never in the work tree. Each entry carries an HMAC of its manifest under the digest key
and is used only when it verifies: a manifest written there by anything but a plan with
the same key (a forged base that would hide a later change) is a miss, synthesized again.
A stale, unreadable or unverified entry is a miss.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import platform
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from stackflow import __version__
from stackflow.errors import StackflowError
from stackflow.plan.manifest import Manifest

CACHE_DIR = Path("cache") / "manifests"
"""Below :func:`stackflow.plan.synth.state_dir`."""
_VERSIONED_DISTRIBUTIONS = ("pulumi", "pulumi-aws", "pulumi-kubernetes")


@cache
def _environment() -> tuple[tuple[str, str], ...]:
    """Versions of what runs a synth besides the commit's own files."""
    versions = [("stackflow", __version__), ("python", platform.python_version())]
    for name in _VERSIONED_DISTRIBUTIONS:
        try:
            versions.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            versions.append((name, "absent"))
    return tuple(versions)


@dataclass(frozen=True, slots=True)
class CacheKey:
    commit: str
    project_dir: str
    """The project's directory relative to the repository root (``.`` for the root)."""
    stack: str
    digest_key: bytes

    def hexdigest(self) -> str:
        material = {
            "commit": self.commit,
            "project": self.project_dir,
            "stack": self.stack,
            "digestKey": hashlib.sha256(self.digest_key).hexdigest(),
            "environment": dict(_environment()),
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class ManifestCache:
    """Manifests on disk by :class:`CacheKey`. Writes are atomic (write, then rename), so
    parallel plans never read half a file."""

    def __init__(self, directory: Path, *, key: bytes) -> None:
        self.directory = directory
        self._key = key

    @classmethod
    def for_repo(cls, repo_root: Path, *, key: bytes) -> ManifestCache:
        from stackflow.plan.synth import state_dir

        return cls(state_dir(repo_root) / CACHE_DIR, key=key)

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def _path(self, key: CacheKey) -> Path:
        return self.directory / f"{key.hexdigest()}.json"

    def get(self, key: CacheKey) -> Manifest | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
            text = entry["manifest"]
            if not hmac.compare_digest(str(entry["mac"]), self._mac(text)):
                return None
            return Manifest.from_json(text)
        except (OSError, ValueError, KeyError, TypeError, RecursionError, StackflowError):
            return None

    def put(self, key: CacheKey, manifest: Manifest) -> None:
        path = self._path(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                text = manifest.to_json()
                out.write(json.dumps({"mac": self._mac(text), "manifest": text}))
            Path(tmp).replace(path)
        except OSError as err:
            raise StackflowError(
                f"caching the base manifest in {self.directory}: {err.strerror}; "
                "make the directory writable or remove it"
            ) from err
