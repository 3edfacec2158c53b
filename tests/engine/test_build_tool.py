"""`make engine` (tools/engine/build.py) without what it needs: one line, exit 2, no build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
