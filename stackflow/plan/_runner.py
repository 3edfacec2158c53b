"""The synth subprocess: runs one Pulumi program under the mock runtime and captures it.

Started by :func:`stackflow.plan.synth.synth` as ``python -m stackflow.plan._runner`` with
a JSON request on standard input; writes ``{"manifest": ...}`` or ``{"error": ...}`` to the
result file the request names. A fresh process per stack, because Pulumi's runtime is
global state (settings, config, the root stack, registered resource modules) that cannot
be reset reliably, and because a program may do anything at import time.

Secret plaintext exists only in here: every value the capturing monitor records goes
through :class:`Converter`, which replaces secrets by a keyed digest before anything is
written out.

The monitor answers the SDK in the engine's words (engine-format URNs, ids and computed
outputs from :mod:`stackflow.plan._mockcloud`), with ``preview`` semantics: what the
offline cloud cannot know stays unknown, exactly as ``pulumi preview`` shows it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import hashlib
import hmac
import json
import os
import runpy
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from stackflow.plan import assets, values
from stackflow.plan.wire import (
    ARCHIVE_SIG,
    ASSET_SIG,
    OUTPUT_SIG,
    RESOURCE_SIG,
    SECRET_SIG,
    SIG_KEY,
    UNKNOWN_SENTINEL,
)

STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"


class OfflineAnswerError(Exception):
    """The program asked something only the cloud knows; the message says where to answer it."""


# ---- values ---------------------------------------------------------------------------


def secret_digest(key: bytes, plain: Any) -> str:
    """The keyed digest of a secret's plaintext: equal plaintexts, equal digests; no way back."""
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def _number(value: float) -> int | float:
    # protobuf's Struct knows only doubles, so the SDK sends every int as a float. A whole
    # float becomes an int again: that is what the program wrote in nearly every case, and
    # it is what the engine itself does (its state JSON prints float64 1.0 as 1).
    return int(value) if value.is_integer() else value


@dataclass
class Converter:
    """Protobuf values (from ``Struct.items()``) to manifest JSON with markers."""

    key: bytes

    def value(self, v: Any) -> Any:
        if isinstance(v, str):
            return {"$unknown": True} if v == UNKNOWN_SENTINEL else v
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, float):
            return _number(v)
        if hasattr(v, "fields"):  # a Struct
            return self.struct(v)
        return [self.value(x) for x in v]  # a ListValue

    def struct(self, s: Any) -> Any:
        if SIG_KEY in s.fields:
            return self._special(s)
        out = {}
        for k, v in s.items():
            if v is None:
                continue  # the SDK drops None-valued properties too
            out[k] = self.value(v)
        return out

    def _special(self, s: Any) -> Any:
        sig = s[SIG_KEY]
        if sig == SECRET_SIG:
            return {"$secret": secret_digest(self.key, self.value(s["value"]))}
        if sig == RESOURCE_SIG:
            # What the engine hands a provider for a resource input: a custom resource's id
            # (unknown until it exists), never the URN. A component has no id.
            resource_id = self.value(s["id"]) if "id" in s.fields else ""
            return resource_id if resource_id != "" else {"$unknown": True}
        if sig == ASSET_SIG:
            if "text" in s.fields:
                text = str(s["text"])
                return {"$asset": {"sha256": hashlib.sha256(text.encode()).hexdigest()}}
            if "path" in s.fields:
                return {"$asset": assets.file_asset(str(s["path"]))}
            return {"$asset": {k: s[k] for k in ("uri",) if k in s.fields}}
        if sig == ARCHIVE_SIG:
            if "assets" in s.fields:
                return {"$archive": {"assets": self.value(s["assets"])}}
            if "path" in s.fields:
                return {"$archive": assets.path_archive(str(s["path"]))}
            return {"$archive": {k: s[k] for k in ("uri",) if k in s.fields}}
        if sig == OUTPUT_SIG:
            inner = self.value(s["value"]) if "value" in s.fields else {"$unknown": True}
            if s.fields.get("secret") and s["secret"]:
                return {"$secret": secret_digest(self.key, inner)}
            return inner
        return self.struct_plain(s)

    def struct_plain(self, s: Any) -> dict[str, Any]:
        return {k: self.value(v) for k, v in s.items()}


def normalize(value: Any) -> Any:
    """Plain Python values (mock answers, invoke args) with whole floats as ints."""
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    return value


# ---- URNs -----------------------------------------------------------------------------


def urn_parts(urn: str) -> tuple[str, str, str, str]:
    """(stack, project, type chain, name) of ``urn:pulumi:<stack>::<project>::<chain>::<name>``."""
    head, project, chain, name = urn.split("::", 3)
    return head[len("urn:pulumi:") :], project, chain, name


def child_chain(parent_urn: str | None, type_: str) -> str:
    """The engine's type chain: the parent's chain + ``$`` + own type, no Stack type."""
    if not parent_urn:
        return type_
    chain = urn_parts(parent_urn)[2]
    return type_ if chain == STACK_TYPE else f"{chain}${type_}"


def make_urn(stack: str, project: str, parent_urn: str | None, type_: str, name: str) -> str:
    if type_ == STACK_TYPE:
        return f"urn:pulumi:{stack}::{project}::{type_}::{name}"
    return f"urn:pulumi:{stack}::{project}::{child_chain(parent_urn, type_)}::{name}"


# ---- the capturing monitor ------------------------------------------------------------


@dataclass
class Capture:
    """Everything the program registered, in the manifest's shape."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Things the reviewer should know about this plan's limits (info diagnostics)."""
    registered_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    stack_outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunContext:
    """What the monitor needs to know about the program it serves."""

    project: str
    stack: str
    project_dir: Path
    repo_root: Path | None
    region: str
    account: str
    key: bytes
    answers: Any  # OfflineAnswers
    answers_file: str
    chain: tuple[str, ...]
    capture: bool = True
    network: list[str] = field(default_factory=list)
    """Each network call the program made (``host:port at file:line``), refused."""


