"""Network: no administrative ports open to the internet; VPC flow logs."""

from __future__ import annotations

from collections.abc import Mapping
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

from ._common import as_list, companions, whole_internet

SECURITY_GROUP_TYPE = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE_TYPE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE_TYPE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
VPC_TYPE = "aws:ec2/vpc:Vpc"
FLOW_LOG_TYPE = "aws:ec2/flowLog:FlowLog"
ALL_PROTOCOLS = frozenset({"-1", "all"})


def _open(cidrs: list[Any]) -> list[str]:
    """The CIDR blocks among ``cidrs`` that cover the whole internet."""
    return [str(cidr) for cidr in cidrs if whole_internet(cidr)]


def _exposed_ports(
    protocol: Any, from_port: Any, to_port: Any, admin_ports: list[int]
) -> str | None:
    """What an open rule exposes that it must not, in words; None when it is acceptable."""
    if str(protocol).lower() in ALL_PROTOCOLS:
        return "all ports"
    try:
        low, high = int(from_port), int(to_port)
    except (TypeError, ValueError):
        return None
    if low <= 0 and high >= 65535:
        return "all ports"
    hits = [port for port in admin_ports if low <= port <= high]
    if hits:
        return "port " + ", ".join(str(port) for port in hits)
    return None


def _report_open(
    report: ReportViolation, where: str, sources: list[str], exposed: str | None
) -> None:
    if exposed and sources:
        report(
            f"{where} opens {exposed} to {' and '.join(sources)}. Allow only the CIDR ranges "
            "or security groups that need it, and reach hosts through SSM Session Manager or "
            "a bastion instead of opening administrative ports to the internet.",
            None,
        )


def _check_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (SECURITY_GROUP_TYPE, SECURITY_GROUP_RULE_TYPE, INGRESS_RULE_TYPE):
        return
    admin_ports = [int(port) for port in args.get_config()["adminPorts"]]
    props = args.props
    if args.resource_type == SECURITY_GROUP_TYPE:
        for index, rule in enumerate(as_list(props.get("ingress"))):
            if not isinstance(rule, Mapping):
                continue
            sources = _open(as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks")))
            exposed = _exposed_ports(
                rule.get("protocol"), rule.get("fromPort"), rule.get("toPort"), admin_ports
            )
            _report_open(report, f"Ingress rule {index}", sources, exposed)
    elif args.resource_type == SECURITY_GROUP_RULE_TYPE:
        if props.get("type") != "ingress":
            return
        sources = _open(as_list(props.get("cidrBlocks")) + as_list(props.get("ipv6CidrBlocks")))
        exposed = _exposed_ports(
            props.get("protocol"), props.get("fromPort"), props.get("toPort"), admin_ports
        )
        _report_open(report, "The rule", sources, exposed)
    else:
        sources = _open([props.get("cidrIpv4"), props.get("cidrIpv6")])
        exposed = _exposed_ports(
            props.get("ipProtocol"), props.get("fromPort"), props.get("toPort"), admin_ports
        )
        _report_open(report, "The rule", sources, exposed)


ec2_no_open_admin_ingress = ResourceValidationPolicy(
    name="ec2-no-open-admin-ingress",
    description="No security group allows ingress from 0.0.0.0/0 or ::/0 to administrative "
    "ports (SSH 22, RDP 3389) or to all ports.",
    validate=_check_ingress,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["network"],
    config_schema=PolicyConfigSchema(
        properties={
            "adminPorts": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": 65535},
                "default": [22, 3389],
                "description": "Ports that must never be open to the internet.",
            }
        }
    ),
    remediation_steps="Restrict the rule's CIDR blocks to known ranges or reference a "
    "security group; use SSM Session Manager for shell access.",
)


def _check_flow_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    flow_logs_of = companions(args.resources, frozenset({FLOW_LOG_TYPE}), "vpcId")
    for vpc in args.resources:
        if vpc.resource_type == VPC_TYPE and not flow_logs_of(vpc):
            report(
                f"VPC '{vpc.name}' has no flow log, so there is no record of its traffic for "
                "incident response. Add an aws.ec2.FlowLog with vpc_id=<this vpc>.id, "
                "traffic_type 'ALL' and a CloudWatch Logs or S3 destination.",
                vpc.urn,
            )


vpc_flow_logs = StackValidationPolicy(
    name="vpc-flow-logs",
    description="Every VPC has a flow log.",
    validate=_check_flow_logs,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["network"],
    remediation_steps="Add an aws.ec2.FlowLog with vpc_id set to the VPC.",
)

POLICIES = [ec2_no_open_admin_ingress, vpc_flow_logs]
