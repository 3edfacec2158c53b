"""The git questions a plan asks, over GitPython: which commit, what changed, and the
tree of another commit in a temporary worktree.

Everything here reads the repository; the one thing it writes is a worktree under the
system's temporary directory, registered with ``git worktree add --detach`` and removed
(and pruned) afterwards, so the user's checkout and branches are never touched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from stackflow.errors import StackflowError

if TYPE_CHECKING:
    from git import Repo

DEFAULT_BRANCHES = ("main", "master")


def is_null(rev: str) -> bool:
    """True for the all-zeros object name GitHub sends as ``github.event.before`` on a
    branch's first push: there is no earlier commit to compare with."""
    return len(rev) in (40, 64) and set(rev) == {"0"}


def open_repo(path: Path) -> Repo:
    """The repository holding ``path`` (searching parent directories)."""
    from git import InvalidGitRepositoryError, NoSuchPathError, Repo

    try:
        return Repo(path, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError) as err:
        raise StackflowError(
            f"opening the git repository at {path}: it is not inside a git repository; "
            "run stackflow from a clone, or pass --no-base"
        ) from err


def repo_root(repo: Repo) -> Path:
    if repo.working_tree_dir is None:
        raise StackflowError(
            f"opening the git repository {repo.git_dir}: it is bare; run stackflow in a clone"
        )
    return Path(repo.working_tree_dir).resolve()


def resolve(repo: Repo, rev: str) -> str:
    """The full commit SHA ``rev`` names (a branch, tag, ``HEAD~1``, a short SHA)."""
    from git import BadName

    try:
        return str(repo.commit(rev).hexsha)
    except (BadName, ValueError) as err:
        raise StackflowError(
            f"resolving the git revision {rev!r}: no such commit; "
            "name a branch, tag or commit (git log shows them), or fetch it first"
        ) from err


def head_sha(repo: Repo) -> str:
    return resolve(repo, "HEAD")


def is_dirty(repo: Repo) -> bool:
    """True when the working tree differs from HEAD (untracked files included)."""
    return bool(repo.is_dirty(untracked_files=True))


def default_branch(repo: Repo) -> str | None:
    """The remote's default branch (``origin/HEAD``), else ``main`` or ``master`` (remote
    first, then local); None when the repository has no remote."""
    if not repo.remotes:
        return None
    names = {ref.name for ref in repo.refs}
    for remote in repo.remotes:
        try:
            target = remote.refs.HEAD.reference.name
        except (AttributeError, IndexError, TypeError, ValueError):
            continue
        if target in names:
            return str(target)
    for remote in repo.remotes:
        for branch in DEFAULT_BRANCHES:
            if f"{remote.name}/{branch}" in names:
                return f"{remote.name}/{branch}"
    for branch in DEFAULT_BRANCHES:
        if branch in names:
            return branch
    return None


def default_base(repo: Repo) -> str:
    """The base a plan compares against when none is given: the merge-base of HEAD with
    the default branch, or ``HEAD~1`` when there is no remote to name one."""
    branch = default_branch(repo)
    if branch is not None:
        bases = repo.merge_base("HEAD", branch)
        if bases:
            return str(bases[0].hexsha)
    try:
        return str(repo.commit("HEAD~1").hexsha)
    except Exception as err:  # GitPython raises several types for a missing parent
        raise StackflowError(
            "choosing the base revision: HEAD has no parent and there is no default branch "
            "to compare with; pass --base REV, or --no-base to plan against nothing"
        ) from err


def changed_paths(repo: Repo, base: str, head: str | None = None) -> tuple[str, ...]:
    """Paths (relative to the repository root, ``/``-separated) that differ between
    ``base`` and ``head``; with no ``head``, between ``base`` and the working tree,
    untracked files included. A rename counts as both of its paths."""
    args = ["--name-only", "--no-renames", "-z", base]
    if head is not None:
        args.append(head)
    paths = set(filter(None, repo.git.diff(*args).split("\0")))
    if head is None:
        untracked = repo.git.ls_files("--others", "--exclude-standard", "-z")
        paths.update(filter(None, untracked.split("\0")))
    return tuple(sorted(paths))


@contextmanager
def worktree(repo: Repo, rev: str) -> Iterator[Path]:
    """The tree of ``rev`` checked out, detached, in a temporary directory; removed on
    exit whatever happens inside."""
    sha = resolve(repo, rev)
    with tempfile.TemporaryDirectory(prefix="stackflow-base-") as tmp:
        path = Path(tmp) / "tree"
        repo.git.worktree("add", "--detach", "--quiet", str(path), sha)
        try:
            yield path
        finally:
            repo.git.worktree("remove", "--force", str(path))
            repo.git.worktree("prune")
