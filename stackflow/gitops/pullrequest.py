"""The pull request a push to the default branch was merged from, so every deploy record
from the deploy workflow carries ``--pr``.

GitHub's "pull requests of a commit" API is asked first, and only a pull request that was
merged *as this commit* counts (an open pull request whose branch contains the commit is
not the one that deployed it). When the API names none, or cannot be reached, the commit
message is read: GitHub writes ``Merge pull request #N from ...`` for merge commits and
``title (#N)`` on the first line of squash merges. A direct push has neither: no number.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from stackflow.errors import StackflowError

_MERGE = re.compile(r"\AMerge pull request #(\d+) from \S")
_SQUASH = re.compile(r"\(#(\d+)\)\Z")


class PullRequests(Protocol):
    def pull_request_for_commit(self, sha: str) -> int | None: ...

    def pull_request_state(self, number: int) -> str: ...


def from_message(message: str) -> int | None:
    """The pull request number GitHub's merge or squash message names, if any."""
    lines = message.strip().splitlines()
    first = lines[0].strip() if lines else ""
    match = _MERGE.match(first) or _SQUASH.search(first)
    return int(match.group(1)) if match else None


def merged_pull_request(
    github: PullRequests, sha: str, *, root: Path, warn: list[str] | None = None
) -> int | None:
    """The pull request ``sha`` was merged from (see the module's docstring)."""
    try:
        number = github.pull_request_for_commit(sha)
        if number is not None and github.pull_request_state(number) == "merged":
            return number
    except StackflowError as err:
        if warn is not None:
            warn.append(f"{err.message}; reading the commit message instead")
    from stackflow.adapters import gitrepo

    repo = gitrepo.open_repo(root)
    try:
        message = repo.commit(gitrepo.resolve(repo, sha)).message
    except StackflowError:
        return None
    return from_message(message if isinstance(message, str) else message.decode())
