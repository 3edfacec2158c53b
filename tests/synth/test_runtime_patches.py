"""The synth process patches two SDK internals; check them against the installed SDK."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pulumi
import pulumi.log
import pulumi.runtime.resource as resource_module
import pytest

from stackflow.plan import _runner


def test_the_patched_names_exist_in_this_sdk() -> None:
    assert callable(resource_module._get_stack_trace)
    assert callable(pulumi.log.debug)
    assert "_get_stack_trace()" in _source(resource_module.register_resource)


def _source(fn: Any) -> str:
    import inspect

    return inspect.getsource(fn)


class Base:
    def __init__(self) -> None:  # the SDK's Resource.__init__
        self.original = resource_module._get_stack_trace()
        self.fast = _runner.fast_stack_trace()


class Middle(Base):
    def __init__(self) -> None:  # CustomResource / ComponentResource
        super().__init__()


class Concrete(Middle):
    def __init__(self) -> None:  # e.g. aws.s3.Bucket
        super().__init__()


def test_fast_stack_trace_gives_the_sdks_source_position() -> None:
    line = sys._getframe().f_lineno + 1
    made = Concrete()
    original = resource_module._get_source_position(made.original)
    fast = resource_module._get_source_position(made.fast)
    assert (fast.uri, fast.line) == (original.uri, original.line)
    assert fast.uri.endswith("test_runtime_patches.py")
    assert fast.line == line


@pytest.mark.parametrize(
    ("name", "type_", "parent"),
    [
        ("logs", "aws:s3/bucket:Bucket", "urn:pulumi:dev::app::pulumi:pulumi:Stack::app-dev"),
        ("q", "aws:sqs/queue:Queue", "urn:pulumi:dev::app::x:a:A$x:b:B::b"),
        ("odd::name", "x:c:C", ""),
    ],
)
def test_fast_create_urn_matches_the_sdk(name: str, type_: str, parent: str) -> None:
    sdk = resource_module.create_urn
    fast = _runner._fast_create_urn(sdk)

    async def both() -> tuple[str, str]:
        return (
            await sdk(name, type_, parent).future(),
            await fast(name, type_, parent).future(),
        )

    expected, actual = asyncio.run(both())
    assert actual == expected


@pytest.mark.parametrize("wrapped", ["name", "type_", "parent", "no parent"])
def test_fast_create_urn_leaves_outputs_and_a_missing_parent_to_the_sdk(wrapped: str) -> None:
    sdk = resource_module.create_urn
    fast = _runner._fast_create_urn(sdk)

    async def both() -> tuple[str, str]:
        args: dict[str, Any] = {
            "name": "logs",
            "type_": "aws:s3/bucket:Bucket",
            "parent": "urn:pulumi:dev::app::pulumi:pulumi:Stack::app-dev",
        }
        if wrapped == "no parent":
            args.update(parent=None, project="app", stack="dev")
        else:
            args[wrapped] = pulumi.Output.from_input(args[wrapped])
        return await sdk(**args).future(), await fast(**args).future()

    expected, actual = asyncio.run(both())
    assert actual == expected
    chain = (
        "aws:s3/bucket:Bucket"
        if wrapped == "no parent"
        else "pulumi:pulumi:Stack$aws:s3/bucket:Bucket"
    )
    assert actual == f"urn:pulumi:dev::app::{chain}::logs"


def test_speed_up_sdk_patches_only_what_it_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resource_module, "_get_stack_trace", resource_module._get_stack_trace)
    monkeypatch.setattr(resource_module, "create_urn", resource_module.create_urn)
    monkeypatch.setattr(pulumi.log, "debug", pulumi.log.debug)
    info = pulumi.log.info
    _runner.speed_up_sdk()
    assert resource_module._get_stack_trace is _runner.fast_stack_trace
    assert resource_module.create_urn.__qualname__.startswith("_fast_create_urn")
    assert pulumi.log.debug is _runner._no_debug
    assert pulumi.log.info is info
