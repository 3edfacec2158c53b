"""Markdown for pull-request comments and job summaries.

Pure functions from typed inputs to text, golden-file tested. Three rules shape them:

* **Hostile input stays text.** Resource names, values and policy messages come from the
  pull request's code, which may be a fork's. Free text is backslash-escaped (no HTML, no
  links, no tables broken by ``|``), identifiers go in code spans, values in diff fences
  whose every line starts with a sign so no line can close the fence, and invisible
  control characters are shown as escapes.
* **Secrets show as markers only.** A value is masked when it is, or merely carries, a
  ``$secret`` marker or Pulumi's secret signature, so a producer that forgot to strip the
  plaintext beside the marker still cannot leak it here.
* **Never over the limit, never unbalanced.** A document is a tree of blocks (``<details>``,
  fences) and leaves with priorities; trimming drops whole leaves, lowest priority first,
  and closes every block it opened. The summary table and every mandatory finding go in
  before anything else, and a note says what was left out and where the full plan is.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from html import escape as html_escape
from typing import Any, Final

from stackflow.plan import risk
from stackflow.plan.model import (
    PLAN_PACK,
    Change,
    Diagnostic,
    DiffKind,
    FindingStatus,
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
)
from stackflow.plan.values import (
    SECRET_DISPLAY,
    UNKNOWN_DISPLAY,
    display,
)
from stackflow.render.documents import describe, document_diff

PLAN_MARKER: Final = "<!-- stackflow:plan -->"
"""Hidden marker of the plan comment (one per pull request)."""
ENVIRONMENT_MARKER: Final = "<!-- stackflow:environment -->"
"""Hidden marker of the ephemeral-environment comment."""
DEPLOY_MARKER: Final = "<!-- stackflow:deploy -->"
"""Hidden marker of the deploy-result comment on a merged pull request."""

COMMENT_LIMIT: Final = 65_536
"""GitHub rejects issue and pull-request comments longer than this (characters)."""
SUMMARY_LIMIT_BYTES: Final = 1_000_000
"""GitHub's step summary takes at most 1 MiB (1,048,576 bytes); keep a margin."""

VALUE_WIDTH: Final = 160
"""Longer rendered values are shortened (the full value is in the JSON plan)."""
TEXT_WIDTH: Final = 1_000
"""Longer free text (messages) is shortened."""
DETAIL_LINES: Final = 40
"""At most this many lines of a diagnostic's detail (a failed program's frames)."""


# Tiers: the order in which content is given room (changes before advisory notes).
_ESSENTIAL, _TABLE, _MANDATORY, _RISK, _DETAIL, _ADVISORY = 0, 1, 2, 3, 4, 5

# Operations in the order a reviewer should read them: destructive first.
_OP_ORDER: Final = (Op.DELETE, Op.REPLACE, Op.UPDATE, Op.CREATE, Op.IMPORT, Op.READ)
_OP_SIGN: Final = {
    Op.DELETE: "-",
    Op.REPLACE: "+-",
    Op.UPDATE: "!",
    Op.CREATE: "+",
    Op.IMPORT: "+",
    Op.READ: " ",
}
_OP_VERB: Final = {
    Op.DELETE: "to delete",
    Op.REPLACE: "to replace",
    Op.UPDATE: "to update",
    Op.CREATE: "to create",
    Op.IMPORT: "to import",
    Op.READ: "to read",
}
_KIND_SIGN: Final = {DiffKind.ADD: "+", DiffKind.DELETE: "-", DiffKind.UPDATE: "!"}


# --------------------------------------------------------------------------- escaping


def _visible(text: str) -> str:
    """Control, format (bidi overrides, zero-width) and separator characters as escapes,
    so nothing invisible can reorder or hide what a reviewer reads."""
    out = []
    for ch in text:
        if ch == "\n" or ch == "\t":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def _shorten(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    keep = max(width - 20, 10)
    return f"{text[:keep]}… ({len(text):,} chars)"


_MD_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>&\"':=$^])")
_MENTION = re.compile(r"@(?=\w)")


def md_text(text: str, *, width: int = TEXT_WIDTH) -> str:
    """Free text for Markdown: every ASCII punctuation that could start markup is
    backslash-escaped (so no HTML, link, emphasis, table cell or autolink), and ``@name``
    cannot notify anyone."""
    escaped = _MD_PUNCT.sub(r"\\\1", _visible(_shorten(text, width)))
    return _MENTION.sub("@\u2060", escaped)


_CODE_IN_TEXT = re.compile(r"`([^`\n]{1,200})`")


