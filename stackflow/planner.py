"""Planning: which stacks, their head and base manifests, the diff, the policies -> Plan.

One call, :func:`plan_stacks`, does what ``stackflow plan`` promises:

* **Which stacks.** ``stack`` (in every selected project that has it), ``all_stacks``,
  or -- with neither -- the stacks the change since the base touches
  (:mod:`stackflow.affected`); with neither and no base, every stack.
* **Head** is the working tree, uncommitted changes included.
* **Base** is a commit (default: :func:`stackflow.adapters.gitrepo.default_base`), synthesized in a
  temporary worktree that is removed afterwards. A project or stack that does not exist
  at the base is planned against nothing: everything is created. Base manifests are
  cached (:mod:`stackflow.plan.cache`), so only the head is synthesized next time.
* Every synth is its own subprocess; up to ``os.cpu_count()`` run at once on a thread
  pool (threads only wait on the subprocesses).
* **Policies** run on each head manifest when a policy pack is present.

A stack whose program fails does not stop the others: its plan carries an ``error``
diagnostic, and the command exits 1 after printing everything.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from stackflow.adapters import gitrepo
from stackflow.affected import affected_stacks, inside, relative_dir
from stackflow.errors import StackflowError
from stackflow.graph import references
from stackflow.plan.cache import CacheKey, ManifestCache
from stackflow.plan.diff import diff_manifests
from stackflow.plan.manifest import Manifest
from stackflow.plan.model import (
    Diagnostic,
    FindingStatus,
    Level,
    Plan,
    PolicyFinding,
    Source,
    StackPlan,
)
from stackflow.plan.synth import SynthError, digest_key, interrupted, synth
from stackflow.project import (
    ENVIRONMENT_KEY,
    PROJECT_FILE,
    Project,
    find_projects,
    load_project,
)
from stackflow.repoconfig import RepoConfig, find_root

if TYPE_CHECKING:
    from git import Repo

POLICY_PACK_FILE = "PulumiPolicy.yaml"
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
"""The stack names Pulumi accepts."""


@dataclass(frozen=True, slots=True)
class Target:
    """One stack to plan."""

    project: Project
    stack: str
    rel_dir: str
    """The project's directory relative to the repository root (``.`` for the root)."""

    @property
    def label(self) -> str:
        return self.stack if self.rel_dir == "." else f"{self.rel_dir}:{self.stack}"


@dataclass(frozen=True, slots=True)
class _Outcome:
    manifest: Manifest | None
    error: str | None = None
    detail: str | None = None
    """The failed program's exception and own frames, when it was the program that failed."""


def select_targets(
    root: Path,
    config: RepoConfig,
    *,
    project_dir: Path | None,
    stack: str | None,
    all_stacks: bool,
    changed: Sequence[str] | None,
) -> list[Target]:
    """The stacks to plan (see the module docstring), sorted by directory and stack."""
    projects = (
        [load_project(project_dir)]
        if project_dir is not None
        else find_projects(root, config.projects)
    )
    for project in projects:
        if not project.dir.is_relative_to(root):
            raise StackflowError(
                f"choosing stacks: project {project.dir} is outside the repository {root}; "
                "run stackflow from the repository that holds it"
            )
    for project in projects:
        for name in project.stacks():
            if not STACK_NAME.fullmatch(name):
                raise StackflowError(
                    f"choosing stacks: {project.stack_config_file(name).name} names a stack "
                    f"Pulumi rejects ({name!r}); stack names are 1 to 100 of A-Z a-z 0-9 _ . -, "
                    "so rename the file"
                )
    if stack is not None:
        targets = [
            Target(p, stack, relative_dir(p.dir, root)) for p in projects if stack in p.stacks()
        ]
        if not targets:
            known = sorted({s for p in projects for s in p.stacks()})
            raise StackflowError(
                f"choosing stacks: no project has a stack {stack!r} (known: "
                f"{', '.join(known) or 'none'}); add Pulumi.{stack}.yaml or pick a known stack"
            )
        return targets
    if all_stacks or changed is None:
        return [Target(p, s, relative_dir(p.dir, root)) for p in projects for s in p.stacks()]
    by_dir = {relative_dir(p.dir, root): p for p in projects}
    return [
        Target(by_dir[a.dir], a.stack, a.dir)
        for a in affected_stacks(changed, projects, config)
        if a.dir in by_dir
    ]


