"""A branch environment's secret outputs, from the engine to everything stackflow keeps
or shows of them: the registry record (in the state backend), `ephemeral list --json`
and the environment comment.

The in-memory engine of tests/ephemeral hands over outputs already masked, so it cannot
show that masking happens. Here the Automation API wiring runs against the scripted
`pulumi` (a test double of the engine), which prints stack outputs with their plaintext,
as `pulumi stack output --json --show-secrets` does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stackflow.adapters.storage import FileStore, resolve_locations
from stackflow.engine.automation import AutomationEngine, Retry
from stackflow.ephemeral import Environments, list_environments, up
from stackflow.ephemeral.comment import environment_report
from stackflow.plan.reports import EnvironmentStatus
from stackflow.render.markdown import render_environment
from tests.ephemeral.conftest import Clock, make_repo
from tests.ephemeral.fakes import FakeGitHub

from .conftest import FakePulumi

PLAINTEXT = "s3cr\u00e9t-hunter2-\u043f\u0430\u0440\u043e\u043b\u044c"


def shows(text: str) -> bool:
    escaped = json.dumps(PLAINTEXT)[1:-1]
    return PLAINTEXT in text or escaped in text or "hunter2" in text


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "correct horse battery staple")


def test_secret_outputs_are_never_kept_or_shown_in_plaintext(
    tmp_path: Path, fake_pulumi: FakePulumi
) -> None:
    fake_pulumi.script(
        responses={"up": [{"events": "up_create.jsonl"}]},
        outputs={"url": "https://pr.example.com", "dbPassword": {"secret": PLAINTEXT}},
    )
    repo = make_repo(tmp_path / "repo")
    engine = AutomationEngine(
        backend_url=repo.backend_url,
        pulumi_root=fake_pulumi.root,
        retry=Retry(attempts=1, first_delay=0.01, sleep=lambda _: None),
    )
    github = FakeGitHub()
    github.prs[4] = "open"
    store = FileStore(Path(resolve_locations(repo, {}).records))
    envs = Environments.open(repo, engine, github=github, store=store, now=Clock())

    outcome = up(envs, branch="feature/pay", pr=4, head="abc123")

    assert outcome.record.outputs["url"] == "https://pr.example.com"
    assert set(outcome.record.outputs["dbPassword"]) == {"$secret"}
    kept = b"".join(
        p.read_bytes() for p in Path(resolve_locations(repo, {}).records).rglob("*") if p.is_file()
    )
    assert kept, "the record was written"
    assert not shows(kept.decode("utf-8"))
    assert not shows(json.dumps(list_environments(envs).to_dict()))
    comment = render_environment(environment_report(outcome.record, EnvironmentStatus.READY))
    assert "https://pr.example.com" in comment
    assert not shows(comment)
