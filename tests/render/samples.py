"""Sample plans the renderer tests share."""

from __future__ import annotations

from pathlib import Path

from stackflow.plan.model import (
    Change,
    DiffKind,
    Level,
    Op,
    OutputChange,
    PolicyFinding,
    PropertyDiff,
    Source,
    StackPlan,
)
from stackflow.plan.values import secret, unknown

GOLDEN = Path(__file__).parent / "golden"
SHA_BASE = "0123456789abcdef0123456789abcdef01234567"
SHA_HEAD = "fedcba9876543210fedcba9876543210fedcba98"


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::app::{type_}::{name}"


def bucket(stack: str, name: str, op: Op = Op.CREATE, **diffs: object) -> Change:
    props = tuple(
        PropertyDiff(path, DiffKind.ADD if op is Op.CREATE else DiffKind.UPDATE, new=value)
        for path, value in diffs.items()
    )
    return Change(urn(stack, "aws:s3/bucket:Bucket", name), "aws:s3/bucket:Bucket", name, op, props)


def dev_plan() -> StackPlan:
    """A typical pull request: creates, an update, a replace forced by a secret, a delete,
    an advisory and a mandatory finding, an output change."""
    logs = bucket("dev", "logs", acl="private", arn=unknown(), tags={"owner": "web"})
    site = Change(
        urn("dev", "aws:s3/bucket:Bucket", "site"),
        "aws:s3/bucket:Bucket",
        "site",
        Op.UPDATE,
        (
            PropertyDiff("tags.owner", DiffKind.UPDATE, old="alice", new="bob"),
            PropertyDiff("website.indexDocument", DiffKind.ADD, new="index.html"),
            PropertyDiff("versioning", DiffKind.DELETE, old={"enabled": True}),
        ),
        source_position="stacks/program.py:42",
    )
    db = Change(
        urn("dev", "aws:rds/instance:Instance", "db"),
        "aws:rds/instance:Instance",
        "db",
        Op.REPLACE,
        (
            PropertyDiff("password", DiffKind.UPDATE, old=secret("d1"), new=secret("d2")),
            PropertyDiff("engineVersion", DiffKind.UPDATE, old="15", new="16", replace=True),
        ),
    )
    old = Change(
        urn("dev", "aws:sqs/queue:Queue", "jobs"), "aws:sqs/queue:Queue", "jobs", Op.DELETE
    )
    return StackPlan.build(
        project="app",
        stack="dev",
        source=Source.OFFLINE,
        changes=(logs, site, db, old),
        same=12,
        outputs=(
            OutputChange("url", Op.UPDATE, old="http://a.example", new="http://b.example"),
            OutputChange("dbPassword", Op.CREATE, new=secret("d2")),
        ),
        policy=(
            PolicyFinding(
                "aws-s3-bucket-public-read",
                Level.MANDATORY,
                "bucket `logs` allows public reads; set `acl` to `private`",
                urn=logs.urn,
            ),
            PolicyFinding("required-tags", Level.ADVISORY, "add an `owner` tag", urn=db.urn),
        ),
        base=SHA_BASE,
        head=SHA_HEAD,
    )


def clean_plan() -> StackPlan:
    return StackPlan.build(
        project="app",
        stack="staging",
        source=Source.ENGINE,
        changes=(bucket("staging", "assets", acl="private"),),
        same=30,
        head=SHA_HEAD,
    )
