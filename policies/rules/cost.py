"""Cost: instance classes, NAT gateways and replica counts within the environment's limits.

The pack cannot know which environment it runs for except through its config file
(``policies/config/<kind>.json``), so the limits are config knobs with permissive
defaults; ephemeral stacks get the strict ones.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import as_list, get_path

EC2_INSTANCE_TYPE_INPUTS = {
    "aws:ec2/instance:Instance": "instanceType",
    "aws:ec2/launchTemplate:LaunchTemplate": "instanceType",
    "aws:eks/nodeGroup:NodeGroup": "instanceTypes",
}
DB_CLASS_INPUTS = {
    "aws:rds/instance:Instance": "instanceClass",
    "aws:rds/clusterInstance:ClusterInstance": "instanceClass",
}
NAT_GATEWAY_TYPE = "aws:ec2/natGateway:NatGateway"
PATTERN_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}}


def _disallowed(values: list[Any], patterns: list[str]) -> list[str]:
    return [
        str(value)
        for value in values
        if isinstance(value, str) and not any(fnmatchcase(value, p) for p in patterns)
    ]


def _check_classes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    if args.resource_type in EC2_INSTANCE_TYPE_INPUTS:
        key, patterns = EC2_INSTANCE_TYPE_INPUTS[args.resource_type], config["instanceTypes"]
    elif args.resource_type in DB_CLASS_INPUTS:
        key, patterns = DB_CLASS_INPUTS[args.resource_type], config["dbInstanceClasses"]
    else:
        return
    bad = _disallowed(as_list(args.props.get(key)), list(patterns))
    if bad:
        report(
            f"{', '.join(bad)} is not allowed in this environment (allowed: "
            f"{', '.join(patterns)}). Choose an allowed size, or raise the limit in the "
            "environment's policy config with the platform team.",
            None,
        )


allowed_instance_classes = ResourceValidationPolicy(
    name="allowed-instance-classes",
    description="EC2 instance types (instances, launch templates, EKS node groups) and RDS "
    "instance classes are among those allowed for the environment.",
    validate=_check_classes,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["cost"],
    config_schema=PolicyConfigSchema(
        properties={
            "instanceTypes": {
                **PATTERN_LIST,
                "default": ["*"],
                "description": "Allowed EC2 instance types (glob patterns such as 't3.*').",
            },
            "dbInstanceClasses": {
                **PATTERN_LIST,
                "default": ["*"],
                "description": "Allowed RDS instance classes (glob patterns such as 'db.t4g.*').",
            },
        }
    ),
    remediation_steps="Pick an instance type/class matching the environment's allowed patterns.",
)


def _check_nat_gateways(args: StackValidationArgs, report: ReportViolation) -> None:
    limit = int(args.get_config()["maxNatGateways"])
    gateways = [r for r in args.resources if r.resource_type == NAT_GATEWAY_TYPE]
    if len(gateways) > limit:
        report(
            f"The stack creates {len(gateways)} NAT gateways; at most {limit} are allowed "
            "here (each costs about 32 USD a month plus data). Share one NAT gateway across "
            'availability zones (Network nat_strategy="single", config stackflow:natStrategy).',
            None,
        )


max_nat_gateways = StackValidationPolicy(
    name="max-nat-gateways",
    description="A stack creates no more NAT gateways than its environment allows.",
    validate=_check_nat_gateways,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    tags=["cost"],
    config_schema=PolicyConfigSchema(
        properties={
            "maxNatGateways": {
                "type": "integer",
                "minimum": 0,
                "default": 3,
                "description": "The most NAT gateways one stack may create.",
            }
        }
    ),
    remediation_steps="Use a single shared NAT gateway.",
)

# (type, path to the replica count, what to call it in the message)
REPLICA_INPUTS: dict[str, tuple[tuple[str, ...], str]] = {
    "kubernetes:apps/v1:Deployment": (("spec", "replicas"), "spec.replicas"),
    "kubernetes:apps/v1:StatefulSet": (("spec", "replicas"), "spec.replicas"),
    "kubernetes:apps/v1:ReplicaSet": (("spec", "replicas"), "spec.replicas"),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": (
        ("spec", "maxReplicas"),
        "spec.maxReplicas",
    ),
    "aws:ecs/service:Service": (("desiredCount",), "desired_count"),
    "aws:autoscaling/group:Group": (("maxSize",), "max_size"),
    "aws:eks/nodeGroup:NodeGroup": (("scalingConfig", "maxSize"), "scaling_config.max_size"),
}


def _check_replicas(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = REPLICA_INPUTS.get(args.resource_type)
    if spec is None:
        return
    path, label = spec
    count = get_path(args.props, *path)
    limit = int(args.get_config()["maxReplicas"])
    if isinstance(count, int | float) and count > limit:
        report(
            f"{label} is {int(count)}; at most {limit} are allowed in this environment. "
            "Lower it (take the count from the stack settings so each environment sizes "
            "itself).",
            None,
        )


max_replicas = ResourceValidationPolicy(
    name="max-replicas",
    description="Replica counts (Kubernetes workloads and autoscalers, ECS services, "
    "autoscaling groups, node groups) stay within the environment's ceiling.",
    validate=_check_replicas,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    tags=["cost"],
    config_schema=PolicyConfigSchema(
        properties={
            "maxReplicas": {
                "type": "integer",
                "minimum": 1,
                "default": 50,
                "description": "The most replicas/instances one workload may ask for.",
            }
        }
    ),
    remediation_steps="Lower the replica count or maximum size.",
)

POLICIES = [allowed_instance_classes, max_nat_gateways, max_replicas]
