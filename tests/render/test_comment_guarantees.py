"""What the PR comment must never lose or let through, at the edges a trimmed or hurried
renderer would get wrong: GitHub's exact limit, every stack's mandatory findings, the
verdict and footer under any limit, and table cells that stay cells."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from stackflow.plan.model import (
    PLAN_PACK,
    Change,
    Diagnostic,
    FindingStatus,
    Level,
    Op,
    OutputChange,
    Plan,
    PolicyFinding,
    Reconciliation,
    Source,
    StackPlan,
    Unexplained,
)
from stackflow.plan.reports import (
    DeployReport,
    DeployStatus,
    EnvironmentReport,
    EnvironmentStatus,
    StackDeployment,
)
from stackflow.plan.risk import PROTECTED
from stackflow.render.markdown import (
    PLAN_MARKER,
    render_comment,
    render_deploy,
    render_environment,
    render_summary,
)

from .samples import bucket, urn

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


# ------------------------------------------------------------- trimming, for any plan

KINDS = ("table row", "mandatory finding", "resource change", "advisory finding")
"""What the comment is made of here, in the order it is given room."""


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    stacks = []
    for s in range(draw(st.integers(1, 3))):
        name = f"s{s}"
        size = draw(st.integers(0, 300))
        changes = [
            bucket(name, f"b{s}-{i}", acl="private", note="x" * size)
            for i in range(draw(st.integers(1, 12)))
        ]
        findings = [
            PolicyFinding("rule", Level.MANDATORY, f"violation s{s} n{i}", urn=changes[0].urn)
            for i in range(draw(st.integers(0, 6)))
        ] + [
            PolicyFinding("tags", Level.ADVISORY, f"advice s{s} n{i}", urn=changes[-1].urn)
            for i in range(draw(st.integers(0, 6)))
        ]
        stacks.append(
            StackPlan.build(
                project="app", stack=name, source=Source.OFFLINE, changes=changes, policy=findings
            )
        )
    return Plan(stacks=tuple(stacks))


def shown(text: str) -> dict[str, list[str]]:
    """The leaves of each kind in the comment, in the order they appear."""
    return {
        "table row": re.findall(r"^\| `app/(s\d)` \|", text, re.M),
        "mandatory finding": re.findall(r": violation (s\d n\d)$", text, re.M),
        "resource change": re.findall(r"^\+ aws:s3/bucket:Bucket  (b\d-\d+)$", text, re.M),
        "advisory finding": re.findall(r": advice (s\d n\d)$", text, re.M),
    }


def left_out(text: str) -> dict[str, int]:
    note = re.search(r"Left out: ([^.]*)\.", text)
    counts = dict.fromkeys(KINDS, 0)
    for n, kind in re.findall(r"([\d,]+) ([a-z ]+?)s?(?:, |$)", note.group(1) if note else ""):
        assert kind in KINDS
        counts[kind] = int(n.replace(",", ""))
    return counts


def largest_unit(text: str) -> int:
    """An upper bound on what one more leaf costs with the blocks around it: the table,
    the mandatory section, or one stack's whole <details>."""
    blocks = re.findall(
        r"<details>.*?</details>\n\n|\| Stack .*?\n\n|### .*?\n\n.*?\n\n", text, re.S
    )
    return max(len(b) for b in blocks)


