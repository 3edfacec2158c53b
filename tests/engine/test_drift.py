"""Drift checks: a preview-only refresh per long-lived stack, one GitHub issue per drifting
stack. GitHub is faked at its boundary (the two methods drift uses); the engine is the
scripted `pulumi` (test double of the engine) through the real Automation API wiring."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from stackflow.cli import main
from stackflow.engine.automation import AutomationEngine
from stackflow.gitops.drift import check_drift, issue_marker, long_lived_stacks
from stackflow.project import find_projects
from stackflow.repoconfig import RepoConfig

from .conftest import FakePulumi


@dataclass
class InMemoryIssues:
    """GitHub issues, in memory: open issues by marker."""

    open: dict[str, tuple[int, str, str, tuple[str, ...]]] = field(default_factory=dict)
    closed: list[tuple[int, str | None]] = field(default_factory=list)
    next_number: int = 100

    def upsert_issue(
        self, title: str, body: str, *, marker: str, labels: Sequence[str] = ()
    ) -> int:
        number = self.open[marker][0] if marker in self.open else self.next_number
        self.next_number += marker not in self.open
        self.open[marker] = (number, title, body, tuple(labels))
        return number

    def close_issue(self, marker: str, comment: str | None = None) -> bool:
        if marker not in self.open:
            return False
        self.closed.append((self.open.pop(marker)[0], comment))
        return True


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")


def test_long_lived_stacks_are_the_protected_ones_with_files(repo: RepoConfig) -> None:
    (repo.root / "stacks" / "Pulumi.pr-3.yaml").write_text("config: {}\n", "utf-8")
    stacks = long_lived_stacks(repo, find_projects(repo.root, repo.projects))
    assert [s for _, s in stacks] == ["dev", "prod", "staging"]


def test_drift_opens_updates_and_closes_one_issue_per_stack(
    repo: RepoConfig, fake_pulumi: FakePulumi
) -> None:
    fake_pulumi.script(
        responses={
            "refresh-preview": [
                {"events": "refresh_drift.jsonl"},
                {"events": "refresh_drift.jsonl"},
                {"events": "refresh_clean.jsonl"},
            ]
        }
    )
    fake_pulumi.stacks("dev")
    engine = AutomationEngine(backend_url=repo.backend_url, pulumi_root=fake_pulumi.root)
    project = find_projects(repo.root, repo.projects)[0]
    issues = InMemoryIssues()
    marker = issue_marker("demo", "dev")

    first = check_drift(engine, repo, [(project, "dev")], issues=issues)
    assert first.drifted
    assert first.outcomes[0].issue == 100
    _number, title, body, labels = issues.open[marker]
    assert title == "Drift in demo/dev"
    assert "scratch" in body
    assert labels == ("drift",)

    second = check_drift(engine, repo, [(project, "dev")], issues=issues)
    assert second.outcomes[0].issue == 100  # updated, not a second issue
    assert len(issues.open) == 1

    third = check_drift(engine, repo, [(project, "dev")], issues=issues)
    assert not third.drifted
    assert third.outcomes[0].closed_issue
    assert issues.closed[0][0] == 100
    assert marker not in issues.open


def test_one_unreachable_stack_does_not_stop_the_others(
    repo: RepoConfig, fake_pulumi: FakePulumi
) -> None:
    fake_pulumi.script(responses={"refresh-preview": [{"events": "refresh_clean.jsonl"}]})
    fake_pulumi.stacks("dev")  # staging was never deployed
    engine = AutomationEngine(backend_url=repo.backend_url, pulumi_root=fake_pulumi.root)
    project = find_projects(repo.root, repo.projects)[0]
    report = check_drift(engine, repo, [(project, "staging"), (project, "dev")])
    assert [o.stack for o in report.errors] == ["staging"]
    assert "does not exist" in (report.errors[0].error or "")
    assert report.outcomes[1].plan is not None


def test_cli_exits_3_on_drift_and_0_without(
    repo: RepoConfig, fake_on_path: FakePulumi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_on_path.script(
        responses={
            "refresh-preview": [
                {"events": "refresh_drift.jsonl"},
                {"events": "refresh_clean.jsonl"},
            ]
        }
    )
    fake_on_path.stacks("dev")
    assert main(["drift", "--stack", "dev", "--root", str(repo.root)]) == 3
    assert "DRIFT: demo/dev" in capsys.readouterr().out
    assert main(["drift", "--stack", "dev", "--root", str(repo.root)]) == 0
    assert main(["drift", "--root", str(repo.root)]) == 1
    assert "exactly one of --stack NAME or --all" in capsys.readouterr().err
