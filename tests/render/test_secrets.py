"""No secret plaintext in any comment, summary, terminal table, JSON plan or log line.

Secrets reach renderers as ``{"$secret": digest}`` markers. A buggy producer might leave
the plaintext beside the marker (``{"$secret": d, "value": p}``) or pass Pulumi's wire
form through (``{<secret sig>: ..., "value": p}``), at any depth, in property diffs and
stack outputs. The property: whatever the plan, no plaintext appears in anything shown.
Plaintexts are letters and digits (12+), drawn mostly from outside ASCII, so a leak is
looked for in every form it can take on the way out: as is, and as ``json.dumps`` writes
it (``\\uXXXX`` escapes, which is how a request body or a JSON plan carries it). An
example is discarded when its plaintext already shows with the secrets taken out (a
coincidence, not a leak). The sanity tests at the end show the property does fail for a
renderer that leaks, including one that leaks only in escaped form.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, find, given, settings
from hypothesis import strategies as st

from stackflow.cli import main
from stackflow.engine.events import plan_from_json
from stackflow.plan.model import (
    Change,
    DiffKind,
    Level,
    Op,
    OutputChange,
    Plan,
    PolicyFinding,
    PropertyDiff,
    Source,
    StackPlan,
)
from stackflow.plan.reports import EnvironmentReport, EnvironmentStatus
from stackflow.plan.values import SECRET_DISPLAY, is_secret, secret
from stackflow.render.markdown import render_comment, render_environment, render_summary
from stackflow.render.terminal import render_table
from tests.github.fakegithub import TOKEN, FakeGitHub, Server

PULUMI_SIG = "4dabf18193072939515e22adb298388d"
PULUMI_SECRET = "1b47061264138c4ac30d75fd1eb44270"
PLACEHOLDER = "\x00SECRET\x00"

plaintexts = st.text(
    alphabet=st.characters(categories=["Lu", "Ll", "Nd"], max_codepoint=0x2FFF),
    min_size=12,
    max_size=32,
).filter(
    # hypothesis also draws constants from the code under test: an ASCII word such as
    # "sourcePositi" is a substring of a JSON key, not a leak.
    lambda s: not (s.isascii() and s.isalpha())
)


def hide(value: Any, how: int, plaintext: str) -> Any:
    """The secret as a producer might hand it over: a clean marker, a marker with the
    plaintext left beside it, or Pulumi's wire form."""
    digest = hashlib.sha256(plaintext.encode()).hexdigest()[:16]
    return [
        secret(digest),
        {"$secret": digest, "value": plaintext},
        {PULUMI_SIG: PULUMI_SECRET, "value": plaintext},
    ][how]


@st.composite
def nested(draw: st.DrawFn, leaf: Any) -> Any:
    """The secret at some depth inside ordinary values."""
    depth = draw(st.integers(0, 3))
    value = leaf
    for _ in range(depth):
        if draw(st.booleans()):
            value = {draw(st.sampled_from(["env", "password", "spec", "data"])): value, "k": 1}
        else:
            value = ["a", value]
    return value


@dataclass(frozen=True)
class Case:
    plan: Plan
    outputs: dict[str, Any]
    secrets: tuple[str, ...]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    secrets = draw(st.lists(plaintexts, min_size=1, max_size=4, unique=True))

    def planted() -> Any:
        text = draw(st.sampled_from(secrets))
        return draw(nested(hide(text, draw(st.integers(0, 2)), text)))

    changes = []
    for i in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from([Op.CREATE, Op.UPDATE, Op.REPLACE, Op.DELETE]))
        diffs = tuple(
            PropertyDiff(
                f"prop{j}",
                draw(st.sampled_from(list(DiffKind))),
                old=planted(),
                new=planted(),
                replace=draw(st.booleans()),
            )
            for j in range(draw(st.integers(1, 3)))
        )
        changes.append(Change(f"urn:pulumi:dev::app::aws:x:Y::r{i}", "aws:x:Y", f"r{i}", op, diffs))
    outputs = {f"out{i}": planted() for i in range(draw(st.integers(1, 3)))}
    stack = StackPlan.build(
        project="app",
        stack="dev",
        source=draw(st.sampled_from(list(Source))),
        changes=changes,
        outputs=tuple(
            OutputChange(
                name,
                draw(st.sampled_from([Op.CREATE, Op.UPDATE, Op.DELETE])),
                old=planted(),
                new=value,
            )
            for name, value in outputs.items()
        ),
        policy=(PolicyFinding("p", Level.MANDATORY, "fix it", urn=changes[0].urn),),
    )
    return Case(Plan(stacks=(stack,)), outputs, tuple(secrets))


