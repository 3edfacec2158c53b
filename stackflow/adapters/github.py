"""The GitHub API, as stackflow uses it from a workflow: sticky comments, drift issues and
pull-request lookups; and the job summary, a file that needs no token
(:func:`write_step_summary`).

Built on PyGithub with objects created lazily (no request until one is needed), and with
urllib3 retries tuned for GitHub: 5xx, 429 and secondary rate limits (403 with a
``Retry-After`` header or a rate-limit message) are retried with exponential backoff, for
writes too (PATCH, and POST after a lookup: see :func:`_retry`), a bounded number of
times, never waiting longer than :attr:`RetryPolicy.max_wait` at once.

Two failure modes get a message that says what to do: a token without the permission
("Resource not accessible by integration" names the ``permissions:`` entry to add to the
workflow job) and a server that keeps failing (how many attempts were made).

Sticky comments are found by a hidden marker at the start of the body, and only among
comments this token's kind of author wrote, so nobody can make stackflow edit or delete a
human's comment by quoting the marker.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from stackflow.errors import StackflowError

if TYPE_CHECKING:
    from github.Issue import Issue
    from github.IssueComment import IssueComment
    from github.NamedUser import NamedUser
    from github.Organization import Organization
    from github.Repository import Repository

STEP_SUMMARY_LIMIT: Final = 1_048_576
"""GitHub shows at most 1 MiB of one step's summary."""
DEFAULT_API_URL: Final = "https://api.github.com"

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try before giving up on GitHub.

    The defaults suit a workflow: up to 5 retries, 1 s, 2 s, 4 s ... apart, no single wait
    over a minute, and GitHub's own advice of at least a second between writes.
    """

    attempts: int = 5
    """Retries after the first try (so at most ``attempts + 1`` requests)."""
    backoff: float = 1.0
    """Backoff factor in seconds: waits are ``backoff * 2**n``."""
    max_wait: float = 60.0
    """Cap on any one wait, also on a server's ``Retry-After`` and on secondary limits."""
    read_interval: float = 0.25
    write_interval: float = 1.0


def _retry(policy: RetryPolicy) -> Any:
    """A PyGithub ``GithubRetry`` that also retries 429 and caps ``Retry-After``."""
    from github import GithubRetry

    class CappedRetry(GithubRetry):
        def get_retry_after(self, response: Any) -> float | None:
            after = super().get_retry_after(response)
            return None if after is None else min(float(after), policy.max_wait)

    return CappedRetry(
        total=policy.attempts,
        backoff_factor=policy.backoff,
        backoff_max=policy.max_wait,
        secondary_rate_wait=policy.max_wait,
        max_rate_limit_wait=policy.max_wait,
        status_forcelist=[429, *range(500, 600)],
        # urllib3 (and so PyGithub) retries only idempotent methods by default. Every write
        # stackflow makes is idempotent or converges: a PATCH sets the same body again, and
        # each POST of a comment or an issue follows a lookup by marker that removes
        # duplicates on the next pass (a retried pull request is refused by GitHub: 422).
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "POST"}),
    )


_INTEGRATION = re.compile(r"not accessible by (integration|personal access token)", re.I)


