"""The pull request a push to the default branch came from (the deploy workflow's --pr),
against the GitHub fake over HTTP and a real git repository for the commit message."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stackflow.adapters.github import GitHubClient
from stackflow.cli import main
from stackflow.gitops.pullrequest import from_message, merged_pull_request

from .fakegithub import FakeGitHub

GIT = {
    "GIT_AUTHOR_NAME": "T",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "T",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in GIT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    return root


def commit(root: Path, message: str) -> str:
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", message], cwd=root, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.mark.parametrize(
    ("message", "number"),
    [
        ("Merge pull request #7 from acme/topic\n\nAdd a bucket", 7),
        ("Add a bucket (#12)\n\n* wip\n* more", 12),
        ("Add a bucket (#12) and more", None),
        ("Revert #3", None),
        ("", None),
    ],
)
def test_from_message(message: str, number: int | None) -> None:
    assert from_message(message) == number


def test_the_api_names_the_pull_request_merged_as_this_commit(
    fake_github: FakeGitHub, client: GitHubClient, repo: Path
) -> None:
    sha = commit(repo, "a rebase merge: no number in the message")
    fake_github.add_pull(5, state="open")  # an open branch that contains the commit
    fake_github.add_pull(9, state="closed", merged=True, merge_commit_sha=sha)
    fake_github.commit_pulls[sha] = [5, 9]
    assert merged_pull_request(client, sha, root=repo) == 9


def test_an_open_pull_request_is_not_the_merged_one_and_the_message_decides(
    fake_github: FakeGitHub, client: GitHubClient, repo: Path
) -> None:
    sha = commit(repo, "Add a bucket (#12)")
    fake_github.add_pull(5, state="open")
    fake_github.commit_pulls[sha] = [5]
    assert merged_pull_request(client, sha, root=repo) == 12


def test_when_the_api_fails_the_message_still_names_it(
    fake_github: FakeGitHub, client: GitHubClient, repo: Path
) -> None:
    sha = commit(repo, "Merge pull request #7 from acme/topic")
    fake_github.fail("GET", r"/commits/", 500, times=99)
    warnings: list[str] = []
    assert merged_pull_request(client, sha, root=repo, warn=warnings) == 7
    assert warnings


def test_a_direct_push_has_no_pull_request(
    fake_github: FakeGitHub, client: GitHubClient, repo: Path
) -> None:
    sha = commit(repo, "hotfix straight to main")
    assert merged_pull_request(client, sha, root=repo) is None


def test_the_command_writes_the_step_output_the_deploy_jobs_read(
    fake_github: FakeGitHub,
    actions_env: dict[str, str],
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in actions_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(repo)
    output = repo.parent / "github-output"
    merged = commit(repo, "Add a bucket (#12)")
    direct = commit(repo, "hotfix")
    assert main(["pull-request", "--commit", merged, "-o", str(output)]) == 0
    assert main(["pull-request", "--commit", direct, "-o", str(output)]) == 0
    assert output.read_text() == "pr=12\npr=\n"
    assert "Traceback" not in capsys.readouterr().err