def md_message(text: str) -> str:
    """A policy or engine message: backtick spans become code spans, the rest is
    :func:`md_text`. Messages name the setting to change in backticks; keep that."""
    parts: list[str] = []
    pos = 0
    text = _shorten(text, TEXT_WIDTH)
    for match in _CODE_IN_TEXT.finditer(text):
        parts.append(md_text(text[pos : match.start()]))
        parts.append(md_code(match.group(1)))
        pos = match.end()
    parts.append(md_text(text[pos:]))
    return "".join(parts)


def md_code(text: str, *, in_table: bool = False, width: int = 200) -> str:
    """An identifier as a code span; the fence is longer than any backtick run inside."""
    body = _visible(_shorten(text, width))
    if in_table:
        body = body.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end of a span that starts and ends with one:
    # pad such a body, and one at a backtick or blank, so the span shows it exactly.
    edges = body[:1] + body[-1:]
    pad = " " if "`" in edges or edges == "  " or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def html_text(text: str, *, width: int = 200) -> str:
    """Text inside an HTML block (e.g. ``<summary>``), where Markdown is not parsed."""
    return _MENTION.sub("@\u2060", html_escape(_visible(_shorten(text, width)), quote=True))


# ----------------------------------------------------------------------------- values


def format_value(value: Any, *, width: int | None = VALUE_WIDTH, sort_keys: bool = True) -> str:
    """One value on one line: secrets as ``[secret]``, unknowns as ``(known after
    deploy)``, strings quoted, structures as compact JSON, longer than ``width`` shortened
    (``None``: shown whole). ``sort_keys=False`` keeps a document's own key order."""
    shown = display(value)
    if shown in (SECRET_DISPLAY, UNKNOWN_DISPLAY) and not isinstance(value, str):
        text = str(shown)
    else:
        text = json.dumps(shown, ensure_ascii=False, sort_keys=sort_keys, default=str)
    return _visible(_shorten(text, width))


# ------------------------------------------------------------------- document & fitting


@dataclass(slots=True)
class _Leaf:
    text: str
    tier: int
    kind: str = ""
    """What one left-out leaf counts as in the note ("resource change", ...)."""


@dataclass(slots=True)
class _Block:
    """A construct that must be closed once opened (``<details>``, a fence, a list
    heading). Emitted only when at least one leaf inside it is."""

    open: str
    close: str
    children: list[_Leaf | _Block] = field(default_factory=list)


@dataclass(slots=True)
class _Note:
    """Where the "left out" note goes; rendered last, from what was dropped."""


_Part = _Leaf | _Block | _Note


def _leaves(
    parts: Iterable[_Part], path: tuple[int, ...] = ()
) -> Iterable[tuple[_Leaf, tuple[int, ...]]]:
    for part in parts:
        if isinstance(part, _Leaf):
            yield part, path
        elif isinstance(part, _Block):
            yield from _leaves(part.children, (*path, id(part)))


def _blocks(parts: Iterable[_Part]) -> dict[int, _Block]:
    found: dict[int, _Block] = {}
    for part in parts:
        if isinstance(part, _Block):
            found[id(part)] = part
            found.update(_blocks(part.children))
    return found


def _emit(parts: Iterable[_Part], chosen: set[int], note: str, out: list[str]) -> bool:
    """Write the chosen leaves and the blocks around them; True when anything was written."""
    wrote = False
    for part in parts:
        if isinstance(part, _Leaf):
            if id(part) in chosen:
                out.append(part.text)
                wrote = True
        elif isinstance(part, _Note):
            out.append(note)
        else:
            mark = len(out)
            out.append(part.open)
            if _emit(part.children, chosen, note, out):
                out.append(part.close)
                wrote = True
            else:
                del out[mark:]
    return wrote


def _fit(
    parts: list[_Part],
    *,
    limit: int,
    measure: Callable[[str], int],
    note: Callable[[Mapping[str, int]], str],
) -> str:
    """The document with as many leaves as fit in ``limit``: tier by tier, each tier in
    document order, stopping at the first leaf that does not fit (so what is shown is a
    prefix, and what is not is counted in the note)."""
    blocks = _blocks(parts)
    leaves = list(_leaves(parts))
    everything = {id(leaf) for leaf, _ in leaves}
    full: list[str] = []
    _emit(parts, everything, "", full)
    if measure("".join(full)) <= limit:
        return "".join(full)

    totals: dict[str, int] = {}
    for leaf, _ in leaves:
        if leaf.tier > _ESSENTIAL:
            totals[leaf.kind] = totals.get(leaf.kind, 0) + 1
    reserve = measure(note(totals)) + 64
    chosen: set[int] = set()
    opened: set[int] = set()
    used = reserve

    def cost(leaf: _Leaf, path: tuple[int, ...]) -> int:
        wrappers = sum(measure(blocks[b].open + blocks[b].close) for b in path if b not in opened)
        return measure(leaf.text) + wrappers

    for tier in sorted({leaf.tier for leaf, _ in leaves}):
        for leaf, path in leaves:
            if leaf.tier != tier:
                continue
            needed = cost(leaf, path)
            if tier > _ESSENTIAL and used + needed > limit:
                break
            used += needed
            chosen.add(id(leaf))
            opened.update(path)
        else:
            continue
        break

    left_out: dict[str, int] = {}
    for leaf, _ in leaves:
        if id(leaf) not in chosen:
            left_out[leaf.kind] = left_out.get(leaf.kind, 0) + 1
    out: list[str] = []
    _emit(parts, chosen, note(left_out), out)
    return "".join(out)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _left_out_note(where: str) -> Callable[[Mapping[str, int]], str]:
    def note(left_out: Mapping[str, int]) -> str:
        if not left_out:
            return ""
        what = ", ".join(_plural(n, kind) for kind, n in left_out.items() if n)
        alarm = "⚠️ " if left_out.get("mandatory finding") else ""
        return (
            f"> [!NOTE]\n> {alarm}**Shortened to fit GitHub's limit.** Left out: {what}. "
            f"{where}\n\n"
        )

    return note


