"""Pulumi engine events -> the Plan model (``source: engine``).

The engine reports what it does as a stream of events (``pulumi.automation.events``).
:class:`PlanCollector` is the ``on_event`` callback: it folds that stream into the same
:class:`~stackflow.plan.model.StackPlan` the offline path builds, so a PR comment or a drift
issue reads the same whichever source made it.

How engine values become plan values (see :mod:`stackflow.plan.values`):

* The engine serializes property values with Pulumi's *blinding* encrypter before they
  leave the CLI, so a secret arrives as ``{"4dab...": "1b47...", "ciphertext": "[secret]"}``
  (or as the plain string ``"[secret]"`` in displays). It becomes :data:`BLINDED_SECRET`,
  ``{"$secret": ""}``: a secret marker whose digest is empty because the plaintext never
  reached us, so there is nothing to digest. Whether a secret changed is still known -- the
  engine's own detailed diff says so -- but two blinded markers cannot be compared.
* The computed-value sentinel (``04da6b54-...``) becomes ``{"$unknown": true}``.
* Assets and archives become ``$asset`` / ``$archive`` markers (hash, path or URI; an
  asset's inline text is dropped, its hash kept).

Operations: the engine's three steps of a replacement (``create-replacement``,
``replace``, ``delete-replaced``) fold into one ``replace`` change; ``read-replacement``
into ``read``; ``import-replacement`` into ``import``; ``discard`` (forget without
deleting) into ``delete``. In a refresh, the engine's ``refresh`` step reports its result
op (``update`` when the cloud differs from the state, ``delete`` when the resource is gone,
``same``) on the resource-outputs event; those results are the drift. The root
``pulumi:pulumi:Stack`` resource is not a change: its outputs become output changes.
Default providers (``pulumi:providers:*`` named ``default*``) are plumbing the offline
plan never shows, so they are left out too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pulumi.automation.events import (
    DiffKind as EngineDiffKind,
)
from pulumi.automation.events import (
    EngineEvent,
    OpType,
    StepEventMetadata,
)

from stackflow.plan.model import (
    Change,
    Diagnostic,
    DiffKind,
    Level,
    Op,
    OutputChange,
    PolicyFinding,
    PropertyDiff,
    Source,
    StackPlan,
)
from stackflow.plan.values import ARCHIVE_KEY, ASSET_KEY, secret, unknown
from stackflow.plan.wire import (
    ARCHIVE_SIG,
    ASSET_SIG,
    OUTPUT_SIG,
    RESOURCE_SIG,
    SECRET_SIG,
    SIG_KEY,
    UNKNOWN_SENTINEL,
)

BLINDED_TEXT: Final = "[secret]"

BLINDED_SECRET: Final[dict[str, str]] = secret("")
"""A secret the engine blinded: no digest, because the plaintext never reached us."""

STACK_TYPE: Final = "pulumi:pulumi:Stack"

_OPS: Final[dict[OpType, Op]] = {
    OpType.CREATE: Op.CREATE,
    OpType.UPDATE: Op.UPDATE,
    OpType.DELETE: Op.DELETE,
    OpType.REPLACE: Op.REPLACE,
    OpType.CREATE_REPLACEMENT: Op.REPLACE,
    OpType.DELETE_REPLACED: Op.REPLACE,
    OpType.DISCARD_REPLACED: Op.REPLACE,
    OpType.READ: Op.READ,
    OpType.READ_REPLACEMENT: Op.READ,
    OpType.IMPORT: Op.IMPORT,
    OpType.IMPORT_REPLACEMENT: Op.IMPORT,
    OpType.DISCARD: Op.DELETE,
}
"""Engine step ops -> plan ops. ``same``, ``refresh`` and ``remove-pending-replace`` are
not changes (a refresh's result arrives on the outputs event)."""

_PRECEDENCE: Final = (Op.READ, Op.IMPORT, Op.CREATE, Op.UPDATE, Op.DELETE, Op.REPLACE)

_DIFF_KINDS: Final[dict[EngineDiffKind, tuple[DiffKind, bool]]] = {
    EngineDiffKind.ADD: (DiffKind.ADD, False),
    EngineDiffKind.ADD_REPLACE: (DiffKind.ADD, True),
    EngineDiffKind.DELETE: (DiffKind.DELETE, False),
    EngineDiffKind.DELETE_REPLACE: (DiffKind.DELETE, True),
    EngineDiffKind.UPDATE: (DiffKind.UPDATE, False),
    EngineDiffKind.UPDATE_REPLACE: (DiffKind.UPDATE, True),
}

_LEVELS: Final[dict[str, Level]] = {
    "mandatory": Level.MANDATORY,
    "advisory": Level.ADVISORY,
    "warning": Level.ADVISORY,
    "remediate": Level.REMEDIATE,
    "disabled": Level.DISABLED,
}

_PROGRESS_SYMBOLS: Final[dict[Op, str]] = {
    Op.CREATE: "+",
    Op.UPDATE: "~",
    Op.REPLACE: "+-",
    Op.DELETE: "-",
    Op.READ: ">",
    Op.IMPORT: "=",
}

_COLOR_TAG = re.compile(r"<\{%[^%]*%\}>")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PATH_TOKEN = re.compile(r'\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|([^.\[\]]+)')
_MISSING: Final = object()


def engine_value(value: Any) -> Any:
    """An engine-serialized property value as a plan value (markers, never plaintext)."""
    if isinstance(value, str):
        if value == UNKNOWN_SENTINEL:
            return unknown()
        if value == BLINDED_TEXT:
            return dict(BLINDED_SECRET)
        return value
    if isinstance(value, list):
        return [engine_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    sig = value.get(SIG_KEY)
    if sig == SECRET_SIG:
        return dict(BLINDED_SECRET)
    if sig == ASSET_SIG:
        return {ASSET_KEY: _by_reference(value)}
    if sig == ARCHIVE_SIG:
        return {ARCHIVE_KEY: _by_reference(value)}
    if sig == RESOURCE_SIG:
        return value.get("urn")
    if sig == OUTPUT_SIG:
        if value.get("secret"):
            return dict(BLINDED_SECRET)
        if "value" not in value:
            return unknown()
        return engine_value(value["value"])
    return {k: engine_value(v) for k, v in value.items() if not k.startswith("__")}


def _by_reference(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: value[k] for k in ("hash", "path", "uri") if value.get(k)}


def clean_message(message: str) -> str:
    """An engine message without Pulumi's colour directives or ANSI escapes."""
    return _ANSI.sub("", _COLOR_TAG.sub("", message)).strip()


def _path_tokens(path: str) -> list[str | int]:
    tokens: list[str | int] = []
    for quoted, index, plain in _PATH_TOKEN.findall(path):
        if index:
            tokens.append(int(index))
        else:
            tokens.append(quoted.replace('\\"', '"') if quoted else plain)
    return tokens


def lookup(values: Mapping[str, Any] | None, path: str) -> Any:
    """The value at a Pulumi property path (``tags.owner``, ``rules[0].port``,
    ``tags["a.b"]``) or ``_MISSING``."""
    current: Any = values or {}
    for token in _path_tokens(path):
        in_list = isinstance(token, int) and isinstance(current, list) and token < len(current)
        in_dict = isinstance(token, str) and isinstance(current, dict) and token in current
        if not (in_list or in_dict):
            return _MISSING
        current = current[token]
    return current


def _present(value: Any) -> Any:
    return None if value is _MISSING else engine_value(value)


def property_diffs(meta: StepEventMetadata, *, refresh: bool = False) -> tuple[PropertyDiff, ...]:
    """The changed properties of one step, from the engine's detailed diff when the provider
    gave one, else from its list of changed top-level keys. In a refresh the new values are
    what was read back from the cloud (outputs), not what the program asks for (inputs)."""
    old_inputs = meta.old.inputs if meta.old else None
    old_outputs = meta.old.outputs if meta.old else None
    new_inputs = (meta.new.outputs if refresh else meta.new.inputs) if meta.new else None
    replace_keys = set(meta.keys or ())
    diffs: list[PropertyDiff] = []
    if meta.detailed_diff:
        for path, detail in sorted(meta.detailed_diff.items()):
            kind, replaces = _DIFF_KINDS[detail.diff_kind]
            old_values = old_inputs if detail.input_diff else old_outputs
            diffs.append(
                PropertyDiff(
                    path=path,
                    kind=kind,
                    old=None if kind is DiffKind.ADD else _present(lookup(old_values, path)),
                    new=None if kind is DiffKind.DELETE else _present(lookup(new_inputs, path)),
                    replace=replaces or _path_tokens(path)[0] in replace_keys,
                )
            )
        return tuple(diffs)
    for key in sorted(set(meta.diffs or ()) | replace_keys):
        old = lookup(old_inputs, key)
        if old is _MISSING:
            old = lookup(old_outputs, key)
        new = lookup(new_inputs, key)
        if old is _MISSING and new is _MISSING:
            kind = DiffKind.UPDATE
        elif old is _MISSING:
            kind = DiffKind.ADD
        elif new is _MISSING:
            kind = DiffKind.DELETE
        else:
            kind = DiffKind.UPDATE
        diffs.append(
            PropertyDiff(
                path=key,
                kind=kind,
                old=_present(old),
                new=_present(new),
                replace=key in replace_keys,
            )
        )
    return tuple(diffs)


def created_properties(meta: StepEventMetadata) -> tuple[PropertyDiff, ...]:
    """A new resource's inputs, one ``add`` per top-level key, as the reviewer's view of
    what is being created."""
    inputs = (meta.new.inputs if meta.new else None) or {}
    return tuple(
        PropertyDiff(path=key, kind=DiffKind.ADD, new=engine_value(value))
        for key, value in sorted(inputs.items())
        if not key.startswith("__")
    )


def value_diffs(old: Any, new: Any, path: str = "") -> list[PropertyDiff]:
    """Differences between two state snapshots, used for refresh results when the engine
    sends no detailed diff (old outputs vs outputs read back from the cloud)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[PropertyDiff] = []
        for key in sorted(set(old) | set(new)):
            if key.startswith("__"):
                continue
            sub = f"{path}.{key}" if path else key
            if key not in old:
                out.append(PropertyDiff(sub, DiffKind.ADD, new=engine_value(new[key])))
            elif key not in new:
                out.append(PropertyDiff(sub, DiffKind.DELETE, old=engine_value(old[key])))
            else:
                out.extend(value_diffs(old[key], new[key], sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out.extend(value_diffs(a, b, f"{path}[{i}]"))
        return out
    if engine_value(old) == engine_value(new):
        return []
    return [PropertyDiff(path or "(value)", DiffKind.UPDATE, engine_value(old), engine_value(new))]


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _is_plumbing(meta: StepEventMetadata) -> bool:
    return meta.type.startswith("pulumi:providers:") and _name(meta.urn).startswith("default")


@dataclass
class _Pending:
    type: str
    op: Op
    diffs: dict[str, PropertyDiff] = field(default_factory=dict)
    old_urn: str | None = None


def _option_diffs(meta: StepEventMetadata) -> list[PropertyDiff]:
    """``protect`` / ``retainOnDelete`` turned on or off, as the offline diff shows them
    (``[protect]``): the engine's step is ``same``, but turning protection off is how a
    deletion starts."""
    old, new = meta.old, meta.new
    if old is None or new is None:
        return []
    return [
        PropertyDiff(path, DiffKind.UPDATE, old=bool(before), new=bool(after))
        for path, before, after in (
            ("[protect]", old.protect, new.protect),
            ("[retainOnDelete]", old.retain_on_delete, new.retain_on_delete),
        )
        if bool(before) != bool(after)
    ]


def _old_urn(meta: StepEventMetadata) -> str | None:
    """The URN the resource had before an alias renamed or re-parented it."""
    old = meta.old.urn if meta.old is not None else None
    return old if old and old != meta.urn else None


ProgressFn = Callable[[str], None]


class PlanCollector:
    """The ``on_event`` callback of one engine run; :meth:`plan` is the result.

    ``refresh`` says the run is a refresh, whose changes arrive on outputs events.
    ``on_progress`` gets one human line per resource operation as it starts (for stderr).
    Thread-safe: the Automation API may deliver events from a gRPC worker thread.
    """

    def __init__(
        self,
        *,
        project: str,
        stack: str,
        environment: str | None = None,
        refresh: bool = False,
        on_progress: ProgressFn | None = None,
    ) -> None:
        self.project = project
        self.stack = stack
        self.environment = environment
        self.refresh = refresh
        self.on_progress = on_progress
        self._lock = threading.Lock()
        self._changes: dict[str, _Pending] = {}
        self._same: set[str] = set()
        self._outputs: dict[str, OutputChange] = {}
        self._policy: list[PolicyFinding] = []
        self._diagnostics: list[Diagnostic] = []
        self.summary: dict[str, int] | None = None
        self.failed: list[str] = []

    def __call__(self, event: EngineEvent) -> None:
        with self._lock:
            self._handle(event)

    def feed(self, events: Iterable[EngineEvent]) -> PlanCollector:
        for event in events:
            self(event)
        return self

    def _handle(self, event: EngineEvent) -> None:
        if event.resource_pre_event is not None:
            self._step(event.resource_pre_event.metadata, outputs_event=False)
        elif event.res_outputs_event is not None:
            self._step(event.res_outputs_event.metadata, outputs_event=True)
        elif event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            self.failed.append(meta.urn)
            self._progress(f"  x {meta.op.value} {meta.type} {_name(meta.urn)} failed")
        elif event.policy_event is not None:
            p = event.policy_event
            self._policy.append(
                PolicyFinding(
                    policy=p.policy_name,
                    level=_LEVELS.get(p.enforcement_level.lower(), Level.ADVISORY),
                    message=clean_message(p.message),
                    urn=p.resource_urn or None,
                    pack=p.policy_pack_name or "stackflow",
                )
            )
        elif event.diagnostic_event is not None:
            d = event.diagnostic_event
            if d.severity in ("error", "warning") and not d.ephemeral:
                message = clean_message(d.message)
                if message:
                    self._diagnostics.append(Diagnostic(d.severity, message, d.urn or None))
        elif event.summary_event is not None:
            self.summary = {str(k): int(v) for k, v in event.summary_event.resource_changes.items()}

    def _step(self, meta: StepEventMetadata, *, outputs_event: bool) -> None:
        if meta.type == STACK_TYPE:
            self._stack_outputs(meta, outputs_event=outputs_event)
            return
        if _is_plumbing(meta):
            return
        if self.refresh:
            if not outputs_event:
                return
            op = _OPS.get(meta.op)
            if op is None:
                self._same.add(meta.urn)
                return
            diffs = property_diffs(meta, refresh=True) if meta.detailed_diff else ()
            if op is Op.UPDATE and not diffs:
                old = meta.old.outputs if meta.old else None
                new = meta.new.outputs if meta.new else None
                diffs = tuple(value_diffs(old or {}, new or {}))
            self._record(meta, op, diffs)
            return
        if outputs_event:
            return
        op = _OPS.get(meta.op)
        if op is None:
            if meta.op is not OpType.SAME:
                return
            # A rename through an alias, or protect turned on or off, is a "same" step to
            # the engine; the plan shows it as an update, as the offline plan does.
            options, old_urn = _option_diffs(meta), _old_urn(meta)
            if options or old_urn:
                self._record(meta, Op.UPDATE, options, old_urn=old_urn)
            else:
                self._same.add(meta.urn)
            return
        found: list[PropertyDiff] = []
        if op is Op.CREATE:
            found = list(created_properties(meta))
        elif op in (Op.UPDATE, Op.REPLACE):
            found = [*property_diffs(meta), *_option_diffs(meta)]
        self._record(meta, op, found, old_urn=_old_urn(meta) if op is not Op.DELETE else None)
        self._progress(f"  {_PROGRESS_SYMBOLS[op]} {meta.op.value} {meta.type} {_name(meta.urn)}")

    def _record(
        self,
        meta: StepEventMetadata,
        op: Op,
        diffs: Iterable[PropertyDiff],
        *,
        old_urn: str | None = None,
    ) -> None:
        pending = self._changes.get(meta.urn)
        if pending is None:
            pending = self._changes[meta.urn] = _Pending(type=meta.type, op=op)
        elif _PRECEDENCE.index(op) > _PRECEDENCE.index(pending.op):
            pending.op = op
        pending.old_urn = pending.old_urn or old_urn
        for diff in diffs:
            pending.diffs.setdefault(diff.path, diff)
        self._same.discard(meta.urn)

    def _stack_outputs(self, meta: StepEventMetadata, *, outputs_event: bool) -> None:
        deleting = _OPS.get(meta.op) is Op.DELETE
        if not outputs_event and not deleting:
            return
        old = (meta.old.outputs if meta.old else None) or {}
        new = {} if deleting else (meta.new.outputs if meta.new else None) or {}
        changes: dict[str, OutputChange] = {}
        for name in sorted(set(old) | set(new)):
            if name not in old:
                changes[name] = OutputChange(name, Op.CREATE, new=engine_value(new[name]))
            elif name not in new:
                changes[name] = OutputChange(name, Op.DELETE, old=engine_value(old[name]))
            elif engine_value(old[name]) != engine_value(new[name]):
                changes[name] = OutputChange(
                    name, Op.UPDATE, old=engine_value(old[name]), new=engine_value(new[name])
                )
        self._outputs = changes

    def _progress(self, line: str) -> None:
        if self.on_progress is not None:
            self.on_progress(line)

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        with self._lock:
            return tuple(self._diagnostics)

    def plan(self) -> StackPlan:
        with self._lock:
            changes = [
                Change(
                    urn=urn,
                    type=pending.type,
                    name=_name(urn),
                    op=pending.op,
                    diffs=tuple(pending.diffs[p] for p in sorted(pending.diffs)),
                    old_urn=pending.old_urn,
                )
                for urn, pending in sorted(self._changes.items())
            ]
            return StackPlan.build(
                project=self.project,
                stack=self.stack,
                source=Source.ENGINE,
                changes=changes,
                same=len(self._same),
                outputs=tuple(self._outputs[n] for n in sorted(self._outputs)),
                policy=tuple(self._policy),
                diagnostics=tuple(self._diagnostics),
                environment=self.environment,
            )


def plan_from_json(
    events: Iterable[Mapping[str, Any]],
    *,
    project: str,
    stack: str,
    environment: str | None = None,
    refresh: bool = False,
) -> StackPlan:
    """A plan from engine event JSON objects (as in ``pulumi ... --event-log``)."""
    collector = PlanCollector(
        project=project, stack=stack, environment=environment, refresh=refresh
    )
    collector.feed(EngineEvent.from_json(dict(e)) for e in events)
    return collector.plan()
