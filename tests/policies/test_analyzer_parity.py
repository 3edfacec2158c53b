"""The pack as the Pulumi CLI runs it, against the in-process runner.

The CLI starts a Python policy pack with ``python -u -m pulumi.policy <engine> .`` in the
pack directory (the ``pulumi-analyzer-policy-python`` shim); ``policies/__main__.py``
then builds the ``PolicyPack``, whose analyzer serves gRPC and prints its port. Here
that real analyzer (the pulumi_policy SDK, no CLI needed) is started, configured the
way the engine configures it, and fed the same resources as the runner: both must
report the same policies at the same levels.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from stackflow.plan.manifest import Resource
from stackflow.plan.values import is_unknown, unknown
from stackflow.policy import evaluate, load_pack
from tests.policies.conftest import PACK, manifest, res


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=PACK,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().decode().strip()
        assert port.isdigit(), proc.stderr.read().decode() if proc.stderr else port
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _wire(value: Any) -> Any:
    """A manifest value as the engine marshals it for a policy pack (unknowns as the
    sentinel string)."""
    if is_unknown(value):
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def _struct(data: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(_wire(data))
    return struct


def _engine_config(stub: analyzer_pb2_grpc.AnalyzerStub, kind: str) -> dict[str, Any]:
    """The config the Pulumi CLI sends for ``--policy-pack-config config/<kind>.json``,
    worked out as the CLI works it out (``ReconcilePolicyPackConfig``): from the
    analyzer's own policy info (default levels, config schemas) and the raw file, and
    nothing of stackflow's resolver, so a resolution bug on either side shows as a
    difference in findings. Every policy gets a level and its knobs: the schema defaults,
    then ``all``'s level, then the policy's own entry (a level, or an object with an
    ``enforcementLevel`` and knobs)."""
    raw = json.loads((PACK / "config" / f"{kind}.json").read_text("utf-8"))
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())

    def level_of(entry: Any) -> int | None:
        if isinstance(entry, dict):
            entry = entry.get("enforcementLevel")
        return None if entry is None else int(getattr(analyzer_pb2, str(entry).upper()))

    resolved: dict[str, Any] = {}
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema.properties)
        knobs = {k: s["default"] for k, s in schema.items() if "default" in s}
        level = policy.enforcementLevel
        for entry in (raw.get("all"), raw.get(policy.name)):
            if level_of(entry) is not None:
                level = level_of(entry)
            if isinstance(entry, dict) and entry is not raw.get("all"):
                knobs.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
        resolved[policy.name] = (level, knobs)
    return resolved


def _configure(stub: analyzer_pb2_grpc.AnalyzerStub, kind: str) -> None:
    """Configure the analyzer the way the engine does (every policy, with a level)."""
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, (level, knobs) in _engine_config(stub, kind).items():
        entry = request.policyConfig[name]
        entry.enforcementLevel = level
        entry.properties.update(knobs)
    stub.Configure(request)


def _analyze(
    stub: analyzer_pb2_grpc.AnalyzerStub, resources: list[Resource]
) -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    names = {v: k.lower() for k, v in analyzer_pb2.EnforcementLevel.items()}
    for r in resources:
        response = stub.Analyze(
            analyzer_pb2.AnalyzeRequest(
                type=r.type,
                properties=_struct(r.inputs),
                urn=r.urn,
                name=r.name,
                options=analyzer_pb2.AnalyzerResourceOptions(protect=r.options.protect),
            )
        )
        found |= {(d.policyName, names[d.enforcementLevel], r.urn) for d in response.diagnostics}
    stack = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=r.type,
                properties=_struct(r.inputs),
                urn=r.urn,
                name=r.name,
                options=analyzer_pb2.AnalyzerResourceOptions(protect=r.options.protect),
                parent=r.parent or "",
                dependencies=list(r.dependencies),
                propertyDependencies={
                    k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                    for k, v in r.property_dependencies.items()
                },
            )
            for r in resources
        ]
    )
    response = stub.AnalyzeStack(stack)
    found |= {(d.policyName, names[d.enforcementLevel], d.urn) for d in response.diagnostics}
    return found


def test_the_analyzer_serves_the_packs_policies(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    pack = load_pack(PACK)
    assert info.name == pack.name
    assert [p.name for p in info.policies] == [p.name for p in pack.policies]


BUCKET = "aws:s3/bucket:Bucket"
_bucket = res(BUCKET, "site", {"acl": "public-read", "bucket": unknown()})
SAMPLE = [
    _bucket,
    res(
        "aws:ec2/securityGroup:SecurityGroup",
        "ssh",
        {
            "ingress": [
                {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}
            ]
        },
    ),
    res(
        "aws:s3/bucketVersioning:BucketVersioning",
        "site-versioning",
        {"bucket": unknown(), "versioningConfiguration": {"status": "Enabled"}},
        prop_deps={"bucket": [_bucket]},
    ),
    res(
        "aws:rds/instance:Instance",
        "db",
        {"storageEncrypted": unknown(), "instanceClass": "db.r6g.xlarge"},
    ),
    res(
        "kubernetes:apps/v1:Deployment",
        "web",
        {
            "spec": {
                "replicas": 3,
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "app:latest",
                                "securityContext": {"privileged": True},
                            }
                        ]
                    }
                },
            }
        },
    ),
    res("kubernetes:core/v1:Service", "web", {"spec": {"type": "LoadBalancer"}}),
]


@pytest.mark.parametrize("kind", ["dev", "staging", "prod", "ephemeral"])
def test_same_findings_in_process_and_under_the_analyzer(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, kind: str
) -> None:
    _configure(analyzer, kind)
    served = _analyze(analyzer, SAMPLE)
    ours = {
        (f.policy, f.level.value, f.urn or "")
        for f in evaluate(manifest(*SAMPLE), pack_dir=PACK, environment=kind)
    }
    # The SDK reports unknown-value notes with no URN (the engine adds the resource's).
    served_by_policy = {(p, lvl) for p, lvl, _ in served}
    assert served_by_policy == {(p, lvl) for p, lvl, _ in ours}
    assert {x for x in served if x[2]} <= ours
    assert ("s3-no-public-acl", "mandatory") in served_by_policy
    assert ("ec2-no-open-admin-ingress", "mandatory") in served_by_policy
    assert ("k8s-no-privileged-containers", "mandatory") in served_by_policy
    assert ("rds-storage-encrypted", "advisory") in served_by_policy
