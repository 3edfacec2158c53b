"""The generated delivery history, built once per module (git is slow on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .history import History, build


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return build(Path(tmp_path_factory.mktemp("history")) / "repo")
