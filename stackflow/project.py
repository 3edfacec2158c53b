"""Pulumi projects in a repository: where they are, what they run, which stacks they have.

A project is a directory with a ``Pulumi.yaml`` whose runtime is ``python``. stackflow
honours the file's ``main:`` (the program, a directory or a file, default the project
directory) and ``stackConfigDir`` (where the ``Pulumi.<stack>.yaml`` files live, default
the project directory), and reads the project-level ``config:`` defaults so a synth sees
the same configuration the Pulumi CLI would.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stackflow.errors import StackflowError

PROJECT_FILE = "Pulumi.yaml"
ENVIRONMENT_KEY = "stackflow:environment"
"""The stack config key naming a stack's environment kind (dev, staging, prod, ephemeral)."""
_SKIPPED_DIRS = frozenset({".venv", "venv", "node_modules", "__pycache__"})


@dataclass(frozen=True)
class Project:
    """One Pulumi project, with every path absolute."""

    dir: Path
    name: str
    main: Path
    """The program: a directory holding ``__main__.py``, or a Python file."""
    stack_config_dir: Path
    config_defaults: dict[str, Any] = field(default_factory=dict)
    """Project-level ``config:`` values, keys namespaced (``stackflow:owner``). A value is
    the plain default; keys declared ``secret: true`` without a value are absent."""
    virtualenv: Path | None = None
    """``runtime.options.virtualenv``: the venv holding the program's own dependencies
    (its pinned Pulumi SDKs), as the Pulumi CLI runs it; None when the file names none."""

    def interpreter(self) -> Path | None:
        """The Python of the project's virtualenv, when it names one that exists."""
        if self.virtualenv is None:
            return None
        for candidate in (
            self.virtualenv / "bin" / "python",
            self.virtualenv / "Scripts" / "python.exe",
        ):
            if candidate.is_file():
                return candidate
        return None

    def stacks(self) -> list[str]:
        """Stack names, from the ``Pulumi.<stack>.yaml`` files beside the program."""
        if not self.stack_config_dir.is_dir():
            return []
        names = []
        for path in self.stack_config_dir.glob("Pulumi.*.yaml"):
            stack = path.name[len("Pulumi.") : -len(".yaml")]
            if stack:
                names.append(stack)
        return sorted(names)

    def stack_config_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def namespaced(self, key: str) -> str:
        """A config key with the project's namespace when it has none (as the CLI does)."""
        return key if ":" in key else f"{self.name}:{key}"


class NotPythonProjectError(StackflowError):
    """A Pulumi project of another runtime: never synthesized, skipped when scanning."""

    def __init__(self, message: str, *, name: str, runtime: str) -> None:
        super().__init__(message)
        self.name = name
        self.runtime = runtime


def load_project(dir: Path) -> Project:
    """The project in ``dir``; a StackflowError when it is missing or not a Python project."""
    dir = dir.resolve()
    path = dir / PROJECT_FILE
    if not path.is_file():
        raise StackflowError(
            f"loading the Pulumi project in {dir}: there is no {PROJECT_FILE}; "
            "pass --project with a directory that holds one"
        )
    from stackflow.yamlfile import read_yaml

    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise StackflowError(f"reading {path}: the document is {raw!r}; it must be a mapping")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise StackflowError(f"reading {path}: name is {name!r}; it must be a non-empty string")
    runtime = raw.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise NotPythonProjectError(
            f"reading {path}: runtime is {runtime_name!r}; stackflow synthesizes only "
            "runtime 'python' projects",
            name=name,
            runtime=str(runtime_name),
        )
    main = _relative_path(path, raw, "main", dir)
    config_dir = _relative_path(path, raw, "stackConfigDir", dir)
    project = Project(dir=dir, name=name, main=main, stack_config_dir=config_dir)
    defaults = _config_defaults(path, _config_as_pulumi_reads_it(path), project)
    options = runtime.get("options") if isinstance(runtime, dict) else None
    venv = options.get("virtualenv") if isinstance(options, dict) else None
    if venv is not None and (not isinstance(venv, str) or not venv):
        raise StackflowError(
            f"reading {path}: runtime.options.virtualenv is {venv!r}; it must be a path "
            "relative to the project"
        )
    return Project(
        dir=dir,
        name=name,
        main=main,
        stack_config_dir=config_dir,
        config_defaults=defaults,
        virtualenv=(dir / venv).absolute() if venv else None,
    )


def _relative_path(path: Path, raw: dict[str, Any], key: str, dir: Path) -> Path:
    value = raw.get(key)
    if value is None:
        return dir
    if not isinstance(value, str) or not value:
        raise StackflowError(
            f"reading {path}: {key} is {value!r}; it must be a path relative to the project"
        )
    return (dir / value).resolve()


def _config_as_pulumi_reads_it(path: Path) -> Any:
    """Pulumi.yaml's ``config:`` as the CLI decodes it (yaml.v3, YAML 1.2: ``yes`` and
    ``12:30`` stay strings), not as PyYAML's YAML 1.1 reads it."""
    from stackflow.yamlfile import compose, resolve

    root = compose(path)
    if not isinstance(root, yaml.MappingNode):
        return None
    nodes = [value for key, value in root.value if key.value == "config"]
    return resolve(nodes[-1]) if nodes else None


def _config_defaults(path: Path, raw: Any, project: Project) -> dict[str, Any]:
    """Project ``config:``: ``key: value`` or ``key: {value|default: v, secret: ...}``."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise StackflowError(f"reading {path}: config is {raw!r}; it must be a mapping")
    defaults: dict[str, Any] = {}
    for key, spec in raw.items():
        if not isinstance(key, str):
            raise StackflowError(f"reading {path}: config key {key!r} must be a string")
        if isinstance(spec, dict) and (set(spec) & {"value", "default", "type", "secret"}):
            if "value" in spec:
                defaults[project.namespaced(key)] = spec["value"]
            elif "default" in spec:
                defaults[project.namespaced(key)] = spec["default"]
        else:
            defaults[project.namespaced(key)] = spec
    return defaults


def find_projects(
    root: Path,
    patterns: Sequence[str] = (),
    *,
    skipped: list[NotPythonProjectError] | None = None,
) -> list[Project]:
    """Python projects under ``root``, sorted by directory.

    ``patterns`` are globs of project directories relative to ``root`` (``stackflow.yaml``'s
    ``projects``); without them every ``Pulumi.yaml`` is found, except inside hidden,
    virtualenv and ``node_modules`` directories. Projects of other runtimes are left out
    (appended to ``skipped`` when given).
    """
    root = root.resolve()
    dirs: set[Path] = set()
    if patterns:
        for pattern in patterns:
            matches = [root] if pattern in (".", "") else list(root.glob(pattern))
            for match in matches:
                if (match / PROJECT_FILE).is_file():
                    dirs.add(match.resolve())
    else:
        for current, subdirs, files in os.walk(root):
            subdirs[:] = sorted(
                d for d in subdirs if not d.startswith(".") and d not in _SKIPPED_DIRS
            )
            if PROJECT_FILE in files:
                dirs.add(Path(current).resolve())
    projects = []
    for d in sorted(dirs):
        try:
            projects.append(load_project(d))
        except NotPythonProjectError as err:
            if skipped is not None:
                skipped.append(err)
    return projects
