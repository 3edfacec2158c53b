"""`stackflow rollback`: a revert pull request against the GitHub fake, whose plan comment
shows exactly the reverted changes; refusals for bad targets and unplannable programs.

The fixture repository has an ``origin`` (a bare repository on disk) and a program whose
resources are the lines of ``params.txt``, so each merge changes named resources."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackflow.adapters.storage import FileStore
from stackflow.cli import main
from stackflow.gitops.deploylog import DeploymentLog, DeployRecord
from tests.github.fakegithub import TOKEN, FakeGitHub, Server

PROGRAM = """\
import pulumi
import pulumi_aws as aws

for line in open("params.txt").read().split():
    name, value = line.split("=")
    aws.ssm.Parameter(name, type="String", value=value)
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}

pytestmark = pytest.mark.slow


class Repo:
    broken = base = good = bad = later = ""
    """Commits of main: a program that cannot run, the first that can, the good
    deployment, the bad one, and a later merge that was never deployed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd or self.root, check=True, capture_output=True, text=True
        ).stdout.strip()

    def write(self, name: str, text: str) -> None:
        (self.root / name).write_text(text, encoding="utf-8")

    def merge(self, branch: str, files: dict[str, str]) -> str:
        """A feature branch with ``files`` merged into main with a merge commit."""
        self.git("checkout", "-q", "-b", branch, "main")
        for name, text in files.items():
            self.write(name, text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", f"{branch}: change")
        self.git("checkout", "-q", "main")
        self.git("merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)
        self.git("push", "-q", "origin", "main")
        return self.git("rev-parse", "HEAD")

    def deployed(self, commit: str, start: str, result: str = "succeeded") -> None:
        DeploymentLog(FileStore(self.root / ".pulumi-state" / ".stackflow")).append(
            DeployRecord(
                project="demo",
                stack="prod",
                commit=commit,
                result=result,
                started_at=start,
                finished_at=start.replace(":00Z", ":30Z"),
                actor="deployer",
            )
        )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    root = tmp_path / "clone"
    root.mkdir()
    r = Repo(root)
    r.git("init", "-q", "-b", "main")
    r.git("remote", "add", "origin", str(origin))
    r.write("stackflow.yaml", "protected_stacks: [prod]\nbackend: file://.pulumi-state\n")
    r.write("Pulumi.yaml", "name: demo\nruntime: python\n")
    r.write(
        "Pulumi.prod.yaml",
        "config:\n  aws:region: us-east-1\n  stackflow:environment: prod\n",
    )
    r.write(".gitignore", ".pulumi-state/\n.stackflow/\n")
    r.write("__main__.py", "raise RuntimeError('not written yet')\n")
    r.write("params.txt", "alpha=1\n")
    r.git("add", "-A")
    r.git("commit", "-q", "-m", "a program that cannot run yet")
    r.git("push", "-q", "origin", "main")
    r.broken = r.git("rev-parse", "HEAD")
    r.base = r.merge("pr-1", {"__main__.py": PROGRAM})
    r.good = r.merge("pr-2", {"params.txt": "alpha=1\nbravo=1\n"})
    r.bad = r.merge("pr-3", {"params.txt": "alpha=2\nbravo=1\ncharlie=1\n"})
    r.later = r.merge("pr-4", {"README.md": "docs\n"})
    r.git("fetch", "-q", "origin")
    r.git("remote", "set-head", "origin", "main")
    r.deployed(r.good, "2026-11-20T10:00:00Z")
    r.deployed(r.bad, "2026-11-21T10:00:00Z")
    return r


@pytest.fixture
def github_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    """The GitHub fake, and the variables a workflow step would have for it."""
    gh = FakeGitHub()
    server = Server(gh)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", f"{gh.owner}/{gh.repo}")
    monkeypatch.setenv("GITHUB_API_URL", gh.base_url)
    try:
        yield gh
    finally:
        server.close()


def test_rollback_to_last_good_opens_a_revert_pr_with_exactly_the_reverted_plan(
    repo: Repo, github_env: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["rollback", "--stack", "prod", "--to", "last-good", "--root", str(repo.root)]
    assert main([*argv, "--json", "-"]) == 0, capsys.readouterr().err
    result = json.loads(capsys.readouterr().out)
    assert (result["deployed"], result["good"]) == (repo.bad, repo.good)
    assert [r["sha"] for r in result["reverts"]] == [repo.bad]
    changed = {op: n for op, n in result["counts"].items() if n}
    assert changed == {"update": 1, "delete": 1, "same": 1}  # alpha back, charlie gone, bravo
    # the pull request, from the pushed branch into main
    (pull,) = github_env.pulls.values()
    assert pull["head"]["ref"] == result["branch"]
    assert pull["base"] == "main"
    assert pull["number"] == result["pull_request"]
    origin = repo.root.parent / "origin.git"
    pushed = repo.git("--git-dir", str(origin), "rev-parse", result["branch"])
    # the branch is main with pr-3 reverted: README (pr-4) stays, params go back
    assert repo.git("show", f"{pushed}:params.txt") == "alpha=1\nbravo=1"
    assert repo.git("show", f"{pushed}:README.md") == "docs"
    assert repo.git("rev-parse", f"{pushed}^") == repo.later
    # the plan comment names exactly the reverted resources
    (comment,) = github_env.comments_on(pull["number"])
    body = comment["body"]
    assert body.startswith("<!-- stackflow:plan -->")
    assert "charlie" in body
    assert "alpha" in body
    assert "bravo" not in body


def test_rollback_refuses_a_target_that_is_not_an_ancestor(
    repo: Repo, github_env: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    later = repo.later
    assert main(["rollback", "--stack", "prod", "--to", later, "--root", str(repo.root)]) == 1
    err = capsys.readouterr().err
    assert "is not an ancestor of the deployed" in err
    assert "Traceback" not in err
    assert github_env.pulls == {}


def test_rollback_refuses_a_good_commit_that_cannot_be_planned(
    repo: Repo, github_env: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = repo.broken
    assert main(["rollback", "--stack", "prod", "--to", broken, "--root", str(repo.root)]) == 1
    err = capsys.readouterr().err
    assert "cannot be planned" in err
    assert "not written yet" in err
    assert github_env.pulls == {}
    assert "stackflow/rollback" not in repo.git("branch", "--list")


def test_rollback_reports_a_conflict_and_pushes_nothing(
    repo: Repo, github_env: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.merge("pr-5", {"params.txt": "alpha=3\nbravo=1\ncharlie=1\n"})
    assert main(["rollback", "--stack", "prod", "--root", str(repo.root)]) == 1
    err = capsys.readouterr().err
    assert "conflicts with later changes" in err
    assert "params.txt" in err
    assert github_env.pulls == {}
    origin = repo.root.parent / "origin.git"
    assert "rollback" not in repo.git("--git-dir", str(origin), "branch", "--list")


def test_rollback_now_deploys_the_good_commit_logs_a_rollback_and_opens_the_pr(
    repo: Repo,
    github_env: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Break-glass, with the scripted `pulumi` (a test double of the engine) on PATH."""
    import sys

    from tests.engine.conftest import FAKE_ROOT, FIXTURES, FakePulumi

    fake = FakePulumi(tmp_path / "fake-pulumi")
    fake.home.mkdir()
    monkeypatch.setenv("FAKE_PULUMI_DIR", str(fake.home))
    monkeypatch.setenv("FAKE_PULUMI_FIXTURES", str(FIXTURES))
    monkeypatch.setenv("FAKE_PULUMI_PYTHON", sys.executable)
    monkeypatch.setenv("PATH", f"{FAKE_ROOT / 'bin'}:/usr/bin:/bin")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    fake.script(responses={"up": [{"events": "up_create.jsonl"}]})
    fake.stacks("prod")
    argv = ["rollback", "--stack", "prod", "--now", "--root", str(repo.root), "--json", "-"]
    assert main(argv) == 0, capsys.readouterr().err
    result = json.loads(capsys.readouterr().out)
    assert result["deployed_now"] is True
    (up,) = [c for c in fake.calls() if c["argv"][:1] == ["up"]]
    tree = Path(up["cwd"])
    assert tree != repo.root  # deployed from a worktree of the good commit
    records = DeploymentLog(FileStore(repo.root / ".pulumi-state" / ".stackflow")).records()
    last = records[-1]
    assert (last.commit, last.kind, last.result) == (repo.good, "rollback", "succeeded")
    (pull,) = github_env.pulls.values()
    assert "deployed already with `stackflow rollback --now`" in pull["body"]
