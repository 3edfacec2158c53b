"""Stack-program fixtures: run stacks/ for a stack file under the capturing mocks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pulumi.runtime
import pytest

from tests.pulumi_capture import Capture, load_stack_config, run_program

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"
EPHEMERAL = {"stack": "br-feature-login-3f9a2c", "branch": "feature/login", "pr": "42"}


@pytest.fixture
def synth(pulumi_runtime: None) -> Callable[[str], Capture]:
    """Run the stack program with a stack's config (``ephemeral``: the rendered template)."""

    def run(stack: str) -> Capture:
        from stacks.program import build
        from stacks.settings import StackSettings

        if stack == "ephemeral":
            stack_file, name, values = STACKS / "ephemeral.yaml", EPHEMERAL["stack"], EPHEMERAL
        else:
            stack_file, name, values = STACKS / f"Pulumi.{stack}.yaml", stack, None
        config, secret_keys = load_stack_config(ROOT, stack_file, placeholders=values)
        pulumi.runtime.set_all_config(config, secret_keys)
        return run_program(lambda: build(StackSettings.from_config()), stack=name)

    return run
