"""Deploy order within a stage from the stack graph: the stacks a stack reads first,
independent stacks at once (bounded), a cycle refused naming it, a failed stack skipping
only the stacks that read it.

Three projects with a ``dev`` stack each, on a real git repository and a real log; the
engine is an in-memory stand-in for the Engine protocol (as in test_deploy.py), and the
graph is given as data here (test_deploy_fixture.py builds it from real synths).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from stackflow.adapters.storage import FileStore
from stackflow.affected import AffectedStack
from stackflow.engine.api import EngineTarget, UpResult
from stackflow.errors import StackflowError
from stackflow.gitops.deploy import GitHistory, deploy
from stackflow.gitops.deploylog import DeploymentLog, DeployRecord
from stackflow.graph import StackGraph
from stackflow.plan.model import Change, Op, Source, StackPlan
from stackflow.plan.reports import DeployStatus
from stackflow.repoconfig import RepoConfig

PROJECTS = ("app", "network", "search")


@dataclass
class Engine:
    """Deploys by project name; fails the projects in ``failing``; the ``together``
    projects' ``up`` waits for all of them (so only a parallel run gets through)."""

    failing: set[str] = field(default_factory=set)
    together: set[str] = field(default_factory=set)
    ran: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.barrier = threading.Barrier(max(1, len(self.together)))

    def preview(self, target: EngineTarget) -> StackPlan:
        return StackPlan.build(project=target.project_dir.name, stack="dev", source=Source.ENGINE)

    def up(self, target: EngineTarget) -> UpResult:
        name = target.project_dir.name
        if name in self.together:
            try:
                self.barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                raise StackflowError(f"{name} ran alone") from None
        with self.lock:
            self.ran.append(name)
        if name in self.failing:
            raise StackflowError(f"running pulumi up for {name}: the engine failed")
        change = Change(urn=f"urn:{name}", type="t", name="n", op=Op.CREATE)
        return UpResult(
            plan=StackPlan.build(project=name, stack="dev", source=Source.ENGINE, changes=[change]),
            outputs={},
        )