# ------------------------------------------------------------------------- plan parts


def _counts(stack: StackPlan) -> dict[str, int]:
    counts = {op.value: 0 for op in Op}
    for change in stack.changes:
        counts[change.op.value] += 1
    for op, n in stack.counts.items():
        if op in counts and n > counts[op]:
            counts[op] = n
    return counts


def _listed_changes(stack: StackPlan) -> list[Change]:
    return [c for c in stack.changes if c.op is not Op.SAME]


def _change_phrase(counts: Mapping[str, int]) -> str:
    words = [
        f"{counts[op.value]:,} {_OP_VERB[op]}"
        for op in (Op.CREATE, Op.UPDATE, Op.REPLACE, Op.DELETE, Op.IMPORT)
        if counts.get(op.value)
    ]
    return ", ".join(words) if words else "no changes"


def _findings(stack: StackPlan, level: Level) -> list[PolicyFinding]:
    """Blocking findings for MANDATORY; for ADVISORY, every other finding still present
    (advisory ones, and mandatory ones the base already had)."""
    if level is Level.MANDATORY:
        return list(stack.mandatory_findings)
    return [f for f in stack.policy if not f.blocks and f.status is not FindingStatus.FIXED]


def _fixed(stack: StackPlan) -> list[PolicyFinding]:
    return [f for f in stack.policy if f.status is FindingStatus.FIXED]


_STATUS_NOTE = {
    FindingStatus.NEW: " *(new)*",
    FindingStatus.EXISTING: " *(the base has it too)*",
    FindingStatus.FIXED: " *(fixed by this change)*",
}


def _pack_findings(stack: StackPlan, level: Level) -> list[PolicyFinding]:
    """Findings of a policy pack (not those the plan raises itself, shown in the review)."""
    return [f for f in _findings(stack, level) if f.pack != PLAN_PACK]


def _verdict(plan: Plan) -> str:
    mandatory = sum(len(s.mandatory_findings) for s in plan.stacks)
    failed = [s for s in plan.stacks if s.has_errors]
    totals = {op.value: 0 for op in Op}
    for stack in plan.stacks:
        for op, n in _counts(stack).items():
            totals[op] += n
    advisory = sum(len(_findings(s, Level.ADVISORY)) for s in plan.stacks)
    advisory_note = f"; {_plural(advisory, 'advisory finding')}" if advisory else ""
    if not plan.stacks:
        return "**✅ No stacks are affected by this change.**\n\n"
    if failed:
        return (
            f"**❌ {_plural(len(failed), 'stack')} could not be planned** — see the errors "
            "below; nothing was checked for those stacks.\n\n"
        )
    protected = sum(len(risk.protected(s)) for s in plan.stacks)
    if protected:
        return (
            f"**❌ Blocked: this change would delete or replace "
            f"{_plural(protected, 'protected resource')}.** The engine refuses, so the deploy "
            "would fail; see below for what to do.\n\n"
        )
    if mandatory:
        stacks = sum(1 for s in plan.stacks if s.has_mandatory_violations)
        return (
            f"**❌ Blocked: {_plural(mandatory, 'mandatory policy violation')} in "
            f"{_plural(stacks, 'stack')}.** They must be fixed before merging.\n\n"
        )
    removed = [s for s in plan.stacks if "removed" in s.labels]
    if removed:
        return (
            f"**⚠️ Review before merging:** {_plural(len(removed), 'stack file')} deleted; "
            "nothing is destroyed and their resources stay deployed (below).\n\n"
        )
    if not any(s.has_changes for s in plan.stacks):
        return f"**✅ No changes** in {_plural(len(plan.stacks), 'stack')}{advisory_note}.\n\n"
    destructive = [
        r for s in plan.stacks for r in risk.review(s) if r.change.op in (Op.DELETE, Op.REPLACE)
    ]
    if destructive:
        loss = sum(1 for r in destructive if r.stateful)
        holding = f", {loss:,} of them holding data" if loss else ""
        return (
            f"**⚠️ Review before merging:** {_change_phrase(totals)}; "
            f"{_plural(len(destructive), 'resource')} deleted or replaced{holding} "
            "(listed below).\n\n"
        )
    return (
        f"**✅ Ready to merge:** {_change_phrase(totals)}; "
        f"no mandatory policy violations{advisory_note}.\n\n"
    )


