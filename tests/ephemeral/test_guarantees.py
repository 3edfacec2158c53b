"""The registry's compare-and-swap, the guards on a record that disagrees with its key,
and the reaper's TTL rules, each at the boundary a weaker implementation would get wrong."""

from __future__ import annotations

import json
import math
from dataclasses import FrozenInstanceError, replace
from datetime import timedelta
from pathlib import Path

import pytest

from stackflow.adapters.storage import FileStore
from stackflow.ephemeral import Action, Environments, TeardownStatus, reap, teardown, up
from stackflow.ephemeral.reaper import observe
from stackflow.ephemeral.registry import Entry, EnvironmentRecord, Registry
from stackflow.errors import StackflowError

from .conftest import START, Clock
from .fakes import FakeGitHub, InMemoryEngine


def record(stack: str, **changes: object) -> EnvironmentRecord:
    base = EnvironmentRecord(
        project="stackflow-test", stack=stack, branch="b", pr=None, created_at=START, ttl_hours=24
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# ------------------------------------------------------------------ compare-and-swap


def test_create_does_not_overwrite_a_record_another_writer_created_meanwhile(
    tmp_path: Path,
) -> None:
    store = FileStore(tmp_path)
    registry = Registry(store, "stackflow-test")
    theirs, ours = record("br-x", head="theirs"), record("br-x", head="ours")
    seen: list[EnvironmentRecord | None] = []

    def create(current: EnvironmentRecord | None) -> EnvironmentRecord:
        seen.append(current)
        if len(seen) == 1:  # another job creates the record between our read and write
            store.put(registry.key("br-x"), theirs.to_bytes())
        return current or ours

    assert registry.mutate("br-x", create) == theirs
    assert seen == [None, theirs]
    assert registry.get("br-x") == theirs


def test_delete_does_not_remove_a_record_another_writer_changed_meanwhile(
    tmp_path: Path,
) -> None:
    store = FileStore(tmp_path)
    registry = Registry(store, "stackflow-test")
    registry.mutate("br-x", lambda _: record("br-x", head="old"))
    calls = 0

    def delete_if_old(current: EnvironmentRecord | None) -> EnvironmentRecord | None:
        nonlocal calls
        calls += 1
        if calls == 1:  # another job redeploys between our read and our delete
            store.put(registry.key("br-x"), record("br-x", head="new").to_bytes())
        return None if current is not None and current.head == "old" else current

    assert registry.mutate("br-x", delete_if_old) == record("br-x", head="new")
    assert calls == 2
    assert registry.get("br-x") == record("br-x", head="new")


@pytest.mark.parametrize(("races", "succeeds"), [(7, True), (8, False)])
def test_a_writer_gets_eight_tries_under_contention(
    tmp_path: Path, races: int, succeeds: bool
) -> None:
    """Another job changes the record between each of our reads and writes, ``races``
    times: within eight attempts ours lands; past them the error says how many it made."""
    store = FileStore(tmp_path)
    registry = Registry(store, "stackflow-test")
    registry.mutate("br-x", lambda _: record("br-x", head="v0"))
    calls = 0

    def update(current: EnvironmentRecord | None) -> EnvironmentRecord:
        nonlocal calls
        calls += 1
        if calls <= races:  # the other job writes after our read
            store.put(registry.key("br-x"), record("br-x", head=f"theirs{calls}").to_bytes())
        return record("br-x", head="ours")

    if succeeds:
        assert registry.mutate("br-x", update) == record("br-x", head="ours")
        assert calls == races + 1
    else:
        with pytest.raises(StackflowError, match="under 8 attempts"):
            registry.mutate("br-x", update)
        assert calls == 8
        assert registry.get("br-x") == record("br-x", head="theirs8")


# ------------------------------------------------- a record that disagrees with its key


@pytest.mark.parametrize(
    "wrong",
    [{"stack": "br-other"}, {"project": "another-project"}],
    ids=["stack", "project"],
)
def test_a_record_disagreeing_with_its_key_is_never_torn_down(
    envs: Environments, engine: InMemoryEngine, clock: Clock, wrong: dict[str, str]
) -> None:
    stack = up(envs, branch="victim").record.stack
    other = up(envs, branch="other").record.stack
    forged = replace(envs.registry.get(stack), **wrong)  # type: ignore[arg-type]
    if "stack" in wrong:
        forged = replace(forged, stack=other)
    envs.registry.store.put(envs.registry.key(stack), forged.to_bytes())
    clock.advance(1_000)  # long expired

    outcome = teardown(envs, stack)
    assert outcome.status is TeardownStatus.REFUSED
    assert "registry record names" in outcome.detail
    report = reap(envs)
    [item] = [i for i in report.items if i.decision.stack == stack]
    assert item.decision.action is Action.SKIP
    assert "registry record names" in item.decision.reason
    assert stack in engine.stacks
    assert envs.registry.get(stack) == forged


# ----------------------------------------------------------- decisions go stale


def test_a_stack_re_created_after_the_decision_is_not_reaped_by_it(
    envs: Environments, engine: InMemoryEngine, clock: Clock
) -> None:
    stack = up(envs, branch="feature").record.stack
    clock.advance(30)  # expired
    [observed] = observe(envs)
    decided_on = observed.entry.record
    assert decided_on is not None
    teardown(envs, stack)  # closed and ...
    clock.advance(1)
    again = up(envs, branch="feature").record  # ... re-opened before the reaper acted
    assert again.created_at != decided_on.created_at

    outcome = teardown(envs, stack, decided_on=decided_on)
    assert outcome.status is TeardownStatus.CHANGED
    assert envs.registry.get(stack) == again
    assert engine.stacks[stack].resources == 3


# ------------------------------------------------------------------------- TTL


def ttl_decision(
    envs: Environments, github: FakeGitHub, clock: Clock, labels: list[str], hours: float
) -> tuple[Action, str]:
    github.prs[5] = "open"
    github.branches.add("feature")
    up(envs, branch="feature", pr=5)
    github.labels[5] = labels
    clock.advance(hours)
    [item] = reap(envs, dry_run=True).items
    return item.decision.action, item.decision.reason


def test_the_largest_ttl_label_wins(envs: Environments, github: FakeGitHub, clock: Clock) -> None:
    action, reason = ttl_decision(envs, github, clock, ["ttl:72", "ttl:48", "ttl:96"], 95)
    assert (action, reason) == (Action.KEEP, "1.0 h of TTL left")


def test_the_ttl_runs_out_at_exactly_its_hour(
    envs: Environments, github: FakeGitHub, clock: Clock
) -> None:
    action, reason = ttl_decision(envs, github, clock, [], 24)
    assert (action, reason) == (Action.DESTROY, "TTL ran out at 2026-11-23T04:00:00Z")


def test_a_moment_before_its_hour_the_stack_is_kept(
    envs: Environments, github: FakeGitHub, clock: Clock
) -> None:
    action, _ = ttl_decision(envs, github, clock, [], 24 - 1 / 3600)
    assert action is Action.KEEP


@pytest.mark.parametrize("label", ["ttl:0", "ttl:-48", "ttl:-0.5", "ttl:inf", "ttl:nan", "ttl:x"])
def test_zero_negative_and_non_finite_ttl_labels_are_ignored(
    envs: Environments, github: FakeGitHub, clock: Clock, label: str
) -> None:
    """A ``ttl:0`` label must not reap a stack early, nor ``ttl:-48`` make the TTL run
    out before it started; the configured 24 h apply."""
    kept, _ = ttl_decision(envs, github, clock, [label], 23)
    assert kept is Action.KEEP
    clock.advance(1)
    [item] = reap(envs, dry_run=True).items
    assert item.decision.action is Action.DESTROY
    assert item.decision.reason == "TTL ran out at 2026-11-23T04:00:00Z"


@pytest.mark.parametrize(
    ("labels", "hours", "action", "reason"),
    [
        # a malformed label does not stop the ones after it from counting
        (["ttl:soon", "ttl:96"], 95, Action.KEEP, "1.0 h of TTL left"),
        # a label without the prefix is no TTL, whatever follows its first four characters
        (["age:96"], 25, Action.DESTROY, "TTL ran out at 2026-11-23T04:00:00Z"),
        # a label may shorten the TTL, to any positive number of hours
        (["ttl:1"], 1, Action.DESTROY, "TTL ran out at 2026-11-22T05:00:00Z"),
        (["ttl:0.5"], 0.4, Action.KEEP, "0.1 h of TTL left"),
    ],
)
def test_which_labels_set_the_ttl(
    envs: Environments,
    github: FakeGitHub,
    clock: Clock,
    labels: list[str],
    hours: float,
    action: Action,
    reason: str,
) -> None:
    assert ttl_decision(envs, github, clock, labels, hours) == (action, reason)


def test_when_github_does_not_answer_an_expired_ttl_waits_from_exactly_its_hour(
    envs: Environments, engine: InMemoryEngine, github: FakeGitHub, clock: Clock
) -> None:
    """The TTL runs out at exactly its hour (above); from that same instant a TTL label
    GitHub could not show may extend it, so the reaper waits rather than destroys."""
    github.prs[5] = "open"
    github.branches.add("feature")
    up(envs, branch="feature", pr=5)
    clock.advance(24)
    github.down = True
    [item] = reap(envs).items
    assert item.decision.action is Action.KEEP
    assert item.decision.reason.startswith(
        "TTL ran out at 2026-11-23T04:00:00Z, but GitHub did not answer"
    )
    assert item.outcome is None
    assert engine.destroyed == []


def test_the_reap_report_names_each_stacks_branch_and_when_its_ttl_runs_out(
    envs: Environments, github: FakeGitHub, clock: Clock
) -> None:
    github.prs[5] = "open"
    up(envs, branch="feature", pr=5)
    planted = replace(record("prod"), stack="prod")
    envs.registry.store.put(envs.registry.key("prod"), planted.to_bytes())
    envs.registry.store.put(envs.registry.key("br-bad"), b"{not json")
    report = {i["stack"]: i for i in reap(envs).to_dict()["items"]}
    kept = report["pr-5-feature"]
    assert (kept["branch"], kept["pr"]) == ("feature", 5)
    assert kept["expires_at"] == "2026-11-23T04:00:00Z"
    assert report["prod"]["action"] == "skip"
    assert report["prod"]["expires_at"] is None  # a refused record has no TTL of ours
    unreadable = report["br-bad"]
    assert (unreadable["action"], unreadable["branch"], unreadable["pr"]) == ("skip", None, None)


def test_the_reapers_decisions_cannot_be_changed_in_place(
    envs: Environments, github: FakeGitHub, clock: Clock
) -> None:
    """Decided once from one listing, then acted on by several teardown threads (each
    re-checks the record against the decision): what was decided must stay as decided."""
    from stackflow.ephemeral import list_environments

    up(envs, branch="feature")
    clock.advance(30)
    [observed] = observe(envs)
    [item] = reap(envs).items
    with pytest.raises(FrozenInstanceError):
        observed.facts = observed.facts  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        item.decision.action = Action.KEEP  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        item.outcome = None  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        observed.facts.answered = False  # type: ignore[misc]
    report = reap(envs)
    with pytest.raises(FrozenInstanceError):
        report.dry_run = True  # type: ignore[misc]
    up(envs, branch="feature")  # the reaped stack, deployed again, to be listed
    listing = list_environments(envs)
    [listed] = listing.environments
    with pytest.raises(FrozenInstanceError):
        listed.ttl_left_hours = 1000.0  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        listing.unreadable = ()  # type: ignore[misc]


def test_github_is_asked_four_questions_at_a_time(envs: Environments, github: FakeGitHub) -> None:
    """GitHub asks integrators not to hammer its API: the reaper's questions are bounded
    to four at a time (and as many, or a large fleet's reap would crawl)."""
    for pr in range(1, 7):
        github.prs[pr] = "closed"  # one question each: the state
        up(envs, branch=f"b{pr}", pr=pr)
    github.crowd = 5
    reap(envs, dry_run=True)
    assert github.calls == 6
    assert github.peak == 4


# ------------------------------------------------------------ the stored format

V1_RECORD = {
    "version": 1,
    "project": "stackflow-test",
    "stack": "pr-3-x",
    "branch": "x",
    "pr": 3,
    "created_at": "2026-11-22T04:00:00Z",
    "ttl_hours": 24,
    "state": "active",
    "last_deployed_at": None,
    "head": None,
    "outputs": {},
    "last_error": None,
}


def test_a_record_in_the_documented_version_1_format_is_read_and_written_back_as_such(
    tmp_path: Path,
) -> None:
    """Records outlive the code that wrote them: a v1 record stays readable, and what is
    written is v1 (a bumped or wrong version would orphan every live stack)."""
    store = FileStore(tmp_path)
    registry = Registry(store, "stackflow-test")
    store.put(registry.key("pr-3-x"), json.dumps(V1_RECORD).encode())
    assert registry.get("pr-3-x") == record("pr-3-x", branch="x", pr=3)
    assert json.loads(record("pr-3-x", branch="x", pr=3).to_bytes()) == V1_RECORD


def test_a_record_whose_pr_is_not_a_number_is_refused(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    registry = Registry(store, "stackflow-test")
    for bad in (True, "3", 3.5):
        store.put(registry.key("pr-3-x"), json.dumps({**V1_RECORD, "pr": bad}).encode())
        with pytest.raises(StackflowError, match="is not a valid record"):
            registry.get("pr-3-x")


def test_only_json_records_directly_under_the_project_are_listed(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    registry = Registry(store, "stackflow-test")
    store.put(registry.key("pr-3-x"), json.dumps(V1_RECORD).encode())
    store.put(f"{registry.prefix}notes.txt", b"not a record")
    store.put(f"{registry.prefix}archive/br-old.json", json.dumps(V1_RECORD).encode())
    assert registry.stacks() == ["pr-3-x"]


def test_a_record_cannot_be_changed_in_place() -> None:
    """Every change goes through Registry.mutate (compare-and-swap); a record that could be
    edited in place would let a caller change what it read without writing it."""
    with pytest.raises(FrozenInstanceError):
        record("br-x").head = "edited"  # type: ignore[misc]
    # nor a listed entry: the reaper decides on what was listed, and re-reads before acting
    with pytest.raises(FrozenInstanceError):
        Entry("br-x", record("br-x")).record = None  # type: ignore[misc]


# ------------------------------------------------------------------ the 90-day bound


def test_no_record_or_label_keeps_a_stack_past_90_days() -> None:
    days90 = timedelta(hours=2160)
    assert record("br-x").expires_at(2160) == START + days90
    assert record("br-x").expires_at(2159.5) == START + days90 - timedelta(minutes=30)
    assert record("br-x").expires_at(10_000) == START + days90
    assert record("br-x", ttl_hours=10_000.0).expires_at() == START + days90
    assert record("br-x").expires_at(-5) == START  # never before its creation
    stored = json.loads(record("br-x").to_bytes())
    for hours, kept in ((10_000, 2160.0), (2159.5, 2159.5)):
        read = EnvironmentRecord.from_dict({**stored, "ttl_hours": hours})
        assert read.ttl_hours == kept


def test_the_read_concurrency_is_passed_by_keyword_only(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        Registry(FileStore(tmp_path), "stackflow-test", 4)  # type: ignore[misc]
    assert Registry(FileStore(tmp_path), "stackflow-test", read_workers=4).read_workers == 4


@pytest.mark.parametrize("ttl", [0, 0.0, -1, math.inf, math.nan, True, "24", None])
def test_a_record_whose_ttl_is_not_a_positive_number_is_refused(ttl: object) -> None:
    stored = json.loads(record("br-x").to_bytes())
    with pytest.raises(ValueError, match="not a positive number of hours"):
        EnvironmentRecord.from_dict({**stored, "ttl_hours": ttl})


def test_a_record_of_less_than_an_hour_is_kept() -> None:
    stored = json.loads(record("br-x").to_bytes())
    assert EnvironmentRecord.from_dict({**stored, "ttl_hours": 0.5}).ttl_hours == 0.5
