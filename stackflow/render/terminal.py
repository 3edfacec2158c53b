"""The plan as a terminal table: what ``stackflow plan`` prints by default.

Per stack: a heading with the revisions, the counts, then each change with its property
paths (old -> new), output changes, policy findings and diagnostics. Values go through
:func:`stackflow.render.markdown.format_value` (secrets as ``[secret]``, unknowns as
``(known after deploy)``, long values shortened), and every name or message from the
program has its control characters escaped, so a hostile resource name cannot drive the
terminal. Colour only when asked (the command asks when standard output is a tty).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import click

from stackflow.plan import risk
from stackflow.plan.model import Change, Level, Op, Plan, PropertyDiff, StackPlan
from stackflow.render.documents import describe, document_diff
from stackflow.render.markdown import format_value

_SYMBOL = {
    Op.CREATE: "+",
    Op.UPDATE: "~",
    Op.REPLACE: "+-",
    Op.DELETE: "-",
    Op.READ: ">",
    Op.IMPORT: "=",
    Op.SAME: " ",
}
_COLOUR = {
    Op.CREATE: "green",
    Op.UPDATE: "yellow",
    Op.REPLACE: "magenta",
    Op.DELETE: "red",
    Op.READ: "cyan",
    Op.IMPORT: "cyan",
    Op.SAME: "white",
}
_COUNTED = (Op.CREATE, Op.UPDATE, Op.REPLACE, Op.DELETE, Op.IMPORT, Op.READ)
VALUE_WIDTH = 80
DOCUMENT_WIDTH = 160
"""A changed part of an embedded document gets more room: it is the point of the line."""


def _clean(text: str) -> str:
    """Text with control characters escaped (``\\x1b`` rather than an escape sequence)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _revision(rev: str | None, *, working_tree: str) -> str:
    return rev[:12] if rev else working_tree


class _Out:
    def __init__(self, *, color: bool) -> None:
        self.color = color
        self.lines: list[str] = []

    def style(self, text: str, *, fg: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold) if self.color else text

    def add(self, line: str = "") -> None:
        self.lines.append(line.rstrip())


def _counts_line(stack: StackPlan) -> str:
    parts = [
        f"{stack.counts.get(op.value, 0)} to {op.value}"
        for op in _COUNTED
        if stack.counts.get(op.value, 0) or op in (Op.CREATE, Op.UPDATE, Op.DELETE)
    ]
    parts.append(f"{stack.counts.get(Op.SAME.value, 0)} unchanged")
    return ", ".join(parts)


def _value_text(diff: PropertyDiff, width: int | None, *, sort_keys: bool = True) -> str:
    def value(v: object) -> str:
        return format_value(v, width=width, sort_keys=sort_keys)

    if diff.kind.value == "add":
        return value(diff.new)
    if diff.kind.value == "delete":
        return f"{value(diff.old)} -> (removed)"
    return f"{value(diff.old)} -> {value(diff.new)}"


def _diff_lines(diff: PropertyDiff, width: int | None) -> list[str]:
    path = _clean(diff.path)
    marker = "  (forces replacement)" if diff.replace else ""
    document = document_diff(diff)
    if document is None:
        return [f"{path}: {_value_text(diff, width)}{marker}"]
    lines = [f"{path}: {describe(document)}{marker}"]
    for inner in document.diffs:
        sign = {"add": "+", "delete": "-", "update": "~"}[inner.kind.value]
        where = f"{_clean(inner.path)}: " if inner.path else ""
        inner_width = None if width is None else max(width, DOCUMENT_WIDTH)
        lines.append(f"  {sign} {where}{_value_text(inner, inner_width, sort_keys=False)}")
    return lines


def _change(out: _Out, change: Change, width: int | None) -> None:
    symbol = out.style(f"{_SYMBOL[change.op]:>2}", fg=_COLOUR[change.op], bold=True)
    op = out.style(f"{change.op.value:<7}", fg=_COLOUR[change.op])
    out.add(f"  {symbol} {op} {_clean(change.type)}  {out.style(_clean(change.name), bold=True)}")
    if change.old_urn:
        out.add(f"             renamed from {_clean(change.old_urn)}")
    for diff in change.diffs:
        for line in _diff_lines(diff, width):
            out.add(f"             {line}")


