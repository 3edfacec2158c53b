"""Every rule catches a violating resource and lets a compliant one through (runner level)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stackflow.errors import StackflowError
from stackflow.plan.manifest import Resource
from stackflow.plan.model import Level
from stackflow.plan.values import unknown
from stackflow.policy import effective_config
from tests.policies.conftest import PACK, of, res, run

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
SG = "aws:ec2/securityGroup:SecurityGroup"
RDS = "aws:rds/instance:Instance"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"

TAGS = {"environment": "prod", "owner": "team", "cost-center": "cc-1"}


def bucket(name: str = "data", **inputs: object) -> Resource:
    return res(BUCKET, name, {"bucket": unknown(), "tags": TAGS, **inputs})


def companion(type_: str, name: str, target: Resource, inputs: dict[str, object]) -> Resource:
    """A resource whose ``bucket``/``vpcId`` input is ``target``'s id (unknown offline)."""
    key = "vpcId" if type_ == "aws:ec2/flowLog:FlowLog" else "bucket"
    return res(type_, name, {key: unknown(), **inputs}, prop_deps={key: [target]})


def sse(target: Resource, name: str = "data-sse") -> Resource:
    rules = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]
    return companion(SSE, name, target, {"rules": rules})


def statement_policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def pod(*containers: dict[str, object], **spec: object) -> dict[str, object]:
    return {"spec": {"template": {"spec": {"containers": list(containers), **spec}}}}


OPEN4, OPEN6 = "0.0.0.0/0", "::/0"


def sg(name: str, rule: dict[str, object]) -> Resource:
    """A security group with one ingress rule."""
    return res(SG, name, {"tags": TAGS, "ingress": [rule]})


def bucket_policy(name: str, *statements: dict[str, object]) -> Resource:
    return res("aws:s3/bucketPolicy:BucketPolicy", name, {"policy": statement_policy(*statements)})


GOOD_CONTAINER = {
    "name": "app",
    "image": "registry.example.com/app:1.4.2",
    "securityContext": {"runAsNonRoot": True},
    "resources": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    },
    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
}


def container(**changes: object) -> dict[str, object]:
    return {**GOOD_CONTAINER, **changes}


_b = bucket()
_vpc = res("aws:ec2/vpc:Vpc", "main", {"cidrBlock": "10.0.0.0/16", "tags": TAGS})
_other = bucket("other")
_SSE_RULES = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]
_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
_OPEN_SSH = {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": [OPEN4]}


def _conditioned(name: str, operator: str, key: str, value: object) -> Resource:
    """A bucket policy allowing Principal "*" under one condition clause."""
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}
    return bucket_policy(name, {**statement, "Condition": {operator: {key: value}}})


_bad_provider = res("pulumi:providers:aws", "bad-tags", {"defaultTags": "{not json"})

STACK_LEVEL = ""
"""In a case's ``flagged`` set: one finding on the stack itself (no resource URN)."""

