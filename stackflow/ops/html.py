"""``stackflow metrics --html``: one self-contained page (no script, no font, no request at
view time: a Content-Security-Policy forbids them) with the window's figures and their
DORA bands, and an inline SVG chart of each metric by week for each environment kind."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from stackflow.ops.metrics import (
    BAND_LIMITS,
    BANDS,
    METRICS,
    TITLES,
    MetricsReport,
    Scope,
    band,
    chart_value,
    format_value,
)

WIDTH, HEIGHT, PAD_L, PAD_B, PAD_T, PAD_R = 560, 220, 56, 36, 16, 12
BAND_COLORS = {"elite": "#1a7f37", "high": "#2f81f7", "medium": "#bf8700", "low": "#cf222e"}

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d0d7de;padding:4px 8px;
text-align:left}th{background:#f6f8fa}.band{border-radius:8px;padding:1px 7px;color:#fff;
font-size:12px}.grid{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;border:1px solid
#d0d7de;border-radius:6px;padding:8px}figcaption{font-weight:600;margin-bottom:4px}
svg text{font-size:10px;fill:#57606a}
"""


def _band_badge(name: str | None) -> str:
    if name is None:
        return "-"
    return f'<span class="band" style="background:{BAND_COLORS[name]}">{escape(name)}</span>'


def _chart_svg(metric: str, labels: Sequence[str], values: Sequence[float | None]) -> str:
    """A bar (frequency) or line chart of ``values`` with the band limits as dashed lines;
    a week with no value is a gap in the line."""
    scale = 100.0 if metric == "change_failure_rate" else 1.0
    limits = [limit * scale for limit in BAND_LIMITS[metric]]
    known = [v for v in values if v is not None]
    top = max([*known, *limits[:2], 1e-9]) * 1.1
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B
    n = max(len(values), 1)
    step = plot_w / n

    def x(i: int) -> float:
        return PAD_L + step * (i + 0.5)

    def y(v: float) -> float:
        return PAD_T + plot_h * (1 - min(v, top) / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(TITLES[metric])}">',
        f'<line x1="{PAD_L}" y1="{PAD_T + plot_h}" x2="{WIDTH - PAD_R}" y2="{PAD_T + plot_h}" '
        'stroke="#8c959f"/>',
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{PAD_T + plot_h}" stroke="#8c959f"/>',
    ]
    for name, limit in zip(BANDS, limits, strict=False):
        if limit <= top:
            parts.append(
                f'<line class="band-limit" x1="{PAD_L}" y1="{y(limit):.1f}" x2="{WIDTH - PAD_R}" '
                f'y2="{y(limit):.1f}" stroke="{BAND_COLORS[name]}" stroke-dasharray="4 3"/>'
                f'<text x="{WIDTH - PAD_R - 2}" y="{y(limit) - 2:.1f}" text-anchor="end">'
                f"{escape(name)}</text>"
            )
    for tick in (0.0, top / 2, top / 1.1):
        parts.append(
            f'<text x="{PAD_L - 4}" y="{y(tick) + 3:.1f}" text-anchor="end">{tick:.3g}</text>'
        )
    every = max(1, n // 8)
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - PAD_B + 14}" text-anchor="middle">'
                f"{escape(label[5:])}</text>"
            )
    if metric == "deployment_frequency":
        for i, v in enumerate(values):
            if v:
                parts.append(
                    f'<rect class="datum" x="{x(i) - step * 0.35:.1f}" y="{y(v):.1f}" '
                    f'width="{step * 0.7:.1f}" height="{PAD_T + plot_h - y(v):.1f}" '
                    f'fill="#2f81f7"><title>{escape(labels[i])}: {v:.3g}</title></rect>'
                )
    else:
        runs: list[list[str]] = [[]]
        for i, v in enumerate(values):
            if v is None:
                runs.append([])
                continue
            runs[-1].append(f"{x(i):.1f},{y(v):.1f}")
            parts.append(
                f'<circle class="datum" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="#2f81f7">'
                f"<title>{escape(labels[i])}: {v:.3g}</title></circle>"
            )
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="#2f81f7" '
                    'stroke-width="2"/>'
                )
    if not known:
        parts.append(
            f'<text class="no-data" x="{WIDTH / 2}" y="{PAD_T + plot_h / 2}" text-anchor="middle">'
            "no data in this window</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(title: str, scopes: Sequence[Scope]) -> str:
    head = "".join(f"<th>{escape(TITLES[m])}</th>" for m in METRICS)
    rows = []
    for s in scopes:
        cells = "".join(
            f"<td>{escape(format_value(m, s.figures.value(m)))} "
            f"{_band_badge(band(m, s.figures.value(m)))}</td>"
            for m in METRICS
        )
        rows.append(
            f"<tr><td>{escape(s.name)}</td><td>{s.figures.deployments}</td>"
            f"<td>{s.figures.failures}</td>{cells}</tr>"
        )
    return (
        f"<h2>{escape(title)}</h2><table><tr><th>Scope</th><th>Deployments</th>"
        f"<th>Failures</th>{head}</tr>{''.join(rows)}</table>"
    )


def render_metrics_html(report: MetricsReport) -> str:
    charts = []
    for k in report.kinds:
        labels = [w for w, _ in k.weeks]
        figures = []
        for m in METRICS:
            get = chart_value(m)
            figures.append(
                f'<figure class="chart" data-scope="{escape(k.name)}" data-metric="{m}">'
                f"<figcaption>{escape(TITLES[m])} "
                f"{_band_badge(band(m, k.figures.value(m)))}</figcaption>"
                f"{_chart_svg(m, labels, [get(f) for _, f in k.weeks])}</figure>"
            )
        charts.append(
            f"<h2>Environment kind {escape(k.name)}, by week</h2>"
            f'<div class="grid">{"".join(figures)}</div>'
        )
    body = (
        _table("By environment kind", report.kinds)
        + "".join(charts)
        + _table("By stack", report.stacks)
        if report.stacks
        else "<p>No deployments recorded in this window.</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Delivery metrics</title>"
        f"<style>{CSS}</style></head><body>"
        f"<h1>Delivery metrics</h1><p>From {escape(report.since)} to {escape(report.until)}. "
        "Bands as in docs/METRICS.md: "
        + " ".join(_band_badge(b) for b in BANDS)
        + f"</p>{body}</body></html>\n"
    )
