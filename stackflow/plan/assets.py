"""Content digests of Pulumi file assets and archives, so a changed file is a change.

Pulumi sends a ``FileAsset``/``FileArchive`` by path; the engine hashes the content and
updates the resource that uses it when the hash changes. The offline synth does the same:
a file by the SHA-256 of its bytes, a directory by walking it (every file, hidden ones
too, as Pulumi archives a directory), a ``.zip``/``.tar``/``.jar`` by walking its entries.
Each file's digest is kept under its name, so the diff names the files that changed.

Paths are relative to the program's working directory (where Pulumi runs the program).
Digests are 16 hex characters (64 bits of SHA-256): enough to tell two versions apart.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Final

MAX_FILES: Final = 500
"""Beyond this many files an archive keeps one digest for all of them, and a count."""

_DIGEST_CHARS: Final = 16


def _short(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:_DIGEST_CHARS]


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()[:_DIGEST_CHARS]


def file_asset(path: str) -> dict[str, Any]:
    """``{"path", "sha256"}`` of a file asset; ``{"path", "missing": true}`` when absent."""
    file = Path(path)
    if not file.is_file():
        return {"path": path, "missing": True}
    return {"path": path, "sha256": _file_digest(file)}


def _walk_dir(root: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if full.is_file():
                files[full.relative_to(root).as_posix()] = _file_digest(full)
    return files


def _walk_zip(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {
            info.filename: _short(archive.read(info))
            for info in sorted(archive.infolist(), key=lambda i: i.filename)
            if not info.is_dir()
        }


def _walk_tar(path: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    with tarfile.open(path) as archive:
        for member in sorted(archive.getmembers(), key=lambda m: m.name):
            if member.isfile():
                extracted = archive.extractfile(member)
                if extracted is not None:
                    files[member.name] = _short(extracted.read())
    return files


def path_archive(path: str) -> dict[str, Any]:
    """A ``FileArchive``: its path and its files' digests (or one digest and a count)."""
    target = Path(path)
    try:
        if target.is_dir():
            files = _walk_dir(target)
        elif zipfile.is_zipfile(target):
            files = _walk_zip(target)
        elif target.is_file() and tarfile.is_tarfile(target):
            files = _walk_tar(target)
        elif target.is_file():
            files = {target.name: _file_digest(target)}
        else:
            return {"path": path, "missing": True}
    except (OSError, zipfile.BadZipFile, tarfile.TarError):
        return {"path": path, "unreadable": True}
    if len(files) > MAX_FILES:
        joined = "\n".join(f"{name}\x00{digest}" for name, digest in files.items())
        return {"path": path, "sha256": _short(joined.encode()), "fileCount": len(files)}
    return {"path": path, "files": files}
