"""One stage of the generated deploy workflow, run as its YAML says: the `stackflow deploy`
line and env of a `deploy-<stage>` job, through the scripted `pulumi` (a test double)."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackflow.cli import main
from stackflow.gitops.workflows import render_workflows
from stackflow.repoconfig import RepoConfig

from .conftest import FakePulumi

GIT = {
    "GIT_AUTHOR_NAME": "T",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "T",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def deploy_step(repo: RepoConfig, stage: str) -> dict[str, Any]:
    jobs = yaml.safe_load(render_workflows(repo)["deploy.yml"])["jobs"]
    steps = jobs[f"deploy-{stage}"]["steps"]
    return dict(next(s for s in steps if "stackflow deploy" in str(s.get("run", ""))))


def argv(step: dict[str, Any], env: dict[str, str]) -> list[str]:
    """The step's command line as bash would expand it (only "$NAME" words are used)."""
    words = shlex.split(step["run"])
    assert words[0] == "stackflow"
    return [env[w[1:]] if w.startswith("$") else w for w in words[1:]]


@pytest.fixture
def merged(repo: RepoConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    for name, value in GIT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    (repo.root / ".gitignore").write_text(".pulumi-state/\n.stackflow/\n", "utf-8")
    # A program the deploy's offline re-plan can synthesize (a stack that cannot be planned
    # is blocked at merge), and no policy pack (the fixture's has no rules to load).
    (repo.root / "stacks" / "__main__.py").write_text("import pulumi\n\npulumi.export('x', 1)\n")
    (repo.root / "policies" / "PulumiPolicy.yaml").unlink()
    git(repo.root, "init", "-q", "-b", "main")
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "first push")
    monkeypatch.chdir(repo.root)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    return git(repo.root, "rev-parse", "HEAD")


@pytest.mark.parametrize(("pr", "recorded"), [("", None), ("12", 12)])
def test_a_stage_job_deploys_only_its_stage_and_records_the_pull_request(
    repo: RepoConfig,
    fake_on_path: FakePulumi,
    merged: str,
    capsys: pytest.CaptureFixture[str],
    pr: str,
    recorded: int | None,
) -> None:
    fake_on_path.script(
        responses={
            "preview": [{"events": "up_create.jsonl"}],
            "up": [{"events": "up_create.jsonl"}],
        }
    )
    fake_on_path.stacks("dev", "staging", "prod")
    step = deploy_step(repo, "staging")
    env = {
        **{k: str(v) for k, v in step["env"].items() if "${{" not in str(v)},
        "BASE": "0" * 40,  # a first push: every stack of the stage is affected
        "HEAD": merged,
        "PR": pr,  # the context job's output: empty for a direct push
    }
    assert main(argv(step, env)) == 0
    ups = [a for a in fake_on_path.argvs() if a[:1] == ["up"]]
    assert len(ups) == 1
    assert "staging" in " ".join(ups[0])
    capsys.readouterr()
    assert main(["history", "--root", str(repo.root), "--json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert (record["stack"], record["pull_request"]) == ("staging", recorded)


def test_a_stage_outside_promotion_is_one_line(
    repo: RepoConfig, merged: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["deploy", "--stage", "qa", "--base", merged, "--head", merged])
    err = capsys.readouterr().err
    assert code == 1
    assert "qa is not a promotion stage" in err
    assert "Traceback" not in err


def test_a_stage_with_no_stack_file_yet_has_nothing_to_deploy_or_check(
    repo: RepoConfig, merged: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`promotion: [dev, qa, prod]` before any project has Pulumi.qa.yaml: the generated
    qa jobs succeed with nothing to do, so prod still follows, and say so."""
    config = repo.root / "stackflow.yaml"
    config.write_text(config.read_text().replace("staging", "qa"), "utf-8")
    git(repo.root, "commit", "-qam", "promotion: [dev, qa, prod]")
    head = git(repo.root, "rev-parse", "HEAD")
    root = str(repo.root)
    assert main(["deploy", "--stage", "qa", "--base", merged, "--head", head, "--root", root]) == 0
    assert "Nothing to deploy" in capsys.readouterr().out
    assert main(["drift", "--stack", "qa", "--root", root]) == 0
    assert "nothing to check" in capsys.readouterr().out
    assert main(["drift", "--stack", "nope", "--root", root]) == 1


def test_deploy_at_a_terminal_asks_before_protected_stacks(
    repo: RepoConfig,
    fake_on_path: FakePulumi,
    merged: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    fake_on_path.stacks("dev", "staging", "prod")
    assert main(["deploy", "--stage", "prod", "--base", "0" * 40, "--head", merged]) == 1
    err = capsys.readouterr().err
    assert "deploying demo/prod (protected): continue? [y/N]" in err
    assert not [a for a in fake_on_path.argvs() if a[:1] == ["up"]]