def _stack(out: _Out, stack: StackPlan, width: int | None) -> None:
    revisions = (
        f"base {_revision(stack.base, working_tree='(nothing)')}"
        f" -> head {_revision(stack.head, working_tree='working tree')}"
    )
    title = out.style(f"{_clean(stack.project)}/{_clean(stack.stack)}", bold=True)
    labels = "".join(f" [{_clean(label)}]" for label in stack.labels)
    failed = out.style("  failed", fg="red", bold=True) if stack.has_errors else ""
    out.add(f"{title}{failed}{labels}  ({stack.source.value}, {revisions})")
    if stack.has_errors and not stack.has_changes:
        out.add("  could not be planned: nothing was checked (the error is below)")
    else:
        out.add(f"  {_counts_line(stack)}")
    for note in risk.stack_notes(stack):
        out.add(f"  {out.style('note:', fg='yellow')} {_clean(note)}")
    if stack.changes:
        out.add()
    for change in stack.changes:
        _change(out, change, width)
    if stack.outputs:
        out.add()
        out.add("  Outputs:")
        for output in stack.outputs:
            symbol = out.style(f"{_SYMBOL[output.op]:>2}", fg=_COLOUR[output.op])
            if output.op is Op.DELETE:
                value = f"{format_value(output.old, width=width)} -> (removed)"
            elif output.op is Op.CREATE:
                value = format_value(output.new, width=width)
            else:
                value = (
                    f"{format_value(output.old, width=width)} -> "
                    f"{format_value(output.new, width=width)}"
                )
            out.add(f"  {symbol} {_clean(output.name)}: {value}")
    if stack.policy:
        out.add()
        out.add("  Policies:")
        for finding in stack.policy:
            level = out.style(
                f"{finding.level.value:<9}",
                fg="red" if finding.level is Level.MANDATORY else "yellow",
                bold=finding.level is Level.MANDATORY,
            )
            where = f" {_clean(finding.urn)}" if finding.urn else ""
            status = f" ({finding.status.value})" if finding.status is not None else ""
            out.add(
                f"    {level} {_clean(finding.policy)}{where}: {_clean(finding.message)}{status}"
            )
    if stack.diagnostics:
        out.add()
        for diagnostic in stack.diagnostics:
            severity = out.style(
                f"{diagnostic.severity}:", fg="red" if diagnostic.severity == "error" else None
            )
            out.add(f"  {severity} {_clean(diagnostic.message)}")
            for line in (diagnostic.detail or "").splitlines():
                out.add(f"      {_clean(line)}")


def _total(stacks: Iterable[StackPlan]) -> str:
    """One line; never "no changes" while a stack failed (nothing was checked there)."""
    stacks = list(stacks)
    failed = sum(1 for s in stacks if s.has_errors)
    totals = {op: sum(s.counts.get(op.value, 0) for s in stacks) for op in _COUNTED}
    parts = [f"{n} to {op.value}" for op, n in totals.items() if n]
    if failed:
        parts.insert(0, f"{failed} {'stack' if failed == 1 else 'stacks'} failed")
    noun = "stack" if len(stacks) == 1 else "stacks"
    return f"Plan: {len(stacks)} {noun}, {', '.join(parts) or 'no changes'}."


def render_table(plan: Plan, *, color: bool = False, full: bool = False) -> str:
    """The plan as plain text (ANSI colours only with ``color=True``), ending in a newline;
    values longer than :data:`VALUE_WIDTH` are shortened unless ``full``."""
    out = _Out(color=color)
    if not plan.stacks:
        return "No stacks to plan: the change touches none.\n"
    for i, stack in enumerate(plan.stacks):
        if i:
            out.add()
        _stack(out, stack, None if full else VALUE_WIDTH)
    out.add()
    out.add(_total(plan.stacks))
    mandatory = sum(len(s.mandatory_findings) for s in plan.stacks)
    if mandatory:
        out.add(out.style(f"{mandatory} mandatory policy violation(s).", fg="red", bold=True))
    errors = sum(1 for s in plan.stacks if s.has_errors)
    if errors:
        out.add(out.style(f"{errors} stack(s) could not be planned.", fg="red", bold=True))
    return "\n".join(out.lines) + "\n"


def columns(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells as aligned plain-text columns (two spaces apart, no trailing blanks);
    the first row is usually the header. No final newline."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
