"""`stackflow init` as a new user runs it: a second project in a real repository, planned
offline by the affected-stacks default, and shown in the rendered PR comment."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackflow.cli import main
from stackflow.repoconfig import RepoConfig

from .conftest import GitRepo
from .test_repository import copy_project

pytestmark = pytest.mark.slow


@pytest.fixture
def repo(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    copy_project(git_repo, stacks=("dev",), policies=True)
    git_repo.commit("the platform project")
    monkeypatch.chdir(git_repo.root)
    return git_repo


def test_a_new_project_is_planned_and_in_the_comment(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["init", "services/billing"]) == 0
    out = capsys.readouterr().out
    assert "+ created services/billing/Pulumi.dev.yaml" in out
    assert RepoConfig.load(repo.root).projects == (".", "services/billing")
    kind = yaml.safe_load((repo.root / "services/billing/Pulumi.dev.yaml").read_text())
    assert kind["config"]["stackflow:environment"] == "dev"
    repo.commit("a billing project")
    comment = tmp_path / "comment.md"
    code = main(["plan", "--base", "HEAD~1", "-o", str(comment)])
    assert code == 0, capsys.readouterr()
    text = comment.read_text()
    assert "billing/dev" in text
    assert "aws:s3/bucket:Bucket" in text
    assert main(["init", "services/billing"]) == 1  # never overwrites
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('# ours\nprojects: ["."]  # the platform\npromotion: [dev]\n', None),
        ("projects:\n  - .\n  # more later\n\npromotion: [dev]\n", None),
        ("promotion: [dev]\n", "promotion: [dev]\n"),
    ],
    ids=["flow", "block", "absent"],
)
def test_registration_keeps_the_file(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], before: str, after: str | None
) -> None:
    (repo.root / "stackflow.yaml").write_text(before, "utf-8")
    assert main(["init", "web", "--stack", "sandbox"]) == 0
    text = (repo.root / "stackflow.yaml").read_text()
    if after is not None:
        assert text == after
        assert "found without registering" in capsys.readouterr().out
    else:
        assert RepoConfig.load(repo.root).projects == (".", "web")
        assert ("# ours" in text) == ("# ours" in before)
        assert "promotion: [dev]" in text


def test_an_unknown_environment_kind_is_refused(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "web", "--environment", "qa"]) == 1
    assert "environment kind 'qa' has no policy config" in capsys.readouterr().err
    assert not (repo.root / "web").exists()