@settings(max_examples=60)
@given(plans(), st.floats(0, 1.1))
def test_a_trimmed_comment_keeps_the_first_leaves_of_each_tier_and_counts_the_rest(
    plan: Plan, where: float
) -> None:
    """For any plan and limit: whole when it fits, else at most the limit; room goes tier
    by tier (table rows, mandatory findings, resource changes, advisory findings), each in
    document order, so what is shown is a prefix; the note counts exactly what is not."""
    whole = render_comment(plan, limit=10**9)
    floor = len(render_comment(plan, limit=0))  # the essential tier and the longest note
    limit = floor + int(where * (len(whole) - floor))
    text = render_comment(plan, limit=limit)
    if len(whole) <= limit:
        assert text == whole
        return
    assert len(text) <= limit
    assert text.startswith(f"{PLAN_MARKER}\n## stackflow plan\n\n**")
    assert text.endswith("</sub>\n")
    everything, kept, missing = shown(whole), shown(text), left_out(text)
    assert SHORTENED in text
    cut = False
    for kind in KINDS:
        assert kept[kind] == everything[kind][: len(kept[kind])], kind  # a prefix
        assert missing[kind] == len(everything[kind]) - len(kept[kind]), kind
        assert not (cut and kept[kind]), f"{kind} shown though an earlier tier was cut"
        cut = cut or bool(missing[kind])
    assert ("⚠️ **Shortened" in text) == bool(missing["mandatory finding"])
    # Room is not wasted: what was left out would not have fit (the note's room, the
    # longest it can be, and a 64-character margin set aside).
    assert limit - len(text) < floor + 64 + largest_unit(whole)


def the_note(text: str) -> str:
    found = re.search(r"> \[!NOTE\]\n.*?\n\n", text, re.S)
    return found.group(0) if found else ""


def test_a_leaf_is_shown_exactly_when_it_fits_with_the_longest_note_and_a_margin() -> None:
    """Room is given at the character: a leaf goes in when the comment with it, plus room
    for the longest note this plan can have and a 64-character margin, is within the
    limit; one character less and it stays out."""
    plan = Plan(
        stacks=tuple(
            StackPlan.build(
                project="app",
                stack=f"s{s}",
                source=Source.OFFLINE,
                changes=[bucket(f"s{s}", f"b{s}-{i}", note="x" * 40 * i) for i in range(4)],
                policy=[
                    PolicyFinding("rule", Level.MANDATORY, f"violation s{s} n{i}") for i in range(3)
                ]
                + [PolicyFinding("tags", Level.ADVISORY, f"advice s{s} n0")] * (1 - s),
            )
            for s in range(2)
        )
    )
    whole = render_comment(plan, limit=10**9)
    longest = len(the_note(render_comment(plan, limit=0)))
    checked = 0
    for limit in range(len(whole) - 1, 0, -97):
        text = render_comment(plan, limit=limit)
        if not any(shown(text).values()):
            break
        needed = len(text) - len(the_note(text)) + longest + 64
        assert needed <= limit
        assert render_comment(plan, limit=needed) == text
        assert render_comment(plan, limit=needed - 1) != text
        checked += 1
    assert checked > 10


# ------------------------------------------------------------------ the verdict line


def stack(name: str = "dev", **rest: object) -> StackPlan:
    rest.setdefault("source", Source.OFFLINE)
    return StackPlan.build(project="app", stack=name, **rest)  # type: ignore[arg-type]


FUNCTION = "aws:lambda/function:Function"


def function(name: str, op: Op) -> Change:
    return Change(urn("dev", FUNCTION, name), FUNCTION, name, op)


VERDICTS = {
    "data loss": (
        Plan(stacks=(stack(changes=[bucket("dev", "data", Op.DELETE), function("f", Op.DELETE)]),)),
        "**⚠️ Review before merging:** 2 to delete; 2 resources deleted or replaced, 1 of "
        "them holding data (listed below).",
    ),
    "destructive": (
        Plan(stacks=(stack(changes=[function("f", Op.REPLACE), bucket("dev", "new")]),)),
        "**⚠️ Review before merging:** 1 to create, 1 to replace; 1 resource deleted or "
        "replaced (listed below).",
    ),
    "protected": (
        Plan(
            stacks=(
                stack(
                    changes=[bucket("dev", "data", Op.DELETE)],
                    policy=[
                        PolicyFinding(PROTECTED, Level.MANDATORY, "it is protected", pack=PLAN_PACK)
                    ],
                ),
            )
        ),
        "**❌ Blocked: this change would delete or replace 1 protected resource.** The "
        "engine refuses, so the deploy would fail; see below for what to do.",
    ),
    "removed": (
        Plan(stacks=(stack(labels=("removed",)), stack("qa", changes=[bucket("qa", "b")]))),
        "**⚠️ Review before merging:** 1 stack file deleted; nothing is destroyed and their "
        "resources stay deployed (below).",
    ),
    "no changes, advisory": (
        Plan(stacks=(stack(same=3, policy=[PolicyFinding("tags", Level.ADVISORY, "tag it")]),)),
        "**✅ No changes** in 1 stack; 1 advisory finding.",
    ),
    "ready, advisory": (
        Plan(
            stacks=(
                stack(
                    changes=[bucket("dev", "b")],
                    policy=[PolicyFinding("tags", Level.ADVISORY, "tag it")] * 2,
                ),
                stack("qa", same=1),
            )
        ),
        "**✅ Ready to merge:** 1 to create; no mandatory policy violations; 2 advisory findings.",
    ),
    "failed": (
        Plan(stacks=(stack(diagnostics=(Diagnostic("error", "boom"),)), stack("qa"))),
        "**❌ 1 stack could not be planned** — see the errors below; nothing was checked "
        "for those stacks.",
    ),
}


