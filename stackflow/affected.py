"""Which (project, stack) pairs a change touches, from the paths it changes.

The rules, in order, for each changed path (relative to the repository root):

1. ``stackflow.yaml`` and anything under the policy pack directory (``policy_pack``)
   touch every stack of every project.
2. ``stackflow.yaml``'s ``affected`` rules: a path matching one of a rule's ``paths``
   touches the stacks its ``stacks`` patterns name (``project/stack``, ``project/*``, ``*``;
   ``project`` is the project's name).
3. Inside a project's directory (the deepest project, when projects nest):
   a stack's config file (``<stackConfigDir>/Pulumi.<stack>.yaml``) touches that stack;
   a path matching :data:`DEFAULT_NOT_PROGRAM` (tests, docs, benchmarks, workflows,
   Markdown) touches nothing; anything else -- the program, components, shared code,
   ``Pulumi.yaml`` -- touches every stack of the project.

Paths under ``.stackflow/`` (stackflow's cache and keys) touch nothing. A base of all
zeros (GitHub's ``before`` on a branch's first push) has nothing to compare with: every
stack is affected. Only long-lived
stacks are listed: the ones with a ``Pulumi.<stack>.yaml`` in the working
tree. A branch's ephemeral stack has no file of its own (its settings template, say
``stacks/ephemeral.yaml``, is not a ``Pulumi.<stack>.yaml``), and a stack whose file was
deleted cannot be planned.

Globs are relative (to the repository for rules, to the project for the not-program
list) and follow ``.gitignore`` exactly (through ``pathspec``): ``**`` crosses
directories, ``*`` and ``?`` do not, a pattern without ``/`` matches a file or directory
name at any depth, a pattern naming a directory covers what is inside it, and ``!pattern``
excludes what earlier patterns matched (``["shared/**", "!shared/README.md"]``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import pathspec

from stackflow.project import Project
from stackflow.repoconfig import FILE_NAME, RepoConfig

DEFAULT_NOT_PROGRAM: tuple[str, ...] = (
    "tests/**",
    "docs/**",
    "benchmarks/**",
    ".github/**",
    ".ci/**",
    "README*",
    "LICENSE*",
    "*.md",
    ".gitignore",
    "Makefile",
)
"""Paths inside a project's directory that are not part of its program (relative to the
project); overridden with ``stackflow affected --not-program GLOB``."""


WORKSPACE = ".stackflow"
"""stackflow's own cache and keys (git-ignored): never a change to plan."""


@dataclass(frozen=True, slots=True, order=True)
class AffectedStack:
    """One stack a change touches. Ordered by directory, then stack."""

    dir: str
    """The project's directory relative to the repository root (``.`` for the root)."""
    project: str
    stack: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape GitHub workflows build a job matrix from."""
        return {"project": self.project, "dir": self.dir, "stack": self.stack}


@cache
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def glob_match(path: str, patterns: Iterable[str]) -> bool:
    """True when ``path`` (``/``-separated) matches ``patterns`` as git matches a
    ``.gitignore``: a directory's pattern covers what is inside it, and a later ``!pattern``
    excludes what an earlier one matched."""
    return _spec(tuple(patterns)).match_file(path)


def relative_dir(path: Path, root: Path) -> str:
    """``path`` relative to the repository ``root``, ``/``-separated; ``.`` for the root."""
    relative = path.resolve().relative_to(root)
    return relative.as_posix() if relative.parts else "."


def inside(path: str, directory: str) -> str | None:
    """``path`` relative to ``directory`` when inside it (both repository-relative)."""
    if directory == ".":
        return path
    if path.startswith(directory + "/"):
        return path[len(directory) + 1 :]
    return None


def every_stack(projects: Sequence[Project], config: RepoConfig) -> tuple[AffectedStack, ...]:
    """Every long-lived stack of ``projects``, sorted."""
    root = config.root
    return tuple(
        sorted(
            {
                AffectedStack(relative_dir(p.dir, root), p.name, s)
                for p in projects
                for s in p.stacks()
            }
        )
    )


def affected_stacks(
    changed: Iterable[str],
    projects: Sequence[Project],
    config: RepoConfig,
    *,
    not_program: Sequence[str] = DEFAULT_NOT_PROGRAM,
) -> tuple[AffectedStack, ...]:
    """The stacks touched by ``changed`` paths (relative to ``config.root``), sorted."""
    root = config.root
    every = set(every_stack(projects, config))
    by_dir = sorted(
        ((relative_dir(p.dir, root), p) for p in projects), key=lambda item: -len(item[0])
    )
    policy_dir = config.policy_pack.strip("/")
    touched: set[AffectedStack] = set()
    for path in changed:
        if inside(path, WORKSPACE) is not None:
            continue
        if path == FILE_NAME or inside(path, policy_dir) is not None:
            return tuple(sorted(every))
        for rule in config.affected:
            if glob_match(path, rule.paths):
                touched.update(
                    s
                    for s in every
                    if any(fnmatchcase(f"{s.project}/{s.stack}", p) for p in rule.stacks)
                )
        for directory, project in by_dir:
            inner = inside(path, directory)
            if inner is None:
                continue
            config_files = {
                relative_dir(project.stack_config_file(s), root): s for s in project.stacks()
            }
            if path in config_files:
                touched.add(AffectedStack(directory, project.name, config_files[path]))
            elif not glob_match(inner, not_program) and not _is_stack_file(path, project, root):
                touched.update(s for s in every if s.dir == directory)
            break
    return tuple(sorted(touched))


def _is_stack_file(path: str, project: Project, root: Path) -> bool:
    """A ``Pulumi.<stack>.yaml`` of a stack that no longer exists: it touches nothing."""
    config_dir = relative_dir(project.stack_config_dir, root)
    name = PurePosixPath(path).name
    parent = str(PurePosixPath(path).parent)
    return (
        (parent == config_dir or (config_dir == "." and parent == "."))
        and name.startswith("Pulumi.")
        and name.endswith(".yaml")
        and name != "Pulumi.yaml"
    )


def affected_between(
    repo_root: Path,
    base: str | None = None,
    head: str | None = None,
    *,
    not_program: Sequence[str] = DEFAULT_NOT_PROGRAM,
) -> tuple[AffectedStack, ...]:
    """The stacks touched between ``base`` (default: :func:`gitrepo.default_base`) and
    ``head`` (default: the working tree), with the projects of the working tree."""
    from stackflow.adapters import gitrepo
    from stackflow.project import find_projects

    repo = gitrepo.open_repo(repo_root)
    root = gitrepo.repo_root(repo)
    config = RepoConfig.load(root)
    projects = find_projects(root, config.projects)
    head_sha = gitrepo.resolve(repo, head) if head else None
    if base is not None and gitrepo.is_null(base):
        return every_stack(projects, config)
    base_sha = gitrepo.resolve(repo, base) if base else gitrepo.default_base(repo)
    changed = gitrepo.changed_paths(repo, base_sha, head_sha)
    return affected_stacks(changed, projects, config, not_program=not_program)
