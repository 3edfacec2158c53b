"""Every `stackflow` command line in the generated workflows parses, with the current flag
spellings only: CI prints no deprecation warning (README, "The CLI")."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from stackflow.cli import cli

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"


def _command_lines() -> list[tuple[str, str]]:
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for job in (doc.get("jobs") or {}).values():
            for step in job.get("steps") or []:
                for line in str(step.get("run", "")).splitlines():
                    line = line.strip()
                    if line.startswith("stackflow "):
                        found.append((path.name, line))
    return found


LINES = _command_lines()


def test_the_workflows_run_stackflow() -> None:
    assert len(LINES) >= 10


@pytest.mark.parametrize(("workflow", "line"), LINES, ids=[f"{w}:{text[:50]}" for w, text in LINES])
def test_each_command_line_parses_without_a_deprecation_warning(
    workflow: str, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = re.split(r"\s(?:>>?|\|\|?|&&)\s", line)[0]  # the command, not its redirections
    line = line.replace('"${args[@]}"', "--plan plan.json")  # bash arrays built just above
    line = line.replace("$ACTION", "accept").replace("$NOW", "--now")  # their values
    args = [re.sub(r"\$\{?\w+\}?", "x", a) for a in shlex.split(line)[1:]]
    args = [
        "1" if a == "x" and prev == "--pr" else a
        for prev, a in zip(["", *args[:-1]], args, strict=True)
    ]
    command: click.Command = cli
    words = []
    while isinstance(command, click.Group):
        words.append(args.pop(0))
        command = command.commands[words[-1]]
    command.make_context(" ".join(words), args)  # raises on an unknown or bad flag
    assert "deprecated" not in capsys.readouterr().err, f"{workflow}: {line}"
