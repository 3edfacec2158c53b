from __future__ import annotations

from pathlib import Path

import pytest

from stackflow.errors import StackflowError
from stackflow.project import find_projects, load_project
from stackflow.repoconfig import RepoConfig

from .conftest import PROGRAMS

REPO = PROGRAMS.parent.parent


def write_project(dir: Path, body: str = "name: p\nruntime: python\n") -> Path:
    dir.mkdir(parents=True, exist_ok=True)
    (dir / "Pulumi.yaml").write_text(body)
    return dir


def test_main_and_stack_config_dir_are_honoured() -> None:
    project = load_project(PROGRAMS / "platform")
    assert project.name == "platform"
    assert project.main == PROGRAMS / "platform" / "src"
    assert project.stack_config_dir == PROGRAMS / "platform" / "config"
    assert project.stacks() == ["prod"]
    assert project.stack_config_file("prod") == PROGRAMS / "platform/config/Pulumi.prod.yaml"


def test_defaults_to_the_project_directory() -> None:
    project = load_project(PROGRAMS / "webapp")
    assert project.main == project.dir == PROGRAMS / "webapp"
    assert project.stack_config_dir == project.dir
    assert project.stacks() == ["dev"]


def test_config_defaults_are_namespaced_and_secret_declarations_skipped() -> None:
    assert load_project(PROGRAMS / "webapp").config_defaults == {
        "webapp:replicas": 2,
        "webapp:owner": "web-team",
    }
    assert load_project(PROGRAMS / "secrets").config_defaults == {}


def test_missing_pulumi_yaml(tmp_path: Path) -> None:
    with pytest.raises(StackflowError, match=r"there is no Pulumi.yaml; pass --project"):
        load_project(tmp_path)


def test_other_runtimes_are_refused(tmp_path: Path) -> None:
    write_project(tmp_path, "name: p\nruntime:\n  name: nodejs\n")
    with pytest.raises(StackflowError, match=r"runtime is 'nodejs'; stackflow synthesizes only"):
        load_project(tmp_path)


def test_bad_name(tmp_path: Path) -> None:
    write_project(tmp_path, "runtime: python\n")
    with pytest.raises(StackflowError, match=r"name is None; it must be a non-empty string"):
        load_project(tmp_path)


def test_find_projects_walks_everything_but_hidden_venv_and_node_modules(tmp_path: Path) -> None:
    write_project(tmp_path / "a")
    write_project(tmp_path / "nested" / "b")
    for skipped in (".hidden", ".venv", "venv", "node_modules", "a/node_modules/x"):
        write_project(tmp_path / skipped)
    found = [p.dir for p in find_projects(tmp_path)]
    assert found == [tmp_path / "a", tmp_path / "nested" / "b"]


def test_find_projects_follows_patterns(tmp_path: Path) -> None:
    write_project(tmp_path)
    write_project(tmp_path / "apps" / "one")
    write_project(tmp_path / "apps" / "two")
    write_project(tmp_path / "other")
    assert [p.dir for p in find_projects(tmp_path, ["."])] == [tmp_path]
    assert [p.dir for p in find_projects(tmp_path, ["apps/*"])] == [
        tmp_path / "apps" / "one",
        tmp_path / "apps" / "two",
    ]


def test_this_repository_does_not_plan_the_sample_programs() -> None:
    config = RepoConfig.load(REPO)
    dirs = [p.dir for p in find_projects(REPO, config.projects)]
    assert all(PROGRAMS not in d.parents for d in dirs)


def test_sample_programs_are_all_found_without_patterns() -> None:
    names = [p.name for p in find_projects(PROGRAMS)]
    assert names == [
        "broken",
        "missing-invoke",
        "network",
        "platform",
        "secrets",
        "services",
        "webapp",
    ]


def test_project_config_defaults_are_read_as_the_pulumi_cli_reads_them(tmp_path: Path) -> None:
    """Pulumi.yaml is YAML 1.2 to the CLI (yaml.v3): ``yes`` and ``12:30`` are strings,
    not PyYAML's True and 750."""
    write_project(
        tmp_path,
        "name: p\nruntime: python\nconfig:\n"
        "  flag: yes\n  at: 12:30\n  n: 3\n  on: true\n"
        "  typed:\n    type: string\n    default: no\n"
        "  quoted: '0755'\n  tags: [a, yes]\n",
    )
    assert load_project(tmp_path).config_defaults == {
        "p:flag": "yes",
        "p:at": "12:30",
        "p:n": 3,
        "p:on": True,
        "p:typed": "no",
        "p:quoted": "0755",
        "p:tags": ["a", "yes"],
    }
