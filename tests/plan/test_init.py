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


EXISTING = """\
import pulumi
import pulumi_aws as aws

vpc = aws.ec2.get_vpc(default=True)
endpoint = aws.ec2.get_vpc_endpoint(service_name="com.amazonaws.us-west-2.s3", vpc_id=vpc.id)
group = aws.ec2.SecurityGroup("web-secgrp", description="HTTP", vpc_id=vpc.id)
pulumi.export("s3_endpoint", endpoint.id)
"""


def test_an_existing_program_adopted_as_the_readme_says(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """README, "Bring your own Pulumi project": copy the program in, give its stack an
    environment kind, list it in projects:, answer its lookup with `offline init`, and the
    pull request's comment shows it."""
    repo.write(
        {
            "services/webserver/Pulumi.yaml": (
                "name: webserver-py\nruntime:\n  name: python\n  options:\n    virtualenv: venv\n"
            ),
            "services/webserver/__main__.py": EXISTING,
            "services/webserver/Pulumi.dev.yaml": (
                "config:\n  aws:region: us-west-2\n  stackflow:environment: dev\n"
            ),
        }
    )
    settings = repo.root / "stackflow.yaml"
    text = settings.read_text()
    settings.write_text(text.replace('projects: ["."]', 'projects: [".", "services/webserver"]'))
    assert RepoConfig.load(repo.root).projects == (".", "services/webserver")
    assert main(["doctor"]) == 0
    assert "webserver-py in services/webserver: dev (dev)" in capsys.readouterr().out

    # The lookup without a built-in answer: one line naming it, then offline init.
    assert main(["plan", "-p", "services/webserver", "-s", "dev", "--no-base"]) == 1
    out = capsys.readouterr().out
    assert "no offline answer (aws:ec2/getVpcEndpoint:getVpcEndpoint)" in out
    assert main(["offline", "init", "-s", "dev", "-p", "services/webserver"]) == 0
    answers = repo.root / "services/webserver/offline.yaml"
    answers.write_text(answers.read_text().replace("result: {}", "result: {id: vpce-0abc}"))
    capsys.readouterr()

    repo.commit("adopt the webserver")
    comment = tmp_path / "comment.md"
    code = main(["plan", "--base", "HEAD~1", "-o", str(comment)])
    assert code in (0, 2), capsys.readouterr()  # 2: the example's resources are untagged
    text = comment.read_text()
    assert "`webserver-py/dev` · 🆕 new" in text
    assert "vpce-0abc" in text
