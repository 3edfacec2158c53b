"""The pull request's environment comment: what ``up`` made, or why it is gone.

Rendering is :func:`stackflow.render.markdown.render_environment` (pure, golden-tested);
this module only maps a registry record to its input and posts the result under the
sticky marker, so one comment per pull request is edited in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from stackflow.ephemeral.registry import EnvironmentRecord
from stackflow.plan.reports import EnvironmentReport, EnvironmentStatus
from stackflow.render.markdown import ENVIRONMENT_MARKER, render_environment

URL_OUTPUT = "url"
"""The stack output shown as the environment's link (``stacks/__main__.py`` exports it)."""


class Commenter(Protocol):
    """What posting needs of GitHub (``stackflow.adapters.github.GitHubClient``)."""

    def upsert_comment(self, pr: int, body: str, *, marker: str) -> int: ...


def environment_report(
    record: EnvironmentRecord,
    status: EnvironmentStatus,
    *,
    expires_at: datetime | None = None,
    label_prefix: str | None = None,
    message: str | None = None,
) -> EnvironmentReport:
    """The comment's input; ``expires_at`` defaults to the record's own TTL."""
    url = record.outputs.get(URL_OUTPUT)
    return EnvironmentReport(
        project=record.project,
        stack=record.stack,
        branch=record.branch,
        status=status,
        url=url if isinstance(url, str) else None,
        outputs=record.outputs,
        expires_at=expires_at or record.expires_at(),
        ttl_label_prefix=label_prefix or None,
        message=message,
        head=record.head,
    )


def post_environment_comment(github: Commenter, report: EnvironmentReport, pr: int) -> int:
    """Create or update the environment comment on ``pr``; returns the comment id."""
    return github.upsert_comment(pr, render_environment(report), marker=ENVIRONMENT_MARKER)
