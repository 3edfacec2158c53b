"""Merge-to-deploy over the Engine protocol, on a real git repository and a real log in
a folder. The engine here is an in-memory stand-in (the Engine protocol exists so code
above it can be tested without the CLI); the CLI wiring is covered in test_cli.py and
the lifecycle tier."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stackflow.adapters.storage import FileStore
from stackflow.affected import AffectedStack
from stackflow.engine.api import EngineTarget, UpResult
from stackflow.errors import ExitCode, StackflowError
from stackflow.gitops.deploy import (
    NO_COMMIT,
    Cancelled,
    DeployResult,
    GitHistory,
    Verdict,
    cancellable,
    decide,
    deploy,
    promotion_order,
)
from stackflow.gitops.deploylog import DeploymentLog, DeployRecord, StackLock
from stackflow.plan.model import (
    Change,
    Diagnostic,
    Level,
    Op,
    PolicyFinding,
    Source,
    StackPlan,
)
from stackflow.plan.reports import DeployStatus
from stackflow.render.markdown import render_deploy
from stackflow.repoconfig import RepoConfig


@dataclass
class InMemoryEngine:
    """Records which stacks were deployed; fails the stacks named in ``failing``."""

    failing: set[str] = field(default_factory=set)
    ran: list[str] = field(default_factory=list)
    targets: list[EngineTarget] = field(default_factory=list)
    previewed: list[str] = field(default_factory=list)
    interrupt: set[str] = field(default_factory=set)
    previews: dict[str, StackPlan] = field(default_factory=dict)
    """What the engine's preview of a stack says (by default: nothing to do)."""
    crash: set[str] = field(default_factory=set)
    """Stacks whose ``up`` raises something that is not a StackflowError (a bug)."""

    def preview(self, target: EngineTarget) -> StackPlan:
        self.previewed.append(target.stack)
        default = StackPlan.build(project="demo", stack=target.stack, source=Source.ENGINE)
        return self.previews.get(target.stack, default)

    def up(self, target: EngineTarget) -> UpResult:
        self.ran.append(target.stack)
        self.targets.append(target)
        if target.stack in self.interrupt:
            raise KeyboardInterrupt
        if target.stack in self.crash:
            raise RuntimeError(f"boom in {target.stack}")
        if target.stack in self.failing:
            raise StackflowError(f"running pulumi up for stack {target.stack}: the engine failed")
        change = Change(urn=f"urn:{target.stack}", type="t", name="n", op=Op.CREATE)
        plan = StackPlan.build(
            project="demo", stack=target.stack, source=Source.ENGINE, changes=[change]
        )
        return UpResult(plan=plan, outputs={"url": "http://x"})


def affected(*stacks: str) -> list[AffectedStack]:
    return [AffectedStack(".", "demo", s) for s in stacks]


def changed_plan(stack: str, *extra: Diagnostic) -> StackPlan:
    change = Change(urn=f"urn:{stack}", type="t", name="n", op=Op.UPDATE)
    return StackPlan.build(
        project="demo", stack=stack, source=Source.OFFLINE, changes=[change], diagnostics=extra
    )


def replan_changing(*changed: str) -> Any:
    """An offline re-plan: the ``changed`` stacks' plans have a change, the others' are empty."""

    def replan(todo: Any, since: Any) -> dict[AffectedStack, StackPlan]:
        return {
            i: changed_plan(i.stack)
            if i.stack in changed
            else StackPlan.build(project="demo", stack=i.stack, source=Source.OFFLINE)
            for i in todo
        }

    return replan


def clock() -> object:
    moments = iter(
        datetime(2026, 11, 22, 10, 0, tzinfo=UTC) + timedelta(seconds=5 * i) for i in range(100)
    )
    return lambda: next(moments)


def test_promotion_order_puts_unlisted_stacks_last() -> None:
    ordered = promotion_order(
        affected("zeta", "prod", "alpha", "dev", "staging"), ["dev", "staging", "prod"]
    )
    assert [s.stack for s in ordered] == ["dev", "staging", "prod", "alpha", "zeta"]


