"""Text renderings of the operations reports: terminal tables and Markdown (the job
summary). Pure functions of a report; nothing here reads a source."""

from __future__ import annotations

import json
from collections.abc import Sequence

from stackflow.ops.metrics import (
    METRICS,
    TITLES,
    Figures,
    MetricsReport,
    band,
    chart_value,
    format_value,
)
from stackflow.ops.status import StackStatus, StatusReport
from stackflow.render.terminal import columns


def _safe(text: object) -> str:
    """Printable text: a hostile branch or message cannot move the cursor or forge a row."""
    value = "" if text is None else str(text)
    return value if value.isprintable() else json.dumps(value)


def _md(text: object) -> str:
    """A Markdown table cell: printable, pipes and markup escaped."""
    value = _safe(text)
    for ch in "\\|`*_[]<>":
        value = value.replace(ch, "\\" + ch)
    return value


def _deployed(s: StackStatus) -> list[str]:
    last = s.last
    if last is None:
        return ["-", "", "", "", "never deployed"]
    pr = f"#{last.pull_request}" if last.pull_request else ""
    return [last.short, pr, last.author or last.actor, last.at, last.result]


def _pending(s: StackStatus) -> str:
    return "?" if s.pending is None else str(s.pending)


def status_rows(report: StatusReport) -> list[list[str]]:
    rows = [
        ["STACK", "KIND", "COMMIT", "PR", "AUTHOR", "WHEN", "RESULT", "BEHIND", "DRIFT", "PROT"]
    ]
    for s in report.stacks:
        rows.append(
            [
                f"{s.project}/{s.stack}",
                s.kind or "-",
                *_deployed(s),
                _pending(s),
                s.drift_label,
                "yes" if s.protected else "no",
            ]
        )
    return [[_safe(c) for c in row] for row in rows]


def ephemeral_rows(report: StatusReport) -> list[list[str]]:
    rows = [["BRANCH STACK", "PR", "BRANCH", "STATE", "AGE H", "TTL LEFT H", "STACK-HOURS"]]
    for e in report.ephemeral:
        rows.append(
            [
                e.stack,
                f"#{e.pr}" if e.pr else "",
                e.branch,
                e.state,
                f"{e.age_hours:.1f}",
                f"{e.ttl_left_hours:.1f}",
                f"{e.stack_hours:.1f}",
            ]
        )
    return [[_safe(c) for c in row] for row in rows]


def render_status_table(report: StatusReport) -> str:
    parts = [columns(status_rows(report)) if report.stacks else "No stacks found."]
    if report.ephemeral:
        parts.append(columns(ephemeral_rows(report)))
        parts.append(
            f"{len(report.ephemeral)} branch stack(s), "
            f"{report.ephemeral_stack_hours:.1f} stack-hours so far."
        )
    parts.append(f"(BEHIND: commits on the default branch not deployed; at {report.generated_at})")
    return "\n\n".join(parts) + "\n"