@pytest.mark.parametrize("case", sorted(VERDICTS))
def test_the_verdict_names_what_blocks_or_needs_review_first(case: str) -> None:
    plan, verdict = VERDICTS[case]
    text = render_comment(plan)
    assert text.split("\n\n")[1] == verdict


def test_a_finding_names_its_resource_or_the_stack() -> None:
    """By name and type when the plan lists the resource, else by the last segment of
    its URN (an unchanged resource; a policy pack's own id whole), else (no URN) the
    stack itself."""
    listed = bucket("dev", "logs")
    unlisted = urn("dev", "aws:s3/bucket:Bucket", "archive")
    plan = Plan(
        stacks=(
            stack(
                changes=[listed],
                policy=[
                    PolicyFinding("r1", Level.MANDATORY, "on a listed one", urn=listed.urn),
                    PolicyFinding("r2", Level.MANDATORY, "on an unchanged one", urn=unlisted),
                    PolicyFinding("r3", Level.MANDATORY, "on the stack"),
                    PolicyFinding("r4", Level.MANDATORY, "on a foreign id", urn="sg-0a1b"),
                ],
            ),
        )
    )
    text = render_comment(plan)
    assert "- ❌ `app/dev` · `r1` on `logs` (`aws:s3/bucket:Bucket`): on a listed one\n" in text
    assert "- ❌ `app/dev` · `r2` on `archive`: on an unchanged one\n" in text
    assert "- ❌ `app/dev` · `r3` on the stack: on the stack\n" in text
    assert "- ❌ `app/dev` · `r4` on `sg-0a1b`: on a foreign id\n" in text  # no `::`


def test_a_finding_compared_with_the_base_says_whether_it_is_new_kept_or_fixed() -> None:
    """Only a new mandatory finding blocks (❌); one the base has too warns (⚠️); one
    this change fixes is listed apart with ✅."""
    b = bucket("dev", "logs")

    def finding(level: Level, status: FindingStatus, message: str) -> PolicyFinding:
        return PolicyFinding("rule", level, message, urn=b.urn, status=status)

    plan = Plan(
        stacks=(
            stack(
                changes=[b],
                policy=[
                    finding(Level.MANDATORY, FindingStatus.NEW, "brand new"),
                    finding(Level.MANDATORY, FindingStatus.EXISTING, "already there"),
                    finding(Level.MANDATORY, FindingStatus.FIXED, "now gone"),
                ],
            ),
        )
    )
    text = render_comment(plan)
    on = "`app/dev` · `rule` on `logs` (`aws:s3/bucket:Bucket`)"
    assert f"- ❌ {on}: brand new *(new)*\n" in text
    assert f"- ⚠️ {on}: already there *(the base has it too)*\n" in text
    fixes = text.split("**Findings this change fixes**\n\n", 1)[1]
    assert fixes.startswith(f"- ✅ {on}: now gone *(fixed by this change)*\n")


