"""Rollback, Git first: put a stack back on a known good deployment by reverting, in a
pull request, the changes deployed to it since, so Git stays the source of truth.

1. :func:`choose_target` reads the stack's deployment log: what is deployed (the newest
   completed deployment's commit) and the good commit (``last-good``: the newest earlier
   successful deployment of a different commit; or a deployment's start time as
   ``stackflow history`` prints it; or any commit). It refuses a good commit that is not an
   ancestor of what is deployed.
2. :func:`revert_branch` makes a new branch from the default branch's tip in a temporary
   worktree (the user's checkout is never touched) and reverts each first-parent commit of
   ``good..deployed``, newest first (``-m 1`` for merges). A conflict stops it, naming the
   commit and the files; nothing is pushed then.
3. The branch's program is planned against the default branch (the plan comment shows
   exactly the reverted changes), and the good commit's own program must plan too.
4. The branch is pushed (never forced) and the pull request opened through the GitHub
   client, with the plan comment posted on it: pull requests opened with a workflow's
   token do not trigger the preview workflow, so nobody else would post it.

Break-glass (``--now``) also deploys the good commit from a worktree, recorded in the
deployment log with ``kind: rollback``, before the pull request is opened.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from stackflow.errors import StackflowError
from stackflow.gitops.deploylog import DeployRecord
from stackflow.plan.model import Plan, StackPlan

LAST_GOOD = "last-good"
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


class PullRequests(Protocol):
    """What rollback needs of GitHub (``stackflow.adapters.github.GitHubClient`` provides it)."""

    def create_pull(self, *, title: str, body: str, head: str, base: str) -> int: ...

    def upsert_comment(self, pr: int, body: str, *, marker: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Reverted:
    sha: str
    subject: str

    def to_dict(self) -> dict[str, str]:
        return {"sha": self.sha, "subject": self.subject}


@dataclass(frozen=True, slots=True)
class RollbackTarget:
    project: str
    stack: str
    deployed: str
    """The commit of the newest completed deployment: what the stack runs (or half-runs)."""
    good: str
    good_deployment: str | None
    """Start time of the good deployment, when the good commit came from the log."""
    reverts: tuple[Reverted, ...]
    """First-parent commits of ``good..deployed``, newest first: what the PR reverts."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "deployed": self.deployed,
            "good": self.good,
            "good_deployment": self.good_deployment,
            "reverts": [r.to_dict() for r in self.reverts],
        }


@dataclass(frozen=True, slots=True)
class RollbackResult:
    target: RollbackTarget
    branch: str
    plan: StackPlan
    """The revert branch against the default branch: exactly the reverted changes."""
    pull_request: int | None
    deployed_now: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.target.to_dict(),
            "branch": self.branch,
            "pull_request": self.pull_request,
            "deployed_now": self.deployed_now,
            "counts": dict(self.plan.counts),
        }


def _is_ancestor(git: Any, older: str, newer: str) -> bool:
    from git import GitCommandError

    try:
        git.git.merge_base("--is-ancestor", older, newer)
    except GitCommandError:
        return False
    return True


def choose_target(
    git: Any, records: Sequence[DeployRecord], project: str, stack: str, to: str = LAST_GOOD
) -> RollbackTarget:
    """The deployed and good commits of ``project/stack`` and the commits between them."""
    from stackflow.adapters import gitrepo

    doing = f"rolling back {project}/{stack}"
    done = sorted(
        (r for r in records if r.result in ("succeeded", "failed")),
        key=lambda r: (r.started_at, r.finished_at),
    )
    if not done:
        raise StackflowError(
            f"{doing}: the deployment log has no completed deployment of it; "
            "`stackflow history --stack` shows what is recorded"
        )
    current = done[-1]
    deployed = gitrepo.resolve(git, current.commit.removesuffix("+dirty"))
    good_deployment = None
    if to == LAST_GOOD:
        earlier = [
            r for r in done[:-1] if r.result == "succeeded" and not r.commit.startswith(deployed)
        ]
        candidates = [r for r in reversed(earlier) if _is_ancestor(git, r.commit, deployed)]
        if not candidates:
            raise StackflowError(
                f"{doing}: no earlier successful deployment of another commit that "
                f"{deployed[:12]} contains; name one with --to DEPLOYMENT_ID or --to COMMIT"
            )
        good, good_deployment = candidates[0].commit, candidates[0].started_at
    elif _STAMP.fullmatch(to):
        match = [r for r in done if r.started_at == to and r.result == "succeeded"]
        if not match:
            raise StackflowError(
                f"{doing}: no successful deployment started at {to}; "
                "`stackflow history --stack` lists them"
            )
        good, good_deployment = match[-1].commit, to
    else:
        good = to
    good = gitrepo.resolve(git, good)
    if good == deployed:
        raise StackflowError(
            f"{doing}: {good[:12]} is what is deployed already; nothing to roll back"
        )
    if not _is_ancestor(git, good, deployed):
        raise StackflowError(
            f"{doing}: {good[:12]} is not an ancestor of the deployed {deployed[:12]}, so "
            "reverting to it is not a rollback; choose a commit the deployment contains"
        )
    lines = git.git.log("--first-parent", "--format=%H %s", f"{good}..{deployed}").splitlines()
    reverts = tuple(
        Reverted(*line.split(" ", 1)) if " " in line else Reverted(line, "") for line in lines
    )
    return RollbackTarget(project, stack, deployed, good, good_deployment, reverts)


