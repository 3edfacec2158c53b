"""up, down, list and reap against the in-memory engine, a real FileStore and fake GitHub."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, replace
from typing import Any

import pytest
import yaml

from stackflow.ephemeral import (
    Action,
    Environments,
    State,
    TeardownStatus,
    down,
    list_environments,
    reap,
    up,
)
from stackflow.errors import StackflowError

from .conftest import START, Clock
from .fakes import Crash, CrashingStore, FakeGitHub, InMemoryEngine


def open_pr(github: FakeGitHub, branch: str, pr: int) -> None:
    github.prs[pr] = "open"
    github.branches.add(branch)


def test_up_registers_renders_deploys_and_records_outputs(
    envs: Environments, engine: InMemoryEngine, github: FakeGitHub
) -> None:
    open_pr(github, "feature/login", 12)
    outcome = up(envs, branch="feature/login", pr=12, head="abc123")
    stack = outcome.record.stack
    assert stack.startswith("pr-12-feature-login-")
    assert outcome.created
    assert outcome.record.state is State.ACTIVE
    assert outcome.record.created_at == START
    assert outcome.record.last_deployed_at == START
    assert outcome.record.head == "abc123"
    assert outcome.record.outputs["dbPassword"] == {"$secret": "5f1d0e"}
    target = engine.targets[-1]
    assert target.environment == "ephemeral"
    assert target.config_file == envs.project.stack_config_file(stack)
    config = engine.stacks[stack].config["config"]
    assert config["stackflow:environment"] == "ephemeral"
    assert config["stackflow:tags"] == {
        "branch": "feature/login",
        "pullRequest": "12",
        "keep": "${literal}",
    }
    assert envs.registry.get(stack) == outcome.record


def test_a_second_up_keeps_the_creation_time_and_refreshes_the_rest(
    envs: Environments, clock: Clock
) -> None:
    first = up(envs, branch="login", pr=3, head="aaa")
    clock.advance(5)
    second = up(envs, branch="login", pr=3, head="bbb")
    assert not second.created
    assert second.record.created_at == first.record.created_at
    assert second.record.last_deployed_at == clock()
    assert second.record.head == "bbb"


def test_up_refuses_a_stack_that_is_being_destroyed(
    envs: Environments, engine: InMemoryEngine
) -> None:
    stack = up(envs, branch="login").record.stack
    engine.inject("destroy", StackflowError("destroy failed: a dependency is in use"))
    assert down(envs, branch="login")[0].status is TeardownStatus.FAILED
    with pytest.raises(StackflowError, match="is destroying; run `stackflow ephemeral down`"):
        up(envs, branch="login")
    assert stack in engine.stacks


def test_a_failed_first_up_leaves_a_record_that_down_forgets(
    envs: Environments, engine: InMemoryEngine
) -> None:
    engine.inject("up", StackflowError("up failed: quota exceeded"))
    with pytest.raises(StackflowError, match="quota"):
        up(envs, branch="login")
    record = envs.registry.get("br-login")
    assert record is not None
    assert record.last_deployed_at is None
    [outcome] = down(envs, branch="login")
    assert outcome.status is TeardownStatus.FORGOTTEN
    assert ("destroy", "br-login") not in engine.calls
    assert envs.registry.get("br-login") is None


def test_down_destroys_then_removes_stack_config_and_record(
    envs: Environments, engine: InMemoryEngine
) -> None:
    stack = up(envs, branch="login").record.stack
    assert envs.project.stack_config_file(stack).exists()
    engine.calls.clear()
    [outcome] = down(envs, branch="login")
    assert outcome.status is TeardownStatus.DESTROYED
    assert engine.calls == [("stack_exists", stack), ("destroy", stack), ("remove_stack", stack)]
    assert stack not in engine.stacks
    assert not envs.project.stack_config_file(stack).exists()
    assert envs.registry.get(stack) is None
    assert down(envs, branch="login") == []


def test_a_failed_destroy_keeps_the_record_destroying_until_a_later_down(
    envs: Environments, engine: InMemoryEngine
) -> None:
    stack = up(envs, branch="login", pr=4).record.stack
    engine.inject("destroy", StackflowError("destroying: bucket not empty"))
    [failed] = down(envs, branch="login", pr=4)
    assert failed.status is TeardownStatus.FAILED
    record = envs.registry.get(stack)
    assert record is not None
    assert record.state is State.DESTROYING
    assert record.last_error == "destroying: bucket not empty"
    assert stack in engine.stacks
    [done] = down(envs, branch="login", pr=4)
    assert done.status is TeardownStatus.DESTROYED
    assert envs.registry.get(stack) is None


def test_down_without_pr_tears_down_every_stack_of_the_branch(envs: Environments) -> None:
    up(envs, branch="login", pr=1)
    up(envs, branch="login", pr=2)
    up(envs, branch="other", pr=3)
    outcomes = down(envs, branch="login")
    assert sorted(o.pr or 0 for o in outcomes) == [1, 2]
    assert [e.record.branch for e in envs.registry.entries() if e.record] == ["other"]


def test_teardown_refuses_protected_and_foreign_names(
    envs: Environments, engine: InMemoryEngine
) -> None:
    from stackflow.ephemeral import teardown

    for name in ("prod", "Prod", "dev", "feature-x"):
        outcome = teardown(envs, name)
        assert outcome.status is TeardownStatus.REFUSED
        assert outcome.detail.startswith(f"tearing down stack {name!r}")
    assert engine.calls == []


def test_down_by_branch_skips_a_planted_protected_record(
    envs: Environments, engine: InMemoryEngine
) -> None:
    record = up(envs, branch="login").record
    envs.registry.store.put(
        "registry/stackflow-test/prod.json", replace(record, stack="prod").to_bytes()
    )
    outcomes = {o.stack: o.status for o in down(envs, branch="login")}
    assert outcomes == {"br-login": TeardownStatus.DESTROYED, "prod": TeardownStatus.REFUSED}
    assert engine.destroyed == ["br-login"]
    assert envs.registry.store.get("registry/stackflow-test/prod.json") is not None


# -- reap -------------------------------------------------------------------------------


def setup_fleet(envs: Environments, github: FakeGitHub, clock: Clock) -> dict[str, str]:
    """Five stacks: open+fresh, closed, merged, a branch without PR that is gone, and one
    whose TTL ran out."""
    stacks = {}
    for number, branch in enumerate(["fresh", "closed", "merged", "gone", "old"], start=1):
        pr = None if branch == "gone" else number
        if pr is not None:
            open_pr(github, branch, pr)
        github.branches.add(branch)
        if branch == "old":
            clock.advance(20)
        stacks[branch] = up(envs, branch=branch, pr=pr).record.stack
    github.prs[2] = "closed"
    github.prs[3] = "merged"
    github.branches.discard("gone")
    clock.advance(10)  # "fresh" .. "gone" are 30 h old (TTL 24 h), "old" is 10 h old
    github.labels[1] = ["preview", "ttl:48"]
    return stacks


def test_reap_destroys_closed_merged_gone_and_expired_and_keeps_the_rest(
    envs: Environments, engine: InMemoryEngine, github: FakeGitHub, clock: Clock
) -> None:
    stacks = setup_fleet(envs, github, clock)
    clock.advance(5)  # "old" is 15 h old: kept; "fresh" 35 h old but its label says 48 h
    report = reap(envs)
    by_stack = {i.decision.stack: i for i in report.items}
    reasons = {b: by_stack[s].decision.reason for b, s in stacks.items()}
    assert reasons["closed"] == "pull request #2 is closed"
    assert reasons["merged"] == "pull request #3 is merged"
    assert reasons["gone"] == "branch 'gone' no longer exists"
    assert reasons["fresh"] == "13.0 h of TTL left"
    assert reasons["old"] == "9.0 h of TTL left"
    assert sorted(engine.destroyed) == sorted(stacks[b] for b in ("closed", "merged", "gone"))
    assert {e.record.stack for e in envs.registry.entries() if e.record} == {
        stacks["fresh"],
        stacks["old"],
    }
    clock.advance(10)
    report = reap(envs)
    [item] = [i for i in report.items if i.decision.action is Action.DESTROY]
    assert item.decision.stack == stacks["old"]
    assert item.decision.reason == "TTL ran out at 2026-11-24T00:00:00Z"
    assert item.outcome is not None
    assert item.outcome.status is TeardownStatus.DESTROYED


def test_dry_run_reports_and_changes_nothing(
    envs: Environments, engine: InMemoryEngine, github: FakeGitHub, clock: Clock
) -> None:
    setup_fleet(envs, github, clock)
    before = {e.key_stack: e.record for e in envs.registry.entries()}
    engine.calls.clear()
    report = reap(envs, dry_run=True)
    assert report.dry_run
    assert sum(i.decision.action is Action.DESTROY for i in report.items) == 3
    assert all(i.outcome is None for i in report.items)
    assert engine.calls == []
    assert {e.key_stack: e.record for e in envs.registry.entries()} == before


def test_without_a_github_client_only_the_ttl_counts(
    envs: Environments, github: FakeGitHub, clock: Clock
) -> None:
    setup_fleet(envs, github, clock)
    report = reap(replace(envs, github=None), dry_run=True)
    destroy = {i.decision.reason for i in report.items if i.decision.action is Action.DESTROY}
    assert destroy == {"TTL ran out at 2026-11-23T04:00:00Z"}
    assert {i.decision.facts.pr_state for i in report.items} == {"unknown"}
    assert sum(i.decision.action is Action.DESTROY for i in report.items) == 4


def test_when_github_does_not_answer_no_pull_request_stack_is_destroyed_by_ttl(
    envs: Environments, github: FakeGitHub, clock: Clock
) -> None:
    """A TTL label could extend the stack, and the reaper cannot see it: wait. A stack
    without a pull request has no label to wait for."""
    setup_fleet(envs, github, clock)
    github.down = True
    report = reap(envs, dry_run=True)
    actions = {i.decision.stack: i.decision.action for i in report.items}
    assert actions.pop("br-gone") is Action.DESTROY
    assert set(actions.values()) == {Action.KEEP}
    reasons = [i.decision.reason for i in report.items]
    assert sum("GitHub did not answer" in r for r in reasons) == 3
    assert "13.0 h of TTL left" not in reasons  # no TTL label seen: 24 h, expired
    gone = next(i for i in report.items if i.decision.stack == "br-gone")
    assert gone.decision.reason == "TTL ran out at 2026-11-23T04:00:00Z"


def test_reap_never_touches_protected_foreign_or_unregistered_stacks(
    envs: Environments, engine: InMemoryEngine, github: FakeGitHub, clock: Clock
) -> None:
    up(envs, branch="login", pr=1)
    github.prs[1] = "merged"
    good = envs.registry.get("pr-1-login")
    assert good is not None
    store = envs.registry.store
    # A record planted under a protected name, one whose body names prod, one for a
    # non-branch name, and a stack in the backend that has no record at all.
    store.put("registry/stackflow-test/prod.json", replace(good, stack="prod").to_bytes())
    store.put("registry/stackflow-test/br-evil.json", replace(good, stack="prod").to_bytes())
    store.put("registry/stackflow-test/feature.json", replace(good, stack="feature").to_bytes())
    engine.stacks["br-unregistered"] = type(engine.stacks["prod"])(resources=2)
    clock.advance(1000)
    report = reap(envs)
    actions = {i.decision.stack: (i.decision.action, i.decision.reason) for i in report.items}
    assert actions["pr-1-login"][0] is Action.DESTROY
    for stack in ("prod", "br-evil", "feature"):
        assert actions[stack][0] is Action.SKIP, stack
    assert "protected" in actions["prod"][1]
    assert engine.destroyed == ["pr-1-login"]
    assert {"dev", "staging", "prod", "br-unregistered"} <= set(engine.stacks)


def test_reap_is_bounded_by_max_parallel(
    envs: Environments, engine: InMemoryEngine, clock: Clock
) -> None:
    for i in range(6):
        up(envs, branch=f"b{i}")
    clock.advance(100)
    engine.slow = 0.05
    report = reap(envs)
    assert sum(i.outcome is not None for i in report.items) == 6
    assert engine.peak == envs.repo.ephemeral.max_parallel == 2


@pytest.mark.parametrize(
    ("op", "after"),
    [
        ("destroy", True),  # destroyed, crashed before `stack rm`
        ("remove_stack", True),  # removed from the backend, crashed before the record
    ],
)
def test_a_reaper_crashed_after_destroying_finishes_on_the_next_run_and_reaps_nothing_else(
    envs: Environments,
    engine: InMemoryEngine,
    github: FakeGitHub,
    clock: Clock,
    op: str,
    after: bool,
) -> None:
    open_pr(github, "done", 1)
    open_pr(github, "busy", 2)
    doomed = up(envs, branch="done", pr=1).record.stack
    kept = up(envs, branch="busy", pr=2).record.stack
    github.prs[1] = "merged"
    engine.inject(op, Crash(), after=after)
    with pytest.raises(Crash):
        reap(envs)
    record = envs.registry.get(doomed)
    assert record is not None
    assert record.state is State.DESTROYING
    engine.calls.clear()
    report = reap(envs)
    by_stack = {i.decision.stack: i for i in report.items}
    assert by_stack[doomed].decision.action is Action.FINISH
    assert by_stack[doomed].decision.reason == "left destroying by an earlier run"
    assert by_stack[kept].decision.action is Action.KEEP
    assert envs.registry.get(doomed) is None
    assert doomed not in engine.stacks
    assert not envs.project.stack_config_file(doomed).exists()
    assert all(stack == doomed for _, stack in engine.calls)
    assert kept in engine.stacks
    assert envs.registry.get(kept) is not None
    assert reap(envs).items[0].decision.action is Action.KEEP


@pytest.mark.parametrize(("op", "skip"), [("put", 0), ("put", 1), ("delete", 0)])
def test_a_reaper_crashed_while_writing_the_registry_finishes_on_the_next_run(
    envs: Environments,
    engine: InMemoryEngine,
    store: CrashingStore,
    clock: Clock,
    op: str,
    skip: int,
) -> None:
    doomed = up(envs, branch="old").record.stack
    clock.advance(100)
    store.inject(op, Crash(), after=True, skip=skip)
    with pytest.raises(Crash):
        reap(envs)
    reap(envs)
    assert envs.registry.entries() == []
    assert doomed not in engine.stacks


def test_list_shows_age_ttl_pr_state_and_cost(
    envs: Environments, github: FakeGitHub, clock: Clock
) -> None:
    setup_fleet(envs, github, clock)
    listing = list_environments(envs)
    rows = {e.record.branch: e for e in listing.environments}
    assert rows["fresh"].age_hours == 30.0
    assert rows["fresh"].ttl_left_hours == 18.0  # ttl:48 label
    assert rows["old"].ttl_left_hours == 14.0
    assert rows["gone"].ttl_left_hours == 0.0
    assert rows["merged"].facts.pr_state == "merged"
    assert listing.running == 5
    assert listing.stack_hours == 4 * 30 + 10
    assert listing.committed_hours == 18 + 14
    data = listing.to_dict()
    assert data["cost"] == {"running": 5, "stack_hours": 130.0, "committed_hours": 32.0}
    text = json.dumps(data)
    assert "5f1d0e" in text  # the digest marker, never a plaintext
    yaml.safe_dump(data)  # plain data only


def test_list_and_reap_count_hours_to_the_tenth(envs: Environments, clock: Clock) -> None:
    up(envs, branch="login")
    clock.advance(10 / 60)  # ten minutes: 0.1666... h
    listing = list_environments(envs)
    [row] = listing.environments
    assert (row.age_hours, row.ttl_left_hours) == (0.2, 23.8)
    assert (listing.stack_hours, listing.committed_hours) == (0.2, 23.8)
    [item] = reap(replace(envs, github=None), dry_run=True).items
    assert item.decision.reason == "23.8 h of TTL left"
    clock.advance(1000 - 10 / 60)  # hours are 3,600 seconds
    assert list_environments(envs).environments[0].age_hours == 1000.0


def test_list_says_when_each_stack_was_last_deployed(
    envs: Environments, engine: InMemoryEngine, clock: Clock
) -> None:
    up(envs, branch="login")
    engine.inject("up", StackflowError("up failed: quota exceeded"))
    with pytest.raises(StackflowError):
        up(envs, branch="never")
    rows = {r["branch"]: r for r in list_environments(envs).to_dict()["environments"]}
    assert rows["login"]["last_deployed_at"] == "2026-11-22T04:00:00Z"
    assert rows["never"]["last_deployed_at"] is None


def test_an_unreadable_record_does_not_hide_the_ones_after_it_from_list(
    envs: Environments,
) -> None:
    up(envs, branch="login")
    envs.registry.store.put(envs.registry.key("br-aaa"), b"{not json")  # listed first
    listing = list_environments(envs)
    assert [e.key_stack for e in listing.unreadable] == ["br-aaa"]
    assert [e.record.stack for e in listing.environments] == ["br-login"]


# ------------------------------------------------------------- issue 11: records


def test_a_failed_up_leaves_a_failed_record_with_its_error(
    envs: Environments, engine: InMemoryEngine
) -> None:
    up(envs, branch="login")
    engine.inject("up", StackflowError("up failed: quota exceeded"))
    with pytest.raises(StackflowError, match="quota"):
        up(envs, branch="login")
    record = envs.registry.get("br-login")
    assert record is not None
    assert record.state is State.FAILED
    assert record.last_error == "up failed: quota exceeded"
    again = up(envs, branch="login")
    assert (again.record.state, again.record.last_error) == (State.ACTIVE, None)


def test_a_stack_deployed_while_the_reaper_forgot_it_is_registered_again(
    envs: Environments, engine: InMemoryEngine, github: FakeGitHub
) -> None:
    """The reaper tears the record down while `up` deploys: the stack the engine deployed
    must still have a record afterwards, or nothing would ever destroy it."""
    github.prs[4] = "closed"
    real_up = engine.up

    def racing_up(target: Any) -> Any:
        config = target.config_file.read_text()  # the reaper runs in a clone of its own
        reap(envs)  # PR 4 is closed: the reaper dooms, finds nothing deployed, forgets
        assert envs.registry.get(target.stack) is None
        target.config_file.write_text(config)
        return real_up(target)

    engine.up = racing_up  # type: ignore[method-assign]
    with pytest.raises(StackflowError, match="torn down while it deployed"):
        up(envs, branch="login", pr=4)
    record = envs.registry.get("pr-4-login")
    assert record is not None
    assert record.state is State.DESTROYING
    assert "pr-4-login" in engine.stacks
    engine.up = real_up  # type: ignore[method-assign]
    items = {i.decision.stack: i for i in reap(envs).items}
    assert items["pr-4-login"].decision.action is Action.FINISH
    assert "pr-4-login" not in engine.stacks


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"null",
        b"{not json",
        json.dumps({"version": 1, "ttl_hours": "inf"}).encode(),
    ],
)
def test_one_malformed_record_is_skipped_and_reported_and_the_reap_goes_on(
    envs: Environments, engine: InMemoryEngine, github: FakeGitHub, clock: Clock, body: bytes
) -> None:
    up(envs, branch="login", pr=1)
    github.prs[1] = "merged"
    good = envs.registry.get("pr-1-login")
    assert good is not None
    envs.registry.store.put("registry/stackflow-test/br-bad.json", body)
    inf = replace(good, stack="br-inf", branch="inf", pr=None).to_dict() | {"ttl_hours": "inf"}
    envs.registry.store.put("registry/stackflow-test/br-inf.json", json.dumps(inf).encode())
    report = reap(envs)
    actions = {i.decision.stack: i.decision for i in report.items}
    assert actions["pr-1-login"].action is Action.DESTROY
    assert actions["br-bad"].action is Action.SKIP
    assert actions["br-inf"].action is Action.SKIP
    assert "ttl_hours" in actions["br-inf"].reason
    assert engine.destroyed == ["pr-1-login"]
    assert list_environments(envs).unreadable


def test_a_huge_ttl_label_is_bounded(
    envs: Environments, engine: InMemoryEngine, github: FakeGitHub, clock: Clock
) -> None:
    up(envs, branch="login", pr=1)
    open_pr(github, "login", 1)
    github.labels[1] = ["ttl:1e300"]
    clock.advance(24 * 365)
    report = reap(envs)  # no OverflowError
    [item] = report.items
    assert item.decision.action is Action.DESTROY
    assert "TTL ran out" in item.decision.reason


# ------------------------------------------------------------- races and guards of up/down


def test_up_runs_the_repositorys_policy_pack_when_it_has_one(
    envs: Environments, engine: InMemoryEngine
) -> None:
    up(envs, branch="login")
    assert engine.targets[-1].policy_pack is None  # no pack in the repository: none run
    envs.repo.policy_pack_dir.mkdir(parents=True)
    up(envs, branch="login")
    assert engine.targets[-1].policy_pack == envs.repo.policy_pack_dir


def test_up_refuses_a_stack_registered_for_another_branch(
    envs: Environments, engine: InMemoryEngine
) -> None:
    """Names are collision-free, but a record is what the registry holds: one naming
    another branch under this stack's key (a hand-made or older record) is not taken over."""
    record = up(envs, branch="login").record
    envs.registry.store.put(
        envs.registry.key("br-login"), replace(record, branch="Login/old").to_bytes()
    )
    engine.calls.clear()
    with pytest.raises(StackflowError, match="registered for branch 'Login/old'"):
        up(envs, branch="login")
    assert engine.calls == []
    kept = envs.registry.get("br-login")
    assert kept is not None
    assert kept.branch == "Login/old"


