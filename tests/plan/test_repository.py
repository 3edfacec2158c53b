"""This repository's own project, copied into a throwaway git repository: the issue's
done-when (one config value shows exactly what it reaches), the demo, and the documented
plan JSON contract. Everything runs for real, offline."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stackflow import cli, planner
from stackflow.demo import run_demo
from stackflow.errors import ExitCode
from stackflow.plan import Op, Plan
from stackflow.plan.synth import synth
from stackflow.project import load_project

from .conftest import GitRepo

pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).resolve().parents[2]
PROJECT_PATHS = ("Pulumi.yaml", "stackflow.yaml", "stacks", "components", "policies")


def copy_project(
    into: GitRepo, *, stacks: tuple[str, ...] = ("dev",), policies: bool = False
) -> None:
    """The project's files, with only the named stacks (fewer synths, same program)."""
    ignore = shutil.ignore_patterns("__pycache__", ".stackflow")
    for name in PROJECT_PATHS:
        if name == "policies" and not policies:
            continue
        source = REPOSITORY / name
        if source.is_dir():
            shutil.copytree(source, into.root / name, ignore=ignore)
        else:
            shutil.copy2(source, into.root / name)
    if not policies:  # no pack, so stackflow.yaml must not name one (that is an error)
        settings = into.root / "stackflow.yaml"
        settings.write_text(
            "".join(
                line
                for line in settings.read_text().splitlines(keepends=True)
                if not line.startswith("policy_pack:")
            )
        )
    for path in (into.root / "stacks").glob("Pulumi.*.yaml"):
        if path.name[len("Pulumi.") : -len(".yaml")] not in stacks:
            path.unlink()


def set_config(repo: GitRepo, key: str, value: str, stack: str = "dev") -> None:
    """Change one `key: value` line of a stack file, as a person would in an editor."""
    path = repo.root / "stacks" / f"Pulumi.{stack}.yaml"
    text = path.read_text()
    line = re.compile(rf"^(  {re.escape(key)}:).*$", re.MULTILINE)
    new = line.sub(rf"\1 {value}", text) if line.search(text) else text + f"  {key}: {value}\n"
    path.write_text(new)


@pytest.fixture
def project(git_repo: GitRepo) -> GitRepo:
    copy_project(git_repo, stacks=("dev", "prod"))
    git_repo.commit("the platform project")
    return git_repo


def test_one_dev_value_shows_exactly_the_resources_it_reaches(project: GitRepo) -> None:
    set_config(project, "stackflow:image", "ghcr.io/example/web:1.5.0")
    head = project.commit("web 1.5.0 in dev")
    plan = planner.plan_stacks(project.root, base="HEAD~1")
    assert [s.key for s in plan.stacks] == ["stackflow-platform/dev"]  # prod is untouched
    (dev,) = plan.stacks
    assert (dev.base, dev.head) == (project.git("rev-parse", "HEAD~1"), head)
    assert [(c.type, c.name, c.op) for c in dev.changes] == [
        ("kubernetes:apps/v1:Deployment", "dev-app-deployment", Op.UPDATE)
    ]
    assert [(d.path, d.old, d.new) for d in dev.changes[0].diffs] == [
        (
            "spec.template.spec.containers[0].image",
            "ghcr.io/example/web:1.4.2",
            "ghcr.io/example/web:1.5.0",
        )
    ]
    assert dev.outputs == ()
    assert dev.counts["same"] == len(synth(load_project(project.root), "dev").resources) - 1


def test_more_replicas_reach_the_deployment_and_a_disruption_budget(project: GitRepo) -> None:
    set_config(project, "stackflow:replicas", "3")
    project.commit("three replicas in dev")
    (dev,) = planner.plan_stacks(project.root, base="HEAD~1").stacks
    assert [(c.name, c.op) for c in dev.changes] == [
        ("dev-app-deployment", Op.UPDATE),
        ("dev-app-pdb", Op.CREATE),
    ]
    assert [d.path for d in dev.changes[0].diffs] == ["spec.replicas"]


