"""The Markdown renderer: golden files for the layout, a CommonMark parser for balance
and escaping, and plans far over GitHub's limit for trimming."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from markdown_it import MarkdownIt

from stackflow.plan.model import (
    Change,
    Diagnostic,
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
from stackflow.plan.reports import (
    DeployReport,
    DeployStatus,
    EnvironmentReport,
    EnvironmentStatus,
    StackDeployment,
)
from stackflow.plan.values import secret
from stackflow.render.markdown import (
    DEPLOY_MARKER,
    ENVIRONMENT_MARKER,
    PLAN_MARKER,
    format_value,
    html_text,
    md_code,
    md_text,
    render_comment,
    render_deploy,
    render_environment,
    render_summary,
)

from .samples import SHA_BASE, SHA_HEAD, bucket, urn

GITHUB_LIMIT = 65_536
"""GitHub's comment limit, written out: a wrong constant in the renderer must fail here."""

ALLOWED_HTML = re.compile(
    r"<!-- stackflow:(plan|environment|deploy) -->|</?details( open)?>|</?summary>|</?b>|</?sub>"
)


def assert_balanced(md: MarkdownIt, text: str) -> None:
    """What GitHub would parse: fences closed, <details> closed, and no raw HTML but ours
    (hostile text that shows ``</details>`` inside code is text, not HTML)."""
    fences = [line for line in text.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0, "a code fence is left open"
    html: list[str] = []
    for token in md.parse(text):
        for piece in [token, *(token.children or [])]:
            if piece.type in ("html_block", "html_inline"):
                html.append(piece.content)
                leftover = ALLOWED_HTML.sub("", piece.content)
                assert "<" not in leftover, f"raw HTML not made by stackflow: {piece.content!r}"
    raw = "".join(html)
    assert raw.count("<details") == raw.count("</details>"), "a <details> is left open"
    assert raw.count("<summary>") == raw.count("</summary>")
    if "<sub>stackflow" in text:
        assert "<sub>stackflow" in md.render(text), "the footer is swallowed by an open construct"


def cell_counts(md: MarkdownIt, text: str) -> list[int]:
    html = md.render(text)
    return [len(re.findall(r"<t[dh][ >]", row)) for row in re.findall(r"<tr>.*?</tr>", html, re.S)]


# ------------------------------------------------------------------------ goldens


@pytest.mark.parametrize("name", ["blocked", "clean", "multi", "no-changes", "failed", "empty"])
def test_comment_matches_golden(
    name: str,
    sample_plans: dict[str, Plan],
    golden: Callable[[str, str], None],
    markdown: MarkdownIt,
) -> None:
    text = render_comment(sample_plans[name])
    golden(f"comment-{name}.md", text)
    assert text.startswith(PLAN_MARKER + "\n")
    assert_balanced(markdown, text)


def test_summary_matches_golden(
    sample_plans: dict[str, Plan], golden: Callable[[str, str], None], markdown: MarkdownIt
) -> None:
    text = render_summary(sample_plans["multi"])
    golden("summary-multi.md", text)
    assert PLAN_MARKER not in text
    assert_balanced(markdown, text)


ENVIRONMENTS = {
    "ready": EnvironmentReport(
        project="app",
        stack="pr-42-feature-login",
        branch="feature/login",
        status=EnvironmentStatus.READY,
        url="https://pr-42.preview.example.com/",
        outputs={
            "url": "https://pr-42.preview.example.com/",
            "dbPassword": secret("ab"),
            "port": 443,
        },
        expires_at=datetime(2026, 11, 25, 4, 0, tzinfo=UTC),
        ttl_label_prefix="ttl:",
        head=SHA_HEAD,
    ),
    "destroyed": EnvironmentReport(
        project="app",
        stack="pr-42-feature-login",
        branch="feature/login",
        status=EnvironmentStatus.DESTROYED,
    ),
    "failed": EnvironmentReport(
        project="app",
        stack="pr-42-feature-login",
        branch="feature/login",
        status=EnvironmentStatus.FAILED,
        message="up failed: bucket name `x` is taken; rename it",
    ),
}


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_environment_matches_golden(
    name: str, golden: Callable[[str, str], None], markdown: MarkdownIt
) -> None:
    text = render_environment(ENVIRONMENTS[name])
    golden(f"environment-{name}.md", text)
    assert text.startswith(ENVIRONMENT_MARKER + "\n")
    assert_balanced(markdown, text)


DEPLOYS = {
    "succeeded": DeployReport(
        stacks=(
            StackDeployment("app", "dev", DeployStatus.SUCCEEDED, {"create": 2, "update": 1}, 41.5),
            StackDeployment("app", "staging", DeployStatus.SUCCEEDED, {"update": 1}, 30.0),
        ),
        head=SHA_HEAD,
        run_url="https://github.com/acme/infra/actions/runs/1",
    ),
    "failed": DeployReport(
        stacks=(
            StackDeployment("app", "dev", DeployStatus.SUCCEEDED, {"create": 2}, 41.5),
            StackDeployment(
                "app",
                "staging",
                DeployStatus.FAILED,
                {},
                12.0,
                message="`aws:s3:Bucket` logs: AccessDenied",
            ),
            StackDeployment("app", "prod", DeployStatus.SKIPPED),
        ),
        head=SHA_HEAD,
    ),
}


@pytest.mark.parametrize("name", sorted(DEPLOYS))
def test_deploy_matches_golden(
    name: str, golden: Callable[[str, str], None], markdown: MarkdownIt
) -> None:
    text = render_deploy(DEPLOYS[name])
    golden(f"deploy-{name}.md", text)
    assert text.startswith(DEPLOY_MARKER + "\n")
    assert_balanced(markdown, text)


# ------------------------------------------------------------------------- content


def test_summary_table_and_verdict_come_first(sample_plans: dict[str, Plan]) -> None:
    text = render_comment(sample_plans["blocked"])
    verdict = text.index("Blocked: 1 mandatory policy violation")
    table = text.index("| Stack | Create | Update | Replace | Delete | Mandatory | Advisory |")
    mandatory = text.index("Mandatory policy violations")
    details = text.index("<details>")
    assert verdict < table < mandatory < details
    assert "| `app/dev` | 1 | 1 | 1 | 1 | **1** ❌ | 1 |" in text


def test_changes_are_grouped_destructive_first(sample_plans: dict[str, Plan]) -> None:
    text = render_comment(sample_plans["blocked"])
    order = [
        text.index(f"# 1 {verb}") for verb in ("to delete", "to replace", "to update", "to create")
    ]
    assert order == sorted(order)


def test_unchanged_resources_are_never_listed() -> None:
    same = Change(
        urn("dev", "aws:s3/bucket:Bucket", "quiet"), "aws:s3/bucket:Bucket", "quiet", Op.SAME
    )
    stack = StackPlan.build(
        project="app",
        stack="dev",
        source=Source.OFFLINE,
        changes=(same, bucket("dev", "new")),
        same=5,
    )
    text = render_comment(Plan(stacks=(stack,)))
    assert "quiet" not in text
    assert "new" in text


def test_values_show_markers_and_shortening() -> None:
    assert format_value(secret("abc")) == "[secret]"
    assert format_value({"$unknown": True}) == "(known after deploy)"
    assert format_value({"a": [secret("x"), {"$unknown": True}]}) == (
        '{"a": ["[secret]", "(known after deploy)"]}'
    )
    long = format_value("x" * 5000)
    assert len(long) < 200
    assert "5,002 chars" in long


def test_a_replace_forced_by_a_property_says_so(sample_plans: dict[str, Plan]) -> None:
    text = render_comment(sample_plans["blocked"])
    assert '!     engineVersion: "15" → "16"  (forces replacement)' in text
    assert "!     password: [secret] → [secret]" in text


def test_footer_names_commits_and_source(sample_plans: dict[str, Plan]) -> None:
    text = render_comment(sample_plans["multi"])
    assert "`0123456`..`fedcba9`" in text
    assert "offline plan (credential-free" in text
    assert "engine preview" in text


def test_hostile_names_and_values_stay_text(markdown: MarkdownIt) -> None:
    evil = (
        "</details></summary><script>alert(1)</script>|x|y| @octocat "
        "[a](javascript:alert(1)) \u202e"
    )
    fence = "```\n</details>"
    change = Change(
        urn("dev", "aws:s3/bucket:Bucket", evil),
        "aws:s3/bucket:Bucket`|",
        evil,
        Op.UPDATE,
        (PropertyDiff(fence, DiffKind.UPDATE, old=fence, new=evil),),
        source_position=fence,
    )
    stack = StackPlan.build(
        project="app|<b>",
        stack=evil,
        source=Source.OFFLINE,
        changes=(change,),
        outputs=(OutputChange(fence, Op.CREATE, new=evil),),
        policy=(
            PolicyFinding(evil, Level.MANDATORY, evil + " `" + evil + "`", urn=change.urn),
            PolicyFinding(fence, Level.ADVISORY, fence, urn=None),
        ),
        base=evil,
        head=fence,
    )
    plan = Plan(stacks=(stack,))
    for text in (render_comment(plan), render_summary(plan)):
        assert_balanced(markdown, text)
        html = markdown.render(text)
        assert "<script" not in html
        assert "<a href" not in html
        prose = re.sub(r"<(code|pre)>.*?</\1>", "", html, flags=re.S)
        assert "@octocat" not in prose  # GitHub notifies from prose only; code is inert
        assert "\u202e" not in text
        assert set(cell_counts(markdown, text)) == {7}


def test_hostile_environment_and_deploy_inputs(markdown: MarkdownIt) -> None:
    evil = "x</details><img src=x onerror=alert(1)>|`"
    env = EnvironmentReport(
        project=evil,
        stack=evil,
        branch=evil,
        status=EnvironmentStatus.READY,
        url="javascript:alert(1)",
        outputs={evil: evil},
        message=evil,
    )
    deploy = DeployReport(
        stacks=(StackDeployment(evil, evil, DeployStatus.FAILED, message=evil),),
        run_url="https://x.example/a)(<b>",
    )
    for text in (render_environment(env), render_deploy(deploy)):
        assert_balanced(markdown, text)
        html = markdown.render(text)
        assert "<img" not in html
        assert '<a href="javascript' not in html


# ------------------------------------------------------------------------- limits


def big_plan(resources: int, mandatory: int, *, message_size: int = 80) -> Plan:
    changes = [
        bucket("dev", f"bucket-{i:05d}", acl="private", tags={"owner": "team", "n": str(i)})
        for i in range(resources)
    ]
    findings = [
        PolicyFinding(
            "aws-s3-bucket-public-read",
            Level.MANDATORY,
            f"violation {i:05d}: " + "set `acl` to private. " * (message_size // 22),
            urn=changes[i % resources].urn,
        )
        for i in range(mandatory)
    ]
    findings += [
        PolicyFinding("required-tags", Level.ADVISORY, "add a cost-center tag", urn=c.urn)
        for c in changes[:500]
    ]
    dev = StackPlan.build(
        project="app",
        stack="dev",
        source=Source.OFFLINE,
        changes=changes,
        policy=findings,
        base=SHA_BASE,
        head=SHA_HEAD,
    )
    return Plan(
        stacks=(
            dev,
            StackPlan.build(project="app", stack="staging", source=Source.OFFLINE, same=3),
        )
    )


def test_ten_thousand_changes_fit_with_summary_and_every_mandatory_finding(
    markdown: MarkdownIt,
) -> None:
    plan = big_plan(10_000, 40)
    url = "https://github.com/acme/infra/actions/runs/7#summary-1"
    text = render_comment(plan, details_url=url)
    assert len(text) <= GITHUB_LIMIT
    assert_balanced(markdown, text)
    assert "| `app/dev` | 10,000 | 0 | 0 | 0 | **40** ❌ | 500 |" in text
    assert "| `app/staging` |" in text
    assert "Blocked: 40 mandatory policy violations" in text
    for i in range(40):
        assert f"violation {i:05d}" in text
    note = re.search(r"Left out: ([^.]*)\.", text)
    assert note is not None
    assert "resource change" in note.group(1)
    assert "mandatory" not in note.group(1)
    assert f"[job summary]({url})" in text
    shown = text.count("\n+ aws:s3/bucket:Bucket  bucket-")
    assert 0 < shown < 10_000
    assert f"{10_000 - shown:,} resource changes" in note.group(1)


def test_when_even_mandatory_findings_do_not_fit_their_list_is_cut_last_with_a_count(
    markdown: MarkdownIt,
) -> None:
    plan = big_plan(10_000, 2_000, message_size=200)
    text = render_comment(plan)
    assert len(text) <= GITHUB_LIMIT
    assert_balanced(markdown, text)
    assert "| `app/dev` | 10,000 |" in text
    assert "| `app/staging` |" in text
    shown = len(re.findall(r"violation \d{5}", text))
    assert 0 < shown < 2_000
    assert re.findall(r"violation (\d{5})", text) == [f"{i:05d}" for i in range(shown)]
    assert (
        f"⚠️ **Shortened to fit GitHub's limit.** Left out: {2_000 - shown:,} mandatory findings"
        in text
    )
    assert "resource change" in text  # the rest is counted too
    # Changes went first: not even the first resource change is listed.
    assert "+ aws:s3/bucket:Bucket  bucket-00000\n" not in text


def test_small_limits_still_balance(markdown: MarkdownIt) -> None:
    plan = big_plan(300, 30)
    for limit in (3_000, 5_000, 9_000, 20_000, 40_000):
        text = render_comment(plan, limit=limit)
        assert len(text) <= limit
        assert_balanced(markdown, text)


def test_summary_is_bounded_in_utf8_bytes(markdown: MarkdownIt) -> None:
    changes = [bucket("dev", f"桶-{i:05d}", note="värde " * 20) for i in range(3_000)]
    plan = Plan(
        stacks=(
            StackPlan.build(project="app", stack="dev", source=Source.OFFLINE, changes=changes),
        )
    )
    text = render_summary(plan, limit_bytes=200_000)
    assert len(text.encode()) <= 200_000
    assert_balanced(markdown, text)
    assert "`plan-*` artifacts" in text


def _checked(key: str, *reads: str) -> StackPlan:
    project, stack = key.split("/")
    return StackPlan.build(
        project=project, stack=stack, source=Source.OFFLINE, labels=("unchanged",), reads=reads
    )


def test_stacks_checked_and_unchanged_are_one_line_not_rows() -> None:
    sg = Change(
        urn=urn("dev", "aws:ec2/securityGroup:SecurityGroup", "web"),
        type="aws:ec2/securityGroup:SecurityGroup",
        name="web",
        op=Op.UPDATE,
    )
    plan = Plan(
        stacks=(
            StackPlan.build(project="app", stack="dev", source=Source.OFFLINE, changes=[sg]),
            _checked("app/prod"),
            _checked("network/prod"),
        )
    )
    text = render_comment(plan)
    assert "| `app/prod` |" not in text
    assert "Checked and unchanged (2): `app/prod`, `network/prod`\n" in text
    assert "**✅ Ready to merge:** 1 to update;" in text
    assert "| `app/dev` |" in text


def test_many_unchanged_stacks_collapse() -> None:
    plan = Plan(stacks=tuple(_checked(f"svc{i:02}/dev") for i in range(40)))
    text = render_comment(plan)
    assert "No stacks are affected by this change" in text
    assert "<details>\n<summary>Checked and unchanged (40)</summary>\n\n`svc00/dev`" in text
    assert text.count("`svc") == 40


def test_the_comment_shows_the_downstream_stacks_an_output_change_reaches() -> None:
    vpc = Change(
        urn=urn("dev", "aws:ec2/vpc:Vpc", "main"), type="aws:ec2/vpc:Vpc", name="main", op=Op.UPDATE
    )
    sg = Change(
        urn=urn("dev", "aws:ec2/securityGroup:SecurityGroup", "web"),
        type="aws:ec2/securityGroup:SecurityGroup",
        name="web",
        op=Op.UPDATE,
    )
    cidr = OutputChange(name="cidr", op=Op.UPDATE, old="10.0.0.0/16", new="10.9.0.0/16")
    plan = Plan(
        stacks=(
            StackPlan.build(
                project="app", stack="dev", source=Source.OFFLINE, changes=[sg],
                reads=("network/dev",),
            ),
            _checked("edge/dev", "app/dev"),
            StackPlan.build(
                project="network", stack="dev", source=Source.OFFLINE, changes=[vpc],
                outputs=(cidr,),
            ),
        )
    )  # fmt: skip
    text = render_comment(plan)
    assert (
        "### Downstream\n\n"
        "- `network/dev` outputs change; read by `app/dev` (planned here), "
        "`edge/dev` (checked: unchanged)\n"
    ) in text


# ---------------------------------------------------------------------- shortening


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        # A value in a diff line: at most 160 characters, JSON quotes included.
        (format_value("a" * 158), '"' + "a" * 158 + '"'),
        (format_value("b" * 159), '"' + "b" * 139 + "… (161 chars)"),
        # Free text (a policy or engine message): 1,000.
        (md_text("a" * 1_000), "a" * 1_000),
        (md_text("b" * 1_001), "b" * 980 + "… \\(1,001 chars\\)"),
        # An identifier in its code span, and text in a <summary>: 200.
        (md_code("a" * 200), "`" + "a" * 200 + "`"),
        (md_code("b" * 201), "`" + "b" * 180 + "… (201 chars)`"),
        (html_text("a" * 200), "a" * 200),
        (html_text("b" * 201), "b" * 180 + "… (201 chars)"),
        # However narrow the width, the first 10 characters stay.
        (format_value("c" * 50, width=20), '"' + "c" * 9 + "… (52 chars)"),
    ],
    ids=[
        "value at 160",
        "value at 161",
        "text at 1000",
        "text at 1001",
        "identifier at 200",
        "identifier at 201",
        "summary at 200",
        "summary at 201",
        "narrow",
    ],
)
def test_text_is_whole_up_to_its_width_then_keeps_its_start_and_says_how_long(
    shown: str, expected: str
) -> None:
    """Past its width a text keeps its first ``width - 20`` characters and says how long
    it was (the JSON plan has it whole); at its width it is shown whole."""
    assert shown == expected


