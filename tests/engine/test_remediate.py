"""The two ways out of drift, through the real Automation API wiring and the scripted
`pulumi` (a test double of the engine): remediate (`up` of the deployed commit from a
worktree) and accept (`refresh` into the state, with a summary of what to codify); each
followed by a drift check that closes the issue with the run's link."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest

from stackflow.adapters.storage import open_store, resolve_locations
from stackflow.cli import main
from stackflow.engine.automation import AutomationEngine
from stackflow.gitops.deploylog import DeploymentLog, DeployRecord
from stackflow.gitops.drift import DriftStates, issue_body, issue_marker
from stackflow.ops.remediate import accept, codify_summary, remediate
from stackflow.project import find_projects
from stackflow.repoconfig import RepoConfig

from .conftest import FakePulumi
from .test_drift import InMemoryIssues

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
RUN = "https://github.com/acme/infra/actions/runs/42"


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")


def _commit(repo: RepoConfig) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo.root, check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    git("-c", "user.name=T", "-c", "user.email=t@e", "add", "-A")
    git("-c", "user.name=T", "-c", "user.email=t@e", "commit", "-q", "-m", "deployed")
    return git("rev-parse", "HEAD")


def _log(repo: RepoConfig) -> DeploymentLog:
    return DeploymentLog.open(resolve_locations(repo).records)


def _drifting_issue(issues: InMemoryIssues) -> None:
    issues.upsert_issue("Drift in demo/dev", "drift", marker=issue_marker("demo", "dev"))


def test_remediate_ups_the_deployed_commit_and_closes_the_issue(
    repo: RepoConfig, fake_pulumi: FakePulumi
) -> None:
    sha = _commit(repo)
    _log(repo).append(
        DeployRecord("demo", "dev", sha, "succeeded", "2026-11-29T10:00:00Z",
                     "2026-11-29T10:05:00Z", "deployer")
    )  # fmt: skip
    (repo.root / "changed-after-deploy.txt").write_text("not deployed\n")  # never deployed
    fake_pulumi.script(
        responses={
            "refresh-preview": [
                {"events": "refresh_drift.jsonl"},
                {"events": "refresh_clean.jsonl"},
            ],
            "up": [{"events": "up_create.jsonl"}],
        }
    )
    fake_pulumi.stacks("dev")
    engine = AutomationEngine(backend_url=repo.backend_url, pulumi_root=fake_pulumi.root)
    project = find_projects(repo.root, repo.projects)[0]
    issues = InMemoryIssues()
    _drifting_issue(issues)
    states = DriftStates(open_store(resolve_locations(repo).records))
    result = remediate(
        engine, repo, project, "dev", git=__import__("git").Repo(repo.root), log=_log(repo),
        actor="oncall", now=NOW, issues=issues, states=states, run_url=RUN,
    )  # fmt: skip
    assert result.clean
    assert result.commit == sha
    assert result.drift.has_changes
    (up,) = [c for c in fake_pulumi.calls() if c["argv"][:1] == ["up"]]
    assert up["cwd"] != str(repo.root)  # from a worktree of the deployed commit
    last = _log(repo).records()[-1]
    assert (last.commit, last.kind, last.actor) == (sha, "remediation", "oncall")
    ((number, comment),) = issues.closed
    assert number == 100
    assert RUN in comment
    assert "--remediate" in comment
    assert states.load()[("demo", "dev")].drifted is False


def test_accept_refreshes_the_state_and_says_what_to_codify(
    repo: RepoConfig, fake_pulumi: FakePulumi
) -> None:
    fake_pulumi.script(
        responses={
            "refresh-preview": [
                {"events": "refresh_drift.jsonl"},
                {"events": "refresh_clean.jsonl"},
            ],
            "refresh": [{"events": "refresh_drift.jsonl"}],
        }
    )
    fake_pulumi.stacks("dev")
    engine = AutomationEngine(backend_url=repo.backend_url, pulumi_root=fake_pulumi.root)
    project = find_projects(repo.root, repo.projects)[0]
    issues = InMemoryIssues()
    _drifting_issue(issues)
    result = accept(engine, repo, project, "dev", now=NOW, issues=issues, run_url=RUN)
    verbs = [c["argv"][0] for c in fake_pulumi.calls() if c["argv"][:1] == ["refresh"]]
    applied = [c for c in fake_pulumi.calls() if c["argv"][:1] == ["refresh"]
               and "--preview-only" not in c["argv"]]  # fmt: skip
    assert len(verbs) == 3
    assert len(applied) == 1
    assert result.clean
    assert issues.closed
    assert RUN in str(issues.closed[0][1])
    summary = codify_summary(result.drift)
    assert "| `data` |" in summary
    assert "`tags.owner`" in summary


def test_remediate_without_a_deployment_is_one_line(
    repo: RepoConfig, fake_on_path: FakePulumi, capsys: pytest.CaptureFixture[str]
) -> None:
    _commit(repo)
    assert main(["drift", "--stack", "dev", "--remediate", "--root", str(repo.root)]) == 1
    err = capsys.readouterr().err
    assert "no successful deployment" in err
    assert "--accept" in err
    assert "Traceback" not in err
    assert main(["drift", "--all", "--accept", "--root", str(repo.root)]) == 1
    assert "one stack at a time" in capsys.readouterr().err


def test_the_issue_carries_both_ways_out(repo: RepoConfig, fake_pulumi: FakePulumi) -> None:
    fake_pulumi.script(responses={"refresh-preview": [{"events": "refresh_drift.jsonl"}]})
    fake_pulumi.stacks("dev")
    engine = AutomationEngine(backend_url=repo.backend_url, pulumi_root=fake_pulumi.root)
    from stackflow.engine.automation import make_target

    project = find_projects(repo.root, repo.projects)[0]
    plan = engine.refresh(make_target(repo, project.dir, "dev"), preview_only=True)
    body = issue_body(plan)
    assert "`stackflow drift --stack dev --remediate`" in body
    assert "`stackflow drift --stack dev --accept`" in body
