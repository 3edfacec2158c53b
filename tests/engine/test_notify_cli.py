"""Notifications from the engine commands: a deploy result reaches the webhook, and a
webhook that keeps failing costs a warning, never the deploy (scripted `pulumi` double)."""

from __future__ import annotations

import pytest

from stackflow.cli import main
from stackflow.repoconfig import RepoConfig
from tests.ops.test_notify import Hook

from .conftest import FakePulumi


@pytest.fixture
def hook() -> object:
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def notifying(repo: RepoConfig, hook: Hook, monkeypatch: pytest.MonkeyPatch) -> RepoConfig:
    config = repo.root / "stackflow.yaml"
    config.write_text(
        config.read_text() + "notifications:\n  - url_env: DEPLOY_HOOK\n    format: json\n"
    )
    monkeypatch.setenv("DEPLOY_HOOK", hook.url)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    return RepoConfig.load(repo.root)


def test_up_notifies_the_result(
    notifying: RepoConfig, hook: Hook, fake_on_path: FakePulumi
) -> None:
    fake_on_path.script(responses={"up": [{"events": "up_create.jsonl"}]})
    fake_on_path.stacks("dev")
    assert main(["up", "--stack", "dev", "--project", str(notifying.root)]) == 0
    (body,) = hook.bodies
    assert (body["event"], body["status"], body["fields"]["stack"]) == (
        "deploy",
        "success",
        "demo/dev",
    )


def test_a_failing_webhook_never_fails_the_deploy(
    notifying: RepoConfig,
    hook: Hook,
    fake_on_path: FakePulumi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from stackflow.ops import notify

    real = notify.Notifier.from_settings  # the command's own notifier, with short waits
    monkeypatch.setattr(
        notify.Notifier,
        "from_settings",
        classmethod(lambda cls, s, env=None, **kw: real(s, env, **{**kw, "backoff": 0.01})),
    )
    hook.script = [500] * 10
    fake_on_path.script(responses={"up": [{"events": "up_create.jsonl"}]})
    fake_on_path.stacks("dev")
    assert main(["up", "--stack", "dev", "--project", str(notifying.root)]) == 0
    err = capsys.readouterr().err
    assert "warning: notifying webhook $DEPLOY_HOOK of deploy failed: HTTP 500" in err
    assert hook.url not in err
    assert len(hook.bodies) == 4


def test_drift_found_then_fixed_is_notified(
    notifying: RepoConfig, hook: Hook, fake_on_path: FakePulumi
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
    root = str(notifying.root)
    assert main(["drift", "--stack", "dev", "--root", root]) == 3
    assert main(["drift", "--stack", "dev", "--root", root]) == 0
    found, fixed = hook.bodies  # fixed: drifted at the last check, clean now
    assert (found["event"], found["status"], found["title"]) == (
        "drift",
        "warning",
        "Drift in demo/dev",
    )
    assert found["text"] == "The cloud differs from the state: 1 delete, 2 update."
    assert (fixed["status"], fixed["title"]) == ("success", "Drift fixed in demo/dev")
