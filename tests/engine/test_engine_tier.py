"""The real-engine tier (tests/e2e) fails, never skips, where the engine is expected.

Run as a subprocess with no engine on PATH: skipped by default (a laptop without Go),
failed with ``STACKFLOW_REQUIRE_ENGINE=1`` (what `.ci/run` sets before `make test-engine`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_tier(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    empty = tmp_path / "no-engine"
    empty.mkdir(exist_ok=True)
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "STACKFLOW_REQUIRE_ENGINE")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "engine", "tests/e2e", "-p", "no:cacheprovider",
         "-k", "test_program_error_is_one_line", "-rs"],
        cwd=ROOT,
        env={**base, "PATH": f"{empty}{os.pathsep}/usr/bin{os.pathsep}/bin",
             "STACKFLOW_ENGINE_BIN": str(empty), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_the_tier_skips_without_an_engine_unless_it_is_required(tmp_path: Path) -> None:
    skipped = _run_tier(tmp_path)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "pulumi, pulumi-language-python, pulumi-resource-kubernetes not on PATH" in (
        skipped.stdout
    )
    required = _run_tier(tmp_path, STACKFLOW_REQUIRE_ENGINE="1")
    assert required.returncode == 1, required.stdout + required.stderr
    assert "the engine must run here" in required.stdout
