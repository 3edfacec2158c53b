"""`stackflow stack-name` over the hostile corpus and the long-lived look-alikes."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackflow.cli import main
from stackflow.naming import is_ephemeral_name


def names_from_cli(
    capsys: pytest.CaptureFixture[str], root: Path, branches: list[str], *extra: str
) -> list[str]:
    names = []
    for branch in branches:
        assert main(["stack-name", "--branch", branch, "--root", str(root), *extra]) == 0
        names.append(capsys.readouterr().out.strip())
    return names


def test_stack_name_is_valid_and_distinct_for_the_corpus(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hostile_branches: list[str]
) -> None:
    for extra in ((), ("--pr", "12")):
        names = names_from_cli(
            capsys,
            tmp_path,
            list(dict.fromkeys([*hostile_branches, "main", "prod", "Prod", "pr/prod"])),
            *extra,
        )
        assert all(is_ephemeral_name(n) for n in names)
        assert len(set(names)) == len(names)


def test_stack_name_honours_the_repository_protected_stacks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "stackflow.yaml").write_text("protected_stacks: [prod, br-qa]\n")
    assert main(["stack-name", "--branch", "qa", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "'br-qa' is a protected stack" in err
    assert "Traceback" not in err
