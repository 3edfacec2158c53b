"""The stack's settings: read from Pulumi config once, validated, filled per environment kind.

Raw configuration goes in, a frozen :class:`StackSettings` comes out, or one line that
names the key and quotes the bad value. Nothing else in the program reads config.

Keys (all under ``stackflow:`` except ``aws:region``; see :data:`KEYS`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi

from components.aws import NAT_STRATEGIES, NatStrategy
from components.cidr import CidrError, plan_subnets
from components.environment import (
    ENVIRONMENT_KINDS,
    EnvironmentKind,
    EnvironmentSettings,
    KubernetesTarget,
    sizing_for,
)
from components.validate import dns_label_problem, image_problem, tags_problem

NAMESPACE = "stackflow"

KEYS: Mapping[str, str] = {
    "environment": "Required. The environment kind: dev, staging, prod or ephemeral.",
    "owner": "Required (project default). The owner tag of every resource.",
    "costCenter": "Required (project default). The cost-center tag of every resource.",
    "image": "Required. The app's container image, pinned by tag or digest.",
    "vpcCidr": "The VPC block, /16 to /24. Default '10.0.0.0/16'.",
    "availabilityZones": "List of zones. Default: the region's a, b (and c for prod).",
    "natStrategy": "none, single or one-per-az. Default: the kind's.",
    "replicas": "App pods (the autoscaler's minimum where there is one). Default: the kind's.",
    "dbInstanceClass": "RDS instance class. Default: the kind's.",
    "dbPassword": "Secret. The database master password. Default: AWS-managed.",
    "namespace": "Kubernetes namespace of the app. Default: the stack name.",
    "hostname": "Public hostname; adds an Ingress. Default: none.",
    "buckets": "List of bucket names to create. Default ['assets'].",
    "appName": "Name of the app's Kubernetes objects. Default 'web'.",
    "appPort": "The app's HTTP port. Default 8080.",
    "kubeconfig": "Secret or plain. A kubeconfig's contents or path. Default: ambient.",
    "kubeContext": "The kubeconfig context to use. Default: the current one.",
    "renderYamlTo": "Render Kubernetes YAML into this directory instead of a cluster.",
    "clusterSecurityGroupIds": "List of security groups allowed to reach the database.",
    "tags": "Object of extra tags for every AWS resource (e.g. branch, pr).",
}
"""Every ``stackflow:`` key the program reads, with its meaning and default."""


class StackConfigError(pulumi.RunError, ValueError):
    """A configuration value the program cannot use.

    A ``pulumi.RunError`` so that the Pulumi language host prints the message alone,
    without an SDK traceback; the message is one line naming the key and the value.
    """


@dataclass(frozen=True, slots=True)
class StackSettings:
    """The validated settings of one stack, every default already filled in."""

    project: str
    stack: str
    region: str
    kind: EnvironmentKind
    owner: str
    cost_center: str
    image: str
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    nat_strategy: NatStrategy
    replicas: int
    db_instance_class: str
    namespace: str
    hostname: str | None
    buckets: tuple[str, ...]
    app_name: str
    app_port: int
    kube_context: str | None
    render_yaml_to: str | None
    cluster_security_group_ids: tuple[str, ...]
    tags: Mapping[str, str]
    db_password: pulumi.Output[str] | None = field(default=None, repr=False)
    kubeconfig: pulumi.Output[str] | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls) -> StackSettings:
        """Read the stack's configuration once and validate it."""
        _refuse_unknown_keys()
        config = pulumi.Config(NAMESPACE)
        raw = {key: config.get(key) for key in KEYS if key not in SECRET_KEYS}
        return parse_settings(
            raw,
            project=pulumi.get_project(),
            stack=pulumi.get_stack(),
            region=pulumi.Config("aws").get("region"),
            db_password=config.get_secret("dbPassword"),
            kubeconfig=config.get_secret("kubeconfig"),
        )

    def environment_settings(self) -> EnvironmentSettings:
        """The settings the :class:`components.Environment` is built from."""
        return EnvironmentSettings(
            kind=self.kind,
            owner=self.owner,
            cost_center=self.cost_center,
            image=self.image,
            vpc_cidr=self.vpc_cidr,
            availability_zones=self.availability_zones,
            namespace=self.namespace,
            hostname=self.hostname,
            nat_strategy=self.nat_strategy,
            replicas=self.replicas,
            db_instance_class=self.db_instance_class,
            db_password=self.db_password,
            buckets=self.buckets,
            app_name=self.app_name,
            app_port=self.app_port,
            client_security_group_ids=self.cluster_security_group_ids,
            tags={**self.tags, "project": self.project},
            kubernetes=KubernetesTarget(
                kubeconfig=self.kubeconfig,
                context=self.kube_context,
                render_yaml_to=self.render_yaml_to,
            ),
        )


SECRET_KEYS = frozenset({"dbPassword", "kubeconfig"})
"""Keys read as Pulumi secrets; their values never appear in messages."""


def unknown_key_problem(names: Iterable[str]) -> str | None:
    """One line about the first ``stackflow:`` key in ``names`` the program does not read
    (a typo such as ``stackflow:replicaz`` would otherwise be ignored), or None."""
    for name in sorted(names):
        namespace, _, key = name.partition(":")
        if namespace == NAMESPACE and key not in KEYS:
            close = difflib.get_close_matches(key, list(KEYS), n=1, cutoff=0.6)
            hint = f"did you mean {NAMESPACE}:{close[0]}?" if close else "remove it"
            return (
                f"reading stack config: {name} is not a setting of this program "
                f"(stacks/settings.py lists them); {hint}"
            )
    return None