def _policy_pack(config: RepoConfig, explicit: Path | None) -> Path | None:
    """The pack to evaluate: the one given (it must exist), else stackflow.yaml's
    ``policy_pack`` (it must exist when set: a typo or a deleted pack must not skip every
    policy in silence), else ``policies/`` when it holds a pack, else none."""
    if explicit is not None:
        if not (explicit / POLICY_PACK_FILE).is_file():
            raise StackflowError(
                f"loading the policy pack {explicit}: there is no {POLICY_PACK_FILE}; "
                "pass --policy-pack with a pack directory"
            )
        return explicit
    default = config.policy_pack_dir
    if (default / POLICY_PACK_FILE).is_file():
        return default
    if config.policy_pack_set:
        raise StackflowError(
            f"loading the policy pack {default}: there is no {POLICY_PACK_FILE} (stackflow.yaml "
            "sets policy_pack); restore the pack or fix policy_pack in stackflow.yaml"
        )
    return None


def _run(work: Callable[[], Manifest | None], *, scrub: Callable[[str], str]) -> _Outcome:
    try:
        return _Outcome(work())
    except SynthError as err:
        return _Outcome(None, scrub(err.message), scrub(err.detail) or None)
    except StackflowError as err:
        return _Outcome(None, scrub(err.message))


def _base_manifest(
    target: Target, tree: Path, *, key: bytes, scrub: Callable[[str], str]
) -> _Outcome:
    """The stack at the base tree, or no manifest when it did not exist there."""
    base_dir = tree / target.rel_dir
    if not (base_dir / PROJECT_FILE).is_file():
        return _Outcome(None)

    def work() -> Manifest | None:
        project = load_project(base_dir)
        if target.stack not in project.stacks():
            return None
        return synth(project, target.stack, repo_root=tree, digest_key=key)

    return _run(work, scrub=scrub)


@contextmanager
def _maybe_worktree(repo: Repo | None, sha: str | None, needed: bool) -> Iterator[Path | None]:
    if repo is None or sha is None or not needed:
        yield None
        return
    with gitrepo.worktree(repo, sha) as tree:
        yield tree


