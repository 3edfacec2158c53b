"""``Pulumi.<stack>.yaml`` of a branch stack, rendered from the project's template.

The template is ``<stackConfigDir>/ephemeral.yaml``: a Pulumi stack config document whose
string values may hold ``${stack}``, ``${branch}`` and ``${pr}``. It is rendered by loading
the YAML, substituting inside string values only (``string.Template.safe_substitute``) and
dumping sorted with ``yaml.safe_dump`` -- never by text substitution -- so a hostile branch
is only ever a string value and cannot inject YAML. The result is deterministic.

Cost guard: ``stackflow:environment`` is always forced to ``ephemeral``, so a branch
stack always gets the ephemeral environment kind and its cost policies at mandatory level,
whatever the template says.

The file is written into the stack config folder at ``up`` (and before ``destroy``, which
needs the provider config too) and removed after ``down``; ``Pulumi.br-*.yaml`` and
``Pulumi.pr-*.yaml`` are git-ignored.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import yaml

from stackflow.errors import StackflowError, yaml_problem
from stackflow.project import ENVIRONMENT_KEY, Project

TEMPLATE_NAME = "ephemeral.yaml"
ENVIRONMENT_KIND = "ephemeral"


def template_path(project: Project) -> Path:
    return project.stack_config_dir / TEMPLATE_NAME


def render_config(template: str, *, stack: str, branch: str, pr: int | None) -> str:
    """The stack config document for one branch stack (see the module docstring)."""
    try:
        doc = yaml.safe_load(template)
    except yaml.YAMLError as err:
        raise StackflowError(
            f"rendering the config of stack {stack}: the template is not valid YAML "
            f"({yaml_problem(err)}); fix {TEMPLATE_NAME}"
        ) from err
    if doc is None:
        doc = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise StackflowError(
            f"rendering the config of stack {stack}: {TEMPLATE_NAME} must be a mapping with "
            "a `config:` mapping, like any Pulumi.<stack>.yaml"
        )
    values = {"stack": stack, "branch": branch, "pr": "" if pr is None else str(pr)}
    rendered = _substitute(doc, values)
    rendered.setdefault("config", {})[ENVIRONMENT_KEY] = ENVIRONMENT_KIND
    return yaml.safe_dump(rendered, sort_keys=True, allow_unicode=False, default_flow_style=False)


def write_config(project: Project, *, stack: str, branch: str, pr: int | None) -> Path:
    """Render the template into ``Pulumi.<stack>.yaml``; return its path."""
    template = template_path(project)
    try:
        text = template.read_text(encoding="utf-8")
    except OSError as err:
        raise StackflowError(
            f"rendering the config of stack {stack}: cannot read {template} "
            f"({err.strerror}); create the ephemeral stack config template there"
        ) from err
    path = project.stack_config_file(stack)
    path.write_text(render_config(text, stack=stack, branch=branch, pr=pr), encoding="utf-8")
    return path


def remove_config(project: Project, stack: str) -> None:
    project.stack_config_file(stack).unlink(missing_ok=True)


def _substitute(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return string.Template(value).safe_substitute(values)
    if isinstance(value, dict):
        return {key: _substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, values) for item in value]
    return value