def change_parts_plan(extra: int) -> Plan:
    """A plan whose every shortened part is ``extra`` characters past its width (0: at
    it), each part made of its own letter."""

    def part(letter: str, width: int) -> str:
        return letter * (width + extra)

    change = Change(
        urn("dev", "aws:s3/bucket:Bucket", part("n", 120)),
        part("t", 120),
        part("n", 120),
        Op.UPDATE,
        (
            PropertyDiff(part("p", 120), DiffKind.UPDATE, old="a", new="b"),
            # an embedded document's path, shown on the line above its own diff
            PropertyDiff(part("q", 120), DiffKind.UPDATE, old='{"v": "1"}', new='{"v": "2"}'),
        ),
        old_urn=urn("dev", "aws:s3/bucket:Bucket", part("o", 120)),
        source_position=part("s", 160),
    )
    detail = "\n".join(f"line {i:02d} " + "d" * (1_000 - 8 + extra) for i in range(40 + extra))
    return Plan(
        stacks=(
            StackPlan.build(
                project="app",
                stack="dev",
                source=Source.OFFLINE,
                changes=(change,),
                outputs=(OutputChange(part("u", 120), Op.CREATE, new="x"),),
                diagnostics=(Diagnostic("warning", "it failed", detail=detail),),
            ),
        )
    )


