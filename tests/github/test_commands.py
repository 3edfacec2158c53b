"""`stackflow render | comment | summary` end to end: plan files in, Markdown out, posted
to the fake GitHub on 127.0.0.1."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stackflow.cli import main
from stackflow.plan.model import Level, Op, Plan, PolicyFinding, Source, StackPlan
from stackflow.render.markdown import PLAN_MARKER

from .fakegithub import FakeGitHub


def write_plan(
    path: Path, *, stack: str = "dev", mandatory: bool = False, changes: int = 1
) -> Path:
    from stackflow.plan.model import Change

    items = [
        Change(
            f"urn:pulumi:{stack}::app::aws:s3/bucket:Bucket::b{i}",
            "aws:s3/bucket:Bucket",
            f"b{i}",
            Op.CREATE,
        )
        for i in range(changes)
    ]
    policy = (
        (PolicyFinding("no-public", Level.MANDATORY, "bucket is public; make it private"),)
        if mandatory
        else ()
    )
    plan = Plan(
        stacks=(
            StackPlan.build(
                project="app", stack=stack, source=Source.OFFLINE, changes=items, policy=policy
            ),
        )
    )
    path.write_text(plan.to_json())
    return path


@pytest.fixture
def in_actions(actions_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in actions_env.items():
        monkeypatch.setenv(key, value)
    return actions_env


def test_render_prints_the_comment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path / "plan.json", changes=2)
    assert main(["render", "--plan", str(plan)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(PLAN_MARKER)
    assert "| `app/dev` | 2 |" in out


def test_render_merges_several_plan_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = write_plan(tmp_path / "dev.json", stack="dev")
    prod = write_plan(tmp_path / "prod.json", stack="prod", mandatory=True)
    assert main(["render", "--plan", str(dev), "--plan", str(prod), "--check"]) == 2
    out = capsys.readouterr().out
    assert "`app/dev`" in out
    assert "`app/prod`" in out


def test_two_comment_runs_leave_one_comment_holding_the_second_plan(
    tmp_path: Path, in_actions: dict[str, str], fake_github: FakeGitHub
) -> None:
    first = write_plan(tmp_path / "one.json", changes=1)
    second = write_plan(tmp_path / "two.json", changes=3)
    assert main(["comment", "--plan", str(first), "--pr", "5"]) == 0
    assert main(["comment", "--plan", str(second), "--pr", "5"]) == 0
    (comment,) = fake_github.comments_on(5)
    assert "| `app/dev` | 3 |" in comment["body"]


def test_comment_finds_the_pull_request_in_the_event(
    tmp_path: Path, in_actions: dict[str, str], fake_github: FakeGitHub
) -> None:
    Path(in_actions["GITHUB_EVENT_PATH"]).write_text(json.dumps({"pull_request": {"number": 11}}))
    assert main(["comment", "--plan", str(write_plan(tmp_path / "p.json"))]) == 0
    assert len(fake_github.comments_on(11)) == 1


def test_comment_links_the_run_for_the_full_plan(
    tmp_path: Path,
    in_actions: dict[str, str],
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_RUN_ID", "99")
    plan = write_plan(tmp_path / "p.json", changes=3000)
    assert main(["comment", "--plan", str(plan), "--pr", "5"]) == 0
    (comment,) = fake_github.comments_on(5)
    assert "(https://github.com/acme/infra/actions/runs/99)" in comment["body"]
    assert len(comment["body"]) <= 65_536


def test_comment_without_a_pull_request_says_what_to_do(
    tmp_path: Path, in_actions: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    Path(in_actions["GITHUB_EVENT_PATH"]).write_text(json.dumps({"ref": "refs/heads/main"}))
    assert main(["comment", "--plan", str(write_plan(tmp_path / "p.json"))]) == 1
    assert "pass --pr N" in capsys.readouterr().err


def test_summary_writes_the_step_summary_and_checks(
    tmp_path: Path, in_actions: dict[str, str]
) -> None:
    plan = write_plan(tmp_path / "p.json", mandatory=True)
    assert main(["summary", "--plan", str(plan)]) == 0
    assert main(["summary", "--plan", str(plan), "--check"]) == 2
    text = Path(in_actions["GITHUB_STEP_SUMMARY"]).read_text()
    assert text.count("## stackflow plan") == 2
    assert PLAN_MARKER not in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a valid stackflow plan"),
        (
            '{"version": 1, "stacks": [{"project": 1, "stack": "dev", "source": "offline"}]}',
            r"stacks\[0\]\.project is 1",
        ),
        (
            '{"version": 1, "stacks": [{"project": "a", "stack": "b", "source": "hacked"}]}',
            "not a valid stackflow plan",
        ),
        (
            '{"version": 1, "stacks": [{"project": "a", "stack": "b", "source": "offline",'
            ' "changes": [{"urn": "u", "type": "t", "name": ["x"], "op": "create"}]}]}',
            r"changes\[0\]\.name is \['x'\]",
        ),
        ('{"version": 9, "stacks": []}', "format version 9"),
        ("[]", "the document is \\[\\], not an object"),
        (
            '{"version": 1, "stacks": [{"stack": "b", "source": "offline"}]}',
            r"stacks\[0\] has no 'project'",
        ),
        ("{}", "the document has no 'version'"),  # not an empty green plan
        ('{"stacks": []}', "has no 'version'"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_untrusted_plan_files_are_validated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    assert main(["render", "--check", "--plan", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("stackflow: error: reading")
    assert re.search(message, err)


def test_a_missing_plan_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--plan", str(tmp_path / "nope.json")]) == 1
    assert "nope.json" in capsys.readouterr().err


def test_a_plan_file_that_is_not_utf8_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(b'{"version": 1, "stacks": [], "x": "\xff"}')
    assert main(["render", "--check", "--plan", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("stackflow: error: reading plan")
    assert err.count("\n") == 1


def test_deploy_result_is_commented_on_the_merged_pull_request(
    tmp_path: Path,
    in_actions: dict[str, str],
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sha = "f" * 40
    monkeypatch.setenv("GITHUB_SHA", sha)
    Path(in_actions["GITHUB_EVENT_PATH"]).write_text(
        json.dumps({"ref": "refs/heads/main", "after": sha})
    )
    fake_github.add_pull(21, state="closed", merged=True, merge_commit_sha=sha)
    fake_github.commit_pulls[sha] = [21]
    affected = tmp_path / "affected.json"
    affected.write_text(
        json.dumps([{"project": "app", "dir": ".", "stack": s} for s in ("prod", "dev", "staging")])
    )
    dev = write_plan(tmp_path / "up-dev.json", stack="dev", changes=2)
    args = ["comment", "--deploy", "--plan", str(dev), "--affected", str(affected)]
    stages = [
        "--stage-result",
        "dev=success",
        "--stage-result",
        "staging=failure",
        "--stage-result",
        "prod=skipped",
    ]
    assert main([*args, *stages]) == 0
    (comment,) = fake_github.comments_on(21)
    body = comment["body"]
    assert body.startswith("<!-- stackflow:deploy -->")
    assert "Deploy failed on 1 stack" in body
    rows = [line for line in body.splitlines() if line.startswith("| `app/")]
    assert rows[0].startswith("| `app/dev` | ✅ succeeded | 2 to create |")
    assert rows[1].startswith("| `app/staging` | ❌ failed |")
    assert rows[2].startswith("| `app/prod` | ⏭️ skipped |")


def test_a_direct_push_gets_no_deploy_comment(
    tmp_path: Path,
    in_actions: dict[str, str],
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_SHA", "e" * 40)
    Path(in_actions["GITHUB_EVENT_PATH"]).write_text(json.dumps({"ref": "refs/heads/main"}))
    assert main(["comment", "--deploy", "--plan", str(write_plan(tmp_path / "p.json"))]) == 0
    assert fake_github.comments == {}


def test_a_malformed_stage_result_is_quoted(
    tmp_path: Path, in_actions: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = str(write_plan(tmp_path / "p.json"))
    assert main(["comment", "--deploy", "--plan", plan, "--pr", "1", "--stage-result", "dev"]) == 1
    assert "'dev' is not STAGE=RESULT" in capsys.readouterr().err
