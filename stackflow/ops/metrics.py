"""The four key delivery metrics (DORA), per stack and per environment kind, from the
deployment log and git history. Definitions (also in docs/METRICS.md):

- **Deployment frequency**: successful deployments per day in the window.
- **Lead time for changes**: for each change (a commit on the default branch's
  first-parent line: a merge, squash or direct commit), from the author time of its
  earliest commit to the end of its first successful deployment to the stack. The first
  deployment a stack ever recorded only sets the baseline (what was there before is
  unknown) and yields no lead times.
- **Change failure rate**: failed deployments, plus successful ones followed by a
  rollback, over all deployments that are not themselves rollbacks.
- **Time to restore**: from the end of the first failure in a run of failures to the end
  of the next successful deployment that is not itself a failure.

A rollback is a record of kind ``rollback`` (``stackflow rollback --now``) or a
successful deployment of a change older than the newest one the stack had received.
Records that did not complete (``started``, ``cancelled``) are not deployments.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stackflow.clock import utc_iso
from stackflow.errors import StackflowError
from stackflow.gitops.deploylog import DeployRecord

BANDS = ("elite", "high", "medium", "low")
BAND_LIMITS: dict[str, tuple[float, float, float]] = {
    # Deployments per day: elite on demand (daily or more), high weekly, medium monthly.
    "deployment_frequency": (1.0, 1 / 7, 1 / 30),
    # Hours: elite under a day, high under a week, medium under a month.
    "lead_time": (24.0, 24.0 * 7, 24.0 * 30),
    # Ratio: the Four Keys bands.
    "change_failure_rate": (0.15, 0.30, 0.45),
    # Hours: elite under an hour, high under a day, medium under a week.
    "time_to_restore": (1.0, 24.0, 24.0 * 7),
}
HIGHER_IS_BETTER = frozenset({"deployment_frequency"})
METRICS = ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")
TITLES = {
    "deployment_frequency": "Deployment frequency (per day)",
    "lead_time": "Lead time for changes (median, hours)",
    "change_failure_rate": "Change failure rate (%)",
    "time_to_restore": "Time to restore (median, hours)",
}


def band(metric: str, value: float | None) -> str | None:
    """The DORA performance band ``value`` falls in; None when there is no value."""
    if value is None:
        return None
    limits = BAND_LIMITS[metric]
    for name, limit in zip(BANDS, limits, strict=False):
        if (value >= limit) if metric in HIGHER_IS_BETTER else (value < limit):
            return name
    return "low"


def parse_since(text: str, now: datetime) -> datetime:
    """``90d``, ``12w``, ``36h`` or an ISO date/time, as the start of the window."""
    units = {"d": "days", "w": "weeks", "h": "hours"}
    raw = text.strip()
    if raw[-1:] in units and raw[:-1].isdigit():
        return now - timedelta(**{units[raw[-1]]: int(raw[:-1])})
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as err:
        raise StackflowError(
            f"reading --since {text!r}: not a duration or a date; use e.g. 90d, 12w, 36h "
            "or 2026-01-31"
        ) from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# ------------------------------------------------------------------ git history


@dataclass(frozen=True, slots=True)
class Changes:
    """The default branch's first-parent line, oldest first, with the time each change
    began: the earliest author time of the commits it brought in."""

    position: dict[str, int]
    """Line commit -> index; commits merged in map to the index of the change that
    brought them in."""
    first_at: list[float]
    """Per index, epoch seconds of the change's earliest commit."""

    @classmethod
    def from_log(cls, lines: Iterable[str], tip: str) -> Changes:
        """From ``git log --format='%H %at %P'`` lines of everything reachable from
        ``tip``."""
        parents: dict[str, list[str]] = {}
        authored: dict[str, float] = {}
        for line in lines:
            parts = line.split()
            if len(parts) < 2:
                continue
            parents[parts[0]] = parts[2:]
            authored[parts[0]] = float(parts[1])
        line_commits: list[str] = []
        sha: str | None = tip
        while sha is not None and sha in parents:
            line_commits.append(sha)
            sha = parents[sha][0] if parents[sha] else None
        line_commits.reverse()
        position: dict[str, int] = {}
        first_at: list[float] = []
        for index, head in enumerate(line_commits):
            earliest = authored[head]
            todo = [head]
            while todo:
                sha = todo.pop()
                if sha in position or sha not in authored:
                    continue
                position[sha] = index
                earliest = min(earliest, authored[sha])
                todo.extend(p for p in parents[sha] if p not in position)
            first_at.append(earliest)
        return cls(position=position, first_at=first_at)

    @classmethod
    def from_git(cls, git: Any, branch: str) -> Changes:
        tip = str(git.git.rev_parse(branch))
        return cls.from_log(git.git.log("--format=%H %at %P", tip).splitlines(), tip)


