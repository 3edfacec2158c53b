"""Merge-to-deploy over the Engine protocol, on a real git repository and a real log in
a folder. The engine here is an in-memory stand-in (the Engine protocol exists so code
above it can be tested without the CLI); the CLI wiring is covered in test_cli.py and
the lifecycle tier."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stackflow.adapters.storage import FileStore
from stackflow.affected import AffectedStack
from stackflow.engine.api import EngineTarget, UpResult
from stackflow.errors import StackflowError
from stackflow.gitops.deploy import GitHistory, deploy, promotion_order
from stackflow.gitops.deploylog import DeploymentLog, StackLock
from stackflow.plan.model import Change, Diagnostic, Op, Source, StackPlan
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

    def preview(self, target: EngineTarget) -> StackPlan:
        self.previewed.append(target.stack)
        return StackPlan.build(project="demo", stack=target.stack, source=Source.ENGINE)

    def up(self, target: EngineTarget) -> UpResult:
        self.ran.append(target.stack)
        self.targets.append(target)
        if target.stack in self.interrupt:
            raise KeyboardInterrupt
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


def test_deploys_in_order_and_logs_each_stack(repo: RepoConfig, git: Git, tmp_path: Path) -> None:
    engine = InMemoryEngine()
    log = DeploymentLog(FileStore(tmp_path / "records"))
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


def test_stops_at_the_first_failure(repo: RepoConfig, git: Git, tmp_path: Path) -> None:
    engine = InMemoryEngine(failing={"staging"})
    log = DeploymentLog(FileStore(tmp_path / "records"))
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
    comment = render_deploy(result.to_report())
    assert "Deploy failed" in comment


# --------------------------------------------------- reconcile from what was deployed


def test_a_cancelled_runs_change_is_deployed_by_the_next_merge(
    repo: RepoConfig, git: Git, tmp_path: Path
) -> None:
    """Merge A changes prod's config; its run is cancelled before prod. Merge B changes
    only dev's. B's deploy must bring prod A's change: prod's deployed commit is older."""
    engine = InMemoryEngine()
    log = DeploymentLog(FileStore(tmp_path / "records"))
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
    repo: RepoConfig, git: Git, tmp_path: Path
) -> None:
    engine = InMemoryEngine()
    log = DeploymentLog(FileStore(tmp_path / "records"))
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
    repo: RepoConfig, git: Git, tmp_path: Path
) -> None:
    engine = InMemoryEngine()
    log = DeploymentLog(FileStore(tmp_path / "records"))
    head = git.commit("everything", **{"stacks__program.py": "1"})
    run_deploy(engine, repo, log, head)
    engine.ran.clear()
    docs = git.commit("docs only", **{"docs__x.md": "hello"})
    assert run_deploy(engine, repo, log, docs).outcomes == ()
    assert run_deploy(engine, repo, log, head).outcomes == ()  # the same commit again
    assert engine.ran == []


def test_a_blocked_replan_stops_that_stage_before_any_up(
    repo: RepoConfig, git: Git, tmp_path: Path
) -> None:
    engine = InMemoryEngine()
    log = DeploymentLog(FileStore(tmp_path / "records"))
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


def test_a_cancelled_deploy_is_logged_cancelled_and_frees_the_lock(
    repo: RepoConfig, git: Git, tmp_path: Path
) -> None:
    engine = InMemoryEngine(interrupt={"staging"})
    store = FileStore(tmp_path / "records")
    log = DeploymentLog(store)
    head = git.commit("x", **{"stacks__program.py": "1"})
    with pytest.raises(KeyboardInterrupt):
        run_deploy(
            engine, repo, log, head, lock=lambda i: StackLock(store, i.project, i.stack, "t")
        )
    assert [(r.stack, r.result) for r in log.records()] == [
        ("dev", "succeeded"),
        ("staging", "cancelled"),
    ]
    assert list(store.list("locks/")) == []


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


def test_the_deploy_command_reconciles_a_stage_from_the_log(
    repo: RepoConfig,
    git: Git,
    fake_on_path: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`stackflow deploy --stage` as the deploy workflow runs it: re-planned offline, then
    up; a second run of the same commit has nothing to do; an older commit is superseded."""
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
    (repo.root / "stacks" / "__main__.py").write_text("import pulumi\n\npulumi.export('x', 1)\n")
    older = git.commit("program")
    newer = git.commit("dev", **stack_file("dev", "tweak"))
    root = str(repo.root)
    assert main(["deploy", "--head", newer, "--stage", "dev", "--pr", "", "--root", root]) == 0
    out = capsys.readouterr().out
    assert "succeeded demo/dev" in out
    assert main(["deploy", "--head", newer, "--stage", "dev", "--root", root]) == 0
    assert "Nothing to deploy" in capsys.readouterr().out
    git.run("checkout", "-q", older)
    assert main(["deploy", "--head", older, "--stage", "dev", "--root", root]) == 0
    assert "superseded" in capsys.readouterr().out
    assert [a[0] for a in fake_on_path.argvs() if a[:1] in (["up"], ["preview"])] == [
        "preview",
        "up",
    ]


def test_the_deploy_command_skips_a_stack_whose_replan_is_empty(
    repo: RepoConfig,
    git: Git,
    fake_on_path: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The merge deploy decides by impact, as the deploy workflow runs it: a comment-only
    edit to the program touches the program's path but not its plan, so nothing is
    previewed or deployed, and the output says why."""
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
    program = "import pulumi\n\npulumi.export('x', 1)\n"
    (repo.root / "stacks" / "__main__.py").write_text(program)
    first = git.commit("program")
    root = str(repo.root)
    assert main(["deploy", "--head", first, "--stage", "dev", "--root", root]) == 0
    assert "succeeded demo/dev" in capsys.readouterr().out
    comment = git.commit("a comment", **{"stacks____main__.py": "# the export\n" + program})
    assert main(["deploy", "--head", comment, "--stage", "dev", "--root", root]) == 0
    assert "skipped   demo/dev: unchanged: its offline plan since" in capsys.readouterr().out
    assert [a[0] for a in fake_on_path.argvs() if a[:1] in (["up"], ["preview"])] == [
        "preview",
        "up",
    ]


def test_an_empty_replan_skips_only_stacks_known_to_run_its_base(
    repo: RepoConfig, git: Git, tmp_path: Path
) -> None:
    """A stack never deployed through stackflow runs an unknown commit: an empty plan
    since the push's base says nothing about its state, so it is deployed; once the log
    knows what it runs, an empty plan since that commit skips it."""
    engine = InMemoryEngine()
    log = DeploymentLog(FileStore(tmp_path / "records"))
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