def _monitor_class() -> type:
    from google.protobuf import empty_pb2, struct_pb2  # type: ignore[import-untyped]
    from pulumi.runtime.mocks import MockMonitor, Mocks
    from pulumi.runtime.proto import provider_pb2, resource_pb2

    from stackflow.plan import _mockcloud

    # SDKs before 3.2xx answer an invoke with the provider protocol's InvokeResponse.
    invoke_response = getattr(resource_pb2, "ResourceInvokeResponse", provider_pb2.InvokeResponse)

    class NoMocks(Mocks):
        """The monitor answers everything itself; the SDK's Mocks hooks are never asked."""

        def call(self, args: Any) -> Any:
            raise AssertionError("CaptureMonitor answers invokes itself")

        def new_resource(self, args: Any) -> Any:
            raise AssertionError("CaptureMonitor answers registrations itself")

    class CaptureMonitor(MockMonitor):
        """A resource monitor that records each registration and answers offline."""

        def __init__(self, ctx: RunContext) -> None:
            super().__init__(NoMocks())
            self.ctx = ctx
            self.convert = Converter(ctx.key)
            self.capture = Capture()
            self.stack_urn = ""
            self.provider_regions: dict[str, str] = {}
            self.aliases_by_urn: dict[str, tuple[str, ...]] = {}
            self.names: dict[str, str] = {}
            self.paths: dict[str, str] = {}
            self.references: dict[str, dict[str, Any] | None] = {}
            """Stack reference name -> the referenced stack's outputs (manifest form); None
            when they are known only after deploy (a stack of another runtime)."""
            self.states: dict[str, tuple[str, Any]] = {}
            """URN -> (id, output Struct) of each registration: answers getResource."""
            self.fatal: OfflineAnswerError | None = None
            self.missing: list[tuple[str, Any]] = []
            """(token, args) of each lookup with no answer, in call order."""
            self.secret_args: dict[bytes, set[str]] = {}
            """Invoke args (serialized) -> the names of those that held a secret."""
            self.missing_paths: list[str] = []
            """``PATH (NAME's PROPERTY`` of each asset or archive whose path is absent."""

        # -- resources --

        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 -- the gRPC method name
            ctx = self.ctx
            parent = request.parent or None
            urn = make_urn(ctx.stack, ctx.project, parent, request.type, request.name)
            if request.type == STACK_TYPE:
                self.stack_urn = urn
                return resource_pb2.RegisterResourceResponse(urn=urn)
            if not ctx.capture:
                obj = struct_pb2.Struct()
                obj.CopyFrom(request.object)
                return resource_pb2.RegisterResourceResponse(
                    urn=urn, id=f"{request.name}_id" if request.custom else "", object=obj
                )
            inputs = self.convert.struct(request.object)
            self.missing_paths.extend(_missing_paths(request.name, inputs))
            id_: str | None = None
            computed: dict[str, Any] = {}
            provider = None
            if request.custom:
                provider = request.provider or self._default_provider(request)
                id_, computed = _mockcloud.answer_resource(
                    _mockcloud.Context(
                        urn=urn,
                        type=request.type,
                        name=request.name,
                        inputs=inputs,
                        region=self._region(inputs, provider),
                        account=ctx.account,
                    )
                )
                if request.type == "pulumi:providers:aws" and isinstance(inputs.get("region"), str):
                    self.provider_regions[urn] = inputs["region"]
            elif request.remote:
                self.capture.notes.append(
                    f"{request.type} {request.name!r} is a multi-language component: its "
                    "children are decided by the component's provider and appear in the "
                    "engine preview (pulumi preview), not in this offline plan; its outputs "
                    "are known after deploy"
                )
            # The response carries only what the offline cloud knows (ids, ARNs, names): in
            # a preview every other output is unknown. Echoing the inputs back would give
            # outputs the input's shape, which is not always the provider's (a component's
            # ``natGateways`` configuration in, a list of NAT gateways out).
            answer = computed
            if _mockcloud.outputs_are_inputs(request.type):
                answer = _merged(inputs, computed)
            obj = _to_struct(answer)
            self.names[urn] = request.name
            self.states[urn] = (id_ or "", obj)
            aliases = self._aliases(request, urn, parent)
            self.aliases_by_urn[urn] = aliases
            outputs: dict[str, Any] = {}
            if request.custom:
                outputs = {"id": id_ if id_ is not None else {"$unknown": True}}
                outputs.update(normalize(computed))
            if request.additionalSecretOutputs:
                _secret_outputs(request.additionalSecretOutputs, obj, inputs, outputs, ctx.key)
            record = {
                "urn": urn,
                "type": request.type,
                "name": request.name,
                "custom": bool(request.custom),
                "parent": None if parent == self.stack_urn else parent,
                "provider": provider,
                "dependencies": sorted(set(request.dependencies)),
                "propertyDependencies": {
                    k: sorted(set(v.urns))
                    for k, v in request.propertyDependencies.items()
                    if v.urns
                },
                "inputs": inputs,
                "outputs": outputs,
                "options": {
                    "protect": bool(request.protect),
                    "ignoreChanges": list(request.ignoreChanges),
                    "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                    "retainOnDelete": bool(request.retainOnDelete),
                    "replaceOnChanges": list(request.replaceOnChanges),
                    "aliases": list(aliases),
                    "additionalSecretOutputs": list(request.additionalSecretOutputs),
                    "importId": request.importId or None,
                },
                "sourcePosition": self._source_position(request),
            }
            if request.remote:
                record["remote"] = True
            self.capture.resources.append(record)
            return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=obj)

        def ReadResource(self, request: Any) -> Any:  # noqa: N802 -- the gRPC method name
            ctx = self.ctx
            parent = request.parent or None
            urn = make_urn(ctx.stack, ctx.project, parent, request.type, request.name)
            obj = struct_pb2.Struct()
            obj.CopyFrom(request.properties)
            inputs = self.convert.struct(request.properties) if ctx.capture else {}
            # A read's id may itself be unknown (read by an id another resource computes).
            outputs: dict[str, Any] = {"id": self.convert.value(request.id)}
            if request.type == STACK_REFERENCE_TYPE:
                ref_outputs = self._stack_reference(request.id)
                self.references[request.id] = ref_outputs
                known = ref_outputs if ref_outputs is not None else {}
                outputs["outputs"] = known if ref_outputs is not None else {"$unknown": True}
                obj.update(
                    {
                        "name": request.id,
                        "secretOutputNames": sorted(
                            k for k, v in known.items() if _is_secret_marker(v)
                        ),
                    }
                )
                if ref_outputs is None:
                    obj.update({"outputs": UNKNOWN_SENTINEL})
                else:
                    obj.fields["outputs"].struct_value.CopyFrom(_to_struct(ref_outputs))
            if ctx.capture:
                self.capture.resources.append(
                    {
                        "urn": urn,
                        "type": request.type,
                        "name": request.name,
                        "custom": True,
                        "parent": None if parent == self.stack_urn else parent,
                        "provider": request.provider or None,
                        "dependencies": sorted(set(request.dependencies)),
                        "propertyDependencies": {},
                        "inputs": inputs,
                        "outputs": outputs,
                        "options": {"importId": None},
                        "sourcePosition": self._source_position(request),
                        "read": True,
                    }
                )
            read_id = request.id if request.id != UNKNOWN_SENTINEL else ""
            return resource_pb2.ReadResourceResponse(urn=urn, id=read_id, properties=obj)

        def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 -- the gRPC method name
            if self.ctx.capture:
                outputs = self.convert.struct(request.outputs)
                if request.urn == self.stack_urn:
                    self.capture.stack_outputs = {
                        k: _strip_resource_flag(v) for k, v in outputs.items()
                    }
                else:
                    self.capture.registered_outputs[request.urn] = outputs
            return empty_pb2.Empty()

        # -- invokes --

        def Invoke(self, request: Any) -> Any:  # noqa: N802 -- the gRPC method name
            token = request.tok
            args = normalize(_plain(request.args))
            if token.startswith("pulumi:pulumi:"):
                return invoke_response(**{"return": self._engine_invoke(token, args)})
            answer = self.ctx.answers.answer(token, args)
            if answer is None:
                answer = _mockcloud.builtin_invoke(
                    token, args, str(args.get("region") or self.ctx.region), self.ctx.account
                )
            if answer is None:
                # Every unanswered lookup is reported at the end of the run, all at once; the
                # program carries on with an empty answer (its fields are None) meanwhile.
                # An argument holding a secret is left out of the report (and so of the
                # skeleton answer offline init writes, which then matches any value of it).
                hidden = self.secret_args.get(request.args.SerializeToString(deterministic=True))
                shown = {
                    k: v
                    for k, v in args.items()
                    if k not in (hidden or ()) and not _holds_secret(request.args[k])
                }
                if (token, shown) not in self.missing:
                    self.missing.append((token, shown))
                answer = {}
            return invoke_response(**{"return": _to_struct(answer)})

        def _engine_invoke(self, function: str, args: dict[str, Any]) -> Any:
            """The engine's own functions, answered from this run as the engine does."""
            from google.protobuf import struct_pb2

            if function == "pulumi:pulumi:getResource":
                urn = str(args.get("urn", ""))
                if urn not in self.states:
                    raise self._fail(
                        f"the program looks up resource {urn}, which it did not register; "
                        "a resource can be looked up by URN only in the program that "
                        "registers it"
                    )
                id_, state = self.states[urn]
                reply = struct_pb2.Struct()
                reply.update({"urn": urn, "id": id_})
                reply.fields["state"].struct_value.CopyFrom(state)
                return reply
            if function == "pulumi:pulumi:readStackOutputs":
                name = str(args.get("name", ""))
                found = self._stack_reference(name)
                return _to_struct(
                    {"name": name, "outputs": found if found is not None else {"$unknown": True}}
                )
            raise self._fail(
                f"the program calls the engine function {function}, which the offline plan "
                "does not model; plan this stack with the engine (stackflow preview)"
            )

        def _fail(self, message: str) -> OfflineAnswerError:
            self.fatal = self.fatal or OfflineAnswerError(message)
            return self.fatal

        # -- helpers --

        def _default_provider(self, request: Any) -> str | None:
            if request.type.startswith("pulumi:providers:"):
                return None
            package = request.type.split(":", 1)[0]
            version = request.version.replace(".", "_") if request.version else ""
            name = f"default_{version}" if version else "default"
            urn = make_urn(
                self.ctx.stack, self.ctx.project, None, f"pulumi:providers:{package}", name
            )
            return f"{urn}::{_mockcloud.stable_uuid(urn)}"

        def _region(self, inputs: dict[str, Any], provider: str | None) -> str:
            region = inputs.get("region")
            if isinstance(region, str):
                return region
            if provider:
                return self.provider_regions.get(provider.rsplit("::", 1)[0], self.ctx.region)
            return self.ctx.region

        def _aliases(self, request: Any, urn: str, parent: str | None) -> tuple[str, ...]:
            """Alias specs as engine URNs, plus those inherited from aliased parents."""
            ctx = self.ctx
            own: set[str] = set(request.aliasURNs)
            for alias in request.aliases:
                if alias.WhichOneof("alias") == "urn":
                    own.add(alias.urn)
                    continue
                spec = alias.spec
                # As the engine reads a spec: no parent only when noParent is true; the empty
                # parent URN the Python and Node.js SDKs send for Alias(name=...) means the
                # resource's own parent, as does no parent field at all.
                alias_parent = None if spec.noParent else spec.parentUrn or parent
                own.add(
                    make_urn(
                        spec.stack or ctx.stack,
                        spec.project or ctx.project,
                        alias_parent,
                        spec.type or request.type,
                        spec.name or request.name,
                    )
                )
            inherited: set[str] = set()
            parent_name = self.names.get(parent or "", "")
            for parent_alias in self.aliases_by_urn.get(parent or "", ()):
                alias_parent_name = urn_parts(parent_alias)[3]
                name = request.name
                if parent_name and name.startswith(parent_name):
                    name = alias_parent_name + name[len(parent_name) :]
                inherited.add(make_urn(ctx.stack, ctx.project, parent_alias, request.type, name))
            return tuple(sorted((own | inherited) - {urn}))

        def _source_position(self, request: Any) -> str | None:
            pos = request.sourcePosition
            if not pos.uri:
                return None
            display = self.paths.get(pos.uri)
            if display is None:
                path = Path(unquote(urlparse(pos.uri).path))
                display = self.paths[pos.uri] = _display_path(path, self.ctx)
            return f"{display}:{pos.line}"

        def _stack_reference(self, name: str) -> dict[str, Any] | None:
            from stackflow.errors import StackflowError

            try:
                return _resolve_stack_reference(name, self.ctx, self.capture.notes)
            except OfflineAnswerError as err:
                self.fatal = self.fatal or err
                raise
            except StackflowError as err:
                self.fatal = self.fatal or OfflineAnswerError(err.message)
                raise self.fatal from err

    return CaptureMonitor


