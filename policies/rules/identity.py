"""IAM and KMS: no administrator wildcards; customer keys rotate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ._common import as_list, policy_document, statements

POLICY_DOCUMENT_TYPES = frozenset(
    {
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/groupPolicy:GroupPolicy",
    }
)
ROLE_TYPE = "aws:iam/role:Role"
ATTACHMENT_TYPES = frozenset(
    {
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
    }
)
ADMIN_POLICY_SUFFIX = ":iam::aws:policy/AdministratorAccess"
KMS_KEY_TYPE = "aws:kms/key:Key"


def _wildcard_statements(document: Mapping[str, Any]) -> list[str]:
    found = []
    for index, statement in enumerate(statements(document)):
        if (
            statement.get("Effect") == "Allow"
            and "*" in as_list(statement.get("Action"))
            and "*" in as_list(statement.get("Resource"))
        ):
            found.append(f"'{statement['Sid']}'" if statement.get("Sid") else f"#{index}")
    return found


def _check_document(where: str, value: Any, report: ReportViolation) -> None:
    try:
        document = policy_document(value)
    except ValueError as err:
        report(f"{where} cannot be read ({err}); give a valid JSON policy document.", None)
        return
    if document is None:
        return
    for label in _wildcard_statements(document):
        report(
            f"{where}: statement {label} allows action '*' on resource '*', which is full "
            "administrator access. List the actions the workload calls and the ARNs it "
            "touches (IAM Access Analyzer can generate them from CloudTrail).",
            None,
        )


def _check_iam(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type in POLICY_DOCUMENT_TYPES:
        _check_document("The policy", props.get("policy"), report)
    elif args.resource_type == ROLE_TYPE:
        for inline in as_list(props.get("inlinePolicies")):
            if isinstance(inline, Mapping):
                name = inline.get("name") or "unnamed"
                _check_document(f"Inline policy '{name}'", inline.get("policy"), report)
    elif args.resource_type in ATTACHMENT_TYPES:
        arn = props.get("policyArn")
        if isinstance(arn, str) and arn.endswith(ADMIN_POLICY_SUFFIX):
            report(
                "The AWS-managed AdministratorAccess policy allows action '*' on resource "
                "'*'. Attach a policy that lists only the actions and resources needed.",
                None,
            )


iam_no_wildcard_admin = ResourceValidationPolicy(
    name="iam-no-wildcard-admin",
    description="No IAM policy statement allows action '*' on resource '*' (inline, managed, "
    "or the AWS AdministratorAccess policy attached).",
    validate=_check_iam,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["identity"],
    remediation_steps="Scope Action and Resource to what the workload needs.",
)


def _check_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != KMS_KEY_TYPE:
        return
    spec = args.props.get("customerMasterKeySpec") or args.props.get("keySpec")
    if spec not in (None, "SYMMETRIC_DEFAULT"):
        args.not_applicable(f"KMS cannot rotate {spec} keys automatically")
    if args.props.get("enableKeyRotation") is not True:
        report(
            "Automatic key rotation is off. Set enable_key_rotation=True (KMS then rotates "
            "the key material yearly, or every rotation_period_in_days).",
            None,
        )


kms_key_rotation = ResourceValidationPolicy(
    name="kms-key-rotation",
    description="Symmetric customer-managed KMS keys rotate automatically.",
    validate=_check_rotation,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["identity"],
    remediation_steps="Set enable_key_rotation=True on the key.",
)

POLICIES = [iam_no_wildcard_admin, kms_key_rotation]