def _table(plan: Plan) -> _Block:
    rows = _Block(
        "| Stack | Create | Update | Replace | Delete | Mandatory | Advisory |\n"
        "| :-- | --: | --: | --: | --: | --: | --: |\n",
        "\n",
    )
    for stack in plan.stacks:
        counts = _counts(stack)
        mandatory = len(stack.mandatory_findings)
        failed = stack.has_errors and not stack.has_changes
        cells = [
            md_code(stack.key, in_table=True)
            + _badges(stack)
            + (" ❌ **failed**" if failed else ""),
            *(
                "-" if failed else f"{counts[op.value]:,}"
                for op in (Op.CREATE, Op.UPDATE, Op.REPLACE, Op.DELETE)
            ),
            f"**{mandatory:,}** ❌" if mandatory else "0",
            f"{len(_findings(stack, Level.ADVISORY)):,}",
        ]
        rows.children.append(_Leaf("| " + " | ".join(cells) + " |\n", _TABLE, "table row"))
    return rows


_BADGES: Final = {
    "new": "🆕 new",
    "removed": "🗑️ removed",
    "not-in-promotion": "not deployed on merge",
    "drift-unchecked": "⚠️ drift not checked for some resources",
}


def _badges(stack: StackPlan) -> str:
    """The stack's labels after its name in the table."""
    return "".join(f" · {_BADGES.get(label, md_text(label))}" for label in stack.labels)


class _Labels:
    """How findings name resources: by name and type when the plan lists the resource,
    else by the last segment of its URN."""

    def __init__(self, stack: StackPlan) -> None:
        self.stack = stack
        self._by_urn = {c.urn: c for c in stack.changes}

    def __call__(self, urn: str | None) -> str:
        if urn is None:
            return "the stack"
        change = self._by_urn.get(urn)
        if change is not None:
            return f"{md_code(change.name)} ({md_code(change.type)})"
        return md_code(urn.rsplit("::", 1)[-1])


def _finding_line(label: _Labels, finding: PolicyFinding) -> str:
    icon = "❌" if finding.blocks else "⚠️"
    if finding.status is not None:
        icon = "✅" if finding.status is FindingStatus.FIXED else icon
    note = _STATUS_NOTE[finding.status] if finding.status is not None else ""
    return (
        f"- {icon} {md_code(label.stack.key)} · {md_code(finding.policy)} on "
        f"{label(finding.urn)}: {md_message(finding.message)}{note}\n"
    )


def _diagnostic_line(label: _Labels, diagnostic: Diagnostic) -> str:
    stack = label.stack
    where = f" ({label(diagnostic.urn)})" if diagnostic.urn else ""
    line = (
        f"- {md_code(stack.key)} {md_text(diagnostic.severity)}{where}: "
        f"{md_message(diagnostic.message)}\n"
    )
    if diagnostic.detail:
        # Indented four spaces inside the fence (and two for the list item): no line of
        # the program's text can close the fence or start markup.
        body = "".join(
            f"      {_visible(_shorten(text, TEXT_WIDTH))}\n"
            for text in diagnostic.detail.splitlines()[:DETAIL_LINES]
        )
        line += f"  ```text\n{body}  ```\n"
    return line


def _diff_body(diff: PropertyDiff, width: int | None, *, sort_keys: bool = True) -> str:
    path = _visible(_shorten(diff.path, 120))
    prefix = f"{path}: " if path else ""

    def value(v: Any) -> str:
        return format_value(v, width=width, sort_keys=sort_keys)

    if diff.kind is DiffKind.ADD:
        return f"{prefix}{value(diff.new)}"
    if diff.kind is DiffKind.DELETE:
        return f"{prefix}{value(diff.old)}"
    return f"{prefix}{value(diff.old)} → {value(diff.new)}"


