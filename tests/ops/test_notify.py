"""Webhook notifications against a local HTTP server with injected faults (500s, a slow
answer past the timeout, a 4xx), the Slack and generic shapes, the config, and the
property that no secret leaves in a payload (hypothesis-drawn secrets, escaped forms too).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackflow.errors import StackflowError
from stackflow.ops.notify import Event, Notifier, deploy_event
from stackflow.repoconfig import NotificationSettings, RepoConfig

FAST = {"backoff": 0.01, "timeout": 0.3}


class Hook:
    """A webhook receiver on 127.0.0.1: answers from a script of faults (an int status,
    or ``("sleep", seconds)`` before a 200), then 200; keeps every body it got."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.bodies: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.bodies.append(json.loads(body))
                step = hook.script.pop(0) if hook.script else 200
                if isinstance(step, tuple):
                    time.sleep(step[1])
                    step = 200
                self.send_response(step)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000/xyz"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    try:
        yield h
    finally:
        h.close()


EVENT = deploy_event(
    "demo", "prod", "failed", commit="a" * 40, message="boom", pull_request=7,
    counts={"update": 2, "same": 5}, url="https://github.com/acme/infra/actions/runs/1",
)  # fmt: skip


def notifier(hook: Hook, problems: list[str], fmt: str = "slack", **options: Any) -> Notifier:
    settings = [NotificationSettings(url_env="SLACK_WEBHOOK_URL", format=fmt)]
    return Notifier.from_settings(
        settings, {"SLACK_WEBHOOK_URL": hook.url}, on_problem=problems.append, **{**FAST, **options}
    )


def test_500s_are_retried_with_backoff_then_delivered(hook: Hook) -> None:
    hook.script = [500, 502]
    problems: list[str] = []
    (delivery,) = notifier(hook, problems).send(EVENT)
    assert (delivery.ok, delivery.attempts) == (True, 3)
    assert len(hook.bodies) == 3
    assert problems == []
    body = hook.bodies[-1]
    assert body["text"].startswith("Deploy of demo/prod failed")
    (attachment,) = body["attachments"]
    assert attachment["color"] == "#cf222e"
    assert {f["title"]: f["value"] for f in attachment["fields"]} == {
        "stack": "demo/prod", "commit": "a" * 12, "result": "failed",
        "pull request": "#7", "changes": "2 update",
    }  # fmt: skip


def test_a_timeout_is_retried(hook: Hook) -> None:
    hook.script = [("sleep", 1.0)]
    (delivery,) = notifier(hook, []).send(EVENT)
    assert (delivery.ok, delivery.attempts) == (True, 2)


def test_giving_up_never_raises_and_never_names_the_url(hook: Hook) -> None:
    hook.script = [500] * 10
    problems: list[str] = []
    (delivery,) = notifier(hook, problems, attempts=3).send(EVENT)
    assert (delivery.ok, delivery.attempts) == (False, 3)
    assert delivery.error == "HTTP 500 after 3 attempts"
    (line,) = problems
    assert "$SLACK_WEBHOOK_URL" in line
    assert hook.url not in line
    assert "127.0.0.1" not in line


def test_a_client_error_is_not_retried(hook: Hook) -> None:
    hook.script = [400]
    (delivery,) = notifier(hook, []).send(EVENT)
    assert (delivery.ok, delivery.attempts, len(hook.bodies)) == (False, 1, 1)


def test_an_unreachable_webhook_gives_up_quietly() -> None:
    problems: list[str] = []
    settings = [NotificationSettings(url_env="HOOK", format="json")]
    sink = Notifier.from_settings(
        settings, {"HOOK": "http://127.0.0.1:9/x"}, on_problem=problems.append, **FAST
    )
    (delivery,) = sink.send(EVENT)
    assert not delivery.ok
    assert "after 4 attempts" in str(delivery.error)
    assert len(problems) == 1


def test_generic_shape_and_event_filter(hook: Hook) -> None:
    settings = [
        NotificationSettings(url_env="A", format="json", events=("drift",)),
        NotificationSettings(url_env="B", format="json"),
        NotificationSettings(url_env="UNSET", format="json"),
    ]
    sink = Notifier.from_settings(settings, {"A": hook.url, "B": hook.url}, **FAST)
    assert [h.name for h in sink.webhooks] == ["A", "B"]  # an unset variable: skipped
    assert len(sink.send(EVENT)) == 1  # A hears only drift
    (body,) = hook.bodies
    assert body == {
        "source": "stackflow", "version": 1, "event": "deploy", "status": "failure",
        "title": "Deploy of demo/prod failed", "text": "boom",
        "fields": {"stack": "demo/prod", "commit": "a" * 12, "result": "failed",
                   "pull request": "#7", "changes": "2 update"},
        "url": "https://github.com/acme/infra/actions/runs/1",
    }  # fmt: skip


