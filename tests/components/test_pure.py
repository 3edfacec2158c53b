"""Property tests of the pure helpers: CIDR plans, quantities, image references, names."""

from __future__ import annotations

import ipaddress
import itertools
import string
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.cidr import MAX_SUBNET_PREFIX, CidrError, parse_vpc_cidr, plan_subnets
from components.validate import dns_label_problem, image_problem, parse_quantity, tags_problem

vpc_networks = st.builds(
    lambda address, prefix: ipaddress.IPv4Network((address, prefix), strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(16, 24),
)


@given(vpc_networks, st.integers(1, 6))
def test_a_subnet_plan_fits_the_vpc_without_overlap(vpc: ipaddress.IPv4Network, zones: int) -> None:
    if vpc.prefixlen + (2 * zones - 1).bit_length() > MAX_SUBNET_PREFIX:
        with pytest.raises(CidrError, match="too small"):
            plan_subnets(str(vpc), zones)
        return
    plan = plan_subnets(str(vpc), zones)
    subnets = plan.public + plan.private
    assert len(plan.public) == len(plan.private) == zones
    assert all(subnet.subnet_of(vpc) for subnet in subnets)
    assert all(subnet.prefixlen <= MAX_SUBNET_PREFIX for subnet in subnets)
    assert len({subnet.prefixlen for subnet in subnets}) == 1
    for one, other in itertools.combinations(subnets, 2):
        assert not one.overlaps(other)
    # The largest equal size that fits: one bit fewer would not hold 2 * zones blocks.
    assert 2 ** (subnets[0].prefixlen - 1 - vpc.prefixlen) < 2 * zones


@given(vpc_networks, st.integers(1, 3))
def test_subnet_plans_are_deterministic_and_stable_for_earlier_zones(
    vpc: ipaddress.IPv4Network, zones: int
) -> None:
    """Adding a zone without changing the block size keeps the earlier public subnets."""
    plan = plan_subnets(str(vpc), zones)
    assert plan == plan_subnets(str(vpc), zones)
    if (2 * zones - 1).bit_length() == (2 * zones + 1).bit_length():
        bigger = plan_subnets(str(vpc), zones + 1)
        assert bigger.public[:zones] == plan.public


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("10.0.0.0/33", "not an IPv4 network"),
        ("10.0.0.1/16", "not an IPv4 network"),
        ("banana", "not an IPv4 network"),
        ("10.0.0.0", "no prefix length"),
        ("10.0.0.0/8", "prefix /8"),
        ("10.0.0.0/28", "prefix /28"),
    ],
)
def test_bad_vpc_cidrs_are_quoted_with_the_reason(value: str, fragment: str) -> None:
    with pytest.raises(CidrError) as caught:
        parse_vpc_cidr(value)
    assert repr(value) in str(caught.value)
    assert fragment in str(caught.value)


def test_a_small_vpc_with_many_zones_is_refused() -> None:
    with pytest.raises(CidrError, match="too small for 9 zones"):
        plan_subnets("10.0.0.0/24", 9)


SUFFIXES = {"m": Fraction(1, 1000), "": Fraction(1), "k": Fraction(1000), "Mi": Fraction(2**20)}


@given(st.integers(0, 10**9), st.sampled_from(sorted(SUFFIXES)))
def test_quantities_parse_exactly(number: int, suffix: str) -> None:
    assert parse_quantity(f"{number}{suffix}") == number * SUFFIXES[suffix]


@given(st.integers(1, 10**6), st.integers(1, 10**6))
def test_quantity_order_follows_the_numbers(a: int, b: int) -> None:
    assert (parse_quantity(f"{a}m") < parse_quantity(f"{b}m")) == (a < b)
    assert parse_quantity(f"{a}Gi") == parse_quantity(f"{a * 1024}Mi")


def test_exponent_quantities_parse() -> None:
    assert parse_quantity("1e3") == 1000
    assert parse_quantity("5E-1") == Fraction(1, 2)


@pytest.mark.parametrize("value", ["", "ten", "1.5.5", "12Xi", "-1", "1e", "1e+"])
def test_bad_quantities_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"quantity|suffix"):
        parse_quantity(value)


@pytest.mark.parametrize(
    "image",
    [
        "nginx:1.27.3",
        "ghcr.io/example/web:1.4.2",
        "registry.local:5000/team/app:v2",
        "ghcr.io/example/web@sha256:" + "a" * 64,
    ],
)
def test_pinned_images_pass(image: str) -> None:
    assert image_problem(image) is None


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        ("nginx", "no tag"),
        ("nginx:latest", "latest"),
        ("registry.local:5000/team/app", "no tag"),
        ("ghcr.io/x@sha256:abc", "digest"),
        ("nginx: 1", "whitespace"),
        ("", "empty"),
    ],
)
def test_unpinned_images_are_refused(image: str, fragment: str) -> None:
    problem = image_problem(image)
    assert problem is not None
    assert fragment in problem


@given(st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=63))
def test_dns_labels_match_rfc_1123(label: str) -> None:
    valid = label[0] != "-" and label[-1] != "-"
    assert (dns_label_problem(label) is None) == valid


@given(st.text(min_size=1, max_size=80))
def test_dns_label_check_never_accepts_upper_case_or_dots(label: str) -> None:
    if dns_label_problem(label) is None:
        assert label == label.lower()
        assert "." not in label
        assert len(label) <= 63


def test_tags_reject_reserved_keys_and_long_values() -> None:
    assert tags_problem({"owner": "team"}) is None
    assert "reserved" in str(tags_problem({"aws:owner": "x"}))
    assert "256" in str(tags_problem({"owner": "x" * 257}))
