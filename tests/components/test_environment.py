"""Environment: composition, sizing per kind, the Kubernetes provider, validation."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from components.environment import (
    ENVIRONMENT_KINDS,
    SIZING,
    Environment,
    EnvironmentSettings,
    KubernetesTarget,
)
from components.errors import ComponentArgsError
from tests.pulumi_capture import Capture, aws_taggable, run_program

BASE = EnvironmentSettings(
    kind="dev",
    owner="platform-team",
    cost_center="cc-1234",
    image="ghcr.io/example/web:1.4.2",
    vpc_cidr="10.10.0.0/16",
    availability_zones=("eu-west-1a", "eu-west-1b", "eu-west-1c"),
    namespace="web",
    kubernetes=KubernetesTarget(render_yaml_to="out"),
)


def environment(name: str = "dev", **overrides: Any) -> Capture:
    settings = dataclasses.replace(BASE, **overrides)
    return run_program(lambda: Environment(name, settings))


def test_every_kind_has_a_sizing_row() -> None:
    assert set(SIZING) == set(ENVIRONMENT_KINDS)


@pytest.mark.parametrize("kind", ENVIRONMENT_KINDS)
def test_kind_sizing_reaches_the_resources(kind: str) -> None:
    sizing = SIZING[kind]
    capture = environment(kind=kind)
    database = capture.one("aws:rds/instance:Instance")
    assert database.inputs["instanceClass"] == sizing.db_instance_class
    assert database.inputs["multiAz"] is sizing.db_multi_az
    assert database.inputs["deletionProtection"] is sizing.db_deletion_protection
    assert database.inputs["backupRetentionPeriod"] == sizing.db_backup_retention_days
    assert database.protect is sizing.protect_stateful
    nats = {"none": 0, "single": 1, "one-per-az": 3}[sizing.nat_strategy]
    assert len(capture.of_type("aws:ec2/natGateway:NatGateway")) == nats
    assert all(
        b.protect is sizing.protect_stateful for b in capture.of_type("aws:s3/bucket:Bucket")
    )
    keys = capture.of_type("aws:kms/key:Key")
    assert len(keys) == int(sizing.customer_managed_key)
    assert all(key.inputs["enableKeyRotation"] is True for key in keys)


def test_every_child_carries_the_required_tags() -> None:
    capture = environment()
    taggable = [r for r in capture.resources if r.type.startswith("aws:") and aws_taggable(r.type)]
    assert len(taggable) > 15
    for resource in taggable:
        tags = resource.inputs["tags"]
        assert tags["environment"] == "dev"
        assert tags["owner"] == "platform-team"
        assert tags["cost-center"] == "cc-1234"


def test_kubernetes_children_use_the_explicit_provider() -> None:
    capture = environment()
    provider = capture.one("pulumi:providers:kubernetes")
    assert provider.inputs["renderYamlToDirectory"] == "out"
    k8s_resources = [r for r in capture.resources if r.type.startswith("kubernetes:")]
    assert k8s_resources
    assert all(r.provider and r.provider.startswith(provider.urn) for r in k8s_resources)


def test_a_kubeconfig_and_context_reach_the_provider() -> None:
    capture = environment(kubernetes=KubernetesTarget(kubeconfig="apiVersion: v1", context="c1"))
    provider = capture.one("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "c1"
    assert "renderYamlToDirectory" not in provider.inputs


def test_the_database_admits_the_environments_client_group() -> None:
    capture = environment(client_security_group_ids=("sg-nodes",))
    rules = capture.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert sorted(r.inputs["referencedSecurityGroupId"] for r in rules) == [
        "dev-db-clients-id",
        "sg-nodes",
    ]


def test_overrides_beat_the_kind() -> None:
    capture = environment(
        kind="prod", replicas=5, nat_strategy="single", db_instance_class="db.m7g.large"
    )
    assert capture.one("aws:rds/instance:Instance").inputs["instanceClass"] == "db.m7g.large"
    assert len(capture.of_type("aws:ec2/natGateway:NatGateway")) == 1
    hpa = capture.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (5, 10)


def test_outputs_are_registered() -> None:
    capture = environment(hostname="dev.example.com")
    outputs = capture.outputs_of(capture.one("stackflow:index:Environment"))
    assert outputs["url"] == "https://dev.example.com"
    assert outputs["namespace"] == "web"
    assert outputs["bucket_names"] == {"assets": "dev-assets-bucket-bucket-id"}
    assert outputs["vpc_id"] == "dev-network-vpc-id"


def test_two_environments_in_one_stack_do_not_collide() -> None:
    settings = dataclasses.replace(BASE, namespace="other", vpc_cidr="10.11.0.0/16")
    capture = run_program(lambda: (Environment("one", BASE), Environment("two", settings)))
    urns = [r.urn for r in capture.resources]
    assert len(urns) == len(set(urns))


@pytest.mark.parametrize(
    ("overrides", "argument"),
    [
        ({"kind": "qa"}, "kind"),
        ({"owner": ""}, "tags"),
        ({"availability_zones": ("eu-west-1a",)}, "availability_zones"),
        ({"vpc_cidr": "10.0.0.0/33"}, "vpc_cidr"),
        ({"nat_strategy": "sometimes"}, "nat_strategy"),
        ({"replicas": 0}, "replicas"),
        ({"image": "web:latest"}, "image"),
        ({"namespace": "Web"}, "namespace"),
        ({"buckets": ("a", "a")}, "buckets"),
        (
            {"kubernetes": KubernetesTarget(kubeconfig="x", render_yaml_to="out")},
            "kubernetes.render_yaml_to",
        ),
    ],
)
def test_bad_settings_fail_before_any_resource(overrides: dict[str, Any], argument: str) -> None:
    errors: list[ComponentArgsError] = []

    def program() -> None:
        try:
            Environment("dev", dataclasses.replace(BASE, **overrides))
        except ComponentArgsError as error:
            errors.append(error)

    capture = run_program(program)
    assert [error.argument for error in errors] == [argument]
    assert capture.resources == []
