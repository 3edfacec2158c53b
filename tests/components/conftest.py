"""Component-test fixtures: a clean Pulumi runtime under the capturing mocks."""

from __future__ import annotations

import pytest

TAGS = {"environment": "dev", "owner": "platform-team", "cost-center": "cc-1234"}


@pytest.fixture(autouse=True)
def _fresh_runtime(pulumi_runtime: None) -> None:
    """Every component test starts with a reset Pulumi runtime."""