def environment(case: Case) -> EnvironmentReport:
    return EnvironmentReport(
        project="app",
        stack="pr-1",
        branch="b",
        status=EnvironmentStatus.READY,
        outputs=case.outputs,
        expires_at=datetime(2026, 11, 25, tzinfo=UTC),
    )


RENDERERS: dict[str, Callable[[Case], str]] = {
    "comment": lambda c: render_comment(c.plan),
    "small comment": lambda c: render_comment(c.plan, limit=2_000),
    "summary": lambda c: render_summary(c.plan),
    "terminal": lambda c: render_table(c.plan),
    "environment": lambda c: render_environment(environment(c)),
}


def scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """The same value with every plaintext replaced: what a correct render may show."""
    if isinstance(value, str):
        for text in secrets:
            value = value.replace(text, PLACEHOLDER)
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    return value


def scrubbed(case: Case) -> Case:
    plan = Plan.from_dict(scrub(case.plan.to_dict(), case.secrets))
    return Case(plan, scrub(case.outputs, case.secrets), case.secrets)


def forms(plaintext: str) -> set[str]:
    """The plaintext as it may appear in text: raw, JSON-escaped (``\\uXXXX``), and
    escaped twice (a JSON string inside JSON, such as Pulumi's ``plaintext`` field)."""
    once = {
        plaintext,
        json.dumps(plaintext)[1:-1],
        json.dumps(plaintext, ensure_ascii=False)[1:-1],
    }
    return once | {json.dumps(form)[1:-1] for form in once}


def shows(plaintext: str, text: str) -> bool:
    return any(form in text for form in forms(plaintext))


def leaks(render: Callable[[Case], str], case: Case) -> list[str]:
    """Plaintexts that show in the output but not when the secrets are taken out."""
    shown, baseline = render(case), render(scrubbed(case))
    return [s for s in case.secrets if shows(s, shown) and not shows(s, baseline)]


def coincidental(render: Callable[[Case], str], case: Case) -> bool:
    baseline = render(scrubbed(case))
    return any(shows(s, baseline) for s in case.secrets)


@pytest.mark.parametrize("name", sorted(RENDERERS))
@settings(max_examples=150, deadline=None)
@given(case=cases())
def test_no_renderer_shows_a_secret(name: str, case: Case) -> None:
    render = RENDERERS[name]
    assume(not coincidental(render, case))
    assert leaks(render, case) == []


ENGINE_EVENTS = Path(__file__).parents[1] / "engine" / "fixtures" / "preview_all_ops.jsonl"
PULUMI_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"


