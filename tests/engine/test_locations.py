"""Where records live: the engine's state, the ephemeral registry and the deployment log
are resolved from one setting (PULUMI_BACKEND_URL over stackflow.yaml's backend), with an
explicit `records:` for backends stackflow cannot write to (issue 11, break 1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stackflow.cli import main
from stackflow.errors import StackflowError
from stackflow.repoconfig import RepoConfig

from ..ephemeral.conftest import make_repo
from ..ephemeral.fakes import FakeGitHub, InMemoryEngine


def resolve_locations(repo: RepoConfig, environ: dict[str, str]) -> Any:
    from stackflow.adapters.storage import resolve_locations as resolve

    return resolve(repo, environ)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="state-bucket")
        yield client


def keys(client: Any, prefix: str = "") -> list[str]:
    found = client.list_objects_v2(Bucket="state-bucket", Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in found)


def test_the_env_backend_decides_for_the_state_and_both_kinds_of_record(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")  # backend: file://.pulumi-state
    where = resolve_locations(
        repo, {"PULUMI_BACKEND_URL": "s3://state-bucket/team?region=eu-west-1"}
    )
    assert where.state == "s3://state-bucket/team?region=eu-west-1"
    assert where.records == "s3://state-bucket/team/.stackflow?region=eu-west-1"
    assert where.registry == "s3://state-bucket/team/.stackflow/registry"
    assert where.deployment_log == "s3://state-bucket/team/.stackflow/deployments"
    local = resolve_locations(repo, {})
    assert local.state == f"file://{repo.root}/.pulumi-state"
    assert local.records == f"{repo.root}/.pulumi-state/.stackflow"


@pytest.mark.parametrize(
    "backend",
    ["gs://my-bucket/state", "azblob://container", "https://api.pulumi.com", "pulumi://x"],
)
def test_a_backend_stackflow_cannot_write_needs_records(tmp_path: Path, backend: str) -> None:
    repo = make_repo(tmp_path / "repo")
    with pytest.raises(StackflowError) as caught:
        resolve_locations(repo, {"PULUMI_BACKEND_URL": backend})
    message = caught.value.message
    assert "\n" not in message
    assert backend in message
    assert "records:" in message
    assert "my-bucket/state/.stackflow" not in message  # never a path cut from the URL


def test_records_in_stackflow_yaml_serve_any_backend(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_repo(root)
    text = (root / "stackflow.yaml").read_text()
    (root / "stackflow.yaml").write_text(
        text.replace("backend: file://.pulumi-state", "backend: https://api.pulumi.com")
        + "records: s3://audit/stackflow\n"
    )
    repo = RepoConfig.load(root)
    where = resolve_locations(repo, {"PULUMI_BACKEND_URL": "gs://other"})
    assert (where.state, where.records) == ("gs://other", "s3://audit/stackflow")
    (root / "stackflow.yaml").write_text(text + "records: .records\n")
    assert resolve_locations(RepoConfig.load(root), {}).records == f"{root.resolve()}/.records"


def test_records_must_be_a_place_stackflow_can_write(tmp_path: Path) -> None:
    (tmp_path / "stackflow.yaml").write_text("records: gs://bucket/x\n")
    with pytest.raises(StackflowError, match=r"records is 'gs://bucket/x'; it must be"):
        RepoConfig.load(tmp_path)


# ------------------------------------------------------------------ through the CLI


def test_ephemeral_records_follow_pulumi_backend_url_across_runners(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    s3: Any,
    world: tuple[Path, InMemoryEngine, FakeGitHub],
) -> None:
    """The documented setup: PULUMI_BACKEND_URL=s3://..., backend: file://.pulumi-state.
    The record written by `up` on one runner is what `down` on another runner finds."""
    root, _engine, _ = world
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://state-bucket/team")
    assert (
        main(["ephemeral", "up", "--branch", "feature/login", "--pr", "12", "--root", str(root)])
        == 0
    )
    assert not (root / ".pulumi-state").exists()
    [key] = keys(s3, "team/.stackflow/registry/")
    assert key.startswith("team/.stackflow/registry/stackflow-test/pr-12-feature-login")

    other = tmp_path / "another-runner"
    make_repo(other)
    capsys.readouterr()
    code = main(
        [
            "ephemeral",
            "down",
            "--branch",
            "feature/login",
            "--pr",
            "12",
            "--root",
            str(other),
            "--json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out)["outcomes"][0]["status"] == "destroyed"
    assert keys(s3, "team/.stackflow/registry/") == []


def test_ephemeral_up_refuses_before_any_engine_call_when_records_have_no_home(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    world: tuple[Path, InMemoryEngine, FakeGitHub],
) -> None:
    root, engine, _ = world
    monkeypatch.setenv("PULUMI_BACKEND_URL", "gs://team-state")
    code = main(["ephemeral", "up", "--branch", "x", "--root", str(root)])
    err = capsys.readouterr().err
    assert code == 1
    assert "records:" in err
    assert engine.calls == []
    assert not list(root.glob("gs*"))
    assert not (root / "team-state").exists()


def test_doctor_shows_the_three_locations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "repo"
    make_repo(root)
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path}/state")
    main(["doctor", "--root", str(root), "--json"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert str(tmp_path / "state") in checks["state backend"]["detail"]
    assert f"{tmp_path}/state/.stackflow/registry" in checks["ephemeral registry"]["detail"]
    assert f"{tmp_path}/state/.stackflow/deployments" in checks["deployment log"]["detail"]
    monkeypatch.setenv("PULUMI_BACKEND_URL", "gs://team-state")
    main(["doctor", "--root", str(root), "--json"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert not checks["deployment log"]["ok"]
    assert "records:" in checks["deployment log"]["fix"]