@contextmanager
def _calling(what: str, *, permission: str, api_url: str) -> Iterator[None]:
    """Turn the GitHub and transport failures of one operation into StackflowErrors."""
    import requests
    from github import GithubException, RateLimitExceededException

    try:
        yield
    except RateLimitExceededException as err:
        raise StackflowError(
            f"{what}: GitHub's rate limit is exhausted (HTTP {err.status}) and resets later "
            "than stackflow waits; rerun the job later"
        ) from err
    except GithubException as err:
        message = _message(err.data)
        if err.status == 403 and _INTEGRATION.search(message):
            raise StackflowError(
                f"{what}: the token may not do this ({message!r}); add `{permission}` under "
                "`permissions:` of this job in the workflow"
            ) from err
        if err.status == 401:
            raise StackflowError(
                f"{what}: GitHub rejected the token (HTTP 401 {message!r}); pass a valid "
                "token in GITHUB_TOKEN, e.g. `env: GITHUB_TOKEN: ${{ github.token }}`"
            ) from err
        if err.status == 404:
            raise StackflowError(
                f"{what}: not found (HTTP 404); check GITHUB_REPOSITORY and the number or "
                f"commit, and that the token may read it (`{permission}`)"
            ) from err
        raise StackflowError(f"{what}: GitHub answered HTTP {err.status} {message!r}") from err
    except requests.exceptions.RetryError as err:  # urllib3's MaxRetryError, as requests wraps it
        raise StackflowError(
            f"{what}: {api_url} kept failing after retries ({_last_reason(err)}); "
            "GitHub may be degraded, rerun the job"
        ) from err
    except requests.exceptions.ConnectionError as err:
        if _timed_out(err):
            raise StackflowError(
                f"{what}: {api_url} did not answer in time; GitHub may be degraded, rerun the job"
            ) from err
        raise StackflowError(
            f"{what}: cannot reach {api_url} ({type(err).__name__}); check GITHUB_API_URL "
            "and the network"
        ) from err
    except requests.exceptions.Timeout as err:
        raise StackflowError(f"{what}: {api_url} did not answer in time; rerun the job") from err


def _timed_out(err: Exception) -> bool:
    """A read that timed out on every retry: urllib3 wraps it in MaxRetryError, which
    requests raises as a ConnectionError."""
    from urllib3.exceptions import ReadTimeoutError

    reason = getattr(next(iter(err.args), None), "reason", None)
    return isinstance(reason, ReadTimeoutError)


def _message(data: Any) -> str:
    """What an error answer says, on one line of at most 200 characters: GitHub's JSON
    ``message``, or the text of a body that is not JSON (a proxy's page), which PyGithub
    hands over as ``{"data": text}`` or, for a 403, as the raw bytes."""
    if isinstance(data, dict):
        data = data.get("message") or data.get("data")
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    text = " ".join(str(data or "").split())
    return text if len(text) <= 200 else text[:199] + "…"


def _last_reason(err: Exception) -> str:
    text = str(err)
    match = re.search(r"too many (\d{3}) error responses", text)
    return f"last answer HTTP {match.group(1)}" if match else "too many retries"


def _starts_with(body: str | None, marker: str) -> bool:
    return (body or "").lstrip().startswith(marker)


def _with_marker(body: str, marker: str) -> str:
    return body if _starts_with(body, marker) else f"{marker}\n{body}"


def write_step_summary(markdown: str, path: str | None) -> None:
    """Append Markdown to a step summary file; needs no token, so ``stackflow summary``
    works in jobs that have no API access."""
    if not path:
        raise StackflowError(
            "writing the job summary: GITHUB_STEP_SUMMARY is not set; run inside GitHub "
            "Actions, or print the Markdown with `stackflow render`"
        )
    target = Path(path)
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    size = target.stat().st_size if target.exists() else 0
    if size + len(text.encode("utf-8")) > STEP_SUMMARY_LIMIT:
        raise StackflowError(
            f"writing the job summary: it would exceed GitHub's 1 MiB step-summary limit "
            f"({size:,} bytes already there); write it from a step of its own"
        )
    try:
        with target.open("a", encoding="utf-8") as out:
            out.write(text)
    except OSError as err:
        raise StackflowError(
            f"writing the job summary to {target}: {err.strerror}; check GITHUB_STEP_SUMMARY"
        ) from err


