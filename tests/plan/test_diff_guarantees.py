"""Diff behaviour a reviewer relies on, each at the case a simpler diff gets wrong:
an alias claimed once, a replacement cascade followed to its end, ``ignoreChanges`` as
the head declares it, a removed named item, ``retainOnDelete`` turned on or off, and
create-only inputs matched when a whole parent value appears."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from stackflow.plan import DiffKind, Op
from stackflow.plan import values as v
from stackflow.plan.diff import diff_manifests, format_path

from .builders import manifest, res, urn

BUCKET = "aws:s3/bucket:Bucket"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
THING = "acme:index:Thing"


def by_name(plan: object) -> dict[str, object]:
    return {c.name: c for c in plan.changes}  # type: ignore[attr-defined]


def test_two_head_resources_cannot_both_continue_one_base_resource() -> None:
    old = urn(BUCKET, "old")
    base = manifest(res(BUCKET, "old", {"bucket": "b"}))
    head = manifest(
        res(BUCKET, "first", {"bucket": "b"}, aliases=(old,)),
        res(BUCKET, "second", {"bucket": "b"}, aliases=(old,)),
    )
    plan = diff_manifests(base, head)
    changes = by_name(plan)
    assert changes["second"].op is Op.CREATE  # type: ignore[attr-defined]
    assert changes["second"].old_urn is None  # type: ignore[attr-defined]
    assert changes["first"].op is Op.UPDATE  # type: ignore[attr-defined]
    assert changes["first"].old_urn == old  # type: ignore[attr-defined]
    assert (plan.counts["update"], plan.counts["create"], plan.counts["delete"]) == (1, 1, 0)


def test_a_replacement_cascade_is_followed_through_every_level() -> None:
    """root is replaced (its name changes); mid takes root's id and replaces on it; leaf
    takes mid's id. leaf sorts before mid, so only a second pass finds it."""
    root_base = res(BUCKET, "m-root", {"bucket": "a"})
    root_head = res(BUCKET, "m-root", {"bucket": "b"})

    def mid() -> object:
        return res(
            THING,
            "z-mid",
            {"source": v.unknown()},
            replace_on_changes=("source",),
            property_dependencies={"source": (root_head.urn,)},
        )

    def leaf() -> object:
        return res(
            THING,
            "a-leaf",
            {"target": v.unknown()},
            property_dependencies={"target": (urn(THING, "z-mid"),)},
        )

    base = manifest(root_base, mid(), leaf())  # type: ignore[arg-type]
    head = manifest(root_head, mid(), leaf())  # type: ignore[arg-type]
    changes = by_name(diff_manifests(base, head))
    assert changes["m-root"].op is Op.REPLACE  # type: ignore[attr-defined]
    assert changes["z-mid"].op is Op.REPLACE  # type: ignore[attr-defined]
    leaf_change = changes["a-leaf"]
    assert leaf_change.op is Op.UPDATE  # type: ignore[attr-defined]
    assert [(d.path, v.is_unknown(d.new)) for d in leaf_change.diffs] == [  # type: ignore[attr-defined]
        ("target", True)
    ]


def test_ignore_changes_is_read_from_the_head() -> None:
    plain = res(BUCKET, "b", {"tags": {"owner": "a"}})
    ignoring = res(BUCKET, "b", {"tags": {"owner": "a"}}, ignore_changes=("tags",))
    changed_plain = res(BUCKET, "b", {"tags": {"owner": "z"}})
    changed_ignoring = res(BUCKET, "b", {"tags": {"owner": "z"}}, ignore_changes=("tags",))
    # The head stops ignoring tags: the change shows.
    (change,) = diff_manifests(manifest(ignoring), manifest(changed_plain)).changes
    assert [d.path for d in change.diffs] == ["tags.owner"]
    # The head starts ignoring tags: the change is hidden, as the engine hides it.
    assert diff_manifests(manifest(plain), manifest(changed_ignoring)).changes == ()


