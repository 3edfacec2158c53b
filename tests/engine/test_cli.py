"""The engine commands at the CLI: one-line errors with the fix and no traceback when the
Pulumi CLI is missing; plans, exit codes and outputs through the scripted `pulumi`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stackflow.cli import main
from stackflow.repoconfig import RepoConfig

from .conftest import FakePulumi

INSTALL = "install it from https://www.pulumi.com/docs/install/"


@pytest.mark.usefixtures("no_pulumi")
def test_preview_without_the_cli_is_one_line(
    repo: RepoConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preview", "--stack", "dev", "--project", str(repo.root)]) == 1
    err = capsys.readouterr().err
    assert err == (
        "stackflow: error: running pulumi preview for stack dev: the Pulumi CLI is not "
        f"installed; {INSTALL} -- `stackflow plan` needs no CLI\n"
    )


@pytest.mark.usefixtures("no_pulumi")
def test_doctor_without_the_cli_fails_with_the_fix(
    repo: RepoConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--root", str(repo.root), "--for", "engine"]) == 1
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "Pulumi CLI" in ln)
    assert line.startswith("✗ Pulumi CLI: the Pulumi CLI is not installed")
    assert INSTALL in line
    assert "✓ Python packages" in out


@pytest.mark.parametrize(
    "argv",
    [["preview", "--stack", "dev"], ["doctor", "--for", "engine"]],
    ids=["preview", "doctor"],
)
def test_without_the_cli_in_a_subprocess_no_traceback(
    repo: RepoConfig, tmp_path: Path, argv: list[str]
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "GITHUB_"))}
    env["PATH"] = f"{empty}:/usr/bin:/bin"
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    done = subprocess.run(
        [sys.executable, "-m", "stackflow.cli", *argv],
        cwd=repo.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert INSTALL in done.stderr + done.stdout


def test_doctor_with_the_cli_and_github(
    repo: RepoConfig,
    fake_on_path: FakePulumi,
    github_api: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_test")
    monkeypatch.setenv("GITHUB_API_URL", github_api)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/infra")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # The fixture is no git repository and its pack has no rules: only the engine's checks
    # are looked at here (tests/core/test_doctor.py covers the exit status).
    main(["doctor", "--root", str(repo.root), "--json", "--for", "ci"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["Pulumi CLI"]["ok"]
    assert checks["Pulumi CLI"]["detail"].startswith("3.272.0")
    assert checks["state backend"]["ok"]
    assert checks["GitHub token"]["detail"] == "accepted for acme/infra (permissions: push, pull)"
    assert checks["GitHub token"]["required"]
    assert not checks["AWS identity"]["required"]


def test_preview_prints_the_plan_and_exits_2_on_mandatory_violations(
    repo: RepoConfig,
    fake_on_path: FakePulumi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "sekrit-passphrase")
    fake_on_path.script(responses={"preview": [{"events": "preview_all_ops.jsonl"}]})
    fake_on_path.stacks("dev")
    out_json = tmp_path / "plan.json"
    code = main(["preview", "--stack", "dev", "--project", str(repo.root), "-o", str(out_json)])
    assert code == 2
    captured = capsys.readouterr()
    assert "web" in captured.out
    assert "  + create aws:s3/bucketV2:BucketV2 logs" in captured.err  # progress on stderr
    assert "sekrit-passphrase" not in captured.out + captured.err
    plan = json.loads(out_json.read_text())
    assert plan["stacks"][0]["source"] == "engine"


def test_up_prints_outputs_with_secrets_masked(
    repo: RepoConfig,
    fake_on_path: FakePulumi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    fake_on_path.script(
        responses={"up": [{"events": "up_create.jsonl"}]},
        outputs={"url": "http://x", "token": {"secret": "hunter2"}},
    )
    fake_on_path.stacks("dev")
    assert main(["up", "--stack", "dev", "--project", str(repo.root)]) == 0
    out = capsys.readouterr().out
    assert 'url: "http://x"' in out
    assert 'token: "[secret]"' in out
    assert "hunter2" not in out


def test_up_appends_to_the_deployment_log(
    repo: RepoConfig,
    fake_on_path: FakePulumi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The deploy workflow runs `stackflow up` per GitHub Environment: each must be audited.
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    fake_on_path.script(responses={"up": [{"events": "up_create.jsonl"}]})
    fake_on_path.stacks("dev")
    root = str(repo.root)
    assert main(["up", "--stack", "dev", "--project", root, "--pr", "7"]) == 0
    capsys.readouterr()
    assert main(["history", "--root", root, "--json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert (record["stack"], record["result"], record["actor"]) == ("dev", "succeeded", "octocat")
    assert record["pull_request"] == 7


def test_destroying_a_protected_stack_needs_yes(
    repo: RepoConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["destroy", "--stack", "prod", "--project", str(repo.root)]) == 1
    assert "pass --yes" in capsys.readouterr().err


def test_history_prints_the_log(repo: RepoConfig, capsys: pytest.CaptureFixture[str]) -> None:
    from stackflow.adapters.storage import resolve_locations
    from stackflow.gitops.deploylog import DeploymentLog, DeployRecord

    log = DeploymentLog.open(resolve_locations(repo, {}).records)
    log.append(
        DeployRecord(
            "demo",
            "dev",
            "b" * 40,
            "succeeded",
            "2026-11-22T10:00:00Z",
            "2026-11-22T10:00:30Z",
            "alice",
            pull_request=5,
        )
    )
    assert main(["history", "--root", str(repo.root)]) == 0
    assert "2026-11-22T10:00:00Z  demo/dev  succeeded  bbbbbbbbbbbb PR #5  by alice  (30 s)" in (
        capsys.readouterr().out
    )
    assert main(["history", "--root", str(repo.root), "--json", "--stack", "dev"]) == 0
    assert json.loads(capsys.readouterr().out)["actor"] == "alice"


@pytest.mark.parametrize("action", ["up", "down"])
def test_local_stack_without_the_cli_is_one_line(
    repo: RepoConfig, tmp_path: Path, action: str
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env["PATH"] = f"{empty}:/usr/bin:/bin"
    done = subprocess.run(
        [sys.executable, "-m", "stackflow.local", action, "--root", str(repo.root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"stackflow: error: {'running' if action == 'up' else 'destroying'} the local stack: "
        f"the Pulumi CLI is not installed; {INSTALL} -- `stackflow plan` needs no CLI"
    ]
    assert not (repo.root / ".stackflow" / "local" / "moto.pid").exists()


def test_history_escapes_control_characters(
    repo: RepoConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record's fields cannot forge lines or move the cursor (issue 11)."""
    from stackflow.adapters.storage import resolve_locations
    from stackflow.gitops.deploylog import DeploymentLog, DeployRecord

    log = DeploymentLog.open(resolve_locations(repo, {}).records)
    log.append(
        DeployRecord(
            "demo",
            "dev",
            "c" * 40,
            "failed",
            "2026-11-22T10:00:00Z",
            None,
            "mallory\n2026-11-22T11:00:00Z  demo/prod  succeeded",
            message="boom\x1b[2J\rfake",
        )
    )
    assert main(["history", "--root", str(repo.root)]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1
    assert "\x1b" not in out
    assert "\r" not in out
    assert "mallory\\n2026" in out
    assert "(unfinished)" in out


def test_a_cancelled_up_leaves_a_cancelled_record_and_no_lock(
    repo: RepoConfig, fake_on_path: FakePulumi, tmp_path: Path
) -> None:
    """GitHub cancels a run with SIGINT then SIGTERM: the deploy record must say
    `cancelled` and the stack's lock must be released (issue 11)."""
    from stackflow.adapters.storage import resolve_locations
    from stackflow.gitops.deploylog import DeploymentLog

    fake_on_path.stacks("dev")
    fake_on_path.script(responses={"up": [{"sleep": 20, "events": "up_create.jsonl"}]})
    env = {**os.environ, "PULUMI_CONFIG_PASSPHRASE": "x"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stackflow.cli",
            "up",
            "--stack",
            "dev",
            "--project",
            str(repo.root),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any(a[:1] == ["up"] for a in fake_on_path.argvs()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    [up_call] = [c for c in fake_on_path.calls() if c["argv"][:1] == ["up"]]
    with contextlib.suppress(ProcessLookupError):
        os.kill(up_call["pid"], signal.SIGKILL)  # the scripted engine, still sleeping
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    where = resolve_locations(repo, {})
    [record] = DeploymentLog.open(where.records).records()
    assert (record.stack, record.result) == ("dev", "cancelled")
    assert record.finished_at is not None
    assert not list(Path(where.records).glob("locks/**/*.json"))


def test_local_stack_without_the_aws_plugin_is_one_line(repo: RepoConfig, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("pulumi", "pulumi-resource-kubernetes"):  # present, never run
        (bin_dir / name).write_text("#!/bin/sh\nexit 99\n", "utf-8")
        (bin_dir / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    env["PULUMI_HOME"] = str(tmp_path / "pulumi-home")
    done = subprocess.run(
        [sys.executable, "-m", "stackflow.local", "up", "--root", str(repo.root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "stackflow: error: running the local stack: the program needs provider plugins that "
        "are not installed (pulumi-resource-aws, neither on PATH nor in the Pulumi plugin "
        "cache); `make engine` builds what the Go module proxy serves (docs/ENGINE.md), "
        "`make test-engine` runs the engine without AWS"
    ]
    assert not (repo.root / ".stackflow" / "local" / "moto.pid").exists()
