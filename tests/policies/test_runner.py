"""The in-process runner: config, levels, unknowns, secrets, not_applicable, errors."""

from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest

from stackflow.errors import StackflowError
from stackflow.plan.manifest import ResourceOptions
from stackflow.plan.model import Level
from stackflow.plan.values import secret, unknown
from stackflow.policy import config_for, effective_config, evaluate, list_policies, load_pack
from tests.policies.conftest import PACK, manifest, of, res, run

BUCKET = "aws:s3/bucket:Bucket"
RDS = "aws:rds/instance:Instance"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def pod(**container: object) -> dict[str, object]:
    return {"spec": {"template": {"spec": {"containers": [container]}}}}


def write_config(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_unknown_value_is_an_advisory_note_not_a_crash() -> None:
    db = res(RDS, "db", {"storageEncrypted": unknown(), "publiclyAccessible": False})
    notes = of(run(db), "rds-storage-encrypted")
    assert [(f.level, f.urn) for f in notes] == [(Level.ADVISORY, db.urn)]
    assert "can't run policy 'rds-storage-encrypted'" in notes[0].message
    assert ".storageEncrypted is known only after deploy" in notes[0].message
    # Other rules on the same resource still run.
    assert of(run(db), "rds-deletion-protection")[0].level is Level.MANDATORY


def test_secret_is_never_shown_to_a_rule_or_in_a_finding() -> None:
    digest = "d" * 64
    policy = res("aws:iam/policy:Policy", "p", {"policy": secret(digest)})
    findings = run(policy)
    note = of(findings, "iam-no-wildcard-admin")
    assert note
    assert note[0].level is Level.ADVISORY
    assert "secret value at .policy is not visible" in note[0].message
    assert all(digest not in f.message for f in findings)


def test_unknown_nested_in_a_list_is_reported_with_its_path() -> None:
    sg = res(
        "aws:ec2/securityGroup:SecurityGroup",
        "sg",
        {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": unknown()}]},
    )
    notes = of(run(sg), "ec2-no-open-admin-ingress")
    assert notes[0].level is Level.ADVISORY
    assert ".ingress.0.cidrBlocks" in notes[0].message


def test_stack_rule_uses_property_dependencies_when_ids_are_unknown() -> None:
    bucket = res(BUCKET, "b", {"bucket": unknown()})
    sse = res(
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        "sse",
        {
            "bucket": unknown(),
            "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}],
        },
        prop_deps={"bucket": [bucket]},
    )
    assert of(run(bucket, sse), "s3-bucket-encryption") == []


def test_not_applicable_gives_no_finding() -> None:
    key = res("aws:kms/key:Key", "k", {"keySpec": "ECC_NIST_P256"})
    assert of(run(key), "kms-key-rotation") == []


def test_disabled_in_the_kind_means_no_finding() -> None:
    bucket = res(BUCKET, "b", {})
    assert of(run(bucket, kind="ephemeral"), "s3-bucket-versioning") == []
    assert of(run(bucket, kind="prod"), "s3-bucket-versioning")


def test_no_kind_gets_the_pack_defaults() -> None:
    bucket = res(BUCKET, "b", {})
    findings = run(bucket, kind=None)
    assert of(findings, "s3-bucket-versioning")[0].level is Level.ADVISORY
    assert of(findings, "s3-bucket-encryption")[0].level is Level.MANDATORY


def test_config_all_then_policy_entry_then_knobs(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        {
            "all": "advisory",
            "rds-backup-retention": {"enforcementLevel": "mandatory", "minimumDays": 30},
            "s3-bucket-encryption": "disabled",
        },
    )
    config = effective_config(PACK, path)
    assert config["rds-storage-encrypted"].level is Level.ADVISORY
    assert config["rds-backup-retention"].level is Level.MANDATORY
    assert config["rds-backup-retention"].properties == {"minimumDays": 30.0}
    assert config["s3-bucket-encryption"].level is Level.DISABLED
    # Defaults from the schema fill knobs the file does not set; numbers arrive as floats.
    assert config["ec2-no-open-admin-ingress"].properties == {"adminPorts": [22.0, 3389.0]}
    db = res(RDS, "db", {"backupRetentionPeriod": 14})
    findings = run(db, config_file=path)
    assert of(findings, "rds-backup-retention")[0].level is Level.MANDATORY
    assert "at least 30 days" in of(findings, "rds-backup-retention")[0].message


def test_config_file_overrides_the_environment_kind(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"s3-bucket-versioning": "mandatory"})
    bucket = res(BUCKET, "b", {})
    findings = run(bucket, kind="ephemeral", config_file=path)
    assert of(findings, "s3-bucket-versioning")[0].level is Level.MANDATORY


def test_remediate_reports_as_mandatory(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"rds-deletion-protection": "remediate"})
    findings = run(res(RDS, "db", {}), config_file=path)
    assert of(findings, "rds-deletion-protection")[0].level is Level.MANDATORY


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"s3-bucket-encrypton": "mandatory"}, "'s3-bucket-encrypton' is not a policy"),
        ({"all": "strict"}, "enforcement level 'strict' is not one of"),
        (
            {"rds-backup-retention": {"minimumDay": 3}},
            "rds-backup-retention.minimumDay is not a setting of policy "
            "'rds-backup-retention'; its settings: minimumDays",
        ),
        (
            {"s3-bucket-encryption": {"algorithm": "AES256"}},
            "its settings: none (only enforcementLevel)",
        ),
        (
            # Of several bad settings, the first in key order is named.
            {"allowed-instance-classes": {"instanceTypes": [""], "dbInstanceClasses": [""]}},
            "allowed-instance-classes.dbInstanceClasses.0: ''",
        ),
        (
            {"rds-backup-retention": {"minimumDays": "seven"}},
            "rds-backup-retention.minimumDays: 'seven'",
        ),
        (
            {"aws-required-tags": {"requiredTags": ["owner", 3]}},
            "aws-required-tags.requiredTags.1: 3",
        ),
        ({"max-replicas": 5}, "'max-replicas' is 5; it must be a level string or an object"),
        ({"all": {"maxReplicas": 2}}, "'all' takes only an enforcement level"),
        (["mandatory"], "the document is list"),
    ],
)
def test_bad_config_names_the_policy_and_key(tmp_path: Path, data: object, expected: str) -> None:
    path = write_config(tmp_path, data)
    with pytest.raises(StackflowError) as err:
        evaluate(manifest(), pack_dir=PACK, environment=None, config_file=path)
    assert expected in err.value.message
    assert str(path) in err.value.message