def test_a_removed_item_of_a_named_list_is_reported() -> None:
    def deployment(*names: str) -> object:
        containers = [{"name": n, "image": f"{n}:1"} for n in names]
        return res(DEPLOYMENT, "web", {"spec": {"containers": containers}})

    (change,) = diff_manifests(
        manifest(deployment("app", "sidecar", "proxy")),  # type: ignore[arg-type]
        manifest(deployment("app", "proxy")),  # type: ignore[arg-type]
    ).changes
    assert [(d.path, d.kind, d.old) for d in change.diffs] == [
        ("spec.containers[1]", DiffKind.DELETE, {"name": "sidecar", "image": "sidecar:1"})
    ]


def test_turning_retain_on_delete_on_or_off_is_shown() -> None:
    kept = res(BUCKET, "b", {"bucket": "b"}, retain_on_delete=True)
    plain = res(BUCKET, "b", {"bucket": "b"})
    for before, after in ((plain, kept), (kept, plain)):
        (change,) = diff_manifests(manifest(before), manifest(after)).changes
        assert change.op is Op.UPDATE
        assert [(d.path, d.old, d.new) for d in change.diffs] == [
            ("[retainOnDelete]", before.options.retain_on_delete, after.options.retain_on_delete)
        ]


def test_a_whole_value_appearing_above_a_create_only_input_forces_replacement() -> None:
    """replaceOnChanges names ``settings.engine``; the head adds the whole ``settings``
    mapping, which holds it: the engine replaces, so the plan must say so."""
    base = res(THING, "db", {}, replace_on_changes=("settings.engine",))
    head = res(THING, "db", {"settings": {"engine": "pg"}}, replace_on_changes=("settings.engine",))
    (change,) = diff_manifests(manifest(base), manifest(head)).changes
    assert change.op is Op.REPLACE
    assert [(d.path, d.replace) for d in change.diffs] == [("settings", True)]
    # And below the pattern, as before; a sibling is no replacement.
    sibling = res(
        THING,
        "db",
        {"settings": {"engine": "pg", "size": 2}},
        replace_on_changes=("settings.engine",),
    )
    (change,) = diff_manifests(manifest(head), manifest(sibling)).changes
    assert change.op is Op.UPDATE


def test_an_ignored_input_does_not_hide_the_changes_after_it() -> None:
    """``acl`` is ignored and sorts first; ``bucket`` still changes and must show."""
    before = res(BUCKET, "b", {"acl": "private", "bucket": "a"}, ignore_changes=("acl",))
    after = res(BUCKET, "b", {"acl": "public", "bucket": "b"}, ignore_changes=("acl",))
    (change,) = diff_manifests(manifest(before), manifest(after)).changes
    assert [d.path for d in change.diffs] == ["bucket"]


def test_an_ignored_input_is_not_made_unknown_by_a_replaced_dependency() -> None:
    """The engine keeps an ignored input's old value, so a replaced dependency neither
    makes it "known after deploy" nor, when it is create-only, replaces the dependent."""
    root_base = res(BUCKET, "root", {"bucket": "a"})
    root_head = res(BUCKET, "root", {"bucket": "b"})
    dependent = res(
        THING,
        "dependent",
        {"source": v.unknown()},
        replace_on_changes=("source",),
        ignore_changes=("source",),
        property_dependencies={"source": (root_head.urn,)},
    )
    plan = diff_manifests(manifest(root_base, dependent), manifest(root_head, dependent))
    assert [c.name for c in plan.changes] == ["root"]
    assert plan.counts["same"] == 1


def test_a_delete_before_replace_dependent_keeps_its_other_changes() -> None:
    """root is replaced delete-before-replace; the dependent's create-only ``source``
    depends on it, so the dependent is replaced too, and its own ``size`` change stays."""
    root_base = res(BUCKET, "root", {"bucket": "a"}, delete_before_replace=True)
    root_head = res(BUCKET, "root", {"bucket": "b"}, delete_before_replace=True)

    def dependent(size: int) -> object:
        return res(
            THING,
            "dependent",
            {"size": size, "source": "fixed"},
            replace_on_changes=("source",),
            property_dependencies={"source": (root_head.urn,)},
        )

    base = manifest(root_base, dependent(1))  # type: ignore[arg-type]
    head = manifest(root_head, dependent(2))  # type: ignore[arg-type]
    change = by_name(diff_manifests(base, head))["dependent"]
    assert change.op is Op.REPLACE  # type: ignore[attr-defined]
    assert [(d.path, d.replace, v.is_unknown(d.new)) for d in change.diffs] == [  # type: ignore[attr-defined]
        ("size", False, False),
        ("source", True, True),
    ]


