"""What a merge deploy guarantees the people who run it: the stacks a failed stage names,
the stacks of a wave that still run, a cancellation that reaches the running ``up``, the
default concurrency, durations to the millisecond, the 12-character commits in messages,
a skip for a re-plan with nothing but findings, results as values, truthful decisions,
and an offline re-plan of every stack it is asked for.

The engine is an in-memory stand-in for the Engine protocol (as in test_deploy.py and
test_deploy_graph.py, whose helpers are reused); the log is a real one in a folder.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from stackflow.adapters.storage import FileStore
from stackflow.affected import AffectedStack
from stackflow.engine.api import EngineTarget, UpResult
from stackflow.gitops import deploy as deploy_module
from stackflow.gitops.deploy import (
    DEFAULT_WORKERS,
    Verdict,
    blocked,
    cancellable,
    decide,
    replan_offline,
)
from stackflow.gitops.deploylog import DeploymentLog
from stackflow.graph import StackGraph
from stackflow.impact import stack_impact
from stackflow.plan.model import Level, PolicyFinding, Source, StackPlan
from stackflow.plan.reports import DeployStatus
from stackflow.repoconfig import RepoConfig

from .test_deploy import (
    C1,
    C2,
    C3,
    Git,
    InMemoryEngine,
    Linear,
    affected,
    blocked_plan,
    clock,
    deploy_linear,
    deployed,
    run_deploy,
)
from .test_deploy_graph import Engine, committed_projects, head

PROJECTS = ("app", "db", "network", "search")


@pytest.fixture
def log(tmp_path: Path) -> DeploymentLog:
    return DeploymentLog(FileStore(tmp_path / "records"))


@pytest.fixture
def projects(tmp_path: Path) -> RepoConfig:
    """Four projects with a dev and a prod stack each, promoted dev then prod, committed."""
    return committed_projects(tmp_path / "projects", PROJECTS, ("dev", "prod"))


def deploy_projects(
    engine: Any, repo: RepoConfig, log: DeploymentLog, graph: StackGraph | None = None, **kw: Any
) -> Any:
    given = (lambda todo: graph) if graph is not None else None
    return run_deploy(engine, repo, log, head(repo), graph=given, **kw)


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
    assert sorted(engine.ran) == ["db", "network", "search"]
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


@dataclass
class Terminating(InMemoryEngine):
    """The engine as GitHub's cancellation finds it: SIGTERM arrives during the named
    stacks' ``up`` (a signal to the process, as the runner sends it)."""

    terminate: set[str] = field(default_factory=set)

    def up(self, target: EngineTarget) -> UpResult:
        if target.stack in self.terminate or target.project_dir.name in self.terminate:
            signal.raise_signal(signal.SIGTERM)
        return super().up(target)


def test_a_lone_stack_is_deployed_where_a_cancellation_reaches_it(
    repo: RepoConfig, log: DeploymentLog
) -> None:
    """One stack to deploy runs on the main thread (the only one signals reach), so
    cancelling the run interrupts its ``up`` and the log says ``cancelled``."""
    engine = Terminating(terminate={"dev"})
    with pytest.raises(KeyboardInterrupt), cancellable():
        deploy_linear(
            engine,
            repo,
            log,
            "dev",
        )
    assert [(r.stack, r.result) for r in log.records()] == [("dev", "cancelled")]


def test_one_worker_deploys_each_stack_where_a_cancellation_reaches_it(
    projects: RepoConfig, log: DeploymentLog
) -> None:
    """``--workers 1``: the stacks of a wave one after the other on the main thread, so a
    cancellation interrupts the running ``up`` (logged ``cancelled``) and nothing after."""
    engine = Terminating(terminate={"db"})
    with pytest.raises(KeyboardInterrupt), cancellable():
        deploy_projects(engine, projects, log, workers=1)
    assert [(r.project, r.stack, r.result) for r in log.records()] == [
        ("app", "dev", "succeeded"),
        ("db", "dev", "cancelled"),
    ]


def test_four_independent_stacks_of_a_stage_run_at_once_by_default(
    projects: RepoConfig, log: DeploymentLog
) -> None:
    """Without ``workers`` (and with the CLI's default) up to four stacks of a stage run
    at once: the four projects' ``up`` meet at a barrier only four threads pass."""
    from stackflow.commands.engine import deploy_command

    [workers] = [p for p in deploy_command.params if p.name == "workers"]
    assert workers.default == DEFAULT_WORKERS == 4
    engine = Engine(together=set(PROJECTS))
    result = deploy_projects(engine, projects, log)
    assert result.ok, [o.message for o in result.outcomes]
    assert sorted(engine.ran) == sorted(PROJECTS * 2)


# ------------------------------------------------------- what a stack's outcome says


