"""Rendering Pulumi.<stack>.yaml: values substituted inside strings only, ephemeral forced."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackflow.ephemeral.config import remove_config, render_config, write_config
from stackflow.errors import StackflowError
from stackflow.naming import stack_name
from stackflow.project import load_project

from .conftest import TEMPLATE


def test_renders_values_and_forces_the_ephemeral_kind() -> None:
    doc = yaml.safe_load(render_config(TEMPLATE, stack="pr-7-login", branch="login", pr=7))
    config = doc["config"]
    assert config["stackflow:environment"] == "ephemeral"
    assert config["stackflow:namespace"] == "pr-7-login"
    assert config["stackflow:hostname"] == "pr-7-login.preview.example.com"
    assert config["stackflow:tags"] == {"branch": "login", "pullRequest": "7", "keep": "${literal}"}
    assert config["aws:region"] == "us-east-1"


def test_a_template_without_config_still_gets_the_ephemeral_kind() -> None:
    doc = yaml.safe_load(render_config("", stack="br-x", branch="x", pr=None))
    assert doc == {"config": {"stackflow:environment": "ephemeral"}}


def test_rendering_is_deterministic() -> None:
    a = render_config(TEMPLATE, stack="br-x", branch="x", pr=None)
    assert a == render_config(TEMPLATE, stack="br-x", branch="x", pr=None)
    assert a.index("aws:region") < a.index("stackflow:environment")  # sorted keys


def test_hostile_branches_stay_string_values(hostile_branches: list[str]) -> None:
    for branch in hostile_branches:
        stack = stack_name(branch)
        text = render_config(TEMPLATE, stack=stack, branch=branch, pr=None)
        doc = yaml.safe_load(text)
        assert set(doc) == {"config"}
        assert doc["config"]["stackflow:environment"] == "ephemeral"
        assert doc["config"]["stackflow:tags"]["branch"] == branch
        assert len(doc["config"]) == 5


@pytest.mark.parametrize("template", ["config: [1, 2]\n", "- a list\n", "config: {a: [\n"])
def test_a_bad_template_is_refused(template: str) -> None:
    with pytest.raises(StackflowError, match="rendering the config of stack br-x"):
        render_config(template, stack="br-x", branch="x", pr=None)


def test_written_into_the_stack_config_dir_and_removed(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: web\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "ephemeral.yaml").write_text(TEMPLATE)
    project = load_project(tmp_path)
    path = write_config(project, stack="br-x", branch="x", pr=None)
    assert path == tmp_path / "stacks" / "Pulumi.br-x.yaml"
    assert yaml.safe_load(path.read_text())["config"]["stackflow:namespace"] == "br-x"
    remove_config(project, "br-x")
    assert not path.exists()
    remove_config(project, "br-x")  # idempotent


def test_a_missing_template_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: web\nruntime: python\n")
    with pytest.raises(StackflowError, match="create the ephemeral stack config template"):
        write_config(load_project(tmp_path), stack="br-x", branch="x", pr=None)


def test_the_repository_template_renders_for_hostile_branches(hostile_branches: list[str]) -> None:
    template = Path(__file__).resolve().parents[2] / "stacks" / "ephemeral.yaml"
    text = template.read_text(encoding="utf-8")
    for branch in hostile_branches[:20]:
        stack = stack_name(branch, 9)
        config = yaml.safe_load(render_config(text, stack=stack, branch=branch, pr=9))["config"]
        assert config["stackflow:environment"] == "ephemeral"
        assert config["stackflow:namespace"] == stack
        assert config["stackflow:tags"] == {"branch": branch, "pr": "9"}
