"""Stack-wide: stateful resources carry the ``protect`` option (required in prod)."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ._common import BUCKET_TYPES, DB_CLUSTER_TYPES, DB_INSTANCE_TYPES

STATEFUL_TYPES = (
    BUCKET_TYPES
    | DB_INSTANCE_TYPES
    | DB_CLUSTER_TYPES
    | {"aws:dynamodb/table:Table", "aws:efs/fileSystem:FileSystem"}
)


def _check_protect(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in STATEFUL_TYPES:
        return
    if not args.opts.protect:
        report(
            "This resource holds data but is not protected, so a refactor that drops or "
            "renames it would delete it. Pass opts=pulumi.ResourceOptions(protect=True) "
            "(the stackflow components do so when settings.protect is on).",
            None,
        )


protect_stateful_resources = ResourceValidationPolicy(
    name="protect-stateful-resources",
    description="Buckets, databases, DynamoDB tables and EFS file systems carry the Pulumi "
    "'protect' option (required in prod).",
    validate=_check_protect,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.HIGH,
    tags=["stack"],
    remediation_steps="Set protect=True in the resource options.",
)

POLICIES = [protect_stateful_resources]
