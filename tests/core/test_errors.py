"""Messages stay on one line, also when they carry a YAML parser's complaint."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackflow.errors import StackflowError, yaml_problem
from stackflow.project import load_project


def test_yaml_problem_is_one_line_with_the_line_number() -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        yaml.safe_load("name: x\nruntime: [python\n")
    text = yaml_problem(caught.value)
    assert "\n" not in text
    assert "line 3" in text


def test_a_broken_project_file_is_reported_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: [python\n")
    with pytest.raises(StackflowError) as caught:
        load_project(tmp_path)
    assert "not valid YAML" in caught.value.message
    assert "\n" not in caught.value.message
