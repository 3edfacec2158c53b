"""`stackflow doctor` at the CLI: required vs optional marks, the exit status per purpose,
the repository checks (a bad file is reported, not a crash), and AWS failures told apart
by their cause (the network vs the credentials), through a real boto3 session."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest

from stackflow.cli import main
from stackflow.doctor import check_aws, check_backend

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with this repository's project, stack files and policy pack, and
    no `pulumi` on PATH."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    (root / "stacks").mkdir()
    for stack_file in (REPO / "stacks").glob("Pulumi.*.yaml"):
        shutil.copy(stack_file, root / "stacks" / stack_file.name)
    shutil.copytree(REPO / "policies", root / "policies", ignore=shutil.ignore_patterns("__py*"))
    (root / "stackflow.yaml").write_text("promotion: [dev, staging, prod]\n", "utf-8")
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "initial"], check=True)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", f"{empty}:/usr/bin:/bin")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return root


def _lines(out: str) -> dict[str, str]:
    return {line.split(":")[0].split(" (optional)")[0][2:]: line for line in out.splitlines()}


def test_offline_ready_without_the_engine_exits_0_and_marks_optional_checks(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--root", str(repo)]) == 0
    out = capsys.readouterr().out
    lines = _lines(out)
    for name in ("git", "repository", "stackflow.yaml", "policy pack", "offline answers"):
        assert lines[name].startswith("✓ "), lines[name]
    assert lines["projects and stacks"] == (
        "✓ projects and stacks: stackflow-platform in .: "
        "dev (dev), local (dev), prod (prod), staging (staging)"
    )
    assert lines["Pulumi CLI"].startswith("\N{EN DASH} Pulumi CLI (optional): the Pulumi CLI")
    assert lines["GitHub token"].startswith("\N{EN DASH} GitHub token (optional)")
    assert out.splitlines()[-1] == "Ready for offline: every required check passed."


def test_for_engine_the_missing_cli_is_required(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--root", str(repo), "--for", "engine"]) == 1
    out = capsys.readouterr().out
    assert "✗ Pulumi CLI: the Pulumi CLI is not installed" in out
    assert "Not ready for engine: Pulumi CLI failed" in out


def test_a_bad_stackflow_yaml_is_reported_and_the_other_checks_still_run(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "stackflow.yaml").write_text("promotion: [dev\n", "utf-8")
    (repo / "stacks" / "offline.yaml").write_text("invokes: [1, 2]\n", "utf-8")
    assert main(["doctor", "--root", str(repo), "--json"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert not checks["stackflow.yaml"]["ok"]
    assert "not valid YAML" in checks["stackflow.yaml"]["detail"]
    assert not checks["offline answers"]["ok"]
    assert "invokes" in checks["offline answers"]["detail"]
    assert checks["policy pack"]["ok"]


def test_outside_a_git_repository_and_without_projects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    bare = tmp_path / "nothing"
    bare.mkdir()
    assert main(["doctor", "--root", str(bare), "--json"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert not checks["repository"]["ok"]
    assert "stackflow init" in checks["projects and stacks"]["fix"]


def test_aws_unreachable_endpoint_is_not_called_missing_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    check = check_aws(required=True, session=boto3.session.Session())
    assert not check.ok
    assert check.detail.startswith("cannot reach the endpoint")
    assert "network" in (check.fix or "")


def test_aws_without_credentials_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    check = check_aws(required=True, session=boto3.session.Session())
    assert check.detail.startswith("no credentials")


def test_an_s3_backend_out_of_reach_is_not_called_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The state bucket behind a dead endpoint: the network is the problem, not the bucket
    (which a `backend bootstrap` would try to create) nor the credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    check = check_backend("s3://state?region=eu-west-1", session=boto3.session.Session())
    assert not check.ok
    assert "cannot reach the endpoint" in check.detail
    assert "bootstrap" not in (check.fix or "")
