"""Tagging: every taggable AWS resource carries the required tags.

Which AWS types take tags comes from ``aws_taggable_types.txt``, generated from the
pulumi-aws SDK (``stackflow.policy.scan_taggable_aws_types``; a test fails when it is
stale). The pack reads the list instead of importing pulumi-aws, which would cost
seconds and a dependency the analyzer does not otherwise need.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ._common import get_path, is_sequence, known

UNKNOWN = object()
TAGGABLE_TYPES_FILE = Path(__file__).with_name("aws_taggable_types.txt")
TAGGABLE_TYPES = frozenset(
    line.strip()
    for line in TAGGABLE_TYPES_FILE.read_text(encoding="utf-8").splitlines()
    if line.startswith("aws:")
)


def _tag_keys(tags: Any) -> set[str]:
    """Tag keys from a ``{key: value}`` map or an autoscaling-style ``[{key, value}]`` list."""
    if isinstance(tags, Mapping):
        # A value known only after deploy still counts: the key is there.
        return {key for key in tags if known(tags, key, UNKNOWN) not in (None, "")}
    if is_sequence(tags):
        return {
            str(known(tag, "key"))
            for tag in tags
            if isinstance(tag, Mapping) and known(tag, "value", UNKNOWN) not in (None, "")
        }
    return set()


def _provider_default_tags(args: ResourceValidationArgs) -> set[str]:
    """Keys the provider's ``defaultTags`` adds to every resource (a JSON string or an
    object: the Python SDK sends nested provider settings as JSON)."""
    if args.provider is None:
        return set()
    default_tags = known(args.provider.props, "defaultTags")
    if isinstance(default_tags, str):
        try:
            default_tags = json.loads(default_tags)
        except ValueError:
            return set()
    if not isinstance(default_tags, Mapping):
        return set()
    return _tag_keys(get_path(default_tags, "tags"))


def _check_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in TAGGABLE_TYPES:
        return
    required = [str(tag) for tag in args.get_config()["requiredTags"]]
    present = _tag_keys(args.props.get("tags")) | _provider_default_tags(args)
    missing = [tag for tag in required if tag not in present]
    if missing:
        report(
            f"Missing required tags: {', '.join(missing)}. Add them to the resource's tags, or "
            "once for every resource through the AWS provider's default_tags (the stackflow "
            "components tag from the stack settings).",
            None,
        )


aws_required_tags = ResourceValidationPolicy(
    name="aws-required-tags",
    description="Every taggable AWS resource carries the required tags (by default "
    "environment, owner and cost-center), on the resource or via provider default tags.",
    validate=_check_tags,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    tags=["tagging"],
    config_schema=PolicyConfigSchema(
        properties={
            "requiredTags": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "uniqueItems": True,
                "default": ["environment", "owner", "cost-center"],
                "description": "Tag keys every taggable AWS resource must have.",
            }
        }
    ),
    remediation_steps="Add the missing keys to tags, or set default_tags on the AWS provider.",
)

POLICIES = [aws_required_tags]