def test_a_stacks_duration_is_its_monotonic_time_to_the_millisecond(
    repo: RepoConfig, log: DeploymentLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From before its record is started to after it is completed, on the monotonic
    clock (the wall clock may jump), rounded to the millisecond."""
    now = [5000.0]

    @dataclass
    class Slow(InMemoryEngine):
        def up(self, target: EngineTarget) -> UpResult:
            now[0] += 42.125  # exactly representable: rounding to 3 places keeps it all
            return super().up(target)

    monkeypatch.setattr(deploy_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    result = deploy_linear(
        Slow(),
        repo,
        log,
        "dev",
        clock=clock(),  # type: ignore[arg-type]
    )
    [dev] = result.outcomes
    assert dev.duration_seconds == 42.125
    assert result.to_dict()["stacks"][0]["duration_seconds"] == 42.125
    assert result.to_report().stacks[0].duration_seconds == 42.125


def findings_only(stack: str) -> StackPlan:
    """A re-plan with no change, only a finding the stack already had (advisory)."""
    finding = PolicyFinding("tagging", Level.ADVISORY, "no owner tag", urn="urn:b")
    return StackPlan.build(project="demo", stack=stack, source=Source.OFFLINE, policy=(finding,))


def test_a_deployed_stack_whose_replan_has_only_findings_is_not_deployed(
    repo: RepoConfig, log: DeploymentLog
) -> None:
    """An advisory finding is no change to deploy (the engine would change nothing): the
    stack is skipped, and the message names the 12-character commit it runs."""
    deployed(log, "dev", C1)
    engine = InMemoryEngine()
    result = deploy_linear(
        engine,
        repo,
        log,
        "dev",
        replan=lambda todo, since: {i: findings_only(i.stack) for i in todo},
    )
    assert engine.ran == []
    assert said(result) == [
        (
            "demo/dev",
            DeployStatus.SKIPPED,
            "unchanged: its offline plan since 111111111111 is empty; not deployed",
        )
    ]


def test_two_deploys_that_did_the_same_thing_have_equal_results(
    repo: RepoConfig, log: DeploymentLog
) -> None:
    """A result is a value: the error kept for the exit code (an exception object) is not
    part of it, so the same blocked merge run twice gives equal results."""
    deployed(log, "dev", C1)

    def replan(todo: Any, since: Any) -> dict[AffectedStack, StackPlan]:
        return {i: blocked_plan(i.stack, mandatory=True) for i in todo if i.stack == "dev"}

    def again() -> Any:
        return deploy_linear(
            InMemoryEngine(),
            repo,
            log,
            "dev",
            "staging",
            replan=replan,
        )

    first, second = again(), again()
    assert first.outcomes[0].error is not second.outcomes[0].error
    assert first == second
    assert first.outcomes[0].status is DeployStatus.FAILED


def test_a_decision_says_whether_the_log_knows_the_commit_the_stack_runs(
    log: DeploymentLog,
) -> None:
    """``deployed``: ``since`` is the commit the log says the stack runs, whatever the
    verdict; a fallback base (or nothing) is not."""
    dev, staging, prod = affected("dev", "staging", "prod")
    deployed(log, "prod", C1)
    deployed(log, "dev", C3)
    history = Linear()
    current = decide(prod, C1, log, history, base=None)
    quiet = decide(prod, C3, log, Linear(touched={"dev"}), base=None)
    behind = decide(prod, C3, log, history, base=None)
    superseded = decide(dev, C2, log, history, base=None)
    for decision, verdict in [
        (current, Verdict.CURRENT),
        (quiet, Verdict.CURRENT),
        (behind, Verdict.DEPLOY),
        (superseded, Verdict.SUPERSEDED),
    ]:
        assert (decision.verdict, decision.deployed) == (verdict, True), decision
    fallback_quiet = decide(staging, C3, log, Linear(touched=set()), base=C2)
    fallback = decide(staging, C3, log, history, base=C2)
    nothing = decide(staging, C3, log, history, base=None)
    assert (fallback_quiet.verdict, fallback_quiet.since, fallback_quiet.deployed) == (
        Verdict.CURRENT,
        C2,
        False,
    )
    assert (fallback.verdict, fallback.deployed) == (Verdict.DEPLOY, False)
    assert (nothing.verdict, nothing.since, nothing.deployed) == (Verdict.DEPLOY, None, False)


# ------------------------------------------------------------- the offline re-plan


@pytest.mark.slow
def test_the_offline_replan_plans_every_stack_it_is_asked_for(
    repo: RepoConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge changed dev's stack file only. Path rules would plan dev alone, but the
    deploy asks for prod too (its deployed commit is older): prod gets its plan, which is
    empty, so the deploy can skip it as unchanged rather than deploy it unplanned. The
    progress names the base by its 12-character commit."""
    (repo.root / "stacks" / "__main__.py").write_text("import pulumi\n\npulumi.export('x', 1)\n")
    (repo.root / "policies" / "PulumiPolicy.yaml").unlink()  # a pack with no rules to load
    git = Git(repo.root)
    base = git.commit("the program")
    git.commit("dev only", **{"stacks__Pulumi.dev.yaml": "config:\n  demo:size: big\n"})
    monkeypatch.chdir(repo.root)
    dev, prod = affected("dev", "prod")
    told: list[str] = []
    plans = replan_offline(repo, [dev, prod], {dev: base, prod: base}, progress=told.append)
    assert sorted(i.stack for i in plans) == ["dev", "prod"]
    assert stack_impact(plans[prod], policy_changed=False) is None
    assert not blocked(plans[prod])
    assert told[0] == f"re-planning offline since {base[:12]}: demo/dev, demo/prod ..."