def test_config_for_picks_the_kind_file() -> None:
    assert config_for(PACK, None) is None
    assert config_for(PACK, "prod") == PACK / "config" / "prod.json"
    with pytest.raises(StackflowError, match="environment kind 'qa' has no"):
        config_for(PACK, "qa")


def test_every_config_file_is_valid() -> None:
    for path in sorted((PACK / "config").glob("*.json")):
        effective_config(PACK, path)


def test_findings_are_sorted_mandatory_first_and_deterministic() -> None:
    resources = [
        res(BUCKET, "b", {"acl": "public-read"}),
        res(RDS, "a", {"storageEncrypted": True}),
    ]
    first = run(*resources, kind="dev")
    assert first == run(*reversed(resources), kind="dev")
    levels = [f.level for f in first]
    assert levels == sorted(levels, key=lambda level: level is not Level.MANDATORY)
    assert {f.pack for f in first} == {"stackflow"}


def _pack(tmp_path: Path, body: str) -> Path:
    pack = tmp_path / "pack"
    (pack / "rules").mkdir(parents=True)
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 2.0.0\n")
    (pack / "rules" / "__init__.py").write_text(textwrap.dedent(body))
    return pack


def test_a_crashing_rule_is_an_error_naming_it(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path,
        """
        from pulumi_policy import ResourceValidationPolicy

        def boom(args, report):
            raise KeyError("spec")

        POLICIES = [ResourceValidationPolicy(name="boom", description="d", validate=boom)]
        """,
    )
    with pytest.raises(StackflowError, match=r"evaluating policy 'boom' on urn:.*KeyError"):
        evaluate(manifest(res(BUCKET, "b")), pack_dir=pack, environment=None)


def test_async_rules_and_stack_reports_on_other_resources(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path,
        """
        from pulumi_policy import EnforcementLevel, StackValidationPolicy

        async def check(args, report):
            for r in args.resources:
                if r.parent is not None:
                    report(f"{r.name} has parent {r.parent.name}", r.urn)

        POLICIES = [StackValidationPolicy(
            name="parents", description="d", validate=check,
            enforcement_level=EnforcementLevel.MANDATORY)]
        PACK_NAME = "custom"
        """,
    )
    parent = res("pkg:index:Site", "site")
    child = res(BUCKET, "b", parent=parent)
    findings = evaluate(manifest(parent, child), pack_dir=pack, environment=None)
    assert [(f.policy, f.urn, f.message, f.pack) for f in findings] == [
        ("parents", child.urn, "b has parent site", "custom")
    ]
    assert load_pack(pack).version == "2.0.0"


