"""Fixtures shared by every test: an isolated environment and a fresh Pulumi runtime."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from stackflow.commands import ephemeral as ephemeral_commands
from tests.ephemeral.conftest import make_repo
from tests.ephemeral.fakes import FakeGitHub, InMemoryEngine

# Property tests check properties, not speed: on a loaded 2-core CI machine a generous
# example can take longer than hypothesis's default 200 ms deadline, which would make
# the suite flaky without telling us anything. Benchmarks measure speed.
settings.register_profile("stackflow", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("stackflow")

ISOLATED_PREFIXES = ("PULUMI_", "AWS_", "GITHUB_", "KUBECONFIG", "STACKFLOW_")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the developer's or the CI runner's credentials, config or home.

    Variables that steer Pulumi, AWS, GitHub, kubectl or stackflow are removed, and HOME
    and the XDG folders point into the test's own temporary directory.
    """
    for key in list(os.environ):
        if key.startswith(ISOLATED_PREFIXES):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for variable in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(variable, str(home / variable.lower()))
    monkeypatch.setenv("PULUMI_HOME", str(home / ".pulumi"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    return home


@pytest.fixture
def pulumi_runtime() -> Iterator[None]:
    """A clean Pulumi runtime for one test, and nothing left behind for the next.

    Pulumi keeps its state in module globals and context variables: the settings (mocks,
    monitor, project, stack), the root Stack resource, the config, and the asyncio event
    loop its outputs run on. Each is reset before and after the test, so tests run
    independently and in any order.
    """
    import pulumi.runtime
    from pulumi.runtime import settings

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    settings.reset_options()
    pulumi.runtime.set_all_config({}, [])
    try:
        yield
    finally:
        settings.reset_options()
        pulumi.runtime.set_all_config({}, [])
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, InMemoryEngine, FakeGitHub]:
    """A repository for `stackflow ephemeral ...` through the CLI, with the engine and
    GitHub faked at the commands' boundary (they build the real ones through `_engine`
    and `_github`): the engine holds `dev` and `prod`, GitHub an open PR 12 of
    `feature/login`."""
    root = tmp_path / "repo"
    make_repo(root)
    engine = InMemoryEngine(existing=("dev", "prod"))
    github = FakeGitHub(prs={12: "open"}, branches={"feature/login"})
    monkeypatch.setattr(ephemeral_commands, "_engine", lambda where, secrets: engine)
    monkeypatch.setattr(ephemeral_commands, "_github", lambda required: github)
    return root, engine, github
