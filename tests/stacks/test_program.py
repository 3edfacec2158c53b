"""The whole stack program for dev, staging, prod, local and an ephemeral branch stack."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pulumi_capture import Capture, aws_taggable, is_secret, resolve

from .conftest import config_of

Synth = Callable[[str], Capture]
STACKS = ("dev", "staging", "prod", "local", "ephemeral")
BUCKET_COMPANIONS = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketVersioning:BucketVersioning",
)


def containers(capture: Capture) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for deployment in capture.of_type("kubernetes:apps/v1:Deployment"):
        pod = deployment.inputs["spec"]["template"]["spec"]
        for container in pod["containers"]:
            yield pod, container


def test_dev_meets_the_done_when_of_the_foundation(synth: Synth) -> None:
    """Every bucket: encryption, public access block, versioning. The database:
    encrypted, private. Every container: non-root, limits, probes."""
    capture = synth("dev")
    buckets = capture.of_type("aws:s3/bucket:Bucket")
    assert buckets
    for bucket in buckets:
        bucket_id = f"{bucket.name}-id"
        for companion in BUCKET_COMPANIONS:
            assert [r for r in capture.of_type(companion) if r.inputs["bucket"] == bucket_id], (
                f"{bucket.name} has no {companion}"
            )
    versioning = capture.of_type(BUCKET_COMPANIONS[2])
    assert all(v.inputs["versioningConfiguration"]["status"] == "Enabled" for v in versioning)
    database = capture.one("aws:rds/instance:Instance")
    assert database.inputs["storageEncrypted"] is True
    assert database.inputs["publiclyAccessible"] is False
    found = list(containers(capture))
    assert found
    for pod, container in found:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["runAsNonRoot"] is True
        assert set(container["resources"]["limits"]) == {"cpu", "memory"}
        assert set(container["resources"]["requests"]) == {"cpu", "memory"}
        assert container["readinessProbe"]
        assert container["livenessProbe"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_meets_the_mandatory_basics(synth: Synth, stack: str) -> None:
    capture = synth(stack)
    assert 30 < len(capture.resources) < 100  # tens, not hundreds
    for resource in capture.resources:
        if resource.type.startswith("aws:") and aws_taggable(resource.type):
            tags = resource.inputs.get("tags", {})
            for key in ("environment", "owner", "cost-center"):
                assert tags.get(key), f"{resource.name} lacks tag {key}: {tags}"
        if resource.type == "aws:kms/key:Key":
            assert resource.inputs["enableKeyRotation"] is True
        if resource.type == "kubernetes:core/v1:Service":
            assert resource.inputs["spec"]["type"] == "ClusterIP"
        assert "0.0.0.0/0" not in json.dumps(resource.inputs.get("ingress", []))
        assert "cidrIpv4" not in resource.inputs or resource.type.endswith("EgressRule")
    for pod, container in containers(capture):
        assert not container["image"].endswith(":latest")
        assert ":" in container["image"].rsplit("/", 1)[-1]
        assert not pod.get("hostNetwork")
        assert all("hostPath" not in volume for volume in pod["volumes"])


def test_prod_is_durable(synth: Synth) -> None:
    capture = synth("prod")
    database = capture.one("aws:rds/instance:Instance")
    assert database.protect is True
    assert database.inputs["deletionProtection"] is True
    assert database.inputs["multiAz"] is True
    assert database.inputs["backupRetentionPeriod"] >= 7
    buckets = capture.of_type("aws:s3/bucket:Bucket")
    assert len(buckets) == 2
    assert all(bucket.protect for bucket in buckets)
    assert len(capture.of_type("aws:ec2/natGateway:NatGateway")) == 3
    assert capture.one("aws:kms/key:Key").protect is True
    assert "password" not in database.inputs  # AWS-managed, no secret in config


def test_ephemeral_is_small_cheap_and_named_after_the_branch(synth: Synth) -> None:
    capture = synth("ephemeral")
    database = capture.one("aws:rds/instance:Instance")
    assert database.inputs["instanceClass"] == "db.t4g.micro"
    assert database.inputs["deletionProtection"] is False
    assert database.inputs["skipFinalSnapshot"] is True
    assert capture.of_type("aws:ec2/natGateway:NatGateway") == []
    deployment = capture.one("kubernetes:apps/v1:Deployment")
    assert deployment.inputs["spec"]["replicas"] == 1
    assert deployment.inputs["metadata"]["namespace"] == "br-feature-login-3f9a2c"
    vpc = capture.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["tags"]["branch"] == "feature/login"
    assert vpc.inputs["tags"]["pr"] == "42"
    assert vpc.inputs["tags"]["environment"] == "ephemeral"
    assert all(b.inputs["forceDestroy"] for b in capture.of_type("aws:s3/bucket:Bucket"))
    outputs = {key: resolve(value) for key, value in capture.result.items()}
    assert outputs["url"] == "https://br-feature-login-3f9a2c.preview.example.com"


def test_the_dev_password_stays_a_secret_everywhere(synth: Synth, tmp_path: Path) -> None:
    placeholder = config_of("dev", tmp_path).values["stackflow:dbPassword"]
    capture = synth("dev")
    assert is_secret(capture.one("aws:rds/instance:Instance").inputs["password"])
    for resource in capture.resources:
        text = json.dumps(resource.inputs)
        if placeholder in text:
            assert resource.type == "aws:rds/instance:Instance", resource.name


def test_local_renders_kubernetes_to_a_directory(synth: Synth) -> None:
    capture = synth("local")
    provider = capture.one("pulumi:providers:kubernetes")
    assert provider.inputs["renderYamlToDirectory"] == "rendered/local"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_outputs_of_long_lived_stacks(synth: Synth, stack: str) -> None:
    capture = synth(stack)
    outputs = {key: resolve(value) for key, value in capture.result.items()}
    assert outputs["environment"] == stack
    assert outputs["vpcId"] == f"{stack}-network-vpc-id"
    assert outputs["namespace"] == f"web-{stack}"
    assert outputs["url"].startswith("https://")
    assert outputs["databaseAddress"].endswith(".mock.rds.amazonaws.com")
    assert "assets" in outputs["bucketNames"]