@pytest.mark.parametrize("render", [render_comment, render_summary], ids=["comment", "summary"])
def test_each_part_of_a_change_is_shortened_past_its_own_width(
    render: Callable[[Plan], str],
) -> None:
    """Type, name, former name, path, a document's path and output name at 120
    characters, the source position at 160, a diagnostic's detail at 40 lines of 1,000:
    whole at their widths, shortened one past them."""
    at = render(change_parts_plan(0))
    for letter, width in (("t", 120), ("n", 120), ("o", 120), ("p", 120), ("q", 120), ("u", 120)):
        assert re.search(rf"(?<!{letter}){letter}{{{width}}}(?!{letter})", at), letter
    assert "s" * 160 + "\n" in at
    renamed = Change(
        urn("dev", "aws:s3/bucket:Bucket", "b"), "aws:s3/bucket:Bucket", "b", Op.UPDATE,
        old_urn="legacy-b",
    )  # fmt: skip
    plan = Plan(
        stacks=(
            StackPlan.build(project="app", stack="dev", source=Source.OFFLINE, changes=[renamed]),
        )
    )
    assert "! aws:s3/bucket:Bucket  b  (was legacy-b)\n" in render(plan)  # no `::`: whole
    assert "line 39 " + "d" * 992 + "\n" in at
    past = render(change_parts_plan(1))
    for letter, width in (("t", 120), ("n", 120), ("o", 120), ("p", 120), ("q", 120), ("u", 120)):
        assert re.search(rf"(?<!{letter}){letter}{{100}}… \({width + 1:,} chars\)", past), letter
    assert "s" * 140 + "… (161 chars)\n" in past
    assert "line 39 " + "d" * 972 + "… (1,001 chars)\n" in past
    assert "line 40 " not in past