# ------------------------------------------------------------------- the figures


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    """When it counts (epoch seconds): the end of the deployment it belongs to."""
    value: float


@dataclass(frozen=True, slots=True)
class StackEvents:
    """Everything one stack's records say, before windowing."""

    project: str
    stack: str
    kind: str
    deployments: tuple[Sample, ...]
    """Completed non-rollback deployments; value 1.0 when a failure, else 0.0."""
    successes: tuple[float, ...]
    """End times of successful deployments (rollbacks included)."""
    rollbacks: tuple[float, ...]
    lead_times: tuple[Sample, ...]
    """Hours, per change."""
    restores: tuple[Sample, ...]
    """Hours, per failure run."""


def stack_events(
    project: str, stack: str, kind: str, records: Sequence[DeployRecord], changes: Changes | None
) -> StackEvents:
    """Replay one stack's records (oldest first) into deployments, lead times and
    restores."""
    done = [r for r in records if r.result in ("succeeded", "failed")]
    done.sort(key=lambda r: (r.finished_at, r.started_at))
    high_water: int | None = None
    rolled_back: list[bool] = []
    positions: list[int | None] = []
    for r in done:
        pos = changes.position.get(r.commit) if changes else None
        positions.append(pos)
        is_rollback = r.kind == "rollback" or (
            r.result == "succeeded"
            and pos is not None
            and high_water is not None
            and pos < high_water
        )
        rolled_back.append(is_rollback)
        if r.result == "succeeded" and pos is not None:
            high_water = pos if high_water is None else max(high_water, pos)

    deployments: list[Sample] = []
    successes: list[float] = []
    rollbacks: list[float] = []
    leads: list[Sample] = []
    restores: list[Sample] = []
    deployed: int | None = None
    failing_since: float | None = None
    for i, r in enumerate(done):
        end = _time(r.finished_at or r.started_at)
        failed = r.result == "failed" or (
            not rolled_back[i] and i + 1 < len(done) and rolled_back[i + 1]
        )
        if rolled_back[i]:
            rollbacks.append(end)
        else:
            deployments.append(Sample(end, 1.0 if failed else 0.0))
        if r.result == "succeeded":
            successes.append(end)
            pos = positions[i]
            if pos is not None and changes is not None:
                if deployed is not None and pos > deployed:
                    leads.extend(
                        Sample(end, (end - changes.first_at[c]) / 3600)
                        for c in range(deployed + 1, pos + 1)
                    )
                deployed = pos if deployed is None else max(deployed, pos)
        if failed:
            if failing_since is None:
                failing_since = end
        elif r.result == "succeeded" and failing_since is not None:
            restores.append(Sample(end, (end - failing_since) / 3600))
            failing_since = None
    return StackEvents(
        project=project,
        stack=stack,
        kind=kind,
        deployments=tuple(deployments),
        successes=tuple(successes),
        rollbacks=tuple(rollbacks),
        lead_times=tuple(leads),
        restores=tuple(restores),
    )


@dataclass(frozen=True, slots=True)
class Figures:
    """The four metrics over one window of one scope."""

    days: float
    deployments: int
    failures: int
    successes: int
    rollbacks: int
    lead_times: tuple[float, ...] = field(repr=False)
    restores: tuple[float, ...] = field(repr=False)

    @property
    def deployment_frequency(self) -> float:
        return self.successes / self.days if self.days > 0 else 0.0

    @property
    def lead_time(self) -> float | None:
        return statistics.median(self.lead_times) if self.lead_times else None

    @property
    def change_failure_rate(self) -> float | None:
        return self.failures / self.deployments if self.deployments else None

    @property
    def time_to_restore(self) -> float | None:
        return statistics.median(self.restores) if self.restores else None

    def value(self, metric: str) -> float | None:
        return float(getattr(self, metric)) if getattr(self, metric) is not None else None

    def to_dict(self) -> dict[str, Any]:
        values = {m: self.value(m) for m in METRICS}
        return {
            "days": round(self.days, 3),
            "deployments": self.deployments,
            "successes": self.successes,
            "failures": self.failures,
            "rollbacks": self.rollbacks,
            "changes": len(self.lead_times),
            "restores": len(self.restores),
            "deployment_frequency_per_day": values["deployment_frequency"],
            "lead_time_median_hours": values["lead_time"],
            "change_failure_rate": values["change_failure_rate"],
            "time_to_restore_median_hours": values["time_to_restore"],
            "bands": {m: band(m, values[m]) for m in METRICS},
        }


