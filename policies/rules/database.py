"""RDS: encrypted storage, no public endpoint, backups kept, deletion protection."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ._common import DB_CLUSTER_TYPES, DB_INSTANCE_TYPES

INSTANCE_TYPE = "aws:rds/instance:Instance"
CLUSTER_INSTANCE_TYPE = "aws:rds/clusterInstance:ClusterInstance"


def _check_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # Aurora cluster instances take their encryption from the cluster.
    if args.resource_type not in (INSTANCE_TYPE, *DB_CLUSTER_TYPES):
        return
    if args.props.get("storageEncrypted") is not True:
        report(
            "Storage is not encrypted, and it cannot be turned on later without a "
            "snapshot-and-restore. Set storage_encrypted=True (with kms_key_id for a "
            "customer-managed key).",
            None,
        )


rds_storage_encrypted = ResourceValidationPolicy(
    name="rds-storage-encrypted",
    description="RDS instances and clusters encrypt their storage.",
    validate=_check_encrypted,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["database"],
    remediation_steps="Set storage_encrypted=True on the instance or cluster.",
)


def _check_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in DB_INSTANCE_TYPES:
        return
    if args.props.get("publiclyAccessible") is True:
        report(
            "The database has a public endpoint. Set publicly_accessible=False and reach it "
            "from inside the VPC (application subnets, a bastion or SSM port forwarding).",
            None,
        )


rds_not_publicly_accessible = ResourceValidationPolicy(
    name="rds-not-publicly-accessible",
    description="RDS instances are not publicly accessible.",
    validate=_check_public,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["database"],
    remediation_steps="Set publicly_accessible=False.",
)


def _check_backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # Cluster members keep the cluster's retention; it is checked on the cluster.
    if args.resource_type not in (INSTANCE_TYPE, *DB_CLUSTER_TYPES):
        return
    minimum = int(args.get_config()["minimumDays"])
    days = args.props.get("backupRetentionPeriod")
    if days is None or float(days) < minimum:
        shown = "not set (AWS keeps 1 day)" if days is None else f"{int(days)} days"
        report(
            f"Backup retention is {shown}; at least {minimum} days are required. Set "
            f"backup_retention_period={minimum} or more.",
            None,
        )


rds_backup_retention = ResourceValidationPolicy(
    name="rds-backup-retention",
    description="RDS instances and clusters keep automated backups for at least N days.",
    validate=_check_backups,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["database"],
    config_schema=PolicyConfigSchema(
        properties={
            "minimumDays": {
                "type": "integer",
                "minimum": 1,
                "maximum": 35,
                "default": 7,
                "description": "The fewest days of automated backups to keep.",
            }
        }
    ),
    remediation_steps="Set backup_retention_period to at least minimumDays.",
)


def _check_deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (INSTANCE_TYPE, *DB_CLUSTER_TYPES):
        return
    if args.props.get("deletionProtection") is not True:
        report(
            "Deletion protection is off, so one API call deletes the database. Set "
            "deletion_protection=True.",
            None,
        )


rds_deletion_protection = ResourceValidationPolicy(
    name="rds-deletion-protection",
    description="RDS instances and clusters have deletion protection (required in prod).",
    validate=_check_deletion_protection,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["database"],
    remediation_steps="Set deletion_protection=True.",
)

POLICIES = [
    rds_storage_encrypted,
    rds_not_publicly_accessible,
    rds_backup_retention,
    rds_deletion_protection,
]