def test_a_created_dependents_nested_input_is_unknown_where_it_carries_a_new_id() -> None:
    """Only ``config.bucketArn`` comes from the new bucket: the rest of ``config`` is
    shown as written."""
    arn = "arn:aws:s3:::fresh-bucket"
    bucket = replace(res(BUCKET, "fresh", {"bucket": "fresh-bucket"}), outputs={"arn": arn})
    user = res(
        THING,
        "user",
        {"config": {"bucketArn": arn, "region": "eu-west-1"}},
        property_dependencies={"config": (bucket.urn,)},
    )
    change = by_name(diff_manifests(None, manifest(bucket, user)))["user"]
    (config,) = change.diffs  # type: ignore[attr-defined]
    assert config.path == "config"
    assert config.new == {"bucketArn": v.unknown(), "region": "eu-west-1"}


def test_computed_strings_are_traced_from_six_characters() -> None:
    """A new resource's output of six characters is traced into its dependents; a
    shorter one (``"us"``, ``"aws"``...) is too common to be."""

    def plan_for(output: str) -> object:
        made = replace(res(BUCKET, "made", {"bucket": "made-bucket"}), outputs={"id": output})
        user = res(THING, "user", {"ref": output}, property_dependencies={"ref": (made.urn,)})
        return by_name(diff_manifests(None, manifest(made, user)))["user"]

    (six,) = plan_for("abcdef").diffs  # type: ignore[attr-defined]
    assert v.is_unknown(six.new)
    (five,) = plan_for("abcde").diffs  # type: ignore[attr-defined]
    assert five.new == "abcde"


def test_inputs_are_listed_before_resource_options() -> None:
    """Turning ``protect`` on is shown, after the input changes of the same resource."""
    before = res(BUCKET, "b", {"tags": {"z": "1"}})
    after = res(BUCKET, "b", {"tags": {"z": "2"}}, protect=True)
    (change,) = diff_manifests(manifest(before), manifest(after)).changes
    assert [(d.path, d.new) for d in change.diffs] == [("tags.z", "2"), ("[protect]", True)]


def test_a_value_that_becomes_an_archive_is_one_update() -> None:
    archive = {v.ARCHIVE_KEY: {"index.py": {v.ASSET_KEY: "digest"}}}
    before = res(THING, "fn", {"code": "inline source"})
    after = res(THING, "fn", {"code": archive})
    for old, new in ((before, after), (after, before)):
        (change,) = diff_manifests(manifest(old), manifest(new)).changes
        assert [(d.path, d.kind) for d in change.diffs] == [("code", DiffKind.UPDATE)]


def test_a_quoted_path_keeps_its_non_ascii_key_readable() -> None:
    assert format_path(("tags", "café")) == 'tags["café"]'