def test_config_names_the_variable_never_the_url(tmp_path: Path) -> None:
    repo = RepoConfig.from_dict(
        tmp_path, {"notifications": [{"url_env": "SLACK_WEBHOOK_URL", "events": ["deploy"]}]}
    )
    assert repo.notifications == (
        NotificationSettings(url_env="SLACK_WEBHOOK_URL", format="slack", events=("deploy",)),
    )
    with pytest.raises(StackflowError, match=r"notifications\[0\]\.url_env .*never goes in"):
        RepoConfig.from_dict(tmp_path, {"notifications": [{"url_env": "https://hooks.x/T0"}]})
    with pytest.raises(StackflowError, match=r"notifications\[0\]\.format is 'teams'"):
        RepoConfig.from_dict(tmp_path, {"notifications": [{"url_env": "X", "format": "teams"}]})


secrets = st.text(
    alphabet=st.characters(categories=["Lu", "Ll", "Nd"], max_codepoint=0x2FFF),
    min_size=12,
    max_size=32,
)


@given(secret=secrets, token=secrets, fmt=st.sampled_from(["slack", "json"]))
def test_no_secret_leaves_in_a_payload(secret: str, token: str, fmt: str) -> None:
    """A passphrase leaked into an error message, and the webhook's own URL (its token is
    the secret), appear in no form in the bytes sent."""
    sent: list[bytes] = []

    def post(url: str, body: bytes, timeout: float) -> int:
        sent.append(body)
        return 200

    url = f"https://hooks.example.com/services/{token}"
    env = {"HOOK": url, "PULUMI_CONFIG_PASSPHRASE": secret}
    sink = Notifier.from_settings(
        [NotificationSettings(url_env="HOOK", format=fmt)], env, post=post
    )
    event = Event(
        "deploy", "failure", f"Deploy failed: {secret}",
        f"decrypting with {secret!r} failed at {url}; json {json.dumps(secret)}",
        {secret: secret, "hook": url}, url="https://github.com/acme/infra/actions/runs/1",
    )  # fmt: skip
    (delivery,) = sink.send(event)
    assert delivery.ok
    (body,) = sent
    text = body.decode("utf-8")
    for value in (secret, url):
        for form in {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}:
            assert form not in text
    json.loads(text)  # still valid JSON


def test_a_webhook_that_fails_never_fails_the_deploy(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the command layer's notifier: a broken payload builder and a failing
    endpoint each end as one warning."""
    from stackflow.commands.ops import notifier as command_notifier

    hook.script = [500] * 10
    monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
    repo = RepoConfig.from_dict(tmp_path, {"notifications": [{"url_env": "SLACK_WEBHOOK_URL"}]})
    sink = command_notifier(repo)
    for h in sink.webhooks:
        h.backoff, h.attempts = 0.01, 2
    sink.webhooks[0].payload = lambda event: 1 / 0  # type: ignore[method-assign]
    (delivery,) = sink.send(EVENT)
    assert (delivery.ok, delivery.error) == (False, "ZeroDivisionError")


def test_reaped_environments_are_notified(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reap command's notifier: one event per environment it tore down (destroyed or
    failed), none for the ones it kept."""
    from stackflow.commands.ephemeral import _notify_reaped
    from stackflow.ephemeral.lifecycle import TeardownOutcome, TeardownStatus
    from stackflow.ephemeral.reaper import Action, Decision, Facts, ReapItem, ReapReport

    def item(stack: str, status: TeardownStatus | None) -> ReapItem:
        decision = Decision(stack, Action.DESTROY, "pull request merged", None, Facts(), None)
        outcome = TeardownOutcome(stack, status, "destroy failed: boom") if status else None
        return ReapItem(decision, outcome)

    monkeypatch.setenv("HOOK", hook.url)
    repo = RepoConfig.from_dict(
        tmp_path, {"notifications": [{"url_env": "HOOK", "format": "json"}]}
    )
    report = ReapReport(
        (item("pr-1-a", TeardownStatus.DESTROYED), item("pr-2-b", TeardownStatus.FAILED),
         item("pr-3-c", None)),
        dry_run=False,
    )  # fmt: skip
    _notify_reaped(repo, report)
    assert [(b["event"], b["status"], b["fields"]["stack"]) for b in hook.bodies] == [
        ("reap", "info", "pr-1-a"),
        ("reap", "failure", "pr-2-b"),
    ]
    assert hook.bodies[0]["title"] == "Reaped branch environment pr-1-a: destroyed"
