"""``stackflow init``: a new Python Pulumi project in the repository, on the components.

It writes ``Pulumi.yaml``, a program (``__main__.py``) that reads its config once and builds
a :class:`components.aws.bucket.SecureBucket`, one stack file naming its environment kind
(``stackflow:environment``), an ``offline.yaml`` for the answers the offline plan may ask
for, and adds the directory to ``projects:`` in ``stackflow.yaml``. It never overwrites.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from stackflow.errors import StackflowError
from stackflow.project import ENVIRONMENT_KEY, PROJECT_FILE
from stackflow.repoconfig import FILE_NAME, NAME, RepoConfig

PROJECT_NAME = re.compile(r"[A-Za-z0-9_.-]+\Z")
"""What Pulumi accepts as a project name."""

PROGRAM = '''\
"""{name}: a Pulumi program on stackflow's components (scaffolded by `stackflow init`).

Config is read once, here; components take typed Args. Add resources below, then
`stackflow plan --project {rel} --stack {stack} --no-base` shows what they would create.
"""

import pulumi

from components.aws.bucket import SecureBucket, SecureBucketArgs

config = pulumi.Config("stackflow")
environment = config.require("environment")  # the environment kind: dev, staging, prod, ...
tags = {{
    "environment": environment,
    "owner": config.get("owner") or "{name}",
    "cost-center": config.get("costCenter") or "{name}",
}}

data = SecureBucket("data", SecureBucketArgs(tags=tags, protect=environment == "prod"))

pulumi.export("bucket_name", data.bucket_name)
'''

OFFLINE = """\
# Answers for the offline plan (`stackflow plan`), which runs this program with no cloud.
# When a plan stops with "<token> has no offline answer", answer that data source here:
#
# invokes:
#   aws:ec2/getVpc:getVpc:
#     - args: {{default: true}}     # optional: only calls with these arguments
#       result: {{id: vpc-0abc, cidrBlock: 10.0.0.0/16}}
# stackReferences:                   # outputs of stacks outside this repository
#   acme/network/prod: {{vpcId: vpc-0abc}}
#
# `stackflow help offline-answers` explains the format.
invokes: {{}}
stackReferences: {{}}
"""


@dataclass(frozen=True, slots=True)
class InitResult:
    dir: Path
    name: str
    created: tuple[Path, ...]
    registered: str
    """How stackflow.yaml finds the project: what was done to ``projects:``."""


def init_project(
    repo: RepoConfig, dir: Path, *, name: str | None, stack: str, environment: str
) -> InitResult:
    """Scaffold the project in ``dir`` (inside ``repo.root``) and register it."""
    target = (repo.root / dir).resolve() if not dir.is_absolute() else dir.resolve()
    doing = f"creating a project in {dir}"
    if target != repo.root and repo.root not in target.parents:
        raise StackflowError(
            f"{doing}: it is outside the repository {repo.root}; pick a path in it"
        )
    if (target / PROJECT_FILE).exists():
        raise StackflowError(f"{doing}: {target / PROJECT_FILE} exists; pick an empty directory")
    rel = target.relative_to(repo.root).as_posix() or "."
    name = name or target.name
    if not PROJECT_NAME.match(name):
        raise StackflowError(
            f"{doing}: project name {name!r} is not letters, digits, '-', '_' or '.'; pass --name"
        )
    if not NAME.match(stack):
        raise StackflowError(f"{doing}: stack name {stack!r} is not letters, digits, - and _")
    kinds = _environment_kinds(repo)
    if kinds and environment not in kinds:
        raise StackflowError(
            f"{doing}: environment kind {environment!r} has no policy config; use one of "
            f"{', '.join(kinds)} (policies/config/<kind>.json)"
        )
    files = {
        PROJECT_FILE: yaml.safe_dump(
            {
                "name": name,
                "runtime": "python",
                "description": f"{name} (scaffolded by stackflow init)",
            },
            sort_keys=False,
        ),
        "__main__.py": PROGRAM.format(name=name, rel=rel, stack=stack),
        f"Pulumi.{stack}.yaml": yaml.safe_dump(
            {"config": {"aws:region": "eu-west-1", ENVIRONMENT_KEY: environment}},
            sort_keys=False,
        ),
        "offline.yaml": OFFLINE.format(),
    }
    for file_name in files:
        if (target / file_name).exists():
            raise StackflowError(f"{doing}: {target / file_name} exists; pick an empty directory")
    registered = register(repo, rel)
    target.mkdir(parents=True, exist_ok=True)
    created = []
    for file_name, text in files.items():
        (target / file_name).write_text(text, encoding="utf-8")
        created.append(target / file_name)
    return InitResult(dir=target, name=name, created=tuple(created), registered=registered)


def _environment_kinds(repo: RepoConfig) -> tuple[str, ...]:
    from stackflow.policy import environment_kinds

    if not repo.policy_pack_dir.is_dir():
        return ()
    return environment_kinds(repo.policy_pack_dir)


def register(repo: RepoConfig, rel: str) -> str:
    """Add ``rel`` to ``projects:`` in stackflow.yaml, keeping the rest of the file as it
    is (comments too). Without ``projects:`` every Pulumi.yaml is found: nothing to add."""
    path = repo.root / FILE_NAME
    if not repo.projects:
        return f"found without registering ({FILE_NAME} has no projects: list)"
    if rel in repo.projects:
        return f"already in projects: of {FILE_NAME}"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if not line.startswith("projects:"):
            continue
        if line.split("#")[0].rstrip().endswith("]"):  # flow style: projects: [".", a]
            comment = "  #" + line.split("#", 1)[1] if "#" in line else "\n"
            lines[i] = f"projects: {json.dumps([*repo.projects, rel])}{comment}"
        else:  # block style: "  - item" lines follow
            last = i
            for j in range(i + 1, len(lines)):
                if re.match(r"\s+-", lines[j]):
                    last = j
                elif lines[j].strip() and not lines[j].lstrip().startswith("#"):
                    break
            item = re.match(r"(\s+)-", lines[last]) if last > i else None
            indent = item.group(1) if item else "  "
            lines.insert(last + 1, f"{indent}- {json.dumps(rel)}\n")
        new = "".join(lines)
        parsed = yaml.safe_load(new)
        if not isinstance(parsed, dict) or parsed.get("projects") != [*repo.projects, rel]:
            break
        path.write_text(new, encoding="utf-8")
        return f"added to projects: in {FILE_NAME}"
    raise StackflowError(
        f"registering {rel} in {path}: its projects: list is not in a form stackflow edits; "
        f"add {rel!r} to it by hand"
    )
