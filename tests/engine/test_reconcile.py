"""Code diff vs state diff: an engine preview read beside the offline plan of the same
pull request. The engine plan comes from recorded engine events (as ``pulumi preview
--event-log`` writes them) through stackflow.engine.events; the offline plan is data. Both
reach the comment as the preview workflow hands them over: plan files, offline first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stackflow import cli
from stackflow.engine.events import plan_from_json
from stackflow.errors import ExitCode
from stackflow.plan.model import Change, DiffKind, Op, Plan, PropertyDiff, Source, StackPlan
from stackflow.plan.reconcile import merge_plans, reconcile

from .test_events import events

PREFIX = "urn:pulumi:dev::stackflow-platform::"


def engine_plan() -> StackPlan:
    return plan_from_json(
        events("preview_all_ops.jsonl"), project="stackflow-platform", stack="dev"
    )


def change(type_: str, name: str, op: Op, *paths: str) -> Change:
    diffs = tuple(PropertyDiff(path=p, kind=DiffKind.UPDATE, old=1, new=2) for p in paths)
    return Change(urn=f"{PREFIX}{type_}::{name}", type=type_, name=name, op=op, diffs=diffs)


def offline_plan() -> StackPlan:
    """What this pull request's code changes: the logs bucket, the web AMI, the data
    bucket's team tag. Nothing else."""
    return StackPlan.build(
        project="stackflow-platform",
        stack="dev",
        source=Source.OFFLINE,
        base="a" * 40,
        head="b" * 40,
        changes=[
            change("stackflow:aws:Bucket$aws:s3/bucketV2:BucketV2", "logs", Op.CREATE),
            change("aws:s3/bucketV2:BucketV2", "data", Op.UPDATE, "tags.team"),
            change("aws:ec2/instance:Instance", "web", Op.UPDATE, "ami"),
        ],
        reads=("network/dev",),
    )


def test_engine_changes_the_pull_request_does_not_explain_are_listed() -> None:
    merged = reconcile(offline_plan(), engine_plan())
    assert merged.source is Source.ENGINE
    assert merged.changes == engine_plan().changes  # the engine's plan is what a deploy does
    assert merged.reads == ("network/dev",)
    assert merged.reconciliation is not None
    assert merged.reconciliation.offline_counts["create"] == 1
    assert merged.reconciliation.offline_counts["update"] == 2
    unexplained = {u.urn.rsplit("::", 1)[-1]: u.paths for u in merged.reconciliation.unexplained}
    assert unexplained == {
        "data": ("tags.owner",),  # the PR changes tags.team; tags.owner drifted
        "web": ("userData",),  # the PR changes the AMI only
        "old-queue": (),
        "imported-role": (),
        "db": (),  # the PR does not touch the database at all
    }
    # The plan file round-trips, reconciliation included.
    again = Plan.from_json(Plan(stacks=(merged,)).to_json()).stacks[0]
    assert again == merged


def test_an_engine_preview_the_pull_request_explains_has_nothing_unexplained() -> None:
    engine = engine_plan()
    offline = StackPlan.build(
        project="stackflow-platform", stack="dev", source=Source.OFFLINE, changes=engine.changes
    )
    merged = reconcile(offline, engine)
    assert merged.reconciliation is not None
    assert merged.reconciliation.unexplained == ()


def test_the_comment_shows_both_and_what_is_not_from_this_pr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    offline, engine = tmp_path / "offline.json", tmp_path / "engine.json"
    offline.write_text(Plan(stacks=(offline_plan(),)).to_json())
    engine.write_text(Plan(stacks=(engine_plan(),)).to_json())
    assert cli.main(["render", "--plan", str(offline), "--plan", str(engine)]) == ExitCode.OK
    text = capsys.readouterr().out
    assert (
        "### Code diff vs state diff\n\n"
        "- `stackflow-platform/dev`: this pull request's code (offline plan): "
        "1 to create, 2 to update; the engine preview against the stack's state: "
        "1 to create, 2 to update, 1 to replace, 1 to delete, 1 to import. "
        "Not from this pull request (drift, or merged but not deployed):\n"
    ) in text
    assert "  - `old-queue` (`aws:sqs/queue:Queue`): delete\n" in text
    assert "  - `data` (`aws:s3/bucketV2:BucketV2`): update of `tags.owner`\n" in text
    assert "  - `db` (`aws:rds/instance:Instance`): update\n" in text
    assert "  - `web` (`aws:ec2/instance:Instance`): replace of `userData`\n" in text
    # The engine plan still decides the table: the deploy does what the engine previews.
    assert "| `stackflow-platform/dev` | 1 | 2 | 1 | 1 |" in text


def test_a_hostile_reconciliation_in_a_plan_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = Plan(stacks=(reconcile(offline_plan(), engine_plan()),)).to_dict()
    data["stacks"][0]["reconciliation"]["notFromThisChange"][0]["paths"] = [{"x": 1}]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert cli.main(["render", "--plan", str(bad)]) == ExitCode.ERROR
    assert "not a valid stackflow plan" in capsys.readouterr().err


def test_a_delete_the_pull_request_does_not_make_is_not_blamed_on_its_program() -> None:
    """The destructive-changes list said every delete was "no longer in the program"; a
    delete the engine previews and the offline plan does not explain is not the PR's."""
    from stackflow.plan.risk import review

    reasons = {r.change.name: r.reason for r in review(reconcile(offline_plan(), engine_plan()))}
    assert "no longer in the program" not in reasons["old-queue"]
    assert "not from this pull request" in reasons["old-queue"]
    plain = {r.change.name: r.reason for r in review(engine_plan())}
    assert plain["old-queue"].startswith("deleted (no longer in the program)")


