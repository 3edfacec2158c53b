"""What a merge deploy guarantees the people who run it: the stacks a failed stage names,
the stacks of a wave that still run, a cancellation that reaches the running ``up``, the
default concurrency, durations to the millisecond, the 12-character commits in messages,
a skip for a re-plan with nothing but findings, results as values, truthful decisions,
and an offline re-plan of every stack it is asked for.

The engine is an in-memory stand-in for the Engine protocol (as in test_deploy.py and
test_deploy_graph.py, whose helpers are reused); the log is a real one in a folder.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from stackflow.adapters.storage import FileStore
from stackflow.gitops.deploy import (
    GitHistory,
    deploy,
)
from stackflow.gitops.deploylog import DeploymentLog
from stackflow.graph import StackGraph
from stackflow.plan.reports import DeployStatus
from stackflow.repoconfig import RepoConfig

from .test_deploy_graph import Engine

PROJECTS = ("app", "db", "network", "search")


@pytest.fixture
def log(tmp_path: Path) -> DeploymentLog:
    return DeploymentLog(FileStore(tmp_path / "records"))


@pytest.fixture
def projects(tmp_path: Path) -> RepoConfig:
    """Four projects with a dev and a prod stack each, promoted dev then prod, committed."""
    root = tmp_path / "projects"
    for name in PROJECTS:
        (root / name).mkdir(parents=True)
        (root / name / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
        for stack in ("dev", "prod"):
            (root / name / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    (root / "stackflow.yaml").write_text(
        f"projects: [{', '.join(PROJECTS)}]\npromotion: [dev, prod]\n"
        "backend: file://.pulumi-state\n"
    )
    (root / ".gitignore").write_text(".pulumi-state/\n.stackflow/\n")
    for args in (
        ("init", "-q", "-b", "main"),
        ("config", "user.email", "t@example.com"),
        ("config", "user.name", "t"),
        ("add", "-A"),
        ("commit", "-q", "-m", "four projects"),
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return RepoConfig.load(root)


def deploy_projects(
    engine: Any, repo: RepoConfig, log: DeploymentLog, graph: StackGraph | None = None, **kw: Any
) -> Any:
    history = GitHistory(repo.root)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo.root, check=True, capture_output=True, text=True
    ).stdout.strip()
    return deploy(
        engine,
        repo,
        history.every(),
        log=log,
        history=history,
        commit=head,
        actor="alice",
        graph=(lambda todo: graph) if graph is not None else None,
        **kw,
    )


def said(result: Any) -> list[tuple[str, DeployStatus, str | None]]:
    return [(f"{o.project}/{o.stack}", o.status, o.message) for o in result.outcomes]


# --------------------------------------------------------- failures within a stage


def test_a_failed_stage_names_the_stacks_that_failed_not_those_it_skipped(
    projects: RepoConfig, log: DeploymentLog
) -> None:
    """network/dev fails; app/dev reads it, so it is not run; search/dev, in the same wave
    as app/dev, reads db/dev, which succeeded, so it runs. The prod stage is not run, and
    says which stack failed: network/dev, not app/dev (which never ran)."""
    graph = StackGraph(reads={"app/dev": ("network/dev",), "search/dev": ("db/dev",)})
    engine = Engine(failing={"network"})
    result = deploy_projects(engine, projects, log, graph)
    assert engine.ran == ["db", "network", "search"]
    stop = "not run: network/dev failed"
    assert [(k, s) for k, s, _ in said(result)] == [
        ("db/dev", DeployStatus.SUCCEEDED),
        ("network/dev", DeployStatus.FAILED),
        ("app/dev", DeployStatus.SKIPPED),
        ("search/dev", DeployStatus.SUCCEEDED),
        *[(f"{p}/prod", DeployStatus.SKIPPED) for p in PROJECTS],
    ]
    assert said(result)[2][2] == "not run: it reads network/dev, which failed or was not run"
    assert [m for k, _, m in said(result) if k.endswith("/prod")] == [stop] * 4


def test_a_stage_where_several_stacks_failed_names_each_of_them(
    projects: RepoConfig, log: DeploymentLog
) -> None:
    engine = Engine(failing={"search", "db"})
    result = deploy_projects(engine, projects, log, workers=1)
    assert engine.ran == list(PROJECTS)
    stop = "not run: db/dev, search/dev failed"
    assert [m for k, _, m in said(result) if k.endswith("/prod")] == [stop] * 4
