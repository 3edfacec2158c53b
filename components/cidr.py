"""Subnet arithmetic for a VPC: pure functions, property-tested, no Pulumi.

A VPC CIDR is split into equally sized blocks, one public and one private subnet per
availability zone. Equal blocks keep the plan predictable: the subnets of zone *i*
never move when a zone is added, as long as the block size does not change.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

MIN_VPC_PREFIX = 16
"""AWS rejects VPC blocks larger than /16."""
MAX_VPC_PREFIX = 24
"""A /24 still leaves room for six /27 subnets; smaller VPCs are not worth supporting."""
MAX_SUBNET_PREFIX = 28
"""AWS rejects subnets smaller than /28."""


class CidrError(ValueError):
    """A CIDR that cannot be used; the message quotes it and says why."""


@dataclass(frozen=True, slots=True)
class SubnetPlan:
    """The subnets of one VPC, in availability-zone order."""

    vpc: ipaddress.IPv4Network
    public: tuple[ipaddress.IPv4Network, ...]
    private: tuple[ipaddress.IPv4Network, ...]


def parse_vpc_cidr(value: str) -> ipaddress.IPv4Network:
    """Parse an IPv4 VPC block such as ``10.0.0.0/16``; host bits must be zero."""
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError) as exc:
        raise CidrError(f"{value!r} is not an IPv4 network in CIDR notation ({exc})") from None
    if "/" not in value:
        raise CidrError(f"{value!r} has no prefix length; write it as e.g. '10.0.0.0/16'")
    if not MIN_VPC_PREFIX <= network.prefixlen <= MAX_VPC_PREFIX:
        raise CidrError(
            f"{value!r} has prefix /{network.prefixlen}; a VPC needs a prefix between "
            f"/{MIN_VPC_PREFIX} and /{MAX_VPC_PREFIX}"
        )
    return network


def subnet_prefix(vpc_prefix: int, zone_count: int) -> int:
    """The prefix length of each subnet when ``2 * zone_count`` subnets share the VPC."""
    if zone_count < 1:
        raise CidrError(f"zone count {zone_count!r} must be at least 1")
    return vpc_prefix + (2 * zone_count - 1).bit_length()


def plan_subnets(vpc_cidr: str, zone_count: int) -> SubnetPlan:
    """Split ``vpc_cidr`` into one public and one private subnet per zone.

    Public subnets take the first ``zone_count`` blocks, private subnets the next
    ``zone_count``; every block has the same size, the largest that fits.
    """
    vpc = parse_vpc_cidr(vpc_cidr)
    prefix = subnet_prefix(vpc.prefixlen, zone_count)
    if prefix > MAX_SUBNET_PREFIX:
        raise CidrError(
            f"{vpc_cidr!r} is too small for {zone_count} zones: subnets would be /{prefix}, "
            f"AWS allows at most /{MAX_SUBNET_PREFIX}"
        )
    blocks = vpc.subnets(new_prefix=prefix)
    chosen = [next(blocks) for _ in range(2 * zone_count)]
    return SubnetPlan(
        vpc=vpc, public=tuple(chosen[:zone_count]), private=tuple(chosen[zone_count:])
    )
