"""``Database``: RDS PostgreSQL in private subnets, reachable only from given security groups."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.errors import ComponentArgsError
from components.validate import tags_problem

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")
_INSTANCE_CLASS = re.compile(r"db\.[a-z0-9]+\.[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class DatabaseArgs:
    """What a :class:`Database` is built from.

    Attributes:
        vpc_id: The VPC of the database's security group. Required.
        subnet_ids: Private subnets for the subnet group, in at least two zones (RDS
            requires two even for a single-AZ instance). Required.
        allowed_security_group_ids: The only security groups allowed to connect, on
            ``port``. Default none: nothing can connect until one is given.
        instance_class: Default ``db.t4g.micro``, the smallest burstable Graviton class.
        engine_version: PostgreSQL major version. Default ``"16"``.
        allocated_storage_gb: Initial gp3 storage. Default 20.
        max_allocated_storage_gb: Storage autoscaling ceiling. Default 100.
        db_name: Name of the initial database. Default ``"app"``.
        username: Master user name. Default ``"app_admin"``.
        password: Master password as a Pulumi secret (e.g. ``Config.require_secret``).
            Default None: RDS generates and rotates it in Secrets Manager
            (``manage_master_user_password``), so it never passes through Pulumi.
        kms_key_arn: KMS key for storage encryption. Default None: the AWS-managed
            ``aws/rds`` key. Storage is encrypted either way; there is no switch to
            turn encryption off.
        port: Default 5432.
        backup_retention_days: Automated backup retention, 0 to 35. Default 7.
        deletion_protection: Default True.
        multi_az: A standby in a second zone. Default False.
        skip_final_snapshot: Delete without a final snapshot. Default False: a final
            snapshot named ``<name>-final`` is taken.
        protect: Pulumi's ``protect`` option on the instance. Default False; prod sets it.
        tags: Tags for every taggable resource. Default none.
    """

    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    allowed_security_group_ids: Sequence[pulumi.Input[str]] = ()
    instance_class: str = "db.t4g.micro"
    engine_version: str = "16"
    allocated_storage_gb: int = 20
    max_allocated_storage_gb: int = 100
    db_name: str = "app"
    username: str = "app_admin"
    password: pulumi.Input[str] | None = None
    kms_key_arn: pulumi.Input[str] | None = None
    port: int = 5432
    backup_retention_days: int = 7
    deletion_protection: bool = True
    multi_az: bool = False
    skip_final_snapshot: bool = False
    protect: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


class Database(pulumi.ComponentResource):
    """PostgreSQL on RDS: encrypted, private, backed up, in its own security group.

    Outputs: ``address``, ``port``, ``security_group_id``, ``master_user_secret_arn``
    (None when the password comes from a Pulumi secret).
    """

    address: pulumi.Output[str]
    port: pulumi.Output[int]
    security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        label = f"Database {name!r}"
        _validate(label, args)

        super().__init__("stackflow:aws:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def tags(suffix: str) -> dict[str, str]:
            return {**args.tags, "Name": f"{name}-{suffix}"}

        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"PostgreSQL {name}: clients from named security groups only",
            tags=tags("sg"),
            opts=child,
        )
        for index, client in enumerate(args.allowed_security_group_ids):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-ingress-{index}",
                security_group_id=security_group.id,
                referenced_security_group_id=client,
                ip_protocol="tcp",
                from_port=args.port,
                to_port=args.port,
                description="PostgreSQL from an allowed client security group",
                tags=tags(f"ingress-{index}"),
                opts=child,
            )
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=list(args.subnet_ids),
            description=f"Private subnets of {name}",
            tags=tags("subnets"),
            opts=child,
        )
        managed_password = args.password is None
        instance = aws.rds.Instance(
            f"{name}-postgres",
            engine="postgres",
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_name=args.db_name,
            username=args.username,
            manage_master_user_password=True if managed_password else None,
            password=None if managed_password else pulumi.Output.secret(args.password),
            port=args.port,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            publicly_accessible=False,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=args.skip_final_snapshot,
            final_snapshot_identifier=None if args.skip_final_snapshot else f"{name}-final",
            copy_tags_to_snapshot=True,
            iam_database_authentication_enabled=True,
            auto_minor_version_upgrade=True,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            tags=tags("postgres"),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                additional_secret_outputs=["password"],
            ),
        )

        self.address = instance.address
        self.port = instance.port
        self.security_group_id = security_group.id
        self.master_user_secret_arn: pulumi.Output[str] | None = (
            instance.master_user_secrets[0].secret_arn if managed_password else None
        )
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "security_group_id": self.security_group_id,
                "master_user_secret_arn": self.master_user_secret_arn,
            }
        )


def _validate(label: str, args: DatabaseArgs) -> None:
    """Check every argument before any resource exists."""
    if len(args.subnet_ids) < 2:
        raise ComponentArgsError(
            label, "subnet_ids", list(args.subnet_ids), "RDS needs subnets in at least two zones"
        )
    if not _INSTANCE_CLASS.fullmatch(args.instance_class):
        raise ComponentArgsError(
            label, "instance_class", args.instance_class, "expected e.g. 'db.t4g.micro'"
        )
    if not args.engine_version or not args.engine_version.split(".")[0].isdigit():
        raise ComponentArgsError(
            label, "engine_version", args.engine_version, "expected e.g. '16' or '16.4'"
        )
    for argument in ("db_name", "username"):
        value = getattr(args, argument)
        if not _IDENTIFIER.fullmatch(value):
            raise ComponentArgsError(
                label, argument, value, "use 1-63 lower-case letters, digits or '_', letter first"
            )
    if not 20 <= args.allocated_storage_gb <= args.max_allocated_storage_gb <= 65536:
        raise ComponentArgsError(
            label,
            "allocated_storage_gb",
            args.allocated_storage_gb,
            f"need 20 <= allocated_storage_gb <= max_allocated_storage_gb "
            f"({args.max_allocated_storage_gb}) <= 65536",
        )
    if not 0 <= args.backup_retention_days <= 35:
        raise ComponentArgsError(
            label, "backup_retention_days", args.backup_retention_days, "RDS allows 0 to 35"
        )
    if not 1024 <= args.port <= 65535:
        raise ComponentArgsError(label, "port", args.port, "use a port from 1024 to 65535")
    if args.password == "":
        raise ComponentArgsError(
            label, "password", "<empty>", "give a Pulumi secret, or None for an AWS-managed one"
        )
    if problem := tags_problem(args.tags):
        raise ComponentArgsError(label, "tags", dict(args.tags), problem)
