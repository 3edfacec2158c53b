"""``Environment``: one environment of the platform, composed from the other components.

An environment kind (``dev``, ``staging``, ``prod``, ``ephemeral``) decides the sizing
and the durability switches; :data:`SIZING` is the one table of those decisions, so a
reviewer can see what "prod" means in one place. A new kind is a new row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws import (
    NAT_STRATEGIES,
    Database,
    DatabaseArgs,
    NatStrategy,
    Network,
    NetworkArgs,
    SecureBucket,
    SecureBucketArgs,
)
from components.cidr import CidrError, plan_subnets
from components.errors import ComponentArgsError
from components.k8s import App, AppArgs, Autoscaling, ContainerResources, Namespace, NamespaceArgs
from components.validate import dns_label_problem, image_problem, missing_tags

EnvironmentKind = Literal["dev", "staging", "prod", "ephemeral"]
ENVIRONMENT_KINDS: tuple[str, ...] = get_args(EnvironmentKind)
REQUIRED_TAGS = ("environment", "owner", "cost-center")
"""Tags the policy pack requires on every taggable AWS resource."""


@dataclass(frozen=True, slots=True)
class KindSizing:
    """How big and how durable an environment of one kind is."""

    zone_count: int
    nat_strategy: NatStrategy
    db_instance_class: str
    db_multi_az: bool
    db_deletion_protection: bool
    db_backup_retention_days: int
    db_skip_final_snapshot: bool
    replicas: int
    max_replicas: int | None
    """With a value, a HorizontalPodAutoscaler scales from ``replicas`` up to it."""
    protect_stateful: bool
    """Pulumi ``protect`` on buckets, the database and the KMS key."""
    customer_managed_key: bool
    """A KMS key of the environment (rotating) encrypts buckets and the database."""
    force_destroy_buckets: bool
    flow_log_retention_days: int
    app_resources: ContainerResources
    quota_cpu: str
    quota_memory: str
    quota_cpu_limits: str
    quota_memory_limits: str


SIZING: Mapping[str, KindSizing] = {
    "dev": KindSizing(
        zone_count=2,
        nat_strategy="single",
        db_instance_class="db.t4g.small",
        db_multi_az=False,
        db_deletion_protection=True,
        db_backup_retention_days=7,
        db_skip_final_snapshot=False,
        replicas=1,
        max_replicas=None,
        protect_stateful=False,
        customer_managed_key=False,
        force_destroy_buckets=False,
        flow_log_retention_days=14,
        app_resources=ContainerResources("100m", "128Mi", "500m", "256Mi"),
        quota_cpu="2",
        quota_memory="4Gi",
        quota_cpu_limits="4",
        quota_memory_limits="8Gi",
    ),
    "staging": KindSizing(
        zone_count=2,
        nat_strategy="single",
        db_instance_class="db.t4g.medium",
        db_multi_az=False,
        db_deletion_protection=True,
        db_backup_retention_days=7,
        db_skip_final_snapshot=False,
        replicas=2,
        max_replicas=4,
        protect_stateful=True,
        customer_managed_key=True,
        force_destroy_buckets=False,
        flow_log_retention_days=30,
        app_resources=ContainerResources("250m", "256Mi", "1", "512Mi"),
        quota_cpu="4",
        quota_memory="8Gi",
        quota_cpu_limits="8",
        quota_memory_limits="16Gi",
    ),
    "prod": KindSizing(
        zone_count=3,
        nat_strategy="one-per-az",
        db_instance_class="db.r6g.large",
        db_multi_az=True,
        db_deletion_protection=True,
        db_backup_retention_days=14,
        db_skip_final_snapshot=False,
        replicas=3,
        max_replicas=10,
        protect_stateful=True,
        customer_managed_key=True,
        force_destroy_buckets=False,
        flow_log_retention_days=90,
        app_resources=ContainerResources("500m", "512Mi", "2", "1Gi"),
        quota_cpu="16",
        quota_memory="32Gi",
        quota_cpu_limits="32",
        quota_memory_limits="64Gi",
    ),
    "ephemeral": KindSizing(
        zone_count=2,
        nat_strategy="none",
        db_instance_class="db.t4g.micro",
        db_multi_az=False,
        db_deletion_protection=False,
        db_backup_retention_days=1,
        db_skip_final_snapshot=True,
        replicas=1,
        max_replicas=None,
        protect_stateful=False,
        customer_managed_key=False,
        force_destroy_buckets=True,
        flow_log_retention_days=3,
        app_resources=ContainerResources("50m", "64Mi", "250m", "128Mi"),
        quota_cpu="1",
        quota_memory="1Gi",
        quota_cpu_limits="2",
        quota_memory_limits="2Gi",
    ),
}
"""Per-kind sizing. ``ephemeral``: smallest sizes, no NAT, no deletion protection,
buckets that can be destroyed with their objects. ``staging``: prod's shape, smaller,
single-AZ, ``protect`` on stateful resources. ``prod``: three zones, a NAT gateway per
zone, multi-AZ database with 14 days of backups, ``protect`` on stateful resources."""


def sizing_for(kind: str) -> KindSizing:
    """The sizing of an environment kind; raises ``KeyError`` for an unknown kind."""
    return SIZING[kind]


@dataclass(frozen=True, slots=True)
class KubernetesTarget:
    """Where Kubernetes objects go: exactly one of three ways.

    Attributes:
        kubeconfig: Contents of (or path to) a kubeconfig, may be a Pulumi secret.
        context: The kubeconfig context to use (with ``kubeconfig`` or the ambient one).
        render_yaml_to: Do not talk to a cluster; write the manifests as YAML into this
            directory (``kubectl apply -f`` later, or review).
        With all None the ambient kubeconfig's current context is used, still through
        an explicit provider so no child falls back to the default provider silently.
    """

    kubeconfig: pulumi.Input[str] | None = None
    context: str | None = None
    render_yaml_to: str | None = None


@dataclass(frozen=True, slots=True)
class EnvironmentSettings:
    """Everything an :class:`Environment` needs, from one typed object.

    Attributes:
        kind: ``dev``, ``staging``, ``prod`` or ``ephemeral``; picks :data:`SIZING`.
        owner: Value of the ``owner`` tag. Required.
        cost_center: Value of the ``cost-center`` tag. Required.
        image: The app's pinned container image. Required.
        vpc_cidr: The VPC block, e.g. ``"10.20.0.0/16"``. Required.
        availability_zones: Zones for subnets; at least two (the database needs two).
        namespace: Kubernetes namespace of the app (one per branch for ephemeral).
        hostname: Public hostname of the app; None means no Ingress. Default None.
        nat_strategy / replicas / db_instance_class: Default None: the kind's sizing.
        db_password: Master password as a Pulumi secret. Default None: AWS-managed.
        buckets: Logical names of the buckets to create. Default ``("assets",)``.
        app_name: Name of the app's Kubernetes objects. Default ``"web"``.
        app_port: The app's HTTP port. Default 8080.
        client_security_group_ids: Extra security groups allowed to reach the database,
            e.g. a shared cluster's node group. Default none.
        tags: Extra tags (e.g. ``branch`` and ``pr`` for ephemeral stacks). Default none.
        kubernetes: Where Kubernetes objects go. Default: ambient kubeconfig.
    """

    kind: EnvironmentKind
    owner: str
    cost_center: str
    image: str
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    namespace: str
    hostname: str | None = None
    nat_strategy: NatStrategy | None = None
    replicas: int | None = None
    db_instance_class: str | None = None
    db_password: pulumi.Input[str] | None = None
    buckets: tuple[str, ...] = ("assets",)
    app_name: str = "web"
    app_port: int = 8080
    client_security_group_ids: Sequence[pulumi.Input[str]] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    kubernetes: KubernetesTarget = field(default_factory=KubernetesTarget)


class Environment(pulumi.ComponentResource):
    """A network, buckets, a PostgreSQL database, a namespace and the app, sized by kind.

    Outputs: ``vpc_id``, ``private_subnet_ids``, ``bucket_names`` (logical name ->
    bucket name), ``database_address``, ``database_secret_arn``, ``namespace``, ``url``.
    """

    def __init__(
        self, name: str, settings: EnvironmentSettings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        label = f"Environment {name!r}"
        if settings.kind not in SIZING:
            raise ComponentArgsError(
                label, "kind", settings.kind, f"use one of {ENVIRONMENT_KINDS}"
            )
        sizing = SIZING[settings.kind]
        # Defaults, all in one block: the settings' value when given, else the kind's.
        nat_strategy = settings.nat_strategy or sizing.nat_strategy
        replicas = settings.replicas if settings.replicas is not None else sizing.replicas
        db_instance_class = settings.db_instance_class or sizing.db_instance_class
        max_replicas = max(sizing.max_replicas, replicas) if sizing.max_replicas else None
        tags = {
            **settings.tags,
            "environment": settings.kind,
            "owner": settings.owner,
            "cost-center": settings.cost_center,
            "stack": name,
            "managed-by": "stackflow",
        }

        if missing := missing_tags(tags, REQUIRED_TAGS):
            raise ComponentArgsError(label, "tags", tags, f"required tags {missing} are empty")
        if nat_strategy not in NAT_STRATEGIES:
            raise ComponentArgsError(
                label, "nat_strategy", nat_strategy, f"use one of {NAT_STRATEGIES}"
            )
        if replicas < 1:
            raise ComponentArgsError(label, "replicas", replicas, "run at least 1 replica")
        if problem := image_problem(settings.image):
            raise ComponentArgsError(label, "image", settings.image, problem)
        if problem := dns_label_problem(settings.namespace):
            raise ComponentArgsError(label, "namespace", settings.namespace, problem)
        try:
            plan_subnets(settings.vpc_cidr, len(settings.availability_zones))
        except CidrError as exc:
            raise ComponentArgsError(label, "vpc_cidr", settings.vpc_cidr, str(exc)) from None
        if len(settings.availability_zones) < 2:
            raise ComponentArgsError(
                label,
                "availability_zones",
                settings.availability_zones,
                "give at least two zones; the database needs subnets in two",
            )
        if not settings.buckets or len(set(settings.buckets)) != len(settings.buckets):
            raise ComponentArgsError(label, "buckets", settings.buckets, "give distinct names")
        for bucket in settings.buckets:
            if problem := dns_label_problem(bucket):
                raise ComponentArgsError(label, "buckets", bucket, problem)
        target = settings.kubernetes
        if target.render_yaml_to is not None and target.kubeconfig is not None:
            raise ComponentArgsError(
                label,
                "kubernetes.render_yaml_to",
                target.render_yaml_to,
                "give either a kubeconfig or a directory to render YAML to, not both",
            )
        if target.render_yaml_to == "":
            raise ComponentArgsError(label, "kubernetes.render_yaml_to", "", "give a directory")

        super().__init__("stackflow:index:Environment", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=sizing.protect_stateful)

        key_arn: pulumi.Output[str] | None = None
        if sizing.customer_managed_key:
            key = aws.kms.Key(
                f"{name}-key",
                description=f"Encrypts the buckets and database of {name}",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                tags={**tags, "Name": f"{name}-key"},
                opts=stateful,
            )
            aws.kms.Alias(
                f"{name}-key-alias",
                name=f"alias/stackflow/{name}",
                target_key_id=key.key_id,
                opts=child,
            )
            key_arn = key.arn

        network = Network(
            f"{name}-network",
            NetworkArgs(
                cidr_block=settings.vpc_cidr,
                availability_zones=settings.availability_zones,
                nat_strategy=nat_strategy,
                flow_log_retention_days=sizing.flow_log_retention_days,
                tags=tags,
            ),
            opts=child,
        )
        buckets = {
            bucket: SecureBucket(
                f"{name}-{bucket}",
                SecureBucketArgs(
                    kms_key_arn=key_arn,
                    force_destroy=sizing.force_destroy_buckets,
                    protect=sizing.protect_stateful,
                    tags=tags,
                ),
                opts=child,
            )
            for bucket in settings.buckets
        }

        clients = aws.ec2.SecurityGroup(
            f"{name}-db-clients",
            vpc_id=network.vpc_id,
            description=f"Workloads of {name} that may connect to its database",
            tags={**tags, "Name": f"{name}-db-clients"},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-db-clients-egress",
            security_group_id=clients.id,
            cidr_ipv4=network.cidr_block,
            ip_protocol="tcp",
            from_port=5432,
            to_port=5432,
            description="PostgreSQL inside the VPC",
            tags={**tags, "Name": f"{name}-db-clients-egress"},
            opts=child,
        )
        database = Database(
            f"{name}-db",
            DatabaseArgs(
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                allowed_security_group_ids=[clients.id, *settings.client_security_group_ids],
                instance_class=db_instance_class,
                password=settings.db_password,
                kms_key_arn=key_arn,
                backup_retention_days=sizing.db_backup_retention_days,
                deletion_protection=sizing.db_deletion_protection,
                multi_az=sizing.db_multi_az,
                skip_final_snapshot=sizing.db_skip_final_snapshot,
                protect=sizing.protect_stateful,
                tags=tags,
            ),
            opts=child,
        )

        provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=target.kubeconfig,
            context=target.context,
            render_yaml_to_directory=target.render_yaml_to,
            opts=child,
        )
        on_cluster = pulumi.ResourceOptions(parent=self, providers={"kubernetes": provider})
        namespace = Namespace(
            f"{name}-namespace",
            NamespaceArgs(
                namespace=settings.namespace,
                labels={"environment": settings.kind, "owner": settings.owner},
                quota_cpu=sizing.quota_cpu,
                quota_memory=sizing.quota_memory,
                quota_cpu_limits=sizing.quota_cpu_limits,
                quota_memory_limits=sizing.quota_memory_limits,
            ),
            opts=on_cluster,
        )
        env: dict[str, pulumi.Input[str]] = {
            "DATABASE_HOST": database.address,
            "DATABASE_PORT": database.port.apply(str),
            "DATABASE_NAME": "app",
            **{f"BUCKET_{b.upper().replace('-', '_')}": s.bucket_name for b, s in buckets.items()},
        }
        if database.master_user_secret_arn is not None:
            env["DATABASE_SECRET_ARN"] = database.master_user_secret_arn
        app = App(
            f"{name}-app",
            AppArgs(
                namespace=namespace.name,
                image=settings.image,
                resources=sizing.app_resources,
                port=settings.app_port,
                replicas=replicas,
                env=env,
                hostname=settings.hostname,
                autoscaling=Autoscaling(replicas, max_replicas) if max_replicas else None,
                egress_cidrs=(network.cidr_block,),
                labels={"environment": settings.kind},
                workload_name=settings.app_name,
            ),
            opts=on_cluster,
        )

        self.vpc_id = network.vpc_id
        self.private_subnet_ids = network.private_subnet_ids
        self.bucket_names = {bucket: s.bucket_name for bucket, s in buckets.items()}
        self.database_address = database.address
        self.database_secret_arn = database.master_user_secret_arn
        self.namespace = namespace.name
        self.url = app.url
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "bucket_names": self.bucket_names,
                "database_address": self.database_address,
                "database_secret_arn": self.database_secret_arn,
                "namespace": self.namespace,
                "url": self.url,
            }
        )