def test_a_dependency_named_twice_does_not_hide_the_others() -> None:
    """``ref`` depends on a replaced bucket, on a component, and on that component's
    child by name as well (so the child is reached twice): the bucket still counts."""
    bucket_base = res(BUCKET, "bucket", {"bucket": "a"})
    bucket_head = res(BUCKET, "bucket", {"bucket": "b"})
    group = res("acme:index:Group", "group", custom=False)
    child = res(THING, "child", {"x": 1}, parent=group.urn)
    user = res(
        THING,
        "user",
        {"ref": v.unknown()},
        property_dependencies={"ref": (bucket_head.urn, child.urn, group.urn)},
    )
    plan = diff_manifests(
        manifest(bucket_base, group, child, user), manifest(bucket_head, group, child, user)
    )
    change = by_name(plan)["user"]
    assert [(d.path, v.is_unknown(d.new)) for d in change.diffs] == [("ref", True)]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "source",
    [["arn:acme:thing:c-value", "fixed"], {"ref": "arn:acme:thing:c-value", "x": "fixed"}],
    ids=["list", "mapping"],
)
def test_an_input_made_wholly_unknown_stays_unknown_when_a_later_pass_reaches_inside(
    source: object,
) -> None:
    """root is replaced delete-before-replace, so ``b``'s create-only ``source`` becomes
    wholly unknown; ``c`` (sorting after ``b``) is replaced in the same pass, and the next
    pass finds c's ARN inside ``source``: the value stays unknown, not a list of one or a
    marker with a key added."""
    root_base = res(BUCKET, "a-root", {"bucket": "a"}, delete_before_replace=True)
    root_head = res(BUCKET, "a-root", {"bucket": "b"}, delete_before_replace=True)
    c_arn = "arn:acme:thing:c-value"
    c = replace(
        res(
            THING,
            "z-c",
            {"src": v.unknown()},
            replace_on_changes=("src",),
            property_dependencies={"src": (root_head.urn,)},
        ),
        outputs={"arn": c_arn},
    )
    b = res(
        THING,
        "m-b",
        {"source": source},
        replace_on_changes=("source",),
        property_dependencies={"source": (root_head.urn, c.urn)},
    )
    changes = by_name(diff_manifests(manifest(root_base, b, c), manifest(root_head, b, c)))
    assert changes["z-c"].op is Op.REPLACE  # type: ignore[attr-defined]
    b_change = changes["m-b"]
    assert b_change.op is Op.REPLACE  # type: ignore[attr-defined]
    assert [(d.path, d.new, d.replace) for d in b_change.diffs] == [  # type: ignore[attr-defined]
        ("source", v.unknown(), True)
    ]


def test_a_resource_continues_its_first_alias_and_a_later_one_is_deleted() -> None:
    """Two aliases both exist at base: the first is continued, the second deleted; and
    a resource paired by its own URN does not stop the aliases of the next one."""
    first, second = urn(BUCKET, "first"), urn(BUCKET, "second")
    base = manifest(
        res(BUCKET, "a-kept", {"bucket": "k"}),
        res(BUCKET, "first", {"bucket": "b"}),
        res(BUCKET, "second", {"bucket": "b"}),
    )
    head = manifest(
        res(BUCKET, "a-kept", {"bucket": "k"}),
        res(BUCKET, "moved", {"bucket": "b"}, aliases=(first, second)),
    )
    changes = by_name(diff_manifests(base, head))
    assert changes["moved"].op is Op.UPDATE  # type: ignore[attr-defined]
    assert changes["moved"].old_urn == first  # type: ignore[attr-defined]
    assert changes["second"].op is Op.DELETE  # type: ignore[attr-defined]
    assert set(changes) == {"moved", "second"}


def test_a_kubernetes_object_replaced_under_its_own_name_replaces_its_dependents() -> None:
    """Kubernetes deletes an object before re-creating it when it keeps its name (two
    objects cannot share one), so a dependent holding it in a create-only input is
    replaced too; a generated name, or another provider's type, is created first and the
    dependent is left alone."""

    def plan_for(
        name: object, config_map: str = "kubernetes:core/v1:ConfigMap"
    ) -> dict[str, object]:
        def cm(immutable: bool) -> object:
            return res(
                config_map,
                "cm",
                {"metadata": {"name": name}, "immutable": immutable},
                replace_on_changes=("immutable",),
            )

        def user() -> object:
            return res(
                THING,
                "user",
                {"source": "cm"},
                replace_on_changes=("source",),
                property_dependencies={"source": (urn(config_map, "cm"),)},
            )

        base = manifest(cm(False), user())  # type: ignore[arg-type]
        head = manifest(cm(True), user())  # type: ignore[arg-type]
        return by_name(diff_manifests(base, head))

    named = plan_for("settings")
    assert named["cm"].op is Op.REPLACE  # type: ignore[attr-defined]
    assert named["user"].op is Op.REPLACE  # type: ignore[attr-defined]
    for other in (plan_for(v.unknown()), plan_for("settings", "acme:index:ConfigMap")):
        assert other["cm"].op is Op.REPLACE  # type: ignore[attr-defined]
        assert "user" not in other


