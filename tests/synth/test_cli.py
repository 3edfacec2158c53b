from __future__ import annotations

import json
from pathlib import Path

import pytest

from stackflow.cli import main

from .conftest import PROGRAMS, line_of


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKFLOW_DIGEST_KEY", "cli-test")


def test_synth_writes_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    code = main(
        ["synth", "--project", str(PROGRAMS / "webapp"), "--stack", "dev", "--out", str(out)]
    )
    assert code == 0
    data = json.loads(out.read_text())
    assert data["schemaVersion"] == 1
    assert data["stack"] == "dev"
    assert len(data["resources"]) == 7


def test_synth_to_stdout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PROGRAMS / "network")
    assert main(["synth", "--stack", "dev"]) == 0
    assert json.loads(capsys.readouterr().out)["project"] == "network"


def test_failing_program_exits_1_with_its_own_frames(capfd: pytest.CaptureFixture[str]) -> None:
    code = main(["synth", "--project", str(PROGRAMS / "broken"), "--stack", "dev"])
    assert code == 1
    out, err = capfd.readouterr()
    assert out == ""
    helpers = PROGRAMS / "broken" / "helpers.py"
    line = line_of(helpers, "raise ValueError")
    assert f"  at tests/programs/broken/helpers.py:{line} in bucket_name: raise" in err
    assert "stackflow: error: synthesizing stack dev: the program of broken failed" in err


def test_unknown_stack_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--project", str(PROGRAMS / "webapp"), "--stack", "qa"]) == 1
    assert "known stacks: dev" in capsys.readouterr().err


def test_missing_project_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--project", str(tmp_path), "--stack", "dev"]) == 1
    assert "there is no Pulumi.yaml" in capsys.readouterr().err


def test_a_bad_config_value_is_one_line_naming_key_and_value(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # pulumi.RunError is how a program says "bad input"; the language host prints only
    # its message, and so must the offline synth (the repository's StackConfigError is one).
    (tmp_path / "Pulumi.yaml").write_text("name: cfg\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  cfg:replicas: '0'\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi\n"
        "replicas = pulumi.Config().require_int('replicas')\n"
        "if replicas < 1:\n"
        "    raise pulumi.RunError(f'cfg:replicas={replicas!r} is invalid: use 1 or more')\n"
    )
    code = main(["synth", "--project", str(tmp_path), "--stack", "dev", "--out", "-"])
    err = capfd.readouterr().err
    assert code == 1
    assert err == (
        "stackflow: error: synthesizing stack dev: cfg:replicas=0 is invalid: use 1 or more\n"
    )
