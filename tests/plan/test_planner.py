"""Planning real (small) programs between git revisions: selection, base worktrees,
the cache, determinism and failure handling. Synths run for real (subprocesses under
Pulumi's mock runtime); nothing is faked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stackflow import cli, planner
from stackflow.errors import ExitCode, StackflowError
from stackflow.plan import Op, Plan

from .conftest import GitRepo
from .programs import FILES

pytestmark = pytest.mark.slow


@pytest.fixture
def shop(git_repo: GitRepo) -> GitRepo:
    git_repo.write(FILES)
    git_repo.commit("shop")
    return git_repo


@pytest.fixture
def synth_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Counts the planner's synths (a spy around the real synth, not a double)."""
    calls: list[tuple[str, str]] = []
    real = planner.synth

    def spy(project: Any, stack: str, **kwargs: Any) -> Any:
        calls.append((str(project.dir), stack))
        return real(project, stack, **kwargs)

    monkeypatch.setattr(planner, "synth", spy)
    return calls


def ops(plan: Plan) -> dict[str, list[tuple[str, str]]]:
    return {s.key: [(c.name, c.op.value) for c in s.changes] for s in plan.stacks}


def test_a_config_change_plans_only_its_stack_with_property_paths(shop: GitRepo) -> None:
    shop.write({"app/Pulumi.dev.yaml": "config:\n  shop:owner: carol\n"})
    plan = planner.plan_stacks(shop.root, base="HEAD")  # default: the affected stacks
    assert [s.key for s in plan.stacks] == ["shop/dev"]
    (stack,) = plan.stacks
    (change,) = stack.changes
    assert (change.name, change.op) == ("logs", Op.UPDATE)
    assert [(d.path, d.old, d.new) for d in change.diffs] == [("tags.owner", "alice", "carol")]
    assert [(o.name, o.old, o.new) for o in stack.outputs] == [("owner", "alice", "carol")]
    assert stack.counts["same"] == 1
    assert stack.base == shop.git("rev-parse", "HEAD")
    assert stack.head is None  # the working tree, not a commit


def test_base_is_cached_so_the_second_plan_synthesizes_only_the_head(
    shop: GitRepo, synth_calls: list[tuple[str, str]]
) -> None:
    shop.write({"app/Pulumi.prod.yaml": "config:\n  shop:owner: bob\n  shop:buckets: [logs]\n"})
    first = planner.plan_stacks(shop.root, base="HEAD", all_stacks=True)
    assert len(synth_calls) == 4  # dev and prod, head and base
    synth_calls.clear()
    second = planner.plan_stacks(shop.root, base="HEAD", all_stacks=True)
    assert len(synth_calls) == 2  # heads only
    assert first.to_json() == second.to_json()
    assert ops(second)["shop/prod"] == [("data", "delete"), ("data-private", "delete")]
    assert "stackflow-base" not in shop.git("worktree", "list")


def test_replanning_gives_byte_identical_json(shop: GitRepo) -> None:
    shop.write(
        {"app/__main__.py": FILES["app/__main__.py"].replace('"owner": owner', '"team": owner')}
    )
    texts = {
        planner.plan_stacks(shop.root, base="HEAD", use_cache=False).to_json() for _ in range(2)
    }
    assert len(texts) == 1
    plan = Plan.from_json(texts.pop())
    assert [s.key for s in plan.stacks] == ["shop/dev", "shop/prod"]


def test_a_stack_new_since_the_base_is_all_creates(shop: GitRepo) -> None:
    shop.write({"app/Pulumi.qa.yaml": "config:\n  shop:owner: qa\n"})
    plan = planner.plan_stacks(shop.root, base="HEAD")
    assert ops(plan) == {"shop/qa": [("logs", "create"), ("logs-private", "create")]}


def test_a_project_absent_at_the_base_is_all_creates(git_repo: GitRepo) -> None:
    git_repo.write({"README.md": "empty\n"})
    git_repo.commit("nothing yet")
    git_repo.write(FILES)
    head = git_repo.commit("shop")
    plan = planner.plan_stacks(git_repo.root, stack="dev")
    assert ops(plan) == {"shop/dev": [("logs", "create"), ("logs-private", "create")]}
    assert plan.stacks[0].head == head


def test_no_base_plans_against_nothing(shop: GitRepo, synth_calls: list[tuple[str, str]]) -> None:
    plan = planner.plan_stacks(shop.root, stack="prod", no_base=True)
    assert ops(plan)["shop/prod"] == [
        ("data", "create"),  # by URN: buckets, then the access blocks
        ("logs", "create"),
        ("data-private", "create"),
        ("logs-private", "create"),
    ]
    assert plan.stacks[0].base is None
    assert len(synth_calls) == 1