def test_a_list_item_carrying_a_new_id_shows_its_old_value() -> None:
    """``ids[1]`` takes the id of a new resource: it was ``old`` (an update), or absent
    when the list grew (an addition)."""
    arn = "arn:acme:thing:new-one"
    new = replace(res(THING, "new", {"x": 1}), outputs={"arn": arn})

    def user(ids: list[str]) -> object:
        return res(THING, "user", {"ids": ids}, property_dependencies={"ids": (new.urn,)})

    for before, kind, old in (
        (["a", "old"], DiffKind.UPDATE, "old"),
        (["a"], DiffKind.ADD, None),
    ):
        plan = diff_manifests(manifest(user(before)), manifest(new, user(["a", arn])))  # type: ignore[arg-type]
        change = by_name(plan)["user"]
        assert [(d.path, d.kind, d.old, v.is_unknown(d.new)) for d in change.diffs] == [  # type: ignore[attr-defined]
            ("ids[1]", kind, old, True)
        ]


def test_option_changes_survive_an_input_becoming_known_after_deploy() -> None:
    """A dependent of a replaced resource turns both protect and retainOnDelete on: both
    stay in its change, as does ``x``, beside ``ref`` (it changed, and is now superseded
    by "known after deploy")."""
    root_base = res(BUCKET, "root", {"bucket": "a"})
    root_head = res(BUCKET, "root", {"bucket": "b"})
    deps = {"ref": (root_head.urn,)}
    before = res(THING, "user", {"ref": "previous", "x": 1}, property_dependencies=deps)
    after = res(
        THING,
        "user",
        {"ref": v.unknown(), "x": 2},
        property_dependencies=deps,
        protect=True,
        retain_on_delete=True,
    )
    plan = diff_manifests(manifest(root_base, before), manifest(root_head, after))
    change = by_name(plan)["user"]
    assert [d.path for d in change.diffs] == ["ref", "x", "[protect]", "[retainOnDelete]"]  # type: ignore[attr-defined]


def test_a_malformed_ignore_changes_pattern_is_skipped_not_fatal() -> None:
    before = res(BUCKET, "b", {"bucket": "a"}, ignore_changes=("tags[", "bucket"))
    after = res(BUCKET, "b", {"bucket": "b"}, ignore_changes=("tags[", "bucket"))
    assert diff_manifests(manifest(before), manifest(after)).changes == ()


def test_a_dependency_on_a_component_stands_for_its_replaced_child() -> None:
    arn = "arn:aws:s3:::child-bucket"
    group = res("acme:index:Group", "group", custom=False)

    def child(name: str) -> object:
        return replace(
            res(BUCKET, "child", {"bucket": name}, parent=group.urn), outputs={"arn": arn}
        )

    user = res(THING, "user", {"ref": arn}, property_dependencies={"ref": (group.urn,)})
    base = manifest(group, child("a"), user)  # type: ignore[arg-type]
    head = manifest(group, child("b"), user)  # type: ignore[arg-type]
    change = by_name(diff_manifests(base, head))["user"]
    assert [(d.path, v.is_unknown(d.new)) for d in change.diffs] == [("ref", True)]  # type: ignore[attr-defined]


def test_a_new_value_inside_a_list_output_is_traced() -> None:
    endpoint = "https://new-endpoint.example"
    new = replace(res(THING, "new", {"x": 1}), outputs={"endpoints": [endpoint]})
    user = res(THING, "user", {"url": endpoint}, property_dependencies={"url": (new.urn,)})
    change = by_name(diff_manifests(manifest(user), manifest(new, user)))["user"]
    assert [(d.path, v.is_unknown(d.new)) for d in change.diffs] == [("url", True)]  # type: ignore[attr-defined]


