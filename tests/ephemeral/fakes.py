"""Test doubles for the systems the ephemeral code talks to and that cannot run here.

* :class:`InMemoryEngine` stands in for the Pulumi engine (``pulumi`` is not installed):
  it keeps stacks in a dict, behaves like ``pulumi`` where it matters (destroy needs an
  existing stack, ``stack rm`` refuses a stack that still has resources, up needs its
  config file) and fails or "crashes" on demand.
* :class:`FakeGitHub` stands in for GitHub's API.
* :class:`CrashingStore` wraps a real store (FileStore, S3Store on moto) and crashes on
  demand before or after an operation takes effect, or lets another job act right after
  one (:meth:`CrashingStore.meanwhile`).

A crash is :class:`Crash`, a BaseException: it models the process dying, so no
``except StackflowError`` or ``except Exception`` in the code under test can swallow it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from stackflow.adapters.storage import Blob, BlobStore
from stackflow.engine.api import EngineTarget, UpResult
from stackflow.errors import StackflowError
from stackflow.plan.model import Source, StackPlan


class Crash(BaseException):
    """The process died here (simulated)."""


@dataclass
class Injected:
    error: BaseException | None
    after: bool
    """Raise after the operation took effect (else before)."""
    action: Callable[[], None] | None = None
    """Instead of raising: run this right after the operation took effect."""

    def fire(self) -> None:
        if self.action is not None:
            self.action()
        elif self.error is not None:
            raise self.error


class _Faults:
    def __init__(self) -> None:
        self._queue: dict[str, list[tuple[int, Injected]]] = {}
        self._lock = threading.Lock()

    def inject(self, op: str, error: BaseException, *, after: bool = False, skip: int = 0) -> None:
        """The ``skip``-th next call of ``op`` (0: the very next) raises ``error``."""
        with self._lock:
            self._queue.setdefault(op, []).append((skip, Injected(error, after)))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def take(self, op: str) -> Injected | None:
        with self._lock:
            pending = self._queue.get(op, [])
            fired = None
            remaining = []
            for skip, injected in pending:
                if skip == 0 and fired is None:
                    fired = injected
                else:
                    remaining.append((max(0, skip - 1), injected))
            self._queue[op] = remaining
            return fired


@dataclass
class FakeStack:
    resources: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)


class InMemoryEngine(_Faults):
    """The Pulumi engine, in memory (see the module docstring)."""

    def __init__(self, existing: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.stacks: dict[str, FakeStack] = {s: FakeStack(resources=3) for s in existing}
        self.calls: list[tuple[str, str]] = []
        self.destroyed: list[str] = []
        self.targets: list[EngineTarget] = []
        self.guard = threading.Lock()
        self.slow = 0.0
        """Seconds each call takes, to observe how many run at once."""
        self.in_flight = 0
        self.peak = 0
        self.before_destroy: Callable[[str], None] | None = None
        """Called with the stack name as each destroy starts (a test's safety check)."""

    def _run(self, op: str, target: EngineTarget, effect: Any) -> Any:
        with self.guard:
            self.calls.append((op, target.stack))
            self.targets.append(target)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.slow)
        finally:
            with self.guard:
                self.in_flight -= 1
        fault = self.take(op)
        if fault and not fault.after:
            fault.fire()
        with self.guard:
            result = effect()
        if fault and fault.after:
            fault.fire()
        return result

    def _plan(self, target: EngineTarget) -> StackPlan:
        return StackPlan.build(
            project="stackflow-test",
            stack=target.stack,
            source=Source.ENGINE,
            environment="ephemeral",
        )

    def up(self, target: EngineTarget) -> UpResult:
        def effect() -> UpResult:
            if target.config_file is None or not target.config_file.exists():
                raise StackflowError(f"up {target.stack}: no config file {target.config_file}")
            stack = self.stacks.setdefault(target.stack, FakeStack())
            stack.config = yaml.safe_load(target.config_file.read_text())
            stack.resources = 3
            stack.outputs = {
                "url": f"https://{target.stack}.preview.example.com",
                "dbPassword": {"$secret": "5f1d0e"},
            }
            return UpResult(plan=self._plan(target), outputs=dict(stack.outputs))

        result: UpResult = self._run("up", target, effect)
        return result

    def destroy(self, target: EngineTarget) -> StackPlan:
        def effect() -> StackPlan:
            if self.before_destroy is not None:
                self.before_destroy(target.stack)
            stack = self.stacks.get(target.stack)
            if stack is None:
                raise StackflowError(f"destroy {target.stack}: no stack named {target.stack}")
            if stack.resources:
                self.destroyed.append(target.stack)
            stack.resources = 0
            stack.outputs = {}
            return self._plan(target)

        plan: StackPlan = self._run("destroy", target, effect)
        return plan

    def remove_stack(self, target: EngineTarget) -> None:
        def effect() -> None:
            stack = self.stacks.get(target.stack)
            if stack is None:
                raise StackflowError(f"stack rm {target.stack}: no stack named {target.stack}")
            if stack.resources:
                raise StackflowError(f"stack rm {target.stack}: it still has resources")
            del self.stacks[target.stack]

        self._run("remove_stack", target, effect)

    def stack_exists(self, target: EngineTarget) -> bool:
        exists: bool = self._run("stack_exists", target, lambda: target.stack in self.stacks)
        return exists

    def preview(self, target: EngineTarget) -> StackPlan:
        return self._plan(target)

    def refresh(self, target: EngineTarget, *, preview_only: bool = True) -> StackPlan:
        return self._plan(target)


