"""The plan is never more optimistic than the engine: replacement cascades, protected and
stateful resources, risky changes above the fold, new and removed stacks (issue 10, part A).

Each test plans a small program written for it, through ``stackflow plan``, with real
synths (subprocesses under Pulumi's mock runtime)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stackflow import cli
from stackflow.errors import ExitCode

from .conftest import GitRepo

pytestmark = pytest.mark.slow

NETWORK = """\
import pulumi
import pulumi_aws as aws

cidr = pulumi.Config().get("cidr") or "10.0.0.0/16"
subnet_cidr = cidr.replace("/16", "/24")
vpc = aws.ec2.Vpc("vpc", cidr_block=cidr)
subnet = aws.ec2.Subnet("subnet", vpc_id=vpc.id, cidr_block=subnet_cidr)
sg = aws.ec2.SecurityGroup("sg", vpc_id=vpc.id, description="web")
table = aws.ec2.RouteTable("rt", vpc_id=vpc.id)
aws.ec2.RouteTableAssociation("rta", subnet_id=subnet.id, route_table_id=table.id)
aws.s3.Bucket("unrelated", bucket="acme-unrelated")
"""


def project(main: str, stacks: dict[str, str] | None = None) -> dict[str, str]:
    files = {
        "Pulumi.yaml": "name: net\nruntime: python\nmain: app/\nstackConfigDir: app\n",
        "app/__main__.py": main,
    }
    for stack, config in (stacks or {"dev": "config: {}\n"}).items():
        files[f"app/Pulumi.{stack}.yaml"] = config
    return files


def plan_json(
    repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *args: str,
    markdown: bool = False,
) -> tuple[int, dict[str, Any], str]:
    """Runs ``stackflow plan --base HEAD`` in the repository: (exit, plan JSON, output)."""
    monkeypatch.chdir(repo.root)
    out = tmp_path / "plan.json"
    md = tmp_path / "plan.md"
    extra = ["-o", str(md)] if markdown else []
    code = cli.main(["plan", "--base", "HEAD", "-o", str(out), *extra, *args])
    text = md.read_text(encoding="utf-8") if markdown else ""
    return code, json.loads(out.read_text(encoding="utf-8")), text


def ops(stack: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["op"] for c in stack["changes"]}


def test_a_replaced_vpc_takes_down_everything_built_on_its_id(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    git_repo.write(project(NETWORK))
    git_repo.commit("network")
    git_repo.write({"app/Pulumi.dev.yaml": "config:\n  net:cidr: 10.1.0.0/16\n"})

    code, data, markdown = plan_json(
        git_repo, monkeypatch, tmp_path, "--stack", "dev", markdown=True
    )

    assert code == ExitCode.OK
    (stack,) = data["stacks"]
    # vpcId is create-only on the subnet, security group and route table; the association's
    # subnetId and routeTableId are create-only too: the engine replaces all five.
    assert ops(stack) == {
        "vpc": "replace",
        "subnet": "replace",
        "sg": "replace",
        "rt": "replace",
        "rta": "replace",
    }
    sg = next(c for c in stack["changes"] if c["name"] == "sg")
    (vpc_id,) = [d for d in sg["diffs"] if d["path"] == "vpcId"]
    assert vpc_id["new"] == {"$unknown": True}
    assert vpc_id["replace"] is True
    assert stack["counts"]["same"] >= 1  # the unrelated bucket (and the provider) stay
    fold = markdown.split("<details")[0]
    assert "Ready to merge" not in fold
    assert "5 resources deleted or replaced" in fold
    for name in ("vpc", "subnet", "sg", "rt", "rta"):  # the network, above the fold
        assert f"`+-` {'🔐 ' if name == 'sg' else ''}`net/dev` · `{name}`" in fold


STORE = """\
import pulumi
import pulumi_aws as aws

config = pulumi.Config()
if config.get_bool("keep_archive") is not False:
    aws.s3.Bucket("archive", bucket="acme-archive", opts=pulumi.ResourceOptions(protect=True))