def test_a_delete_before_replace_dependent_shows_the_create_only_path_alone() -> None:
    """Its ``source`` holds a create-only ``id`` and a plain ``note`` that changes; an
    input with no dependencies sorts first. The dependent is replaced, and ``source``
    shows as its create-only ``id`` becoming unknown, not beside its ``note`` change."""
    root_base = res(BUCKET, "root", {"bucket": "a"}, delete_before_replace=True)
    root_head = res(BUCKET, "root", {"bucket": "b"}, delete_before_replace=True)

    def dependent(note: int) -> object:
        return res(
            THING,
            "dependent",
            {"label": "l", "source": {"id": "fixed", "note": note}},
            replace_on_changes=("source.id",),
            property_dependencies={"label": (), "source": (root_head.urn,)},
        )

    base = manifest(root_base, dependent(1))  # type: ignore[arg-type]
    head = manifest(root_head, dependent(2))  # type: ignore[arg-type]
    change = by_name(diff_manifests(base, head))["dependent"]
    assert change.op is Op.REPLACE  # type: ignore[attr-defined]
    assert [(d.path, d.replace, v.is_unknown(d.new)) for d in change.diffs] == [  # type: ignore[attr-defined]
        ("source.id", True, True)
    ]


def test_a_new_mapping_with_a_create_only_key_stays_a_replacement_when_a_sibling_is_unknown() -> (
    None
):
    """``settings`` appears with the create-only ``engine`` and a ``subnet`` taken from a
    new resource: the unknown subnet does not undo the replacement."""
    arn = "arn:acme:subnet:new-subnet"
    subnet = replace(res(THING, "subnet", {"x": 1}), outputs={"arn": arn})
    options: dict[str, Any] = {
        "replace_on_changes": ("settings.engine",),
        "property_dependencies": {"settings": (subnet.urn,)},
    }
    before = res(THING, "db", {}, **options)
    after = res(THING, "db", {"settings": {"engine": "pg", "subnet": arn}}, **options)
    change = by_name(diff_manifests(manifest(before), manifest(subnet, after)))["db"]
    assert change.op is Op.REPLACE  # type: ignore[attr-defined]
    (settings,) = change.diffs  # type: ignore[attr-defined]
    assert (settings.path, settings.replace) == ("settings", True)
    assert settings.new == {"engine": "pg", "subnet": v.unknown()}


def test_a_provider_reference_without_an_id_still_names_its_provider() -> None:
    """``_provider_identity`` drops the id of ``<provider URN>::<id>``; a bare provider URN
    has none to drop, and moving from one explicit provider to another still shows."""
    east = urn("pulumi:providers:aws", "east")
    west = urn("pulumi:providers:aws", "west")
    base = manifest(res(BUCKET, "b", {"bucket": "b"}, provider=east))
    head = manifest(res(BUCKET, "b", {"bucket": "b"}, provider=west))
    (change,) = diff_manifests(base, head).changes
    assert [(d.path, d.old, d.new) for d in change.diffs] == [("[provider]", east, west)]


def test_an_archive_change_lists_the_files_that_changed() -> None:
    def fn(digest: str) -> object:
        files = {"index.py": {v.ASSET_KEY: digest}, "util.py": {v.ASSET_KEY: "same"}}
        return res(THING, "fn", {"code": {v.ARCHIVE_KEY: files}})

    (change,) = diff_manifests(manifest(fn("one")), manifest(fn("two"))).changes  # type: ignore[arg-type]
    assert [d.path for d in change.diffs] == ['code["index.py"]']


def test_a_named_list_turning_into_plain_items_is_compared_by_index() -> None:
    for old, new in (([{"name": "a"}], ["a"]), (["a"], [{"name": "a"}])):
        (change,) = diff_manifests(
            manifest(res(THING, "t", {"items": old})), manifest(res(THING, "t", {"items": new}))
        ).changes
        assert [(d.path, d.kind) for d in change.diffs] == [("items[0]", DiffKind.UPDATE)]


def test_an_ignored_fresh_input_does_not_stop_the_next_one_becoming_unknown() -> None:
    root_base = res(BUCKET, "root", {"bucket": "a"})
    root_head = res(BUCKET, "root", {"bucket": "b"})
    dependent = res(
        THING,
        "dependent",
        {"a": v.unknown(), "b": v.unknown()},
        ignore_changes=("a",),
        property_dependencies={"a": (root_head.urn,), "b": (root_head.urn,)},
    )
    plan = diff_manifests(manifest(root_base, dependent), manifest(root_head, dependent))
    change = by_name(plan)["dependent"]
    assert [(d.path, v.is_unknown(d.new)) for d in change.diffs] == [("b", True)]  # type: ignore[attr-defined]


