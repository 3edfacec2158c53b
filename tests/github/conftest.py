"""A fake GitHub on 127.0.0.1 and a client configured as a workflow would configure it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stackflow.adapters.github import GitHubClient, RetryPolicy

from .fakegithub import TOKEN, FakeGitHub, Server

FAST = RetryPolicy(attempts=3, backoff=0.01, max_wait=0.05, read_interval=0, write_interval=0)
"""Retries as in production, with waits short enough for tests (set, not patched)."""


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    gh = FakeGitHub()
    server = Server(gh)
    try:
        yield gh
    finally:
        server.close()


@pytest.fixture
def actions_env(fake_github: FakeGitHub, tmp_path: object) -> dict[str, str]:
    """The variables GitHub Actions sets, pointing at the fake."""
    from pathlib import Path

    base = Path(str(tmp_path))
    return {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": f"{fake_github.owner}/{fake_github.repo}",
        "GITHUB_API_URL": fake_github.base_url,
        "GITHUB_EVENT_PATH": str(base / "event.json"),
        "GITHUB_STEP_SUMMARY": str(base / "summary.md"),
    }


@pytest.fixture
def client(actions_env: dict[str, str]) -> GitHubClient:
    return GitHubClient.from_env(actions_env, retry=FAST)