# (policy, environment kind, violating resources, compliant resources, flagged): the
# violating list may hold context resources too; ``flagged`` names exactly the resources
# (or STACK_LEVEL) the policy must report, so a rule that misses one of them fails.
CASES: list[tuple[str, str, list[Resource], list[Resource], set[str]]] = [
    ("s3-bucket-encryption", "prod", [_b, _other, sse(_other)], [_b, sse(_b)], {"data"}),
    (
        "s3-bucket-encryption",
        "prod",
        [_b],
        [
            bucket(
                serverSideEncryptionConfiguration={
                    "rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
                }
            )
        ],
        {"data"},
    ),
    (
        "s3-bucket-public-access-block",
        "prod",
        [
            _b,
            companion(
                PAB,
                "pab",
                _b,
                {
                    "blockPublicAcls": True,
                    "blockPublicPolicy": False,
                    "ignorePublicAcls": True,
                    "restrictPublicBuckets": True,
                },
            ),
        ],
        [
            _b,
            companion(
                PAB,
                "pab",
                _b,
                {
                    "blockPublicAcls": True,
                    "blockPublicPolicy": True,
                    "ignorePublicAcls": True,
                    "restrictPublicBuckets": True,
                },
            ),
        ],
        {"data"},
    ),
    ("s3-no-public-acl", "prod", [bucket(acl="public-read")], [bucket(acl="private")], {"data"}),
    (
        "s3-no-public-acl",
        "prod",
        [
            res(
                "aws:s3/bucketAclV2:BucketAclV2",
                "acl",
                {
                    "accessControlPolicy": {
                        "grants": [
                            {
                                "grantee": {
                                    "type": "Group",
                                    "uri": "http://acs.amazonaws.com/groups/global/AllUsers",
                                },
                                "permission": "READ",
                            }
                        ]
                    }
                },
            )
        ],
        [res("aws:s3/bucketAclV2:BucketAclV2", "acl", {"acl": "private"})],
        {"acl"},
    ),
    (
        "s3-no-public-bucket-policy",
        "prod",
        [
            res(
                "aws:s3/bucketPolicy:BucketPolicy",
                "policy",
                {
                    "policy": statement_policy(
                        {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "s3:GetObject"}
                    )
                },
            )
        ],
        [
            res(
                "aws:s3/bucketPolicy:BucketPolicy",
                "policy",
                {
                    "policy": {
                        "Statement": [
                            {
                                "Sid": "TlsOnly",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            },
                            {
                                "Effect": "Allow",
                                "Principal": "*",
                                "Action": "s3:GetObject",
                                "Condition": {"StringEquals": {"AWS:SourceArn": "arn:cf"}},
                            },
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudfront.amazonaws.com"},
                                "Action": "s3:GetObject",
                            },
                        ]
                    }
                },
            )
        ],
        {"policy"},
    ),
    (
        "s3-bucket-versioning",
        "prod",
        [_b, companion(VERSIONING, "v", _b, {"versioningConfiguration": {"status": "Suspended"}})],
        [_b, companion(VERSIONING, "v", _b, {"versioningConfiguration": {"status": "Enabled"}})],
        {"data"},
    ),
    (
        "ec2-no-open-admin-ingress",
        "prod",
        [
            res(
                SG,
                "ssh",
                {
                    "tags": TAGS,
                    "ingress": [
                        {
                            "protocol": "tcp",
                            "fromPort": 22.0,
                            "toPort": 22.0,
                            "cidrBlocks": ["0.0.0.0/0"],
                        }
                    ],
                },
            )
        ],
        [
            res(
                SG,
                "web",
                {
                    "tags": TAGS,
                    "ingress": [
                        {
                            "protocol": "tcp",
                            "fromPort": 443,
                            "toPort": 443,
                            "cidrBlocks": ["0.0.0.0/0"],
                        },
                        {
                            "protocol": "tcp",
                            "fromPort": 22,
                            "toPort": 22,
                            "cidrBlocks": ["10.0.0.0/8"],
                        },
                    ],
                },
            )
        ],
        {"ssh"},
    ),
    (
        "ec2-no-open-admin-ingress",
        "prod",
        [
            res(
                "aws:ec2/securityGroupRule:SecurityGroupRule",
                "rdp",
                {
                    "type": "ingress",
                    "protocol": "tcp",
                    "fromPort": 3000,
                    "toPort": 4000,
                    "ipv6CidrBlocks": ["::/0"],
                },
            ),
            res(
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                "all",
                {"ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0", "tags": TAGS},
            ),
        ],
        [
            res(
                "aws:ec2/securityGroupRule:SecurityGroupRule",
                "egress",
                {
                    "type": "egress",
                    "protocol": "-1",
                    "fromPort": 0,
                    "toPort": 0,
                    "cidrBlocks": ["0.0.0.0/0"],
                },
            ),
            res(
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                "https",
                {
                    "ipProtocol": "tcp",
                    "fromPort": 443,
                    "toPort": 443,
                    "cidrIpv4": "0.0.0.0/0",
                    "tags": TAGS,
                },
            ),
        ],
        {"rdp", "all"},
    ),
    (
        "vpc-flow-logs",
        "prod",
        [_vpc],
        [_vpc, companion("aws:ec2/flowLog:FlowLog", "flow", _vpc, {"trafficType": "ALL"})],
        {"main"},
    ),
    (
        "rds-storage-encrypted",
        "prod",
        [res(RDS, "db", {})],
        [res(RDS, "db", {"storageEncrypted": True})],
        {"db"},
    ),
    (
        "rds-not-publicly-accessible",
        "prod",
        [res(RDS, "db", {"publiclyAccessible": True})],
        [res(RDS, "db", {"publiclyAccessible": False})],
        {"db"},
    ),
    (
        "rds-backup-retention",
        "prod",
        [res(RDS, "db", {"backupRetentionPeriod": 7.0})],
        [res(RDS, "db", {"backupRetentionPeriod": 14.0})],
        {"db"},
    ),
    (
        "rds-backup-retention",
        "prod",
        [res(RDS, "db", {})],
        [res(RDS, "db", {"backupRetentionPeriod": 30})],
        {"db"},
    ),
    (
        "rds-deletion-protection",
        "prod",
        [res("aws:rds/cluster:Cluster", "db", {"deletionProtection": False})],
        [res("aws:rds/cluster:Cluster", "db", {"deletionProtection": True})],
        {"db"},
    ),
    (
        "iam-no-wildcard-admin",
        "prod",
        [
            res(
                "aws:iam/policy:Policy",
                "admin",
                {"policy": statement_policy({"Effect": "Allow", "Action": "*", "Resource": "*"})},
            ),
            res(
                "aws:iam/role:Role",
                "role",
                {
                    "inlinePolicies": [
                        {
                            "name": "all",
                            "policy": statement_policy(
                                {"Effect": "Allow", "Action": ["s3:*", "*"], "Resource": ["*"]}
                            ),
                        }
                    ]
                },
            ),
            res(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "attach",
                {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            ),
        ],
        [
            res(
                "aws:iam/policy:Policy",
                "reader",
                {
                    "policy": statement_policy(
                        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                        {"Effect": "Deny", "Action": "*", "Resource": "*"},
                    )
                },
            )
        ],
        {"admin", "role", "attach"},
    ),
    (
        "kms-key-rotation",
        "prod",
        [res("aws:kms/key:Key", "key", {"tags": TAGS})],
        [
            res("aws:kms/key:Key", "key", {"enableKeyRotation": True, "tags": TAGS}),
            # Asymmetric keys cannot rotate: the policy does not apply to them.
            res("aws:kms/key:Key", "signing", {"customerMasterKeySpec": "RSA_2048", "tags": TAGS}),
        ],
        {"key"},
    ),
    (
        "aws-required-tags",
        "dev",
        [res("aws:sqs/queue:Queue", "q", {"tags": {"owner": "team"}})],
        [res("aws:sqs/queue:Queue", "q", {"tags": TAGS}), res(DEPLOYMENT, "k8s-is-not-aws", {})],
        {"q"},
    ),
    (
        "allowed-instance-classes",
        "ephemeral",
        [
            res("aws:ec2/instance:Instance", "vm", {"instanceType": "m5.4xlarge", "tags": TAGS}),
            res(RDS, "db", {"instanceClass": "db.r6g.large", "tags": TAGS}),
        ],
        [
            res("aws:ec2/instance:Instance", "vm", {"instanceType": "t3.micro", "tags": TAGS}),
            res(RDS, "db", {"instanceClass": "db.t4g.small", "tags": TAGS}),
        ],
        {"vm", "db"},
    ),
    (
        "max-nat-gateways",
        "ephemeral",
        [res("aws:ec2/natGateway:NatGateway", f"nat-{i}", {"tags": TAGS}) for i in range(2)],
        [res("aws:ec2/natGateway:NatGateway", "nat-0", {"tags": TAGS})],
        {STACK_LEVEL},
    ),
    (
        "max-replicas",
        "ephemeral",
        [res(DEPLOYMENT, "web", {"spec": {"replicas": 3.0}})],
        [res(DEPLOYMENT, "web", {"spec": {"replicas": 2.0}})],
        {"web"},
    ),
    (
        "k8s-no-privileged-containers",
        "prod",
        [res(DEPLOYMENT, "web", pod(container(securityContext={"privileged": True})))],
        [res(DEPLOYMENT, "web", pod(container()))],
        {"web"},
    ),
    (
        "k8s-run-as-non-root",
        "prod",
        [
            res(
                DEPLOYMENT,
                "web",
                pod(
                    container(securityContext={"runAsNonRoot": False}),
                    securityContext={"runAsNonRoot": True},
                ),
            )
        ],
        [
            res(
                DEPLOYMENT,
                "web",
                pod(container(securityContext={}), securityContext={"runAsNonRoot": True}),
            )
        ],
        {"web"},
    ),
    (
        "k8s-resource-requests-limits",
        "prod",
        [res(DEPLOYMENT, "web", pod(container(resources={"requests": {"cpu": "1"}})))],
        [res(DEPLOYMENT, "web", pod(container()))],
        {"web"},
    ),
    (
        "k8s-pinned-image-tags",
        "prod",
        [
            res(DEPLOYMENT, "latest", pod(container(image="nginx:latest"))),
            res(DEPLOYMENT, "untagged", pod(container(image="registry:5000/team/app"))),
        ],
        [
            res(DEPLOYMENT, "tagged", pod(container(image="registry:5000/team/app:2.0"))),
            res(DEPLOYMENT, "digest", pod(container(image="nginx@sha256:" + "a" * 64))),
        ],
        {"latest", "untagged"},
    ),
    (
        "k8s-readiness-probe",
        "prod",
        [res(DEPLOYMENT, "web", pod(container(readinessProbe=None)))],
        [
            res(DEPLOYMENT, "web", pod(container())),
            res(
                "kubernetes:batch/v1:Job",
                "migrate",
                {"spec": {"template": {"spec": {"containers": [container(readinessProbe=None)]}}}},
            ),
        ],
        {"web"},
    ),
    (
        "k8s-no-host-path",
        "prod",
        [
            res(
                "kubernetes:batch/v1:CronJob",
                "backup",
                {
                    "spec": {
                        "jobTemplate": {
                            "spec": {
                                "template": {
                                    "spec": {
                                        "containers": [container()],
                                        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
                                    }
                                }
                            }
                        }
                    }
                },
            )
        ],
        [res(DEPLOYMENT, "web", pod(container(), volumes=[{"name": "tmp", "emptyDir": {}}]))],
        {"backup"},
    ),
    (
        "k8s-no-host-namespaces",
        "prod",
        [
            res(
                "kubernetes:core/v1:Pod",
                "debug",
                {"spec": {"containers": [container()], "hostPID": True}},
            )
        ],
        [res("kubernetes:core/v1:Pod", "debug", {"spec": {"containers": [container()]}})],
        {"debug"},
    ),
    (
        "k8s-no-load-balancer-service",
        "ephemeral",
        [res("kubernetes:core/v1:Service", "web", {"spec": {"type": "LoadBalancer"}})],
        [res("kubernetes:core/v1:Service", "web", {"spec": {"type": "ClusterIP"}})],
        {"web"},
    ),
    (
        "protect-stateful-resources",
        "prod",
        [bucket(), res(RDS, "db", {})],
        [res(BUCKET, "data", {"tags": TAGS}, protect=True), res(RDS, "db", {}, protect=True)],
        {"data", "db"},
    ),
    # Edge cases that a weaker rule would miss (each violating resource has one feature).
    (
        "ec2-no-open-admin-ingress",
        "prod",
        [
            sg("range", {"protocol": "tcp", "fromPort": 20, "toPort": 30, "cidrBlocks": [OPEN4]}),
            sg(
                "low-edge", {"protocol": "tcp", "fromPort": 22, "toPort": 80, "cidrBlocks": [OPEN4]}
            ),
            sg(
                "high-edge",
                {"protocol": "tcp", "fromPort": 3000, "toPort": 3389, "cidrBlocks": [OPEN4]},
            ),
            sg(
                "v6",
                {"protocol": "tcp", "fromPort": 3389, "toPort": 3389, "ipv6CidrBlocks": [OPEN6]},
            ),
            sg("any", {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": [OPEN4]}),
            sg("all", {"protocol": "all", "fromPort": 443, "toPort": 443, "cidrBlocks": [OPEN4]}),
            sg("wide", {"protocol": "tcp", "fromPort": 0, "toPort": 65535, "cidrBlocks": [OPEN4]}),
        ],
        [
            sg(
                "between",
                {"protocol": "tcp", "fromPort": 23, "toPort": 3388, "cidrBlocks": [OPEN4]},
            ),
            sg(
                "above",
                {"protocol": "tcp", "fromPort": 3390, "toPort": 65535, "cidrBlocks": [OPEN4]},
            ),
            sg("below", {"protocol": "udp", "fromPort": 0, "toPort": 21, "cidrBlocks": [OPEN4]}),
            sg(
                "inside",
                {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["10.0.0.0/8"]},
            ),
            sg(
                "inside6",
                {"protocol": "tcp", "fromPort": 22, "toPort": 22, "ipv6CidrBlocks": ["fd00::/8"]},
            ),
        ],
        {"range", "low-edge", "high-edge", "v6", "any", "all", "wide"},
    ),
    (
        "s3-no-public-acl",
        "prod",
        [
            bucket("rw", acl="public-read-write"),
            bucket("authenticated", acl="authenticated-read"),
            res("aws:s3/bucketAclV2:BucketAclV2", "canned", {"acl": "public-read-write"}),
            res(
                "aws:s3/bucketAcl:BucketAcl",
                "granted",
                {
                    "accessControlPolicy": {
                        "grants": [
                            {
                                "grantee": {
                                    "type": "Group",
                                    "uri": "http://acs.amazonaws.com/groups/global/"
                                    "AuthenticatedUsers",
                                },
                                "permission": "WRITE",
                            }
                        ]
                    }
                },
            ),
        ],
        [bucket("logs", acl="log-delivery-write"), bucket("private", acl="private")],
        {"rw", "authenticated", "canned", "granted"},
    ),
    (
        "s3-no-public-bucket-policy",
        "prod",
        [
            bucket_policy(
                "tls-only-allow",
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Condition": {"Bool": {"aws:SecureTransport": "true"}},
                },
            ),
            bucket_policy(
                "prefix-only",
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "s3:ListBucket",
                    "Condition": {"StringLike": {"s3:prefix": ["public/*"]}},
                },
            ),
            bucket_policy(
                "empty-condition",
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Condition": {}},
            ),
        ],
        [
            bucket_policy(
                "org-only",
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}},
                },
            ),
            bucket_policy(
                "vpce-only",
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": "s3:GetObject",
                    "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
                },
            ),
        ],
        {"tls-only-allow", "prefix-only", "empty-condition"},
    ),
    (
        "k8s-no-privileged-containers",
        "prod",
        [
            res(
                DEPLOYMENT,
                "init",
                pod(
                    container(),
                    initContainers=[container(name="setup", securityContext={"privileged": True})],
                ),
            ),
            res(
                "kubernetes:core/v1:Pod",
                "second",
                {
                    "spec": {
                        "containers": [
                            container(),
                            container(name="sidecar", securityContext={"privileged": True}),
                        ]
                    }
                },
            ),
        ],
        [
            res(
                DEPLOYMENT,
                "web",
                pod(
                    container(securityContext={"privileged": False}),
                    initContainers=[container(name="setup")],
                ),
            )
        ],
        {"init", "second"},
    ),
    # Companions found by value or by a plain dependency when no property dependency is
    # recorded; the inline forms of encryption and versioning; a compliant bucket listed
    # first must not end the check of the ones after it.
    (
        "s3-bucket-encryption",
        "prod",
        [
            _by_dep := bucket("by-dependency"),
            res(
                SSE,
                "by-dependency-sse",
                {"bucket": unknown(), "rules": _SSE_RULES},
                depends_on=[_by_dep],
            ),
            _empty_name := bucket("empty-name"),
            res(
                SSE, "empty-name-sse", {"bucket": "", "rules": _SSE_RULES}, depends_on=[_empty_name]
            ),
            res(BUCKET, "named", {"bucket": "my-logs", "tags": TAGS}),
            res(SSE, "named-sse", {"bucket": "my-logs", "rules": _SSE_RULES}),
            bucket("inline", serverSideEncryptionConfiguration={"rule": _SSE_RULES[0]}),
            bucket("plain"),
            _no_rules := bucket("no-rules"),
            companion(SSE, "no-rules-sse", _no_rules, {"rules": []}),
            _no_algorithm := bucket("no-algorithm"),
            companion(
                SSE,
                "no-algorithm-sse",
                _no_algorithm,
                {"rules": [{"applyServerSideEncryptionByDefault": {}}]},
            ),
        ],
        [],
        {"plain", "no-rules", "no-algorithm"},
    ),
    (
        "s3-bucket-versioning",
        "prod",
        [
            bucket("inline", versioning={"enabled": True}),
            bucket("plain"),
            bucket("off", versioning={"enabled": False}),
        ],
        [bucket("inline", versioning={"enabled": True})],
        {"plain", "off"},
    ),
    (
        "s3-no-public-acl",
        "prod",
        [
            # The legacy Bucket's own grants list, with the grantee's uri at top level.
            bucket(
                "legacy-grants",
                grants=[{"type": "Group", "uri": _ALL_USERS, "permissions": ["READ"]}],
            ),
        ],
        [
            bucket(
                "owner-grant",
                grants=[{"type": "CanonicalUser", "id": "c" * 64, "permissions": ["FULL_CONTROL"]}],
            ),
            res(
                "aws:s3/bucketAclV2:BucketAclV2",
                "owner-acl",
                {
                    "accessControlPolicy": {
                        "grants": [
                            {
                                "grantee": {"type": "CanonicalUser", "id": "c" * 64},
                                "permission": "FULL_CONTROL",
                            }
                        ]
                    }
                },
            ),
        ],
        {"legacy-grants"},
    ),
    (
        "s3-no-public-bucket-policy",
        "prod",
        [
            # Allow with NotPrincipal grants everyone but the principals it names.
            bucket_policy(
                "not-principal",
                {
                    "Effect": "Allow",
                    "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/admin"},
                    "Action": "s3:GetObject",
                },
            ),
            res("aws:s3/bucketPolicy:BucketPolicy", "unreadable", {"policy": "{not json"}),
            res("aws:s3/bucketPolicy:BucketPolicy", "a-list", {"policy": "[]"}),
        ],
        [
            # No principal at all: S3 rejects the policy; nothing here is public.
            bucket_policy("no-principal", {"Effect": "Allow", "Action": "s3:GetObject"}),
            bucket_policy(
                "deny-not-principal",
                {
                    "Effect": "Deny",
                    "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/admin"},
                    "Action": "s3:DeleteObject",
                },
            ),
        ],
        {"not-principal", "unreadable", "a-list"},
    ),
    (
        "iam-no-wildcard-admin",
        "prod",
        [
            res("aws:iam/rolePolicy:RolePolicy", "unreadable", {"policy": "{not json"}),
            res(
                "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                "user-admin",
                {"user": "u", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            ),
        ],
        [
            res(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "read-only",
                {"role": "r", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
            ),
        ],
        {"unreadable", "user-admin"},
    ),
    (
        "ec2-no-open-admin-ingress",
        "prod",
        [
            # A malformed entry does not hide the open rule after it.
            res(SG, "after-junk", {"tags": TAGS, "ingress": ["junk", _OPEN_SSH]}),
        ],
        [
            # Ports the provider would reject: no finding, and no crash.
            sg("no-ports", {"protocol": "tcp", "cidrBlocks": [OPEN4]}),
            sg(
                "named-port",
                {"protocol": "tcp", "fromPort": "ssh", "toPort": "ssh", "cidrBlocks": [OPEN4]},
            ),
        ],
        {"after-junk"},
    ),
    (
        "protect-stateful-resources",
        "prod",
        [
            res("aws:s3/bucketV2:BucketV2", "bucket-v2", {"tags": TAGS}),
            res("aws:rds/cluster:Cluster", "cluster", {}),
            res("aws:rds/clusterInstance:ClusterInstance", "member", {}),
            res("aws:dynamodb/table:Table", "table", {"tags": TAGS}),
            res("aws:efs/fileSystem:FileSystem", "files", {"tags": TAGS}),
        ],
        [
            res("aws:dynamodb/table:Table", "table", {"tags": TAGS}, protect=True),
            res("aws:sqs/queue:Queue", "queue", {"tags": TAGS}),
        ],
        {"bucket-v2", "cluster", "member", "table", "files"},
    ),
    (
        "k8s-readiness-probe",
        "prod",
        [res(DEPLOYMENT, "web", pod(container(readinessProbe=None)))],
        [
            # Init containers run to completion: they take no readiness probe.
            res(
                DEPLOYMENT,
                "web",
                pod(container(), initContainers=[container(name="setup", readinessProbe=None)]),
            ),
        ],
        {"web"},
    ),
    (
        "aws-required-tags",
        "dev",
        [
            # Autoscaling groups list their tags; an empty value is no tag.
            res(
                "aws:autoscaling/group:Group",
                "asg",
                {
                    "tags": [
                        {"key": "environment", "value": "prod", "propagateAtLaunch": True},
                        {"key": "owner", "value": "", "propagateAtLaunch": True},
                        {"key": "cost-center", "value": "cc-1", "propagateAtLaunch": True},
                    ]
                },
            ),
            res(
                "aws:sqs/queue:Queue",
                "bad-default-tags",
                {"tags": {"owner": "team"}},
                provider=_bad_provider,
            ),
            _bad_provider,
        ],
        [
            res(
                "aws:autoscaling/group:Group",
                "asg",
                {
                    "tags": [
                        {"key": k, "value": v, "propagateAtLaunch": True} for k, v in TAGS.items()
                    ]
                },
            ),
            # A value known only after deploy still counts: the key is there.
            res("aws:sqs/queue:Queue", "q", {"tags": {**TAGS, "owner": unknown()}}),
        ],
        {"asg", "bad-default-tags"},
    ),
    # A condition pins Principal "*" only when it requires a matching value: a negated
    # operator, an ...IfExists one (a request without the key passes), ForAllValues (true
    # when the key is absent), Null, or a value that matches everyone pins nothing.
    (
        "s3-no-public-bucket-policy",
        "prod",
        [
            _conditioned("outside-org", "StringNotEquals", "aws:PrincipalOrgID", "o-123"),
            _conditioned("vpce-if-present", "StringEqualsIfExists", "aws:SourceVpce", "vpce-1"),
            _conditioned("org-for-all", "ForAllValues:StringEquals", "aws:PrincipalOrgID", "o-1"),
            _conditioned("vpce-present", "Null", "aws:SourceVpce", "false"),
            _conditioned("not-ip", "NotIpAddress", "aws:SourceIp", "10.0.0.0/8"),
            _conditioned("any-ip", "IpAddress", "aws:SourceIp", [OPEN4]),
            _conditioned("any-ip6", "IpAddress", "aws:SourceIp", OPEN6),
            _conditioned("any-account", "StringLike", "aws:SourceAccount", "*"),
        ],
        [
            _conditioned("office", "IpAddress", "aws:SourceIp", ["203.0.113.0/24"]),
            _conditioned("cdn", "ArnLike", "aws:SourceArn", "arn:aws:cloudfront::1:distribution/*"),
            _conditioned("org-any", "ForAnyValue:StringEquals", "aws:PrincipalOrgID", "o-123"),
            _conditioned("account", "StringEqualsIgnoreCase", "aws:SourceAccount", "111122223333"),
        ],
        {
            "outside-org",
            "vpce-if-present",
            "org-for-all",
            "vpce-present",
            "not-ip",
            "any-ip",
            "any-ip6",
            "any-account",
        },
    ),
    # Every way of writing the whole internet is open, not only the canonical two.
    (
        "ec2-no-open-admin-ingress",
        "prod",
        [
            sg("v6-long", {**_OPEN_SSH, "cidrBlocks": [], "ipv6CidrBlocks": ["0::/0"]}),
            sg("host-bits", {**_OPEN_SSH, "cidrBlocks": ["10.0.0.0/0"]}),
            res(
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                "rule-v6",
                {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv6": "0:0::0/0"},
            ),
        ],
        [
            sg("private", {**_OPEN_SSH, "cidrBlocks": ["10.0.0.0/8", "not-a-cidr"]}),
            sg("one-host", {**_OPEN_SSH, "cidrBlocks": ["0.0.0.0/32"]}),
        ],
        {"v6-long", "host-bits", "rule-v6"},
    ),
    # The limits a kind's config leaves at the pack's defaults (prod: 3 NAT gateways).
    (
        "max-nat-gateways",
        "prod",
        [res("aws:ec2/natGateway:NatGateway", f"nat-{i}", {"tags": TAGS}) for i in range(4)],
        [res("aws:ec2/natGateway:NatGateway", f"nat-{i}", {"tags": TAGS}) for i in range(3)],
        {STACK_LEVEL},
    ),
]


@pytest.mark.parametrize(
    ("policy", "kind", "bad", "good", "flagged"),
    CASES,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(CASES)],
)
def test_rule_catches_violation_and_passes_compliant(
    policy: str, kind: str, bad: list[Resource], good: list[Resource], flagged: set[str]
) -> None:
    caught = of(run(*bad, kind=kind), policy)
    names = {r.urn: r.name for r in bad}
    assert {names[f.urn] if f.urn else STACK_LEVEL for f in caught} == flagged
    assert all(f.level is Level.MANDATORY for f in caught)
    assert of(run(*good, kind=kind), policy) == []


def test_every_policy_has_a_case() -> None:
    from stackflow.policy import load_pack
    from tests.policies.conftest import PACK

    names = {policy.name for policy in load_pack(PACK).policies}
    assert names == {case[0] for case in CASES}


def test_messages_say_what_and_how() -> None:
    findings = run(bucket(acl="public-read"))
    acl = of(findings, "s3-no-public-acl")[0]
    assert "public-read" in acl.message
    assert "Remove the acl" in acl.message


def test_each_violation_is_reported_once_per_resource() -> None:
    bad = [res("aws:ec2/natGateway:NatGateway", f"nat-{i}", {"tags": TAGS}) for i in range(5)]
    caught = of(run(*bad, kind="ephemeral"), "max-nat-gateways")
    assert len(caught) == 1
    assert caught[0].urn is None
    assert "5 NAT gateways" in caught[0].message


def test_provider_default_tags_count() -> None:
    provider = res(
        "pulumi:providers:aws",
        "tagged",
        {"defaultTags": json.dumps({"tags": TAGS}), "region": "eu-west-1"},
    )
    queue = res("aws:sqs/queue:Queue", "q", {}, provider=provider)
    assert of(run(provider, queue, kind="dev"), "aws-required-tags") == []
    bare = res("aws:sqs/queue:Queue", "q", {})
    assert of(run(bare, kind="dev"), "aws-required-tags")


def _ingress(name: str, low: int, high: int, *cidrs: str) -> Resource:
    v4 = [c for c in cidrs if ":" not in c]
    v6 = [c for c in cidrs if ":" in c]
    rule = {"protocol": "tcp", "fromPort": low, "toPort": high, "cidrBlocks": v4}
    return sg(name, {**rule, "ipv6CidrBlocks": v6})


# (policy, kind, resource, what its one finding must say)
MESSAGES: list[tuple[str, str, Resource, str]] = [
    ("ec2-no-open-admin-ingress", "prod", _ingress("wide", 0, 65535, OPEN4), "opens all ports"),
    ("ec2-no-open-admin-ingress", "prod", _ingress("n", 0, 65534, OPEN4), "opens port 22, 3389 "),
    ("ec2-no-open-admin-ingress", "prod", _ingress("n", 1, 65535, OPEN4), "opens port 22, 3389 "),
    ("ec2-no-open-admin-ingress", "prod", _ingress("n", 20, 30, OPEN6), "opens port 22 to ::/0."),
    (
        "ec2-no-open-admin-ingress",
        "prod",
        _ingress("both", 22, 22, OPEN4, OPEN6),
        "Ingress rule 0 opens port 22 to 0.0.0.0/0 and ::/0.",
    ),
    (
        "iam-no-wildcard-admin",
        "prod",
        res(
            "aws:iam/policy:Policy",
            "p",
            {
                "policy": statement_policy(
                    {"Sid": "AdminAll", "Effect": "Allow", "Action": "*", "Resource": "*"}
                )
            },
        ),
        "The policy: statement 'AdminAll' allows action '*' on resource '*'",
    ),
    (
        "iam-no-wildcard-admin",
        "prod",
        res(
            "aws:iam/policy:Policy",
            "p",
            {
                "policy": statement_policy(
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                )
            },
        ),
        "The policy: statement #1 allows",
    ),
    (
        "iam-no-wildcard-admin",
        "prod",
        res(
            "aws:iam/role:Role",
            "r",
            {
                "inlinePolicies": [
                    {
                        "name": "ops",
                        "policy": statement_policy(
                            {"Effect": "Allow", "Action": "*", "Resource": "*"}
                        ),
                    }
                ]
            },
        ),
        "Inline policy 'ops': statement #0",
    ),
    (
        "iam-no-wildcard-admin",
        "prod",
        res(
            "aws:iam/role:Role",
            "r",
            {
                "inlinePolicies": [
                    {
                        "policy": statement_policy(
                            {"Effect": "Allow", "Action": "*", "Resource": "*"}
                        )
                    }
                ]
            },
        ),
        "Inline policy 'unnamed': statement #0",
    ),
    (
        "s3-no-public-bucket-policy",
        "prod",
        bucket_policy(
            "p",
            {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"},
        ),
        "Statement 'PublicRead' allows Principal '*'",
    ),
    (
        "s3-no-public-bucket-policy",
        "prod",
        bucket_policy("p", {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}),
        "A statement allows Principal '*'",
    ),
    (
        "k8s-no-privileged-containers",
        "prod",
        res(
            DEPLOYMENT, "web", pod(container(name="sidecar", securityContext={"privileged": True}))
        ),
        "Container 'sidecar' runs privileged",
    ),
    (
        "k8s-no-privileged-containers",
        "prod",
        res(DEPLOYMENT, "web", pod({"image": "app:1", "securityContext": {"privileged": True}})),
        "Container 'unnamed' runs privileged",
    ),
    (
        "rds-backup-retention",
        "prod",
        res(RDS, "db", {"backupRetentionPeriod": 3}),
        "Backup retention is 3 days; at least 14 days are required",
    ),
    (
        "rds-backup-retention",
        "prod",
        res(RDS, "db", {}),
        "Backup retention is not set (AWS keeps 1 day); at least 14 days",
    ),
]


@pytest.mark.parametrize(("policy", "kind", "resource", "says"), MESSAGES)
def test_a_finding_says_what_is_wrong_and_where(
    policy: str, kind: str, resource: Resource, says: str
) -> None:
    [finding] = of(run(resource, kind=kind), policy)
    assert says in finding.message


# (policy, resources at the pack's default limit, resources one past it): what a stack
# that names no environment kind gets (advisory).
DEFAULT_LIMITS: list[tuple[str, list[Resource], list[Resource]]] = [
    (
        "max-nat-gateways",
        [res("aws:ec2/natGateway:NatGateway", f"nat-{i}", {"tags": TAGS}) for i in range(3)],
        [res("aws:ec2/natGateway:NatGateway", f"nat-{i}", {"tags": TAGS}) for i in range(4)],
    ),
    (
        "max-replicas",
        [res(DEPLOYMENT, "web", {"spec": {"replicas": 50}})],
        [res(DEPLOYMENT, "web", {"spec": {"replicas": 51}})],
    ),
    (
        "rds-backup-retention",
        [res(RDS, "db", {"backupRetentionPeriod": 7})],
        [res(RDS, "db", {"backupRetentionPeriod": 6})],
    ),
]


@pytest.mark.parametrize(("policy", "at_limit", "past_limit"), DEFAULT_LIMITS)
def test_the_pack_defaults_allow_up_to_their_limit(
    policy: str, at_limit: list[Resource], past_limit: list[Resource]
) -> None:
    assert of(run(*at_limit, kind=None), policy) == []
    assert [f.level for f in of(run(*past_limit, kind=None), policy)] == [Level.ADVISORY]


# (policy, setting, value, accepted): the bounds of every setting's schema.
SETTINGS: list[tuple[str, str, object, bool]] = [
    ("ec2-no-open-admin-ingress", "adminPorts", [0, 65535], True),
    ("ec2-no-open-admin-ingress", "adminPorts", [-1], False),
    ("ec2-no-open-admin-ingress", "adminPorts", [65536], False),
    ("rds-backup-retention", "minimumDays", 1, True),
    ("rds-backup-retention", "minimumDays", 35, True),
    ("rds-backup-retention", "minimumDays", 0, False),
    ("rds-backup-retention", "minimumDays", 36, False),
    ("max-nat-gateways", "maxNatGateways", 0, True),
    ("max-nat-gateways", "maxNatGateways", -1, False),
    ("max-replicas", "maxReplicas", 1, True),
    ("max-replicas", "maxReplicas", 0, False),
    ("allowed-instance-classes", "instanceTypes", ["t"], True),
    ("allowed-instance-classes", "instanceTypes", [""], False),
    ("allowed-instance-classes", "dbInstanceClasses", [""], False),
    ("k8s-resource-requests-limits", "requests", ["x"], True),
    ("k8s-resource-requests-limits", "requests", [""], False),
    ("k8s-resource-requests-limits", "limits", ["x"], True),
    ("k8s-resource-requests-limits", "limits", [""], False),
    ("aws-required-tags", "requiredTags", ["a"], True),
    ("aws-required-tags", "requiredTags", [""], False),
    ("aws-required-tags", "requiredTags", ["owner", "owner"], False),
]


@pytest.mark.parametrize(("policy", "setting", "value", "accepted"), SETTINGS)
def test_settings_are_checked_against_their_bounds(
    tmp_path: Path, policy: str, setting: str, value: object, accepted: bool
) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({policy: {setting: value}}), encoding="utf-8")
    if accepted:
        assert effective_config(PACK, path)[policy].properties[setting] == value
    else:
        with pytest.raises(StackflowError, match=rf"{policy}\.{setting}"):
            effective_config(PACK, path)
