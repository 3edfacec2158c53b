"""Merge-to-deploy: bring each stack from the commit it runs to the merged commit, in
promotion order.

**Reconcile from what was deployed.** For every candidate stack the deploy reads the last
commit successfully deployed to it from the deployment log and diffs *that* against the
commit being deployed (:func:`decide`), not the push's ``before..after``: a run that was
skipped, cancelled or failed leaves the log where it was, so the next deploy picks its
changes up. A commit that is not a descendant of the stack's deployed commit is skipped
as superseded (an older merge whose run started late), and says so. A stack never
deployed through stackflow falls back to ``--base`` (every stack when there is none).

**One deploy per stack, in commit order.** Each stack is deployed under a
:class:`~stackflow.gitops.deploylog.StackLock` in the records store, and the decision is taken
again once the lock is held: a newer commit that got there first turns this one into a
superseded skip, so an older commit is never deployed over a newer one.

**Defense in depth.** Before any ``up``, every stack to deploy is planned again offline
from the merged commit, with the policy pack (``replan``); a stage whose plan is blocked
(a mandatory violation or a plan error) is stopped with the stages after it. Right before
its ``up`` each stack is previewed by the engine with the pack, and a blocked preview
stops the stage too: a program that behaves differently offline is caught there.

**Every run in the log.** A record is written ``started`` before ``up`` and completed
after: ``succeeded``, ``failed``, or ``cancelled`` when SIGINT/SIGTERM arrive (GitHub
cancelling the run); see :func:`cancellable`.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from stackflow.affected import AffectedStack
from stackflow.clock import utc_iso, utc_now
from stackflow.engine.api import Engine
from stackflow.engine.automation import make_target
from stackflow.errors import StackflowError
from stackflow.gitops.deploylog import DeploymentLog, DeployRecord, StackLock
from stackflow.graph import StackGraph
from stackflow.impact import stack_impact
from stackflow.plan.model import StackPlan
from stackflow.plan.reports import DeployReport, DeployStatus, StackDeployment
from stackflow.repoconfig import RepoConfig

NO_COMMIT = "0" * 40
"""What GitHub puts in ``before`` on a branch's first push."""

DEFAULT_WORKERS = 4
"""Stacks of one stage deployed at once when the stack graph allows it."""


class Cancelled(KeyboardInterrupt):
    """SIGTERM arrived: the run is being cancelled (GitHub sends SIGINT, then SIGTERM)."""