def plan_stacks(
    start: Path,
    *,
    project_dir: Path | None = None,
    stack: str | None = None,
    all_stacks: bool = False,
    base: str | None = None,
    no_base: bool = False,
    policy_pack: Path | None = None,
    policy_config: Path | None = None,
    use_cache: bool = True,
    progress: Callable[[str], None] | None = None,
    only: Collection[tuple[str, str]] | None = None,
    head: str | None = None,
) -> Plan:
    """The offline Plan of the chosen stacks of the repository holding ``start``.

    The head is the working tree, or the commit ``head`` names (checked out in a temporary
    worktree when it is not the clean working tree). ``progress`` is told, as each synth
    ends, which stack is done and how many are left. ``only``: of the chosen stacks, just
    these (project directory relative to the repository, stack), e.g. the stacks a deploy
    re-plans against one base.
    """
    if stack is not None and all_stacks:
        raise StackflowError("choosing stacks: --stack and --all exclude each other; pass one")
    if base is not None and no_base:
        raise StackflowError("choosing the base: --base and --no-base exclude each other")
    if head is not None:
        here = gitrepo.open_repo(start)
        head_sha = gitrepo.resolve(here, head)
        if head_sha != gitrepo.head_sha(here) or gitrepo.is_dirty(here):
            top = gitrepo.repo_root(here)
            # The base, when named, is resolved here (a relative name such as HEAD~1 means
            # the same commit it means to the user); by default, the head's merge-base.
            named = gitrepo.resolve(here, base) if base and not gitrepo.is_null(base) else base
            inside = (
                Path(project_dir).resolve().relative_to(top) if project_dir is not None else None
            )
            with gitrepo.worktree(here, head_sha) as checkout:
                return plan_stacks(
                    checkout,
                    project_dir=checkout / inside if inside is not None else None,
                    stack=stack,
                    all_stacks=all_stacks,
                    base=named,
                    no_base=no_base,
                    policy_pack=policy_pack,
                    policy_config=policy_config,
                    use_cache=use_cache,
                    progress=progress,
                    only=only,
                )
    repo: Repo | None = None
    if no_base:
        try:
            repo = gitrepo.open_repo(start)
        except StackflowError:
            repo = None
    else:
        repo = gitrepo.open_repo(start)
    root = gitrepo.repo_root(repo) if repo is not None else find_root(start)
    config = RepoConfig.load(root)
    base_sha = None
    if base is not None and gitrepo.is_null(base):
        no_base = True  # GitHub's `before` of a first push: every stack, against nothing
    if not no_base and repo is not None:
        base_sha = gitrepo.resolve(repo, base) if base else gitrepo.default_base(repo)
    head_rev = None
    if repo is not None and repo.head.is_valid() and not gitrepo.is_dirty(repo):
        head_rev = gitrepo.head_sha(repo)
    changed = gitrepo.changed_paths(repo, base_sha) if repo and base_sha else None
    targets = select_targets(
        root,
        config,
        project_dir=project_dir,
        stack=stack,
        all_stacks=all_stacks,
        changed=changed,
    )
    if only is not None:
        targets = [t for t in targets if (t.rel_dir, t.stack) in only]
    pack = _policy_pack(config, policy_pack)
    key = digest_key(root)
    cache = ManifestCache.for_repo(root, key=key) if use_cache else None

    cached: dict[int, Manifest] = {}
    if base_sha is not None and cache is not None:
        for i, target in enumerate(targets):
            hit = cache.get(CacheKey(base_sha, target.rel_dir, target.stack, key))
            if hit is not None:
                cached[i] = hit
    # A change to the pack itself needs the base's pack: its findings at the base are what
    # the new rules are compared with, so the base tree is checked out even when cached.
    pack_changed = pack is not None and changed is not None and _inside_any(changed, pack, root)
    removed = (
        [
            Target(project, name, relative_dir(project.dir, root))
            for project, name in _removed_stacks(root, config, changed, project_dir)
        ]
        if stack is None and changed
        else []
    )
    need_tree = base_sha is not None and (
        len(cached) < len(targets) or pack_changed or bool(removed)
    )

    workers = max(1, min(os.cpu_count() or 1, 2 * len(targets)))
    pool = ThreadPoolExecutor(max_workers=workers)
    with _maybe_worktree(repo, base_sha, need_tree) as tree:
        try:

            def scrub(message: str) -> str:
                if tree is not None and base_sha is not None:
                    message = message.replace(str(tree), f"<base {base_sha[:12]}>")
                return message

            heads: list[Future[_Outcome]] = []
            bases: dict[int, Future[_Outcome]] = {}
            for i, target in enumerate(targets):
                heads.append(
                    pool.submit(
                        _run,
                        partial(
                            synth, target.project, target.stack, repo_root=root, digest_key=key
                        ),
                        scrub=scrub,
                    )
                )
                if tree is not None and i not in cached:
                    bases[i] = pool.submit(_base_manifest, target, tree, key=key, scrub=scrub)
            # What a deleted stack file leaves deployed: its program at the base (unknown
            # without a base tree).
            left_futures = [
                pool.submit(_base_manifest, target, tree, key=key, scrub=scrub)
                if tree is not None
                else None
                for target in removed
            ]
            if progress is not None:
                _report_progress(progress, targets, heads, bases)
            head_outcomes = [f.result() for f in heads]
            left = [f.result() if f is not None else None for f in left_futures]
            base_outcomes = {i: f.result() for i, f in bases.items()}
            base_findings: dict[int, list[PolicyFinding] | None] = {}
            if pack is not None and not config.policy_block_existing:
                base_pack = pack
                if pack_changed and tree is not None and pack.is_relative_to(root):
                    base_pack = tree / pack.relative_to(root)
                for i in range(len(targets)):
                    manifest = (
                        cached[i] if i in cached else base_outcomes.get(i, _Outcome(None)).manifest
                    )
                    if manifest is not None:
                        # The same kind the head is checked with (a stack without one is
                        # checked by its name's config), so the delta compares like with like.
                        kind, _ = _environment(
                            targets[i], manifest, base_pack, policy_config, config.promotion
                        )
                        base_findings[i] = _base_findings(
                            manifest, base_pack, policy_config, environment=kind
                        )
        except BaseException:
            # Ctrl-C (or an error): start nothing queued, end the programs running, and
            # only then leave the worktree, so it is removed with nothing using it.
            pool.shutdown(wait=False, cancel_futures=True)
            with interrupted():
                pool.shutdown(wait=True)
            raise
        pool.shutdown(wait=True)
    if cache is not None and base_sha is not None:
        for i, outcome in base_outcomes.items():
            if outcome.manifest is not None:
                target = targets[i]
                cache.put(CacheKey(base_sha, target.rel_dir, target.stack, key), outcome.manifest)

    stacks = []
    for i, target in enumerate(targets):
        base_outcome = _Outcome(cached[i]) if i in cached else base_outcomes.get(i, _Outcome(None))
        planned = _stack_plan(
            target,
            head_outcomes[i],
            base_outcome,
            base_sha=base_sha,
            head_rev=head_rev,
            pack=pack,
            policy_config=policy_config,
            base_findings=base_findings.get(i),
            new_stack=i not in cached and base_outcome.manifest is None,
            promotion=config.promotion,
        )
        new = base_sha is not None and base_outcome.manifest is None and not base_outcome.error
        stacks.append(replace(planned, labels=_labels(config, target.stack, new=new)))
    stacks.extend(
        StackPlan.build(
            project=target.project.name,
            stack=target.stack,
            source=Source.OFFLINE,
            base=base_sha,
            head=head_rev,
            labels=("removed", *_labels(config, target.stack, new=False)),
            diagnostics=(_left_deployed(outcome),),
        )
        for target, outcome in zip(removed, left, strict=True)
    )
    stacks = [p if "removed" in p.labels else _unpromoted_note(p, config) for p in stacks]
    return Plan(stacks=tuple(sorted(stacks, key=lambda s: (s.project, s.stack))))