def _diff_line(sign: str, diff: PropertyDiff, width: int | None) -> str:
    forces = "  (forces replacement)" if diff.replace else ""
    first = _KIND_SIGN.get(diff.kind, sign)
    document = document_diff(diff)
    if document is None:
        return f"{first}     {_diff_body(diff, width)}{forces}\n"
    path = _visible(_shorten(diff.path, 120))
    lines = [f"{first}     {path}: {describe(document)}{forces}\n"]
    lines.extend(
        f"{_KIND_SIGN[d.kind]}         {_diff_body(d, width, sort_keys=False)}\n"
        for d in document.diffs
    )
    return "".join(lines)


def _change_text(change: Change, width: int | None) -> str:
    sign = _OP_SIGN[change.op]
    head = f"{sign} {_visible(_shorten(change.type, 120))}  {_visible(_shorten(change.name, 120))}"
    if change.old_urn:
        head += f"  (was {_visible(_shorten(change.old_urn.rsplit('::', 1)[-1], 120))})"
    if change.source_position:
        head += f"  @ {_visible(_shorten(change.source_position, 160))}"
    lines = [head + "\n"]
    if change.op is not Op.DELETE:
        lines.extend(_diff_line(sign, d, width) for d in change.diffs)
    return "".join(lines)


def _output_text(output: OutputChange, width: int | None) -> str:
    name = _visible(_shorten(output.name, 120))
    if output.op is Op.CREATE:
        return f"+ {name}: {format_value(output.new, width=width)}\n"
    if output.op is Op.DELETE:
        return f"- {name}: {format_value(output.old, width=width)}\n"
    old, new = format_value(output.old, width=width), format_value(output.new, width=width)
    return f"! {name}: {old} → {new}\n"


def _stack_details(stack: StackPlan, *, open_: bool, width: int | None) -> _Block:
    label = _Labels(stack)
    counts = _counts(stack)
    advisory = _pack_findings(stack, Level.ADVISORY)
    extra = f" · {_plural(len(advisory), 'advisory finding')}" if advisory else ""
    mandatory = len(stack.mandatory_findings)
    if mandatory:
        extra += f" · {_plural(mandatory, 'mandatory violation')} (above)"
    failed = stack.has_errors and not stack.has_changes
    phrase = "failed: could not be planned" if failed else _change_phrase(counts)
    summary = (
        f"<details{' open' if open_ else ''}>\n<summary><b>{html_text(stack.key)}</b> · "
        f"{html_text(phrase)}{html_text(extra)}</summary>\n\n"
    )
    details = _Block(summary, "</details>\n\n")
    if advisory:
        section = _Block("**Advisory findings**\n\n", "\n")
        section.children.extend(
            _Leaf(_finding_line(label, f), _ADVISORY, "advisory finding") for f in advisory
        )
        details.children.append(section)
    fixed = _fixed(stack)
    if fixed:
        section = _Block("**Findings this change fixes**\n\n", "\n")
        section.children.extend(
            _Leaf(_finding_line(label, f), _ADVISORY, "fixed finding") for f in fixed
        )
        details.children.append(section)
    changes = _listed_changes(stack)
    if changes:
        fence = _Block("**Changes**\n\n```diff\n", "```\n\n")
        for op in _OP_ORDER:
            group = [c for c in changes if c.op is op]
            if group:
                heading = _Block(f"# {len(group):,} {_OP_VERB[op]}\n", "")
                heading.children.extend(
                    _Leaf(_change_text(c, width), _DETAIL, "resource change") for c in group
                )
                fence.children.append(heading)
        details.children.append(fence)
    if stack.outputs:
        fence = _Block("**Outputs**\n\n```diff\n", "```\n\n")
        fence.children.extend(
            _Leaf(_output_text(o, width), _DETAIL, "output change") for o in stack.outputs
        )
        details.children.append(fence)
    notes = [d for d in stack.diagnostics if d.severity != "error"]
    if notes:
        section = _Block("**Diagnostics**\n\n", "\n")
        section.children.extend(
            _Leaf(_diagnostic_line(label, d), _ADVISORY, "diagnostic") for d in notes
        )
        details.children.append(section)
    return details


def _short_sha(sha: str) -> str:
    return md_code(sha[:7] if re.fullmatch(r"[0-9a-fA-F]{8,64}", sha) else sha, width=40)


def _footer(plan: Plan) -> str:
    bases = sorted({s.base for s in plan.stacks if s.base})
    heads = sorted({s.head for s in plan.stacks if s.head})
    base = ", ".join(_short_sha(b) for b in bases) or "the stack's state"
    head = ", ".join(_short_sha(h) for h in heads) or "the working tree"
    sources = {s.source for s in plan.stacks}
    kinds = []
    if Source.OFFLINE in sources:
        kinds.append(
            "offline plan (credential-free: synthesized from the code, no cloud calls; "
            "values the cloud decides show as known after deploy)"
        )
    if Source.ENGINE in sources:
        kinds.append("engine preview (the Pulumi engine against the stack's state)")
    kind = " and ".join(kinds) or "no stacks"
    return f"<sub>stackflow · {base}..{head} · {kind}</sub>\n"