def engine_stack(*changes: Change, **kw: Any) -> StackPlan:
    return StackPlan.build(
        project="stackflow-platform",
        stack="dev",
        source=Source.ENGINE,
        changes=changes,
        **kw,
    )


def offline_stack(*changes: Change, **kw: Any) -> StackPlan:
    return StackPlan.build(
        project="stackflow-platform",
        stack="dev",
        source=Source.OFFLINE,
        changes=changes,
        **kw,
    )


def not_explained(offline: StackPlan, engine: StackPlan) -> dict[str, tuple[str, ...]]:
    merged = reconcile(offline, engine)
    assert merged.reconciliation is not None
    return {u.urn.rsplit("::", 1)[-1]: u.paths for u in merged.reconciliation.unexplained}


BUCKET = "aws:s3/bucketV2:BucketV2"


@pytest.mark.parametrize(
    ("offline", "engine", "unexplained"),
    [
        pytest.param(
            [
                change(BUCKET, "whole", Op.UPDATE, "tags"),
                change(BUCKET, "part", Op.UPDATE, "tags.team", "rules[0].days"),
                change(BUCKET, "sibling", Op.UPDATE, "tags"),
            ],
            [
                change(BUCKET, "whole", Op.UPDATE, "tags.owner", "tags"),
                change(BUCKET, "part", Op.UPDATE, "tags", "rules"),
                # a name that merely starts like the touched one is another property
                change(BUCKET, "sibling", Op.UPDATE, "tagsAll", "tags", "tags_"),
            ],
            {"sibling": ("tagsAll", "tags_")},
            id="a-property-inside-or-around-one-the-change-touches-is-explained",
        ),
        pytest.param(
            [
                change(BUCKET, "created", Op.CREATE, "tags"),
                change(BUCKET, "bare", Op.UPDATE),
                change(BUCKET, "gone", Op.DELETE, "tags"),
                change(BUCKET, "swapped", Op.REPLACE, "bucket"),
            ],
            [
                change(BUCKET, "created", Op.UPDATE, "versioning"),  # the state had it already
                change(BUCKET, "bare", Op.UPDATE, "versioning"),
                change(BUCKET, "gone", Op.DELETE, "versioning"),
                change(BUCKET, "swapped", Op.REPLACE, "bucket", "versioning"),
            ],
            {"swapped": ("versioning",)},
            id="a-change-explained-as-a-whole-lists-no-properties",
        ),
        pytest.param(
            [change(BUCKET, "looked-up", Op.READ), change(BUCKET, "x", Op.UPDATE)],
            [
                change(BUCKET, "looked-up", Op.UPDATE, "tags"),
                change(BUCKET, "read", Op.READ),
                change(BUCKET, "same", Op.SAME),
            ],
            {"looked-up": ()},
            id="a-read-never-explains-a-change-and-is-never-one",
        ),
    ],
)
def test_what_the_offline_plan_explains_of_the_engines_changes(
    offline: list[Change], engine: list[Change], unexplained: dict[str, tuple[str, ...]]
) -> None:
    assert not_explained(offline_stack(*offline), engine_stack(*engine)) == unexplained


def test_a_renamed_resource_is_explained_under_either_urn() -> None:
    old = f"{PREFIX}{BUCKET}::old-name"
    renamed = Change(
        urn=f"{PREFIX}{BUCKET}::new-name", type=BUCKET, name="new-name", op=Op.UPDATE, old_urn=old
    )
    # the offline plan renames it; the engine previews the old URN's resource
    by_offline = offline_stack(renamed)
    at_old = change(BUCKET, "old-name", Op.UPDATE, "tags")
    assert not_explained(by_offline, engine_stack(at_old)) == {}
    # the offline plan knows it under its old URN only; the engine renames it
    by_engine = offline_stack(change(BUCKET, "old-name", Op.UPDATE))
    assert not_explained(by_engine, engine_stack(renamed)) == {}
    assert not_explained(offline_stack(), engine_stack(renamed)) == {"new-name": ()}


def test_the_engine_plan_keeps_its_own_reads() -> None:
    merged = reconcile(offline_stack(reads=("network/dev",)), engine_stack(reads=("network/prod",)))
    assert merged.reads == ("network/prod",)


def test_only_an_engine_plan_replacing_an_offline_one_is_reconciled() -> None:
    offline = offline_stack(change(BUCKET, "x", Op.UPDATE))
    engine = engine_stack(change(BUCKET, "y", Op.UPDATE))
    checked = offline_stack(labels=("unchanged",))
    other = StackPlan.build(project="a", stack="prod", source=Source.OFFLINE)

    def merged(*plans: StackPlan) -> StackPlan:
        stacks = merge_plans([Plan(stacks=(p, other)) for p in plans]).stacks
        assert [s.key for s in stacks] == ["a/prod", "stackflow-platform/dev"]
        return stacks[1]

    assert merged(offline, engine).reconciliation is not None
    assert merged(engine, offline) == offline  # a later offline plan simply replaces
    assert merged(engine, engine).reconciliation is None
    assert merged(offline, offline).reconciliation is None
    assert merged(checked, engine) == engine  # found unchanged: nothing to reconcile with
    assert merged(engine) == engine
