"""Ctrl-C during a multi-stack plan: every child ends quietly, the CLI says one line, and
the temporary worktree of the base is removed. A real SIGINT to the process group, as a
terminal sends it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SLOW = "import time\nimport pulumi\ntime.sleep(120)\npulumi.export('done', True)\n"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def slow_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    project = repo / "slow"
    project.mkdir(parents=True)
    (project / "Pulumi.yaml").write_text("name: slow\nruntime: python\n")
    (project / "__main__.py").write_text(SLOW)
    for stack in ("a", "b", "c"):
        (project / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    (project / "Pulumi.a.yaml").write_text("config:\n  slow:x: '1'\n")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "two")
    return repo


def _group(pid: int) -> list[str]:
    out = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, text=True, check=False)
    return out.stdout.split()


@pytest.mark.slow
def test_ctrl_c_during_a_multi_stack_plan(slow_repo: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "stackflow.cli", "plan", "--all", "--base", "HEAD~1"],
        cwd=slow_repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=os.environ | {"TMPDIR": str(scratch), "STACKFLOW_WARM": "1"},
    )
    try:
        # Wait until the base worktree exists and the programs run (three heads, three
        # bases, the zygote and the CLI), then interrupt the whole group like Ctrl-C.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            worktrees = _git(slow_repo, "worktree", "list").count("\n")
            if worktrees == 2 and len(_group(proc.pid)) >= 6:
                break
            time.sleep(0.3)
        assert proc.poll() is None, proc.communicate()
        assert any(p.name.startswith("stackflow-base-") for p in scratch.iterdir())
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines() == ["stackflow: interrupted"]
    assert _git(slow_repo, "worktree", "list").count("\n") == 1  # the base's is gone
    assert not [p for p in scratch.iterdir() if p.name.startswith("stackflow-base-")]
    time.sleep(0.5)
    assert _group(proc.pid) == []  # no child left behind
