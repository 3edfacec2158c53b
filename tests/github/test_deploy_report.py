"""The deploy workflow's `report` job, run as the generated YAML says: the `stackflow deploy
--json` results each stage uploaded, and how each stage's job ended, in one comment."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackflow.cli import main
from stackflow.gitops.workflows import render_workflows
from stackflow.repoconfig import RepoConfig

from .fakegithub import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]


def report_argv(env: dict[str, str]) -> list[str]:
    jobs = yaml.safe_load(render_workflows(RepoConfig.load(ROOT))["deploy.yml"])["jobs"]
    step: dict[str, Any] = next(
        s for s in jobs["report"]["steps"] if "stackflow comment" in str(s.get("run", ""))
    )
    words = []
    for word in shlex.split(step["run"]):
        for name in sorted(env, key=len, reverse=True):
            word = word.replace(f"${name}", env[name])
        words.append(word)
    assert words[0] == "stackflow"
    return words[1:]


def result(stage: str, status: str, **counts: int) -> dict[str, Any]:
    return {
        "commit": "f" * 40,
        "pull_request": 21,
        "ok": status != "failed",
        "stacks": [
            {
                "project": "app",
                "stack": stage,
                "dir": ".",
                "status": status,
                "message": "the engine failed" if status == "failed" else None,
                "counts": counts,
                "outputs": {},
            }
        ],
    }


@pytest.fixture
def in_actions(actions_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in actions_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GITHUB_SHA", "f" * 40)


@pytest.mark.usefixtures("in_actions")
def test_the_report_job_comments_every_stage(
    tmp_path: Path, fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_github.add_pull(21, state="closed", merged=True)
    results = tmp_path / "results"
    for stage, data in {
        "dev": result("dev", "succeeded", create=2),
        "staging": result("staging", "failed"),
    }.items():
        (results / f"deploy-{stage}").mkdir(parents=True)
        (results / f"deploy-{stage}" / "deploy.json").write_text(json.dumps(data))
    monkeypatch.chdir(tmp_path)
    env = {
        "PR": "21",
        "RESULT_DEV": "success",
        "RESULT_STAGING": "failure",
        "RESULT_PROD": "skipped",
    }
    assert main(report_argv(env)) == 0
    (comment,) = fake_github.comments_on(21)
    rows = [line for line in comment["body"].splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `app/dev` | ✅ succeeded | 2 to create |")
    assert rows[1].startswith("| `app/staging` | ❌ failed |")
    assert rows[2].startswith("| `*/prod` | ⏭️ skipped |")  # every project's prod
    assert "the engine failed" in comment["body"]


@pytest.mark.usefixtures("in_actions")
def test_a_malformed_result_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "deploy.json").write_text('{"stacks": [{"stack": 1}]}')
    code = main(["comment", "--deploy", "--pr", "1", "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "deploy.json" in err
    assert "Traceback" not in err
