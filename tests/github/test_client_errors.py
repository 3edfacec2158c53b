"""What the GitHub client says for each kind of failure, and the calls and event shapes the
other client tests do not reach (found by `make mutation`: mutants of these lines survived
every test in tests/github)."""

from __future__ import annotations

import json
import re
import socket
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from stackflow.adapters.github import GitHubClient, RetryPolicy, write_step_summary
from stackflow.errors import StackflowError

from .conftest import FAST
from .fakegithub import FakeGitHub

PLAN = "<!-- stackflow:plan -->"


def test_not_found_names_the_permission_and_what_to_check(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    fake_github.fail("GET", r"/issues/7$", 404, message="Not Found")
    with pytest.raises(StackflowError) as caught:
        client.pull_request_labels(7)
    assert str(caught.value) == (
        "reading the labels of pull request #7: not found (HTTP 404); check "
        "GITHUB_REPOSITORY and the number or commit, and that the token may read it "
        "(`pull-requests: read`)"
    )


@pytest.mark.parametrize("status", [403, 422])
def test_any_other_refusal_is_quoted_with_its_status(
    client: GitHubClient, fake_github: FakeGitHub, status: int
) -> None:
    """A 403 that is not about the token's permissions gets no permission advice."""
    fake_github.fail("GET", r"/issues/7$", status, message="Validation Failed")
    with pytest.raises(StackflowError) as caught:
        client.pull_request_labels(7)
    assert str(caught.value) == (
        f"reading the labels of pull request #7: GitHub answered HTTP {status} 'Validation Failed'"
    )


def test_a_pull_request_is_opened_from_head_into_base(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    number = client.create_pull(title="Drift", body="found", head="drift/dev", base="main")
    pull = fake_github.pulls[number]
    assert (pull["title"], pull["body"], pull["head"]["ref"], pull["base"]) == (
        "Drift",
        "found",
        "drift/dev",
        "main",
    )
    with pytest.raises(StackflowError, match="opening a pull request from drift/dev into main"):
        client.create_pull(title="Drift", body="again", head="drift/dev", base="main")


def test_a_comment_whose_author_is_gone_is_never_ours(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    """GitHub returns ``user: null`` for a deleted account: not ours, even with the marker."""
    ghost = fake_github.add_comment(7, f"{PLAN}\nold")
    fake_github.comments[ghost]["user"] = None
    ours = client.upsert_comment(7, f"{PLAN}\nnew", marker=PLAN)
    assert ours != ghost
    assert [(c["id"], c["body"]) for c in fake_github.comments_on(7)] == [
        (ghost, f"{PLAN}\nold"),
        (ours, f"{PLAN}\nnew"),
    ]


def write_event(env: dict[str, str], event: dict[str, object]) -> None:
    Path(env["GITHUB_EVENT_PATH"]).write_text(json.dumps(event))


def test_a_comment_event_names_a_pull_request_only_when_its_issue_is_one(
    client: GitHubClient, actions_env: dict[str, str]
) -> None:
    write_event(actions_env, {"issue": {"number": 5, "pull_request": {"url": "x"}}})
    assert client.pr_from_event() == 5
    write_event(actions_env, {"issue": {"number": 5}})
    assert client.pr_from_event() is None


@pytest.mark.parametrize(
    "run",
    [
        {"id": 1, "pull_requests": [], "head_branch": "b", "head_sha": "a" * 40},
        {
            "id": 1,
            "pull_requests": [{"number": "4"}],
            "head_branch": "b",
            "head_repository": {"owner": {"login": "mallory"}},
        },
    ],
    ids=["no head owner", "no head sha"],
)
def test_a_workflow_run_without_its_head_names_no_pull_request(
    client: GitHubClient, actions_env: dict[str, str], fake_github: FakeGitHub, run: object
) -> None:
    write_event(actions_env, {"workflow_run": run})
    assert client.pr_from_event() is None
    assert fake_github.count("GET", r"/pulls") == 0  # nothing was guessed from the API


def test_outside_a_workflow_there_is_no_event(actions_env: dict[str, str]) -> None:
    client = GitHubClient.from_env({**actions_env, "GITHUB_EVENT_PATH": ""}, retry=FAST)
    assert client.pr_from_event() is None


def test_a_server_that_never_answers_is_one_error_line(actions_env: dict[str, str]) -> None:
    """A server that accepts the connection and never answers: the read times out, is
    retried, and ends as one line saying it did not answer -- not "cannot reach", which
    would send the user to check a URL that is right. (urllib3's retry turns the timeout
    into MaxRetryError, which requests raises as a ConnectionError.)"""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        env = {**actions_env, "GITHUB_API_URL": url}
        client = GitHubClient.from_env(env, retry=FAST, timeout=1)
        with pytest.raises(StackflowError, match=rf"{re.escape(url)} did not answer in time"):
            client.pull_request_labels(7)


def test_the_retry_policy_cannot_be_changed_in_place() -> None:
    with pytest.raises(FrozenInstanceError):
        FAST.attempts = 99  # type: ignore[misc]


def test_the_default_retry_policy_is_the_documented_one() -> None:
    """Up to 5 retries, 1 s, 2 s, 4 s ... apart, no wait over a minute, a second between
    writes (RetryPolicy's docstring, which workflows rely on)."""
    policy = RetryPolicy()
    assert (policy.attempts, policy.backoff, policy.max_wait) == (5, 1.0, 60.0)


@pytest.mark.parametrize("status", [500, 599])
def test_every_5xx_is_retried(client: GitHubClient, fake_github: FakeGitHub, status: int) -> None:
    fake_github.fail("POST", r"/issues/7/comments$", status)
    client.upsert_comment(7, f"{PLAN}\nx", marker=PLAN)
    assert fake_github.count("POST", r"/issues/7/comments$") == 2
    assert len(fake_github.comments_on(7)) == 1


def test_a_hundred_comments_are_read_in_one_request(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    """GitHub's largest page: a busy pull request costs one request, not two."""
    for n in range(99):
        fake_github.add_comment(7, f"chatter {n}")
    kept = fake_github.add_comment(7, f"{PLAN}\nold")
    assert client.upsert_comment(7, f"{PLAN}\nnew", marker=PLAN) == kept
    assert fake_github.count("GET", r"/issues/7/comments$") == 1


def test_an_issue_gets_a_new_title_or_label_even_when_its_body_is_unchanged(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    marker = "<!-- stackflow:drift app/prod -->"
    number = client.upsert_issue("Drift", "same", marker=marker, labels=["drift"])
    client.upsert_issue("Drift (renamed)", "same", marker=marker, labels=["drift"])
    assert fake_github.issues[number]["title"] == "Drift (renamed)"
    client.upsert_issue("Drift (renamed)", "same", marker=marker, labels=["drift", "prod"])
    assert sorted(fake_github.issues[number]["labels"]) == ["drift", "prod"]


def test_closing_an_issue_says_why_only_when_told(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    marker = "<!-- stackflow:drift app/prod -->"
    first = client.upsert_issue("Drift", "x", marker=marker)
    assert client.close_issue(marker) is True
    assert fake_github.comments_on(first) == []
    second = client.upsert_issue("Drift", "y", marker=marker)
    assert client.close_issue(marker, comment="No drift any more.") is True
    assert [c["body"] for c in fake_github.comments_on(second)] == ["No drift any more."]


def test_a_summary_that_cannot_be_written_says_which_file(
    actions_env: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(StackflowError, match=rf"writing the job summary to {tmp_path}: "):
        write_step_summary("# one", str(tmp_path))


def test_writes_are_spaced_more_than_reads_by_default() -> None:
    policy = RetryPolicy()
    assert (policy.read_interval, policy.write_interval) == (0.25, 1.0)


def test_no_4xx_but_429_is_retried(client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.fail("POST", r"/issues/7/comments$", 499, times=5)
    with pytest.raises(StackflowError, match="HTTP 499"):
        client.upsert_comment(7, f"{PLAN}\nx", marker=PLAN)
    assert fake_github.count("POST", r"/issues/7/comments$") == 1


SHA = "0123456789abcdef0123456789abcdef01234567"


def test_errors_name_a_commit_by_its_7_character_short_sha(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    fake_github.fail("GET", r"/commits/.*/pulls", 422, message="no")
    with pytest.raises(StackflowError, match=r"^finding the pull request of 0123456: "):
        client.pull_request_for_commit(SHA)


def test_a_summary_of_exactly_1_mib_is_written_and_one_byte_more_is_not(tmp_path: Path) -> None:
    """GitHub's limit is 1 MiB (1,048,576 bytes) per step, the literal here on purpose."""
    fits, over = tmp_path / "fits.md", tmp_path / "over.md"
    write_step_summary("x" * (1_048_576 - 1), str(fits))  # plus the newline: exactly 1 MiB
    assert fits.stat().st_size == 1_048_576
    with pytest.raises(StackflowError, match="1 MiB"):
        write_step_summary("x" * 1_048_576, str(over))
    assert not over.exists()


def test_an_unchanged_issue_is_not_written_again(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    marker = "<!-- stackflow:drift app/prod -->"
    client.upsert_issue("Drift", "same", marker=marker, labels=["drift"])
    client.upsert_issue("Drift", "same", marker=marker, labels=["drift"])
    assert fake_github.count("PATCH", r"/issues/\d+$") == 0


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [
        (b"", "''"),
        (b"Bad request from the proxy", "'Bad request from the proxy'"),
        (b"<html>\n  <b>blocked</b>\n</html>", "'<html> <b>blocked</b> </html>'"),
        (b"x" * 200, repr("x" * 200)),
        (b"x" * 201, repr("x" * 199 + "…")),
    ],
    ids=["empty", "text", "html", "200 characters", "201 characters"],
)
def test_an_error_body_that_is_not_json_is_quoted_as_text(
    client: GitHubClient, fake_github: FakeGitHub, raw: bytes, quoted: str
) -> None:
    """A proxy in front of GitHub Enterprise answers in text or HTML: what it says is
    quoted on one line (not lost, not a Python bytes literal), at most 200 characters."""
    status = 403 if raw.startswith(b"<") else 400
    fake_github.fail("GET", r"/issues/7$", status, raw=raw)
    with pytest.raises(StackflowError) as caught:
        client.pull_request_labels(7)
    assert str(caught.value) == (
        f"reading the labels of pull request #7: GitHub answered HTTP {status} {quoted}"
    )


def test_an_exhausted_rate_limit_says_when_to_rerun(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    """GitHub's primary limit, resetting in an hour: more than the client waits (its
    ``max_wait``), so it stops at once with the reason, not a generic HTTP 403."""
    import time

    fake_github.fail(
        "GET",
        r"/issues/7$",
        403,
        message="API rate limit exceeded for installation ID 1.",
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 3600)},
    )
    with pytest.raises(StackflowError) as caught:
        client.pull_request_labels(7)
    assert str(caught.value) == (
        "reading the labels of pull request #7: GitHub's rate limit is exhausted (HTTP 403) "
        "and resets later than stackflow waits; rerun the job later"
    )
    assert fake_github.count("GET", r"/issues/7$") == 1


def test_a_status_past_599_is_not_retried(client: GitHubClient, fake_github: FakeGitHub) -> None:
    """Only 429 and 500 to 599 are retried: HTTP has no 600, and a server sending it is
    not a GitHub that will recover."""
    fake_github.fail("POST", r"/issues/7/comments$", 600, times=5)
    with pytest.raises(StackflowError, match="HTTP 600"):
        client.upsert_comment(7, f"{PLAN}\nx", marker=PLAN)
    assert fake_github.count("POST", r"/issues/7/comments$") == 1


def test_a_commit_no_pull_request_merged_belongs_to_the_first_one_github_lists(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    """A commit of a rebase merge is no pull request's merge commit: GitHub lists the
    pull requests that contain it, the one that brought it first."""
    fake_github.add_pull(3, state="closed", merged=True, merge_commit_sha="b" * 40)
    fake_github.add_pull(5, state="closed", merged=True, merge_commit_sha="c" * 40)
    fake_github.commit_pulls[SHA] = [3, 5]
    assert client.pull_request_for_commit(SHA) == 3


def test_every_request_is_given_the_clients_timeout(
    actions_env: dict[str, str], fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 s by default, never under a second: handed to requests with each call (checked
    there, rather than by waiting for a silent server that long)."""
    import requests

    timeouts: list[object] = []
    send = requests.Session.request

    def recording(self: requests.Session, method: str, url: str, **kwargs: object) -> object:
        timeouts.append(kwargs.get("timeout"))
        return send(self, method, url, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(requests.Session, "request", recording)
    fake_github.add_pull(7)
    GitHubClient.from_env(actions_env, retry=FAST).pull_request_labels(7)
    GitHubClient.from_env(actions_env, retry=FAST, timeout=0.2).pull_request_labels(7)
    assert timeouts == [30, 1]


def test_requests_are_spaced_by_the_retry_policy(
    actions_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spacing GitHub asks for (a second between writes) is handed to PyGithub, which
    sleeps before a request that comes too soon (checked at its constructor, not by
    timing requests)."""
    import github

    given: list[dict[str, object]] = []

    class Recording(github.Github):
        def __init__(self, **kwargs: object) -> None:
            given.append(kwargs)
            super().__init__(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(github, "Github", Recording)
    GitHubClient.from_env(actions_env)
    GitHubClient.from_env(actions_env, retry=RetryPolicy(read_interval=0.5, write_interval=2))
    assert [(g["seconds_between_requests"], g["seconds_between_writes"]) for g in given] == [
        (0.25, 1.0),
        (0.5, 2),
    ]


def test_an_event_file_that_is_not_there_says_what_to_do(
    client: GitHubClient, actions_env: dict[str, str]
) -> None:
    assert not Path(actions_env["GITHUB_EVENT_PATH"]).exists()
    with pytest.raises(StackflowError) as caught:
        client.pr_from_event()
    assert str(caught.value).startswith(
        f"reading the workflow event {actions_env['GITHUB_EVENT_PATH']}: [Errno 2] "
    )
    assert str(caught.value).endswith("; pass the pull request with --pr")


def test_pygithub_is_imported_on_the_first_call_only() -> None:
    """PyGithub takes about a second to import: a stackflow command that makes no GitHub
    call (most of them, in every workflow step) must not pay for it."""
    import subprocess
    import sys

    code = (
        "import sys, stackflow.cli, stackflow.adapters.github\n"
        "print(sorted(m for m in sys.modules if m == 'github' or m.startswith('github.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"
