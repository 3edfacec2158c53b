"""The runner's pure parts: URNs, value conversion, the mock cloud."""

from __future__ import annotations

from google.protobuf import struct_pb2
from hypothesis import given
from hypothesis import strategies as st

from stackflow.plan import _mockcloud
from stackflow.plan._runner import (
    SECRET_SIG,
    SIG_KEY,
    UNKNOWN_SENTINEL,
    Converter,
    make_urn,
    normalize,
    secret_digest,
    urn_parts,
)

STACK_URN = "urn:pulumi:dev::app::pulumi:pulumi:Stack::app-dev"


def test_children_of_the_stack_carry_no_stack_type() -> None:
    assert make_urn("dev", "app", STACK_URN, "aws:s3/bucket:Bucket", "logs") == (
        "urn:pulumi:dev::app::aws:s3/bucket:Bucket::logs"
    )
    assert make_urn("dev", "app", None, "pulumi:pulumi:Stack", "app-dev") == STACK_URN


def test_the_type_chain_follows_parents() -> None:
    a = make_urn("dev", "app", STACK_URN, "x:a:A", "a")
    b = make_urn("dev", "app", a, "x:b:B", "b")
    c = make_urn("dev", "app", b, "aws:sqs/queue:Queue", "q")
    assert c == "urn:pulumi:dev::app::x:a:A$x:b:B$aws:sqs/queue:Queue::q"
    assert urn_parts(c) == ("dev", "app", "x:a:A$x:b:B$aws:sqs/queue:Queue", "q")


def test_names_may_contain_separators() -> None:
    urn = make_urn("dev", "app", None, "x:a:A", "odd::name")
    assert urn_parts(urn)[3] == "odd::name"


def struct(value: dict[str, object]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)
    return s


def test_whole_floats_are_ints_again_and_unknowns_are_marked() -> None:
    convert = Converter(b"key")
    value = struct({"count": 3.0, "ratio": 0.5, "id": UNKNOWN_SENTINEL, "xs": [1.0, "a", None]})
    assert convert.struct(value) == {
        "count": 3,
        "ratio": 0.5,
        "id": {"$unknown": True},
        "xs": [1, "a", None],
    }
    assert isinstance(convert.struct(value)["count"], int)


def test_secrets_become_keyed_digests() -> None:
    value = struct({"password": {SIG_KEY: SECRET_SIG, "value": "hunter2"}})
    converted = Converter(b"key").struct(value)
    assert converted == {"password": {"$secret": secret_digest(b"key", "hunter2")}}
    assert "hunter2" not in str(converted)
    assert Converter(b"other").struct(value) != converted
    assert len(converted["password"]["$secret"]) == 32


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_normalize_keeps_the_value(x: float) -> None:
    assert normalize(x) == x


def test_mock_cloud_is_deterministic_and_regional() -> None:
    def bucket(region: str) -> tuple[str | None, dict[str, object]]:
        return _mockcloud.answer_resource(
            _mockcloud.Context(
                urn="urn:pulumi:dev::app::aws:s3/bucket:Bucket::logs",
                type="aws:s3/bucket:Bucket",
                name="logs",
                inputs={},
                region=region,
                account="111122223333",
            )
        )

    id_, outputs = bucket("eu-west-1")
    assert (id_, outputs) == bucket("eu-west-1")
    assert id_ is not None
    assert id_.startswith("logs-")
    assert len(id_) == len("logs-") + 7
    assert outputs["arn"] == f"arn:aws:s3:::{id_}"
    assert outputs["bucketRegionalDomainName"] == f"{id_}.s3.eu-west-1.amazonaws.com"


def test_unlisted_types_stay_unknown() -> None:
    context = _mockcloud.Context(
        urn="urn:pulumi:dev::app::aws:ssm/parameter:Parameter::p",
        type="aws:ssm/parameter:Parameter",
        name="p",
        inputs={},
        region="us-east-1",
        account="123456789012",
    )
    assert _mockcloud.answer_resource(context) == (None, {})


def test_builtin_invokes() -> None:
    zones = _mockcloud.builtin_invoke(
        "aws:index/getAvailabilityZones:getAvailabilityZones", {}, "eu-west-1", "1"
    )
    assert zones is not None
    assert zones["names"] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert zones["zoneIds"] == ["euw1-az1", "euw1-az2", "euw1-az3"]
    me = _mockcloud.builtin_invoke("aws:index/getCallerIdentity:getCallerIdentity", {}, "r", "9")
    assert me is not None
    assert me["accountId"] == "9"
    assert _mockcloud.builtin_invoke("aws:ec2/getVpcEndpoint:getVpcEndpoint", {}, "r", "9") is None