def test_the_table_counts_the_listed_changes_or_the_plans_own_counts_when_higher() -> None:
    """A plan read from JSON may carry counts for some operations only, or more than it
    lists (an engine summary), or operations the table has no column for: each cell is
    the larger of the two, zero when neither."""
    plan = Plan(
        stacks=(
            StackPlan(
                project="app",
                stack="dev",
                source=Source.ENGINE,
                changes=(bucket("dev", "b"),),
                counts={"create": 0, "update": 3, "same": 5, "refresh": 2},
            ),
        )
    )
    assert "| `app/dev` | 1 | 3 | 0 | 0 | 0 | 0 |\n" in render_comment(plan)


def test_the_review_gets_room_before_the_list_of_unchanged_stacks() -> None:
    """Tier order across sections: a deleted bucket's review lines (data loss, then the
    destructive change) come before the collapsed list of forty unchanged stacks, though
    that list comes first in the comment."""
    unchanged = tuple(
        StackPlan.build(
            project=f"svc{i:02}", stack="dev", source=Source.OFFLINE, labels=("unchanged",)
        )
        for i in range(40)
    )
    plan = Plan(stacks=(stack(changes=[bucket("dev", "data", Op.DELETE)]), *unchanged))
    whole = render_comment(plan)
    assert whole.index("Checked and unchanged (40)") < whole.index("### Destructive")
    for limit in range(len(whole), 0, -5):
        text = render_comment(plan, limit=limit)
        if "`svc00/dev`" not in text:
            assert "### ⚠️ Data loss" in text
            assert "### Destructive and security-relevant changes" in text
            assert "1 unchanged stack list" in text
            break
    else:
        raise AssertionError("the list of unchanged stacks was never left out")


# ------------------------------------------------------------ summary, environment, deploy


def sized_summary(target: int) -> Plan:
    """A plan whose untrimmed job summary is exactly ``target`` bytes long."""
    size = target // 2
    for _ in range(5):
        size += target - len(render_summary(plan_with_message(size), limit_bytes=10**9).encode())
    plan = plan_with_message(size)
    assert len(render_summary(plan, limit_bytes=10**9).encode()) == target
    return plan


def test_a_summary_of_1_000_000_bytes_is_written_whole_and_one_byte_more_is_shortened() -> None:
    """GitHub takes 1 MiB of step summary; the renderer keeps to 1,000,000 bytes, leaving
    room for what other steps write."""
    assert SHORTENED not in render_summary(sized_summary(1_000_000))
    over = render_summary(sized_summary(1_000_001))
    assert SHORTENED in over
    assert len(over.encode()) <= 1_000_000


def test_an_environment_shows_its_outputs_and_expiry_only_while_it_is_up() -> None:
    for status in (EnvironmentStatus.FAILED, EnvironmentStatus.DESTROYED):
        report = EnvironmentReport(
            project="app",
            stack="pr-1",
            branch="b",
            status=status,
            url="https://pr-1.example.com/",
            outputs={"url": "https://pr-1.example.com/"},
            expires_at=datetime(2026, 12, 1, tzinfo=UTC),
        )
        text = render_environment(report)
        assert "| Output | Value |" not in text, status
        assert "**URL:**" not in text, status
        assert "Destroyed automatically" not in text, status


@pytest.mark.parametrize(
    ("run_url", "where"),
    [
        ("https://github.com/acme/infra/actions/runs/9", "See the [workflow run]("),
        (None, "See the workflow run's log."),
    ],
)
def test_a_shortened_deploy_comment_says_where_the_rest_is(run_url: str | None, where: str) -> None:
    stacks = tuple(
        StackDeployment("app", f"s{i:03}", DeployStatus.SUCCEEDED, {"update": 1}, 1.0)
        for i in range(200)
    )
    text = render_deploy(DeployReport(stacks=stacks, run_url=run_url), limit=3_000)
    assert SHORTENED in text
    assert "Left out: " in text
    assert where in text.split("Left out: ", 1)[1].split("\n", 1)[0]