def _md_table(rows: Sequence[Sequence[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def render_status_markdown(report: StatusReport) -> str:
    out = ["## Environments", ""]
    rows = [
        [
            "Stack",
            "Kind",
            "Commit",
            "PR",
            "Author",
            "When",
            "Result",
            "Behind",
            "Drift",
            "Protected",
        ]
    ]
    for s in report.stacks:
        rows.append(
            [
                f"{s.project}/{s.stack}",
                s.kind or "-",
                *_deployed(s),
                _pending(s),
                s.drift_label,
                "yes" if s.protected else "no",
            ]
        )
    out.append(_md_table(rows) if report.stacks else "No stacks found.")
    if report.ephemeral:
        out += ["", "### Branch environments", "", _md_table(ephemeral_rows(report))]
        out += ["", f"{report.ephemeral_stack_hours:.1f} stack-hours so far."]
    out += [
        "",
        f"<sub>Behind: commits on the default branch not yet deployed; "
        f"generated {report.generated_at}.</sub>",
    ]
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------- metrics


def _metric_cells(f: Figures) -> list[str]:
    cells = []
    for m in METRICS:
        b = band(m, f.value(m))
        cells.append(f"{format_value(m, f.value(m))} ({b})" if b else "-")
    return cells


def metrics_rows(report: MetricsReport) -> list[list[str]]:
    rows = [["SCOPE", "DEPLOYS", "FREQUENCY", "LEAD TIME", "FAILURE RATE", "RESTORE"]]
    for label, scopes in (("kind", report.kinds), ("stack", report.stacks)):
        for s in scopes:
            rows.append(
                [f"{label} {s.name}", str(s.figures.deployments), *_metric_cells(s.figures)]
            )
    return [[_safe(c) for c in row] for row in rows]


def render_metrics_table(report: MetricsReport) -> str:
    head = f"Delivery metrics from {report.since} to {report.until} (definitions: docs/METRICS.md)"
    if not report.stacks:
        return f"{head}\n\nNo deployments recorded.\n"
    return f"{head}\n\n{columns(metrics_rows(report))}\n"


def _mermaid(title: str, weeks: Sequence[str], values: Sequence[float | None]) -> str:
    labels = ", ".join(f'"{w[5:]}"' for w in weeks)
    data = ", ".join(f"{v:.2f}" if v is not None else "0" for v in values)
    top = max([v for v in values if v is not None] or [0.0])
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "{title}"',
            f"    x-axis [{labels}]",
            f'    y-axis "{title.split("(")[-1].rstrip(")")}" 0 --> {max(top * 1.1, 1):.2f}',
            f"    line [{data}]" if "frequency" not in title.lower() else f"    bar [{data}]",
            "```",
        ]
    )


def render_metrics_markdown(report: MetricsReport, *, charts: bool = True) -> str:
    out = [
        "## Delivery metrics",
        "",
        f"From {report.since} to {report.until}. Definitions and bands: docs/METRICS.md.",
        "",
    ]
    if not report.stacks:
        return "\n".join([*out, "No deployments recorded."]) + "\n"
    rows = [["Scope", "Deploys", "Frequency", "Lead time", "Failure rate", "Restore"]]
    for label, scopes in (("kind", report.kinds), ("stack", report.stacks)):
        for s in scopes:
            rows.append(
                [f"{label} {s.name}", str(s.figures.deployments), *_metric_cells(s.figures)]
            )
    out.append(_md_table(rows))
    if charts:
        for k in report.kinds:
            out += ["", f"### Environment kind {_md(k.name)} by week", ""]
            weeks = [w for w, _ in k.weeks]
            for m in METRICS:
                get = chart_value(m)
                title = f"{k.name}: {TITLES[m]}".replace('"', "'")
                out += [_mermaid(title, weeks, [get(f) for _, f in k.weeks]), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


OPENMETRICS = (
    (
        "deployment_frequency",
        "stackflow_deployment_frequency_per_day",
        1.0,
        "Successful deployments per day in the window.",
    ),
    (
        "lead_time",
        "stackflow_lead_time_median_seconds",
        3600.0,
        "Median lead time for changes, first commit to first successful deployment.",
    ),
    (
        "change_failure_rate",
        "stackflow_change_failure_ratio",
        1.0,
        "Failed or rolled-back deployments over deployments.",
    ),
    (
        "time_to_restore",
        "stackflow_time_to_restore_median_seconds",
        3600.0,
        "Median time from a failure to the next good deployment.",
    ),
)


def render_openmetrics(report: MetricsReport) -> str:
    """The window's figures as OpenMetrics gauges, one series per stack and per kind
    (label ``scope``: ``stack`` or ``kind``), ending in ``# EOF``."""
    lines = []
    scopes = [("kind", s) for s in report.kinds] + [("stack", s) for s in report.stacks]
    for metric, name, scale, help_text in OPENMETRICS:
        lines += [f"# TYPE {name} gauge", f"# HELP {name} {help_text}"]
        for label, s in scopes:
            value = s.figures.value(metric)
            if value is not None:
                lines.append(
                    f'{name}{{scope="{label}",name="{_label(s.name)}"}} {value * scale:.6g}'
                )
    lines += [
        "# TYPE stackflow_deployments gauge",
        "# HELP stackflow_deployments Deployments in the window (rollbacks not counted).",
    ]
    for label, s in scopes:
        lines.append(
            f'stackflow_deployments{{scope="{label}",name="{_label(s.name)}"}} '
            f"{s.figures.deployments}"
        )
    return "\n".join([*lines, "# EOF"]) + "\n"