def _left_deployed(base: _Outcome | None) -> Diagnostic:
    """What a removed stack leaves deployed, as its program at the base declares it."""
    if base is None or base.manifest is None:
        why = (
            f": its program at the base fails offline ({base.error})" if base and base.error else ""
        )
        return Diagnostic("warning", f"what it leaves deployed is not known{why}")
    kinds = Counter(
        r.type
        for r in base.manifest.resources
        if r.custom and not r.read and not r.type.startswith("pulumi:providers:")
    )
    if not kinds:
        return Diagnostic("info", "its program at the base declares no cloud resources")
    listed = ", ".join(f"{n} {t}" for t, n in sorted(kinds.items(), key=lambda k: (-k[1], k[0])))
    total = sum(kinds.values())
    return Diagnostic(
        "info",
        f"it leaves {total} cloud resource{'s' if total != 1 else ''} deployed (its program "
        f"at the base declares {listed}); nothing destroys them",
    )


def _unpromoted_note(plan: StackPlan, config: RepoConfig) -> StackPlan:
    """The deploy workflow deploys promotion stages only: say so on any other stack."""
    if plan.stack.casefold() in {s.casefold() for s in config.promotion}:
        return plan
    note = Diagnostic(
        "info",
        f"not deployed on merge: {plan.stack} is not in stackflow.yaml's promotion "
        f"({', '.join(config.promotion)}); deploy it with `stackflow up --stack {plan.stack}`, "
        "or add it to promotion and run `stackflow workflows`",
    )
    return replace(plan, diagnostics=(*plan.diagnostics, note))


def _report_progress(
    progress: Callable[[str], None],
    targets: Sequence[Target],
    heads: Sequence[Future[_Outcome]],
    bases: dict[int, Future[_Outcome]],
) -> None:
    labels = {id(f): f"{t.label} (head)" for t, f in zip(targets, heads, strict=True)}
    labels.update({id(f): f"{targets[i].label} (base)" for i, f in bases.items()})
    futures = [*heads, *bases.values()]
    for done, future in enumerate(as_completed(futures), start=1):
        progress(f"synthesized {labels[id(future)]}: {done}/{len(futures)}")


def _labels(config: RepoConfig, stack: str, *, new: bool) -> tuple[str, ...]:
    labels = ["new"] if new else []
    if stack.casefold() not in {s.casefold() for s in config.promotion}:
        labels.append("not-in-promotion")
    return tuple(labels)


def _removed_stacks(
    root: Path, config: RepoConfig, changed: Sequence[str], project_dir: Path | None
) -> list[tuple[Project, str]]:
    """(project, stack) of every stack whose ``Pulumi.<stack>.yaml`` the change deletes."""
    projects = (
        [load_project(project_dir)]
        if project_dir is not None
        else find_projects(root, config.projects)
    )
    removed = []
    for project in projects:
        for path in changed:
            file = root / path
            if (
                file.parent.resolve() == project.stack_config_dir.resolve()
                and file.name.startswith("Pulumi.")
                and file.name.endswith(".yaml")
                and file.name != "Pulumi.yaml"
                and not file.exists()
            ):
                removed.append((project, file.name[len("Pulumi.") : -len(".yaml")]))
    return sorted(removed, key=lambda pair: (pair[0].name, pair[1]))