def test_loading_the_pack_neither_starts_the_analyzer_nor_touches_sys_path() -> None:
    before = list(sys.path)
    pack = load_pack(PACK)
    assert sys.path == before
    assert "rules" not in sys.modules
    assert len(pack.policies) >= 20
    assert all(p.name == p.name.lower() and " " not in p.name for p in pack.policies)
    assert all(p.description and p.remediation_steps for p in pack.policies)


def test_missing_pack_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StackflowError, match=r"PulumiPolicy\.yaml or rules/__init__\.py"):
        load_pack(tmp_path)


def test_stack_rule_matches_by_value_when_no_dependency_is_recorded() -> None:
    """After deploy (or for a bucket named literally) the engine may give values, not
    property dependencies: the bucket's name then links the two."""
    bucket = res(BUCKET, "b", {"bucket": "my-logs"})
    sse = res(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "sse",
        {
            "bucket": "my-logs",
            "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}],
        },
    )
    other = res(BUCKET, "c", {"bucket": "other"})
    findings = of(run(bucket, other, sse), "s3-bucket-encryption")
    assert [f.urn for f in findings] == [other.urn]


def test_findings_of_one_policy_come_in_urn_order() -> None:
    # The Deployment's URN sorts first, its message ('z') last: the URN decides.
    deployment = res(DEPLOYMENT, "a-web", pod(name="z", image="app:1"))
    pod_resource = res(
        "kubernetes:core/v1:Pod",
        "z-debug",
        {"spec": {"containers": [{"name": "a", "image": "app:1"}]}},
    )
    findings = of(run(pod_resource, deployment), "k8s-run-as-non-root")
    assert [f.urn for f in findings] == [deployment.urn, pod_resource.urn]


def test_the_pack_is_loaded_once_and_what_it_hands_out_cannot_change() -> None:
    pack = load_pack(PACK)
    assert load_pack(PACK) is pack
    config = effective_config(PACK, None)["max-replicas"]
    listing = list_policies(PACK)
    for frozen, field in (
        (pack, "name"),
        (pack.info()[0], "name"),
        (config, "level"),
        (listing, "kinds"),
    ):
        with pytest.raises(FrozenInstanceError):
            setattr(frozen, field, None)


# (files of the pack, the error loading it must give)
BAD_PACKS: list[tuple[dict[str, str], str]] = [
    ({"rules/__init__.py": "POLICIES = []\n"}, "PulumiPolicy.yaml or rules/__init__.py is missing"),
    (
        {"PulumiPolicy.yaml": "runtime: python\n"},
        "PulumiPolicy.yaml or rules/__init__.py is missing",
    ),
    (
        {"PulumiPolicy.yaml": "- runtime\n", "rules/__init__.py": "POLICIES = []\n"},
        "the document is ['runtime']; it must be a mapping",
    ),
    (
        {"PulumiPolicy.yaml": "runtime: python\n", "rules/__init__.py": "POLICY = []\n"},
        "rules.POLICIES is not a list of pulumi_policy policies",
    ),
    (
        {"PulumiPolicy.yaml": "runtime: python\n", "rules/__init__.py": "POLICIES = ['s3']\n"},
        "rules.POLICIES is not a list of pulumi_policy policies",
    ),
    (
        {
            "PulumiPolicy.yaml": "runtime: python\n",
            "rules/__init__.py": textwrap.dedent(
                """
                from pulumi_policy import ResourceValidationPolicy

                def ok(args, report):
                    pass

                POLICIES = [
                    ResourceValidationPolicy(name=name, description="d", validate=ok)
                    for name in ("twice", "once", "twice")
                ]
                """
            ),
        },
        "policy names ['twice'] are used more than once",
    ),
    (
        {
            "PulumiPolicy.yaml": "runtime: python\n",
            "rules/__init__.py": "raise RuntimeError('no')\n",
        },
        "rules: RuntimeError: no; fix the rule module",
    ),
]


