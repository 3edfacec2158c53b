"""Diff behaviour a reviewer relies on, each at the case a simpler diff gets wrong:
an alias claimed once, a replacement cascade followed to its end, ``ignoreChanges`` as
the head declares it, a removed named item, ``retainOnDelete`` turned on or off, and
create-only inputs matched when a whole parent value appears."""

from __future__ import annotations

from stackflow.plan import DiffKind, Op
from stackflow.plan import values as v
from stackflow.plan.diff import diff_manifests

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
