"""``Network``: a VPC with public and private subnets per zone, NAT, routes and flow logs."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

import pulumi
import pulumi_aws as aws

from components.cidr import CidrError, plan_subnets
from components.errors import ComponentArgsError
from components.validate import tags_problem

NatStrategy = Literal["none", "single", "one-per-az"]
NAT_STRATEGIES: tuple[str, ...] = get_args(NatStrategy)


@dataclass(frozen=True, slots=True)
class NetworkArgs:
    """What a :class:`Network` is built from.

    Attributes:
        cidr_block: The VPC's IPv4 block, /16 to /24, e.g. ``"10.0.0.0/16"``. Required.
        availability_zones: The zones to spread subnets over, e.g. ``("eu-west-1a",
            "eu-west-1b")``; one public and one private subnet each. Required, 1 to 6,
            distinct. They come from configuration, not from an invoke, so the network
            can be planned offline.
        nat_strategy: How private subnets reach the internet. ``"single"`` (default): one
            NAT gateway in the first zone, cheap, one zone's outage cuts egress.
            ``"one-per-az"``: a NAT gateway per zone, for production. ``"none"``: no
            egress from private subnets (ephemeral stacks, isolated workloads).
        flow_logs: Record VPC flow logs (all traffic) to CloudWatch Logs. Default True.
        flow_log_retention_days: Days CloudWatch keeps flow logs. Default 30.
        tags: Tags for every taggable resource (the policy pack requires
            ``environment``, ``owner``, ``cost-center``). Default none; a ``Name`` tag is
            added per resource.
    """

    cidr_block: str
    availability_zones: tuple[str, ...]
    nat_strategy: NatStrategy = "single"
    flow_logs: bool = True
    flow_log_retention_days: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)


_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653)
"""The retention periods CloudWatch Logs accepts."""


class Network(pulumi.ComponentResource):
    """A VPC laid out for workloads: public subnets with an internet gateway, private
    subnets with NAT per ``nat_strategy``, a locked-down default security group, and
    flow logs. Subnet CIDRs come from :func:`components.cidr.plan_subnets`.

    Outputs: ``vpc_id``, ``cidr_block``, ``public_subnet_ids``, ``private_subnet_ids``,
    ``nat_gateway_ids``.
    """

    vpc_id: pulumi.Output[str]
    cidr_block: str
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    nat_gateway_ids: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        label = f"Network {name!r}"
        zones = tuple(args.availability_zones)
        if args.nat_strategy not in NAT_STRATEGIES:
            raise ComponentArgsError(
                label, "nat_strategy", args.nat_strategy, f"use one of {NAT_STRATEGIES}"
            )
        if not 1 <= len(zones) <= 6 or len(set(zones)) != len(zones):
            raise ComponentArgsError(
                label, "availability_zones", zones, "give 1 to 6 distinct zone names"
            )
        try:
            plan = plan_subnets(args.cidr_block, len(zones))
        except CidrError as exc:
            raise ComponentArgsError(label, "cidr_block", args.cidr_block, str(exc)) from None
        if args.flow_log_retention_days not in _RETENTION_DAYS:
            raise ComponentArgsError(
                label,
                "flow_log_retention_days",
                args.flow_log_retention_days,
                f"CloudWatch accepts {_RETENTION_DAYS}",
            )
        if problem := tags_problem(args.tags):
            raise ComponentArgsError(label, "tags", dict(args.tags), problem)

        super().__init__("stackflow:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def tags(suffix: str) -> dict[str, str]:
            return {**args.tags, "Name": f"{name}-{suffix}"}

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(plan.vpc),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags("vpc"),
            opts=child,
        )
        # Adopting the default security group with no rules removes AWS's allow-all rules.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=vpc.id, tags=tags("default-sg"), opts=child
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags("igw"), opts=child)

        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags=tags("public-rt"), opts=child
        )
        aws.ec2.Route(
            f"{name}-public-default-route",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )

        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        for zone, public_cidr, private_cidr in zip(zones, plan.public, plan.private, strict=True):
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                cidr_block=str(public_cidr),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**tags(f"public-{zone}"), "tier": "public"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone}-rta",
                subnet_id=public.id,
                route_table_id=public_rt.id,
                opts=child,
            )
            public_subnets.append(public)
            private_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-private-{zone}",
                    vpc_id=vpc.id,
                    cidr_block=str(private_cidr),
                    availability_zone=zone,
                    map_public_ip_on_launch=False,
                    tags={**tags(f"private-{zone}"), "tier": "private"},
                    opts=child,
                )
            )

        nat_zones = {"none": (), "single": zones[:1], "one-per-az": zones}[args.nat_strategy]
        nat_gateways: dict[str, aws.ec2.NatGateway] = {}
        for zone, public in zip(zones, public_subnets, strict=True):
            if zone not in nat_zones:
                continue
            eip = aws.ec2.Eip(
                f"{name}-nat-{zone}-eip", domain="vpc", tags=tags(f"nat-{zone}-eip"), opts=child
            )
            nat_gateways[zone] = aws.ec2.NatGateway(
                f"{name}-nat-{zone}",
                allocation_id=eip.id,
                subnet_id=public.id,
                tags=tags(f"nat-{zone}"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
            )

        for zone, private in zip(zones, private_subnets, strict=True):
            route_table = aws.ec2.RouteTable(
                f"{name}-private-{zone}-rt",
                vpc_id=vpc.id,
                tags=tags(f"private-{zone}-rt"),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}-rta",
                subnet_id=private.id,
                route_table_id=route_table.id,
                opts=child,
            )
            nat = nat_gateways.get(zone) or next(iter(nat_gateways.values()), None)
            if nat is not None:
                aws.ec2.Route(
                    f"{name}-private-{zone}-default-route",
                    route_table_id=route_table.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat.id,
                    opts=child,
                )

        if args.flow_logs:
            self._flow_logs(name, vpc, args.flow_log_retention_days, tags)

        self.vpc_id = vpc.id
        self.cidr_block = str(plan.vpc)
        self.public_subnet_ids = [subnet.id for subnet in public_subnets]
        self.private_subnet_ids = [subnet.id for subnet in private_subnets]
        self.nat_gateway_ids = [nat.id for nat in nat_gateways.values()]
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "cidr_block": self.cidr_block,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "nat_gateway_ids": self.nat_gateway_ids,
            }
        )

    def _flow_logs(
        self,
        name: str,
        vpc: aws.ec2.Vpc,
        retention_days: int,
        tags: Callable[[str], dict[str, str]],
    ) -> None:
        """Flow logs to a log group, written by a role that may only write that group."""
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=retention_days,
            tags=tags("flow-logs"),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=tags("flow-logs-role"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=log_group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "logs:CreateLogStream",
                                    "logs:PutLogEvents",
                                    "logs:DescribeLogStreams",
                                ],
                                "Resource": [arn, f"{arn}:*"],
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            tags=tags("flow-log"),
            opts=child,
        )
