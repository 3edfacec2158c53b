"""Policy evaluations per second over a generated 5,000-resource manifest.

An evaluation is one rule applied to one resource: resource rules run once per resource,
and a stack rule sees every resource, so each enabled rule counts as N evaluations. The
manifest mixes the types the rules look at (buckets and their encryption, access block
and versioning resources, security groups, databases, IAM policies, Kubernetes
deployments, queues); about a tenth of the values are unknown before deploy, as in a
real preview. Run with the prod config, where every rule but one is enabled.

    .venv/bin/python benchmarks/policy_bench.py [--resources 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from pathlib import Path
from typing import Any

from stackflow.plan.manifest import Manifest, Resource, ResourceOptions
from stackflow.plan.values import unknown
from stackflow.policy import effective_config, evaluate, load_pack

PACK = Path(__file__).resolve().parents[1] / "policies"
TAGS = {"environment": "prod", "owner": "team", "cost-center": "cc-1"}


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:bench::bench::{type_}::{name}"


def _resource(
    type_: str, name: str, inputs: dict[str, Any], deps: dict[str, str] | None = None
) -> Resource:
    deps = deps or {}
    return Resource(
        urn=_urn(type_, name),
        type=type_,
        name=name,
        custom=True,
        dependencies=tuple(sorted(set(deps.values()))),
        property_dependencies={k: (v,) for k, v in deps.items()},
        inputs=inputs,
        options=ResourceOptions(protect=random.random() < 0.8),
    )


def _bucket_group(i: int) -> list[Resource]:
    bucket = _resource(
        "aws:s3/bucket:Bucket", f"b{i}", {"bucket": unknown(), "tags": TAGS, "acl": "private"}
    )
    ref = {"bucket": bucket.urn}
    return [
        bucket,
        _resource(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            f"b{i}-sse",
            {
                "bucket": unknown(),
                "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}],
            },
            ref,
        ),
        _resource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            f"b{i}-pab",
            {
                "bucket": unknown(),
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": random.random() < 0.95,
            },
            ref,
        ),
        _resource(
            "aws:s3/bucketVersioning:BucketVersioning",
            f"b{i}-ver",
            {"bucket": unknown(), "versioningConfiguration": {"status": "Enabled"}},
            ref,
        ),
        _resource(
            "aws:s3/bucketPolicy:BucketPolicy",
            f"b{i}-policy",
            {
                "bucket": unknown(),
                "policy": json.dumps(
                    {
                        "Statement": [
                            {
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ]
                    }
                ),
            },
            ref,
        ),
    ]


def _other(i: int) -> Resource:
    kind = i % 5
    if kind == 0:
        port = random.choice([22, 443, 8080])
        return _resource(
            "aws:ec2/securityGroup:SecurityGroup",
            f"sg{i}",
            {
                "tags": TAGS,
                "vpcId": unknown(),
                "ingress": [
                    {
                        "protocol": "tcp",
                        "fromPort": port,
                        "toPort": port,
                        "cidrBlocks": ["10.0.0.0/8"],
                    }
                ],
            },
        )
    if kind == 1:
        return _resource(
            "aws:rds/instance:Instance",
            f"db{i}",
            {
                "tags": TAGS,
                "instanceClass": "db.t4g.medium",
                "storageEncrypted": True,
                "publiclyAccessible": False,
                "backupRetentionPeriod": 14.0,
                "deletionProtection": True,
                "password": unknown(),
            },
        )
    if kind == 2:
        return _resource(
            "aws:iam/rolePolicy:RolePolicy",
            f"rp{i}",
            {
                "role": unknown(),
                "policy": json.dumps(
                    {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
                ),
            },
        )
    if kind == 3:
        container = {
            "name": "app",
            "image": "registry/app:1.0",
            "securityContext": {"runAsNonRoot": True},
            "resources": {
                "requests": {"cpu": "100m", "memory": "64Mi"},
                "limits": {"cpu": "1", "memory": "256Mi"},
            },
            "readinessProbe": {"httpGet": {"path": "/", "port": 80}},
        }
        return _resource(
            "kubernetes:apps/v1:Deployment",
            f"dep{i}",
            {"spec": {"replicas": 3.0, "template": {"spec": {"containers": [container]}}}},
        )
    return _resource("aws:sqs/queue:Queue", f"q{i}", {"tags": TAGS, "name": unknown()})


def generate(count: int, seed: int = 7) -> Manifest:
    random.seed(seed)
    resources: list[Resource] = []
    i = 0
    while len(resources) < count:
        resources.extend(_bucket_group(i) if i % 4 == 0 else [_other(i)])
        i += 1
    return Manifest(
        project="bench", stack="bench", resources=tuple(resources[:count]), environment="prod"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    load_pack(PACK)  # the one-time import of the rules is not what is measured
    manifest = generate(args.resources)
    config = effective_config(PACK, PACK / "config" / "prod.json")
    enabled = sum(1 for c in config.values() if c.level.value != "disabled")
    evaluations = enabled * len(manifest.resources)

    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        findings = evaluate(manifest, pack_dir=PACK, environment="prod")
        times.append(time.perf_counter() - start)
    best, median = min(times), statistics.median(times)
    print(
        f"python {platform.python_version()}, {len(manifest.resources)} resources, "
        f"{enabled} enabled rules (prod), {evaluations} evaluations per run"
    )
    print(f"findings per run: {len(findings)}")
    print(f"time per run: best {best:.3f} s, median {median:.3f} s")
    print(f"evaluations/s: best {evaluations / best:,.0f}, median {evaluations / median:,.0f}")


if __name__ == "__main__":
    main()
