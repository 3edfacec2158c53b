"""Code diff vs state diff: an engine preview read beside the offline plan of the same
pull request.

The offline plan says what the change's code does (base commit against head commit); the
engine preview says what a deploy would do to the stack's state. They differ when the
state is not the base: drift (someone changed the cloud), or commits merged but not yet
deployed. :func:`reconcile` keeps the engine plan -- a deploy does what it says -- and
records which of its changes the offline plan does not explain, so the comment can list
them as not from this pull request instead of blaming the change for them.

A change is explained when the offline plan changes the same resource (by URN, or by the
URN it had before an alias); of an explained update or replace, the properties the
offline plan does not change (nor a property above or below them) are not explained.
A read is never a change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from stackflow.plan.model import (
    Change,
    Op,
    Plan,
    Reconciliation,
    Source,
    StackPlan,
    Unexplained,
)


def _covered(path: str, by: set[str]) -> bool:
    """``path`` is one of ``by``, or inside one, or holds one."""
    return any(
        path == p or path.startswith((f"{p}.", f"{p}[")) or p.startswith((f"{path}.", f"{path}["))
        for p in by
    )


def _unexplained(change: Change, offline: dict[str, Change]) -> Unexplained | None:
    ours = offline.get(change.urn) or (offline.get(change.old_urn) if change.old_urn else None)
    if ours is None:
        return Unexplained(change.urn)
    if change.op not in (Op.UPDATE, Op.REPLACE) or ours.op is Op.CREATE or not ours.diffs:
        return None  # the change touches the resource and says no more than that
    paths = {d.path for d in ours.diffs}
    extra = sorted({d.path for d in change.diffs if not _covered(d.path, paths)})
    return Unexplained(change.urn, tuple(extra)) if extra else None


def reconcile(offline: StackPlan, engine: StackPlan) -> StackPlan:
    """The engine plan of a stack, with what the offline plan of the change explains."""
    ours: dict[str, Change] = {}
    for c in offline.changes:
        if c.op is not Op.READ:
            ours[c.urn] = c
            if c.old_urn:
                ours[c.old_urn] = c
    unexplained = tuple(
        u
        for c in engine.changes
        if c.op not in (Op.READ, Op.SAME)
        for u in [_unexplained(c, ours)]
        if u is not None
    )
    return replace(
        engine,
        reads=engine.reads or offline.reads,
        reconciliation=Reconciliation(offline_counts=dict(offline.counts), unexplained=unexplained),
    )


def merge_plans(plans: Sequence[Plan]) -> Plan:
    """Several plans as one, a later plan of a stack replacing an earlier one -- except
    that an engine plan replacing an offline plan is reconciled with it."""
    by_key: dict[str, StackPlan] = {}
    for plan in plans:
        for stack in plan.stacks:
            earlier = by_key.get(stack.key)
            if (
                earlier is not None
                and earlier.source is Source.OFFLINE
                and stack.source is Source.ENGINE
                and "unchanged" not in earlier.labels
            ):
                stack = reconcile(earlier, stack)
            by_key[stack.key] = stack
    return Plan(stacks=tuple(sorted(by_key.values(), key=lambda s: s.key)))