UNCHANGED_INLINE = 10
"""Up to this many checked-and-unchanged stacks are listed in one line; more collapse."""


def _unchanged_part(stacks: list[StackPlan]) -> _Part:
    """The stacks ``stackflow affected`` checked and found unchanged: one line, or one
    collapsed list when there are many (a hundred stacks are not a hundred table rows)."""
    names = ", ".join(md_code(s.key) for s in stacks)
    title = f"Checked and unchanged ({len(stacks):,})"
    if len(stacks) <= UNCHANGED_INLINE:
        return _Leaf(f"{title}: {names}\n\n", _TABLE, "unchanged stack list")
    block = _Block(f"<details>\n<summary>{title}</summary>\n\n", "\n</details>\n\n")
    block.children.append(_Leaf(names + "\n", _DETAIL, "unchanged stack list"))
    return block


def _downstream_part(plan: Plan) -> _Part | None:
    """Per stack whose outputs change, the stacks that read them (directly or through
    others), from the stack graph the plans carry (:attr:`StackPlan.reads`)."""
    from stackflow.graph import StackGraph

    graph = StackGraph(reads={s.key: s.reads for s in plan.stacks})
    unchanged = {s.key for s in plan.stacks if "unchanged" in s.labels}
    section = _Block("### Downstream\n\n", "\n")
    for stack in plan.stacks:
        readers = graph.dependents(stack.key) if stack.outputs else ()
        if not readers:
            continue
        names = ", ".join(
            f"{md_code(r)} ({'checked: unchanged' if r in unchanged else 'planned here'})"
            for r in readers
        )
        line = f"- {md_code(stack.key)} outputs change; read by {names}\n"
        section.children.append(_Leaf(line, _RISK, "downstream stack"))
    return section if section.children else None


def _reconciliation_part(plan: Plan) -> _Part | None:
    """Per stack whose engine preview replaced its offline plan: both, and the engine's
    changes this pull request's code does not explain (:mod:`stackflow.plan.reconcile`)."""
    section = _Block("### Code diff vs state diff\n\n", "\n")
    for stack in plan.stacks:
        known = stack.reconciliation
        if known is None:
            continue
        head = (
            f"- {md_code(stack.key)}: this pull request's code (offline plan): "
            f"{html_text(_change_phrase(known.offline_counts))}; the engine preview against "
            f"the stack's state: {html_text(_change_phrase(_counts(stack)))}."
        )
        if not known.unexplained:
            line = f"{head} Everything in the preview is from this pull request.\n"
            section.children.append(_Leaf(line, _RISK, "reconciled stack"))
            continue
        block = _Block(
            f"{head} Not from this pull request (drift, or merged but not deployed):\n", ""
        )
        by_urn = {c.urn: c for c in stack.changes}
        label = _Labels(stack)
        for item in known.unexplained:
            change = by_urn.get(item.urn)
            what = _OP_VERB_BARE[change.op] if change is not None else "changes"
            if item.paths:
                what += " of " + ", ".join(md_code(p) for p in item.paths)
            block.children.append(
                _Leaf(f"  - {label(item.urn)}: {what}\n", _RISK, "change not from this PR")
            )
        section.children.append(block)
    return section if section.children else None


_OP_VERB_BARE: Final = {
    Op.CREATE: "create",
    Op.UPDATE: "update",
    Op.REPLACE: "replace",
    Op.DELETE: "delete",
    Op.IMPORT: "import",
    Op.READ: "read",
    Op.SAME: "no change",
}