def figures(events: Iterable[StackEvents], edges: Sequence[float]) -> list[Figures]:
    """The figures of each span ``[edges[i], edges[i + 1])``, in one pass over the events."""
    n = len(edges) - 1
    deployments, failures, successes, rollbacks = [0] * n, [0] * n, [0] * n, [0] * n
    leads: list[list[float]] = [[] for _ in range(n)]
    restores: list[list[float]] = [[] for _ in range(n)]

    def span(t: float) -> int:
        i = bisect_right(edges, t) - 1
        return i if 0 <= i < n else -1

    for e in events:
        for d in e.deployments:
            if (i := span(d.at)) >= 0:
                deployments[i] += 1
                failures[i] += int(d.value)
        for t in e.successes:
            if (i := span(t)) >= 0:
                successes[i] += 1
        for t in e.rollbacks:
            if (i := span(t)) >= 0:
                rollbacks[i] += 1
        for s in e.lead_times:
            if (i := span(s.at)) >= 0:
                leads[i].append(s.value)
        for s in e.restores:
            if (i := span(s.at)) >= 0:
                restores[i].append(s.value)
    return [
        Figures(
            days=(edges[i + 1] - edges[i]) / 86400,
            deployments=deployments[i],
            failures=failures[i],
            successes=successes[i],
            rollbacks=rollbacks[i],
            lead_times=tuple(leads[i]),
            restores=tuple(restores[i]),
        )
        for i in range(n)
    ]


@dataclass(frozen=True, slots=True)
class Scope:
    """One stack (``project/stack``) or one environment kind, with its window's figures
    and one per week."""

    name: str
    figures: Figures
    weeks: tuple[tuple[str, Figures], ...]
    """(week's first day, figures of that week), oldest first."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **self.figures.to_dict(),
            "weekly": [{"week": w, **f.to_dict()} for w, f in self.weeks],
        }


@dataclass(frozen=True, slots=True)
class MetricsReport:
    since: str
    until: str
    stacks: tuple[Scope, ...]
    kinds: tuple[Scope, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "definitions": "docs/METRICS.md",
            "stacks": [s.to_dict() for s in self.stacks],
            "kinds": [k.to_dict() for k in self.kinds],
        }


def _weeks(start: datetime, end: datetime) -> list[tuple[datetime, datetime, datetime]]:
    """Monday-to-Monday weeks covering [start, end): (Monday, clipped start, clipped end)."""
    day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = day - timedelta(days=day.weekday())
    spans = []
    while monday < end:
        nxt = monday + timedelta(days=7)
        spans.append((monday, max(monday, start), min(nxt, end)))
        monday = nxt
    return spans


def _scope(name: str, events: Sequence[StackEvents], start: datetime, end: datetime) -> Scope:
    weeks = _weeks(start, end)
    edges = [a.timestamp() for _, a, _ in weeks] + [end.timestamp()]
    weekly = figures(events, edges)
    (window,) = figures(events, [start.timestamp(), end.timestamp()])
    return Scope(
        name,
        window,
        tuple((utc_iso(m)[:10], f) for (m, _, _), f in zip(weeks, weekly, strict=True)),
    )


def compute_metrics(
    records: Sequence[DeployRecord],
    changes: Changes | None,
    kinds: Mapping[tuple[str, str], str | None],
    *,
    since: datetime,
    until: datetime,
    stack: str | None = None,
) -> MetricsReport:
    """The metrics of every stack in the log (or only ``stack``) over [since, until).
    Records before ``since`` still count for state (what was deployed, a failure still
    open) but not in the figures. ``kinds``: environment kind per (project, stack)."""
    grouped: dict[tuple[str, str], list[DeployRecord]] = {}
    for r in records:
        if stack is None or r.stack == stack:
            grouped.setdefault((r.project, r.stack), []).append(r)
    events = [
        stack_events(p, s, kinds.get((p, s)) or "unknown", rs, changes)
        for (p, s), rs in sorted(grouped.items())
    ]
    by_kind: dict[str, list[StackEvents]] = {}
    for e in events:
        by_kind.setdefault(e.kind, []).append(e)
    return MetricsReport(
        since=utc_iso(since),
        until=utc_iso(until),
        stacks=tuple(_scope(f"{e.project}/{e.stack}", [e], since, until) for e in events),
        kinds=tuple(_scope(k, es, since, until) for k, es in sorted(by_kind.items())),
    )


def format_value(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    if metric == "change_failure_rate":
        return f"{value * 100:.1f}%"
    if metric == "deployment_frequency":
        return f"{value:.2f}/day"
    return _duration(value)


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


ChartValue = Callable[[Figures], float | None]


def chart_value(metric: str) -> ChartValue:
    """A scope's weekly value as charts plot it (rates in percent)."""

    def get(f: Figures) -> float | None:
        value = f.value(metric)
        if value is not None and metric == "change_failure_rate":
            return value * 100
        return value

    return get