def test_a_failing_program_is_an_error_diagnostic_and_the_rest_is_planned(
    shop: GitRepo,
) -> None:
    shop.write({"app/Pulumi.dev.yaml": "config:\n  shop:owner: alice\n  shop:explode: true\n"})
    plan = planner.plan_stacks(shop.root, base="HEAD", all_stacks=True)
    dev, prod = plan.stacks
    assert dev.has_errors
    assert "told to explode" in dev.diagnostics[0].message
    assert not prod.has_errors
    assert plan.has_errors


def test_unknown_stack_and_conflicting_options_say_what_to_do(shop: GitRepo) -> None:
    with pytest.raises(StackflowError, match=r"no project has a stack 'nope' \(known: dev, prod\)"):
        planner.plan_stacks(shop.root, base="HEAD", stack="nope")
    with pytest.raises(StackflowError, match="--stack and --all"):
        planner.plan_stacks(shop.root, stack="dev", all_stacks=True)


def test_cli_plan_writes_json_and_exits_by_outcome(
    shop: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(shop.root)
    shop.write({"app/Pulumi.dev.yaml": "config:\n  shop:owner: carol\n"})
    assert cli.main(["plan", "--base", "HEAD", "-o", str(tmp_path / "plan.json")]) == ExitCode.OK
    table = capsys.readouterr().out
    assert "shop/dev" in table
    assert 'tags.owner: "alice" -> "carol"' in table
    assert "\x1b[" not in table  # no colours when not a tty
    data = json.loads((tmp_path / "plan.json").read_text())
    assert data["stacks"][0]["changes"][0]["diffs"][0]["path"] == "tags.owner"

    assert cli.main(["plan", "--base", "HEAD", "--stack", "dev", "--json", "-"]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["stacks"][0]["stack"] == "dev"

    shop.write({"app/Pulumi.dev.yaml": "config:\n  shop:owner: alice\n  shop:explode: true\n"})
    assert cli.main(["plan", "--base", "HEAD", "--stack", "dev"]) == ExitCode.ERROR
    assert "told to explode" in capsys.readouterr().out


def test_cli_affected_json_is_a_job_matrix(
    shop: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(shop.root)
    shop.write({"app/Pulumi.prod.yaml": "config:\n  shop:owner: dave\n"})
    assert cli.main(["affected", "--base", "HEAD", "--json"]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out) == [
        {
            "project": "shop",
            "dir": ".",
            "stack": "prod",
            "reason": "delete aws:s3/bucket:Bucket data",
        }
    ]
    assert cli.main(["affected", "--base", "HEAD"]) == ExitCode.OK
    assert capsys.readouterr().out == "shop/prod\t.\n"


def test_a_stack_outside_promotion_is_planned_and_says_a_merge_will_not_deploy_it(
    shop: GitRepo,
) -> None:
    """The deploy workflow has a job per promotion stage only: the plan must not let a
    reviewer believe merging deploys `qa` (break 4: such stacks silently never deployed)."""
    shop.write({"app/Pulumi.qa.yaml": "config:\n  shop:owner: qa\n"})
    plan = planner.plan_stacks(shop.root, base="HEAD")
    (qa,) = plan.stacks
    notes = [d.message for d in qa.diagnostics if d.severity == "info"]
    assert any("not deployed on merge" in n and "promotion" in n for n in notes), notes
    assert not qa.has_errors
    dev = planner.plan_stacks(shop.root, stack="dev", base="HEAD")
    assert not [d for d in dev.stacks[0].diagnostics if "promotion" in d.message]


def test_head_plans_a_commit_other_than_the_working_tree(
    shop: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`plan --base A --head B` as `affected --base A --head B` reads it: the change from A
    to B, whatever is checked out (here a later commit and an uncommitted edit)."""
    base = shop.git("rev-parse", "HEAD")
    shop.write({"app/Pulumi.dev.yaml": "config:\n  shop:owner: carol\n"})
    head = shop.commit("carol owns dev")
    shop.write({"app/Pulumi.dev.yaml": "config:\n  shop:owner: dave\n"})
    shop.commit("dave owns dev")
    shop.write({"app/Pulumi.dev.yaml": "config:\n  shop:owner: erin\n"})  # not committed
    monkeypatch.chdir(shop.root)
    code = cli.main(["plan", "--base", base, "--head", head, "--json"])
    assert code == ExitCode.OK, capsys.readouterr().err
    (stack,) = json.loads(capsys.readouterr().out)["stacks"]
    assert (stack["base"], stack["head"]) == (base, head)
    (change,) = stack["changes"]
    assert [(d["old"], d["new"]) for d in change["diffs"]] == [("alice", "carol")]
    assert "erin" in (shop.root / "app/Pulumi.dev.yaml").read_text()  # the tree is untouched
    assert len(shop.git("worktree", "list").splitlines()) == 1