def test_a_dependent_is_replaced_by_its_second_create_only_input() -> None:
    """Both inputs depend on a resource replaced delete-before-replace; ``a``'s only
    create-only path is a wildcard (no single path to show), ``b`` is create-only whole."""
    root_base = res(BUCKET, "root", {"bucket": "a"}, delete_before_replace=True)
    root_head = res(BUCKET, "root", {"bucket": "b"}, delete_before_replace=True)
    dependent = res(
        THING,
        "dependent",
        {"a": ["x"], "b": "fixed"},
        replace_on_changes=("a[*]", "b"),
        property_dependencies={"a": (root_head.urn,), "b": (root_head.urn,)},
    )
    plan = diff_manifests(manifest(root_base, dependent), manifest(root_head, dependent))
    change = by_name(plan)["dependent"]
    assert change.op is Op.REPLACE  # type: ignore[attr-defined]
    assert [(d.path, d.replace) for d in change.diffs] == [("b", True)]  # type: ignore[attr-defined]


def test_only_a_component_stands_for_its_children() -> None:
    """A dependency on a custom resource is on it alone, not on resources parented to it."""
    arn = "arn:aws:s3:::child-bucket"
    owner = res(THING, "owner", {"x": 1})

    def child(name: str) -> object:
        return replace(
            res(BUCKET, "child", {"bucket": name}, parent=owner.urn), outputs={"arn": arn}
        )

    user = res(THING, "user", {"ref": arn}, property_dependencies={"ref": (owner.urn,)})
    base = manifest(owner, child("a"), user)  # type: ignore[arg-type]
    head = manifest(owner, child("b"), user)  # type: ignore[arg-type]
    assert "user" not in by_name(diff_manifests(base, head))


def test_a_parent_unknown_to_the_manifest_does_not_move_a_change() -> None:
    """Tree order starts at the outermost ancestor the manifests know."""
    a = res(BUCKET, "a", {"bucket": "a"}, parent="urn:zz-not-in-the-manifest")
    b = res(BUCKET, "b", {"bucket": "b"})
    plan = diff_manifests(None, manifest(b, a))
    assert [c.name for c in plan.changes] == ["a", "b"]


def test_a_created_list_input_is_unknown_at_the_item_that_carries_a_new_id() -> None:
    arn = "arn:aws:s3:::fresh-bucket"
    bucket = replace(res(BUCKET, "fresh", {"bucket": "fresh-bucket"}), outputs={"arn": arn})
    user = res(THING, "user", {"ids": ["plain", arn]}, property_dependencies={"ids": (bucket.urn,)})
    (ids,) = by_name(diff_manifests(None, manifest(bucket, user)))["user"].diffs  # type: ignore[attr-defined]
    assert ids.new == ["plain", v.unknown()]


def _dbr_root() -> tuple[Any, Any]:
    """A resource replaced delete-before-replace, as base and head."""
    return (
        res(BUCKET, "root", {"bucket": "a"}, delete_before_replace=True),
        res(BUCKET, "root", {"bucket": "b"}, delete_before_replace=True),
    )


def test_a_delete_before_replace_dependent_shows_every_create_only_input_it_loses() -> None:
    """Both ``a`` and ``b`` are create-only and depend on the resource deleted first: the
    engine makes both unknown, so both show, not only the first."""
    root_base, root_head = _dbr_root()
    dependent = res(
        THING,
        "dependent",
        {"a": "x", "b": "y"},
        replace_on_changes=("a", "b"),
        property_dependencies={"a": (root_head.urn,), "b": (root_head.urn,)},
    )
    plan = diff_manifests(manifest(root_base, dependent), manifest(root_head, dependent))
    change = by_name(plan)["dependent"]
    assert change.op is Op.REPLACE  # type: ignore[attr-defined]
    assert [(d.path, d.replace, v.is_unknown(d.new)) for d in change.diffs] == [  # type: ignore[attr-defined]
        ("a", True, True),
        ("b", True, True),
    ]


