"""The offline diff: what a reviewer sees for each kind of change, and its invariants."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackflow.plan import DiffKind, Manifest, Op, Plan, Resource, ResourceOptions
from stackflow.plan import values as v
from stackflow.plan.diff import diff_manifests, format_path, parse_path

from .builders import PROJECT, STACK, manifest, res, urn

BUCKET = "aws:s3/bucket:Bucket"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def paths(change: Any) -> list[str]:
    return [d.path for d in change.diffs]


def test_identical_manifests_plan_nothing_but_count_the_same() -> None:
    m = manifest(res(BUCKET, "logs", {"bucket": "logs"}), res(BUCKET, "data", {"bucket": "d"}))
    plan = diff_manifests(m, m)
    assert plan.changes == ()
    assert plan.outputs == ()
    assert plan.counts["same"] == 2
    assert not plan.has_changes


def test_no_base_creates_everything_with_top_level_inputs() -> None:
    plan = diff_manifests(
        None, manifest(res(BUCKET, "logs", {"bucket": "logs", "tags": {"a": "1"}}))
    )
    (change,) = plan.changes
    assert change.op is Op.CREATE
    assert paths(change) == ["bucket", "tags"]
    assert {d.kind for d in change.diffs} == {DiffKind.ADD}
    assert plan.counts["create"] == 1


def test_an_import_id_makes_a_new_resource_an_import() -> None:
    plan = diff_manifests(None, manifest(res(BUCKET, "old", {"bucket": "x"}, import_id="x")))
    assert plan.changes[0].op is Op.IMPORT


def test_update_lists_each_changed_leaf_with_old_and_new() -> None:
    base = manifest(res(DEPLOYMENT, "web", {"spec": {"replicas": 1, "template": {"image": "a:1"}}}))
    head = manifest(res(DEPLOYMENT, "web", {"spec": {"replicas": 3, "template": {"image": "a:1"}}}))
    (change,) = diff_manifests(base, head).changes
    assert change.op is Op.UPDATE
    (d,) = change.diffs
    assert (d.path, d.kind, d.old, d.new, d.replace) == (
        "spec.replicas",
        DiffKind.UPDATE,
        1,
        3,
        False,
    )


def test_paths_index_lists_and_quote_keys_with_dots() -> None:
    base = manifest(
        res(BUCKET, "b", {"tags": {"kubernetes.io/role": "a"}, "rules": [{"days": 1}, {"days": 2}]})
    )
    head = manifest(
        res(
            BUCKET,
            "b",
            {"tags": {"kubernetes.io/role": "b"}, "rules": [{"days": 1}, {"days": 5}, {"days": 9}]},
        )
    )
    (change,) = diff_manifests(base, head).changes
    assert paths(change) == ["rules[1].days", "rules[2]", 'tags["kubernetes.io/role"]']
    assert change.diffs[1].kind is DiffKind.ADD


def test_delete_and_counts() -> None:
    base = manifest(res(BUCKET, "a"), res(BUCKET, "b"))
    plan = diff_manifests(base, manifest(res(BUCKET, "a")))
    assert [(c.name, c.op) for c in plan.changes] == [("b", Op.DELETE)]
    assert plan.counts == {
        "create": 0,
        "update": 0,
        "replace": 0,
        "delete": 1,
        "read": 0,
        "import": 0,
        "same": 1,
    }


def test_a_well_known_create_only_input_replaces() -> None:
    base = manifest(res(BUCKET, "b", {"bucket": "one", "tags": {}}))
    head = manifest(res(BUCKET, "b", {"bucket": "two", "tags": {}}))
    (change,) = diff_manifests(base, head).changes
    assert change.op is Op.REPLACE
    assert change.diffs[0].replace


@pytest.mark.parametrize(
    ("type_", "old", "new"),
    [
        ("kubernetes:core/v1:ConfigMap", {"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}),
        (
            DEPLOYMENT,
            {"spec": {"selector": {"matchLabels": {"app": "a"}}}},
            {"spec": {"selector": {"matchLabels": {"app": "b"}}}},
        ),
        ("aws:rds/instance:Instance", {"engine": "postgres"}, {"engine": "mysql"}),
    ],
)
def test_force_new_table(type_: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    (change,) = diff_manifests(
        manifest(res(type_, "r", old)), manifest(res(type_, "r", new))
    ).changes
    assert change.op is Op.REPLACE


def test_replace_on_changes_option_replaces_and_star_means_any() -> None:
    base = manifest(
        res("x:y:Z", "r", {"size": 1}, replace_on_changes=("size",)),
        res("x:y:Z", "s", {"n": 1}, replace_on_changes=("*",)),
    )
    head = manifest(
        res("x:y:Z", "r", {"size": 2}, replace_on_changes=("size",)),
        res("x:y:Z", "s", {"n": 2}, replace_on_changes=("*",)),
    )
    assert [c.op for c in diff_manifests(base, head).changes] == [Op.REPLACE, Op.REPLACE]


def test_ignore_changes_hides_the_listed_inputs() -> None:
    base = manifest(
        res(DEPLOYMENT, "w", {"spec": {"replicas": 1}}, ignore_changes=("spec.replicas",))
    )
    head = manifest(
        res(DEPLOYMENT, "w", {"spec": {"replicas": 9}}, ignore_changes=("spec.replicas",))
    )
    plan = diff_manifests(base, head)
    assert plan.changes == ()
    assert plan.counts["same"] == 1


def test_an_alias_makes_a_rename_an_update_not_delete_and_create() -> None:
    old_urn = urn(BUCKET, "logs")
    base = manifest(res(BUCKET, "logs", {"acl": "private"}))
    head = manifest(res(BUCKET, "audit-logs", {"acl": "private"}, aliases=(old_urn,)))
    plan = diff_manifests(base, head)
    (change,) = plan.changes
    assert change.op is Op.UPDATE
    assert change.old_urn == old_urn
    assert change.diffs == ()
    assert (plan.counts["delete"], plan.counts["create"]) == (0, 0)


def test_an_alias_does_not_claim_a_resource_that_still_exists() -> None:
    base = manifest(res(BUCKET, "logs"))
    head = manifest(res(BUCKET, "logs"), res(BUCKET, "copy", aliases=(urn(BUCKET, "logs"),)))
    plan = diff_manifests(base, head)
    assert [(c.name, c.op) for c in plan.changes] == [("copy", Op.CREATE)]


def test_secrets_compare_by_digest_and_never_show_the_digest() -> None:
    base = manifest(
        res("x:y:Db", "db", {"password": v.secret("d1"), "user": v.secret("u")}),
        outputs={"pw": v.secret("d1")},
    )
    head = manifest(
        res("x:y:Db", "db", {"password": v.secret("d2"), "user": v.secret("u")}),
        outputs={"pw": v.secret("d2")},
    )
    plan = diff_manifests(base, head)
    (change,) = plan.changes
    assert paths(change) == ["password"]
    assert change.diffs[0].old == change.diffs[0].new == {"$secret": "redacted"}
    text = Plan(stacks=(plan,)).to_json()
    assert "d1" not in text
    assert "d2" not in text
    assert plan.outputs[0].op is Op.UPDATE


def test_an_unknown_new_value_is_a_change_known_after_deploy() -> None:
    base = manifest(res("x:y:P", "p", {"arn": "arn:aws:s3:::a"}))
    head = manifest(res("x:y:P", "p", {"arn": v.unknown()}))
    (change,) = diff_manifests(base, head).changes
    assert v.is_unknown(change.diffs[0].new)


def test_unknown_on_both_sides_is_same_unless_its_dependency_is_new() -> None:
    bucket_urn = urn(BUCKET, "b")

    def policy() -> Resource:
        return res(
            "aws:s3/bucketPolicy:BucketPolicy",
            "p",
            {"bucket": v.unknown()},
            property_dependencies={"bucket": (bucket_urn,)},
        )

    same = diff_manifests(
        manifest(res(BUCKET, "b", {"bucket": "x"}), policy()),
        manifest(res(BUCKET, "b", {"bucket": "x", "tags": {"a": "b"}}), policy()),
    )
    assert [c.name for c in same.changes] == ["b"]

    replaced = diff_manifests(
        manifest(res(BUCKET, "b", {"bucket": "x"}), policy()),
        manifest(res(BUCKET, "b", {"bucket": "y"}), policy()),
    )
    # a bucket policy's `bucket` is create-only (ForceNew upstream): it is replaced too
    assert [(c.name, c.op) for c in replaced.changes] == [("b", Op.REPLACE), ("p", Op.REPLACE)]
    policy_change = next(c for c in replaced.changes if c.name == "p")
    assert paths(policy_change) == ["bucket"]


def test_a_replacement_cascades_through_create_only_inputs() -> None:
    vpc = urn("aws:ec2/vpc:Vpc", "v")
    subnet = res(
        "aws:ec2/subnet:Subnet",
        "s",
        {"vpcId": v.unknown()},
        property_dependencies={"vpcId": (vpc,)},
    )
    base = manifest(res("aws:ec2/vpc:Vpc", "v", {"cidrBlock": "10.0.0.0/16"}), subnet)
    head = manifest(res("aws:ec2/vpc:Vpc", "v", {"cidrBlock": "10.1.0.0/16"}), subnet)
    ops = {c.name: c.op for c in diff_manifests(base, head).changes}
    assert ops == {"v": Op.REPLACE, "s": Op.REPLACE}


def test_parent_dependencies_and_default_provider_version_are_not_changes() -> None:
    p1 = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:aws::default_7_0_0::id1"
    p2 = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:aws::default_7_1_0::id2"
    base = manifest(res(BUCKET, "b", parent="urn:a", provider=p1))
    head = manifest(res(BUCKET, "b", parent="urn:b", provider=p2))
    assert diff_manifests(base, head).changes == ()


def test_an_explicit_provider_and_protect_changes_show_as_pseudo_paths() -> None:
    east = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:aws::east::id"
    west = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:aws::west::id"
    base = manifest(res(BUCKET, "b", {"bucket": "b"}, provider=east, protect=True))
    head = manifest(res(BUCKET, "b", {"bucket": "b"}, provider=west, protect=False))
    (change,) = diff_manifests(base, head).changes
    assert paths(change) == ["[protect]", "[provider]"]


def test_stack_outputs_appear_change_and_go() -> None:
    base = manifest(outputs={"url": "a", "gone": 1, "same": True})
    head = manifest(outputs={"url": "b", "new": [1], "same": True})
    plan = diff_manifests(base, head)
    assert [(o.name, o.op) for o in plan.outputs] == [
        ("gone", Op.DELETE),
        ("new", Op.CREATE),
        ("url", Op.UPDATE),
    ]


def test_numbers_compare_as_protobuf_does_and_bools_are_not_numbers() -> None:
    base = manifest(res("x:y:Z", "a", {"n": 1, "flag": True}))
    assert diff_manifests(base, manifest(res("x:y:Z", "a", {"n": 1.0, "flag": True}))).changes == ()
    (change,) = diff_manifests(base, manifest(res("x:y:Z", "a", {"n": 1, "flag": 1}))).changes
    assert paths(change) == ["flag"]


# -- property-based ------------------------------------------------------------------

keys = st.sampled_from(["a", "b", "name", "tags", "k.x", "app/v1"])
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["x", "y"]),
    st.sampled_from([v.unknown(), v.secret("s1"), v.secret("s2")]),
)
value = st.recursive(
    leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=6,
)
types = st.sampled_from(["x:y:A", BUCKET, DEPLOYMENT])


@st.composite
def manifests(draw: st.DrawFn) -> Manifest:
    names = draw(st.lists(st.sampled_from(["r1", "r2", "r3", "r4"]), unique=True, max_size=4))
    resources = [
        Resource(
            urn=urn(t := draw(types), n),
            type=t,
            name=n,
            custom=True,
            inputs=draw(st.dictionaries(keys, value, max_size=3)),
            options=ResourceOptions(protect=draw(st.booleans())),
        )
        for n in names
    ]
    return manifest(*resources, outputs=draw(st.dictionaries(keys, value, max_size=2)))


@given(manifests())
def test_diff_of_a_manifest_with_itself_is_empty(m: Manifest) -> None:
    plan = diff_manifests(m, m)
    assert not plan.has_changes
    assert plan.counts["same"] == len(m.resources)


@given(manifests(), manifests())
def test_creates_one_way_are_deletes_the_other(a: Manifest, b: Manifest) -> None:
    forward, backward = diff_manifests(a, b), diff_manifests(b, a)
    created = {c.urn for c in forward.changes if c.op is Op.CREATE}
    deleted = {c.urn for c in backward.changes if c.op is Op.DELETE}
    assert created == deleted
    changed = {c.urn for c in forward.changes if c.op in (Op.UPDATE, Op.REPLACE)}
    assert changed == {c.urn for c in backward.changes if c.op in (Op.UPDATE, Op.REPLACE)}


@given(manifests(), manifests())
def test_counts_add_up_and_order_is_by_urn(a: Manifest, b: Manifest) -> None:
    plan = diff_manifests(a, b)
    head_count = sum(plan.counts[op] for op in ("create", "update", "replace", "same", "import"))
    assert head_count == len(b.resources)
    assert [c.urn for c in plan.changes] == sorted(c.urn for c in plan.changes)
    assert diff_manifests(a, b) == plan


@given(manifests(), manifests())
def test_no_secret_digest_reaches_a_plan(a: Manifest, b: Manifest) -> None:
    text = Plan(stacks=(diff_manifests(a, b),)).to_json()
    assert "s1" not in text
    assert "s2" not in text


segments = st.lists(
    st.one_of(st.integers(0, 20), st.text(min_size=1, max_size=6)), min_size=1, max_size=4
).filter(lambda s: not isinstance(s[0], int))


@given(segments)
def test_property_paths_round_trip(path: list[str | int]) -> None:
    assert parse_path(format_path(path)) == tuple(path)


def test_property_path_format() -> None:
    assert (
        format_path(("metadata", "labels", "app.kubernetes.io/name"))
        == 'metadata.labels["app.kubernetes.io/name"]'
    )
    assert format_path(("containers", 0, "image")) == "containers[0].image"
    with pytest.raises(ValueError, match="not a property path"):
        parse_path("a..b")


def test_named_lists_match_by_name_so_an_insertion_is_one_addition() -> None:
    env = [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]
    base = manifest(res(DEPLOYMENT, "w", {"env": env}))
    head = manifest(res(DEPLOYMENT, "w", {"env": [env[0], {"name": "B", "value": "2"}, env[1]]}))
    (change,) = diff_manifests(base, head).changes
    assert [(d.path, d.kind) for d in change.diffs] == [("env[1]", DiffKind.ADD)]
    reordered = manifest(res(DEPLOYMENT, "w", {"env": list(reversed(env))}))
    assert diff_manifests(base, reordered).changes == ()


def test_changes_are_in_tree_order_components_before_children() -> None:
    component = res("my:index:Site", "site", custom=False)
    child = res(
        BUCKET, "site-bucket", {"bucket": "b"}, parents=("my:index:Site",), parent=component.urn
    )
    other = res("aws:iam/role:Role", "role", {"name": "r"})
    plan = diff_manifests(None, manifest(child, other, component))
    assert [c.name for c in plan.changes] == ["role", "site", "site-bucket"]


def _config_and_deployment(level: str, cm_name: str = "web-settings") -> Manifest:
    cm = res(
        "kubernetes:core/v1:ConfigMap",
        "settings",
        {"metadata": {"name": cm_name, "namespace": "team"}, "data": {"LOG_LEVEL": level}},
    )
    spec = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"spec": {"containers": [{"envFrom": [{"configMapRef": {"name": cm_name}}]}]}},
    }
    app = res(
        DEPLOYMENT,
        "app",
        {"metadata": {"name": "web", "namespace": "team"}, "spec": spec},
        property_dependencies={"spec": (cm.urn,), "metadata": ()},
    )
    return manifest(cm, app)


def test_a_named_kubernetes_object_replaced_in_place_replaces_what_depends_on_it() -> None:
    """The real engine (benchmarks/offline_vs_engine.py, case "update") replaced the
    Deployment when the ConfigMap it reads was replaced: a named object keeping its name is
    deleted before its replacement is created, and the engine then re-diffs every dependent
    with the depending inputs unknown; `spec` holds the create-only `spec.selector`."""
    plan = diff_manifests(_config_and_deployment("info"), _config_and_deployment("debug"))
    ops = {c.name: c.op for c in plan.changes}
    assert ops == {"settings": Op.REPLACE, "app": Op.REPLACE}
    (d,) = next(c for c in plan.changes if c.name == "app").diffs
    assert (d.path, d.replace, v.is_unknown(d.new)) == ("spec.selector", True, True)


def test_a_renamed_kubernetes_object_is_created_first_and_leaves_dependents_alone() -> None:
    """A new name: the replacement is created before the old object goes (no delete
    before replace), so the dependent only sees the new name -- an update."""
    base = _config_and_deployment("info")
    head = _config_and_deployment("info", cm_name="web-config")
    ops = {c.name: c.op for c in diff_manifests(base, head).changes}
    assert ops == {"settings": Op.REPLACE, "app": Op.UPDATE}
