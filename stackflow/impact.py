"""Which stacks a change affects, decided by impact: the stacks whose plan is not empty.

Path rules (:mod:`stackflow.affected`) guess: a comment-only edit to a shared component
marks every stack of its project, and a real change to it does not reach a second project
that imports it from elsewhere in the repository. A synth costs seconds and needs nothing,
so :func:`impact_between` asks the programs instead:

1. A fast pre-filter: when every changed path is one that cannot change a program (the
   not-program globs: docs, tests, Markdown, ...; stackflow's own workspace), no stack is
   affected and nothing is synthesized.
2. Otherwise every stack of every project is planned offline, base against head (base
   manifests come from the cache when they are there), and a stack is affected when its
   plan has a resource or output change, when it cannot be synthesized (it is listed, with
   the reason, because nobody can tell what it would do), or when the policy pack changed
   and the stack has findings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stackflow.adapters import gitrepo
from stackflow.affected import (
    DEFAULT_NOT_PROGRAM,
    WORKSPACE,
    AffectedStack,
    affected_between,
    glob_match,
    inside,
    relative_dir,
)
from stackflow.plan.model import Op, Plan, Source, StackPlan
from stackflow.project import Project, find_projects
from stackflow.repoconfig import RepoConfig


@dataclass(frozen=True, slots=True)
class Impact:
    """An affected stack and the first thing that makes it so (for ``--explain``)."""

    stack: AffectedStack
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.stack.to_dict(), "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ImpactResult:
    affected: tuple[Impact, ...]
    unchanged: tuple[AffectedStack, ...]
    """Stacks that were checked (synthesized at base and head) and found unchanged."""
    prefiltered: bool = False
    """True when no path could change a program, so nothing was synthesized."""
    plans: tuple[StackPlan, ...] = ()
    """The offline plan of every stack that was synthesized (none when prefiltered)."""

    def checked(self) -> Plan:
        """The unchanged stacks as a Plan for the PR comment: each one's (empty) plan
        labelled ``unchanged``, with the stacks it reads (:attr:`StackPlan.reads`)."""
        planned = {(p.project, p.stack): p for p in self.plans}
        stacks = []
        for item in self.unchanged:
            found = planned.get((item.project, item.stack))
            plan = found or StackPlan.build(
                project=item.project, stack=item.stack, source=Source.OFFLINE
            )
            stacks.append(replace(plan, labels=("unchanged",)))
        return Plan(stacks=tuple(sorted(stacks, key=lambda p: p.key)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "affected": [i.to_dict() for i in self.affected],
            "unchanged": [s.to_dict() for s in self.unchanged],
            "prefiltered": self.prefiltered,
        }


def could_matter(
    path: str, projects: Sequence[Project], root: Path, not_program: Sequence[str]
) -> bool:
    """Whether a changed path could change some stack's plan."""
    if path == WORKSPACE or path.startswith(f"{WORKSPACE}/"):
        return False
    if glob_match(path, not_program):
        return False
    for project in sorted(projects, key=lambda p: -len(p.dir.parts)):
        try:
            inner = inside(path, relative_dir(project.dir, root))
        except ValueError:
            continue  # a project outside this repository
        if inner is not None:
            return not glob_match(inner, not_program)
    return True


def stack_impact(plan: StackPlan, *, policy_changed: bool) -> str | None:
    """Why this stack's plan is not empty, or None when it is."""
    errors = [d.message for d in plan.diagnostics if d.severity == "error"]
    if errors:
        return f"cannot be synthesized: {errors[0]}"
    for change in plan.changes:
        # A read (get(), StackReference) is planned on every run: it is not an impact.
        if change.op not in (Op.SAME, Op.READ):
            return f"{change.op.value} {change.type} {change.name}"
    if plan.outputs:
        return f"output {plan.outputs[0].name} {plan.outputs[0].op.value}"
    if policy_changed and plan.policy:
        return f"the policy pack changed and it has {len(plan.policy)} finding(s)"
    return None


def impact_between(
    repo_root: Path,
    base: str | None = None,
    head: str | None = None,
    *,
    not_program: Sequence[str] = DEFAULT_NOT_PROGRAM,
    progress: Callable[[str], None] | None = None,
) -> ImpactResult:
    """The stacks whose offline plan between ``base`` (default: the merge-base with the
    default branch) and ``head`` (default: the working tree) is not empty."""
    from stackflow.planner import plan_stacks

    repo = gitrepo.open_repo(repo_root)
    root = gitrepo.repo_root(repo)
    if base is not None and gitrepo.is_null(base):
        # A branch's first push: nothing to compare with, so every stack is affected.
        everything = affected_between(root, base, head)
        reason = "no base revision to compare with"
        return ImpactResult(tuple(Impact(s, reason) for s in everything), ())
    base_sha = gitrepo.resolve(repo, base) if base else gitrepo.default_base(repo)
    head_sha = gitrepo.resolve(repo, head) if head else None
    changed = gitrepo.changed_paths(repo, base_sha, head_sha)
    with ExitStack() as scope:
        tree = root
        clean = repo.head.is_valid() and not gitrepo.is_dirty(repo)
        if head_sha is not None and not (clean and gitrepo.head_sha(repo) == head_sha):
            tree = scope.enter_context(gitrepo.worktree(repo, head_sha))
        config = RepoConfig.load(tree)
        projects = find_projects(tree, config.projects)
        every = {
            (p.name, s): AffectedStack(relative_dir(p.dir, tree), p.name, s)
            for p in projects
            for s in p.stacks()
        }
        if not any(could_matter(path, projects, tree, not_program) for path in changed):
            return ImpactResult((), tuple(sorted(every.values())), prefiltered=True)
        plan = plan_stacks(tree, all_stacks=True, base=base_sha, progress=progress)
    policy_dir = config.policy_pack.strip("/")
    policy_changed = any(inside(p, policy_dir) is not None for p in changed)
    affected, unchanged = [], []
    for stack_plan in plan.stacks:
        target = every[(stack_plan.project, stack_plan.stack)]
        why = stack_impact(stack_plan, policy_changed=policy_changed)
        if why is None:
            unchanged.append(target)
        else:
            affected.append(Impact(target, why))
    return ImpactResult(tuple(affected), tuple(unchanged), plans=plan.stacks)


__all__ = ["Impact", "ImpactResult", "could_matter", "impact_between", "stack_impact"]
