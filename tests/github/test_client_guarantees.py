"""Guarantees of the GitHub client that a weaker client would break silently: a 429 with
no ``Retry-After`` is still retried, and a sticky comment another writer created while we
were creating ours still ends up with our body."""

from __future__ import annotations

from stackflow.adapters.github import GitHubClient

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