class GitHubClient:
    """One repository's API, with the token and paths of the running workflow."""

    def __init__(
        self,
        *,
        token: str,
        repository: str,
        api_url: str = DEFAULT_API_URL,
        event_path: str | None = None,
        comment_author: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        """``comment_author``: login whose comments and issues stackflow owns; None means
        any bot account (``github-actions[bot]`` for ``GITHUB_TOKEN``, an app's bot)."""
        from github import Auth, Github

        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
            raise StackflowError(
                f"configuring GitHub: GITHUB_REPOSITORY {repository!r} is not 'owner/name'; "
                "run inside GitHub Actions or set it"
            )
        policy = retry or RetryPolicy()
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self.event_path = event_path
        self.comment_author = comment_author
        self._github = Github(
            auth=Auth.Token(token),
            base_url=self.api_url,
            timeout=int(max(timeout, 1)),
            per_page=100,
            retry=_retry(policy),
            seconds_between_requests=policy.read_interval or None,
            seconds_between_writes=policy.write_interval or None,
            lazy=True,
        )
        self._repo: Repository = self._github.get_repo(repository)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **options: Any) -> GitHubClient:
        """The client for the workflow this process runs in (``GITHUB_*`` variables)."""
        token = env.get("GITHUB_TOKEN", "")
        if not token:
            raise StackflowError(
                "configuring GitHub: GITHUB_TOKEN is not set; add "
                "`env: GITHUB_TOKEN: ${{ github.token }}` to the step"
            )
        repository = env.get("GITHUB_REPOSITORY", "")
        if not repository:
            raise StackflowError(
                "configuring GitHub: GITHUB_REPOSITORY is not set; run inside GitHub Actions "
                "or set it to 'owner/name'"
            )
        return cls(
            token=token,
            repository=repository,
            api_url=env.get("GITHUB_API_URL") or DEFAULT_API_URL,
            event_path=env.get("GITHUB_EVENT_PATH") or None,
            comment_author=env.get("STACKFLOW_COMMENT_AUTHOR") or None,
            **options,
        )

    def _call(self, what: str, permission: str, action: Callable[[], _T]) -> _T:
        with _calling(what, permission=permission, api_url=self.api_url):
            return action()

    def _ours(self, user: NamedUser | Organization | None) -> bool:
        if user is None:
            return False
        if self.comment_author:
            return bool(user.login == self.comment_author)
        return bool(user.type == "Bot")

    # ------------------------------------------------------------------ comments

    def _marked_comments(self, issue: Issue, marker: str) -> list[IssueComment]:
        found = [
            c for c in issue.get_comments() if self._ours(c.user) and _starts_with(c.body, marker)
        ]
        return sorted(found, key=lambda c: c.id)

    def upsert_comment(self, pr: int, body: str, *, marker: str) -> int:
        """Create or edit the one comment with ``marker`` on pull request ``pr``; returns
        its id. Racing writers converge: after creating, the comments are listed again,
        the oldest marked one is kept (and given this body) and the others deleted."""
        body = _with_marker(body, marker)
        what = f"commenting on pull request #{pr}"

        def run() -> int:
            from github import UnknownObjectException

            issue = self._repo.get_issue(pr)
            existing = self._marked_comments(issue, marker)
            created = None if existing else issue.create_comment(body)
            if created is not None:
                existing = self._marked_comments(issue, marker) or [created]
            keep, duplicates = existing[0], existing[1:]
            for duplicate in duplicates:
                with suppress(UnknownObjectException):  # the other writer deleted it first
                    duplicate.delete()
            if (created is None or keep.id != created.id) and keep.body != body:
                keep.edit(body)
            return int(keep.id)

        return self._call(what, "pull-requests: write", run)

    # -------------------------------------------------------------------- issues

    def _marked_issues(self, marker: str) -> list[Issue]:
        found = [
            i
            for i in self._repo.get_issues(state="open")
            if i.pull_request is None and self._ours(i.user) and _starts_with(i.body, marker)
        ]
        return sorted(found, key=lambda i: i.number)

    def upsert_issue(
        self, title: str, body: str, *, marker: str, labels: Sequence[str] = ()
    ) -> int:
        """Open, or update in place, the one open issue with ``marker`` (e.g. a stack's
        drift report); returns its number. Duplicates from a race are closed."""
        body = _with_marker(body, marker)

        def run() -> int:
            existing = self._marked_issues(marker)
            created = None
            if not existing:
                created = self._repo.create_issue(title=title, body=body, labels=list(labels))
                existing = self._marked_issues(marker) or [created]
            keep = existing[0]
            for duplicate in existing[1:]:
                duplicate.create_comment(f"Duplicate of #{keep.number}.")
                duplicate.edit(state="closed", state_reason="not_planned")
            if created is None or keep.number != created.number:
                names = {label.name for label in keep.labels}
                if keep.body != body or keep.title != title or not set(labels) <= names:
                    keep.edit(title=title, body=body, labels=sorted(names | set(labels)))
            return int(keep.number)

        return self._call(f"opening issue {title!r}", "issues: write", run)

    def close_issue(self, marker: str, comment: str | None = None) -> bool:
        """Close the open issue(s) with ``marker``, saying why; False when none is open."""

        def run() -> bool:
            found = self._marked_issues(marker)
            for issue in found:
                if comment:
                    issue.create_comment(comment)
                issue.edit(state="closed", state_reason="completed")
            return bool(found)

        return self._call("closing an issue", "issues: write", run)

    # ------------------------------------------------------------ pull requests

    def pull_request_for_commit(self, sha: str) -> int | None:
        """The pull request a commit on the default branch was merged from, if any."""

        def run() -> int | None:
            pulls = list(self._repo.get_commit(sha).get_pulls())
            merged = [p for p in pulls if p.merge_commit_sha == sha]
            chosen = merged or pulls
            return int(chosen[0].number) if chosen else None

        return self._call(f"finding the pull request of {sha[:7]}", "pull-requests: read", run)

    def create_pull(self, *, title: str, body: str, head: str, base: str) -> int:
        """Open a pull request from branch ``head`` into ``base``; returns its number."""
        return self._call(
            f"opening a pull request from {head} into {base}",
            "pull-requests: write",
            lambda: int(
                self._repo.create_pull(base=base, head=head, title=title, body=body).number
            ),
        )

    def pull_request_state(self, number: int) -> Literal["open", "closed", "merged"]:
        def run() -> Literal["open", "closed", "merged"]:
            pull = self._repo.get_pull(number)
            if pull.merged:
                return "merged"
            return "open" if pull.state == "open" else "closed"

        return self._call(f"reading pull request #{number}", "pull-requests: read", run)

    def pull_request_labels(self, number: int) -> list[str]:
        return self._call(
            f"reading the labels of pull request #{number}",
            "pull-requests: read",
            lambda: sorted(label.name for label in self._repo.get_issue(number).labels),
        )

    def branch_exists(self, branch: str) -> bool:
        from github import UnknownObjectException

        def run() -> bool:
            try:
                self._repo.get_branch(branch)
            except UnknownObjectException:
                return False
            return True

        return self._call(f"looking up branch {branch!r}", "contents: read", run)

    def pr_from_event(self) -> int | None:
        """The pull request this workflow run is about, from ``GITHUB_EVENT_PATH``.

        For ``workflow_run`` events of fork pull requests GitHub leaves
        ``pull_requests`` empty; the pull request is then found by the run's head
        repository, branch and commit, all from the event GitHub wrote (never from
        anything the pull request's code produced).
        """
        event = self._event()
        for key in ("pull_request", "issue"):
            number = (event.get(key) or {}).get("number")
            if isinstance(number, int) and (key == "pull_request" or "pull_request" in event[key]):
                return number
        run = event.get("workflow_run")
        if not isinstance(run, dict):
            return None
        for pull in run.get("pull_requests") or ():
            if isinstance(pull, dict) and isinstance(pull.get("number"), int):
                return int(pull["number"])
        owner = ((run.get("head_repository") or {}).get("owner") or {}).get("login")
        branch, sha = run.get("head_branch"), run.get("head_sha")
        if not (isinstance(owner, str) and isinstance(branch, str) and isinstance(sha, str)):
            return None

        def find() -> int | None:
            for pull in self._repo.get_pulls(state="open", head=f"{owner}:{branch}"):
                if pull.head.sha == sha:
                    return int(pull.number)
            return None

        return self._call(
            f"finding the pull request of workflow run {run.get('id')}", "pull-requests: read", find
        )

    def _event(self) -> dict[str, Any]:
        if not self.event_path:
            return {}
        try:
            data = json.loads(Path(self.event_path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise StackflowError(
                f"reading the workflow event {self.event_path}: {err}; "
                "pass the pull request with --pr"
            ) from err
        return data if isinstance(data, dict) else {}
