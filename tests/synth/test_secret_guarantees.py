"""Secrets on the offline path, at the places a secret could turn plain: an Output value
flagged secret, a referenced stack's secret output, and the ``secure:`` placeholder."""

from __future__ import annotations

import hashlib
from pathlib import Path

from google.protobuf import struct_pb2

from stackflow.plan._runner import OUTPUT_SIG, SIG_KEY, Converter, secret_digest
from stackflow.plan.synth import stack_config, synth
from stackflow.plan.values import is_secret
from stackflow.project import load_project

from .conftest import TEST_KEY

KEY = b"k" * 32


def struct(value: dict[str, object]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)
    return s


def test_an_output_value_flagged_secret_becomes_a_keyed_digest() -> None:
    convert = Converter(KEY)
    flagged = struct({SIG_KEY: OUTPUT_SIG, "value": "hunter2-plaintext", "secret": True})
    assert convert.struct(flagged) == {"$secret": secret_digest(KEY, "hunter2-plaintext")}
    plain = struct({SIG_KEY: OUTPUT_SIG, "value": "visible", "secret": False})
    assert convert.struct(plain) == "visible"
    nested = struct({"env": {SIG_KEY: OUTPUT_SIG, "value": {"a": 1}, "secret": True}})
    assert convert.struct(nested) == {"env": {"$secret": secret_digest(KEY, {"a": 1})}}


def test_a_referenced_stacks_secret_output_stays_secret_every_way_it_is_read(
    tmp_path: Path,
) -> None:
    producer = tmp_path / "producer"
    producer.mkdir()
    (producer / "Pulumi.yaml").write_text("name: producer\nruntime: python\n")
    (producer / "Pulumi.dev.yaml").write_text("config: {}\n")
    (producer / "__main__.py").write_text(
        "import pulumi\n"
        "pulumi.export('token', pulumi.Output.secret('planted-token-7731'))\n"
        "pulumi.export('plain', 'visible')\n"
    )
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    (consumer / "Pulumi.yaml").write_text("name: consumer\nruntime: python\n")
    (consumer / "Pulumi.dev.yaml").write_text("config: {}\n")
    (consumer / "__main__.py").write_text(
        "import pulumi\n"
        "ref = pulumi.StackReference('producer/dev')\n"
        "pulumi.export('viaGet', ref.get_output('token'))\n"
        "pulumi.export('viaRequire', ref.require_output('token'))\n"
        "pulumi.export('viaOutputs', ref.outputs.apply(lambda o: o['token']))\n"
        "pulumi.export('derived', ref.get_output('token').apply(lambda t: 'T=' + t))\n"
        "pulumi.export('plain', ref.get_output('plain'))\n"
    )
    manifest = synth(load_project(consumer), "dev", repo_root=tmp_path, digest_key=TEST_KEY)
    outputs = manifest.outputs
    for name in ("viaGet", "viaRequire", "viaOutputs", "derived"):
        assert is_secret(outputs[name]), (name, outputs[name])
    assert outputs["plain"] == "visible"
    assert "planted-token-7731" not in manifest.to_json()


def test_the_secure_placeholder_is_keyed(tmp_path: Path) -> None:
    """The placeholder is an HMAC under the clone's digest key, not a plain hash of the
    ciphertext: without the key, nobody can tell two stacks share a secret."""
    project = load_project(Path(__file__).parents[1] / "programs" / "secrets")
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config:\n  secrets:dbPassword:\n    secure: v1:abc\n")

    def placeholder(key: bytes) -> str:
        return stack_config(project, "dev", key=key, config_file=path).values["secrets:dbPassword"]

    assert placeholder(b"a" * 32) == placeholder(b"a" * 32)
    assert placeholder(b"a" * 32) != placeholder(b"b" * 32)
    unkeyed = hashlib.sha256(b"v1:abc").hexdigest()
    assert unkeyed[:16] not in placeholder(b"a" * 32)


def test_a_secret_objects_digest_does_not_depend_on_its_key_order() -> None:
    """The same secret object built in another order (base and head, two programs) has the
    same digest, so the plan shows no change where there is none."""
    assert secret_digest(TEST_KEY, {"user": "u", "password": "p"}) == secret_digest(
        TEST_KEY, {"password": "p", "user": "u"}
    )
    assert secret_digest(TEST_KEY, {"user": "u"}) != secret_digest(TEST_KEY, {"user": "v"})