def _plan_parts(plan: Plan, *, heading: str, open_details: bool, width: int | None) -> list[_Part]:
    whole = plan
    unchanged = [s for s in plan.stacks if "unchanged" in s.labels]
    plan = Plan(stacks=tuple(s for s in plan.stacks if "unchanged" not in s.labels))
    parts: list[_Part] = [_Leaf(heading + _verdict(plan), _ESSENTIAL), _Note(), _table(plan)]
    if unchanged:
        parts.append(_unchanged_part(unchanged))
    labels = [_Labels(s) for s in plan.stacks]
    errors = [(lb, d) for lb in labels for d in lb.stack.diagnostics if d.severity == "error"]
    if errors:
        section = _Block("### ❌ Errors\n\n", "\n")
        section.children.extend(
            _Leaf(_diagnostic_line(lb, d), _MANDATORY, "error") for lb, d in errors
        )
        parts.append(section)
    blocked = [(lb, f) for lb in labels for f in risk.protected(lb.stack)]
    if blocked:
        section = _Block("### ❌ Protected resources would be deleted or replaced\n\n", "\n")
        section.children.extend(
            _Leaf(_finding_line(lb, f), _MANDATORY, "mandatory finding") for lb, f in blocked
        )
        parts.append(section)
    mandatory = [
        (lb, f) for lb in labels for f in lb.stack.mandatory_findings if f.pack != PLAN_PACK
    ]
    if mandatory:
        section = _Block("### ❌ Mandatory policy violations\n\n", "\n")
        section.children.extend(
            _Leaf(_finding_line(lb, f), _MANDATORY, "mandatory finding") for lb, f in mandatory
        )
        parts.append(section)
    notes = [(lb, note) for lb in labels for note in risk.stack_notes(lb.stack)]
    if notes:
        section = _Block("### Stacks\n\n", "\n")
        section.children.extend(
            _Leaf(f"- {md_message(note)}\n", _MANDATORY, "stack note") for _, note in notes
        )
        parts.append(section)
    parts.extend(_review_parts(labels))
    reconciled = _reconciliation_part(plan)
    if reconciled is not None:
        parts.append(reconciled)
    downstream = _downstream_part(whole)
    if downstream is not None:
        parts.append(downstream)
    parts.extend(
        _stack_details(s, open_=open_details, width=width) for s in plan.stacks if _has_detail(s)
    )
    parts.append(_Leaf(_footer(whole), _ESSENTIAL))
    return parts


def _review_parts(labels: list[_Labels]) -> list[_Part]:
    """Above the fold, after any blocker: what loses data, then every destructive or
    security-relevant change with a one-line reason (the full diffs stay in the details)."""
    parts: list[_Part] = []
    risks = [(lb, r) for lb in labels for r in risk.review(lb.stack)]
    loss = [(lb, r) for lb, r in risks if r.stateful and r.change.op in (Op.DELETE, Op.REPLACE)]
    if loss:
        section = _Block("### ⚠️ Data loss\n\n", "\n")
        for lb, r in loss:
            line = (
                f"- ⚠️ {md_code(lb.stack.key)} · {md_code(r.change.name)} "
                f"({md_code(r.change.type)}): {md_message(risk.loss_message(lb.stack, r.change))}\n"
            )
            section.children.append(_Leaf(line, _MANDATORY, "data-loss warning"))
        parts.append(section)
    if risks:
        section = _Block("### Destructive and security-relevant changes\n\n", "\n")
        for lb, r in risks:
            marks = ("🗄️ " if r.stateful else "") + ("🔐 " if r.security else "")
            line = (
                f"- `{_OP_SIGN[r.change.op]}` {marks}{md_code(lb.stack.key)} · "
                f"{md_code(r.change.name)} ({md_code(r.change.type)}): {md_message(r.reason)}\n"
            )
            section.children.append(_Leaf(line, _RISK, "risky change"))
        parts.append(section)
    return parts


def _has_detail(stack: StackPlan) -> bool:
    return bool(
        _listed_changes(stack)
        or stack.outputs
        or _pack_findings(stack, Level.ADVISORY)
        or _fixed(stack)
        or any(d.severity != "error" for d in stack.diagnostics)
    )


def render_comment(
    plan: Plan, *, details_url: str | None = None, limit: int = COMMENT_LIMIT, full: bool = False
) -> str:
    """The sticky pull-request comment: at most ``limit`` characters of balanced Markdown,
    starting with :data:`PLAN_MARKER`. Values longer than :data:`VALUE_WIDTH` are
    shortened unless ``full``."""
    where = (
        f"The full plan is in the [job summary]({_safe_url(details_url)}) and the run's "
        "`plan-*` artifacts."
        if details_url and _safe_url(details_url)
        else "The full plan is in the workflow run's job summary and its `plan-*` artifacts."
    )
    parts = _plan_parts(
        plan,
        heading=f"{PLAN_MARKER}\n## stackflow plan\n\n",
        open_details=False,
        width=None if full else VALUE_WIDTH,
    )
    return _fit(parts, limit=limit, measure=len, note=_left_out_note(where))


def render_summary(plan: Plan, *, limit_bytes: int = SUMMARY_LIMIT_BYTES, full: bool = True) -> str:
    """The job summary: the same content as the comment with a single stack's details
    open, every value whole (unless ``full=False``), bounded by GitHub's step-summary
    size (UTF-8 bytes)."""
    parts = _plan_parts(
        plan,
        heading="## stackflow plan\n\n",
        open_details=len(plan.stacks) == 1,
        width=None if full else VALUE_WIDTH,
    )
    return _fit(
        parts,
        limit=limit_bytes,
        measure=lambda text: len(text.encode("utf-8")),
        note=_left_out_note("The full plan is in the workflow run's `plan-*` artifacts (JSON)."),
    )


_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&'*+,;=:@/\-?#]*)?")


