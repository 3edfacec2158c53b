"""The terminal table: readable, secret-free, inert to hostile names, colour on request."""

from __future__ import annotations

from stackflow.plan import Diagnostic, Level, Plan, PolicyFinding, Source, StackPlan
from stackflow.plan import values as v
from stackflow.plan.diff import diff_manifests
from stackflow.render.terminal import render_table

from .builders import manifest, res

BUCKET = "aws:s3/bucket:Bucket"


def sample() -> Plan:
    base = manifest(
        res(BUCKET, "logs", {"bucket": "logs", "tags": {"owner": "a"}}),
        res("x:y:Db", "db", {"password": v.secret("digest-one")}),
        res(BUCKET, "old"),
    )
    head = manifest(
        res(BUCKET, "logs", {"bucket": "logs-2", "tags": {"owner": "b"}}),
        res("x:y:Db", "db", {"password": v.secret("digest-two")}),
        res(BUCKET, "new\x1b[31mred", {"arn": v.unknown()}),
        outputs={"url": "https://x"},
    )
    stack = diff_manifests(base, head, base_rev="a" * 40).with_policy(
        [PolicyFinding("no-public", Level.MANDATORY, "make it private", urn=head.resources[0].urn)]
    )
    return Plan(stacks=(stack,))


def test_the_table_shows_counts_changes_paths_and_findings() -> None:
    text = render_table(sample())
    assert text.startswith("shop/dev  (offline, base aaaaaaaaaaaa -> head working tree)\n")
    assert "  1 to create, 1 to update, 1 to replace, 1 to delete, 0 unchanged\n" in text
    assert 'bucket: "logs" -> "logs-2"  (forces replacement)' in text
    assert 'tags.owner: "a" -> "b"' in text
    assert "arn: (known after deploy)" in text
    assert '+ url: "https://x"' in text
    assert "mandatory no-public" in text
    assert text.endswith(
        "Plan: 1 stack, 1 to create, 1 to update, 1 to replace, 1 to delete.\n"
        "1 mandatory policy violation(s).\n"
    )


def test_secrets_show_as_markers_and_names_cannot_drive_the_terminal() -> None:
    text = render_table(sample())
    assert "password: [secret] -> [secret]" in text
    assert "digest" not in text
    assert "\x1b" not in text
    assert "new\\x1b[31mred" in text


def test_colour_only_when_asked() -> None:
    assert "\x1b[" in render_table(sample(), color=True)


def test_errors_and_empty_plans() -> None:
    failed = StackPlan.build(
        project="p",
        stack="s",
        source=Source.OFFLINE,
        diagnostics=(Diagnostic("error", "it broke"),),
    )
    text = render_table(Plan(stacks=(failed,)))
    assert "error: it broke" in text
    assert "1 stack(s) could not be planned." in text
    assert render_table(Plan()) == "No stacks to plan: the change touches none.\n"
