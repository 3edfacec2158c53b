"""Guarantees of the GitHub client that a weaker client would break silently: a 429 with
no ``Retry-After`` is still retried, and a sticky comment another writer created while we
were creating ours still ends up with our body."""

from __future__ import annotations

from stackflow.adapters.github import GitHubClient

from .conftest import FAST
from .fakegithub import FakeGitHub

PLAN = "<!-- stackflow:plan -->"


def test_429_without_retry_after_is_retried(client: GitHubClient, fake_github: FakeGitHub) -> None:
    """urllib3 retries a 429 that carries ``Retry-After`` on its own; a bare 429 is retried
    only because the client lists it among the retried statuses."""
    fake_github.fail("GET", r"/issues/7/comments$", 429, times=2)
    client.upsert_comment(7, f"{PLAN}\nx", marker=PLAN)
    assert fake_github.count("GET", r"/issues/7/comments$") == 4  # 429, 429, listed, re-listed
    assert [c["body"] for c in fake_github.comments_on(7)] == [f"{PLAN}\nx"]


def test_429_on_a_write_is_retried(client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.fail("POST", r"/issues/7/comments$", 429)
    client.upsert_comment(7, f"{PLAN}\nx", marker=PLAN)
    assert fake_github.count("POST", r"/issues/7/comments$") == 2
    assert len(fake_github.comments_on(7)) == 1


def test_the_kept_comment_gets_our_body_when_another_writer_created_it(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    """Both jobs list and find nothing; the other job's comment is stored first, so it is
    the one kept (oldest) and ours is deleted: the kept one must then carry our body, the
    newer plan, not the other job's."""
    others: list[int] = []

    def other_writer_first() -> None:
        if not others:
            others.append(fake_github.add_comment(7, f"{PLAN}\nthe other job's plan"))

    fake_github.on_create_comment = other_writer_first
    kept = client.upsert_comment(7, f"{PLAN}\nour plan", marker=PLAN)
    assert kept == others[0]
    assert [(c["id"], c["body"]) for c in fake_github.comments_on(7)] == [
        (others[0], f"{PLAN}\nour plan")
    ]


DRIFT = "<!-- stackflow:drift app/prod -->"


def test_an_issue_another_job_opened_meanwhile_is_kept_with_our_report(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    """Both jobs list and find no open drift issue; the other job's is stored first, so it
    is kept (the oldest) and ours closed as its duplicate: the kept issue must then carry
    our title, report and labels, the newer ones."""
    others: list[int] = []

    def other_job_first() -> None:
        if not others:
            others.append(fake_github.add_issue("Drift (old)", f"{DRIFT}\nthe other job's"))

    fake_github.on_create_issue = other_job_first
    kept = client.upsert_issue("Drift in app/prod", "ours", marker=DRIFT, labels=["drift"])
    assert kept == others[0]
    issue = fake_github.issues[kept]
    assert (issue["state"], issue["title"], issue["body"], issue["labels"]) == (
        "open",
        "Drift in app/prod",
        f"{DRIFT}\nours",
        ["drift"],
    )
    (ours,) = (n for n in fake_github.issues if n != kept)
    assert fake_github.issues[ours]["state"] == "closed"
    assert fake_github.issues[ours]["state_reason"] == "not_planned"
    assert [c["body"] for c in fake_github.comments_on(ours)] == [f"Duplicate of #{kept}."]


def test_an_issue_opened_unraced_is_written_once(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    number = client.upsert_issue("Drift in app/prod", "ours", marker=DRIFT, labels=["drift"])
    assert fake_github.count("POST", r"/issues$") == 1
    assert fake_github.count("PATCH", rf"/issues/{number}$") == 0
    assert fake_github.count("GET", r"/issues$") == 2  # listed, and listed again after


def test_only_our_open_issues_with_the_marker_are_ours(
    client: GitHubClient, fake_github: FakeGitHub
) -> None:
    """A human's issue, with or without the marker, and a pull request (an issue to the
    API) whose body starts with it are never edited, closed or counted."""
    human = {"login": "mallory", "type": "User"}
    plain = fake_github.add_issue("Help", "nothing to see", user=human)
    quoting = fake_github.add_issue("Look", f"{DRIFT}\nI can type markers", user=human)
    pull = client.create_pull(title="Fix drift", body=f"{DRIFT}\nfix", head="drift/p", base="main")
    before = {n: dict(i) for n, i in fake_github.issues.items()}
    number = client.upsert_issue("Drift in app/prod", "ours", marker=DRIFT)
    assert number not in (plain, quoting, pull)
    assert {n: i for n, i in fake_github.issues.items() if n != number} == before
    assert client.close_issue(DRIFT) is True
    assert fake_github.issues[number]["state"] == "closed"
    assert {n: i for n, i in fake_github.issues.items() if n != number} == before


def test_a_comment_author_from_the_environment_owns_the_sticky_comments(
    actions_env: dict[str, str], fake_github: FakeGitHub
) -> None:
    """With STACKFLOW_COMMENT_AUTHOR (a user's token, not GITHUB_TOKEN), that login's
    comments are ours and a bot's are not, though both carry the marker."""
    client = GitHubClient.from_env(
        {**actions_env, "STACKFLOW_COMMENT_AUTHOR": "deployer"}, retry=FAST
    )
    bot = fake_github.add_comment(7, f"{PLAN}\nan app's plan")
    mine = fake_github.add_comment(7, f"{PLAN}\nold", user={"login": "deployer", "type": "User"})
    assert client.upsert_comment(7, f"{PLAN}\nnew", marker=PLAN) == mine
    assert [(c["id"], c["body"]) for c in fake_github.comments_on(7)] == [
        (bot, f"{PLAN}\nan app's plan"),
        (mine, f"{PLAN}\nnew"),
    ]