aws.rds.Instance(
    "db",
    engine=config.get("engine") or "postgres",
    instance_class="db.t4g.small",
    allocated_storage=20,
    username="app",
    manage_master_user_password=True,
    opts=pulumi.ResourceOptions(protect=config.get_bool("protect_db") is not False),
)
if config.get_bool("queue") is not False:
    aws.sqs.Queue("jobs")
"""


def test_deleting_or_replacing_a_protected_resource_blocks_the_plan(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    git_repo.write(project(STORE))
    git_repo.commit("store")
    git_repo.write(
        {"app/Pulumi.dev.yaml": "config:\n  net:keep_archive: false\n  net:engine: mysql\n"}
    )

    code, data, markdown = plan_json(
        git_repo, monkeypatch, tmp_path, "--stack", "dev", markdown=True
    )

    assert code == ExitCode.POLICY_VIOLATION
    (stack,) = data["stacks"]
    assert ops(stack) == {"archive": "delete", "db": "replace"}
    blocked = {
        f["urn"].rsplit("::", 1)[-1]: f for f in stack["policy"] if f["level"] == "mandatory"
    }
    assert set(blocked) == {"archive", "db"}
    assert all(f["policy"] == "protected-resource" for f in blocked.values())
    assert "pulumi state unprotect" in blocked["db"]["message"]
    assert "separate, reviewed" in blocked["archive"]["message"]
    fold = markdown.split("<details")[0]  # above the fold: before any collapsed section
    assert "Ready to merge" not in markdown
    assert "protected-resource" in fold
    assert "`archive`" in fold
    assert "`db`" in fold


def test_losing_a_stateful_resource_is_a_warning_above_the_fold(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    git_repo.write(project(STORE, {"dev": "config:\n  net:protect_db: false\n"}))
    git_repo.commit("store")
    git_repo.write(
        {
            "app/Pulumi.dev.yaml": (
                "config:\n  net:protect_db: false\n  net:engine: mysql\n  net:queue: false\n"
            )
        }
    )

    code, data, markdown = plan_json(
        git_repo, monkeypatch, tmp_path, "--stack", "dev", markdown=True
    )

    assert code == ExitCode.OK  # not blocked: nothing protected is touched
    (stack,) = data["stacks"]
    assert ops(stack) == {"db": "replace", "jobs": "delete"}
    loss = sorted(
        f["urn"].rsplit("::", 1)[-1]
        for f in stack["policy"]
        if f["policy"] == "stateful-resource-loss"
    )
    assert loss == ["db", "jobs"]
    fold = markdown.split("<details")[0]
    assert "Data loss" in fold
    assert "`db`" in fold
    assert "`jobs`" in fold
    assert "+-" in markdown  # the replacement's marker, as in the terminal


def test_new_removed_and_unpromoted_stacks_are_labelled(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    main = 'import pulumi_aws as aws\naws.sqs.Queue("jobs")\n'
    git_repo.write(project(main, {"dev": "config: {}\n", "local": "config: {}\n"}))
    git_repo.write({"stackflow.yaml": "promotion: [dev, staging, prod]\n"})
    git_repo.commit("two stacks")
    (git_repo.root / "app/Pulumi.local.yaml").unlink()
    git_repo.write({"app/Pulumi.staging.yaml": "config: {}\n"})

    code, data, markdown = plan_json(git_repo, monkeypatch, tmp_path, markdown=True)

    assert code == ExitCode.OK
    labels = {s["stack"]: s["labels"] for s in data["stacks"]}
    assert labels == {"local": ["removed", "not-in-promotion"], "staging": ["new"]}
    assert "No stacks are affected" not in markdown
    fold = markdown.split("<details")[0]
    assert "stackflow destroy --stack local" in fold
    assert "`net/staging` is new" in fold
    assert "Ready to merge" not in markdown