def _refuse_unknown_keys() -> None:
    from pulumi.runtime.config import CONFIG, get_config_env

    problem = unknown_key_problem({*CONFIG.get(), *get_config_env()})
    if problem is not None:
        raise StackConfigError(problem)


def _fail(key: str, value: object, reason: str) -> StackConfigError:
    shown = "<secret>" if key in SECRET_KEYS else repr(value)
    full = key if ":" in key else f"{NAMESPACE}:{key}"
    return StackConfigError(f"reading stack config: {full}={shown} is invalid: {reason}")


def _required(raw: Mapping[str, str | None], key: str) -> str:
    value = raw.get(key)
    if value is None or not value.strip():
        raise _fail(key, value or "", f"set it with `pulumi config set {NAMESPACE}:{key} ...`")
    return value.strip()


def _int(raw: Mapping[str, str | None], key: str, low: int, high: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise _fail(key, value, "expected a whole number") from None
    if not low <= number <= high:
        raise _fail(key, value, f"expected a number from {low} to {high}")
    return number


def _json(raw: Mapping[str, str | None], key: str, expected: type) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, expected):
        what = "a YAML list of strings" if expected is list else "a YAML mapping of strings"
        raise _fail(key, value, f"expected {what}")
    items = parsed if isinstance(parsed, list) else list(cast(dict[str, Any], parsed).values())
    if not all(isinstance(item, str) and item for item in items):
        raise _fail(key, value, "every value must be a non-empty string")
    return parsed


def parse_settings(
    raw: Mapping[str, str | None],
    *,
    project: str,
    stack: str,
    region: str | None,
    db_password: pulumi.Output[str] | None = None,
    kubeconfig: pulumi.Output[str] | None = None,
) -> StackSettings:
    """Validate raw config strings (as Pulumi hands them over) into :class:`StackSettings`.

    Pure apart from the secret Outputs it passes through; raises :class:`StackConfigError`.
    """
    kind = _required(raw, "environment")
    if kind not in ENVIRONMENT_KINDS:
        raise _fail("environment", kind, f"use one of {', '.join(ENVIRONMENT_KINDS)}")
    sizing = sizing_for(kind)
    if not region:
        raise _fail("aws:region", region or "", "set it with `pulumi config set aws:region ...`")

    image = _required(raw, "image")
    if problem := image_problem(image):
        raise _fail("image", image, problem)

    nat_strategy = raw.get("natStrategy") or sizing.nat_strategy
    if nat_strategy not in NAT_STRATEGIES:
        raise _fail("natStrategy", nat_strategy, f"use one of {', '.join(NAT_STRATEGIES)}")

    zones = _json(raw, "availabilityZones", list)
    if zones is None:
        zones = [f"{region}{letter}" for letter in "abcdef"[: sizing.zone_count]]
    if len(zones) < 2 or len(set(zones)) != len(zones):
        raise _fail("availabilityZones", zones, "give at least two distinct zones")

    vpc_cidr = raw.get("vpcCidr") or "10.0.0.0/16"
    try:
        plan_subnets(vpc_cidr, len(zones))
    except CidrError as exc:
        raise _fail("vpcCidr", vpc_cidr, str(exc)) from None

    replicas = _int(raw, "replicas", 1, 100)
    app_port = _int(raw, "appPort", 1024, 65535)

    db_instance_class = raw.get("dbInstanceClass") or sizing.db_instance_class
    if not db_instance_class.startswith("db.") or db_instance_class.count(".") != 2:
        raise _fail("dbInstanceClass", db_instance_class, "expected e.g. 'db.t4g.micro'")

    namespace = raw.get("namespace") or stack
    if problem := dns_label_problem(namespace):
        raise _fail("namespace", namespace, problem)
    app_name = raw.get("appName") or "web"
    if problem := dns_label_problem(app_name):
        raise _fail("appName", app_name, problem)

    hostname = raw.get("hostname") or None
    if hostname is not None and any(dns_label_problem(p) for p in hostname.split(".")):
        raise _fail("hostname", hostname, "use lower-case DNS labels joined by '.'")

    buckets = _json(raw, "buckets", list) or ["assets"]
    for bucket in buckets:
        if problem := dns_label_problem(bucket):
            raise _fail("buckets", bucket, problem)
    if len(set(buckets)) != len(buckets):
        raise _fail("buckets", buckets, "bucket names must be distinct")

    tags = _json(raw, "tags", dict) or {}
    if problem := tags_problem(tags):
        raise _fail("tags", tags, problem)

    render_yaml_to = raw.get("renderYamlTo") or None
    if render_yaml_to is not None and kubeconfig is not None:
        raise _fail(
            "renderYamlTo", render_yaml_to, "set either it or stackflow:kubeconfig, not both"
        )

    return StackSettings(
        project=project,
        stack=stack,
        region=region,
        kind=cast(EnvironmentKind, kind),
        owner=_required(raw, "owner"),
        cost_center=_required(raw, "costCenter"),
        image=image,
        vpc_cidr=vpc_cidr,
        availability_zones=tuple(zones),
        nat_strategy=cast(NatStrategy, nat_strategy),
        replicas=replicas if replicas is not None else sizing.replicas,
        db_instance_class=db_instance_class,
        namespace=namespace,
        hostname=hostname,
        buckets=tuple(buckets),
        app_name=app_name,
        app_port=app_port if app_port is not None else 8080,
        kube_context=raw.get("kubeContext") or None,
        render_yaml_to=render_yaml_to,
        cluster_security_group_ids=tuple(_json(raw, "clusterSecurityGroupIds", list) or ()),
        tags=tags,
        db_password=db_password,
        kubeconfig=kubeconfig,
    )
