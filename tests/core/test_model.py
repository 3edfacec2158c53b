"""The Plan and Manifest JSON round-trip exactly, and serialize canonically."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackflow.errors import StackflowError
from stackflow.plan import (
    Change,
    Diagnostic,
    DiffKind,
    Level,
    Manifest,
    Op,
    OutputChange,
    Plan,
    PolicyFinding,
    PropertyDiff,
    Resource,
    ResourceOptions,
    Source,
    StackPlan,
    values,
)
from stackflow.plan.reconcile import merge_plans

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)

diffs = st.builds(
    PropertyDiff,
    path=st.text(min_size=1, max_size=10),
    kind=st.sampled_from(DiffKind),
    old=json_value,
    new=json_value,
    replace=st.booleans(),
)
changes = st.builds(
    Change,
    urn=st.text(min_size=1, max_size=20),
    type=st.text(min_size=1, max_size=10),
    name=st.text(min_size=1, max_size=10),
    op=st.sampled_from([op for op in Op if op is not Op.SAME]),
    diffs=st.lists(diffs, max_size=3).map(tuple),
    old_urn=st.none() | st.text(max_size=10),
    source_position=st.none() | st.text(max_size=10),
)
findings = st.builds(
    PolicyFinding,
    policy=st.text(min_size=1, max_size=10),
    level=st.sampled_from(Level),
    message=st.text(max_size=20),
    urn=st.none() | st.text(max_size=10),
)


@st.composite
def stack_plans(draw: Any) -> StackPlan:
    return StackPlan.build(
        project=draw(st.text(min_size=1, max_size=8)),
        stack=draw(st.text(min_size=1, max_size=8)),
        source=draw(st.sampled_from(Source)),
        changes=draw(st.lists(changes, max_size=4)),
        same=draw(st.integers(min_value=0, max_value=50)),
        outputs=tuple(
            draw(
                st.lists(
                    st.builds(
                        OutputChange,
                        name=st.text(min_size=1, max_size=5),
                        op=st.sampled_from([Op.CREATE, Op.UPDATE, Op.DELETE]),
                        old=json_value,
                        new=json_value,
                    ),
                    max_size=2,
                )
            )
        ),
        policy=tuple(draw(st.lists(findings, max_size=3))),
        diagnostics=(Diagnostic("warning", "w"),) if draw(st.booleans()) else (),
        base=draw(st.none() | st.text(max_size=8)),
        head=draw(st.none() | st.text(max_size=8)),
        environment=draw(st.none() | st.sampled_from(["dev", "prod"])),
    )


@given(st.lists(stack_plans(), max_size=3))
def test_plan_json_round_trips(stacks: list[StackPlan]) -> None:
    plan = Plan(stacks=tuple(stacks))
    text = plan.to_json()
    assert Plan.from_json(text) == plan
    assert Plan.from_json(text).to_json() == text


@given(stack_plans())
def test_counts_match_changes(stack: StackPlan) -> None:
    for op in Op:
        if op is Op.SAME:
            continue
        assert stack.counts[op.value] == sum(1 for c in stack.changes if c.op is op)
    assert stack.has_mandatory_violations == any(f.level is Level.MANDATORY for f in stack.policy)


def test_merged_keeps_the_latest_plan_of_each_stack() -> None:
    first = StackPlan.build(project="p", stack="dev", source=Source.OFFLINE, same=1)
    second = StackPlan.build(project="p", stack="dev", source=Source.ENGINE, same=2)
    other = StackPlan.build(project="p", stack="prod", source=Source.OFFLINE)
    merged = merge_plans([Plan(stacks=(first, other)), Plan(stacks=(second,))])
    assert [s.key for s in merged.stacks] == ["p/dev", "p/prod"]
    assert merged.stacks[0].source is Source.ENGINE


def test_manifest_round_trip_is_byte_identical_and_keeps_integers() -> None:
    manifest = Manifest(
        project="p",
        stack="dev",
        environment="dev",
        resources=(
            Resource(
                urn="urn:pulumi:dev::p::aws:s3/bucket:Bucket::b",
                type="aws:s3/bucket:Bucket",
                name="b",
                custom=True,
                dependencies=("urn:x",),
                property_dependencies={"bucket": ("urn:x",)},
                inputs={"replicas": 3, "password": values.secret("ab12"), "id": values.UNKNOWN},
                options=ResourceOptions(protect=True, aliases=("urn:old",)),
                source_position="stacks/program.py:12",
            ),
        ),
        outputs={"url": "https://x"},
    )
    text = manifest.to_json()
    again = Manifest.from_json(text)
    assert again == manifest
    assert again.to_json() == text
    assert json.loads(text)["resources"][0]["inputs"]["replicas"] == 3


def test_wrong_schema_version_is_a_clear_error() -> None:
    with pytest.raises(StackflowError, match="schema version 99"):
        Manifest.from_dict({"schemaVersion": 99, "project": "p", "stack": "s", "resources": []})
    with pytest.raises(StackflowError, match="format version 7"):
        Plan.from_dict({"version": 7, "stacks": []})


def test_markers() -> None:
    assert values.is_unknown(values.unknown())
    assert values.is_secret(values.secret("d"))
    assert not values.is_secret({"$secret": "d", "other": 1})
    assert values.contains_unknown({"a": [1, {"b": values.UNKNOWN}]})
    assert values.display({"a": values.secret("d"), "b": values.UNKNOWN}) == {
        "a": values.SECRET_DISPLAY,
        "b": values.UNKNOWN_DISPLAY,
    }


def test_display_masks_plaintext_left_beside_a_secret() -> None:
    # Every sink shows values through display(): a producer bug that keeps the plaintext
    # next to a marker, or Pulumi's raw secret form, must still show as [secret].
    leaky = {"$secret": "ab12", "value": "hunter2"}
    raw = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "x"}
    shown = values.display({"a": leaky, "b": [raw], "c": {"$asset": {"path": "f.txt"}}})
    assert shown == {
        "a": values.SECRET_DISPLAY,
        "b": [values.SECRET_DISPLAY],
        "c": "asset({'path': 'f.txt'})",
    }