def _stack_plan(
    target: Target,
    head: _Outcome,
    base: _Outcome,
    *,
    base_sha: str | None,
    head_rev: str | None,
    pack: Path | None,
    policy_config: Path | None,
    base_findings: list[PolicyFinding] | None = None,
    new_stack: bool = False,
    promotion: tuple[str, ...] = (),
) -> StackPlan:
    errors: list[Diagnostic] = []
    if head.error is not None:
        errors.append(Diagnostic("error", head.error, detail=head.detail))
    if base.error is not None:
        message = (
            f"the base revision {base_sha}: {base.error} (plan against another base with "
            "--base REV, or against nothing with --no-base)"
        )
        errors.append(Diagnostic("error", message, detail=base.detail))
    if head.manifest is None or errors:
        return StackPlan.build(
            project=target.project.name,
            stack=target.stack,
            source=Source.OFFLINE,
            diagnostics=tuple(errors),
            base=base_sha,
            head=head_rev,
        )
    plan = diff_manifests(base.manifest, head.manifest, base_rev=base_sha, head_rev=head_rev)
    plan = replace(plan, reads=references(head.manifest))
    if pack is None:
        return plan
    from stackflow.policy import evaluate

    environment, note = _environment(target, head.manifest, pack, policy_config, promotion)
    if note is not None:
        plan = replace(plan, diagnostics=(*plan.diagnostics, note))
    try:
        findings = evaluate(
            head.manifest,
            pack_dir=pack,
            environment=environment,
            config_file=policy_config,
        )
    except StackflowError as err:
        return replace(plan, diagnostics=(*plan.diagnostics, Diagnostic("error", err.message)))
    if base_findings is None and new_stack and base_sha is not None:
        base_findings = []  # the stack is new: everything it brings is new
    if base_findings is not None:
        findings = policy_delta(findings, base_findings)
    return plan.with_policy(findings)


def _finding_key(finding: PolicyFinding) -> tuple[str, str | None, Level]:
    return (finding.policy, finding.urn, finding.level)


def policy_delta(head: list[PolicyFinding], base: list[PolicyFinding]) -> list[PolicyFinding]:
    """Head findings labelled new or existing against the base's, and the base's findings
    that are gone labelled fixed. A finding is the same when its policy, resource and level
    are (its message may mention values the change moved); a rule made stricter, advisory
    to mandatory, brings new mandatory findings."""
    at_base = {_finding_key(f) for f in base}
    at_head = {_finding_key(f) for f in head}
    labelled = [
        replace(
            f, status=FindingStatus.EXISTING if _finding_key(f) in at_base else FindingStatus.NEW
        )
        for f in head
    ]
    fixed = [replace(f, status=FindingStatus.FIXED) for f in base if _finding_key(f) not in at_head]
    return labelled + fixed


def _base_findings(
    manifest: Manifest, pack: Path, policy_config: Path | None, *, environment: str | None
) -> list[PolicyFinding] | None:
    """The base's findings, or None when they cannot be had (then nothing is labelled,
    and every mandatory finding blocks: never more lenient than without a base)."""
    from stackflow.policy import evaluate

    if not (pack / POLICY_PACK_FILE).is_file():
        return []  # the base had no pack: every finding is new
    try:
        return evaluate(manifest, pack_dir=pack, environment=environment, config_file=policy_config)
    except StackflowError:
        return None


def _inside_any(paths: Sequence[str], directory: Path, root: Path) -> bool:
    if not directory.resolve().is_relative_to(root):
        return False
    prefix = relative_dir(directory, root)
    return any(inside(p, prefix) is not None for p in paths)


def _environment(
    target: Target,
    manifest: Manifest,
    pack: Path,
    policy_config: Path | None,
    promotion: tuple[str, ...],
) -> tuple[str | None, Diagnostic | None]:
    """The environment kind whose policy config checks the stack, and a note for the
    reviewer when the stack sets none (``stackflow:environment``): a stack named like a
    kind with a config (``prod``) is checked with that config, said so; any other is
    checked at the pack's defaults, said so too -- never in silence."""
    if manifest.environment is not None or policy_config is not None:
        return manifest.environment, None
    from stackflow.policy import environment_kinds

    if target.stack in environment_kinds(pack):
        return target.stack, Diagnostic(
            "warning",
            f"stack {target.stack} sets no `{ENVIRONMENT_KEY}`; its policies were checked "
            f"with the `{target.stack}` config because of its name; set the kind in "
            f"{target.project.stack_config_file(target.stack).name}",
        )
    stage = (
        f" (it is named like the promotion stage {target.stack}, which has no policy config)"
        if target.stack in promotion
        else ""
    )
    return None, Diagnostic(
        "warning",
        f"stack {target.stack} sets no `{ENVIRONMENT_KEY}`; its policies were checked at the "
        f"pack's lenient defaults{stage}; set the kind in "
        f"{target.project.stack_config_file(target.stack).name}",
    )
