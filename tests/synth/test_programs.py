"""Synth on programs we did not write: tests/programs/*, each its own Pulumi project."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from stackflow.errors import StackflowError
from stackflow.plan.manifest import Manifest, Resource
from stackflow.plan.synth import SynthError, synth
from stackflow.project import load_project

from .conftest import PROGRAMS, TEST_KEY, line_of, program

Synth = Callable[[str, str], Manifest]


def by_name(manifest: Manifest, name: str) -> Resource:
    (found,) = [r for r in manifest.resources if r.name == name]
    return found


# ---- AWS and Kubernetes --------------------------------------------------------------


def test_engine_urns_types_and_inputs(synthesized: Synth) -> None:
    m = synthesized("webapp", "dev")
    assert (m.project, m.stack, m.environment) == ("webapp", "dev", "dev")
    assert sorted(r.urn for r in m.resources) == [
        "urn:pulumi:dev::webapp::aws:s3/bucket:Bucket::assets",
        "urn:pulumi:dev::webapp::aws:s3/bucket:Bucket::mirror",
        "urn:pulumi:dev::webapp::aws:s3/bucketPolicy:BucketPolicy::assets-policy",
        "urn:pulumi:dev::webapp::aws:sqs/queue:Queue::jobs",
        "urn:pulumi:dev::webapp::kubernetes:apps/v1:Deployment::web",
        "urn:pulumi:dev::webapp::kubernetes:core/v1:ConfigMap::settings",
        "urn:pulumi:dev::webapp::kubernetes:core/v1:ConfigMap::tagged",
    ]
    deployment = by_name(m, "web")
    assert deployment.type == "kubernetes:apps/v1:Deployment"
    assert deployment.custom
    assert deployment.parent is None
    assert deployment.inputs["spec"]["replicas"] == 3
    assert type(deployment.inputs["spec"]["replicas"]) is int
    assert deployment.inputs["spec"]["selector"]["matchLabels"] == {
        "app": "web",
        "tier": "frontend",
    }
    queue = by_name(m, "jobs")
    assert queue.inputs == {"visibilityTimeoutSeconds": 45, "delaySeconds": 0}
    assert by_name(m, "settings").inputs["data"]["ratio"] == "0.5"


def test_computed_values_are_realistic_and_unknowns_marked(synthesized: Synth) -> None:
    m = synthesized("webapp", "dev")
    bucket = by_name(m, "assets").outputs["bucket"]
    assert bucket.startswith("assets-")
    assert by_name(m, "assets").outputs["arn"] == f"arn:aws:s3:::{bucket}"
    url = by_name(m, "jobs").outputs["url"]
    # invented values are marked (placeholders): the account and the random suffix
    assert url.startswith(
        "https://sqs.eu-west-1.amazonaws.com/‹account:123456789012›/jobs-‹random:"
    )
    policy = by_name(m, "assets-policy")
    assert policy.inputs["bucket"] == bucket
    assert f"arn:aws:s3:::{bucket}/*" in policy.inputs["policy"]
    assert policy.outputs == {"id": {"$unknown": True}}
    configmap = by_name(m, "settings")
    assert configmap.outputs["metadata"]["name"].startswith("settings-")
    assert configmap.outputs["id"] == "web/" + configmap.outputs["metadata"]["name"]
    env = by_name(m, "web").inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "QUEUE_URL", "value": url}]
    assert m.outputs == {
        "bucket": bucket,
        "taggedLabel": {"$unknown": True},
        "queueUrl": url,
        "deployment": by_name(m, "web").outputs["metadata"]["name"],
        "configMapId": configmap.outputs["id"],
    }


def test_values_that_depend_on_unknowns_stay_unknown(synthesized: Synth) -> None:
    m = synthesized("webapp", "dev")
    mirror = by_name(m, "mirror")
    assert mirror.inputs == {"bucket": {"$unknown": True}}
    assert mirror.outputs == {"id": {"$unknown": True}}
    tagged = by_name(m, "tagged")
    assert tagged.inputs["metadata"] == {"labels": {"policy": {"$unknown": True}}}
    assert tagged.inputs["data"] == {"mirror": {"$unknown": True}}
    assert tagged.outputs["metadata"]["name"].startswith("tagged-")


def test_dependencies_providers_and_source_positions(synthesized: Synth) -> None:
    m = synthesized("webapp", "dev")
    assets = "urn:pulumi:dev::webapp::aws:s3/bucket:Bucket::assets"
    policy = by_name(m, "assets-policy")
    assert policy.dependencies == (assets,)
    assert policy.property_dependencies == {"bucket": (assets,), "policy": (assets,)}
    assert policy.provider is not None
    assert policy.provider.startswith("urn:pulumi:dev::webapp::pulumi:providers:aws::default_7_")
    assert by_name(m, "web").provider.startswith(  # type: ignore[union-attr]
        "urn:pulumi:dev::webapp::pulumi:providers:kubernetes::default_4_"
    )
    main = PROGRAMS / "webapp" / "__main__.py"
    assert by_name(m, "assets").source_position == f"__main__.py:{line_of(main, 'assets = ')}"
    assert by_name(m, "web").source_position == f"__main__.py:{line_of(main, 'deployment = ')}"


def test_byte_identical_across_runs(synthesized: Synth) -> None:
    again = synth(program("platform"), "prod", repo_root=PROGRAMS, digest_key=TEST_KEY)
    assert again.to_json() == synthesized("platform", "prod").to_json()
    assert Manifest.from_json(again.to_json()) == again


def test_config_file_overrides_the_stack_file(tmp_path: Path) -> None:
    config = tmp_path / "Pulumi.pr-7.yaml"
    config.write_text("config:\n  webapp:replicas: 5\n  webapp:labels: {tier: preview}\n")
    m = synth(
        program("webapp"), "pr-7", repo_root=PROGRAMS, digest_key=TEST_KEY, config_file=config
    )
    assert m.stack == "pr-7"
    assert m.environment is None
    assert by_name(m, "web").inputs["spec"]["replicas"] == 5
    assert by_name(m, "web").urn == "urn:pulumi:pr-7::webapp::kubernetes:apps/v1:Deployment::web"


# ---- components, aliases, options ----------------------------------------------------


def test_components_nested_three_deep(synthesized: Synth) -> None:
    m = synthesized("platform", "prod")
    cluster = "urn:pulumi:prod::platform::acme:cluster:Cluster::core"
    group = "urn:pulumi:prod::platform::acme:cluster:Cluster$acme:cluster:NodeGroup::core-workers"
    node = (
        "urn:pulumi:prod::platform::acme:cluster:Cluster$acme:cluster:NodeGroup"
        "$acme:cluster:Node::core-workers-node1"
    )
    queue = (
        "urn:pulumi:prod::platform::acme:cluster:Cluster$acme:cluster:NodeGroup"
        "$acme:cluster:Node$aws:sqs/queue:Queue::core-workers-node1-queue"
    )
    resources = m.by_urn()
    assert resources[cluster].parent is None
    assert not resources[cluster].custom
    assert resources[group].parent == cluster
    assert resources[node].parent == group
    assert resources[queue].parent == node
    assert resources[queue].inputs == {"messageRetentionSeconds": 7200}
    assert resources[group].outputs == {"count": 3}
    assert resources[node].outputs["queueArn"].startswith("arn:aws:sqs:us-east-1:")
    cluster_py = PROGRAMS / "platform" / "src" / "cluster.py"
    assert resources[queue].source_position == (
        f"src/cluster.py:{line_of(cluster_py, 'self.queue = ')}"
    )


def test_explicit_provider_and_its_region(synthesized: Synth) -> None:
    m = synthesized("platform", "prod")
    provider = by_name(m, "east")
    assert provider.type == "pulumi:providers:aws"
    assert provider.inputs["region"] == "us-east-1"
    main = PROGRAMS / "platform" / "src" / "__main__.py"
    assert provider.source_position == f"src/__main__.py:{line_of(main, 'east = ')}"
    queue = by_name(m, "core-workers-node0-queue")
    assert queue.provider == f"{provider.urn}::{provider.outputs['id']}"
    assert queue.outputs["arn"].startswith("arn:aws:sqs:us-east-1:")
    assert by_name(m, "logs").outputs["region"] == "us-west-2"


def test_aliases_become_engine_urns_and_are_inherited(synthesized: Synth) -> None:
    m = synthesized("platform", "prod")
    assert "urn:pulumi:prod::platform::aws:s3/bucket:Bucket::old-logs" in (
        by_name(m, "logs").options.aliases
    )
    assert by_name(m, "core").options.aliases == (
        "urn:pulumi:prod::platform::acme:cluster:Cluster::core-old",
    )
    assert by_name(m, "core-workers-node0-queue").options.aliases == (
        "urn:pulumi:prod::platform::acme:cluster:Cluster$acme:cluster:NodeGroup"
        "$acme:cluster:Node$aws:sqs/queue:Queue::core-old-workers-node0-queue",
    )


def test_resource_options(synthesized: Synth) -> None:
    m = synthesized("platform", "prod")
    logs = by_name(m, "logs").options
    assert logs.protect
    assert logs.retain_on_delete
    assert logs.delete_before_replace
    assert logs.ignore_changes == ("tags",)
    assert logs.replace_on_changes == ("bucket",)
    assert "bucketDomainName" in logs.additional_secret_outputs
    assert by_name(m, "legacy").options.import_id == "legacy-bucket"
    assert not by_name(m, "legacy").options.protect


def test_stack_outputs_keep_ints_and_floats(synthesized: Synth) -> None:
    outputs = synthesized("platform", "prod").outputs
    assert outputs["size"] == 3
    assert type(outputs["size"]) is int
    assert outputs["ratio"] == 0.25
    assert len(outputs["nodeNames"]) == 3


# ---- invokes and stack references ----------------------------------------------------


def test_invokes_from_builtins_and_offline_answers(synthesized: Synth) -> None:
    services = synthesized("services", "dev")
    instance = next(r for r in services.resources if r.type == "aws:ec2/instance:Instance")
    assert instance.inputs["tags"]["account"] == "‹account:123456789012›"
    assert instance.inputs["tags"]["region"] == "eu-central-1"
    assert instance.inputs["vpcSecurityGroupIds"] == ["sg-0default"]
    assert instance.inputs["ami"].startswith("ami-")
    assert services.outputs["azs"] == ('["eu-central-1a", "eu-central-1b", "eu-central-1c"]')


def test_stack_reference_to_a_program_in_the_repository(synthesized: Synth) -> None:
    services = synthesized("services", "dev")
    network = synthesized("network", "dev")
    subnet = next(r for r in services.resources if r.type == "aws:ec2/subnet:Subnet")
    assert subnet.inputs["vpcId"] == network.outputs["vpcId"]
    assert subnet.inputs["vpcId"].startswith("vpc-")
    ref = by_name(services, "organization/network/dev")
    assert ref.type == "pulumi:pulumi:StackReference"
    assert ref.outputs["outputs"] == network.outputs
    instance = next(r for r in services.resources if r.type == "aws:ec2/instance:Instance")
    assert "$secret" in instance.inputs["userData"]  # from the referenced secret output
    assert instance.inputs["tags"]["zone"] == "Z0SHARED"  # answered in offline.yaml


def test_stack_reference_outside_the_repository_needs_an_answer() -> None:
    services = program("services")
    with pytest.raises(StackflowError) as info:
        synth(services, "dev", repo_root=services.dir, digest_key=TEST_KEY)
    assert info.value.message == (
        "synthesizing stack dev: stack reference organization/network/dev is not a stack of "
        "a Python project in this repository and has no offline answer; add its outputs to "
        "offline.yaml (stackReferences: {organization/network/dev: {OUTPUT: VALUE}})"
    )


def test_invoke_without_answer_stops_with_the_token_and_the_file() -> None:
    with pytest.raises(StackflowError) as info:
        synth(program("missing_invoke"), "dev", repo_root=PROGRAMS, digest_key=TEST_KEY)
    assert not isinstance(info.value, SynthError)
    assert info.value.message == (
        "synthesizing stack dev: 1 lookup(s) have no offline answer "
        "(aws:ec2/getVpcEndpoint:getVpcEndpoint); add each with the values the program reads "
        "to missing_invoke/offline.yaml, e.g. {invokes: {'aws:ec2/getVpcEndpoint:getVpcEndpoint':"
        " [{args: {serviceName: com.amazonaws.s3}, result: {}}]}} "
        "(`stackflow offline init --stack dev` writes them for you)"
    )


def test_stack_reference_cycle_is_an_error(tmp_path: Path) -> None:
    for name, other in (("ping", "pong"), ("pong", "ping")):
        dir = tmp_path / name
        dir.mkdir()
        (dir / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
        (dir / "Pulumi.dev.yaml").write_text("config: {}\n")
        (dir / "__main__.py").write_text(
            "import pulumi\n"
            f"ref = pulumi.StackReference('{other}/dev')\n"
            "pulumi.export('x', ref.get_output('x'))\n"
        )
    with pytest.raises(
        StackflowError,
        match=r"stack reference cycle ping/dev -> pong/dev -> "
        r"ping/dev; break it",
    ):
        synth(load_project(tmp_path / "ping"), "dev", repo_root=tmp_path, digest_key=TEST_KEY)


# ---- failures ------------------------------------------------------------------------


def test_a_failing_program_reports_its_own_frames() -> None:
    with pytest.raises(SynthError) as info:
        synth(program("broken"), "dev", repo_root=PROGRAMS, digest_key=TEST_KEY)
    err = info.value
    assert err.message == (
        "synthesizing stack dev: the program of broken failed: ValueError: no bucket name is "
        "defined for stack 'dev'; fix the program where its frames point"
    )
    helpers = PROGRAMS / "broken" / "helpers.py"
    main = PROGRAMS / "broken" / "__main__.py"
    lines = err.detail.splitlines()
    assert lines[0] == "ValueError: no bucket name is defined for stack 'dev'"
    assert lines[1].startswith(f"  at broken/__main__.py:{line_of(main, 'bucket_name(')} in ")
    assert lines[2].startswith(
        f"  at broken/helpers.py:{line_of(helpers, 'raise ValueError')} in bucket_name: raise"
    )
    assert len(lines) == 3  # no frame of runpy, the SDK or stackflow


def test_base_revision_code_comes_from_its_own_checkout(tmp_path: Path) -> None:
    """A program's local packages load from the synthesized checkout (not another one)."""
    copy = tmp_path / "platform"
    shutil.copytree(PROGRAMS / "platform", copy)
    cluster = copy / "src" / "cluster.py"
    cluster.write_text(cluster.read_text().replace("3600 * (index + 1)", "60"))
    m = synth(load_project(copy), "prod", repo_root=tmp_path, digest_key=TEST_KEY)
    assert by_name(m, "core-workers-node2-queue").inputs == {"messageRetentionSeconds": 60}