class Git:
    """The test repository as a git repository, committed step by step."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.run("init", "-q", "-b", "main")
        self.run("config", "user.email", "t@example.com")
        self.run("config", "user.name", "t")
        (root / ".gitignore").write_text(".pulumi-state/\n.stackflow/\n")
        self.commit("initial")

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        ).stdout.strip()

    def commit(self, message: str, **files: str) -> str:
        for name, text in files.items():
            path = self.root / name.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        self.run("add", "-A")
        self.run("commit", "-q", "--allow-empty", "-m", message)
        return self.run("rev-parse", "HEAD")


def stack_file(stack: str, extra: str) -> dict[str, str]:
    kind = stack
    return {
        f"stacks__Pulumi.{stack}.yaml": f"config:\n  stackflow:environment: {kind}\n  x: {extra}\n"
    }


@pytest.fixture
def git(repo: RepoConfig) -> Git:
    return Git(repo.root)


@pytest.fixture
def log(tmp_path: Path) -> DeploymentLog:
    """The deployment log, in a folder."""
    return DeploymentLog(FileStore(tmp_path / "records"))


def run_deploy(
    engine: InMemoryEngine, repo: RepoConfig, log: DeploymentLog, commit: str, **kw: Any
) -> Any:
    history = GitHistory(repo.root)
    return deploy(
        engine,  # type: ignore[arg-type]
        repo,
        history.every(),
        log=log,
        history=history,
        commit=commit,
        actor="alice",
        **kw,
    )


def test_deploys_in_order_and_logs_each_stack(
    repo: RepoConfig, git: Git, log: DeploymentLog
) -> None:
    engine = InMemoryEngine()
    head = git.commit("change all", **{"stacks__program.py": "x = 1\n"})
    result = run_deploy(engine, repo, log, head, pull_request=7, clock=clock())
    assert result.ok
    assert engine.ran == ["dev", "staging", "prod"]
    assert engine.previewed == ["dev", "staging", "prod"]  # the engine's re-plan, first
    assert engine.targets[0].policy_config == repo.root / "policies" / "config" / "dev.json"
    records = log.records()
    assert [(r.stack, r.result, r.pull_request, r.actor, r.commit) for r in records] == [
        ("dev", "succeeded", 7, "alice", head),
        ("staging", "succeeded", 7, "alice", head),
        ("prod", "succeeded", 7, "alice", head),
    ]
    assert records[0].started_at == "2026-11-22T10:00:00Z"
    assert records[0].finished_at == "2026-11-22T10:00:05Z"
    assert records[0].counts["create"] == 1


def test_stops_at_the_first_failure(repo: RepoConfig, git: Git, log: DeploymentLog) -> None:
    engine = InMemoryEngine(failing={"staging"})
    result = run_deploy(engine, repo, log, git.commit("x", **{"stacks__program.py": "1"}))
    assert not result.ok
    assert engine.ran == ["dev", "staging"]
    assert [o.status for o in result.outcomes] == [
        DeployStatus.SUCCEEDED,
        DeployStatus.FAILED,
        DeployStatus.SKIPPED,
    ]
    assert [(r.stack, r.result) for r in log.records()] == [
        ("dev", "succeeded"),
        ("staging", "failed"),
    ]
    assert "the engine failed" in (log.records()[1].message or "")
    assert result.outcomes[2].message == "not run: demo/staging failed"
    comment = render_deploy(result.to_report())
    assert "Deploy failed" in comment


# --------------------------------------------------- reconcile from what was deployed


def test_a_cancelled_runs_change_is_deployed_by_the_next_merge(
    repo: RepoConfig, git: Git, log: DeploymentLog
) -> None:
    """Merge A changes prod's config; its run is cancelled before prod. Merge B changes
    only dev's. B's deploy must bring prod A's change: prod's deployed commit is older."""
    engine = InMemoryEngine()
    first = git.commit("everything", **{"stacks__program.py": "1"})
    assert run_deploy(engine, repo, log, first).ok
    engine.ran.clear()
    git.commit("A: prod bigger", **stack_file("prod", "big"))  # its run never deploys
    b = git.commit("B: dev tweak", **stack_file("dev", "tweak"))
    result = run_deploy(
        engine,
        repo,
        log,
        b,
        base=git.run("rev-parse", "HEAD~1"),
        replan=replan_changing("dev", "prod"),
    )
    assert engine.ran == ["dev", "prod"]
    assert result.ok
    [staging] = [o for o in result.outcomes if o.stack == "staging"]
    assert staging.status is DeployStatus.SKIPPED
    assert "unchanged: its offline plan since" in (staging.message or "")
    assert log.last_succeeded("demo", "prod").commit == b  # type: ignore[union-attr]
    assert log.last_succeeded("demo", "staging").commit == first  # type: ignore[union-attr]


def test_an_older_merge_deployed_after_a_newer_one_is_skipped_as_superseded(
    repo: RepoConfig, git: Git, log: DeploymentLog
) -> None:
    engine = InMemoryEngine()
    git.commit("everything", **{"stacks__program.py": "1"})
    older = git.commit("A", **{"stacks__program.py": "2"})
    newer = git.commit("B", **{"stacks__program.py": "3"})
    assert run_deploy(engine, repo, log, newer).ok
    engine.ran.clear()
    result = run_deploy(engine, repo, log, older)
    assert engine.ran == []
    assert [o.status for o in result.outcomes] == [DeployStatus.SKIPPED] * 3
    assert all("superseded" in (o.message or "") for o in result.outcomes)
    assert [r.result for r in log.records() if r.commit == older] == ["superseded"] * 3
    assert log.last_succeeded("demo", "prod").commit == newer  # type: ignore[union-attr]


def test_nothing_to_do_when_the_stack_already_runs_the_change(
    repo: RepoConfig, git: Git, log: DeploymentLog
) -> None:
    engine = InMemoryEngine()
    head = git.commit("everything", **{"stacks__program.py": "1"})
    run_deploy(engine, repo, log, head)
    engine.ran.clear()
    docs = git.commit("docs only", **{"docs__x.md": "hello"})
    assert run_deploy(engine, repo, log, docs).outcomes == ()
    assert run_deploy(engine, repo, log, head).outcomes == ()  # the same commit again
    assert engine.ran == []


def test_a_blocked_replan_stops_that_stage_before_any_up(
    repo: RepoConfig, git: Git, log: DeploymentLog
) -> None:
    engine = InMemoryEngine()
    head = git.commit("x", **{"stacks__program.py": "1"})

    def replan(todo: Any, since: Any) -> dict[AffectedStack, StackPlan]:
        plans = {i: changed_plan(i.stack) for i in todo}
        [staging] = [i for i in todo if i.stack == "staging"]
        plans[staging] = StackPlan.build(
            project="demo",
            stack="staging",
            source=Source.OFFLINE,
            diagnostics=(Diagnostic("error", "the program failed"),),
        )
        return plans

    result = run_deploy(engine, repo, log, head, replan=replan)
    assert engine.ran == ["dev"]
    assert [(o.stack, o.status) for o in result.outcomes] == [
        ("dev", DeployStatus.SUCCEEDED),
        ("staging", DeployStatus.FAILED),
        ("prod", DeployStatus.SKIPPED),
    ]
    assert "blocked at merge" in (result.outcomes[1].message or "")


def test_the_lock_serialises_deploys_of_a_stack(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "records")
    now = [datetime(2026, 11, 22, 10, 0, tzinfo=UTC)]
    waits: list[float] = []
    first = StackLock(store, "demo", "prod", "run 1", now=lambda: now[0])
    first.acquire()

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            first.release()

    second = StackLock(store, "demo", "prod", "run 2", poll=1, sleep=sleep, now=lambda: now[0])
    told: list[str] = []
    second.acquire(told.append)
    assert waits == [1, 1]
    assert told == ["waiting for run 1 to finish deploying demo/prod"]
    second.release()
    # A holder that died is taken over once its lease ran out, not before.
    StackLock(store, "demo", "prod", "dead run", now=lambda: now[0]).acquire()
    impatient = StackLock(store, "demo", "prod", "run 3", timeout=0, now=lambda: now[0])
    with pytest.raises(StackflowError, match="another deploy \\(dead run\\) holds"):
        impatient.acquire()
    now[0] += timedelta(hours=4)
    impatient.acquire()
    assert b"run 3" in store.get("locks/demo/prod.json").data  # type: ignore[union-attr]


PROGRAM = "import pulumi\n\npulumi.export('x', 1)\n"


@pytest.fixture
def deploy_dev(
    repo: RepoConfig,
    fake_on_path: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., tuple[int, str, str]]:
    """`stackflow deploy --head H --stage dev [flags]` as the deploy workflow runs it, on
    the scripted pulumi (stacks dev, staging and prod; previews and ups create), with
    PROGRAM as the stacks' program and no policy pack: (exit code, stdout, stderr)."""
    from stackflow.cli import main

    fake_on_path.stacks("dev", "staging", "prod")
    fake_on_path.script(
        responses={
            "preview": [{"events": "up_create.jsonl"}],
            "up": [{"events": "up_create.jsonl"}],
        }
    )
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    (repo.root / "policies" / "PulumiPolicy.yaml").unlink()
    (repo.root / "stacks" / "__main__.py").write_text(PROGRAM)

    def run(head: str, *flags: str) -> tuple[int, str, str]:
        code = main(["deploy", "--head", head, "--stage", "dev", *flags, "--root", str(repo.root)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def engine_verbs(fake_on_path: Any) -> list[str]:
    """The previews and ups the scripted pulumi ran, in order."""
    return [a[0] for a in fake_on_path.argvs() if a[:1] in (["up"], ["preview"])]


def test_the_deploy_command_reconciles_a_stage_from_the_log(
    git: Git, fake_on_path: Any, deploy_dev: Callable[..., tuple[int, str, str]]
) -> None:
    """`stackflow deploy --stage` as the deploy workflow runs it: re-planned offline, then
    up; a second run of the same commit has nothing to do; an older commit is superseded."""
    older = git.commit("program")
    newer = git.commit("dev", **stack_file("dev", "tweak"))
    code, out, _ = deploy_dev(newer, "--pr", "")
    assert code == 0
    assert "succeeded demo/dev" in out
    code, out, _ = deploy_dev(newer)
    assert code == 0
    assert "Nothing to deploy" in out
    git.run("checkout", "-q", older)
    code, out, _ = deploy_dev(older)
    assert code == 0
    assert "superseded" in out
    assert engine_verbs(fake_on_path) == ["preview", "up"]


def test_the_deploy_command_skips_a_stack_whose_replan_is_empty(
    git: Git, fake_on_path: Any, deploy_dev: Callable[..., tuple[int, str, str]]
) -> None:
    """The merge deploy decides by impact, as the deploy workflow runs it: a comment-only
    edit to the program touches the program's path but not its plan, so nothing is
    previewed or deployed, and the output says why."""
    first = git.commit("program")
    code, out, err = deploy_dev(first)
    assert code == 0
    assert "succeeded demo/dev" in out
    assert "re-planning offline against nothing: demo/dev ...\n" in err
    comment = git.commit("a comment", **{"stacks____main__.py": "# the export\n" + PROGRAM})
    code, out, err = deploy_dev(comment)
    assert code == 0
    assert f"skipped   demo/dev: unchanged: its offline plan since {first[:12]} is empty" in out
    assert f"re-planning offline since {first[:12]}: demo/dev ...\n" in err
    assert engine_verbs(fake_on_path) == ["preview", "up"]


def test_an_empty_replan_skips_only_stacks_known_to_run_its_base(
    repo: RepoConfig, git: Git, log: DeploymentLog
) -> None:
    """A stack never deployed through stackflow runs an unknown commit: an empty plan
    since the push's base says nothing about its state, so it is deployed; once the log
    knows what it runs, an empty plan since that commit skips it."""
    engine = InMemoryEngine()
    before = git.run("rev-parse", "HEAD")
    first = git.commit(
        "adopt", **{"stackflow.yaml": "# adopted\n" + (repo.root / "stackflow.yaml").read_text()}
    )
    assert run_deploy(engine, repo, log, first, base=before, replan=replan_changing()).ok
    assert engine.ran == ["dev", "staging", "prod"]
    engine.ran.clear()
    again = git.commit(
        "again", **{"stackflow.yaml": "# twice\n" + (repo.root / "stackflow.yaml").read_text()}
    )
    result = run_deploy(engine, repo, log, again, base=first, replan=replan_changing())
    assert engine.ran == []
    assert [o.status for o in result.outcomes] == [DeployStatus.SKIPPED] * 3


# ------------------------------------------ decisions, with git's history as data

C1, C2, C3 = ("1" * 40, "2" * 40, "3" * 40)


@dataclass
class Linear:
    """A stand-in for git's history (the :class:`History` seam): commits in a line, each
    descending from the ones before it; a change since any commit touches the
    ``touched`` stacks (by name) and the bases asked about are recorded."""

    commits: tuple[str, ...] = (C1, C2, C3)
    touched: set[str] = field(default_factory=lambda: {"dev", "staging", "prod"})
    asked: list[str | None] = field(default_factory=list)

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.commits.index(older) <= self.commits.index(newer)

    def affected(self, base: str | None, head: str) -> frozenset[AffectedStack]:
        self.asked.append(base)
        return frozenset(i for i in affected("dev", "staging", "prod") if i.stack in self.touched)


def deployed(log: DeploymentLog, stack: str, commit: str, result: str = "succeeded") -> None:
    """A record in the log, as a finished deploy of ``commit`` leaves it."""
    log.append(
        DeployRecord(
            project="demo",
            stack=stack,
            commit=commit,
            result=result,
            started_at="2026-11-22T09:00:00Z",
            finished_at="2026-11-22T09:01:00Z",
            actor="bob",
        )
    )


def deploy_linear(
    engine: InMemoryEngine, repo: RepoConfig, log: DeploymentLog, *stacks: str, **kw: Any
) -> DeployResult:
    """``deploy`` of ``stacks`` (dev, staging and prod if none) by alice, to C2 over
    :class:`Linear` history unless ``commit`` or ``history`` say otherwise."""
    kw.setdefault("commit", C2)
    kw.setdefault("history", Linear())
    return deploy(
        engine,  # type: ignore[arg-type]
        repo,
        affected(*(stacks or ("dev", "staging", "prod"))),
        log=log,
        actor="alice",
        **kw,
    )


def test_a_stack_is_deployed_from_the_last_commit_it_ran_successfully(
    log: DeploymentLog,
) -> None:
    (dev, staging, prod) = affected("dev", "staging", "prod")
    deployed(log, "prod", C1)
    deployed(log, "prod", C2, "failed")  # a failed deploy leaves the stack where it was
    history = Linear()
    behind = decide(prod, C3, log, history, base=C2)
    assert behind == decide(prod, C3, log, history, base=None)  # the log wins over --base
    assert behind.verdict is Verdict.DEPLOY
    assert (behind.since, behind.deployed) == (C1, True)
    assert behind.reason == "changed since deployed commit 111111111111"
    assert history.asked == [C1, C1]
    assert decide(prod, C1, log, history, base=None).reason == "111111111111 is already deployed"
    assert decide(prod, C1, log, history, base=None).verdict is Verdict.CURRENT
    assert Linear(touched=set()).affected(C1, C3) == frozenset()
    quiet = decide(prod, C3, log, Linear(touched={"dev"}), base=None)
    assert (quiet.verdict, quiet.since) == (Verdict.CURRENT, C1)
    assert quiet.reason == "nothing it runs changed since deployed commit 111111111111"

    deployed(log, "dev", C3)
    older = decide(dev, C2, log, history, base=None)
    assert (older.verdict, older.since) == (Verdict.SUPERSEDED, C3)
    assert older.reason == (
        "superseded: it runs 333333333333, which 222222222222 does not descend from (a newer "
        "merge was deployed first); not deployed"
    )

    # Never deployed through stackflow: from --base, or from nothing on a first push.
    history.asked.clear()
    first = decide(staging, C3, log, history, base=C2)
    assert (first.verdict, first.since, first.deployed) == (Verdict.DEPLOY, C2, False)
    assert first.reason == "changed since base 222222222222"
    for base in (None, NO_COMMIT):
        nothing = decide(staging, C3, log, history, base=base)
        assert (nothing.verdict, nothing.since) == (Verdict.DEPLOY, None)
        assert nothing.reason == "changed since no earlier deploy"
    assert history.asked == [C2, None, None]
    quiet = decide(staging, C3, log, Linear(touched=set()), base=C2)
    assert quiet.reason == "nothing it runs changed since base 222222222222"


@dataclass
class Racing:
    """The stack lock, as another run holding it leaves things: while we wait, that run
    deploys ``commit`` to the stack (None: nobody else was deploying it)."""

    log: DeploymentLog
    stack: str
    commit: str | None
    events: list[str]

    def acquire(self, on_wait: Any = None) -> None:
        if self.commit is not None:
            on_wait(f"waiting for another run to finish deploying demo/{self.stack}")
            deployed(self.log, self.stack, self.commit)
        self.events.append(f"acquire {self.stack}")

    def release(self) -> None:
        self.events.append(f"release {self.stack}")


def test_the_decision_is_taken_again_once_the_stacks_lock_is_held(
    repo: RepoConfig, log: DeploymentLog
) -> None:
    """Another run deploys staging's same commit and prod's newer one while this run waits
    for their locks: this run deploys neither (a newer commit is never overwritten)."""
    engine = InMemoryEngine()
    events: list[str] = []
    others = {"dev": None, "staging": C2, "prod": C3}
    told: list[str] = []
    result = deploy_linear(
        engine,
        repo,
        log,
        "prod",
        "staging",
        "dev",
        lock=lambda i: Racing(log, i.stack, others[i.stack], events),
        on_stack=lambda i: events.append(f"deploying {i.stack}"),
        on_wait=told.append,
    )
    assert engine.ran == ["dev"]
    assert events == [
        "acquire dev",
        "deploying dev",
        "release dev",
        "acquire staging",
        "release staging",
        "acquire prod",
        "release prod",
    ]
    assert told == [
        "waiting for another run to finish deploying demo/staging",
        "waiting for another run to finish deploying demo/prod",
    ]
    assert [(o.stack, o.status, o.message) for o in result.outcomes] == [
        ("dev", DeployStatus.SUCCEEDED, None),
        ("staging", DeployStatus.SKIPPED, "222222222222 is already deployed"),
        (
            "prod",
            DeployStatus.SKIPPED,
            "superseded: it runs 333333333333, which 222222222222 does not descend from (a "
            "newer merge was deployed first); not deployed",
        ),
    ]
    mine = [(r.stack, r.result) for r in log.records() if r.actor == "alice"]
    assert mine == [("dev", "succeeded"), ("prod", "superseded")]
    assert log.last_succeeded("demo", "prod").commit == C3  # type: ignore[union-attr]


def blocked_plan(stack: str, *, mandatory: bool) -> StackPlan:
    """A re-plan with no change that must stop the deploy: a mandatory finding, or an error."""
    if mandatory:
        finding = PolicyFinding("no-public-bucket", Level.MANDATORY, "public", urn="urn:b")
        return StackPlan.build(
            project="demo", stack=stack, source=Source.OFFLINE, policy=(finding,)
        )
    error = Diagnostic("error", "the program failed")
    return StackPlan.build(project="demo", stack=stack, source=Source.OFFLINE, diagnostics=(error,))


BLOCKED = pytest.mark.parametrize(
    ("mandatory", "why", "code"),
    [
        (True, "a mandatory policy is violated", ExitCode.POLICY_VIOLATION),
        (False, "the plan has errors", ExitCode.ERROR),
    ],
)
"""A plan blocked by a mandatory policy, or by errors: what the deploy says and exits with."""


@BLOCKED
def test_a_blocked_replan_of_a_deployed_stack_fails_it_and_skips_the_stages_after(
    repo: RepoConfig, log: DeploymentLog, mandatory: bool, why: str, code: ExitCode
) -> None:
    """dev runs C1 and its re-plan has no change, but is blocked: it is not skipped as
    unchanged, it fails, and staging (to deploy) is skipped; prod (current) is not listed."""
    deployed(log, "dev", C1)
    deployed(log, "prod", C1)
    engine = InMemoryEngine()

    def replan(todo: Any, since: Any) -> dict[AffectedStack, StackPlan]:
        assert [i.stack for i in todo] == ["dev", "staging"]
        return {
            i: blocked_plan(i.stack, mandatory=mandatory)
            if i.stack == "dev"
            else changed_plan(i.stack)
            for i in todo
        }

    result = deploy_linear(
        engine,
        repo,
        log,
        "prod",
        "staging",
        "dev",
        history=Linear(touched={"dev", "staging"}),
        replan=replan,
    )
    assert engine.ran == []
    assert engine.previewed == []
    assert [(o.stack, o.status, o.message) for o in result.outcomes] == [
        ("dev", DeployStatus.FAILED, f"blocked at merge: {why} in the re-plan of 222222222222"),
        ("staging", DeployStatus.SKIPPED, "not run: the re-plan of stage 'dev' is blocked"),
    ]
    assert result.outcomes[0].error is not None
    assert result.outcomes[0].error.exit_code == code
    assert not result.ok


@BLOCKED
def test_a_blocked_engine_preview_stops_before_up(
    repo: RepoConfig, log: DeploymentLog, mandatory: bool, why: str, code: ExitCode
) -> None:
    preview = blocked_plan("staging", mandatory=mandatory)
    engine = InMemoryEngine(previews={"staging": preview})
    result = deploy_linear(engine, repo, log, clock=clock())
    assert engine.previewed == ["dev", "staging"]
    assert engine.ran == ["dev"]
    message = (
        f"deploying demo/staging: the engine's preview of 222222222222 is blocked ({why}); "
        "nothing was deployed"
    )
    staging = result.outcomes[1]
    assert (staging.status, staging.message) == (DeployStatus.FAILED, message)
    assert staging.error is not None
    assert staging.error.exit_code == code
    assert [(r.stack, r.result, r.message) for r in log.records()] == [
        ("dev", "succeeded", None),
        ("staging", "failed", message),
    ]
    assert result.outcomes[2].message == "not run: demo/staging failed"
    # Without preview_first, the engine's own plan is not asked for.
    again = InMemoryEngine(previews={"staging": preview})
    deploy_linear(again, repo, log, "staging", commit=C3, preview_first=False)
    assert (again.previewed, again.ran) == ([], ["staging"])


@pytest.mark.parametrize(
    ("fault", "raised", "match", "result", "message"),
    [
        (
            {"interrupt": {"staging"}},
            KeyboardInterrupt,
            None,
            "cancelled",
            "the run was cancelled (SIGINT/SIGTERM) while deploying",
        ),
        (
            {"crash": {"staging"}},
            RuntimeError,
            "boom in staging",
            "failed",
            "RuntimeError('boom in staging')",
        ),
    ],
    ids=["cancelled", "bug"],
)
def test_an_up_that_raises_is_logged_raised_and_frees_the_lock(
    repo: RepoConfig,
    log: DeploymentLog,
    fault: dict[str, set[str]],
    raised: type[BaseException],
    match: str | None,
    result: str,
    message: str,
) -> None:
    """A cancellation, or a bug in the engine (not a StackflowError), while staging
    deploys: it propagates, staging's record says so with its times, its lock is freed."""
    engine = InMemoryEngine(**fault)  # type: ignore[arg-type]
    with pytest.raises(raised, match=match):
        deploy_linear(
            engine,
            repo,
            log,
            clock=clock(),
            lock=lambda i: StackLock(log.store, i.project, i.stack, "t"),
        )
    assert [(r.stack, r.result, r.message) for r in log.records()] == [
        ("dev", "succeeded", None),
        ("staging", result, message),
    ]
    staging = log.records()[1]
    assert (staging.started_at, staging.finished_at) == (
        "2026-11-22T10:00:10Z",
        "2026-11-22T10:00:15Z",
    )
    assert list(log.store.list("locks/")) == []


def test_the_result_says_what_each_stack_did(repo: RepoConfig, log: DeploymentLog) -> None:
    engine = InMemoryEngine(failing={"staging"})
    result = deploy_linear(engine, repo, log, pull_request=7, clock=clock())
    data = result.to_dict()
    assert (data["commit"], data["pull_request"], data["ok"]) == (C2, 7, False)
    dev, staging, prod = data["stacks"]
    assert {k: dev[k] for k in ("project", "stack", "dir", "status", "message")} == {
        "project": "demo",
        "stack": "dev",
        "dir": ".",
        "status": "succeeded",
        "message": None,
    }
    assert (dev["started_at"], dev["finished_at"]) == (
        "2026-11-22T10:00:00Z",
        "2026-11-22T10:00:05Z",
    )
    assert dev["counts"]["create"] == 1
    assert dev["outputs"] == {"url": "http://x"}
    assert isinstance(dev["duration_seconds"], float)
    assert (staging["status"], staging["counts"]) == ("failed", {})
    assert "the engine failed" in staging["message"]
    assert (prod["status"], prod["message"], prod["started_at"]) == (
        "skipped",
        "not run: demo/staging failed",
        None,
    )
    report = result.to_report(run_url="https://ci/run/1")
    assert (report.head, report.run_url) == (C2, "https://ci/run/1")
    assert [(s.stack, s.status, s.message) for s in report.stacks] == [
        ("dev", DeployStatus.SUCCEEDED, None),
        ("staging", DeployStatus.FAILED, result.outcomes[1].message),
        ("prod", DeployStatus.SKIPPED, "not run: demo/staging failed"),
    ]
    assert report.stacks[0].counts["create"] == 1
    assert report.stacks[0].duration_seconds == result.outcomes[0].duration_seconds
    assert report.stacks[2].counts == {}


def test_stages_match_promotion_whatever_the_case(repo: RepoConfig, log: DeploymentLog) -> None:
    """`promotion: [dev, staging, prod]` and a stack named PROD: it is the prod stage, so a
    failure in staging stops it."""
    ordered = promotion_order(affected("PROD", "qa", "Dev", "staging"), ["dev", "staging", "prod"])
    assert [i.stack for i in ordered] == ["Dev", "staging", "PROD", "qa"]
    engine = InMemoryEngine(failing={"staging"})
    history = Linear(touched={"Dev", "staging", "PROD"})
    history.affected = lambda base, head: frozenset(ordered)  # type: ignore[method-assign]
    result = deploy(
        engine,  # type: ignore[arg-type]
        repo,
        ordered,
        log=log,
        history=history,
        commit=C2,
        actor="alice",
    )
    assert engine.ran == ["Dev", "staging"]
    assert [(o.stack, o.message) for o in result.outcomes[2:]] == [
        ("PROD", "not run: demo/staging failed"),
        ("qa", "not run: demo/staging failed"),
    ]


def test_sigterm_cancels_the_deploy_only_inside_the_block() -> None:
    import threading

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Cancelled, match="signal 15"), cancellable():
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before
    assert issubclass(Cancelled, KeyboardInterrupt)  # logged "cancelled", like SIGINT

    seen: list[object] = []

    def elsewhere() -> None:
        with cancellable():
            seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert seen == [before]  # only the main thread can install handlers: left alone


@dataclass
class Cancelling(InMemoryEngine):
    """GitHub cancelling the run while ``up`` runs: the process receives ``signum``, and
    ``up`` (a pulumi process, here a second's wait) goes on until something interrupts it."""

    signum: int = signal.SIGINT

    def up(self, target: EngineTarget) -> UpResult:
        os.kill(os.getpid(), self.signum)
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            time.sleep(0.01)
        return super().up(target)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_lone_stack_cancelled_while_it_deploys_is_logged_cancelled(
    repo: RepoConfig, log: DeploymentLog, signum: int
) -> None:
    """A stage of one stack runs its ``up`` on the main thread whatever the workers, so
    the signal interrupts that ``up`` and the log says ``cancelled``, not ``succeeded``."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), cancellable():
            deploy_linear(Cancelling(signum=signum), repo, log, "dev")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert [(r.stack, r.result) for r in log.records()] == [("dev", "cancelled")]


def test_git_history_without_the_deployed_commit_is_one_error(repo: RepoConfig, git: Git) -> None:
    head = git.commit("x", **{"stacks__program.py": "1"})
    history = GitHistory(repo.root)
    assert history.is_ancestor(git.run("rev-parse", "HEAD~1"), head)
    assert not history.is_ancestor(head, git.run("rev-parse", "HEAD~1"))
    with pytest.raises(
        StackflowError, match=rf"comparing commits 999999999999 and {head[:12]}: .*full history"
    ):
        history.is_ancestor("9" * 40, head)
    assert history.affected(None, head) == frozenset(history.every())
    assert history.affected(git.run("rev-parse", "HEAD~1"), head) == frozenset(history.every())
    docs = git.commit("docs", **{"docs__x.md": "hello"})
    assert history.affected(head, docs) == frozenset()