def _safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) URL that cannot break out of a link; else None."""
    if url and _URL.fullmatch(url):
        return url.replace("(", "%28").replace(")", "%29")
    return None


# ---------------------------------------------------------------- environment, deploy


def render_environment(report: EnvironmentReport, *, limit: int = COMMENT_LIMIT) -> str:
    """The environment comment (:data:`ENVIRONMENT_MARKER`): status, URL, outputs, TTL."""
    title = {
        EnvironmentStatus.READY: "🟢 Preview environment is up",
        EnvironmentStatus.DESTROYED: "⚪ Preview environment destroyed",
        EnvironmentStatus.FAILED: "🔴 Preview environment failed",
    }[report.status]
    at = f" at {_short_sha(report.head)}" if report.head else ""
    head = (
        f"{ENVIRONMENT_MARKER}\n## {title}\n\n"
        f"Stack {md_code(report.project + '/' + report.stack)} for branch "
        f"{md_code(report.branch)}{at}.\n\n"
    )
    ready = report.status is EnvironmentStatus.READY
    url = _safe_url(report.url)
    if report.url and ready:
        head += f"**URL:** <{url}>\n\n" if url else f"**URL:** {md_code(report.url)}\n\n"
    if report.message:
        head += md_message(report.message) + "\n\n"
    parts: list[_Part] = [_Leaf(head, _ESSENTIAL), _Note()]
    if report.outputs and ready:
        table = _Block("| Output | Value |\n| :-- | :-- |\n", "\n")
        table.children.extend(
            _Leaf(
                f"| {md_code(name, in_table=True)} | "
                f"{md_code(format_value(report.outputs[name]), in_table=True)} |\n",
                _DETAIL,
                "output",
            )
            for name in sorted(report.outputs)
        )
        parts.append(table)
    tail = ""
    if report.expires_at and ready:
        when = report.expires_at.strftime("%Y-%m-%d %H:%M %Z").strip()
        extend = (
            f" To keep it longer, add a label {md_code(report.ttl_label_prefix + '<hours>')}."
            if report.ttl_label_prefix
            else ""
        )
        tail += f"⏳ Destroyed automatically after **{md_text(when)}**.{extend}\n\n"
    if report.status is not EnvironmentStatus.DESTROYED:
        tail += "<sub>Closing the pull request destroys the environment.</sub>\n"
    parts.append(_Leaf(tail, _ESSENTIAL))
    where = "All outputs: `pulumi stack output --stack` " + md_code(report.stack) + "."
    return _fit(parts, limit=limit, measure=len, note=_left_out_note(where))


_DEPLOY_ICON: Final = {
    DeployStatus.SUCCEEDED: "✅",
    DeployStatus.FAILED: "❌",
    DeployStatus.SKIPPED: "⏭️",
}


def render_deploy(report: DeployReport, *, limit: int = COMMENT_LIMIT) -> str:
    """The deploy-result comment on the merged pull request (:data:`DEPLOY_MARKER`)."""
    failed = [s for s in report.stacks if s.status is DeployStatus.FAILED]
    if failed:
        verdict = f"❌ Deploy failed on {_plural(len(failed), 'stack')}"
    elif report.stacks:
        verdict = f"✅ Deployed {_plural(len(report.stacks), 'stack')}"
    else:
        verdict = "✅ Nothing to deploy: no stack is affected"
    at = f" at {_short_sha(report.head)}" if report.head else ""
    parts: list[_Part] = [_Leaf(f"{DEPLOY_MARKER}\n## {verdict}{at}\n\n", _ESSENTIAL), _Note()]
    if report.stacks:
        table = _Block("| Stack | Result | Changes | Duration |\n| :-- | :-- | :-- | --: |\n", "\n")
        for s in report.stacks:
            took = f"{s.duration_seconds:,.0f} s" if s.duration_seconds is not None else "-"
            table.children.append(
                _Leaf(
                    f"| {md_code(s.project + '/' + s.stack, in_table=True)} | "
                    f"{_DEPLOY_ICON[s.status]} {s.status.value} | "
                    f"{md_text(_change_phrase(s.counts))} | {took} |\n",
                    _TABLE,
                    "table row",
                )
            )
        parts.append(table)
    errors = _Block("", "\n")
    errors.children.extend(
        _Leaf(
            f"- {md_code(s.project + '/' + s.stack)}: {md_message(s.message)}\n",
            _MANDATORY,
            "error",
        )
        for s in failed
        if s.message
    )
    parts.append(errors)
    url = _safe_url(report.run_url)
    if url:
        parts.append(_Leaf(f"<sub>[Workflow run]({url})</sub>\n", _ESSENTIAL))
    where = f"See the [workflow run]({url})." if url else "See the workflow run's log."
    return _fit(parts, limit=limit, measure=len, note=_left_out_note(where))
