"""Merge-to-deploy over the Engine protocol. The engine here is an in-memory stand-in
(the Engine protocol exists so code above it can be tested without the CLI); the CLI
wiring itself is covered in test_automation.py and test_cli.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stackflow.affected import AffectedStack
from stackflow.deploy import deploy, promotion_order
from stackflow.deploylog import DeploymentLog
from stackflow.engine.api import EngineTarget, UpResult
from stackflow.errors import StackflowError
from stackflow.plan.model import Change, Op, Source, StackPlan
from stackflow.render.markdown import DeployStatus, render_deploy
from stackflow.repoconfig import RepoConfig
from stackflow.storage import FileStore


@dataclass
class InMemoryEngine:
    """Records which stacks were deployed; fails the stacks named in ``failing``."""

    failing: set[str] = field(default_factory=set)
    ran: list[str] = field(default_factory=list)
    targets: list[EngineTarget] = field(default_factory=list)

    def up(self, target: EngineTarget) -> UpResult:
        self.ran.append(target.stack)
        self.targets.append(target)
        if target.stack in self.failing:
            raise StackflowError(f"running pulumi up for stack {target.stack}: the engine failed")
        change = Change(urn=f"urn:{target.stack}", type="t", name="n", op=Op.CREATE)
        plan = StackPlan.build(
            project="demo", stack=target.stack, source=Source.ENGINE, changes=[change]
        )
        return UpResult(plan=plan, outputs={"url": "http://x"})


def affected(*stacks: str) -> list[AffectedStack]:
    return [AffectedStack(".", "demo", s) for s in stacks]


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


def test_deploys_in_order_and_logs_each_stack(repo: RepoConfig, tmp_path: Path) -> None:
    engine = InMemoryEngine()
    log = DeploymentLog(FileStore(tmp_path / "records"))
    result = deploy(
        engine,  # type: ignore[arg-type]
        repo,
        affected("prod", "dev", "staging"),
        log=log,
        commit="c" * 40,
        actor="alice",
        pull_request=7,
        clock=clock(),  # type: ignore[arg-type]
    )
    assert result.ok
    assert engine.ran == ["dev", "staging", "prod"]
    assert engine.targets[0].policy_config == repo.root / "policies" / "config" / "dev.json"
    records = log.records()
    assert [(r.stack, r.result, r.pull_request, r.actor) for r in records] == [
        ("dev", "succeeded", 7, "alice"),
        ("staging", "succeeded", 7, "alice"),
        ("prod", "succeeded", 7, "alice"),
    ]
    assert records[0].started_at == "2026-11-22T10:00:00Z"
    assert records[0].finished_at == "2026-11-22T10:00:05Z"
    assert records[0].counts["create"] == 1


def test_stops_at_the_first_failure(repo: RepoConfig, tmp_path: Path) -> None:
    engine = InMemoryEngine(failing={"staging"})
    log = DeploymentLog(FileStore(tmp_path / "records"))
    result = deploy(
        engine, repo, affected("dev", "staging", "prod"), log=log, commit="c" * 40, actor="a"
    )  # type: ignore[arg-type]
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