@dataclass
class FakeGitHub:
    """GitHub's pull requests and branches, in memory."""

    prs: dict[int, str] = field(default_factory=dict)
    labels: dict[int, list[str]] = field(default_factory=dict)
    branches: set[str] = field(default_factory=set)
    down: bool = False
    """Every call fails, as when the API is unreachable."""
    calls: int = 0
    comments: dict[int, str] = field(default_factory=dict)
    """The sticky comment of each pull request (marker checked)."""
    crowd: int = 0
    """When set, each call waits (at most ``CROWD_WAIT`` seconds) until this many calls
    are in flight: a bound on concurrency below it shows as a ``peak`` below it."""
    peak: int = 0
    """The most calls in flight at once."""
    in_flight: int = 0
    _lock: threading.Condition = field(default_factory=threading.Condition, repr=False)

    CROWD_WAIT = 0.25

    def _call(self) -> None:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self._lock.notify_all()
            self._lock.wait_for(lambda: self.in_flight >= self.crowd, timeout=self.CROWD_WAIT)
            self.in_flight -= 1
        if self.down:
            raise StackflowError("asking GitHub: connection refused; retry later")

    def pull_request_state(self, number: int) -> str:
        self._call()
        return self.prs[number]

    def pull_request_labels(self, number: int) -> list[str]:
        self._call()
        return list(self.labels.get(number, []))

    def branch_exists(self, branch: str) -> bool:
        self._call()
        return branch in self.branches

    def upsert_comment(self, pr: int, body: str, *, marker: str) -> int:
        self._call()
        assert body.startswith(marker)
        self.comments[pr] = body
        return pr


class CrashingStore(_Faults):
    """A real BlobStore that fails on demand (ops: get, put, delete, list)."""

    def __init__(self, inner: BlobStore) -> None:
        super().__init__()
        self.inner = inner

    def _run(self, op: str, effect: Any) -> Any:
        fault = self.take(op)
        if fault and not fault.after:
            fault.fire()
        result = effect()
        if fault and fault.after:
            fault.fire()
        return result

    def meanwhile(self, op: str, action: Callable[[], None], *, skip: int = 0) -> None:
        """Right after the ``skip``-th next call of ``op`` (0: the very next) takes effect,
        ``action`` runs: another job acting between two steps of the code under test."""
        with self._lock:
            self._queue.setdefault(op, []).append((skip, Injected(None, True, action)))

    def get(self, key: str) -> Blob | None:
        blob: Blob | None = self._run("get", lambda: self.inner.get(key))
        return blob

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        etag: str = self._run(
            "put",
            lambda: self.inner.put(key, data, if_match=if_match, if_none_match=if_none_match),
        )
        return etag

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        self._run("delete", lambda: self.inner.delete(key, if_match=if_match))

    def list(self, prefix: str = "") -> Iterator[str]:
        keys: Iterator[str] = self._run("list", lambda: self.inner.list(prefix))
        return keys

    def describe(self) -> str:
        return self.inner.describe()