@pytest.mark.parametrize("destroy_fails", [True, False])
def test_a_failed_up_does_not_revive_a_stack_torn_down_meanwhile(
    envs: Environments, engine: InMemoryEngine, destroy_fails: bool
) -> None:
    """A `down` runs while `up` deploys, and then the up fails: a record left `destroying`
    stays doomed (recorded `failed` it would count as live again), and a forgotten one
    stays forgotten."""
    if destroy_fails:
        up(envs, branch="login")  # deployed, so the racing down has something to destroy
        engine.inject("destroy", StackflowError("destroying: the stack is locked"))

    def racing_up(target: Any) -> Any:
        down(envs, branch="login")
        raise StackflowError("up failed: quota exceeded")

    engine.up = racing_up  # type: ignore[method-assign]
    with pytest.raises(StackflowError, match="quota"):
        up(envs, branch="login")
    record = envs.registry.get("br-login")
    if destroy_fails:
        assert record is not None
        assert record.state is State.DESTROYING
        assert record.last_error == "destroying: the stack is locked"
    else:
        assert record is None


@pytest.mark.parametrize("redeployed", [True, False])
def test_a_failed_destroy_leaves_what_another_job_did_meanwhile_alone(
    envs: Environments, engine: InMemoryEngine, redeployed: bool
) -> None:
    """Our destroy fails because another job holds the stack: that job finishes the
    teardown (and maybe a new push deploys the branch again). Our failure is not written
    into the record that job left, nor does it crash."""
    up(envs, branch="login")
    real_destroy = engine.destroy

    def locked_destroy(target: Any) -> Any:
        engine.destroy = real_destroy  # type: ignore[method-assign]
        down(envs, branch="login")  # the other job
        if redeployed:
            up(envs, branch="login")
        raise StackflowError("destroying: the stack is locked by another update")

    engine.destroy = locked_destroy  # type: ignore[method-assign]
    [outcome] = down(envs, branch="login")
    assert outcome.status is TeardownStatus.FAILED
    record = envs.registry.get("br-login")
    if redeployed:
        assert record is not None
        assert (record.state, record.last_error) == (State.ACTIVE, None)
    else:
        assert record is None


