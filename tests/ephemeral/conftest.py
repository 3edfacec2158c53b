"""Fixtures of the ephemeral-environment tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def hostile_branches() -> list[str]:
    """At least 50 branch names meant to break naming, quoting or paths."""
    doc = json.loads((Path(__file__).parent / "hostile_branches.json").read_text("utf-8"))
    branches: list[str] = doc["branches"]
    return branches
