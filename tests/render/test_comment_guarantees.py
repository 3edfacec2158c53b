"""What the PR comment must never lose or let through, at the edges a trimmed or hurried
renderer would get wrong: GitHub's exact limit, every stack's mandatory findings, the
verdict and footer under any limit, and table cells that stay cells."""

from __future__ import annotations

from markdown_it import MarkdownIt

from stackflow.plan.model import Level, Plan, PolicyFinding, Source, StackPlan
from stackflow.render.markdown import PLAN_MARKER, render_comment

from .samples import bucket

GITHUB_LIMIT = 65_536
SHORTENED = "Shortened to fit GitHub's limit."


def plan_with_message(size: int, *, stacks: int = 1) -> Plan:
    """A plan whose comment grows by exactly one character per unit of ``size`` (the
    finding message is letters only, so nothing is escaped; long messages are split so
    none is shortened)."""
    out = []
    for s in range(stacks):
        name = f"st{s}"
        change = bucket(name, "data")
        chunks = [900] * (size // 900) + [size % 900]
        findings = [
            PolicyFinding("rule", Level.ADVISORY, f"m{i}" + "x" * n, urn=change.urn)
            for i, n in enumerate(chunks)
        ]
        out.append(
            StackPlan.build(
                project="app", stack=name, source=Source.OFFLINE, changes=[change], policy=findings
            )
        )
    return Plan(stacks=tuple(out))


def sized(target: int) -> Plan:
    """A plan whose untrimmed comment is exactly ``target`` characters long."""
    unbounded = 10**9
    size = target // 2
    for _ in range(5):
        length = len(render_comment(plan_with_message(size), limit=unbounded))
        size += target - length
    plan = plan_with_message(size)
    assert len(render_comment(plan, limit=unbounded)) == target
    return plan


def test_a_comment_of_exactly_65536_characters_is_posted_whole() -> None:
    text = render_comment(sized(GITHUB_LIMIT))
    assert len(text) == GITHUB_LIMIT
    assert SHORTENED not in text


def test_a_comment_one_character_over_65536_is_shortened() -> None:
    plan = sized(GITHUB_LIMIT + 1)
    text = render_comment(plan)
    assert len(text) <= GITHUB_LIMIT
    assert SHORTENED in text


def test_the_limit_given_is_the_limit_kept() -> None:
    plan = sized(20_000)
    assert SHORTENED not in render_comment(plan, limit=20_000)
    shortened = render_comment(plan, limit=19_999)
    assert SHORTENED in shortened
    assert len(shortened) <= 19_999


def test_every_stacks_mandatory_findings_are_listed() -> None:
    stacks = []
    for name in ("alpha", "beta", "gamma"):
        change = bucket(name, "data")
        finding = PolicyFinding("rule", Level.MANDATORY, f"violation in {name}", urn=change.urn)
        stacks.append(
            StackPlan.build(
                project="app",
                stack=name,
                source=Source.OFFLINE,
                changes=[change],
                policy=[finding],
            )
        )
    text = render_comment(Plan(stacks=tuple(stacks)))
    section = text.split("### ❌ Mandatory policy violations", 1)[1].split("<details", 1)[0]
    for name in ("alpha", "beta", "gamma"):
        assert f"- ❌ `app/{name}` · `rule` on `data` (`aws:s3/bucket:Bucket`): violation in " in (
            section
        )
    assert "Blocked: 3 mandatory policy violations in 3 stacks" in text


def test_the_verdict_and_footer_survive_any_limit() -> None:
    """The essential tier (marker, heading, verdict, footer) is never traded for room."""
    plan = plan_with_message(50_000, stacks=2)
    for limit in (10, 500, 2_000):
        text = render_comment(plan, limit=limit)
        assert text.startswith(f"{PLAN_MARKER}\n## stackflow plan\n\n**✅ Ready to merge:**")
        assert text.endswith("</sub>\n")
        assert "<sub>stackflow · " in text


def test_a_pipe_in_a_stack_name_stays_inside_its_table_cell(markdown: MarkdownIt) -> None:
    stack = StackPlan.build(
        project="app", stack="a|b", source=Source.OFFLINE, changes=[bucket("x", "data")]
    )
    text = render_comment(Plan(stacks=(stack,)))
    assert "| `app/a\\|b` | 1 | 0 | 0 | 0 | 0 | 0 |" in text
    tokens = markdown.parse(text)
    row = [t for t in tokens if t.type == "tr_open"][1]
    cells = tokens[tokens.index(row) :]
    cells = cells[: next(i for i, t in enumerate(cells) if t.type == "tr_close")]
    assert sum(t.type == "td_open" for t in cells) == 7