def test_every_reconciled_stack_says_what_its_preview_owes_to_this_pull_request() -> None:
    """Code diff vs state diff for each stack an engine preview replaced, whatever stacks
    come before it: all explained, or each change not from this pull request (an
    unlisted one just "changes")."""
    data = bucket("c", "data", Op.UPDATE)
    plain = stack("a", changes=[bucket("a", "x")])
    explained = stack(
        "b",
        source=Source.ENGINE,
        changes=[bucket("b", "y")],
        reconciliation=Reconciliation({"create": 1}),
    )
    drifted = stack(
        "c",
        source=Source.ENGINE,
        changes=[data],
        reconciliation=Reconciliation(
            {},
            (Unexplained(data.urn, ("tags.owner", "acl")), Unexplained(urn("c", "t", "gone"))),
        ),
    )
    text = render_comment(Plan(stacks=(plain, explained, drifted)))
    section = text.split("### Code diff vs state diff\n\n", 1)[1].split("\n\n", 1)[0]
    assert section == (
        "- `app/b`: this pull request's code (offline plan): 1 to create; the engine preview "
        "against the stack's state: 1 to create. Everything in the preview is from this pull "
        "request.\n"
        "- `app/c`: this pull request's code (offline plan): no changes; the engine preview "
        "against the stack's state: 1 to update. Not from this pull request (drift, or merged "
        "but not deployed):\n"
        "  - `data` (`aws:s3/bucket:Bucket`): update of `tags.owner`, `acl`\n"
        "  - `gone`: changes"
    )


FIXED = FindingStatus.FIXED


@pytest.mark.parametrize(
    ("only", "shown"),
    [
        ({"outputs": (OutputChange("url", Op.CREATE, new="https://x"),)}, "+ url: "),
        ({"policy": (PolicyFinding("tags", Level.ADVISORY, "tag it"),)}, "tag it"),
        (
            {"policy": (PolicyFinding("acl", Level.MANDATORY, "was public", status=FIXED),)},
            "was public",
        ),
        ({"diagnostics": (Diagnostic("warning", "deprecated `acl`"),)}, "deprecated"),
    ],
    ids=["an output", "an advisory finding", "a fixed finding", "a warning"],
)
def test_a_stack_with_only_one_kind_of_detail_still_shows_it(
    only: dict[str, object], shown: str
) -> None:
    text = render_comment(Plan(stacks=(stack(**only),)))
    details = text.split("<details>\n<summary><b>app/dev</b>", 1)[1].split("</details>", 1)[0]
    assert shown in details
    assert "could not be planned" not in details


def test_only_stateful_resources_deleted_or_replaced_are_data_loss() -> None:
    """A replaced function is destructive but holds no data; an updated bucket holds data
    but loses none: neither is a data-loss warning."""
    plan = Plan(
        stacks=(
            stack(
                changes=[
                    function("f", Op.REPLACE),
                    bucket("dev", "kept", Op.UPDATE, acl="private"),
                    bucket("dev", "gone", Op.DELETE),
                ]
            ),
        )
    )
    text = render_comment(plan)
    loss = text.split("### ⚠️ Data loss\n\n", 1)[1].split("\n\n", 1)[0]
    assert [line.split(" · ")[1].split(" ")[0] for line in loss.splitlines()] == ["`gone`"]
    assert "could not be planned" not in text


def test_a_pipe_in_an_environment_output_or_a_deployed_stack_stays_in_its_cell(
    markdown: MarkdownIt,
) -> None:
    report = EnvironmentReport(
        project="app",
        stack="pr-1",
        branch="b",
        status=EnvironmentStatus.READY,
        outputs={"a|b": "x|y", "plain": 1},
    )
    env = render_environment(report)
    assert '| `a\\|b` | `"x\\|y"` |\n' in env
    deploy = render_deploy(
        DeployReport(stacks=(StackDeployment("app", "a|b", DeployStatus.SUCCEEDED, {}, 1.0),))
    )
    assert "| `app/a\\|b` | ✅ succeeded |" in deploy
    for text, columns in ((env, 2), (deploy, 4)):
        html = markdown.render(text)
        rows = re.findall(r"<tr>.*?</tr>", html, re.S)
        assert rows
        assert {len(re.findall(r"<t[dh][ >]", row)) for row in rows} == {columns}
