"""The CLI's one error handler: one line, the documented exit codes, no traceback."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from stackflow import cli
from stackflow.errors import ExitCode, StackflowError


def test_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for line in ("0  success", "1  error", "2  a mandatory policy", "3  drift"):
        assert line in out


def test_usage_errors_exit_1_not_2(capsys: pytest.CaptureFixture[str]) -> None:
    # 2 means "mandatory policy violated" to CI gates; a typo must not look like that.
    assert cli.main(["--no-such-flag"]) == ExitCode.ERROR
    assert "no such option" in capsys.readouterr().err.lower()


def test_project_errors_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    @click.command("explode")
    def explode() -> None:
        raise StackflowError("doing x: it broke; do y", exit_code=ExitCode.DRIFT)

    monkeypatch.setattr(cli, "cli", click.Group(commands=[explode]))
    assert cli.main(["explode"]) == ExitCode.DRIFT
    err = capsys.readouterr().err
    assert err == "stackflow: error: doing x: it broke; do y\n"


def test_console_script_exits_with_the_code() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "stackflow.cli", "--bogus"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
