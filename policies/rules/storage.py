"""S3: encryption, public access block, no public ACLs or bucket policies, versioning."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import (
    BUCKET_TYPES,
    as_list,
    companions,
    get_path,
    known,
    policy_document,
    statements,
    whole_internet,
)

SSE_TYPES = frozenset(
    {
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    }
)
PUBLIC_ACCESS_BLOCK_TYPE = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
PUBLIC_ACCESS_BLOCK_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
VERSIONING_TYPES = frozenset(
    {"aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"}
)
ACL_TYPES = frozenset({"aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"})
BUCKET_POLICY_TYPE = "aws:s3/bucketPolicy:BucketPolicy"
PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
PUBLIC_GRANTEE_URIS = frozenset(
    {
        "http://acs.amazonaws.com/groups/global/AllUsers",
        "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    }
)
# Condition keys that pin a Principal "*" statement to one account, organisation or
# network, which AWS itself does not count as public access.
RESTRICTING_CONDITION_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:sourceip",
    }
)


def _buckets_without(
    args: StackValidationArgs,
    companion_types: frozenset[str],
    satisfies: Callable[[PolicyResource], bool],
) -> list[PolicyResource]:
    """Buckets that no companion resource of ``companion_types`` satisfies."""
    of_bucket = companions(args.resources, companion_types, "bucket")
    return [
        bucket
        for bucket in args.resources
        if bucket.resource_type in BUCKET_TYPES and not any(map(satisfies, of_bucket(bucket)))
    ]


def _has_sse_rule(config: PolicyResource) -> bool:
    rules = get_path(config.props, "rules")
    return bool(rules) and all(
        get_path(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in rules
    )


def _check_encryption(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets_without(args, SSE_TYPES, _has_sse_rule):
        if get_path(
            bucket.props,
            "serverSideEncryptionConfiguration",
            "rule",
            "applyServerSideEncryptionByDefault",
            "sseAlgorithm",
        ):
            continue
        report(
            f"Bucket '{bucket.name}' has no server-side encryption configuration. Add an "
            "aws.s3.BucketServerSideEncryptionConfiguration with bucket=<this bucket>.id and "
            "a rule applying sse_algorithm 'aws:kms' (or 'AES256').",
            bucket.urn,
        )


s3_bucket_encryption = StackValidationPolicy(
    name="s3-bucket-encryption",
    description="Every S3 bucket has default server-side encryption configured.",
    validate=_check_encryption,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["storage"],
    remediation_steps="Add an aws.s3.BucketServerSideEncryptionConfiguration that refers to the "
    "bucket, with a rule whose apply_server_side_encryption_by_default sets sse_algorithm.",
)


def _blocks_everything(block: PolicyResource) -> bool:
    return all(known(block.props, flag) is True for flag in PUBLIC_ACCESS_BLOCK_FLAGS)


def _check_public_access_block(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets_without(args, frozenset({PUBLIC_ACCESS_BLOCK_TYPE}), _blocks_everything):
        report(
            f"Bucket '{bucket.name}' has no public access block with all four settings on. Add "
            "an aws.s3.BucketPublicAccessBlock with bucket=<this bucket>.id and "
            + ", ".join(f"{flag}=True" for flag in PUBLIC_ACCESS_BLOCK_FLAGS)
            + " (snake_case in Python).",
            bucket.urn,
        )


s3_bucket_public_access_block = StackValidationPolicy(
    name="s3-bucket-public-access-block",
    description="Every S3 bucket has a public access block that blocks and ignores public "
    "ACLs and policies.",
    validate=_check_public_access_block,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["storage"],
    remediation_steps="Add an aws.s3.BucketPublicAccessBlock for the bucket with "
    "block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets "
    "all True.",
)


def _public_grants(grants: Any) -> bool:
    return any(
        isinstance(grant, Mapping)
        and (
            get_path(grant, "uri") in PUBLIC_GRANTEE_URIS
            or get_path(grant, "grantee", "uri") in PUBLIC_GRANTEE_URIS
        )
        for grant in as_list(grants)
    )


def _check_acl(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in BUCKET_TYPES and args.resource_type not in ACL_TYPES:
        return
    acl = args.props.get("acl")
    if acl in PUBLIC_CANNED_ACLS:
        report(
            f"ACL '{acl}' makes the bucket readable by anyone. Remove the acl (buckets are "
            "private by default) and serve content through CloudFront with origin access "
            "control instead.",
            None,
        )
    grants = args.props.get("grants") or get_path(args.props, "accessControlPolicy", "grants")
    if _public_grants(grants):
        report(
            "A grant gives access to AllUsers or AuthenticatedUsers. Remove that grant; give "
            "access to specific IAM principals instead.",
            None,
        )


s3_no_public_acl = ResourceValidationPolicy(
    name="s3-no-public-acl",
    description="No S3 bucket or bucket ACL grants access to everyone.",
    validate=_check_acl,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["storage"],
    remediation_steps="Drop public-read/public-read-write/authenticated-read canned ACLs and "
    "AllUsers/AuthenticatedUsers grants.",
)


def _principal_is_everyone(statement: Mapping[str, Any]) -> bool:
    """Principal ``"*"`` or ``{"AWS": "*"}``; or NotPrincipal, which in an Allow grants
    everyone but the principals it names."""
    if "NotPrincipal" in statement:
        return True
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in as_list(principal.get("AWS"))
    return False


def _pins(operator: str, key: str, values: Any) -> bool:
    """Whether one condition clause pins the caller: a restricting key that must match a
    value which is not everyone's. A negated operator, an ``...IfExists`` one (a request
    without the key passes), ``ForAllValues`` (true when the key is absent) or ``Null``
    pins nothing."""
    operator = operator.lower()
    if "not" in operator or operator.endswith("ifexists"):
        return False
    if operator.startswith(("forallvalues:", "null")):
        return False
    if key.lower() not in RESTRICTING_CONDITION_KEYS:
        return False
    # "*", or a source IP range of every address, matches every caller.
    return not any(value == "*" or whole_internet(value) for value in as_list(values))


def _restricted(statement: Mapping[str, Any]) -> bool:
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return False
    return any(
        _pins(operator, key, values)
        for operator, clause in condition.items()
        if isinstance(clause, Mapping)
        for key, values in clause.items()
    )


def _check_bucket_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != BUCKET_POLICY_TYPE and args.resource_type not in BUCKET_TYPES:
        return
    try:
        document = policy_document(args.props.get("policy"))
    except ValueError as err:
        report(f"The bucket policy cannot be read ({err}); give a valid JSON policy.", None)
        return
    if document is None:
        return
    for statement in statements(document):
        if (
            statement.get("Effect") == "Allow"
            and _principal_is_everyone(statement)
            and not _restricted(statement)
        ):
            sid = statement.get("Sid")
            label = f"Statement '{sid}'" if sid else "A statement"
            report(
                f"{label} allows Principal '*' (or everyone but a NotPrincipal): anyone on the "
                "internet can use it. Name the IAM principals (or a CloudFront distribution "
                "via aws:SourceArn) that need access; Deny statements with Principal '*' (such "
                "as TLS-only) are fine.",
                None,
            )


s3_no_public_bucket_policy = ResourceValidationPolicy(
    name="s3-no-public-bucket-policy",
    description="No S3 bucket policy allows Principal '*' (or NotPrincipal) without a condition "
    "that pins the caller to an account, organisation, source or network.",
    validate=_check_bucket_policy,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["storage"],
    remediation_steps="Replace Principal '*' and NotPrincipal in Allow statements with specific "
    "principals, or add an aws:SourceArn/aws:SourceAccount/aws:PrincipalOrgID/aws:SourceVpce "
    "condition.",
)


def _versioning_enabled(config: PolicyResource) -> bool:
    return bool(get_path(config.props, "versioningConfiguration", "status") == "Enabled")


def _check_versioning(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets_without(args, VERSIONING_TYPES, _versioning_enabled):
        if get_path(bucket.props, "versioning", "enabled") is True:
            continue
        report(
            f"Bucket '{bucket.name}' is not versioned, so an overwrite or delete loses data "
            "for good. Add an aws.s3.BucketVersioning with bucket=<this bucket>.id and "
            "versioning_configuration status 'Enabled'.",
            bucket.urn,
        )


s3_bucket_versioning = StackValidationPolicy(
    name="s3-bucket-versioning",
    description="Every S3 bucket has versioning enabled (required in prod).",
    validate=_check_versioning,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["storage"],
    remediation_steps="Add an aws.s3.BucketVersioning for the bucket with "
    "versioning_configuration={'status': 'Enabled'}.",
)

POLICIES = [
    s3_bucket_encryption,
    s3_bucket_public_access_block,
    s3_no_public_acl,
    s3_no_public_bucket_policy,
    s3_bucket_versioning,
]