def test_a_stack_deployed_again_right_after_its_teardown_keeps_its_record(
    envs: Environments, engine: InMemoryEngine, store: CrashingStore
) -> None:
    """Between our teardown recording `destroyed` and deleting the record, another job
    finishes it and a new push deploys the branch again: that deployment's record stays,
    or its stack would be in the backend with nothing to ever destroy it."""
    up(envs, branch="login")

    def another_job() -> None:
        assert [o.status for o in down(envs, branch="login")] == [TeardownStatus.FORGOTTEN]
        up(envs, branch="login", head="new")

    store.meanwhile("put", another_job, skip=1)  # 0: `destroying`, 1: `destroyed`
    [outcome] = down(envs, branch="login")
    assert outcome.status is TeardownStatus.DESTROYED
    record = envs.registry.get("br-login")
    assert record is not None
    assert (record.state, record.head) == (State.ACTIVE, "new")
    assert "br-login" in engine.stacks


def test_what_the_lifecycle_hands_out_cannot_be_changed_in_place(envs: Environments) -> None:
    """The reaper shares one Environments between its teardown threads, and reports carry
    the outcomes: none of them may be changed under another reader."""
    outcome = up(envs, branch="login")
    [torn] = down(envs, branch="login")
    with pytest.raises(FrozenInstanceError):
        envs.github = None  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        outcome.created = False  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        torn.status = TeardownStatus.FAILED  # type: ignore[misc]