def unblinded(value: Any, draw: st.DrawFn, secrets: list[str]) -> Any:
    """The engine's event stream with each blinded secret replaced by a form that holds
    the plaintext (as events written with secrets shown would): Pulumi's unencrypted
    secret (``plaintext`` holds the JSON-encoded value), a secret with its value beside
    the signature, or a secret Output value."""
    if isinstance(value, dict) and value.get(PULUMI_SIG) == PULUMI_SECRET:
        text = draw(st.sampled_from(secrets))
        return draw(
            st.sampled_from(
                [
                    {PULUMI_SIG: PULUMI_SECRET, "plaintext": json.dumps(text)},
                    {PULUMI_SIG: PULUMI_SECRET, "value": text},
                    {PULUMI_SIG: PULUMI_OUTPUT_SIG, "value": text, "secret": True},
                    {PULUMI_SIG: PULUMI_OUTPUT_SIG, "value": {"k": [text]}, "secret": True},
                ]
            )
        )
    if isinstance(value, dict):
        return {k: unblinded(v, draw, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [unblinded(v, draw, secrets) for v in value]
    return value


@settings(max_examples=100, deadline=None)
@given(data=st.data(), secrets=st.lists(plaintexts, min_size=1, max_size=3, unique=True))
def test_json_plans_from_engine_events_hold_no_plaintext(
    data: st.DataObject, secrets: list[str]
) -> None:
    """The JSON plan as a source and the serializer make it: engine events carrying the
    plaintext of every secret (raw, in nested values, in stack outputs) become a plan whose
    JSON holds no plaintext in any form, only secret markers."""
    events = [
        unblinded(json.loads(line), data.draw, secrets)
        for line in ENGINE_EVENTS.read_text("utf-8").splitlines()
    ]
    assert any(shows(s, json.dumps(events)) for s in secrets)  # the secrets went in
    text = Plan(stacks=(plan_from_json(events, project="app", stack="dev"),)).to_json()
    assert not [s for s in secrets if shows(s, text)]
    assert '"$secret"' in text


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    gh = FakeGitHub()
    server = Server(gh)
    try:
        yield gh
    finally:
        server.close()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=cases())
def test_no_secret_in_posted_comments_summaries_or_logs(
    case: Case,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`stackflow comment` and `summary` end to end: what reaches GitHub (request bodies),
    the step summary file, stdout/stderr and every log record (PyGithub and urllib3 log
    requests at DEBUG)."""
    assume(not coincidental(lambda c: render_comment(c.plan) + render_summary(c.plan), case))
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(case.plan.to_json())
    summary = tmp_path / "summary.md"
    summary.write_text("")
    with fake_github() as gh, caplog.at_level(logging.DEBUG):
        for key, value in {
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": "acme/infra",
            "GITHUB_API_URL": gh.base_url,
            "GITHUB_STEP_SUMMARY": str(summary),
        }.items():
            monkeypatch.setenv(key, value)
        assert main(["comment", "--plan", str(plan_file), "--pr", "3"]) == 0
        assert main(["summary", "--plan", str(plan_file)]) == 0
        assert main(["render", "--plan", str(plan_file)]) == 0
        sent = json.dumps([r.body for r in gh.requests])
    out = capsys.readouterr()
    logs = "\n".join(r.getMessage() for r in caplog.records)
    seen = {
        "requests": sent,
        "summary": summary.read_text(),
        "stdout": out.out,
        "stderr": out.err,
        "logs": logs,
    }
    for where, text in seen.items():
        assert not [s for s in case.secrets if shows(s, text)], f"plaintext in {where}"
    caplog.clear()


# ------------------------------------------------------------------------ sanity


def test_the_property_catches_a_renderer_that_dumps_values() -> None:
    def dumps(case: Case) -> str:
        return json.dumps(case.plan.to_dict())

    found = find(cases(), lambda c: not coincidental(dumps, c) and bool(leaks(dumps, c)))
    assert leaks(dumps, found)


def test_the_property_catches_a_renderer_that_trusts_exact_markers_only() -> None:
    """A renderer that masks only exact one-key markers shows the plaintext a producer
    left beside a marker. Ours must not be that renderer."""

    def exact_markers_only(value: object) -> object:
        if is_secret(value):
            return SECRET_DISPLAY
        if isinstance(value, dict):
            return {k: exact_markers_only(v) for k, v in value.items()}
        if isinstance(value, list):
            return [exact_markers_only(v) for v in value]
        return value

    def naive(case: Case) -> str:
        return "\n".join(
            json.dumps(exact_markers_only(d.new))
            for c in case.plan.stacks[0].changes
            for d in c.diffs
        )

    found = find(cases(), lambda c: not coincidental(naive, c) and bool(leaks(naive, c)))
    assert leaks(naive, found)
    assert leaks(RENDERERS["comment"], found) == []


def test_the_property_catches_a_leak_escaped_by_json_dumps() -> None:
    """A sink that writes JSON with ``ensure_ascii`` (the default) shows a non-ASCII
    plaintext only as ``\\uXXXX`` escapes: still a leak, and found as one."""

    def escaped(case: Case) -> str:
        return json.dumps(case.outputs)

    found = find(
        cases(),
        lambda c: (
            not coincidental(escaped, c)
            and bool(leaks(escaped, c))
            and not any(s in escaped(c) for s in c.secrets)
        ),
    )
    assert leaks(escaped, found)
