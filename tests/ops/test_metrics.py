"""`stackflow metrics` over the generated history: every figure recomputed here from the
history's plan with plain arithmetic."""

from __future__ import annotations

import json
import statistics
from datetime import datetime

import pytest

from stackflow.cli import main
from stackflow.clock import utc_iso

from .history import BASE, STACKS, Deploy, History, first_commit_time

SINCE = utc_iso(BASE)


def _figures(deploys: list[Deploy], days: float) -> dict[str, object]:
    mine = sorted(deploys, key=lambda d: d.start)
    changes = [d for d in mine if d.kind != "rollback"]
    failed = [
        d
        for i, d in enumerate(mine)
        if d.kind != "rollback"
        and (d.result == "failed" or (i + 1 < len(mine) and mine[i + 1].kind == "rollback"))
    ]
    successes = [d for d in mine if d.result == "succeeded"]
    first_ok: dict[int, datetime] = {}
    for d in successes:
        if d.change > 0 and d.kind != "rollback":
            first_ok.setdefault(d.change, d.end)
    leads = [(end - first_commit_time(c - 1)).total_seconds() / 3600 for c, end in first_ok.items()]
    restores, since = [], None
    for d in mine:
        if d in failed:
            since = since or d.end
        elif d.result == "succeeded" and since is not None:
            restores.append((d.end - since).total_seconds() / 3600)
            since = None
    return {
        "deployments": len(changes),
        "failures": len(failed),
        "successes": len(successes),
        "rollbacks": sum(1 for d in mine if d.kind == "rollback"),
        "deployment_frequency_per_day": len(successes) / days,
        "lead_time_median_hours": statistics.median(leads) if leads else None,
        "change_failure_rate": len(failed) / len(changes),
        "time_to_restore_median_hours": statistics.median(restores) if restores else None,
        "restores": len(restores),
        "changes": len(leads),
    }


@pytest.fixture(scope="module")
def report(history: History) -> dict[str, object]:
    from click.testing import CliRunner

    from stackflow.cli import cli

    result = CliRunner().invoke(
        cli, ["metrics", "--root", str(history.root), "--since", SINCE, "--json", "-"]
    )
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def test_figures_per_stack_and_kind_match_the_history(
    history: History, report: dict[str, object]
) -> None:
    until = datetime.fromisoformat(str(report["until"]).replace("Z", "+00:00"))
    days = (until - BASE).total_seconds() / 86400
    scopes = {s["name"]: s for s in report["stacks"]}  # type: ignore[attr-defined]
    kinds = {k["name"]: k for k in report["kinds"]}  # type: ignore[attr-defined]
    assert sorted(scopes) == [f"demo/{s}" for s in sorted(STACKS)]
    for stack in STACKS:
        want = _figures([d for d in history.deploys if d.stack == stack], days)
        for scope in (scopes[f"demo/{stack}"], kinds[stack]):
            for key, value in want.items():
                expected = value if value is None else pytest.approx(value, rel=1e-3)
                assert scope[key] == expected, (stack, key)
    # the shape of the history, stated outright
    assert kinds["prod"]["failures"] == 2
    assert kinds["prod"]["rollbacks"] == 1
    assert kinds["prod"]["time_to_restore_median_hours"] == pytest.approx(1.5)
    assert kinds["dev"]["time_to_restore_median_hours"] == pytest.approx(0.5)
    assert kinds["staging"]["change_failure_rate"] == 0
    assert kinds["staging"]["bands"]["change_failure_rate"] == "elite"


def test_weeks_add_up_to_the_window(report: dict[str, object]) -> None:
    for scope in report["kinds"]:  # type: ignore[attr-defined]
        weekly = scope["weekly"]
        assert sum(w["deployments"] for w in weekly) == scope["deployments"]
        assert sum(w["changes"] for w in weekly) == scope["changes"]
        assert weekly[0]["week"] == "2026-09-28"  # the Monday of BASE's week


def test_markdown_has_a_mermaid_chart_per_metric_and_kind(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["metrics", "--root", str(history.root), "--since", SINCE, "--markdown", "-"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("```mermaid\nxychart-beta") == 4 * len(STACKS)
    assert "| kind prod |" in out


def test_openmetrics_export(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["metrics", "--root", str(history.root), "--since", SINCE, "--openmetrics", "-"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "# EOF"
    prefix = 'stackflow_change_failure_ratio{scope="kind",name="prod"} '
    ratio = next(ln for ln in lines if ln.startswith(prefix))
    assert float(ratio.split()[-1]) == pytest.approx(2 / 9)  # 2 failures in 9 deployments
    restore = next(
        ln
        for ln in lines
        if ln.startswith('stackflow_time_to_restore_median_seconds{scope="stack",name="demo/prod"}')
    )
    assert float(restore.split()[-1]) == pytest.approx(1.5 * 3600)


def test_stack_filter_and_bad_since(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(history.root)
    assert main(["metrics", "--root", root, "--since", SINCE, "--stack", "dev", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in data["stacks"]] == ["demo/dev"]
    assert main(["metrics", "--root", root, "--since", "ninety"]) == 1
    err = capsys.readouterr().err
    assert "--since 'ninety'" in err
    assert "90d" in err
    assert "Traceback" not in err
