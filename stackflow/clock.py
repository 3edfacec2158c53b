"""Time as every record stackflow writes keeps it: UTC, to the second."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, in UTC (the default clock; tests inject their own)."""
    return datetime.now(UTC)


def utc_iso(moment: datetime) -> str:
    """``2026-11-22T10:00:00Z``: UTC, seconds, the form every record uses."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
