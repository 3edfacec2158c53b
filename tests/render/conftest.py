"""Fixtures of the renderer tests: sample plans, a CommonMark (+ tables) parser to check
what GitHub would make of the output, and golden-file comparison."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from markdown_it import MarkdownIt

from stackflow.plan.model import Diagnostic, Plan, Source, StackPlan
from stackflow.plan.reconcile import merge_plans

from .samples import GOLDEN, SHA_BASE, SHA_HEAD, clean_plan, dev_plan


@pytest.fixture
def sample_plans() -> dict[str, Plan]:
    unchanged = StackPlan.build(project="app", stack="prod", source=Source.OFFLINE, same=40)
    failed = StackPlan.build(
        project="app",
        stack="qa",
        source=Source.OFFLINE,
        diagnostics=(
            Diagnostic(
                "error",
                "invoke aws:ec2/getAmi:getAmi has no offline answer; "
                "add it to `stacks/offline.yaml`",
            ),
            Diagnostic(
                "error",
                "synthesizing stack qa: the program of app failed: ValueError: no bucket name "
                "for stack 'qa'; fix the program where its frames point",
                detail="ValueError: no bucket name for stack 'qa'\n"
                "  at stacks/__main__.py:9 in <module>: build(settings)\n"
                '  at stacks/naming.py:2 in bucket_name: raise ValueError(f"``` {stack!r}")',
            ),
            Diagnostic("warning", "deprecated property `acl`"),
        ),
        base=SHA_BASE,
        head=SHA_HEAD,
    )
    return {
        "blocked": Plan(stacks=(dev_plan(),)),
        "clean": Plan(stacks=(clean_plan(),)),
        "multi": merge_plans([Plan(stacks=(dev_plan(),)), Plan(stacks=(clean_plan(), unchanged))]),
        "no-changes": Plan(stacks=(unchanged,)),
        "failed": Plan(stacks=(failed,)),
        "empty": Plan(),
    }


@pytest.fixture
def markdown() -> MarkdownIt:
    """CommonMark with GitHub's tables: what github.com parses comments with, near enough."""
    return MarkdownIt("commonmark").enable("table")


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Compare text with a golden file; UPDATE_GOLDEN=1 rewrites the file."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if os.environ.get("UPDATE_GOLDEN") == "1":
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"{path} is missing; run with UPDATE_GOLDEN=1"
        assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"

    return check
