"""The GitHub client against a GitHub-compatible server on 127.0.0.1: real HTTP through
PyGithub and urllib3, with faults injected by the server."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from stackflow.adapters.github import (
    STEP_SUMMARY_LIMIT,
    GitHubClient,
    RetryPolicy,
    write_step_summary,
)
from stackflow.errors import StackflowError

from .conftest import FAST
from .fakegithub import FakeGitHub

PLAN = "<!-- stackflow:plan -->"
ENV = "<!-- stackflow:environment -->"
SHA = "a" * 40


# ------------------------------------------------------------------ sticky comments


def test_second_upsert_edits_the_first_comment(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    first = client.upsert_comment(7, f"{PLAN}\nplan one", marker=PLAN)
    second = client.upsert_comment(7, f"{PLAN}\nplan two", marker=PLAN)
    comments = fake_github.comments_on(7)
    assert first == second
    assert [c["body"] for c in comments] == [f"{PLAN}\nplan two"]
    assert fake_github.count("PATCH", r"/issues/comments/") == 1


def test_unchanged_body_is_not_written_again(client: GitHubClient, fake_github: FakeGitHub) -> None:
    client.upsert_comment(7, f"{PLAN}\nsame", marker=PLAN)
    client.upsert_comment(7, f"{PLAN}\nsame", marker=PLAN)
    assert fake_github.count("PATCH", r"/issues/comments/") == 0
    assert fake_github.count("POST", r"/comments$") == 1


def test_each_purpose_has_its_own_comment(client: GitHubClient, fake_github: FakeGitHub) -> None:
    client.upsert_comment(7, f"{PLAN}\nplan", marker=PLAN)
    client.upsert_comment(7, f"{ENV}\nenvironment", marker=ENV)
    client.upsert_comment(7, f"{PLAN}\nplan 2", marker=PLAN)
    assert [c["body"] for c in fake_github.comments_on(7)] == [
        f"{PLAN}\nplan 2",
        f"{ENV}\nenvironment",
    ]


def test_the_marker_is_added_when_the_body_lacks_it(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    client.upsert_comment(7, "hello", marker=PLAN)
    assert fake_github.comments_on(7)[0]["body"] == f"{PLAN}\nhello"


def test_a_marker_quoted_later_in_a_comment_does_not_count(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    fake_github.add_comment(7, f"{ENV}\nthe plan said `{PLAN}`")
    client.upsert_comment(7, f"{PLAN}\nplan", marker=PLAN)
    assert len(fake_github.comments_on(7)) == 2


def test_a_humans_comment_with_the_marker_is_never_touched(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    human = fake_github.add_comment(
        7, f"{PLAN}\nlook, I can type markers", user={"login": "mallory", "type": "User"}
    )
    client.upsert_comment(7, f"{PLAN}\nreal plan", marker=PLAN)
    bodies = {c["id"]: c["body"] for c in fake_github.comments_on(7)}
    assert bodies[human] == f"{PLAN}\nlook, I can type markers"
    assert len(bodies) == 2
    assert fake_github.count("DELETE", r".") == 0


def test_an_explicit_author_is_matched_by_login(
    actions_env: dict[str, str], fake_github: FakeGitHub
) -> None:
    client = GitHubClient.from_env(
        {**actions_env, "STACKFLOW_COMMENT_AUTHOR": "github-actions[bot]"}, retry=FAST
    )
    existing = fake_github.add_comment(7, f"{PLAN}\nold")
    assert client.upsert_comment(7, f"{PLAN}\nnew", marker=PLAN) == existing


def test_duplicates_left_by_an_earlier_race_are_removed(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    oldest = fake_github.add_comment(7, f"{PLAN}\nA")
    fake_github.add_comment(7, f"{PLAN}\nB")
    fake_github.add_comment(7, f"{PLAN}\nC")
    assert client.upsert_comment(7, f"{PLAN}\nD", marker=PLAN) == oldest
    assert [(c["id"], c["body"]) for c in fake_github.comments_on(7)] == [(oldest, f"{PLAN}\nD")]


def test_two_racing_jobs_leave_exactly_one_comment(
    actions_env: dict[str, str], fake_github: FakeGitHub
) -> None:
    both_listed = threading.Barrier(2, timeout=10)
    fake_github.on_create_comment = both_listed.wait  # both have listed and found nothing
    clients = [GitHubClient.from_env(actions_env, retry=FAST) for _ in range(2)]
    results: list[int] = []
    errors: list[BaseException] = []

    def job(n: int) -> None:
        try:
            results.append(clients[n].upsert_comment(9, f"{PLAN}\njob {n}", marker=PLAN))
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=job, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert fake_github.count("POST", r"/issues/9/comments$") == 2  # the race did happen
    comments = fake_github.comments_on(9)
    assert len(comments) == 1
    assert results == [comments[0]["id"]] * 2
    assert comments[0]["body"] in (f"{PLAN}\njob 0", f"{PLAN}\njob 1")


def test_comments_are_found_across_pages(client: GitHubClient, fake_github: FakeGitHub) -> None:
    for i in range(230):
        fake_github.add_comment(7, f"chatter {i}", user={"login": "bob", "type": "User"})
    marked = fake_github.add_comment(7, f"{PLAN}\nold")
    assert client.upsert_comment(7, f"{PLAN}\nnew", marker=PLAN) == marked
    assert fake_github.count("GET", r"/issues/7/comments$") >= 3
    assert fake_github.count("POST", r"/comments$") == 0


# ------------------------------------------------------------------------ retries


def test_server_errors_are_retried_then_succeed(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    fake_github.fail("POST", r"/issues/7/comments$", 502, times=2)
    client.upsert_comment(7, f"{PLAN}\nx", marker=PLAN)
    assert fake_github.count("POST", r"/issues/7/comments$") == 3
    assert len(fake_github.comments_on(7)) == 1


def test_retries_are_bounded(client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.fail("GET", r"/issues/7/comments$", 503, times=100)
    with pytest.raises(
        StackflowError, match=r"kept failing after retries \(last answer HTTP 503\)"
    ):
        client.upsert_comment(7, f"{PLAN}\nx", marker=PLAN)
    assert fake_github.count("GET", r"/issues/7/comments$") == 1 + FAST.attempts


def test_429_honours_retry_after(actions_env: dict[str, str], fake_github: FakeGitHub) -> None:
    policy = RetryPolicy(attempts=2, backoff=0.01, max_wait=5, read_interval=0, write_interval=0)
    client = GitHubClient.from_env(actions_env, retry=policy)
    fake_github.fail("GET", r"/issues/7/comments$", 429, headers={"Retry-After": "1"})
    started = time.monotonic()
    client.upsert_comment(7, f"{PLAN}\nx", marker=PLAN)
    assert time.monotonic() - started >= 1.0
    assert (
        fake_github.count("GET", r"/issues/7/comments$") == 3
    )  # 429, listed, re-listed after create


def test_retry_after_is_capped_by_max_wait(client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.fail("GET", r"/issues/7/comments$", 429, headers={"Retry-After": "3600"})
    started = time.monotonic()
    client.upsert_comment(7, f"{PLAN}\nx", marker=PLAN)
    assert time.monotonic() - started < 5


def test_secondary_rate_limit_is_retried(client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.fail(
        "POST",
        r"/issues/7/comments$",
        403,
        message="You have exceeded a secondary rate limit. Please wait a few minutes.",
    )
    client.upsert_comment(7, f"{PLAN}\nx", marker=PLAN)
    assert fake_github.count("POST", r"/issues/7/comments$") == 2
    assert len(fake_github.comments_on(7)) == 1


@pytest.mark.parametrize(
    ("call", "route", "permission"),
    [
        (lambda c: c.upsert_comment(7, "x", marker=PLAN), r"/comments$", "pull-requests: write"),
        (lambda c: c.upsert_issue("Drift", "x", marker="<!-- d -->"), r"/issues$", "issues: write"),
        (lambda c: c.branch_exists("main"), r"/branches/", "contents: read"),
    ],
)
def test_missing_permission_names_the_permission_to_add(
    client: GitHubClient, fake_github: FakeGitHub, call: object, route: str, permission: str
) -> None:
    for method in ("GET", "POST"):
        fake_github.fail(
            method, route, 403, message="Resource not accessible by integration", times=10
        )
    with pytest.raises(StackflowError, match=f"add `{permission}` under `permissions:`"):
        call(client)  # type: ignore[operator]


def test_a_bad_token_says_so(actions_env: dict[str, str], fake_github: FakeGitHub) -> None:
    client = GitHubClient.from_env({**actions_env, "GITHUB_TOKEN": "wrong"}, retry=FAST)
    with pytest.raises(StackflowError, match="GitHub rejected the token"):
        client.pull_request_labels(7)


def test_an_unreachable_api_says_so(actions_env: dict[str, str]) -> None:
    client = GitHubClient.from_env(
        {**actions_env, "GITHUB_API_URL": "http://127.0.0.1:9"}, retry=FAST
    )
    with pytest.raises(StackflowError, match=r"cannot reach http://127\.0\.0\.1:9 "):
        client.pull_request_labels(7)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("GITHUB_TOKEN", "GITHUB_TOKEN is not set"),
        ("GITHUB_REPOSITORY", "GITHUB_REPOSITORY is not set"),
    ],
)
def test_from_env_names_what_is_missing(
    actions_env: dict[str, str], key: str, message: str
) -> None:
    env = {k: v for k, v in actions_env.items() if k != key}
    with pytest.raises(StackflowError, match=message):
        GitHubClient.from_env(env)


def test_a_malformed_repository_is_quoted(actions_env: dict[str, str]) -> None:
    with pytest.raises(StackflowError, match="'acme' is not 'owner/name'"):
        GitHubClient.from_env({**actions_env, "GITHUB_REPOSITORY": "acme"})


# ----------------------------------------------------------------------- summary


def test_summary_is_appended(actions_env: dict[str, str]) -> None:
    write_step_summary("# one", actions_env["GITHUB_STEP_SUMMARY"])
    write_step_summary("# two\n", actions_env["GITHUB_STEP_SUMMARY"])
    assert Path(actions_env["GITHUB_STEP_SUMMARY"]).read_text() == "# one\n# two\n"


def test_summary_outside_actions_says_what_to_do() -> None:
    with pytest.raises(StackflowError, match="GITHUB_STEP_SUMMARY is not set"):
        write_step_summary("x", None)


def test_summary_over_the_limit_is_refused(actions_env: dict[str, str]) -> None:
    with pytest.raises(StackflowError, match="1 MiB"):
        write_step_summary("x" * STEP_SUMMARY_LIMIT, actions_env["GITHUB_STEP_SUMMARY"])


# ------------------------------------------------------------------------ issues


def test_issue_is_opened_then_updated_in_place(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    marker = "<!-- stackflow:drift app/prod -->"
    first = client.upsert_issue("Drift in app/prod", "one", marker=marker, labels=["drift"])
    second = client.upsert_issue(
        "Drift in app/prod (2 resources)", "two", marker=marker, labels=["drift", "prod"]
    )
    assert first == second
    issue = fake_github.issues[first]
    assert issue["body"] == f"{marker}\ntwo"
    assert issue["title"] == "Drift in app/prod (2 resources)"
    assert sorted(issue["labels"]) == ["drift", "prod"]
    assert len(fake_github.issues) == 1


def test_duplicate_issues_are_closed_keeping_the_oldest(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    marker = "<!-- stackflow:drift app/prod -->"
    for n in (1, 2):
        fake_github.issues[n] = {
            "number": n,
            "title": "Drift",
            "body": f"{marker}\n{n}",
            "state": "open",
            "labels": [],
            "user": {"login": "github-actions[bot]", "type": "Bot"},
        }
    assert client.upsert_issue("Drift", "new", marker=marker) == 1
    assert fake_github.issues[2]["state"] == "closed"
    assert fake_github.issues[1]["body"] == f"{marker}\nnew"


def test_close_issue(client: GitHubClient, fake_github: FakeGitHub) -> None:
    marker = "<!-- stackflow:drift app/prod -->"
    assert client.close_issue(marker) is False
    number = client.upsert_issue("Drift", "x", marker=marker)
    assert client.close_issue(marker, comment="No drift any more.") is True
    assert fake_github.issues[number]["state"] == "closed"
    assert client.close_issue(marker) is False


# ---------------------------------------------------------------- pull requests


def test_pull_request_of_a_merge_commit(client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(3, state="closed", merged=True, merge_commit_sha="b" * 40)
    fake_github.add_pull(5, state="closed", merged=True, merge_commit_sha=SHA)
    fake_github.commit_pulls[SHA] = [3, 5]
    assert client.pull_request_for_commit(SHA) == 5
    assert client.pull_request_for_commit("c" * 40) is None


def test_pull_request_state_and_labels(client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(1)
    fake_github.add_pull(2, state="closed")
    fake_github.add_pull(3, state="closed", merged=True)
    fake_github.issues[1]["labels"] = ["preview", "ttl:48"]
    assert [client.pull_request_state(n) for n in (1, 2, 3)] == ["open", "closed", "merged"]
    assert client.pull_request_labels(1) == ["preview", "ttl:48"]


def test_branch_exists(client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.branches.add("feature/login")
    assert client.branch_exists("feature/login") is True
    assert client.branch_exists("gone") is False


def write_event(env: dict[str, str], event: dict[str, object]) -> None:
    Path(env["GITHUB_EVENT_PATH"]).write_text(json.dumps(event))


def test_pr_from_pull_request_and_push_events(
    client: GitHubClient, actions_env: dict[str, str]
) -> None:
    write_event(actions_env, {"action": "opened", "number": 12, "pull_request": {"number": 12}})
    assert client.pr_from_event() == 12
    write_event(actions_env, {"ref": "refs/heads/main"})
    assert client.pr_from_event() is None


def test_pr_from_a_same_repo_workflow_run(
    client: GitHubClient, actions_env: dict[str, str]
) -> None:
    write_event(actions_env, {"workflow_run": {"id": 1, "pull_requests": [{"number": 4}]}})
    assert client.pr_from_event() == 4


def test_pr_from_a_fork_workflow_run_is_found_by_head(
    client: GitHubClient, actions_env: dict[str, str], fake_github: FakeGitHub
) -> None:
    fake_github.add_pull(8, head={"sha": SHA, "ref": "patch-1", "repo": None}, head_owner="mallory")
    fake_github.add_pull(
        9, head={"sha": "d" * 40, "ref": "patch-1", "repo": None}, head_owner="eve"
    )
    run = {
        "id": 77,
        "pull_requests": [],
        "head_branch": "patch-1",
        "head_sha": SHA,
        "head_repository": {"owner": {"login": "mallory"}},
    }
    write_event(actions_env, {"workflow_run": run})
    assert client.pr_from_event() == 8
    write_event(actions_env, {"workflow_run": {**run, "head_sha": "e" * 40}})
    assert client.pr_from_event() is None


def test_a_broken_event_file_says_what_to_do(
    client: GitHubClient, actions_env: dict[str, str]
) -> None:
    Path(actions_env["GITHUB_EVENT_PATH"]).write_text("{not json")
    with pytest.raises(StackflowError, match="pass the pull request with --pr"):
        client.pr_from_event()


def test_a_patch_that_gets_a_502_is_retried(client: GitHubClient, fake_github: FakeGitHub) -> None:
    """PyGithub's retry leaves out POST and PATCH; the sticky comment's edit is idempotent
    (same body), so stackflow retries it (issue 11)."""
    marked = fake_github.add_comment(7, f"{PLAN}\nold")
    fake_github.fail("PATCH", r"/issues/comments/\d+$", 502, times=2)
    assert client.upsert_comment(7, f"{PLAN}\nnew", marker=PLAN) == marked
    assert fake_github.count("PATCH", r"/issues/comments/\d+$") == 3
    assert fake_github.comments_on(7)[0]["body"].endswith("new")


def test_an_issue_edit_that_gets_a_503_is_retried(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    number = client.upsert_issue("drift", f"{PLAN}\nold", marker=PLAN)
    fake_github.fail("PATCH", rf"/issues/{number}$", 503)
    assert client.upsert_issue("drift", f"{PLAN}\nnew", marker=PLAN) == number
    assert fake_github.count("PATCH", rf"/issues/{number}$") == 2
