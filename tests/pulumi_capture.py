"""Pulumi's mock runtime with a capturing monitor: the test double for the Pulumi engine.

The engine cannot run here, so tests register resources against
``pulumi.runtime.set_mocks`` with :class:`CapturingMonitor`, which records every
RegisterResource request as the engine would receive it: type, name, parent, provider,
protect, dependencies, and the inputs with secrets still marked. The mock answers with
the inputs plus a few deterministic computed values (ids, ARNs, addresses), so Outputs
resolve as they would after a deploy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The key Pulumi marks a secret value with on the wire."""


@dataclass(frozen=True)
class Registered:
    """One RegisterResource request, as the engine would have seen it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    protect: bool
    dependencies: tuple[str, ...]
    additional_secret_outputs: tuple[str, ...]
    inputs: dict[str, Any]
    """Wire-format inputs: camelCase keys, numbers as floats, secrets marked."""


class CapturingMocks(pulumi.runtime.Mocks):
    """Answers every resource with its inputs plus deterministic computed outputs."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        name = args.name
        if args.typ.startswith("aws:"):
            outputs.setdefault("arn", f"arn:aws:mock:us-east-1:123456789012:{name}")
        if args.typ == "aws:s3/bucket:Bucket":
            outputs.update(bucket=f"{name}-bucket-id", arn=f"arn:aws:s3:::{name}-bucket-id")
        if args.typ == "aws:rds/instance:Instance":
            outputs.update(address=f"{name}.mock.rds.amazonaws.com", port=args.inputs.get("port"))
            if args.inputs.get("manageMasterUserPassword"):
                outputs["masterUserSecrets"] = [
                    {"secretArn": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}"}
                ]
        if args.typ == "aws:rds/subnetGroup:SubnetGroup":
            outputs.setdefault("name", name)
        if args.typ == "aws:kms/key:Key":
            outputs["keyId"] = f"{name}-key-id"
        return f"{name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        raise AssertionError(f"unexpected invoke {args.token}: components must not call invokes")


class CapturingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps every registration and every registered output."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []
        self.outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(
                Registered(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    custom=request.custom,
                    parent=request.parent or None,
                    provider=request.provider or None,
                    protect=bool(request.protect),
                    dependencies=tuple(request.dependencies),
                    additional_secret_outputs=tuple(request.additionalSecretOutputs),
                    inputs=json_format.MessageToDict(request.object),
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.outputs[request.urn] = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


@dataclass
class Capture:
    """What one program registered; helpers for the questions tests ask."""

    monitor: CapturingMonitor
    result: Any = None
    by_urn: dict[str, Registered] = field(default_factory=dict)

    @property
    def resources(self) -> list[Registered]:
        return self.monitor.registered

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Registered:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Registered:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name!r}, found {len(found)}"
        return found[0]

    def children_of(self, parent: Registered) -> list[Registered]:
        return [r for r in self.resources if r.parent == parent.urn]

    def outputs_of(self, resource: Registered) -> dict[str, Any]:
        return self.monitor.outputs[resource.urn]


def resolve(value: Any) -> Any:
    """The resolved value of an Output (or a plain value), as a program would see it."""
    return _sync_await(pulumi.Output.from_input(value).future())


def run_program(
    program: Any, *, project: str = "stackflow-platform", stack: str = "test"
) -> Capture:
    """Run ``program()`` under the capturing mocks and wait for every registration."""
    monitor = CapturingMonitor(CapturingMocks())
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor
    )
    capture = Capture(monitor=monitor)
    try:
        capture.result = program()
    finally:
        # Let the registrations already queued finish, also when the program raised.
        _sync_await(wait_for_rpcs())
    return capture


def is_secret(value: Any) -> bool:
    """Whether a wire value carries Pulumi's secret marker."""
    return isinstance(value, dict) and SECRET_SIG in value


def aws_taggable(type_token: str) -> bool:
    """Whether the pulumi_aws resource class of ``type_token`` takes ``tags``."""
    import importlib
    import inspect

    package, module_and_class = type_token.split(":", 1)
    assert package == "aws", type_token
    module, class_name = module_and_class.split(":")[0].split("/")[0], type_token.rsplit(":", 1)[1]
    cls = getattr(importlib.import_module(f"pulumi_aws.{module}"), class_name)
    return "tags" in inspect.signature(cls._internal_init).parameters
