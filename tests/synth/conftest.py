"""Fixtures for the synth tests: the sample programs under tests/programs, synthesized once.

Each synth runs the program in a fresh subprocess (no Pulumi global state leaks into the
test process); manifests are cached per session because a synth costs about a second.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from stackflow.plan.manifest import Manifest
from stackflow.plan.synth import synth
from stackflow.project import Project, load_project

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"
TEST_KEY = b"stackflow-test-digest-key"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STACKFLOW_DIGEST_KEY", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)


@pytest.fixture(scope="session")
def programs() -> Path:
    return PROGRAMS


def program(name: str) -> Project:
    return load_project(PROGRAMS / name)


_CACHE: dict[tuple[str, str], Manifest] = {}
PER_TEST = bool(os.environ.get("STACKFLOW_TESTS_PER_TEST_WORK"))
"""Set by the mutation tool while it measures which tests run which lines: work shared
between tests is done again for each, so a test's coverage shows all it depends on
(else the runner's lines count only for the first test that synthesized a program)."""


def broad_scope(fixture_name: str, config: pytest.Config) -> str:
    """A module-scoped fixture's scope, ``function`` under :data:`PER_TEST`."""
    return "function" if PER_TEST else "module"


@pytest.fixture(scope="session")
def synthesized() -> Callable[[str, str], Manifest]:
    """``synthesized(program, stack)``: the manifest, with tests/programs as the repository."""

    def get(name: str, stack: str) -> Manifest:
        key = (name, stack)
        if PER_TEST or key not in _CACHE:
            _CACHE[key] = synth(program(name), stack, repo_root=PROGRAMS, digest_key=TEST_KEY)
        return _CACHE[key]

    return get


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first occurrence of ``needle`` in ``path``."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")