def test_a_new_secret_ciphertext_shows_as_a_changed_secret_without_values(project: GitRepo) -> None:
    path = project.root / "stacks" / "Pulumi.dev.yaml"
    text = path.read_text()
    ciphertext = re.search(r"secure: (\S+)", text)
    assert ciphertext is not None
    path.write_text(text.replace(ciphertext.group(1), "v1:AAAAAAAAAAAAAAAA:bmV3IHNlY3JldA=="))
    plan = planner.plan_stacks(project.root, base="HEAD")
    text_out = plan.to_json()
    assert ciphertext.group(1) not in text_out
    changed = {(c.name, d.path) for s in plan.stacks for c in s.changes for d in c.diffs}
    assert ("dev-db-postgres", "password") in changed
    assert '"$secret": "redacted"' in text_out


def test_demo_is_identical_on_fresh_clones_and_leaves_the_checkout_alone(
    git_repo: GitRepo, tmp_path: Path
) -> None:
    copy_project(git_repo)
    git_repo.commit("the platform project")
    comments = []
    for name in ("one", "two"):
        clone = tmp_path / name
        subprocess.run(["git", "clone", "-q", str(git_repo.root), str(clone)], check=True)
        before = subprocess.run(
            ["git", "status", "--porcelain", "--ignored"], cwd=clone, capture_output=True, text=True
        ).stdout
        result = run_demo(clone)
        after = subprocess.run(
            ["git", "status", "--porcelain", "--ignored"], cwd=clone, capture_output=True, text=True
        ).stdout
        assert before == after
        assert (
            "stackflow-base"
            not in subprocess.run(
                ["git", "worktree", "list"], cwd=clone, capture_output=True, text=True
            ).stdout
        )
        assert not result.uncommitted
        comments.append(result.comment)
    assert comments[0] == comments[1]
    assert str(tmp_path) not in comments[0]
    assert "/tmp" not in comments[0]
    assert "spec.replicas" in comments[0]
    assert "dev-uploads" in comments[0]


DOC = REPOSITORY / "docs" / "PLAN_FORMAT.md"
DOCUMENTED = re.compile(r"^\| `([a-z][^`]*)` \|", re.MULTILINE)
EXAMPLE = re.compile(r"```json\n(.*?)```", re.DOTALL)


def test_every_documented_plan_key_is_in_a_real_plan_and_mandatory_exits_2(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo.write({"README.md": "before the platform project\n"})
    git_repo.commit("an empty repository")
    copy_project(git_repo, stacks=("dev",), policies=True)
    set_config(git_repo, "stackflow:dbInstanceClass", "db.r6g.4xlarge")  # not allowed in dev
    # Against a base without the project, so findings carry a status (new) too.
    plan = planner.plan_stacks(git_repo.root, base="HEAD", stack="dev")
    assert plan.has_mandatory_violations
    git_repo.commit("a too-large database in dev")
    data = Plan.from_json(plan.to_json()).to_dict()
    documented = DOCUMENTED.findall(DOC.read_text())
    assert len(documented) > 30
    for key in documented:
        assert _has(data, key.split(".")), key

    monkeypatch.chdir(git_repo.root)
    assert cli.main(["plan", "--no-base", "--stack", "dev"]) == ExitCode.POLICY_VIOLATION
    assert "allowed-instance-classes" in capsys.readouterr().out

    relaxed = json.loads((git_repo.root / "policies" / "config" / "dev.json").read_text())
    relaxed["allowed-instance-classes"]["enforcementLevel"] = "advisory"
    (git_repo.root.parent / "relaxed.json").write_text(json.dumps(relaxed))
    args = ["plan", "--no-base", "--stack", "dev", "--policy-config", "../relaxed.json"]
    assert cli.main(args) == ExitCode.OK
    assert "advisory  allowed-instance-classes" in capsys.readouterr().out

    assert cli.main(["plan", "--no-base", "--policy-pack", "nowhere"]) == ExitCode.ERROR
    assert "there is no PulumiPolicy.yaml" in capsys.readouterr().err


def test_the_documented_example_is_a_valid_plan() -> None:
    (example,) = EXAMPLE.findall(DOC.read_text())
    plan = Plan.from_json(example)
    assert plan.to_json() == example


def _has(node: object, parts: list[str]) -> bool:
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    many = head.endswith("[]")
    name = head.removesuffix("[]")
    if not isinstance(node, dict) or name not in node:
        return False
    value = node[name]
    if many:
        return isinstance(value, list) and bool(value) and any(_has(item, rest) for item in value)
    return _has(value, rest)