def committed_projects(
    root: Path, projects: tuple[str, ...], promotion: tuple[str, ...]
) -> RepoConfig:
    """``projects`` with one stack per stage of ``promotion`` each, committed on main."""
    for name in projects:
        (root / name).mkdir(parents=True)
        (root / name / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
        for stack in promotion:
            (root / name / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    (root / "stackflow.yaml").write_text(
        f"projects: [{', '.join(projects)}]\npromotion: [{', '.join(promotion)}]\n"
        "backend: file://.pulumi-state\n"
    )
    (root / ".gitignore").write_text(".pulumi-state/\n.stackflow/\n")
    for args in (
        ("init", "-q", "-b", "main"),
        ("config", "user.email", "t@example.com"),
        ("config", "user.name", "t"),
        ("add", "-A"),
        ("commit", "-q", "-m", f"{len(projects)} projects"),
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return RepoConfig.load(root)


@pytest.fixture
def repo(tmp_path: Path) -> RepoConfig:
    return committed_projects(tmp_path / "repo", PROJECTS, ("dev",))


def changing(changed: Any) -> Any:
    """A re-plan whose offline plan of a stack has one update when ``changed(project)``."""

    def replan(todo: Any, since: Any) -> dict[AffectedStack, StackPlan]:
        change = Change(urn="urn:x", type="t", name="n", op=Op.UPDATE)
        return {
            i: StackPlan.build(
                project=i.project,
                stack=i.stack,
                source=Source.OFFLINE,
                changes=[change] if changed(i.project) else [],
            )
            for i in todo
        }

    return replan


APP_READS_NETWORK = StackGraph(reads={"app/dev": ("network/dev",), "network/dev": ()})


def head(repo: RepoConfig) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo.root, check=True, capture_output=True, text=True
    ).stdout.strip()


def run(engine: Engine, repo: RepoConfig, tmp_path: Path, graph: StackGraph, **kw: Any) -> Any:
    history = GitHistory(repo.root)
    return deploy(
        engine,  # type: ignore[arg-type]
        repo,
        history.every(),
        log=DeploymentLog(FileStore(tmp_path / "records")),
        history=history,
        commit=head(repo),
        actor="alice",
        graph=lambda todo: graph,
        **kw,
    )


def statuses(result: Any) -> dict[str, DeployStatus]:
    return {o.project: o.status for o in result.outcomes}


def test_a_stack_is_deployed_after_the_stack_it_reads(repo: RepoConfig, tmp_path: Path) -> None:
    engine = Engine()
    result = run(engine, repo, tmp_path, APP_READS_NETWORK, workers=1)
    assert result.ok
    # By name app would come first; it reads network, so network is deployed before it.
    assert engine.ran == ["network", "search", "app"]


def test_independent_stacks_run_at_once(repo: RepoConfig, tmp_path: Path) -> None:
    # network and search read nothing: they meet at the barrier, which only a parallel
    # run can pass; app, alone in the next wave, runs after both.
    engine = Engine(together={"network", "search"})
    graph = StackGraph(reads={"app/dev": ("network/dev", "search/dev")})
    result = run(engine, repo, tmp_path, graph, workers=2)
    assert result.ok, [o.message for o in result.outcomes]
    assert sorted(engine.ran[:2]) == ["network", "search"]
    assert engine.ran[2] == "app"


@pytest.mark.parametrize(
    ("graph", "search"),
    [
        (APP_READS_NETWORK, DeployStatus.SUCCEEDED),
        # Both stacks app reads fail: the message names the first of them.
        (StackGraph(reads={"app/dev": ("network/dev", "search/dev")}), DeployStatus.FAILED),
    ],
    ids=["one-read", "both-reads-fail"],
)
def test_a_failed_stack_skips_the_stacks_that_read_it_not_the_others(
    repo: RepoConfig, tmp_path: Path, graph: StackGraph, search: DeployStatus
) -> None:
    failing = {"network"} if search is DeployStatus.SUCCEEDED else {"network", "search"}
    engine = Engine(failing=failing)
    result = run(engine, repo, tmp_path, graph)
    assert sorted(engine.ran) == ["network", "search"]
    assert statuses(result) == {
        "network": DeployStatus.FAILED,
        "search": search,
        "app": DeployStatus.SKIPPED,
    }
    [app] = [o for o in result.outcomes if o.project == "app"]
    assert app.message == "not run: it reads network/dev, which failed or was not run"
    assert not result.ok


def test_a_cycle_is_refused_naming_it_before_anything_runs(
    repo: RepoConfig, tmp_path: Path
) -> None:
    engine = Engine()
    cycle = StackGraph(reads={"app/dev": ("network/dev",), "network/dev": ("app/dev",)})
    with pytest.raises(StackflowError, match=r"cycle app/dev -> network/dev -> app/dev"):
        run(engine, repo, tmp_path, cycle)
    assert engine.ran == []


def test_the_graph_is_asked_about_the_stacks_to_deploy_only(
    repo: RepoConfig, tmp_path: Path
) -> None:
    asked: list[list[str]] = []

    replan = changing(lambda project: project != "search")
    log = DeploymentLog(FileStore(tmp_path / "records"))
    history = GitHistory(repo.root)
    deploy(Engine(), repo, history.every(), log=log, history=history, commit=head(repo), actor="a")  # type: ignore[arg-type]
    (repo.root / "app" / "settings.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "-A"], cwd=repo.root, check=True)
    subprocess.run(["git", "commit", "-qm", "x"], cwd=repo.root, check=True)
    engine = Engine()

    def graph(todo: Any) -> StackGraph:
        asked.append(sorted(f"{i.project}/{i.stack}" for i in todo))
        return APP_READS_NETWORK

    history = GitHistory(repo.root)
    result = deploy(
        engine,  # type: ignore[arg-type]
        repo,
        history.every(),
        log=log,
        history=history,
        commit=head(repo),
        actor="alice",
        replan=replan,
        graph=graph,
    )
    assert asked == [["app/dev", "network/dev"]]
    assert engine.ran == ["network", "app"]
    assert statuses(result)["search"] is DeployStatus.SKIPPED


C1, C2 = "1" * 40, "2" * 40


@dataclass
class Touching:
    """git's history as data (the History seam): C1 then C2; a change since C1 touches
    the ``touched`` projects' stacks."""

    stacks: tuple[AffectedStack, ...]
    touched: set[str]

    def is_ancestor(self, older: str, newer: str) -> bool:
        return (older, newer) in {(C1, C1), (C1, C2), (C2, C2)}

    def affected(self, base: str | None, head: str) -> frozenset[AffectedStack]:
        return frozenset(i for i in self.stacks if i.project in self.touched)


@pytest.mark.parametrize(
    ("touched", "app"),
    [
        # app's deployed commit is current: nothing it runs changed, no outcome.
        ({"network", "search"}, []),
        # app changed, but its offline re-plan is empty: skipped, saying since what.
        (
            {"app", "network", "search"},
            [
                (
                    DeployStatus.SKIPPED,
                    "unchanged: its offline plan since 111111111111 is empty; not deployed",
                )
            ],
        ),
    ],
    ids=["current", "unchanged"],
)
def test_a_stack_with_nothing_to_do_does_not_end_its_wave(
    repo: RepoConfig, tmp_path: Path, touched: set[str], app: list[Any]
) -> None:
    """app, network and search read nothing: one wave, app first in it. app runs C1
    already; network and search are still judged and deployed after it."""
    log = DeploymentLog(FileStore(tmp_path / "records"))
    log.append(DeployRecord("app", "dev", C1, "succeeded", "2026-11-22T09:00:00Z", None, "b"))
    stacks = GitHistory(repo.root).every()

    replan = changing(lambda project: project != "app")
    engine = Engine()
    result = deploy(
        engine,  # type: ignore[arg-type]
        repo,
        stacks,
        log=log,
        history=Touching(stacks, touched),
        commit=C2,
        actor="alice",
        replan=replan,
    )
    assert sorted(engine.ran) == ["network", "search"]
    assert [(o.status, o.message) for o in result.outcomes if o.project == "app"] == app
    assert [(o.project, o.status) for o in result.outcomes if o.project != "app"] == [
        ("network", DeployStatus.SUCCEEDED),
        ("search", DeployStatus.SUCCEEDED),
    ]


@dataclass
class CancelledDuringApp(Engine):
    """GitHub cancelling the run while app deploys: a tenth of a second into app's
    ``up``, the process receives SIGINT. Every ``up`` takes a second (a pulumi
    process), unless interrupted."""

    def up(self, target: EngineTarget) -> UpResult:
        start = time.monotonic()
        signalled = target.project_dir.name != "app"
        while time.monotonic() < start + 1:
            time.sleep(0.01)
            if not signalled and time.monotonic() >= start + 0.1:
                signalled = True
                os.kill(os.getpid(), signal.SIGINT)
        return super().up(target)


@pytest.mark.parametrize(
    ("workers", "ran", "logged"),
    [
        # One at a time, on this thread: app's up is interrupted and logged cancelled.
        (1, [], [("app", "cancelled")]),
        # Two at once: app and network finish their records; search, not started when
        # the signal came, is never started (the fake's ups are not interrupted off the
        # main thread; a pulumi process would get the signal itself).
        (2, ["app", "network"], [("app", "succeeded"), ("network", "succeeded")]),
    ],
    ids=["one-worker", "two-workers"],
)
def test_a_cancelled_wave_starts_no_other_stack(
    repo: RepoConfig, tmp_path: Path, workers: int, ran: list[str], logged: list[Any]
) -> None:
    engine = CancelledDuringApp()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            run(engine, repo, tmp_path, StackGraph(reads={}), workers=workers)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert sorted(engine.ran) == ran
    records = DeploymentLog(FileStore(tmp_path / "records")).records()
    assert sorted((r.project, r.result) for r in records) == logged
