"""Confirmation before the engine touches a protected stack: asked at a terminal, never
under CI or with --yes; answering no changes nothing. The terminal is injected as a
stdin whose isatty() is true, and once as a real pseudo-terminal in a subprocess."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

import pytest

from stackflow.cli import main
from stackflow.repoconfig import RepoConfig

from .conftest import FakePulumi


class Terminal(io.StringIO):
    """Standard input typed by a person: what they will answer, and isatty() true."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def engine(fake_on_path: FakePulumi, monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    monkeypatch.delenv("CI", raising=False)
    fake_on_path.script(
        responses={"up": [{"events": "up_create.jsonl"}], "destroy": [{"events": "destroy.jsonl"}]}
    )
    fake_on_path.stacks("dev", "prod")
    return fake_on_path


def _verbs(fake: FakePulumi) -> list[str]:
    return [argv[0] for argv in fake.argvs() if argv]


@pytest.mark.parametrize("command", ["up", "destroy"])
def test_no_at_the_terminal_changes_nothing(
    repo: RepoConfig,
    engine: FakePulumi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    assert main([command, "--stack", "prod", "--project", str(repo.root)]) == 1
    err = capsys.readouterr().err
    assert "prod (protected): continue? [y/N]" in err
    assert "not confirmed; nothing was changed" in err
    assert command not in _verbs(engine)


@pytest.mark.parametrize("command", ["up", "destroy"])
def test_yes_at_the_terminal_goes_ahead(
    repo: RepoConfig,
    engine: FakePulumi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    assert main([command, "--stack", "prod", "--project", str(repo.root)]) == 0
    assert "[y/N]" in capsys.readouterr().err
    assert command in _verbs(engine)


@pytest.mark.parametrize(
    ("env", "flags"), [({"CI": "true"}, []), ({}, ["--yes"]), ({}, ["-y"])], ids=str
)
def test_ci_or_yes_never_asks(
    repo: RepoConfig,
    engine: FakePulumi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    flags: list[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stdin", Terminal(""))  # an answer read here would be EOF
    assert main(["up", "--stack", "prod", "--project", str(repo.root), *flags]) == 0
    assert "[y/N]" not in capsys.readouterr().err
    assert "up" in _verbs(engine)


def test_an_unprotected_stack_is_not_asked_about(
    repo: RepoConfig, engine: FakePulumi, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.stacks("dev", "prod", "sandbox")
    monkeypatch.setattr(sys, "stdin", Terminal(""))
    (repo.root / "stacks" / "Pulumi.sandbox.yaml").write_text(
        "config:\n  stackflow:environment: dev\n", "utf-8"
    )
    assert main(["up", "--stack", "sandbox", "--project", str(repo.root)]) == 0


def test_destroy_in_ci_without_yes_refuses(
    repo: RepoConfig, engine: FakePulumi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    assert main(["destroy", "--stack", "prod", "--project", str(repo.root)]) == 1
    assert "destroy" not in _verbs(engine)


def test_a_real_pseudo_terminal_is_asked(repo: RepoConfig, engine: FakePulumi) -> None:
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    try:
        os.write(controller, b"n\n")
        done = subprocess.run(
            [sys.executable, "-m", "stackflow.cli", "destroy", "-s", "prod"],
            cwd=repo.root,
            stdin=terminal,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 1, done.stderr
    assert "destroying stack prod (protected): continue? [y/N]" in done.stderr
    assert "not confirmed; nothing was changed" in done.stderr
    assert "destroy" not in _verbs(engine)
