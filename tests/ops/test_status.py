"""`stackflow status` over the generated history, checked against the history's own plan."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from stackflow.cli import main
from stackflow.clock import utc_iso

from .history import STACKS, History


def _expected(history: History, stack: str) -> dict[str, object]:
    mine = sorted((d for d in history.deploys if d.stack == stack), key=lambda d: d.start)
    last = mine[-1]
    good = [d for d in mine if d.result == "succeeded"][-1]
    return {
        "commit": history.line[last.change],
        "result": last.result,
        "at": utc_iso(last.end),
        "pr": last.change + 100,
        "deployed": history.line[good.change],
        "pending": len(history.line) - 1 - good.change,
    }


def test_status_json_matches_the_history(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--root", str(history.root), "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {row["stack"]: row for row in data["stacks"]}
    assert sorted(rows) == sorted(STACKS)
    for stack in STACKS:
        want, row = _expected(history, stack), rows[stack]
        last = row["last_deployment"]
        assert (last["commit"], last["result"], last["at"]) == (
            want["commit"],
            want["result"],
            want["at"],
        ), stack
        assert last["pull_request"] == want["pr"]
        assert last["author"] == "Ada"  # merges are authored by Ada in the history
        assert row["deployed_commit"] == want["deployed"]
        assert row["pending_commits"] == want["pending"]
        assert row["kind"] == stack
    assert rows["prod"]["last_deployment"]["actor"] == "release-bot"
    assert (rows["dev"]["pending_commits"], rows["staging"]["pending_commits"]) == (0, 1)
    assert [rows[s]["protected"] for s in STACKS] == [True, True, True]  # promotion stages are
    assert [rows[s]["drift"] for s in STACKS] == ["never checked", "clean", "drifted"]
    assert rows["prod"]["drift_issue"] == 7
    (env,) = data["ephemeral"]
    record = history.ephemeral
    assert record is not None
    now = datetime.fromisoformat(data["generated_at"].replace("Z", "+00:00"))
    age = (now - record.created_at).total_seconds() / 3600
    assert (env["stack"], env["pr"], env["branch"]) == ("pr-42-login", 42, "login")
    assert env["age_hours"] == pytest.approx(age, abs=0.05)
    assert env["ttl_left_hours"] == pytest.approx(72 - age, abs=0.05)
    assert data["ephemeral_stack_hours"] == pytest.approx(age, abs=0.05)


def test_status_table_and_markdown(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--root", str(history.root)]) == 0
    table = capsys.readouterr().out
    prod = next(line for line in table.splitlines() if line.startswith("demo/prod"))
    assert history.line[7][:7] in prod
    assert "#107" in prod
    assert "drifted" in prod
    assert main(["status", "--root", str(history.root), "--markdown", "-"]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("## Environments\n")
    assert "| demo/staging | staging |" in markdown
