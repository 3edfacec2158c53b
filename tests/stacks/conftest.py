"""Stack-program fixtures: run stacks/ for a stack file under the capturing mocks.

Config reaches the program exactly as the offline synth passes it
(:func:`stackflow.plan.synth.stack_config`: project defaults, then the stack file, with
``secure:`` values as placeholders, never decrypted), and the ephemeral stack's file is
rendered from ``stacks/ephemeral.yaml`` by the product's own renderer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pulumi.runtime
import pytest

from stackflow.ephemeral.config import render_config
from stackflow.plan.synth import StackConfig, stack_config
from stackflow.project import load_project
from tests.pulumi_capture import Capture, run_program

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"
EPHEMERAL = {"stack": "br-feature-login-3f9a2c", "branch": "feature/login", "pr": 42}
DIGEST_KEY = b"stack-tests"


def config_of(stack: str, tmp_path: Path) -> StackConfig:
    """What the program sees for ``stack`` (``ephemeral``: the rendered template)."""
    project = load_project(ROOT)
    if stack != "ephemeral":
        return stack_config(project, stack, key=DIGEST_KEY)
    name = str(EPHEMERAL["stack"])
    rendered = tmp_path / f"Pulumi.{name}.yaml"
    rendered.write_text(
        render_config(
            (STACKS / "ephemeral.yaml").read_text(),
            stack=name,
            branch=str(EPHEMERAL["branch"]),
            pr=int(EPHEMERAL["pr"]),
        )
    )
    return stack_config(project, name, key=DIGEST_KEY, config_file=rendered)


@pytest.fixture
def synth(pulumi_runtime: None, tmp_path: Path) -> Callable[[str], Capture]:
    """Run the stack program with a stack's config."""

    def run(stack: str) -> Capture:
        from stacks.program import build
        from stacks.settings import StackSettings

        config = config_of(stack, tmp_path)
        pulumi.runtime.set_all_config(config.values, list(config.secret_keys))
        name = str(EPHEMERAL["stack"]) if stack == "ephemeral" else stack
        return run_program(lambda: build(StackSettings.from_config()), stack=name)

    return run