@contextmanager
def cancellable() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Cancelled` (SIGINT already raises
    KeyboardInterrupt), so a cancelled deploy still completes its record and releases its
    lock. Only the main thread can install handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def cancel(signum: int, frame: FrameType | None) -> None:
        raise Cancelled(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, cancel)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def promotion_order(
    stacks: Sequence[AffectedStack], promotion: Sequence[str]
) -> list[AffectedStack]:
    """``stacks`` by their stage in ``promotion`` (case-insensitive); unlisted stacks last,
    each group in (directory, stack) order."""
    rank = {name.casefold(): i for i, name in enumerate(promotion)}
    return sorted(stacks, key=lambda s: (rank.get(s.stack.casefold(), len(rank)), s.dir, s.stack))


@dataclass(frozen=True, slots=True)
class StackOutcome:
    project: str
    stack: str
    dir: str
    status: DeployStatus
    plan: StackPlan | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    """Secrets are markers, never plaintext."""
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_seconds: float | None = None
    error: StackflowError | None = field(default=None, compare=False)
    """Why a FAILED stack failed, with its exit code (e.g. 2 for a mandatory policy)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "dir": self.dir,
            "status": self.status.value,
            "message": self.message,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_seconds": self.duration_seconds,
            "counts": dict(self.plan.counts) if self.plan else {},
            "outputs": self.outputs,
        }


@dataclass(frozen=True, slots=True)
class DeployResult:
    outcomes: tuple[StackOutcome, ...]
    commit: str
    pull_request: int | None = None

    @property
    def ok(self) -> bool:
        return all(o.status is not DeployStatus.FAILED for o in self.outcomes)

    def to_report(self, *, run_url: str | None = None) -> DeployReport:
        """The shape :func:`stackflow.render.markdown.render_deploy` comments with."""
        return DeployReport(
            stacks=tuple(
                StackDeployment(
                    project=o.project,
                    stack=o.stack,
                    status=o.status,
                    counts=dict(o.plan.counts) if o.plan else {},
                    duration_seconds=o.duration_seconds,
                    message=o.message,
                )
                for o in self.outcomes
            ),
            head=self.commit,
            run_url=run_url,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "pull_request": self.pull_request,
            "ok": self.ok,
            "stacks": [o.to_dict() for o in self.outcomes],
        }


def _record(
    item: AffectedStack,
    commit: str,
    actor: str,
    pull_request: int | None,
    started: datetime,
    finished: datetime | None,
    result: str,
    message: str | None,
    plan: StackPlan | None = None,
) -> DeployRecord:
    return DeployRecord(
        project=item.project,
        stack=item.stack,
        commit=commit,
        result=result,
        started_at=utc_iso(started),
        finished_at=utc_iso(finished) if finished is not None else None,
        actor=actor,
        pull_request=pull_request,
        message=message,
        counts=dict(plan.counts) if plan else {},
    )


def deploy_stack(
    engine: Engine,
    repo: RepoConfig,
    item: AffectedStack,
    *,
    log: DeploymentLog,
    commit: str,
    actor: str,
    pull_request: int | None = None,
    clock: Callable[[], datetime] = utc_now,
    preview_first: bool = False,
) -> StackOutcome:
    """``up`` one stack, logged ``started`` before and completed after, whatever happens
    (a cancellation is logged ``cancelled`` and re-raised). ``stackflow deploy`` runs this
    per stack, and so does ``stackflow up``, so every engine change lands in the log.
    ``preview_first``: preview with the engine (and the policy pack) first, and stop
    before ``up`` when that preview is blocked."""
    started, tick = clock(), time.monotonic()
    handle = log.start(_record(item, commit, actor, pull_request, started, None, "started", None))

    def finish(result: str, message: str | None, plan: StackPlan | None = None) -> DeployRecord:
        record = _record(item, commit, actor, pull_request, started, clock(), result, message, plan)
        log.finish(handle, record)
        return record

    plan: StackPlan | None = None
    outputs: dict[str, Any] = {}
    message: str | None = None
    error: StackflowError | None = None
    target = make_target(repo, repo.root / item.dir, item.stack)
    try:
        if preview_first:
            preview = engine.preview(target)
            if blocked(preview):
                raise StackflowError(
                    f"deploying {item.project}/{item.stack}: the engine's preview of "
                    f"{commit[:12]} is blocked ({why_blocked(preview)}); nothing was deployed",
                    exit_code=_exit_code(preview),
                )
        result = engine.up(target)
        plan, outputs = result.plan, result.outputs
        status = DeployStatus.SUCCEEDED
    except StackflowError as err:
        status, message, error = DeployStatus.FAILED, err.message, err
    except KeyboardInterrupt:
        finish("cancelled", "the run was cancelled (SIGINT/SIGTERM) while deploying")
        raise
    except Exception as err:
        # A bug, not a user error: keep the traceback, but the audit trail still
        # records that this stack's deploy started and did not succeed.
        finish("failed", repr(err))
        raise
    record = finish(status.value, message, plan)
    return StackOutcome(
        item.project,
        item.stack,
        item.dir,
        status,
        plan=plan,
        outputs=outputs,
        message=message,
        started_at=record.started_at,
        finished_at=record.finished_at,
        duration_seconds=round(time.monotonic() - tick, 3),
        error=error,
    )


def blocked(plan: StackPlan) -> bool:
    """A plan that must stop a deploy: a mandatory policy violation or a plan error."""
    return plan.has_mandatory_violations or plan.has_errors


def why_blocked(plan: StackPlan) -> str:
    if plan.has_mandatory_violations:
        return "a mandatory policy is violated"
    return "the plan has errors"


def _exit_code(plan: StackPlan) -> Any:
    from stackflow.errors import ExitCode

    return ExitCode.POLICY_VIOLATION if plan.has_mandatory_violations else ExitCode.ERROR


class Verdict(StrEnum):
    DEPLOY = "deploy"
    CURRENT = "current"
    """Nothing it runs on changed since its deployed commit."""
    SUPERSEDED = "superseded"
    """Its deployed commit is newer than (or unrelated to) the one being deployed."""


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    since: str | None
    """The commit the stack runs (from the log), or the fallback base; None: nothing."""
    reason: str
    deployed: bool
    """``since`` is the commit the log says the stack runs (not a fallback)."""


class History(Protocol):
    """What :func:`decide` asks of git (:class:`GitHistory` over a clone)."""

    def is_ancestor(self, older: str, newer: str) -> bool: ...

    def affected(self, base: str | None, head: str) -> frozenset[AffectedStack]:
        """Stacks touched between ``base`` and ``head`` (None: every stack)."""
        ...


def decide(
    item: AffectedStack, head: str, log: DeploymentLog, history: History, base: str | None
) -> Decision:
    """Whether ``head`` must be deployed to the stack, from what the log says it runs."""
    last = log.last_succeeded(item.project, item.stack)
    since: str | None
    if last is not None:
        since, origin = last.commit, f"deployed commit {last.commit[:12]}"
        if since == head:
            return Decision(Verdict.CURRENT, since, f"{head[:12]} is already deployed", True)
        if not history.is_ancestor(since, head):
            return Decision(
                Verdict.SUPERSEDED,
                since,
                f"superseded: it runs {since[:12]}, which {head[:12]} does not descend "
                "from (a newer merge was deployed first); not deployed",
                True,
            )
    else:
        since = None if base in (None, NO_COMMIT) else base
        origin = f"base {since[:12]}" if since else "no earlier deploy"
    known = last is not None
    if item in history.affected(since, head):
        return Decision(Verdict.DEPLOY, since, f"changed since {origin}", known)
    return Decision(Verdict.CURRENT, since, f"nothing it runs changed since {origin}", known)


class GitHistory:
    """:class:`History` over the repository's clone (full history needed)."""

    def __init__(self, root: Path) -> None:
        from stackflow.adapters import gitrepo
        from stackflow.project import find_projects

        self.git = gitrepo.open_repo(root)
        self.root = gitrepo.repo_root(self.git)
        self.config = RepoConfig.load(self.root)
        self.projects = find_projects(self.root, self.config.projects)
        self._cache: dict[str | None, frozenset[AffectedStack]] = {}

    def every(self) -> tuple[AffectedStack, ...]:
        """Every long-lived stack of the working tree (one with a stack file)."""
        from stackflow.affected import affected_stacks

        return affected_stacks(["stackflow.yaml"], self.projects, self.config)

    def is_ancestor(self, older: str, newer: str) -> bool:
        from git import GitCommandError

        try:
            self.git.git.merge_base("--is-ancestor", older, newer)
        except GitCommandError as err:
            if err.status == 1:
                return False
            raise StackflowError(
                f"comparing commits {older[:12]} and {newer[:12]}: {err.stderr.strip()}; "
                "deploy from a clone with full history (actions/checkout fetch-depth: 0)"
            ) from err
        return True

    def affected(self, base: str | None, head: str) -> frozenset[AffectedStack]:
        """By impact: every stack when a path changed since ``base`` could change a
        program (the :func:`~stackflow.impact.could_matter` pre-filter), none otherwise;
        :func:`deploy`'s offline re-plan then skips the stacks whose plan is empty. Path
        rules would miss a second project importing shared code, and a stack reading a
        changed stack's outputs."""
        if base not in self._cache:
            from stackflow.adapters import gitrepo
            from stackflow.affected import DEFAULT_NOT_PROGRAM
            from stackflow.impact import could_matter

            found: tuple[AffectedStack, ...] = ()
            if base is None:
                found = self.every()
            else:
                changed = gitrepo.changed_paths(self.git, gitrepo.resolve(self.git, base), head)
                if any(
                    could_matter(p, self.projects, self.root, DEFAULT_NOT_PROGRAM) for p in changed
                ):
                    found = self.every()
            self._cache[base] = frozenset(found)
        return self._cache[base]


Replan = Callable[
    [Sequence[AffectedStack], Mapping[AffectedStack, str | None]], Mapping[AffectedStack, StackPlan]
]
"""Plans the stacks (offline, from the merged commit), each against its ``since``."""


def deploy(
    engine: Engine,
    repo: RepoConfig,
    stacks: Sequence[AffectedStack],
    *,
    log: DeploymentLog,
    history: History,
    commit: str,
    actor: str,
    base: str | None = None,
    pull_request: int | None = None,
    clock: Callable[[], datetime] = utc_now,
    on_stack: Callable[[AffectedStack], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
    replan: Replan | None = None,
    lock: Callable[[AffectedStack], StackLock] | None = None,
    preview_first: bool = True,
    graph: Callable[[Sequence[AffectedStack]], StackGraph] | None = None,
    workers: int = DEFAULT_WORKERS,
) -> DeployResult:
    """Bring ``stacks`` (the candidates) to ``commit`` in promotion order: each one the
    log says is behind and whose re-plan is not empty, under its lock (see the module
    docstring). Within a stage, stacks run in the order of the stack ``graph`` (the stacks
    a stack reads first; up to ``workers`` independent ones at once); a failed stack skips
    the stacks of its stage that read it, and the stages after it. A cycle among the
    stacks to deploy is refused before anything runs."""
    ordered = promotion_order(stacks, repo.promotion)
    first = {i: decide(i, commit, log, history, base) for i in ordered}
    todo = [i for i in ordered if first[i].verdict is Verdict.DEPLOY]
    plans = replan(todo, {i: first[i].since for i in todo}) if replan and todo else {}
    # An empty re-plan skips a stack only against the commit it is known to run: a stack
    # never deployed through stackflow is deployed (its state is not known to be the base).
    unchanged = {
        i
        for i, p in plans.items()
        if first[i].deployed and not blocked(p) and stack_impact(p, policy_changed=False) is None
    }
    running = [i for i in todo if i not in unchanged]
    reads = graph(running).reads if graph is not None and running else {}
    stages: dict[str, list[AffectedStack]] = {}
    for item in ordered:
        stages.setdefault(_stage(item, repo.promotion), []).append(item)
    order = StackGraph(reads=reads)
    waves = {name: order.order(_key(i) for i in items) for name, items in stages.items()}
    by_key = {_key(i): i for i in ordered}
    stop: str | None = None
    outcomes: list[StackOutcome] = []

    def run(item: AffectedStack) -> StackOutcome | None:
        held = lock(item) if lock is not None else None
        if held is not None:
            held.acquire(on_wait)
        try:
            decision = decide(item, commit, log, history, base) if held else first[item]
            if decision.verdict is Verdict.SUPERSEDED:
                now = clock()
                log.append(
                    _record(
                        item, commit, actor, pull_request, now, now, "superseded", decision.reason
                    )
                )
                return _outcome(item, DeployStatus.SKIPPED, decision.reason)
            if decision.verdict is Verdict.CURRENT:
                if first[item].verdict is Verdict.DEPLOY:
                    return _outcome(item, DeployStatus.SKIPPED, decision.reason)
                return None
            if on_stack is not None:
                on_stack(item)
            return deploy_stack(
                engine,
                repo,
                item,
                log=log,
                commit=commit,
                actor=actor,
                pull_request=pull_request,
                clock=clock,
                preview_first=preview_first,
            )
        finally:
            if held is not None:
                held.release()

    for name, items in stages.items():
        if stop is None and any(blocked(p) for i, p in plans.items() if i in items):
            stop = f"not run: the re-plan of stage {name!r} is blocked"
        if stop is not None:
            for item in items:
                plan = plans.get(item)
                if plan is not None and blocked(plan):
                    message = (
                        f"blocked at merge: {why_blocked(plan)} in the re-plan of {commit[:12]}"
                    )
                    outcomes.append(
                        _outcome(item, DeployStatus.FAILED, message, plan, _exit_code(plan))
                    )
                elif first[item].verdict is Verdict.DEPLOY:
                    outcomes.append(_outcome(item, DeployStatus.SKIPPED, stop))
            continue
        # failed: failed, or not run as a stack they read is in failed (they skip their
        # readers); broke: failed (what the stages after this one are told).
        failed: set[str] = set()
        broke: list[str] = []
        for wave in waves[name]:
            ready = []
            for key in wave:
                item = by_key[key]
                if item in unchanged:
                    since = first[item].since
                    origin = f"since {since[:12]}" if since else "against nothing"
                    message = f"unchanged: its offline plan {origin} is empty; not deployed"
                    outcomes.append(_outcome(item, DeployStatus.SKIPPED, message, plans[item]))
                    continue
                broken = [d for d in reads.get(key, ()) if d in failed]
                if broken:
                    failed.add(key)
                    message = f"not run: it reads {broken[0]}, which failed or was not run"
                    outcomes.append(_outcome(item, DeployStatus.SKIPPED, message))
                    continue
                ready.append(item)
            for outcome in _run_wave(run, ready, workers):
                if outcome is None:
                    continue
                outcomes.append(outcome)
                if outcome.status is DeployStatus.FAILED:
                    failed.add(f"{outcome.project}/{outcome.stack}")
                    broke.append(f"{outcome.project}/{outcome.stack}")
        if broke:
            stop = f"not run: {', '.join(sorted(broke))} failed"
    return DeployResult(outcomes=tuple(outcomes), commit=commit, pull_request=pull_request)


def _key(item: AffectedStack) -> str:
    return f"{item.project}/{item.stack}"


def _run_wave(
    run: Callable[[AffectedStack], StackOutcome | None],
    items: Sequence[AffectedStack],
    workers: int,
) -> list[StackOutcome | None]:
    """``run`` over independent stacks, up to ``workers`` at once, results in ``items``'
    order. One stack runs on this thread (so SIGINT reaches it as before); with several, a
    cancellation (or a bug) waits for the running ones to finish their records, starts
    none of the others, then propagates."""
    if len(items) <= 1 or workers <= 1:
        return [run(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        try:
            futures = [pool.submit(run, i) for i in items]
            return [f.result() for f in futures]
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def _stage(item: AffectedStack, promotion: Sequence[str]) -> str:
    names = {name.casefold(): name for name in promotion}
    return names.get(item.stack.casefold(), item.stack)


def _outcome(
    item: AffectedStack,
    status: DeployStatus,
    message: str,
    plan: StackPlan | None = None,
    exit_code: Any = None,
) -> StackOutcome:
    error = StackflowError(message, exit_code=exit_code) if exit_code is not None else None
    return StackOutcome(
        item.project, item.stack, item.dir, status, plan=plan, message=message, error=error
    )


def replan_offline(
    repo: RepoConfig,
    todo: Sequence[AffectedStack],
    since: Mapping[AffectedStack, str | None],
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[AffectedStack, StackPlan]:
    """The offline plan (with the policy pack) of each stack about to be deployed, from
    the checked-out merged commit against the commit it runs (a :data:`Replan`). A stack
    reading another stack of the repository is planned against that stack's outputs at
    the merged commit (its synth resolves the reference by synthesizing it)."""
    from stackflow.planner import plan_stacks

    groups: dict[str | None, list[AffectedStack]] = {}
    for item in todo:
        groups.setdefault(since.get(item), []).append(item)
    plans: dict[AffectedStack, StackPlan] = {}
    for base, items in groups.items():
        if progress is not None:
            names = ", ".join(f"{i.project}/{i.stack}" for i in items)
            origin = f"since {base[:12]}" if base else "against nothing"
            progress(f"re-planning offline {origin}: {names} ...")
        plan = plan_stacks(
            repo.root,
            all_stacks=True,
            base=base,
            no_base=base is None,
            only={(i.dir, i.stack) for i in items},
        )
        by_key = {(i.project, i.stack): i for i in items}
        for stack_plan in plan.stacks:
            found = by_key.get((stack_plan.project, stack_plan.stack))
            if found is not None:
                plans[found] = stack_plan
    return plans
