"""Network, SecureBucket and Database under the capturing mocks."""

from __future__ import annotations

import contextlib
from collections import Counter

import pulumi
import pytest

from components.aws import (
    Database,
    DatabaseArgs,
    Network,
    NetworkArgs,
    SecureBucket,
    SecureBucketArgs,
)
from components.errors import ComponentArgsError
from tests.components.conftest import TAGS
from tests.pulumi_capture import Capture, aws_taggable, is_secret, resolve, run_program

ZONES = ("eu-west-1a", "eu-west-1b")


def network(name: str = "net", **overrides: object) -> Network:
    args = {"cidr_block": "10.0.0.0/16", "availability_zones": ZONES, "tags": TAGS, **overrides}
    return Network(name, NetworkArgs(**args))  # type: ignore[arg-type]


def assert_children_tagged_and_parented(capture: Capture, component_type: str) -> None:
    for component in capture.of_type(component_type):
        children = capture.children_of(component)
        assert children, f"{component.name} has no children"
        for child in children:
            assert child.name.startswith(f"{component.name}-"), child.name
            if child.type.startswith("aws:") and aws_taggable(child.type):
                tags = child.inputs.get("tags", {})
                assert {k: tags.get(k) for k in TAGS} == TAGS, f"{child.name} tags {tags}"


class TestNetwork:
    def test_defaults_give_a_single_nat_flow_logs_and_a_closed_default_group(self) -> None:
        capture = run_program(network)
        vpc = capture.one("aws:ec2/vpc:Vpc")
        assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
        subnets = capture.of_type("aws:ec2/subnet:Subnet")
        assert sorted(s.inputs["cidrBlock"] for s in subnets) == [
            "10.0.0.0/18",
            "10.0.128.0/18",
            "10.0.192.0/18",
            "10.0.64.0/18",
        ]
        assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
        assert len(capture.of_type("aws:ec2/natGateway:NatGateway")) == 1
        private_routes = [r for r in capture.of_type("aws:ec2/route:Route") if "private" in r.name]
        assert len(private_routes) == 2
        assert {r.inputs["natGatewayId"] for r in private_routes} == {"net-nat-eu-west-1a-id"}
        flow_log = capture.one("aws:ec2/flowLog:FlowLog")
        assert flow_log.inputs["trafficType"] == "ALL"
        assert flow_log.inputs["vpcId"] == "net-vpc-id"
        default_sg = capture.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
        assert "ingress" not in default_sg.inputs
        assert (
            '"Resource": "*"' not in capture.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"]
        )
        assert_children_tagged_and_parented(capture, "stackflow:aws:Network")

    @pytest.mark.parametrize(("strategy", "nats"), [("none", 0), ("single", 1), ("one-per-az", 2)])
    def test_nat_strategies(self, strategy: str, nats: int) -> None:
        capture = run_program(lambda: network(nat_strategy=strategy))
        gateways = capture.of_type("aws:ec2/natGateway:NatGateway")
        assert len(gateways) == nats
        assert len(capture.of_type("aws:ec2/eip:Eip")) == nats
        private_routes = [r for r in capture.of_type("aws:ec2/route:Route") if "private" in r.name]
        assert len(private_routes) == (0 if nats == 0 else 2)
        if strategy == "one-per-az":
            for zone in ZONES:
                route = capture.named(f"net-private-{zone}-default-route")
                assert route.inputs["natGatewayId"] == f"net-nat-{zone}-id"

    def test_outputs_are_registered(self) -> None:
        capture = run_program(network)
        outputs = capture.outputs_of(capture.one("stackflow:aws:Network"))
        assert outputs["vpc_id"] == "net-vpc-id"
        assert outputs["cidr_block"] == "10.0.0.0/16"
        assert outputs["private_subnet_ids"] == [
            "net-private-eu-west-1a-id",
            "net-private-eu-west-1b-id",
        ]
        assert outputs["nat_gateway_ids"] == ["net-nat-eu-west-1a-id"]

    @pytest.mark.parametrize(
        ("overrides", "argument", "value"),
        [
            ({"nat_strategy": "sometimes"}, "nat_strategy", "sometimes"),
            ({"cidr_block": "10.0.0.0/33"}, "cidr_block", "10.0.0.0/33"),
            ({"availability_zones": ("a", "a")}, "availability_zones", ("a", "a")),
            ({"availability_zones": ()}, "availability_zones", ()),
            ({"flow_log_retention_days": 2}, "flow_log_retention_days", 2),
            ({"tags": {"aws:x": "y"}}, "tags", {"aws:x": "y"}),
        ],
    )
    def test_bad_arguments_are_named_and_quoted_before_any_resource(
        self, overrides: dict[str, object], argument: str, value: object
    ) -> None:
        with pytest.raises(ComponentArgsError) as caught:
            run_program(lambda: network(**overrides))
        assert caught.value.argument == argument
        assert f"{argument}={value!r}" in str(caught.value)
        assert "\n" not in str(caught.value)

    def test_validation_runs_before_any_child(self) -> None:
        def program() -> None:
            with contextlib.suppress(ComponentArgsError):
                network(nat_strategy="sometimes")

        assert run_program(program).resources == []

    def test_two_networks_do_not_collide(self) -> None:
        capture = run_program(lambda: (network("a"), network("b", cidr_block="10.1.0.0/16")))
        urns = [r.urn for r in capture.resources]
        assert len(urns) == len(set(urns))
        assert len(capture.of_type("aws:ec2/vpc:Vpc")) == 2