def branch_name(target: RollbackTarget) -> str:
    return f"stackflow/rollback-{target.stack}-{target.deployed[:7]}-to-{target.good[:7]}"


@contextmanager
def revert_branch(git: Any, target: RollbackTarget, base: str, branch: str) -> Iterator[Path]:
    """A new branch ``branch`` from ``base`` with each commit of ``target.reverts``
    reverted, checked out in a temporary worktree (removed on exit; the branch stays)."""
    from git import GitCommandError

    with tempfile.TemporaryDirectory(prefix="stackflow-rollback-") as tmp:
        path = Path(tmp) / "tree"
        try:
            git.git.worktree("add", "--quiet", "-b", branch, str(path), base)
        except GitCommandError as err:
            raise StackflowError(
                f"creating the rollback branch {branch}: git refused ({_git_error(err)}); "
                "delete an old branch of that name or pick another target"
            ) from err
        from git import Repo

        tree = Repo(path)
        ok = False
        try:
            for commit in target.reverts:
                merge = len(tree.commit(commit.sha).parents) > 1
                try:
                    tree.git.revert("--no-edit", *(["-m", "1"] if merge else []), commit.sha)
                except GitCommandError as err:
                    conflicts = tree.git.diff("--name-only", "--diff-filter=U").split()
                    with _quiet():
                        tree.git.revert("--abort")
                    files = ", ".join(conflicts) or _git_error(err)
                    raise StackflowError(
                        f"reverting {commit.sha[:12]} ({commit.subject}) for the rollback of "
                        f"{target.project}/{target.stack}: it conflicts with later changes on "
                        f"{base} in {files}; revert it by hand, or roll back with --now and "
                        "fix forward"
                    ) from err
            ok = True
            yield path
        finally:
            git.git.worktree("remove", "--force", str(path))
            git.git.worktree("prune")
            if not ok:
                with _quiet():
                    git.git.branch("-D", branch)


@contextmanager
def _quiet() -> Iterator[None]:
    from git import GitCommandError

    with suppress(GitCommandError):
        yield


def _git_error(err: Any) -> str:
    text = str(getattr(err, "stderr", "") or err).strip().strip("'").strip()
    return text.splitlines()[-1] if text else "no message"


def plan_of(tree: Path, stack: str, project_dir: Path | None, *, base: str | None) -> StackPlan:
    """The offline plan of ``stack`` in ``tree`` (against ``base``, or nothing)."""
    from stackflow.planner import plan_stacks

    plan = plan_stacks(
        tree,
        project_dir=project_dir,
        stack=stack,
        base=base,
        no_base=base is None,
        use_cache=False,
    )
    if not plan.stacks:
        raise StackflowError(f"planning stack {stack} in {tree}: no project has that stack")
    return plan.stacks[0]


def pr_body(target: RollbackTarget, *, deployed_now: bool) -> str:
    rows = "\n".join(f"- {r.sha[:12]} {r.subject}" for r in target.reverts)
    now = (
        "The good commit was deployed already with `stackflow rollback --now`; merging this "
        "keeps the next deploy from bringing the reverted changes back.\n\n"
        if deployed_now
        else "Merging this deploys the reverted program through the usual pipeline.\n\n"
    )
    return (
        f"Rollback of `{target.project}/{target.stack}` from `{target.deployed[:12]}` to the "
        f"good `{target.good[:12]}`"
        + (f" (deployment {target.good_deployment})" if target.good_deployment else "")
        + f".\n\n{now}Reverted, newest first:\n\n{rows}\n\n"
        "Opened by `stackflow rollback`; the plan comment below shows the reverted changes.\n"
    )


def open_pull_request(
    github: PullRequests, target: RollbackTarget, branch: str, base_branch: str, plan: StackPlan,
    *, deployed_now: bool,
) -> int:  # fmt: skip
    from stackflow.render.markdown import PLAN_MARKER, render_comment

    number = github.create_pull(
        title=f"Roll back {target.project}/{target.stack} to {target.good[:7]}",
        body=pr_body(target, deployed_now=deployed_now),
        head=branch,
        base=base_branch,
    )
    github.upsert_comment(number, render_comment(Plan(stacks=(plan,))), marker=PLAN_MARKER)
    return number


def rollback_plan_check(plan: StackPlan, what: str) -> None:
    if plan.has_errors:
        reason = next((d.message for d in plan.diagnostics if d.severity == "error"), "an error")
        raise StackflowError(
            f"rolling back {plan.project}/{plan.stack}: {what} cannot be planned ({reason}); "
            "choose another good deployment with --to"
        )