def test_a_dependent_input_without_a_create_only_path_does_not_stop_the_next() -> None:
    """``a`` depends on the deleted resource but is not create-only and sorts first;
    ``b`` is create-only: the dependent is replaced on ``b``."""
    root_base, root_head = _dbr_root()
    dependent = res(
        THING,
        "dependent",
        {"a": "x", "b": "y"},
        replace_on_changes=("b",),
        property_dependencies={"a": (root_head.urn,), "b": (root_head.urn,)},
    )
    plan = diff_manifests(manifest(root_base, dependent), manifest(root_head, dependent))
    change = by_name(plan)["dependent"]
    assert change.op is Op.REPLACE  # type: ignore[attr-defined]
    assert [(d.path, d.replace) for d in change.diffs] == [("b", True)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("dependent_type", ["acme:index:Thing", "zzz:index:Thing"])
def test_a_dependent_is_replaced_whether_its_urn_sorts_before_or_after_the_deleted_one(
    dependent_type: str,
) -> None:
    """The deleted resource's URN (``aws:...``) sorts after ``acme:...`` and before
    ``zzz:...``: a replaced resource met first in the walk must not end it."""
    root_base, root_head = _dbr_root()
    dependent = res(
        dependent_type,
        "dependent",
        {"source": "fixed"},
        replace_on_changes=("source",),
        property_dependencies={"source": (root_head.urn,)},
    )
    plan = diff_manifests(manifest(root_base, dependent), manifest(root_head, dependent))
    assert by_name(plan)["dependent"].op is Op.REPLACE  # type: ignore[attr-defined]


def test_a_dependent_replaced_for_a_deleted_resource_passes_unknowns_to_its_own_dependents() -> (
    None
):
    """root is deleted before its replacement; mid is replaced by the engine's dependent
    rule (nothing of root's outputs in its inputs); leaf reads mid's output, so it is
    known after deploy: the cascade goes on after a dependent replacement."""
    root_base, root_head = _dbr_root()
    mid = res(
        THING,
        "mid",
        {"source": "fixed"},
        replace_on_changes=("source",),
        property_dependencies={"source": (root_head.urn,)},
    )
    leaf = res(
        THING,
        "leaf",
        {"target": v.unknown()},
        property_dependencies={"target": (mid.urn,)},
    )
    changes = by_name(
        diff_manifests(manifest(root_base, mid, leaf), manifest(root_head, mid, leaf))
    )
    assert changes["mid"].op is Op.REPLACE  # type: ignore[attr-defined]
    assert [(d.path, v.is_unknown(d.new)) for d in changes["leaf"].diffs] == [  # type: ignore[attr-defined]
        ("target", True)
    ]


def test_an_empty_ignore_changes_path_ignores_nothing() -> None:
    """The engine resets nothing for an empty path (it reports the path and goes on), so
    the change shows; reading ``""`` as the root would hide every change."""
    before = res(BUCKET, "b", {"bucket": "a"}, ignore_changes=("",))
    after = res(BUCKET, "b", {"bucket": "b"}, ignore_changes=("",))
    (change,) = diff_manifests(manifest(before), manifest(after)).changes
    assert [d.path for d in change.diffs] == ["bucket"]


def test_an_empty_replace_on_changes_path_replaces_on_any_change() -> None:
    """The engine's empty path contains every path: any change replaces."""
    before = res(THING, "t", {"size": 1}, replace_on_changes=("",))
    after = res(THING, "t", {"size": 2}, replace_on_changes=("",))
    (change,) = diff_manifests(manifest(before), manifest(after)).changes
    assert change.op is Op.REPLACE


def test_a_mapping_input_turning_secret_is_one_change_of_the_whole_input() -> None:
    """A marker is a mapping too; it must never be compared key by key with the plain
    mapping it replaces (``tags.owner`` deleted, ``tags.$secret`` added)."""
    before = res(BUCKET, "b", {"tags": {"owner": "a"}})
    after = res(BUCKET, "b", {"tags": v.unknown()})
    (change,) = diff_manifests(manifest(before), manifest(after)).changes
    assert [(d.path, d.kind) for d in change.diffs] == [("tags", DiffKind.UPDATE)]