@pytest.mark.parametrize(("files", "expected"), BAD_PACKS)
def test_a_broken_pack_is_an_error_saying_what_is_wrong(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(StackflowError) as err:
        load_pack(tmp_path)
    assert expected in err.value.message


# (the config file's text, or None for no file; the error reading it must give)
BAD_CONFIG_FILES: list[tuple[str | None, str]] = [
    (None, "No such file or directory; check the path"),
    ("{not json", "not valid JSON"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_CONFIG_FILES)
def test_an_unreadable_config_file_is_an_error(
    tmp_path: Path, text: str | None, expected: str
) -> None:
    path = tmp_path / "policy.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(StackflowError, match=f"reading policy config {path}") as err:
        evaluate(manifest(), pack_dir=PACK, environment=None, config_file=path)
    assert expected in err.value.message


def test_an_empty_config_file_means_the_pack_defaults(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(" \n", encoding="utf-8")
    assert effective_config(PACK, path) == effective_config(PACK, None)


def test_a_kind_without_a_config_names_the_kinds_that_have_one(tmp_path: Path) -> None:
    with pytest.raises(StackflowError, match=r"\(dev, staging, prod, ephemeral\)"):
        config_for(PACK, "qa")
    with pytest.raises(StackflowError, match=r"\(none\)"):
        config_for(tmp_path, "qa")


def _custom_pack(tmp_path: Path, policy: str, schema: str = "None") -> Path:
    """A pack of one resource policy whose validate body is ``policy``."""
    return _pack(
        tmp_path,
        f"""
        from pulumi_policy import PolicyConfigSchema, ResourceValidationPolicy

        def check(args, report):
            {policy}

        POLICIES = [ResourceValidationPolicy(
            name="probe", description="d", validate=check, tags=["network", "cis"],
            config_schema={schema})]
        """,
    )


def test_a_rule_gets_its_settings_as_protobuf_delivers_them(tmp_path: Path) -> None:
    """Numbers as floats, at any depth; booleans stay booleans."""
    pack = _custom_pack(
        tmp_path,
        "report(repr(sorted(args.get_config().items())))",
        'PolicyConfigSchema(properties={"limit": {"type": "integer"}, '
        '"strict": {"type": "boolean"}, "names": {"type": "array"}, '
        '"nested": {"type": "object"}})',
    )
    config = write_config(
        tmp_path, {"probe": {"limit": 3, "strict": True, "names": ["a", 2], "nested": {"n": 1}}}
    )
    [finding] = evaluate(
        manifest(res(BUCKET, "b")), pack_dir=pack, environment=None, config_file=config
    )
    assert finding.message == repr(
        [("limit", 3.0), ("names", ["a", 2.0]), ("nested", {"n": 1.0}), ("strict", True)]
    )


def test_a_rule_sees_the_resource_options_as_the_engine_sends_them(tmp_path: Path) -> None:
    pack = _custom_pack(
        tmp_path,
        "o = args.opts; t = o.custom_timeouts; report(repr((o.protect, o.ignore_changes, "
        "o.delete_before_replace, o.aliases, (t.create_seconds, t.update_seconds, "
        "t.delete_seconds), o.additional_secret_outputs, o.parent)))",
    )
    parent = res("pkg:index:Site", "site")
    options = ResourceOptions(
        protect=True,
        ignore_changes=("tags",),
        delete_before_replace=True,
        aliases=("urn:pulumi:test::proj::aws:s3/bucket:Bucket::old",),
        additional_secret_outputs=("arn",),
    )
    replacing = replace(res(BUCKET, "b", parent=parent), options=options)
    plain = res(BUCKET, "c")
    findings = {
        f.urn: f.message
        for f in evaluate(manifest(parent, replacing, plain), pack_dir=pack, environment=None)
    }
    assert findings[replacing.urn] == repr(
        (True, ["tags"], True, list(options.aliases), (0, 0, 0), ["arn"], parent.urn)
    )
    # delete_before_replace not set is None, as the engine sends it.
    assert findings[plain.urn] == repr((False, [], None, [], (0, 0, 0), [], None))


def test_a_policy_is_listed_under_its_first_tag(tmp_path: Path) -> None:
    pack = _custom_pack(tmp_path, "pass")
    assert [info.domain for info in load_pack(pack).info()] == ["network"]
    untagged = _pack(
        tmp_path / "untagged",
        """
        from pulumi_policy import ResourceValidationPolicy

        POLICIES = [ResourceValidationPolicy(name="p", description="d", validate=lambda a, r: None)]
        """,
    )
    assert [info.domain for info in load_pack(untagged).info()] == ["-"]
