"""`stackflow ephemeral up|down|list|reap` end to end, with the engine and GitHub faked at
their boundary (the commands build the real ones through `_engine` and `_github`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stackflow.cli import main
from stackflow.render.markdown import ENVIRONMENT_MARKER

from .fakes import FakeGitHub, InMemoryEngine


def run(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    code = main(["ephemeral", *args, "--root", str(root)])
    out, err = capsys.readouterr()
    return code, out, err


def test_up_list_down_round_trip(
    capsys: pytest.CaptureFixture[str], world: tuple[Path, InMemoryEngine, FakeGitHub]
) -> None:
    root, engine, github = world
    code, out, _ = run(capsys, root, "up", "--branch", "feature/login", "--pr", "12", "--comment")
    assert code == 0
    stack = out.split()[1]
    assert stack.startswith("pr-12-feature-login-")
    assert f"url: https://{stack}.preview.example.com" in out
    assert github.comments[12].startswith(ENVIRONMENT_MARKER)
    assert "5f1d0e" not in github.comments[12]  # the secret output is masked

    code, out, _ = run(capsys, root, "list")
    assert code == 0
    assert stack in out
    assert "open" in out
    assert "cost guard: 1 branch stacks, 0.0 stack-hours so far" in out

    code, out, _ = run(capsys, root, "list", "--json")
    data: dict[str, Any] = json.loads(out)
    assert data["environments"][0]["stack"] == stack
    assert data["cost"]["running"] == 1

    code, out, _ = run(capsys, root, "down", "--branch", "feature/login", "--comment")
    assert code == 0
    assert "destroyed" in out
    assert stack not in engine.stacks
    assert "destroyed" in github.comments[12].lower()
    code, out, _ = run(capsys, root, "down", "--branch", "feature/login")
    assert (code, out.strip()) == (
        0,
        "no registered environment for branch feature/login: nothing to do",
    )


def test_a_failed_destroy_exits_1_and_stays_destroying(
    capsys: pytest.CaptureFixture[str], world: tuple[Path, InMemoryEngine, FakeGitHub]
) -> None:
    from stackflow.errors import StackflowError

    root, engine, _ = world
    run(capsys, root, "up", "--branch", "x")
    engine.inject("destroy", StackflowError("destroying br-x: bucket not empty"))
    code, out, _ = run(capsys, root, "down", "--branch", "x", "--json")
    assert code == 1
    [outcome] = json.loads(out)["outcomes"]
    assert outcome["status"] == "failed"
    code, out, _ = run(capsys, root, "list", "--json")
    [env] = json.loads(out)["environments"]
    assert env["state"] == "destroying"
    assert env["last_error"] == "destroying br-x: bucket not empty"


def test_reap_dry_run_then_reap(
    capsys: pytest.CaptureFixture[str], world: tuple[Path, InMemoryEngine, FakeGitHub]
) -> None:
    root, engine, github = world
    run(capsys, root, "up", "--branch", "feature/login", "--pr", "12")
    run(capsys, root, "up", "--branch", "keep", "--pr", "13")
    github.prs[13] = "open"
    github.branches.add("keep")
    github.prs[12] = "merged"
    code, out, _ = run(capsys, root, "reap", "--dry-run")
    assert code == 0
    assert "pull request #12 is merged" in out
    assert "would destroy" in out
    assert "dry run: nothing was changed" in out
    assert engine.destroyed == []
    code, out, _ = run(capsys, root, "reap", "--json", "--comment")
    assert code == 0
    items = {i["stack"]: i for i in json.loads(out)["items"]}
    [merged] = [i for i in items.values() if i["pr"] == 12]
    assert (merged["action"], merged["outcome"]) == ("destroy", "destroyed")
    assert [i["action"] for i in items.values() if i["pr"] == 13] == ["keep"]
    assert "pull request \\#12 is merged" in github.comments[12]  # Markdown-escaped


def test_hostile_branch_names_cannot_forge_table_rows(
    capsys: pytest.CaptureFixture[str], world: tuple[Path, InMemoryEngine, FakeGitHub]
) -> None:
    root, _, _ = world
    branch = "x\nbr-fake  main  1  active\x1b[2J"
    assert run(capsys, root, "up", "--branch", branch)[0] == 0
    code, out, _ = run(capsys, root, "list")
    assert code == 0
    assert "\x1b" not in out
    assert len(out.strip().splitlines()) == 3  # header, one row, cost guard
    assert json.dumps(branch) in out


def test_comment_needs_a_pull_request(
    capsys: pytest.CaptureFixture[str], world: tuple[Path, InMemoryEngine, FakeGitHub]
) -> None:
    root, engine, _ = world
    code, _, err = run(capsys, root, "up", "--branch", "x", "--comment")
    assert code == 1
    assert "--comment needs --pr" in err
    assert engine.calls == []
