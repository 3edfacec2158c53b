"""Stateful property test of the whole lifecycle.

Random sequences of up, down, reap (and dry runs), clock advances, pull requests closed or
merged, TTL labels, branches deleted, GitHub outages, engine failures and crashes
(engine or registry store, before or after the operation takes effect) must never:

* destroy a protected stack, an unregistered stack, or a registered stack that nobody
  asked to tear down while its pull request is open, its branch exists and its TTL runs
  (checked at the moment of every engine destroy);
* leave a branch stack in the backend without a registry record (checked after every step);
* give a branch stack a config of another environment kind than ``ephemeral``;
* reset a stack's creation time (its TTL) on a later ``up``;

and one crash-free reap, once every TTL has run out, must leave nothing behind: no record,
no stack, no rendered config file (convergence).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from stackflow.adapters.storage import FileStore, resolve_locations
from stackflow.ephemeral import EnvironmentRecord, Environments, Registry, State, down, reap, up
from stackflow.errors import StackflowError
from stackflow.naming import is_ephemeral_name, stack_name

from .conftest import START, Clock, make_repo
from .fakes import Crash, CrashingStore, FakeGitHub, FakeStack, InMemoryEngine

BRANCHES: tuple[tuple[str, int | None], ...] = (
    ("feature/login", 1),
    ("Prod", 2),
    ("pr/prod", 3),
    ("main", None),
    ("$(reboot)\n", 5),
)
PROTECTED = ("dev", "staging", "prod", "local")
TTL_HOURS = 24
PLANTED = "registry/stackflow-test/prod.json"
STRAY = "br-stray"
"""A branch-looking stack in the backend that has no record: never to be touched."""

branch_index = st.integers(min_value=0, max_value=len(BRANCHES) - 1)


class EphemeralLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="stackflow-stateful-"))
        self.repo = make_repo(self.tmp / "repo", ttl_hours=TTL_HOURS, max_parallel=2)
        self.engine = InMemoryEngine(existing=("dev", "staging", "prod"))
        self.engine.stacks[STRAY] = FakeStack(resources=1)
        self.engine.before_destroy = self.check_destroy
        self.github = FakeGitHub(
            prs={pr: "open" for _, pr in BRANCHES if pr is not None},
            branches={b for b, _ in BRANCHES},
        )
        self.inner = FileStore(Path(resolve_locations(self.repo, {}).records))
        self.store = CrashingStore(self.inner)
        self.clock = Clock()
        self.envs = Environments.open(
            self.repo, self.engine, github=self.github, store=self.store, now=self.clock
        )
        # A record planted under a protected name, already expired and its PR merged.
        planted = EnvironmentRecord(
            project="stackflow-test",
            stack="prod",
            branch="feature/login",
            pr=1,
            created_at=START - timedelta(days=30),
            ttl_hours=1,
        )
        self.inner.put(PLANTED, planted.to_bytes())
        self.oracle = Registry(self.inner, "stackflow-test")
        """The test's own view of the registry: no faults injected."""
        self.created: dict[str, datetime] = {}
        """The model: when each registered stack was first registered."""
        self.down_requested: set[str] = set()

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the model -------------------------------------------------------------------------

    def name(self, index: int) -> str:
        branch, pr = BRANCHES[index]
        return stack_name(branch, pr, protected=PROTECTED)

    def record(self, stack: str) -> EnvironmentRecord | None:
        return self.oracle.get(stack)

    def reason_to_go(self, stack: str, record: EnvironmentRecord) -> bool:
        if stack in self.down_requested:
            return True
        if record.pr is not None and self.github.prs[record.pr] in ("closed", "merged"):
            return True
        if record.branch not in self.github.branches:
            return True
        labels = self.github.labels.get(record.pr or 0, [])
        hours = [float(label[4:]) for label in labels] or [float(TTL_HOURS)]
        return self.clock() >= self.created[stack] + timedelta(hours=max(hours))

    def check_destroy(self, stack: str) -> None:
        assert stack not in ("dev", "staging", "prod", STRAY), f"destroyed {stack}"
        assert is_ephemeral_name(stack)
        record = self.record(stack)
        assert record is not None, f"destroyed unregistered {stack}"
        assert record.state is State.DESTROYING
        assert self.reason_to_go(stack, record), f"destroyed {stack} with no reason to"

    def sync(self) -> None:
        """After each step: learn registrations, forget finished teardowns."""
        for index in range(len(BRANCHES)):
            stack = self.name(index)
            record = self.record(stack)
            if record is None:
                self.created.pop(stack, None)
                if stack not in self.engine.stacks:
                    self.down_requested.discard(stack)
                continue
            if stack in self.created:
                assert record.created_at == self.created[stack], "the TTL was reset"
            else:
                self.created[stack] = record.created_at
            if record.state is State.ACTIVE:
                self.down_requested.discard(stack)

    # -- rules -----------------------------------------------------------------------------

    @rule(index=branch_index, head=st.sampled_from(["a1", "b2", None]))
    def deploy(self, index: int, head: str | None) -> None:
        branch, pr = BRANCHES[index]
        before = self.record(self.name(index))
        error: StackflowError | None = None
        try:
            up(self.envs, branch=branch, pr=pr, head=head)
        except StackflowError as err:
            error = err
        except Crash:
            pass
        if error is not None:
            refused = before is not None and before.state is not State.ACTIVE
            assert "injected" in error.message or refused, error.message
        self.sync()

    @rule(index=branch_index, by_pr=st.booleans())
    def tear_down(self, index: int, by_pr: bool) -> None:
        branch, pr = BRANCHES[index]
        self.down_requested.add(self.name(index))
        with contextlib.suppress(Crash):
            down(self.envs, branch=branch, pr=pr if by_pr else None)
        self.sync()

    @rule(dry_run=st.booleans())
    def run_reaper(self, dry_run: bool) -> None:
        before = {k: self.inner.get(k) for k in self.inner.list()}
        with contextlib.suppress(Crash):
            reap(self.envs, dry_run=dry_run)
        if dry_run:
            assert {k: self.inner.get(k) for k in self.inner.list()} == before
        self.sync()

    @rule(hours=st.floats(min_value=0, max_value=30))
    def time_passes(self, hours: float) -> None:
        self.clock.advance(hours)

    @rule(index=branch_index, state=st.sampled_from(["closed", "merged"]))
    def close_pull_request(self, index: int, state: str) -> None:
        pr = BRANCHES[index][1]
        if pr is not None:
            self.github.prs[pr] = state

    @rule(index=branch_index)
    def delete_branch(self, index: int) -> None:
        """As on GitHub, deleting a pull request's head branch closes the pull request."""
        branch, pr = BRANCHES[index]
        self.github.branches.discard(branch)
        if pr is not None and self.github.prs[pr] == "open":
            self.github.prs[pr] = "closed"

    @rule(index=branch_index, hours=st.sampled_from([48, 96]))
    def extend_ttl(self, index: int, hours: int) -> None:
        pr = BRANCHES[index][1]
        if pr is not None:
            self.github.labels.setdefault(pr, []).append(f"ttl:{hours}")

    @rule(outage=st.booleans())
    def github_outage(self, outage: bool) -> None:
        self.github.down = outage

    @rule(
        op=st.sampled_from(["up", "destroy", "remove_stack", "stack_exists"]),
        crash=st.booleans(),
        after=st.booleans(),
        skip=st.integers(min_value=0, max_value=2),
    )
    def engine_fault(self, op: str, crash: bool, after: bool, skip: int) -> None:
        error = Crash() if crash else StackflowError(f"{op}: injected engine failure")
        self.engine.inject(op, error, after=after, skip=skip)

    @rule(
        op=st.sampled_from(["get", "put", "delete", "list"]),
        after=st.booleans(),
        skip=st.integers(min_value=0, max_value=3),
    )
    def store_crash(self, op: str, after: bool, skip: int) -> None:
        self.store.inject(op, Crash(), after=after, skip=skip)

    @precondition(lambda self: bool(self.created))
    @rule()
    def converge(self) -> None:
        """Without faults, once every TTL has run out, one reap leaves nothing behind."""
        self.engine.clear()
        self.store.clear()
        self.github.down = False
        self.clock.advance(24 * 365)
        report = reap(self.envs)
        assert not report.failed
        self.sync()
        assert list(self.inner.list("registry/")) == [PLANTED]
        assert set(self.engine.stacks) == {"dev", "staging", "prod", STRAY}
        rendered = sorted(p.name for p in (self.tmp / "repo" / "stacks").glob("Pulumi.*.yaml"))
        assert rendered == []
        assert not self.created

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def long_lived_and_unregistered_stacks_are_intact(self) -> None:
        for stack in ("dev", "staging", "prod"):
            assert self.engine.stacks[stack].resources == 3
        assert self.engine.stacks[STRAY].resources == 1
        assert self.inner.get(PLANTED) is not None

    @invariant()
    def no_branch_stack_without_a_record(self) -> None:
        for stack, state in self.engine.stacks.items():
            if stack in ("dev", "staging", "prod", STRAY):
                continue
            assert self.record(stack) is not None, f"orphaned stack {stack}"
            if state.config:
                assert state.config["config"]["stackflow:environment"] == "ephemeral"


EphemeralLifecycle.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_ephemeral_lifecycle = pytest.mark.slow(EphemeralLifecycle.TestCase)
