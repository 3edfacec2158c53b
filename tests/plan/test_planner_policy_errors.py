"""A policy pack that cannot be evaluated never lets a plan pass as clean: the stack gets
an error, the comment is red and `stackflow plan` exits 1."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stackflow import cli, planner
from stackflow.errors import ExitCode
from stackflow.render.markdown import render_comment

from .conftest import GitRepo
from .programs import FILES

pytestmark = pytest.mark.slow


def crashing_pack(root: Path) -> Path:
    pack = root / "crashing-pack"
    (pack / "rules").mkdir(parents=True)
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 1.0.0\n")
    (pack / "rules" / "__init__.py").write_text(
        textwrap.dedent(
            """
            from pulumi_policy import ResourceValidationPolicy

            def boom(args, report):
                raise KeyError("spec")

            POLICIES = [ResourceValidationPolicy(name="boom", description="d", validate=boom)]
            """
        )
    )
    return pack


def test_a_policy_that_cannot_be_evaluated_makes_the_plan_red(
    git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo.write(FILES)
    git_repo.commit("shop")
    pack = crashing_pack(tmp_path)
    plan = planner.plan_stacks(git_repo.root, stack="dev", no_base=True, policy_pack=pack)
    (stack,) = plan.stacks
    assert stack.has_errors
    assert plan.has_errors
    [error] = [d for d in stack.diagnostics if d.severity == "error"]
    assert "evaluating policy 'boom'" in error.message
    assert "KeyError" in error.message
    assert "could not be planned" in render_comment(plan)
    assert "Ready to merge" not in render_comment(plan)

    monkeypatch.chdir(git_repo.root)
    assert (
        cli.main(["plan", "--stack", "dev", "--no-base", "--policy-pack", str(pack)])
        == ExitCode.ERROR
    )
