"""Engine events -> Plan, from engine event JSON (as the CLI writes it to --event-log)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation.events import EngineEvent

from stackflow.engine.events import BLINDED_SECRET, PlanCollector, engine_value, plan_from_json
from stackflow.plan.model import DiffKind, Level, Op, Plan, Source, StackPlan
from stackflow.plan.values import is_secret, is_unknown

FIXTURES = Path(__file__).parent / "fixtures"


def events(name: str) -> list[dict[str, Any]]:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def plan(name: str, *, refresh: bool = False) -> StackPlan:
    return plan_from_json(
        events(name), project="stackflow-platform", stack="dev", environment="dev", refresh=refresh
    )


def by_name(stack_plan: StackPlan) -> dict[str, Any]:
    return {c.name: c for c in stack_plan.changes}


def test_every_operation_kind_becomes_one_change() -> None:
    p = plan("preview_all_ops.jsonl")
    assert p.source is Source.ENGINE
    ops = {name: change.op for name, change in by_name(p).items()}
    assert ops == {
        "logs": Op.CREATE,
        "data": Op.UPDATE,
        "web": Op.REPLACE,
        "old-queue": Op.DELETE,
        "default-vpc": Op.READ,
        "imported-role": Op.IMPORT,
        "db": Op.UPDATE,
    }
    assert p.counts == {
        "create": 1,
        "update": 2,
        "replace": 1,
        "delete": 1,
        "read": 1,
        "import": 1,
        "same": 1,
    }


def test_replacement_steps_fold_into_one_change_with_the_reason() -> None:
    web = by_name(plan("preview_all_ops.jsonl"))["web"]
    assert [c for c in plan("preview_all_ops.jsonl").changes if c.name == "web"] == [web]
    ami = next(d for d in web.diffs if d.path == "ami")
    assert (ami.kind, ami.old, ami.new, ami.replace) == (DiffKind.UPDATE, "ami-1", "ami-2", True)


def test_detailed_diff_paths_and_values() -> None:
    data = by_name(plan("preview_all_ops.jsonl"))["data"]
    diffs = {d.path: d for d in data.diffs}
    assert diffs["tags.owner"].kind is DiffKind.UPDATE
    assert (diffs["tags.owner"].old, diffs["tags.owner"].new) == ("a", "b")
    assert diffs["tags.team"].kind is DiffKind.ADD
    assert diffs["tags.team"].new == "x"
    assert not diffs["tags.team"].replace


def test_without_detailed_diff_the_changed_keys_are_used_and_markers_replace_values() -> None:
    db = by_name(plan("preview_all_ops.jsonl"))["db"]
    diffs = {d.path: d for d in db.diffs}
    assert set(diffs) == {"allocatedStorage", "password"}
    assert diffs["allocatedStorage"].old == 20
    assert is_unknown(diffs["allocatedStorage"].new)
    assert is_secret(diffs["password"].old)
    assert is_secret(diffs["password"].new)


def test_create_lists_inputs_without_engine_internals() -> None:
    logs = by_name(plan("preview_all_ops.jsonl"))["logs"]
    assert [d.path for d in logs.diffs] == ["bucket", "tags"]
    assert all(d.kind is DiffKind.ADD for d in logs.diffs)
    assert logs.type == "aws:s3/bucketV2:BucketV2"
    assert logs.urn.endswith("stackflow:aws:Bucket$aws:s3/bucketV2:BucketV2::logs")


def test_default_providers_and_the_stack_resource_are_not_changes() -> None:
    types = {c.type for c in plan("preview_all_ops.jsonl").changes}
    assert "pulumi:pulumi:Stack" not in types
    assert not any(t.startswith("pulumi:providers:") for t in types)


def test_stack_outputs_become_output_changes() -> None:
    outputs = {o.name: o for o in plan("preview_all_ops.jsonl").outputs}
    assert outputs["url"].op is Op.CREATE
    assert outputs["legacy"].op is Op.DELETE
    assert outputs["bucket"].op is Op.UPDATE
    assert is_unknown(outputs["bucket"].new)
    assert "dbPassword" not in outputs  # blinded on both sides: nothing to report


def test_policy_events_become_findings() -> None:
    findings = {f.policy: f for f in plan("preview_all_ops.jsonl").policy}
    public = findings["s3-no-public-read"]
    assert public.level is Level.MANDATORY
    assert public.message.startswith("Buckets must block public access.")
    assert "<{%" not in public.message
    assert public.urn is not None
    assert public.urn.endswith("::logs")
    assert findings["cost-center-tag"].level is Level.ADVISORY
    assert findings["cost-center-tag"].urn is None
    assert plan("preview_all_ops.jsonl").has_mandatory_violations


def test_only_lasting_warnings_and_errors_become_diagnostics() -> None:
    diags = plan("preview_all_ops.jsonl").diagnostics
    assert [(d.severity, d.message) for d in diags] == [
        ("warning", "aws:s3/bucketV2:BucketV2 is deprecated")
    ]


def test_secrets_never_appear_in_the_plan_json() -> None:
    text = Plan(stacks=(plan("preview_all_ops.jsonl"),)).to_json()
    assert "ciphertext" not in text
    assert "1b47061264138c4ac30d75fd1eb44270" not in text
    assert '"$secret": ""' in text


def test_refresh_results_are_the_drift() -> None:
    p = plan("refresh_drift.jsonl", refresh=True)
    changes = by_name(p)
    assert {n: c.op for n, c in changes.items()} == {
        "data": Op.UPDATE,
        "jobs": Op.UPDATE,
        "scratch": Op.DELETE,
    }
    data = {d.path: (d.old, d.new) for d in changes["data"].diffs}
    assert data == {
        "tags.owner": ("a", "someone-by-hand"),
        "versioning[0].enabled": (True, False),
    }
    jobs = changes["jobs"].diffs
    assert [(d.path, d.kind, d.old, d.new) for d in jobs] == [
        ("delaySeconds", DiffKind.UPDATE, 0, 30)
    ]
    assert p.counts["same"] == 1
    assert p.has_changes


def test_a_clean_refresh_has_no_changes() -> None:
    p = plan("refresh_clean.jsonl", refresh=True)
    assert not p.has_changes
    assert p.counts["same"] == 1


def test_up_and_destroy() -> None:
    up = plan("up_create.jsonl")
    assert [(c.name, c.op) for c in up.changes] == [("logs", Op.CREATE)]
    assert {o.name: o.op for o in up.outputs} == {"bucket": Op.CREATE, "dbPassword": Op.CREATE}
    assert is_secret({o.name: o for o in up.outputs}["dbPassword"].new)
    destroy = plan("destroy.jsonl")
    assert [(c.name, c.op) for c in destroy.changes] == [("logs", Op.DELETE)]
    assert [(o.name, o.op) for o in destroy.outputs] == [("bucket", Op.DELETE)]


def test_failures_keep_the_error_diagnostics_and_progress_lines() -> None:
    lines: list[str] = []
    collector = PlanCollector(project="p", stack="dev", on_progress=lines.append)
    collector.feed(EngineEvent.from_json(e) for e in events("up_failed.jsonl"))
    assert lines == [
        "  + create aws:s3/bucketV2:BucketV2 logs",
        "  x create aws:s3/bucketV2:BucketV2 logs failed",
    ]
    errors = [d.message for d in collector.diagnostics if d.severity == "error"]
    assert "InvalidBucketName" in errors[0]
    assert errors[-1] == "update failed"
    assert collector.failed == [c.urn for c in collector.plan().changes]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("04da6b54-80e4-46f7-96ec-b56ff0331ba9", {"$unknown": True}),
        ("[secret]", BLINDED_SECRET),
        (
            {
                "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                "plaintext": '"hunter2"',
            },
            BLINDED_SECRET,
        ),
        (
            {
                "4dabf18193072939515e22adb298388d": "c44067f5952c0a294b673a41bacd8c17",
                "hash": "abc",
                "text": "inline body",
            },
            {"$asset": {"hash": "abc"}},
        ),
        (
            {
                "4dabf18193072939515e22adb298388d": "0def7320c3a5731c473e5ecbe6d01bc7",
                "path": "./app",
            },
            {"$archive": {"path": "./app"}},
        ),
        (
            {
                "4dabf18193072939515e22adb298388d": "d0e6a833031e9bbcd3f4e8bde6ca49a4",
                "secret": True,
            },
            BLINDED_SECRET,
        ),
        ({"a": [1, {"b": "[secret]"}]}, {"a": [1, {"b": BLINDED_SECRET}]}),
    ],
)
def test_engine_values(raw: Any, expected: Any) -> None:
    assert engine_value(raw) == expected


def _same_step(old_urn: str, new_urn: str, *, protect: tuple[bool, bool]) -> dict[str, Any]:
    def state(urn: str, protected: bool) -> dict[str, Any]:
        return {"type": "kubernetes:core/v1:ConfigMap", "urn": urn, "id": "team/web",
                "parent": "", "provider": "", "custom": True, "protect": protected}  # fmt: skip

    meta = {
        "op": "same",
        "urn": new_urn,
        "type": "kubernetes:core/v1:ConfigMap",
        "provider": "",
        "old": state(old_urn, protect[0]),
        "new": state(new_urn, protect[1]),
    }
    return {"resourcePreEvent": {"metadata": meta}, "sequence": 2, "timestamp": 1795000002}


def test_a_rename_or_a_protect_change_is_an_update_as_offline_though_the_engine_says_same() -> None:
    """The real engine (benchmarks/offline_vs_engine.py) reports an alias rename and a
    protect change as a "same" step; the offline plan shows both (the rename with its old
    URN, protect as `[protect]`). The engine's plan now shows them the same way."""
    base = "urn:pulumi:dev::p::kubernetes:core/v1:ConfigMap::"
    renamed = plan_from_json(
        [_same_step(base + "settings", base + "config", protect=(False, False))],
        project="p",
        stack="dev",
    )
    (change,) = renamed.changes
    assert (change.op, change.old_urn, change.diffs) == (Op.UPDATE, base + "settings", ())
    unprotected = plan_from_json(
        [_same_step(base + "config", base + "config", protect=(True, False))],
        project="p",
        stack="dev",
    )
    (change,) = unprotected.changes
    assert change.op is Op.UPDATE
    assert change.old_urn is None
    assert [(d.path, d.old, d.new) for d in change.diffs] == [("[protect]", True, False)]
    untouched = plan_from_json(
        [_same_step(base + "config", base + "config", protect=(True, True))],
        project="p",
        stack="dev",
    )
    assert untouched.changes == ()
    assert untouched.counts["same"] == 1