def _missing_paths(name: str, inputs: dict[str, Any]) -> list[str]:
    """``PATH (NAME's PROPERTY`` of each asset or archive in ``inputs`` whose file or folder
    does not exist (:func:`stackflow.plan.assets.file_asset` marks it ``missing``)."""
    found: list[str] = []

    def walk(value: Any, prop: str) -> None:
        if isinstance(value, dict):
            for marker in ("$asset", "$archive"):
                inner = value.get(marker)
                if isinstance(inner, dict) and inner.get("missing"):
                    found.append(f"{inner['path']} ({name}'s {prop}")
            for v in value.values():
                walk(v, prop)
        elif isinstance(value, list):
            for v in value:
                walk(v, prop)

    for prop, value in inputs.items():
        walk(value, prop)
    return found


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` set in it, nested objects merged rather than replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _secret_outputs(
    names: Any, obj: Any, inputs: dict[str, Any], outputs: dict[str, Any], key: bytes
) -> None:
    """``additional_secret_outputs``, as the engine honours it: the named properties come
    back to the program as secrets (so what it derives from them and exports stays
    secret), and the manifest holds them as digests -- the same-named input too, which
    errs toward hiding, never toward showing."""
    for name in names:
        if name == "id":
            continue  # the engine cannot make an id secret either (pulumi/pulumi#8980)
        if name in obj.fields:
            plain = type(obj.fields[name])()
            plain.CopyFrom(obj.fields[name])
            obj.update({name: {SIG_KEY: SECRET_SIG}})
            obj.fields[name].struct_value.fields["value"].CopyFrom(plain)
        for found in (inputs, outputs):
            if name in found and not _is_secret_marker(found[name]):
                found[name] = {"$secret": secret_digest(key, found[name])}


def _is_secret_marker(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and "$secret" in value


def _strip_resource_flag(value: Any) -> Any:
    """Exported resources carry ``@isPulumiResource`` in a preview; the engine drops it too."""
    if isinstance(value, dict):
        return {k: _strip_resource_flag(v) for k, v in value.items() if k != "@isPulumiResource"}
    return value


def _plain(struct: Any) -> Any:
    """Invoke args as plain values (secrets unwrapped: they stay in this process)."""

    def value(v: Any) -> Any:
        if hasattr(v, "fields"):
            if SIG_KEY in v.fields and v[SIG_KEY] == SECRET_SIG:
                return value(v["value"])
            return {k: value(x) for k, x in v.items()}
        if isinstance(v, str | bool | float) or v is None:
            return v
        return [value(x) for x in v]

    return value(struct)


def _holds_secret(v: Any) -> bool:
    """Whether a protobuf value (from ``Struct.items()``) is or contains a secret."""
    if hasattr(v, "fields"):
        if SIG_KEY in v.fields and v[SIG_KEY] == SECRET_SIG:
            return True
        return any(_holds_secret(x) for _, x in v.items())
    if isinstance(v, str | bool | float) or v is None:
        return False
    return any(_holds_secret(x) for x in v)


def _to_struct(value: dict[str, Any]) -> Any:
    """A Struct from manifest JSON: markers become the SDK's unknowns and secrets again.

    A secret marker becomes a secret whose plaintext is a placeholder derived from the
    digest, so a program that passes it on produces a digest that changes when it changes.
    """
    from google.protobuf import struct_pb2

    def back(v: Any) -> Any:
        if isinstance(v, dict):
            if v == {"$unknown": True}:
                return UNKNOWN_SENTINEL
            if _is_secret_marker(v):
                return {SIG_KEY: SECRET_SIG, "value": f"[secret {v['$secret']}]"}
            return {k: back(x) for k, x in v.items()}
        if isinstance(v, list):
            return [back(x) for x in v]
        return v

    s = struct_pb2.Struct()
    s.update(back(value))
    return s


def _display_path(path: Path, ctx: RunContext) -> str:
    """A path as a reviewer reads it: relative to the project, stable across checkouts."""
    for base in (ctx.project_dir, ctx.repo_root):
        if base is not None and path.is_relative_to(base):
            return os.path.relpath(path, ctx.project_dir)
    parts = path.parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1 :])
    return str(path)


def _resolve_stack_reference(name: str, ctx: RunContext, notes: list[str]) -> dict[str, Any] | None:
    """Outputs of the referenced stack: synthesized when it lives in this repository as a
    Python project, else its answer in offline.yaml; None (known after deploy) for a stack
    of another runtime in this repository with no answer."""
    parts = name.split("/")
    if len(parts) > 3 or not all(parts):
        raise OfflineAnswerError(
            f"stack reference {name!r} is not org/project/stack, project/stack or stack; "
            "fix the name in the program"
        )
    project_name = parts[-2] if len(parts) >= 2 else ctx.project
    stack = parts[-1]
    key = f"{project_name}/{stack}"
    other_runtime = None
    if ctx.repo_root is not None:
        from stackflow.plan.synth import synth_in_repository

        found = synth_in_repository(
            ctx.repo_root, project_name, stack, key=ctx.key, chain=(*ctx.chain, key)
        )
        if isinstance(found, str):
            other_runtime = found
        elif found is not None:
            return found.outputs
    what = (
        f"points at project {project_name}, a {other_runtime} project in this repository "
        "that the offline plan does not run,"
        if other_runtime
        else "is not a stack of a Python project in this repository"
    )
    for candidate in (name, key, stack):
        if candidate in ctx.answers.stack_references:
            if other_runtime:
                notes.append(
                    f"stack reference {name} {what} so its outputs come from {ctx.answers_file}"
                )
            return dict(normalize(ctx.answers.stack_references[candidate]))
    if other_runtime:
        # Another runtime is skipped with a note, never an error (issue 12): what the
        # program reads from it is known after deploy, as nothing here can know it.
        notes.append(
            f"stack reference {name} {what} so its outputs are known after deploy; to plan "
            f"with their values, add them to {ctx.answers_file} "
            f"(stackReferences: {{{name}: {{OUTPUT: VALUE}}}})"
        )
        return None
    raise OfflineAnswerError(
        f"stack reference {name} {what} and has no offline answer; add its outputs to "
        f"{ctx.answers_file} (stackReferences: {{{name}: {{OUTPUT: VALUE}}}})"
    )


# ---- runtime -------------------------------------------------------------------------


class InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs ``loop.run_in_executor`` work at once, on the loop's thread.

    The SDK hands every monitor call to a thread pool because a real monitor is a gRPC
    round trip. Ours is a function call: the thread hop costs more than the work, and
    threads racing make the registration order (and so the manifest) vary run to run.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # handed to the awaiting coroutine
            future.set_exception(err)
        return future


def _in_sdk(filename: str) -> bool:
    """Frames of the Pulumi SDKs (pulumi, pulumi_aws, ...) are never the user's code."""
    return f"{os.sep}site-packages{os.sep}pulumi" in filename


def fast_stack_trace() -> Any:
    """``pulumi.runtime.resource._get_stack_trace`` without reading the whole stack.

    Same rule as the SDK: the caller of the third ``__init__`` from the top is the user's
    code (Resource <- Custom/ComponentResource <- the concrete class). One refinement:
    when that caller is still inside an SDK (a provider resource has one more
    ``__init__`` level), the first frame outside the SDKs is used instead.
    """
    from pulumi.runtime.proto import source_pb2

    frame = sys._getframe(1)
    seen = 0
    while frame is not None:
        if frame.f_code.co_name == "__init__":
            seen += 1
            if seen == 3:
                break
        frame = frame.f_back  # type: ignore[assignment]
    caller = frame.f_back if frame is not None else None
    while caller is not None and _in_sdk(caller.f_code.co_filename):
        caller = caller.f_back
    if caller is None:
        return source_pb2.StackTrace()
    uri = Path(caller.f_code.co_filename).as_uri()
    position = source_pb2.SourcePosition(uri=uri, line=caller.f_lineno)
    return source_pb2.StackTrace(frames=[source_pb2.StackFrame(pc=position)])


def _no_debug(*_args: Any, **_kwargs: Any) -> None:
    return None


def _fast_create_urn(sdk_create_urn: Callable[..., Any]) -> Callable[..., Any]:
    """``create_urn`` with a direct path for plain strings (the SDK's own mock URN)."""
    from pulumi import Output

    def create_urn(
        name: Any, type_: Any, parent: Any = None, project: Any = None, stack: Any = None
    ) -> Any:
        # With a parent, the SDK ignores project and stack too.
        if type(name) is str and type(type_) is str and type(parent) is str:
            return Output.from_input(f"{parent[0 : parent.rfind('::')]}${type_}::{name}")
        return sdk_create_urn(name, type_, parent, project, stack)

    return create_urn


def speed_up_sdk() -> None:
    """Confined patches of pulumi SDK internals, in the synth process only (SDK 3.272).

    Measured with cProfile on 1,000 buckets (docs/PERFORMANCE.md), and tested in
    tests/synth/test_runtime_patches.py against the installed SDK:

    * ``_get_stack_trace`` walks the whole stack with ``traceback.extract_stack`` (reading
      source lines) on every registration, to build a stack trace of which only the first
      frame -- the ``sourcePosition`` -- is used here. :func:`fast_stack_trace` walks frames
      without reading source and returns just that frame.
    * ``pulumi.log.debug`` formats and sends a log request to the engine for each step of
      each registration; the mock engine throws debug messages away.
    * ``create_urn`` builds the URN a registration would have without a monitor from three
      Outputs joined by ``Output.all(...).apply`` -- on every registration, though with a
      monitor the result is thrown away. For plain strings the same string is now made
      directly (10% of a 1,000-bucket run).
    """
    import pulumi.log
    import pulumi.runtime.resource as resource_module

    resource_module._get_stack_trace = fast_stack_trace
    resource_module.create_urn = _fast_create_urn(resource_module.create_urn)
    pulumi.log.debug = _no_debug


def _unmarked(value: Any) -> tuple[Any, bool]:
    """A manifest value as a program sees it (secrets as digest placeholders), and whether
    it held a secret."""
    if _is_secret_marker(value):
        return f"[secret {value['$secret']}]", True
    if isinstance(value, dict):
        pairs = {k: _unmarked(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_unmarked(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def _unknown_output() -> Any:
    from pulumi import Output

    loop = asyncio.get_event_loop()
    value, known, secret = loop.create_future(), loop.create_future(), loop.create_future()
    value.set_result(None)
    known.set_result(False)
    secret.set_result(False)
    return Output(set(), value, known, secret)


def per_output_stack_references(references: dict[str, dict[str, Any] | None]) -> None:
    """``StackReference.get_output``/``require_output`` one output at a time.

    The SDK reads an output out of the whole ``outputs`` map, so one unknown output of the
    referenced stack makes every output unknown. A deployed stack has no unknown outputs; an
    offline-synthesized one does (what only its cloud knows). Each output is looked up on
    its own here: known, secret, or known after deploy, as the referenced stack's manifest
    says.
    """
    from pulumi import Output, StackReference

    def pick(ref: Any, name: Any, *, required: bool) -> Any:
        def value(args: list[Any]) -> Any:
            stack, key = args
            outputs = references.get(stack, {})
            if outputs is None:  # the referenced stack's outputs are known after deploy
                return _unknown_output()
            if key not in outputs:
                if required:
                    raise KeyError(f"stack {stack} has no output {key!r}")
                return None
            found = outputs[key]
            if values.contains_unknown(found):
                return _unknown_output()
            plain, secret = _unmarked(found)
            return Output.secret(plain) if secret else plain

        return Output.all(ref.id, Output.from_input(name)).apply(value)

    StackReference.get_output = lambda self, name: pick(self, name, required=False)  # type: ignore[method-assign]
    StackReference.require_output = lambda self, name: pick(self, name, required=True)  # type: ignore[method-assign]


def track_secret_invoke_args(secret_args: dict[bytes, set[str]]) -> None:
    """The SDK unwraps the secrets of a lookup's arguments before it sends them: the engine
    (and so the monitor) is never told which were secret. Which arguments held one is
    recorded here, under the bytes of the arguments as sent, so that a lookup without an
    answer is reported without them."""
    from google.protobuf import struct_pb2
    from pulumi.runtime import rpc

    sdk_unwrap = getattr(rpc, "_unwrap_rpc_secret_struct_properties", None)
    if sdk_unwrap is None:  # an older SDK sends the secrets as such: Invoke sees them
        return

    def unwrap(value: Any) -> tuple[Any, bool]:
        plain, secret = sdk_unwrap(value)
        if isinstance(value, struct_pb2.Struct) and isinstance(plain, struct_pb2.Struct):
            names = {k for k, v in value.items() if _holds_secret(v)}
            if names:
                key = plain.SerializeToString(deterministic=True)
                secret_args.setdefault(key, set()).update(names)
        return plain, secret

    rpc._unwrap_rpc_secret_struct_properties = unwrap


class SecretApplyError(Exception):
    """Raised instead of an exception from ``.apply()`` on a secret, whose text is withheld."""


def guard_secret_applies() -> None:
    """An exception raised inside ``.apply()`` on a secret (``int(secret)``) carries the
    plaintext in its text (``invalid literal for int(): 'hunter2'``); the plan would show
    it. Such an exception is replaced by one naming only its type, with the same frames
    (so the program's own file and line still show where it failed)."""
    from pulumi import Output

    sdk_apply = Output.apply

    def apply(self: Any, func: Callable[[Any], Any], run_with_unknowns: bool = False) -> Any:
        def secret_guarded(value: Any) -> Any:
            try:
                return func(value)
            except Exception as err:
                data = self._data
                if not (
                    data.done()
                    and not data.cancelled()
                    and data.exception() is None
                    and data.result().is_secret
                ):
                    raise
                raise SecretApplyError(
                    f"{type(err).__name__} raised in .apply() on a secret value (its message "
                    "is withheld: it may contain the secret)"
                ).with_traceback(err.__traceback__) from None

        return sdk_apply(self, secret_guarded, run_with_unknowns)

    Output.apply = apply  # type: ignore[method-assign]


def _program_file(path: Path, ctx: RunContext) -> bool:
    """Whether a file is the program's own code, the one test behind every line the author
    is shown: inside the project or the repository, and neither an installed package
    (site-packages, a virtualenv kept in the repository included) nor stackflow itself
    (whose repository may be the program's)."""
    roots = [p for p in (ctx.project_dir, ctx.repo_root) if p is not None]
    return (
        any(path.is_relative_to(r) for r in roots)
        and "site-packages" not in path.parts
        and not path.is_relative_to(Path(__file__).parent.parent)
    )


def _user_frames(err: BaseException, ctx: RunContext) -> str:
    """The exception and the program's own frames, outermost first, one line each:
    ``at app/naming.py:2 in bucket_name: raise ValueError(...)``. Frames of the SDKs,
    of stackflow and of the interpreter (runpy, asyncio) are left out: they say nothing
    the author can act on, and their absolute paths differ on every machine."""
    lines = traceback.format_exception_only(type(err), err)[-1:]
    for frame in traceback.extract_tb(err.__traceback__):
        path = Path(frame.filename)
        if not _program_file(path, ctx):
            continue
        where = os.path.relpath(path, ctx.repo_root or ctx.project_dir)
        code = f": {frame.line.strip()}" if frame.line else ""
        lines.append(f"  at {where}:{frame.lineno} in {frame.name}{code}\n")
    if isinstance(err, SyntaxError) and err.filename and err.lineno:
        # The line that does not parse is no frame of the traceback: name it last.
        path = Path(err.filename)
        if _program_file(path, ctx):
            where = os.path.relpath(path, ctx.repo_root or ctx.project_dir)
            code = f": {err.text.strip()}" if err.text else ""
            lines.append(f"  at {where}:{err.lineno}{code}\n")
    return "".join(lines).rstrip("\n")


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Run the program of ``request``; the result document (manifest or error)."""
    try:
        import pulumi  # noqa: F401 -- the interpreter may be a project's own venv
    except ImportError as err:
        return {
            "error": {
                "kind": "run",
                "message": f"the interpreter {sys.executable} cannot import the Pulumi SDK "
                f"({err}); install the project's dependencies into it "
                "(pip install -r requirements.txt)",
            }
        }
    from stackflow.plan.offline import OfflineAnswers

    if request.get("fast", True):
        speed_up_sdk()
    guard_secret_applies()
    import pulumi.runtime.config as pulumi_config
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.mocks import MockEngine, MockSettings
    from pulumi.runtime.stack import run_in_stack

    from stackflow.plan import _mockcloud

    project_dir = Path(request["projectDir"])
    repo_root = Path(request["repoRoot"]) if request.get("repoRoot") else None
    config: dict[str, str] = request["config"]
    ctx = RunContext(
        project=request["project"],
        stack=request["stack"],
        project_dir=project_dir,
        repo_root=repo_root,
        region=config.get("aws:region", _mockcloud.DEFAULT_REGION),
        account=_account(config),
        key=bytes.fromhex(request["digestKey"]),
        answers=OfflineAnswers.from_dict(request.get("offline") or {}),
        answers_file=request.get("offlineFile", "offline.yaml"),
        chain=tuple(request.get("chain", ())),
        capture=request.get("capture", True),
    )
    monitor = _monitor_class()(ctx)
    per_output_stack_references(monitor.references)
    track_secret_invoke_args(monitor.secret_args)
    refuse_network(ctx)
    features: dict[str, Any] = {}
    if hasattr(monitor, "GetDeploymentInfo"):
        # Newer SDKs read the monitor's features once, older ones (3.228) ask
        # SupportsFeature each time: a program runs with the SDK its project pins.
        features["monitor_features"] = set(monitor.GetDeploymentInfo(None).supportedFeatures)
    settings = MockSettings(  # type: ignore[no-untyped-call]
        monitor=monitor,
        **features,
        engine=MockEngine(None),
        project=ctx.project,
        stack=ctx.stack,
        dry_run=True,
        organization="organization",
        callbacks=None,
    )
    pulumi_settings.configure(settings)
    pulumi_config.set_all_config(config, request.get("secretKeys", []))

    main = Path(request["main"])
    os.chdir(main if main.is_dir() else main.parent)
    for path in filter(None, (repo_root, project_dir)):
        # The program's own packages (components/ beside stacks/) come from this checkout,
        # not from an editable install or another checkout: a base revision synthesizes
        # its code. First, even when it is on the path already behind another.
        if str(path) in sys.path:
            sys.path.remove(str(path))
        sys.path.insert(0, str(path))
    if main.is_file():
        sys.path.insert(0, str(main.parent))

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    if request.get("fast", True):
        loop.set_default_executor(InlineExecutor())
        # The SDK keeps every Output, task and future of every resource alive until the end
        # of the run, so each garbage collection walks all of them and finds nearly nothing:
        # with collection on, 3/4 of a 1,000-bucket synth was spent in it. This process ends
        # after one program; the memory a cycle would have freed is bounded by the run
        # (5,000 resources stay far within 1 GiB, docs/PERFORMANCE.md).
        gc.disable()
    failure: dict[str, Any] | None = None
    try:
        loop.run_until_complete(run_in_stack(lambda: _run_program(main)))
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # reported to the parent, not re-raised
        failure = _failure(err, ctx)
    if monitor.fatal is not None:
        return {"error": {"kind": "offline", "message": str(monitor.fatal)}}
    if monitor.missing:
        error: dict[str, Any] = {
            "kind": "missing",
            "message": "lookups have no offline answer",
            "missing": [{"token": t, "args": a} for t, a in monitor.missing],
        }
        if failure is not None and failure["kind"] == "config":
            error["config"] = failure["config"]
        return {"error": error}
    if failure is not None:
        return {"error": failure}
    if monitor.missing_paths:
        # The engine hashes every asset and archive in a preview and fails on a path that
        # is not there: the plan cannot be green either.
        paths = ", ".join(f"{p})" for p in dict.fromkeys(monitor.missing_paths))
        plural = len(monitor.missing_paths) > 1
        return {
            "error": {
                "kind": "needs",
                "need": "file",
                "message": f"the program packages {paths}, which "
                + ("do not exist: add them" if plural else "does not exist: add it")
                + " (built or copied as the project's README says) before planning; "
                "pulumi preview fails on them too",
            }
        }
    for call in dict.fromkeys(ctx.network):
        monitor.capture.notes.append(
            f"the program calls the network at synth time ({call}); the offline plan has "
            "none, so whatever the call would return is not in this plan"
        )
    return {"manifest": _manifest(monitor.capture, ctx, config)}


def _failure(err: BaseException, ctx: RunContext) -> dict[str, Any] | None:
    """The error document for how the program ended; None for a clean ``sys.exit(0)``."""
    from pulumi.config import ConfigMissingError
    from pulumi.errors import RunError

    if isinstance(err, SystemExit) and not err.code:
        return None
    if isinstance(err, ConfigMissingError):
        return {
            "kind": "config",
            "message": str(err),
            "config": {"key": err.key, "secret": bool(err.secret)},
        }
    if isinstance(err, RunError):
        # The program's own way of saying "bad input" (e.g. an invalid config value):
        # the Pulumi language host prints only its message, and so do we.
        return {"kind": "run", "message": str(err)}
    need = _needs(err, ctx)
    if need is not None:
        what, message, cause = need
        frames = [  # where the program met the need: the read, not a later raise
            line.strip().split(" in ", 1)[0]
            for line in _user_frames(cause, ctx).splitlines()
            if line.startswith("  at ")
        ]
        if frames and what != "network":
            message = f"{message} ({frames[-1]})"
        return {"kind": "needs", "need": what, "message": message}
    return {
        "kind": "program",
        "message": f"{type(err).__name__}: {err}",
        "traceback": _user_frames(err, ctx),
        "origin": _origin(err),
    }


def _chain(err: BaseException) -> list[BaseException]:
    """``err`` and the exceptions it was raised from or while handling."""
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _needs(err: BaseException, ctx: RunContext) -> tuple[str, str, BaseException] | None:
    """The one line saying what to add where, when the program stopped on something of
    the machine it runs on (the network, a local file, an environment variable), and the
    exception of ``err``'s chain that met it."""
    if ctx.network:
        calls = ", ".join(dict.fromkeys(ctx.network))
        return (
            "network",
            (
                f"the program calls the network at synth time: {calls}; the offline plan has "
                "no network: give the program that value as stack config, or plan this stack "
                "with the engine (stackflow preview)"
            ),
            err,
        )
    for cause in _chain(err):
        if isinstance(cause, AttributeError):
            missing = _missing_sdk_attribute(cause)
            if missing is not None:
                return "sdk", missing, cause
        if isinstance(cause, FileNotFoundError) and cause.filename:
            return "file", _missing_file(str(cause.filename), ctx), cause
        if isinstance(cause, KeyError) and _from_environ(cause) and cause.args:
            name = str(cause.args[0])
            from stackflow.plan.synth import SYNTH_ENV_ALLOWED

            if name in SYNTH_ENV_ALLOWED:
                return (
                    "environment",
                    (
                        f"the program reads environment variable {name}, which is not set; set "
                        f"{name} in the environment stackflow plan runs in"
                    ),
                    cause,
                )
            return (
                "environment",
                (
                    f"the program reads environment variable {name}, which the offline plan "
                    f"does not pass on (it passes only {', '.join(sorted(SYNTH_ENV_ALLOWED))}: "
                    "never credentials); give the program that value as stack config"
                ),
                cause,
            )
    return None


def _missing_sdk_attribute(err: AttributeError) -> str | None:
    """The program's own line used a name its installed Pulumi SDK does not have: it was
    written for another version of that SDK than the project's requirements install."""
    import importlib.metadata
    import types

    owner, name = getattr(err, "obj", None), getattr(err, "name", None)
    frames = traceback.extract_tb(err.__traceback__)
    if owner is None or not name or not frames or _in_sdk(frames[-1].filename):
        return None
    if isinstance(owner, types.ModuleType):
        module, what = owner.__name__, f"{owner.__name__}.{name}"
    else:
        module = type(owner).__module__
        what = f"{module.split('.')[0]}.{type(owner).__name__}.{name}"
    package = module.split(".")[0]
    if not package.startswith("pulumi"):
        return None
    distribution = package.replace("_", "-")
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    return (
        f"the program uses {what}, which {distribution} {version} (the version installed) "
        f"does not have: the program was written for another version of {distribution}; "
        "pin that version in the project's requirements (requirements.txt)"
    )


def _missing_file(name: str, ctx: RunContext) -> str:
    path = Path(name).absolute()
    base = ctx.repo_root or ctx.project_dir
    where = os.path.relpath(path, base) if path.is_relative_to(base) else str(path)
    return (
        f"the program reads the file {name}, which does not exist: add {where} (the program "
        "must find it to plan; it is not in the repository)"
    )


def _from_environ(err: KeyError) -> bool:
    frames = traceback.extract_tb(err.__traceback__)
    # ``os`` is a frozen module in Python 3.11+: its frames are named ``<frozen os>``.
    return (
        bool(frames)
        and frames[-1].filename in (os.__file__, "<frozen os>")
        and frames[-1].name == "__getitem__"
    )


def refuse_network(ctx: RunContext) -> None:
    """The program gets no network: a name lookup or a connection to anything but this
    machine fails at once (never a hang until the timeout), and is recorded with the
    program's own line that made it -- so a plan never depends on what a call returned,
    and a fork's program cannot reach out from a plan."""
    import ipaddress
    import socket

    sdk_getaddrinfo = socket.getaddrinfo
    sdk_connect = socket.socket.connect
    sdk_connect_ex = socket.socket.connect_ex

    def local(host: Any) -> bool:
        if host is None or host in ("localhost", b"localhost", ""):
            return True
        text = host.decode() if isinstance(host, bytes) else str(host)
        try:
            return ipaddress.ip_address(text).is_loopback  # an IPv6 zone (::1%1) parses too
        except ValueError:
            return False

    def refuse(host: Any, port: Any) -> OSError:
        ctx.network.append(f"{host}:{port}{_program_line(ctx)}")
        return OSError(
            101, f"stackflow plans offline: the program may not reach {host}:{port} at synth time"
        )

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if not local(host):
            raise refuse(host, port)
        return sdk_getaddrinfo(host, port, *args, **kwargs)

    def checked(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not local(address[0]):
            raise refuse(address[0], address[1])

    def connect(self: socket.socket, address: Any) -> None:
        checked(self, address)
        sdk_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        checked(self, address)
        return sdk_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]


def _program_line(ctx: RunContext) -> str:
    """`` at FILE:LINE`` of the innermost frame of the program's own code, or nothing.
    FILE is relative to the project, as source positions are (_display_path); the lines
    of _user_frames are relative to the repository root."""
    frame: Any = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if _program_file(path, ctx):
            return f" at {_display_path(path, ctx)}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


def _origin(err: BaseException) -> str:
    """Where an exception was raised: ``program``, ``sdk`` (a Pulumi SDK) or ``stackflow``.

    An exception from inside an SDK or stackflow blames the tool, not the program."""
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return "program"
    if frames[-1].name == "wait_for_rpcs":
        # Re-raised from an apply callback or a registration, whose own frames are lost: a
        # failed assertion is the SDK's; anything else is the program's callback.
        return "sdk" if isinstance(err, AssertionError) else "program"
    last = frames[-1].filename
    if frames[-1].name == "secret_guarded":
        # Raised by what the program gave ``.apply()`` itself (a builtin: ``.apply(int)``),
        # called from guard_secret_applies: the program's, not stackflow's.
        return "program"
    if Path(last).is_relative_to(Path(__file__).parent.parent):
        return "stackflow"
    return "sdk" if _in_sdk(last) else "program"


def _run_program(main: Path) -> None:
    runpy.run_path(str(main), run_name="__main__")


def _account(config: dict[str, str]) -> str:
    from stackflow.plan import _mockcloud

    allowed = config.get("aws:allowedAccountIds")
    if allowed:
        try:
            ids = json.loads(allowed)
        except ValueError:
            ids = None
        if isinstance(ids, list) and ids:
            return str(ids[0])
    return _mockcloud.invent(_mockcloud.DEFAULT_ACCOUNT, "account")


def _manifest(capture: Capture, ctx: RunContext, config: dict[str, str]) -> dict[str, Any]:
    from stackflow.plan._mockcloud import INVENTED
    from stackflow.plan.values import mark_invented
    from stackflow.project import ENVIRONMENT_KEY  # imports PyYAML: not before the SDK check

    resources = []
    for record in capture.resources:
        registered = capture.registered_outputs.get(record["urn"])
        if registered is not None and not record["custom"]:
            record = {**record, "outputs": registered}
        if not record["type"].startswith("pulumi:providers:"):
            # What the offline cloud made up is marked wherever it went (placeholders);
            # a provider's id is only an internal reference, compared without it anyway.
            record["inputs"] = mark_invented(record["inputs"], INVENTED)
            record["outputs"] = mark_invented(record["outputs"], INVENTED)
        resources.append(record)
    return {
        "schemaVersion": 1,
        "project": ctx.project,
        "stack": ctx.stack,
        "environment": config.get(ENVIRONMENT_KEY),
        "resources": resources,
        "outputs": mark_invented(capture.stack_outputs, INVENTED),
        "notes": list(dict.fromkeys(capture.notes)),
    }


def serve(request: dict[str, Any]) -> None:
    """Run ``request`` and write its result document to the file the request names."""
    result_file = Path(request["resultFile"])
    # The program's prints go to stderr: standard output is not ours to fill.
    sys.stdout = sys.stderr
    try:
        result = run(request)
    except Exception as err:  # a bug in the runner: keep its traceback
        result = {
            "error": {
                "kind": "internal",
                "message": f"{type(err).__name__}: {err}",
                "traceback": traceback.format_exc(),
            }
        }
    result_file.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    sys.stderr.flush()


def main() -> None:
    serve(json.loads(sys.stdin.read()))
    # Skip interpreter teardown: collecting thousands of resources and futures costs
    # seconds and changes nothing.
    os._exit(0)


if __name__ == "__main__":
    main()
