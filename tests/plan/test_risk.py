"""The plan is never more optimistic than the engine: replacement cascades, protected and
stateful resources, risky changes above the fold, new and removed stacks (issue 10, part A).

The slow tests plan a small program written for each, through ``stackflow plan``, with
real synths (subprocesses under Pulumi's mock runtime); the others give
:mod:`stackflow.plan.risk` a plan's changes as data and check what it calls risky."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest

from stackflow import cli
from stackflow.errors import ExitCode
from stackflow.plan import risk
from stackflow.plan.model import (
    PLAN_PACK,
    Change,
    DiffKind,
    Level,
    Op,
    PolicyFinding,
    PropertyDiff,
    Reconciliation,
    Source,
    StackPlan,
    Unexplained,
)

from .conftest import GitRepo

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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    (local,) = [s for s in data["stacks"] if s["stack"] == "local"]
    left = "it leaves 1 cloud resource deployed (its program at the base declares 1 "
    assert [d["message"] for d in local["diagnostics"]] == [
        f"{left}aws:sqs/queue:Queue); nothing destroys them"
    ]
    assert "it leaves 1 cloud resource deployed" in markdown
    assert "No stacks are affected" not in markdown
    fold = markdown.split("<details")[0]
    assert "stackflow destroy --stack local" in fold
    assert "`net/staging` is new" in fold
    assert "Ready to merge" not in markdown


# ------------------------------------------- what the plan calls risky, from its changes

BUCKET = "aws:s3/bucket:Bucket"
ROLE = "aws:iam/role:Role"
INSTANCE = "aws:ec2/instance:Instance"


def change(name: str, op: Op, *diffs: PropertyDiff, type_: str = INSTANCE, **kw: Any) -> Change:
    return Change(
        urn=f"urn:pulumi:dev::net::{type_}::{name}", type=type_, name=name, op=op, diffs=diffs, **kw
    )


def forced(path: str, old: Any = "a", new: Any = "b") -> PropertyDiff:
    return PropertyDiff(path=path, kind=DiffKind.UPDATE, old=old, new=new, replace=True)


def updated(path: str) -> PropertyDiff:
    return PropertyDiff(path=path, kind=DiffKind.UPDATE, old="a", new="b")


def stack(*changes: Change, **kw: Any) -> StackPlan:
    return StackPlan.build(project="net", stack="dev", source=Source.OFFLINE, changes=changes, **kw)


def reasons(plan: StackPlan) -> dict[str, str]:
    return {r.change.name: r.reason for r in risk.review(plan)}


def test_a_replacement_names_up_to_three_create_only_inputs_and_counts_the_rest() -> None:
    plan = stack(
        change("three", Op.REPLACE, forced("a"), forced("b"), forced("c"), updated("tags")),
        change("four", Op.REPLACE, forced("a"), forced("b"), forced("c"), forced("d")),
        change("six", Op.REPLACE, *(forced(p) for p in "abcdef")),
        change(
            "unknown",
            Op.REPLACE,
            forced("ami"),
            PropertyDiff(path="userData", kind=DiffKind.UPDATE),
        ),
    )
    assert reasons(plan) == {
        "three": "replaced: `a` changed, `b` changed, `c` changed (create-only)",
        "four": "replaced: `a` changed, `b` changed, `c` changed and 1 more (create-only)",
        "six": "replaced: `a` changed, `b` changed, `c` changed and 3 more (create-only)",
        # The engine's own replacement reason was not seen: no input is named.
        "unknown": "replaced: `ami` changed (create-only)",
    }
    bare = stack(change("db", Op.REPLACE, updated("tags")))
    assert reasons(bare) == {"db": "replaced (create-only input changed)"}


def test_a_create_only_input_known_after_deploy_is_blamed_on_the_replaced_resource() -> None:
    unknown = {"$unknown": True}
    plan = stack(
        change("sg", Op.REPLACE, forced("vpcId", old="vpc-1", new=unknown)),
        change("still", Op.REPLACE, forced("vpcId", old=unknown, new=unknown)),
    )
    assert reasons(plan) == {
        "sg": (
            "replaced: `vpcId` known after deploy (it depends on a replaced resource) (create-only)"
        ),
        "still": "replaced: `vpcId` changed (create-only)",
    }


def test_security_relevant_changes_are_risky_by_type_or_by_property() -> None:
    plan = stack(
        change("role", Op.UPDATE, updated("description"), type_=ROLE),
        change("role-policy", Op.UPDATE, updated("assumeRolePolicy"), updated("tags"), type_=ROLE),
        change("web", Op.UPDATE, updated("vpcSecurityGroupIds[0]"), updated("ami")),
        change(
            "wide", Op.UPDATE, *(updated(p) for p in ("ingress[0]", "egress[0]", "acl", "grants"))
        ),
        change("three", Op.UPDATE, *(updated(p) for p in ("ingress[0]", "egress[0]", "acl"))),
        change("plain", Op.UPDATE, updated("ami"), updated("tags.owner"), updated("[0].ingress")),
        change("new-role", Op.CREATE, updated("assumeRolePolicy"), type_=ROLE),
        change("imported-role", Op.IMPORT, type_=ROLE),
        change("new-web", Op.CREATE, updated("ingress")),
        change("old-role", Op.DELETE, type_=ROLE),
        change("old-web", Op.DELETE, updated("ingress")),
    )
    assert reasons(plan) == {
        "old-role": "deleted (no longer in the program); IAM resource removed",
        "old-web": "deleted (no longer in the program); access resource removed",
        "role": "IAM resource changed",
        "role-policy": "IAM change: `assumeRolePolicy`",
        "web": "access change: `vpcSecurityGroupIds[0]`",
        "wide": "access change: `ingress[0]`, `egress[0]`, `acl` …",
        "three": "access change: `ingress[0]`, `egress[0]`, `acl`",
        "new-role": "new IAM resource",
        "imported-role": "new IAM resource",
    }
    flags = {r.change.name: (r.stateful, r.security) for r in risk.review(plan)}
    assert flags["role"] == (False, True)


def test_destructive_changes_come_first_and_say_whether_data_goes_with_them() -> None:
    plan = stack(
        change("role", Op.UPDATE, updated("assumeRolePolicy"), type_=ROLE),
        change("web", Op.REPLACE, forced("ami")),
        change("logs", Op.DELETE, type_=BUCKET),
        change("sg", Op.REPLACE, forced("vpcId"), type_="aws:ec2/securityGroup:SecurityGroup"),
        change("same", Op.SAME, type_=BUCKET),
        change("tagged", Op.UPDATE, updated("tags"), type_=BUCKET),
    )
    review = risk.review(plan)
    assert [(r.change.name, r.stateful, r.security) for r in review] == [
        ("logs", True, False),
        ("web", False, False),
        ("sg", False, True),
        ("role", False, True),
    ]
    assert (
        review[2].reason
        == "replaced: `vpcId` changed (create-only); security group resource changed"
    )
    assert all(r.stack == "net/dev" for r in review)
    with pytest.raises(FrozenInstanceError):  # a renderer cannot soften what it was given
        review[0].reason = "fine"  # type: ignore[misc]


def test_a_delete_the_engine_previews_and_the_change_does_not_explain_is_not_blamed_on_it() -> None:
    queue = change("queue", Op.DELETE, type_="aws:sqs/queue:Queue")
    web = change("web", Op.DELETE)
    plan = stack(
        queue,
        web,
        reconciliation=Reconciliation(
            offline_counts={}, unexplained=(Unexplained(queue.urn), Unexplained(web.urn, ("ami",)))
        ),
    )
    assert reasons(plan) == {
        "queue": "deleted, not from this pull request (drift, or merged but not deployed)",
        "web": "deleted (no longer in the program)",
    }


def test_the_plan_blocks_on_a_protected_resource_and_warns_on_stateful_ones() -> None:
    renamed = change("archive", Op.DELETE, type_=BUCKET, old_urn="urn:old-archive")
    db = change("db", Op.REPLACE, forced("engine"), type_="aws:rds/instance:Instance")
    logs = change("logs", Op.DELETE, type_=BUCKET)
    untouched = [
        change(name, op, type_=BUCKET)
        for name, op in [("c", Op.CREATE), ("u", Op.UPDATE), ("s", Op.SAME)]
    ]
    web = change("web", Op.REPLACE, forced("ami"))
    everyone = {c.urn: True for c in [db, logs, web, *untouched]}
    found = risk.findings(
        [*untouched, renamed, db, logs, web],
        protected={
            "urn:old-archive": True,
            db.urn: True,
            web.urn: False,
            renamed.urn: False,
            **{c.urn: True for c in untouched},
        },
        retained={db.urn: True, **everyone, logs.urn: False, "urn:old-archive": False},
    )
    assert [(f.urn, f.policy, f.level, f.pack) for f in found] == [
        (renamed.urn, risk.PROTECTED, Level.MANDATORY, PLAN_PACK),
        (renamed.urn, risk.DATA_LOSS, Level.ADVISORY, PLAN_PACK),
        (db.urn, risk.PROTECTED, Level.MANDATORY, PLAN_PACK),
        (db.urn, risk.DATA_LOSS, Level.ADVISORY, PLAN_PACK),
        (logs.urn, risk.DATA_LOSS, Level.ADVISORY, PLAN_PACK),
    ]
    messages = [f.message for f in found]
    assert "would delete it: the engine refuses" in messages[0]
    assert "`pulumi state unprotect 'urn:old-archive'`), then delete it." in messages[0]
    assert "would delete it: its data is lost. Back it up" in messages[1]
    assert "would replace it: the engine refuses" in messages[2]
    assert "then replace it." in messages[2]
    assert (
        "would replace it: a new, empty one takes its place. `retainOnDelete` is set, so the "
        "old one is left in the cloud"
    ) in messages[3]
    assert "would delete it: its data is lost. Back it up" in messages[4]


def test_the_data_loss_warning_is_the_plans_own_finding_for_that_resource() -> None:
    logs = change("logs", Op.DELETE, type_=BUCKET)
    db = change("db", Op.REPLACE, forced("engine"), type_="aws:rds/instance:Instance")
    own = PolicyFinding(
        risk.DATA_LOSS, Level.ADVISORY, "the plan's own words", urn=db.urn, pack=PLAN_PACK
    )
    others = (
        PolicyFinding(risk.DATA_LOSS, Level.ADVISORY, "another pack's", urn=logs.urn, pack="acme"),
        PolicyFinding(risk.PROTECTED, Level.MANDATORY, "protected", urn=logs.urn, pack=PLAN_PACK),
        PolicyFinding(
            risk.DATA_LOSS, Level.ADVISORY, "another resource's", urn="urn:x", pack=PLAN_PACK
        ),
    )
    plan = stack(logs, db, policy=(*others, own))
    assert risk.loss_message(plan, db) == "the plan's own words"
    assert risk.loss_message(plan, logs) == (
        f"logs ({BUCKET}) holds data and this change would delete it: its data is lost. "
        "Back it up or migrate its data first, or set `protect` on it."
    )
    bare = stack(db)
    assert risk.loss_message(bare, db).startswith(
        "db (aws:rds/instance:Instance) holds data and this change would replace it: "
        "a new, empty one takes its place."
    )
    assert risk.protected(plan) == [others[1]]


def test_new_and_removed_stacks_say_what_merging_does_to_them() -> None:
    assert risk.stack_notes(stack()) == []
    assert risk.stack_notes(stack(labels=("new",))) == [
        "`net/dev` is new: everything in it is created."
    ]
    (removed,) = risk.stack_notes(stack(labels=("removed", "not-in-promotion")))
    assert removed.startswith(
        "`net/dev` is removed: its stack file is deleted, but that destroys nothing."
    )
    assert "`stackflow destroy --stack dev` has run (then `pulumi stack rm dev`)" in removed
