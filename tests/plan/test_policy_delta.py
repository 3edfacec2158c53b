"""Policy deltas: findings labelled new, existing or fixed against the base.

A fixture repository with this repository's policy pack and a program whose security
groups are open to the world on admin ports (ec2-no-open-admin-ingress, mandatory).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stackflow import planner
from stackflow.plan import Plan
from stackflow.plan.model import FindingStatus, Level, PolicyFinding
from stackflow.planner import policy_delta
from stackflow.render.markdown import render_comment

from .conftest import GitRepo

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """\
import pulumi
import pulumi_aws as aws

for name, port in pulumi.Config().require_object("open"):
    aws.ec2.SecurityGroup(
        name,
        ingress=[{"protocol": "tcp", "from_port": port, "to_port": port,
                  "cidr_blocks": ["0.0.0.0/0"]}],
    )
aws.ec2.Vpc("main", cidr_block="10.0.0.0/16")
"""


def open_ports(*pairs: tuple[str, int]) -> str:
    items = ", ".join(f"[{name}, {port}]" for name, port in pairs)
    return f"config:\n  shop:open: [{items}]\n"


@pytest.fixture
def shop(git_repo: GitRepo) -> GitRepo:
    """A stack named qa, with no kind: checked at the pack's defaults (a stack named
    like a kind, such as dev, would be checked with that kind's config)."""
    shutil.copytree(
        ROOT / "policies", git_repo.root / "policies", ignore=shutil.ignore_patterns("__pycache__")
    )
    git_repo.write(
        {
            "Pulumi.yaml": "name: shop\nruntime: python\n",
            "__main__.py": PROGRAM,
            "Pulumi.qa.yaml": open_ports(("ssh", 22)),
        }
    )
    git_repo.commit("shop with ssh open to the world")
    return git_repo


def findings(plan: Plan, policy: str) -> list[tuple[str, str | None]]:
    (stack,) = plan.stacks
    return sorted(
        (f.urn.rsplit("::", 1)[-1] if f.urn else "", f.status.value if f.status else None)
        for f in stack.policy
        if f.policy == policy
    )


def test_only_new_mandatory_findings_block(shop: GitRepo) -> None:
    shop.write({"Pulumi.qa.yaml": open_ports(("ssh", 22), ("rdp", 3389))})
    plan = planner.plan_stacks(shop.root, base="HEAD")
    assert findings(plan, "ec2-no-open-admin-ingress") == [("rdp", "new"), ("ssh", "existing")]
    (stack,) = plan.stacks
    assert [f.urn.rsplit("::", 1)[-1] for f in stack.mandatory_findings if f.urn] == ["rdp"]
    assert plan.has_mandatory_violations
    comment = render_comment(plan)
    assert "*(the base has it too)*" in comment
    assert "*(new)*" in comment


def test_an_existing_violation_alone_does_not_block_and_a_removed_one_is_fixed(
    shop: GitRepo,
) -> None:
    shop.write({"Pulumi.qa.yaml": open_ports(("web", 443))})
    plan = planner.plan_stacks(shop.root, base="HEAD")
    assert findings(plan, "ec2-no-open-admin-ingress") == [("ssh", "fixed")]
    assert not plan.has_mandatory_violations
    assert "Findings this change fixes" in render_comment(plan)


def test_a_stricter_rule_shows_what_it_adds_before_it_lands(shop: GitRepo) -> None:
    rule = shop.root / "policies" / "rules" / "network.py"
    text = rule.read_text()
    start = text.index('name="vpc-flow-logs"')
    level = text.index("EnforcementLevel.ADVISORY", start)
    rule.write_text(text[:level] + "EnforcementLevel.MANDATORY" + text[level + 25 :])
    plan = planner.plan_stacks(shop.root, base="HEAD", all_stacks=True)
    assert findings(plan, "vpc-flow-logs") == [("main", "fixed"), ("main", "new")]
    (stack,) = plan.stacks
    assert {f.policy for f in stack.mandatory_findings} == {"vpc-flow-logs"}


def test_blocking_on_existing_findings_is_a_setting(shop: GitRepo) -> None:
    shop.write({"stackflow.yaml": "policy_block_existing: true\n"})
    shop.commit("block on existing findings")
    shop.write({"Pulumi.qa.yaml": open_ports(("ssh", 22), ("web", 443))})
    plan = planner.plan_stacks(shop.root, base="HEAD", all_stacks=True)
    assert findings(plan, "ec2-no-open-admin-ingress") == [("ssh", None)]
    assert plan.has_mandatory_violations


def test_delta_keys_on_policy_resource_and_level() -> None:
    def f(policy: str, urn: str, level: Level = Level.MANDATORY) -> PolicyFinding:
        return PolicyFinding(policy, level, "message", urn)

    base = [f("a", "u1"), f("b", "u1", Level.ADVISORY)]
    head = [f("a", "u1"), f("b", "u1"), f("c", "u2")]
    labelled = {(x.policy, x.level.value, x.status) for x in policy_delta(head, base)}
    assert labelled == {
        ("a", "mandatory", FindingStatus.EXISTING),
        ("b", "mandatory", FindingStatus.NEW),
        ("c", "mandatory", FindingStatus.NEW),
        ("b", "advisory", FindingStatus.FIXED),
    }
