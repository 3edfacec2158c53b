"""Which stacks a change touches."""

from __future__ import annotations

import json

import pytest

from stackflow.affected import AffectedStack, affected_between, affected_stacks, glob_match
from stackflow.project import find_projects
from stackflow.repoconfig import RepoConfig

from .conftest import GitRepo

PROJECT = "name: platform\nruntime: python\nmain: stacks/\nstackConfigDir: stacks\n"
FILES = {
    "Pulumi.yaml": PROJECT,
    "stacks/__main__.py": "",
    "stacks/Pulumi.dev.yaml": "config: {}\n",
    "stacks/Pulumi.prod.yaml": "config: {}\n",
    "stacks/ephemeral.yaml": "config: {}\n",
    "components/bucket.py": "",
    "apps/web/Pulumi.yaml": "name: web\nruntime: python\n",
    "apps/web/__main__.py": "",
    "apps/web/Pulumi.dev.yaml": "config: {}\n",
    "policies/PulumiPolicy.yaml": "runtime: python\n",
    "docs/x.md": "",
    "tests/test_x.py": "",
}
ROOT_DEV = AffectedStack(".", "platform", "dev")
ROOT_PROD = AffectedStack(".", "platform", "prod")
WEB_DEV = AffectedStack("apps/web", "web", "dev")


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.write(FILES)
    git_repo.commit("initial")
    return git_repo


def touched(repo: GitRepo, *paths: str, **config: object) -> tuple[AffectedStack, ...]:
    settings = RepoConfig.from_dict(repo.root, config)
    return affected_stacks(paths, find_projects(repo.root), settings)


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["stacks/Pulumi.dev.yaml"], [ROOT_DEV]),
        (["components/bucket.py"], [ROOT_DEV, ROOT_PROD]),
        (["Pulumi.yaml"], [ROOT_DEV, ROOT_PROD]),
        (["apps/web/__main__.py"], [WEB_DEV]),
        (["apps/web/Pulumi.dev.yaml"], [WEB_DEV]),
        (["policies/rules/tags.py"], [ROOT_DEV, ROOT_PROD, WEB_DEV]),
        (["stackflow.yaml"], [ROOT_DEV, ROOT_PROD, WEB_DEV]),
        (["docs/x.md", "tests/test_x.py", "README.md", ".github/workflows/ci.yml"], []),
        (["apps/web/NOTES.md"], []),
        (["stacks/Pulumi.gone.yaml"], []),
        ([".stackflow/cache/manifests/x.json", ".stackflow/digest-key"], []),
        ([], []),
    ],
)
def test_rules(repo: GitRepo, paths: list[str], expected: list[AffectedStack]) -> None:
    assert list(touched(repo, *paths)) == expected


def test_the_ephemeral_template_is_not_a_stack(repo: GitRepo) -> None:
    stacks = {s.stack for s in touched(repo, "components/bucket.py")}
    assert "ephemeral" not in stacks


def test_repository_rules_add_stacks(repo: GitRepo) -> None:
    rules = [
        {"paths": ["docs/runbooks/**"], "stacks": ["web/*"]},
        {"paths": ["*.sql"], "stacks": ["platform/prod"]},
    ]
    assert touched(repo, "docs/runbooks/a.md", affected=rules) == (WEB_DEV,)
    assert touched(repo, "apps/web/tests/schema.sql", affected=rules) == (ROOT_PROD,)
    assert touched(repo, "docs/other.md", affected=rules) == ()


def test_a_renamed_policy_pack_dir_touches_all(repo: GitRepo) -> None:
    assert len(touched(repo, "guard/x.py", policy_pack="guard")) == 3


def test_the_not_program_list_can_be_replaced(repo: GitRepo) -> None:
    settings = RepoConfig.from_dict(repo.root, {})
    projects = find_projects(repo.root)
    assert affected_stacks(["docs/x.md"], projects, settings, not_program=()) == (
        ROOT_DEV,
        ROOT_PROD,
    )
    assert (
        affected_stacks(["components/x.py"], projects, settings, not_program=("components",)) == ()
    )


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        ("tests/a/b.py", ["tests/**"], True),
        ("tests", ["tests/**"], False),
        ("x/tests/a.py", ["tests/**"], False),
        ("a/b/README.md", ["*.md"], True),
        ("tools/a.py", ["tools/*.py"], True),
        ("tools/sub/a.py", ["tools/*.py"], False),
        ("a/b/c.py", ["a/**/c.py"], True),
        ("a/c.py", ["a/**/c.py"], True),
        ("docs/deep/x.png", ["docs"], True),
        # `!` excludes, as in .gitignore and Pulumi's path filters: the last match wins
        ("shared/README.md", ["shared/**", "!shared/README.md"], False),
        ("shared/lib.py", ["shared/**", "!shared/README.md"], True),
        ("shared/notes/a.md", ["shared/**", "!*.md"], False),
        ("shared/a.md", ["!*.md", "shared/**"], True),
        ("a[1].py", ["a\\[1\\].py"], True),
    ],
)
def test_glob_match(path: str, patterns: list[str], expected: bool) -> None:
    assert glob_match(path, patterns) is expected


def test_between_revisions_and_against_the_working_tree(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.write({"stacks/Pulumi.prod.yaml": "config: {a: 1}\n"})
    head = repo.commit()
    assert affected_between(repo.root, base, head) == (ROOT_PROD,)
    repo.write({"apps/web/new_module.py": ""})  # untracked: part of the working tree
    assert affected_between(repo.root, base) == (ROOT_PROD, WEB_DEV)
    # with no remote the default base is HEAD~1, which is `base` here
    assert affected_between(repo.root) == (ROOT_PROD, WEB_DEV)
    assert json.dumps([s.to_dict() for s in affected_between(repo.root, base, head)]) == (
        '[{"project": "platform", "dir": ".", "stack": "prod"}]'
    )


ZEROS = "0" * 40


def test_a_first_push_without_a_before_commit_affects_every_stack(repo: GitRepo) -> None:
    """GitHub sends `before` as forty zeros on a branch's first push (and the deploy
    workflow passes it on a manual run): there is nothing to compare with, so every stack
    is affected, never a traceback from `git diff 0000...`."""
    head = repo.git("rev-parse", "HEAD")
    assert affected_between(repo.root, ZEROS, head) == (ROOT_DEV, ROOT_PROD, WEB_DEV)
    assert affected_between(repo.root, ZEROS) == (ROOT_DEV, ROOT_PROD, WEB_DEV)


def test_the_cli_takes_a_zero_base_for_affected_and_plan(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from stackflow.cli import main

    monkeypatch.chdir(repo.root)
    code = main(["affected", "--base", ZEROS, "--head", "HEAD", "--json"])
    out = capsys.readouterr()
    assert (code, out.err) == (0, "")
    assert [s["stack"] for s in json.loads(out.out)] == ["dev", "prod", "dev"]
    code = main(["plan", "--base", ZEROS, "--json", "-"])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    assert "bad object" not in out.err