class TestSecureBucket:
    def test_every_protection_is_on_by_default(self) -> None:
        capture = run_program(lambda: SecureBucket("logs", SecureBucketArgs(tags=TAGS)))
        bucket = capture.one("aws:s3/bucket:Bucket")
        assert bucket.inputs["forceDestroy"] is False
        assert bucket.protect is False
        encryption = capture.one(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
        rule = encryption.inputs["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
        assert encryption.inputs["bucket"] == "logs-bucket-id"
        block = capture.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        ):
            assert block.inputs[flag] is True
        ownership = capture.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
        assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
        versioning = capture.one("aws:s3/bucketVersioning:BucketVersioning")
        assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
        lifecycle = capture.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        rule = lifecycle.inputs["rules"][0]
        assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 90
        policy = capture.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"]
        assert '"aws:SecureTransport": "false"' in policy
        assert '"Effect": "Deny"' in policy
        assert '"Effect": "Allow"' not in policy
        assert_children_tagged_and_parented(capture, "stackflow:aws:SecureBucket")

    def test_a_kms_key_switches_to_sse_kms_with_a_bucket_key(self) -> None:
        key = "arn:aws:kms:eu-west-1:123456789012:key/abc"
        capture = run_program(lambda: SecureBucket("data", SecureBucketArgs(kms_key_arn=key)))
        encryption = capture.one(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
        rule = encryption.inputs["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"] == {
            "sseAlgorithm": "aws:kms",
            "kmsMasterKeyId": key,
        }
        assert rule["bucketKeyEnabled"] is True

    def test_protect_reaches_the_bucket_only(self) -> None:
        capture = run_program(lambda: SecureBucket("data", SecureBucketArgs(protect=True)))
        assert capture.one("aws:s3/bucket:Bucket").protect is True
        assert not capture.one("aws:s3/bucketPolicy:BucketPolicy").protect

    def test_outputs_and_no_collisions(self) -> None:
        capture = run_program(lambda: [SecureBucket("a"), SecureBucket("b")])
        assert len({r.urn for r in capture.resources}) == len(capture.resources) == 16
        first = capture.named("a")
        assert capture.outputs_of(first) == {
            "bucket_name": "a-bucket-bucket-id",
            "bucket_arn": "arn:aws:s3:::a-bucket-bucket-id",
        }

    @pytest.mark.parametrize(
        ("overrides", "argument"),
        [
            ({"noncurrent_version_expiration_days": 0}, "noncurrent_version_expiration_days"),
            ({"abort_incomplete_upload_days": 5000}, "abort_incomplete_upload_days"),
            ({"kms_key_arn": ""}, "kms_key_arn"),
        ],
    )
    def test_bad_arguments(self, overrides: dict[str, object], argument: str) -> None:
        with pytest.raises(ComponentArgsError, match=f"argument {argument}=") as caught:
            run_program(lambda: SecureBucket("x", SecureBucketArgs(**overrides)))  # type: ignore[arg-type]
        assert repr(overrides[argument]) in str(caught.value)


def database(name: str = "db", **overrides: object) -> Database:
    args = {
        "vpc_id": "vpc-1",
        "subnet_ids": ["subnet-a", "subnet-b"],
        "allowed_security_group_ids": ["sg-app", "sg-nodes"],
        "tags": TAGS,
        **overrides,
    }
    return Database(name, DatabaseArgs(**args))  # type: ignore[arg-type]


class TestDatabase:
    def test_encrypted_private_backed_up_and_aws_managed_password(self) -> None:
        capture = run_program(database)
        instance = capture.one("aws:rds/instance:Instance")
        inputs = instance.inputs
        assert inputs["engine"] == "postgres"
        assert inputs["storageEncrypted"] is True
        assert inputs["publiclyAccessible"] is False
        assert inputs["backupRetentionPeriod"] == 7
        assert inputs["deletionProtection"] is True
        assert inputs["manageMasterUserPassword"] is True
        assert "password" not in inputs
        assert inputs["finalSnapshotIdentifier"] == "db-final"
        assert inputs["vpcSecurityGroupIds"] == ["db-sg-id"]
        assert inputs["dbSubnetGroupName"] == "db-subnets"
        assert_children_tagged_and_parented(capture, "stackflow:aws:Database")

    def test_the_security_group_admits_only_the_named_groups_on_the_port(self) -> None:
        capture = run_program(database)
        security_group = capture.one("aws:ec2/securityGroup:SecurityGroup")
        assert "ingress" not in security_group.inputs
        rules = capture.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        assert sorted(r.inputs["referencedSecurityGroupId"] for r in rules) == [
            "sg-app",
            "sg-nodes",
        ]
        for rule in rules:
            assert "cidrIpv4" not in rule.inputs
            assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (5432, 5432)

    def test_a_password_from_config_stays_secret(self) -> None:
        capture = run_program(lambda: database(password=pulumi.Output.secret("s3cr3t-value")))
        inputs = capture.one("aws:rds/instance:Instance").inputs
        assert is_secret(inputs["password"])
        assert "manageMasterUserPassword" not in inputs
        # Even a plain string is sent as a secret.
        capture = run_program(lambda: database("db2", password="plain-text-pw"))
        assert is_secret(capture.one("aws:rds/instance:Instance").inputs["password"])

    def test_switches_and_protect(self) -> None:
        capture = run_program(
            lambda: database(
                multi_az=True,
                deletion_protection=False,
                backup_retention_days=14,
                skip_final_snapshot=True,
                protect=True,
            )
        )
        instance = capture.one("aws:rds/instance:Instance")
        assert instance.inputs["multiAz"] is True
        assert instance.inputs["deletionProtection"] is False
        assert instance.inputs["backupRetentionPeriod"] == 14
        assert "finalSnapshotIdentifier" not in instance.inputs
        assert instance.protect is True

    def test_outputs(self) -> None:
        capture = run_program(database)
        outputs = capture.outputs_of(capture.one("stackflow:aws:Database"))
        assert outputs["address"] == "db-postgres.mock.rds.amazonaws.com"
        assert outputs["security_group_id"] == "db-sg-id"
        assert outputs["master_user_secret_arn"].endswith(":secret:db-postgres")
        db = capture.result
        assert resolve(db.port) == 5432

    @pytest.mark.parametrize(
        ("overrides", "argument"),
        [
            ({"subnet_ids": ["subnet-a"]}, "subnet_ids"),
            ({"instance_class": "t3.micro"}, "instance_class"),
            ({"backup_retention_days": 36}, "backup_retention_days"),
            ({"db_name": "App-DB"}, "db_name"),
            ({"allocated_storage_gb": 10}, "allocated_storage_gb"),
            ({"port": 80}, "port"),
        ],
    )
    def test_bad_arguments(self, overrides: dict[str, object], argument: str) -> None:
        with pytest.raises(ComponentArgsError) as caught:
            run_program(lambda: database(**overrides))
        assert caught.value.argument == argument
        assert repr(caught.value.value) in str(caught.value)

    def test_an_empty_password_is_refused_without_echoing_it(self) -> None:
        with pytest.raises(ComponentArgsError, match="password") as caught:
            run_program(lambda: database(password=""))
        assert "''" not in str(caught.value)

    def test_two_databases_do_not_collide(self) -> None:
        capture = run_program(lambda: (database("a"), database("b")))
        names = Counter(r.urn for r in capture.resources)
        assert max(names.values()) == 1
