"""Git questions over GitPython, on throwaway repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stackflow.adapters import gitrepo
from stackflow.errors import StackflowError

from .conftest import GitRepo


def test_default_base_without_a_remote_is_the_parent(git_repo: GitRepo) -> None:
    first = git_repo.commit("one")
    git_repo.commit("two")
    assert gitrepo.default_base(gitrepo.open_repo(git_repo.root)) == first


def test_a_single_commit_without_a_remote_asks_for_a_base(git_repo: GitRepo) -> None:
    git_repo.commit("only")
    with pytest.raises(StackflowError, match="--no-base"):
        gitrepo.default_base(gitrepo.open_repo(git_repo.root))


def test_default_base_with_a_remote_is_the_merge_base(git_repo: GitRepo, tmp_path: Path) -> None:
    fork_point = git_repo.commit("one")
    clone = GitRepo(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", str(git_repo.root), str(clone.root)], check=True)
    git_repo.commit("main moves on")
    clone.git("checkout", "-q", "-b", "feature")
    clone.commit("feature one")
    clone.commit("feature two")
    assert gitrepo.default_branch(gitrepo.open_repo(clone.root)) == "origin/main"
    assert gitrepo.default_base(gitrepo.open_repo(clone.root)) == fork_point


def test_worktree_holds_the_old_tree_and_goes_away(git_repo: GitRepo) -> None:
    git_repo.write({"a.txt": "old"})
    old = git_repo.commit()
    git_repo.write({"a.txt": "new", "scratch.txt": "uncommitted"})
    repo = gitrepo.open_repo(git_repo.root)
    with gitrepo.worktree(repo, old) as tree:
        assert (tree / "a.txt").read_text() == "old"
        assert not (tree / "scratch.txt").exists()
    assert not tree.exists()
    assert "stackflow-base" not in git_repo.git("worktree", "list")
    assert (git_repo.root / "a.txt").read_text() == "new"


def test_changed_paths_sees_committed_modified_untracked_and_renamed(git_repo: GitRepo) -> None:
    git_repo.write({"keep.txt": "1", "move.txt": "m", "edit.txt": "e"})
    base = git_repo.commit()
    git_repo.git("mv", "move.txt", "moved.txt")
    git_repo.write({"edit.txt": "E", "new dir/ü.txt": "x"})
    repo = gitrepo.open_repo(git_repo.root)
    assert gitrepo.changed_paths(repo, base) == (
        "edit.txt",
        "move.txt",
        "moved.txt",
        "new dir/ü.txt",
    )
    head = git_repo.commit()
    assert gitrepo.changed_paths(repo, base, head) == (
        "edit.txt",
        "move.txt",
        "moved.txt",
        "new dir/ü.txt",
    )


def test_bad_revisions_and_non_repositories_say_what_to_do(
    git_repo: GitRepo, tmp_path: Path
) -> None:
    git_repo.commit()
    with pytest.raises(StackflowError, match=r"'nope'.*no such commit"):
        gitrepo.resolve(gitrepo.open_repo(git_repo.root), "nope")
    elsewhere = tmp_path / "plain"
    elsewhere.mkdir()
    with pytest.raises(StackflowError, match="not inside a git repository"):
        gitrepo.open_repo(elsewhere)
