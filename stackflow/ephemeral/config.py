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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stackflow.errors import StackflowError

TEMPLATE_NAME = "ephemeral.yaml"
ENVIRONMENT_KEY = "stackflow:environment"
ENVIRONMENT_KIND = "ephemeral"


@dataclass(frozen=True, slots=True)
class Project:
    """What a branch stack needs to know of its Pulumi project."""

    directory: Path
    name: str
    config_dir: Path
    """Where ``Pulumi.<stack>.yaml`` files live (``stackConfigDir``, else the project)."""

    @classmethod
    def load(cls, directory: Path) -> Project:
        path = directory / "Pulumi.yaml"
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise StackflowError(
                f"reading the Pulumi project {path}: {err.strerror}; set ephemeral.project "
                "in stackflow.yaml to the project directory"
            ) from err
        except yaml.YAMLError as err:
            raise StackflowError(f"reading {path}: not valid YAML ({err}); fix it") from err
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise StackflowError(f"reading {path}: it has no project name; add `name:`")
        config_dir = raw.get("stackConfigDir") or "."
        if not isinstance(config_dir, str):
            raise StackflowError(f"reading {path}: stackConfigDir is {config_dir!r}; use a path")
        return cls(directory=directory, name=raw["name"], config_dir=directory / config_dir)

    @property
    def template(self) -> Path:
        return self.config_dir / TEMPLATE_NAME

    def config_path(self, stack: str) -> Path:
        return self.config_dir / f"Pulumi.{stack}.yaml"


def render_config(template: str, *, stack: str, branch: str, pr: int | None) -> str:
    """The stack config document for one branch stack (see the module docstring)."""
    try:
        doc = yaml.safe_load(template)
    except yaml.YAMLError as err:
        raise StackflowError(
            f"rendering the config of stack {stack}: the template is not valid YAML ({err}); "
            f"fix {TEMPLATE_NAME}"
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
    try:
        template = project.template.read_text(encoding="utf-8")
    except OSError as err:
        raise StackflowError(
            f"rendering the config of stack {stack}: cannot read {project.template} "
            f"({err.strerror}); create the ephemeral stack config template there"
        ) from err
    path = project.config_path(stack)
    path.write_text(render_config(template, stack=stack, branch=branch, pr=pr), encoding="utf-8")
    return path


def remove_config(project: Project, stack: str) -> None:
    project.config_path(stack).unlink(missing_ok=True)


def _substitute(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return string.Template(value).safe_substitute(values)
    if isinstance(value, dict):
        return {key: _substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, values) for item in value]
    return value