def test_values_keep_their_characters_and_a_document_its_own_key_order() -> None:
    """Non-ASCII shows as itself, not as JSON's ``\\u`` escapes; a structure's keys are
    sorted so two plans compare line by line, but an embedded document (a policy) keeps
    the order its author wrote."""
    assert format_value("värde 桶 ✓") == '"värde 桶 ✓"'
    assert format_value({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'
    policy = Change(
        urn("dev", "aws:iam/policy:Policy", "p"),
        "aws:iam/policy:Policy",
        "p",
        Op.UPDATE,
        (
            PropertyDiff("policy", DiffKind.UPDATE, old='{"v": "1"}', new='{"v": "2", "w": 3}'),
            PropertyDiff("doc", DiffKind.ADD, new='{"b": 1, "a": {"d": 4, "c": 3}}'),
            PropertyDiff("tags", DiffKind.ADD, new={"b": 1, "a": 2}),
        ),
    )
    plan = Plan(
        stacks=(
            StackPlan.build(project="app", stack="dev", source=Source.OFFLINE, changes=(policy,)),
        )
    )
    assert (
        "! aws:iam/policy:Policy  p\n"
        "!     policy: JSON document, 2 changes\n"
        '!         v: "1" → "2"\n'
        "+         w: 3\n"
        "+     doc: JSON document\n"
        '+         {"b": 1, "a": {"d": 4, "c": 3}}\n'
        '+     tags: {"a": 2, "b": 1}\n'
    ) in render_comment(plan)


def test_up_to_ten_unchanged_stacks_are_one_line_and_eleven_collapse() -> None:
    ten = render_comment(Plan(stacks=tuple(_checked(f"svc{i:02}/dev") for i in range(10))))
    assert "Checked and unchanged (10): `svc00/dev`, " in ten
    assert "<summary>Checked and unchanged" not in ten
    eleven = render_comment(Plan(stacks=tuple(_checked(f"svc{i:02}/dev") for i in range(11))))
    assert "<details>\n<summary>Checked and unchanged (11)</summary>\n\n`svc00/dev`" in eleven


def test_the_summary_opens_the_details_of_a_single_stack_only(
    sample_plans: dict[str, Plan],
) -> None:
    assert "<details open>\n<summary><b>app/dev</b>" in render_summary(sample_plans["blocked"])
    multi = render_summary(sample_plans["multi"])
    assert "<details open>" not in multi
    assert "<details>\n<summary><b>app/dev</b>" in multi
    assert "<details open>" not in render_comment(sample_plans["blocked"])


def long_value_plan() -> Plan:
    change = bucket("dev", "big", policy="p" * 400)
    return Plan(
        stacks=(
            StackPlan.build(project="app", stack="dev", source=Source.OFFLINE, changes=[change]),
        )
    )


def test_the_comment_shortens_long_values_unless_full_and_the_summary_shows_them_whole() -> None:
    whole, cut = '"' + "p" * 400 + '"', '"' + "p" * 139 + "… (402 chars)"
    plan = long_value_plan()
    assert cut in render_comment(plan)
    assert whole in render_comment(plan, full=True)
    assert whole in render_summary(plan)
    assert cut in render_summary(plan, full=False)


@pytest.mark.parametrize(
    ("url", "where"),
    [
        (
            "https://github.com/acme/infra/actions/runs/7",
            "The full plan is in the [job summary](https://github.com/acme/infra/actions/runs/7)"
            " and the run's `plan-*` artifacts.",
        ),
        (
            "javascript:alert(1)",
            "The full plan is in the workflow run's job summary and its `plan-*` artifacts.",
        ),
        (None, "The full plan is in the workflow run's job summary and its `plan-*` artifacts."),
    ],
    ids=["link", "not a web link", "none"],
)
def test_a_shortened_comment_links_the_full_plan_only_by_a_web_url(
    url: str | None, where: str
) -> None:
    text = render_comment(big_plan(300, 3), details_url=url, limit=5_000)
    assert "Left out: " in text
    assert where + "\n" in text


def test_the_footer_names_the_commits_and_what_planned_them() -> None:
    def footer(**rest: object) -> str:
        plan = Plan(stacks=(StackPlan.build(project="app", stack="dev", **rest),))  # type: ignore[arg-type]
        return render_comment(plan).rsplit("<sub>", 1)[1]

    assert footer(source=Source.ENGINE) == (
        "stackflow · the stack's state..the working tree · engine preview (the Pulumi engine "
        "against the stack's state)</sub>\n"
    )
    assert footer(source=Source.OFFLINE, base=SHA_BASE, head="feature/login").startswith(
        "stackflow · `0123456`..`feature/login` · offline plan (credential-free"
    )
    assert footer(source=Source.OFFLINE, head="abcdef0").startswith(
        "stackflow · the stack's state..`abcdef0` · "  # 7 hex digits: not a full SHA
    )
    ref = "refs/pull/42/" + "m" * 27  # not a SHA: shown whole up to 40 characters
    assert f"..`{ref}` · " in footer(source=Source.OFFLINE, head=ref)
    assert f"..`{ref[:20]}… (41 chars)` · " in footer(source=Source.OFFLINE, head=ref + "m")
