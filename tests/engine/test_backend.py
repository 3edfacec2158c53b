"""Backend bootstrap: idempotent, checked on moto in-process and against a moto server
reached through AWS_ENDPOINT_URL (as the CLI would be)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from stackflow.adapters.backend import LIFECYCLE_RULE_ID, TLS_STATEMENT_SID, bootstrap
from stackflow.cli import main


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    try:
        yield url
    finally:
        server.stop()


def assert_bucket_is_hardened(bucket: str, region: str, alias: str) -> None:
    s3 = boto3.client("s3", region_name=region)
    kms = boto3.client("kms", region_name=region)
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [bucket]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    key = kms.describe_key(KeyId=f"alias/{alias}")["KeyMetadata"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": key["Arn"],
    }
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert len(block) == 4
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    tls = next(s for s in policy["Statement"] if s["Sid"] == TLS_STATEMENT_SID)
    assert tls["Effect"] == "Deny"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in rules] == [LIFECYCLE_RULE_ID]
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]
    aliases = [
        a["AliasName"]
        for a in kms.list_aliases()["Aliases"]
        if not a["AliasName"].startswith("alias/aws/")
    ]
    assert aliases == [f"alias/{alias}"]


def test_bootstrap_is_idempotent_in_process() -> None:
    with mock_aws():
        first = bootstrap("team-state", "eu-west-1", "team-secrets")
        assert first.changed
        assert "bucket team-state" in first.created
        second = bootstrap("team-state", "eu-west-1", "team-secrets")
        assert not second.changed
        assert second.created == ()
        assert set(second.found) == set(first.created)
        assert second.key_arn == first.key_arn
        assert_bucket_is_hardened("team-state", "eu-west-1", "team-secrets")
        assert second.login_url == "s3://team-state?region=eu-west-1"
        assert second.secrets_provider == "awskms://alias/team-secrets?region=eu-west-1"


def test_bootstrap_repairs_what_someone_changed() -> None:
    with mock_aws():
        bootstrap("team-state", "us-east-1")
        boto3.client("s3", region_name="us-east-1").delete_public_access_block(Bucket="team-state")
        again = bootstrap("team-state", "us-east-1")
        assert again.created == ("public access block",)


def test_bootstrap_twice_against_a_moto_server(
    moto_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["backend", "bootstrap", "--bucket", "team-state", "--region", "eu-west-1"]
    assert main([*args, "--kms-alias", "pulumi-secrets"]) == 0
    out = capsys.readouterr().out
    assert "+ created bucket team-state" in out
    assert "pulumi login 's3://team-state?region=eu-west-1'" in out
    assert "--secrets-provider 'awskms://alias/pulumi-secrets?region=eu-west-1'" in out
    assert main([*args, "--kms-alias", "pulumi-secrets", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["changed"] is False
    assert second["created"] == []
    assert_bucket_is_hardened("team-state", "eu-west-1", "pulumi-secrets")


def test_bootstrap_without_aws_says_what_to_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert main(["backend", "bootstrap", "--bucket", "b-state", "--region", "eu-west-1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("stackflow: error: bootstrapping the state backend in s3://b-state")
    assert "check the AWS credentials" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--bucket", "Team_State"], "--bucket 'Team_State'"),
        (["--bucket", "ok-bucket", "--kms-alias", "aws/s3"], "--kms-alias 'aws/s3'"),
    ],
)
def test_bad_names_are_refused_before_calling_aws(
    args: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backend", "bootstrap", "--region", "eu-west-1", *args]) == 1
    assert named in capsys.readouterr().err
