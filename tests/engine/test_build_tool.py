"""`make engine` (tools/engine/build.py): without what it needs, one line, exit 2, no build;
with an output built before from the same inputs, a copy instead of a build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BUILD = Path(__file__).resolve().parents[2] / "tools" / "engine" / "build.py"


def run_build(path: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUILD)],
        env={"PATH": path, "HOME": str(tmp_path), "STACKFLOW_ENGINE_CACHE": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_go_it_says_so_in_one_line(tmp_path: Path) -> None:
    result = run_build(str(tmp_path), tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "engine: error: Go is not installed (no `go` on PATH); install Go 1.26 or newer, "
        "then run `make engine` again"
    ]


def test_with_the_module_proxy_off_it_says_so_in_one_line(tmp_path: Path) -> None:
    # A scripted `go` (a test double): answers `go env GOPROXY` with "off", fails otherwise.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "go").write_text(
        '#!/bin/sh\n[ "$1 $2" = "env GOPROXY" ] && { echo off; exit 0; }\nexit 1\n', "utf-8"
    )
    (fake / "go").chmod(0o755)
    result = run_build(f"{fake}:/usr/bin:/bin", tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "GOPROXY is 'off'; `make engine` needs the Go module proxy" in result.stderr
    assert not (tmp_path / "gobuild").exists()


def test_a_fresh_clone_copies_an_output_built_from_the_same_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output cache: built once (kept by digest), a clone without it copies it in."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("engine_build", BUILD)
    assert spec is not None
    assert spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "engine_build", build)  # dataclasses look it up
    spec.loader.exec_module(build)
    monkeypatch.setenv("STACKFLOW_ENGINE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(build, "OUT", tmp_path / "first" / "bin")
    monkeypatch.setattr(build, "STAMPS", tmp_path / "first" / "stamps")
    out = build.Output("pulumi", "pulumi CLI", "digest-1")
    assert not out.fresh()
    (tmp_path / "first" / "bin").mkdir(parents=True)
    (tmp_path / "first" / "bin" / "pulumi").write_bytes(b"built")
    out.done()

    monkeypatch.setattr(build, "OUT", tmp_path / "second" / "bin")
    monkeypatch.setattr(build, "STAMPS", tmp_path / "second" / "stamps")
    assert out.fresh()
    assert (tmp_path / "second" / "bin" / "pulumi").read_bytes() == b"built"
    assert not build.Output("pulumi", "pulumi CLI", "digest-2").fresh(), "other inputs"
