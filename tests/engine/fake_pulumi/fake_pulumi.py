"""A scripted stand-in for the Pulumi CLI: a test double of the engine, not an engine.

The Pulumi CLI cannot be installed on the machines these tests run on, so the Automation
API is pointed at this executable instead (``PulumiCommand(root=...)`` or first on PATH).
It answers the commands ``pulumi.automation`` sends, records every argument list it gets,
and replays engine events from JSON-lines fixtures into the ``--event-log`` the Automation
API passes: a file, or (CLI versions after 3.205) a ``tcp://`` gRPC Events endpoint.

Everything lives in ``$FAKE_PULUMI_DIR``:

* ``script.json`` -- what to answer::

    {"version": "3.272.0",
     "outputs": {"url": "http://x", "password": {"secret": "hunter2"}},
     "responses": {"preview": [{"events": "preview.jsonl"}],
                   "up": [{"exit": 255, "stderr": "error: ... locked by ..."},
                          {"events": "up.jsonl"}]}}

  ``resources`` (optional) is the state ``stack export`` answers with.
  A response may ``sleep`` (seconds) first: a long update, for cancelling it meanwhile.
  ``responses[<command>]`` is used in order, the last one repeating; command keys are
  ``preview``, ``up``, ``destroy``, ``refresh`` and ``refresh-preview``, and
  ``<command>:<stack>`` (e.g. ``up:dev``) for one stack only. ``events`` paths
  are relative to ``$FAKE_PULUMI_FIXTURES``.
* ``state.json`` -- the stacks that exist (``{"stacks": ["dev"]}``) and response counters.
  With an ``s3://bucket/prefix`` backend (``PULUMI_BACKEND_URL``) it lives on that backend
  instead, at ``<prefix>/.fake-pulumi/state.json`` (through ``AWS_ENDPOINT_URL``, e.g. a
  moto server), so separate runners see the same stacks, as with the real CLI.
* ``calls.jsonl`` -- one line per invocation: argv, cwd, and the environment that matters
  (backend URL; whether a passphrase was set, never its value).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HOME = Path(os.environ["FAKE_PULUMI_DIR"])
FIXTURES = Path(os.environ.get("FAKE_PULUMI_FIXTURES", HOME))


def load(name: str, default: Any) -> Any:
    path = HOME / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def _s3_state() -> tuple[Any, str, str] | None:
    backend = os.environ.get("PULUMI_BACKEND_URL", "")
    if not backend.startswith("s3://"):
        return None
    import boto3

    bucket, _, prefix = backend[len("s3://") :].partition("?")[0].partition("/")
    key = f"{prefix.strip('/')}/.fake-pulumi/state.json".lstrip("/")
    return boto3.client("s3"), bucket, key


def load_state() -> dict[str, Any]:
    shared = _s3_state()
    if shared is None:
        state: dict[str, Any] = load("state.json", {"stacks": []})
        return state
    client, bucket, key = shared
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except client.exceptions.NoSuchKey:
        return {"stacks": []}
    loaded: dict[str, Any] = json.loads(body)
    return loaded


def save_state(state: dict[str, Any]) -> None:
    shared = _s3_state()
    if shared is None:
        (HOME / "state.json").write_text(json.dumps(state), encoding="utf-8")
        return
    client, bucket, key = shared
    client.put_object(Bucket=bucket, Key=key, Body=json.dumps(state).encode())


def flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def fail(message: str, code: int = 255) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(code)


def send_events(target: str, lines: list[str]) -> None:
    if target.startswith("tcp://"):
        import grpc
        from pulumi.runtime.proto import events_pb2, events_pb2_grpc

        with grpc.insecure_channel(target[len("tcp://") :]) as channel:
            stub = events_pb2_grpc.EventsStub(channel)
            stub.StreamEvents(iter([events_pb2.EventRequest(event=line) for line in lines]))
        return
    with open(target, "a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")


def respond(key: str, args: list[str], script: dict[str, Any], state: dict[str, Any]) -> None:
    scripted = script.get("responses", {})
    stack_key = f"{key}:{flag(args, '--stack')}"
    if stack_key in scripted:
        key = stack_key
    responses = scripted.get(key) or [{}]
    count = state.setdefault("counters", {}).get(key, 0)
    state["counters"][key] = count + 1
    save_state(state)
    response = responses[min(count, len(responses) - 1)]
    time.sleep(float(response.get("sleep", 0)))  # a long update, to be cancelled meanwhile
    event_log = flag(args, "--event-log")
    if event_log and response.get("events"):
        text = (FIXTURES / response["events"]).read_text(encoding="utf-8")
        send_events(event_log, [line for line in text.splitlines() if line.strip()])
    sys.stdout.write(response.get("stdout", ""))
    if response.get("exit", 0):
        fail(response.get("stderr", "error: update failed"), response["exit"])
    sys.stderr.write(response.get("stderr", ""))


def main(argv: list[str]) -> None:
    args = [a for a in argv if a != "--non-interactive"]
    with open(HOME / "calls.jsonl", "a", encoding="utf-8") as fh:
        record = {
            "argv": args,
            "cwd": str(Path.cwd()),
            "backend": os.environ.get("PULUMI_BACKEND_URL"),
            "passphrase_set": "PULUMI_CONFIG_PASSPHRASE" in os.environ,
            "pid": os.getpid(),
        }
        fh.write(json.dumps(record) + "\n")
    script = load("script.json", {})
    state = load_state()
    stack = flag(args, "--stack")
    if args[:1] == ["version"]:
        sys.stdout.write(script.get("version", "3.272.0") + "\n")
    elif args[:2] == ["stack", "select"]:
        if stack not in state["stacks"]:
            fail(f"error: no stack named '{stack}' found")
    elif args[:2] == ["stack", "init"]:
        name = args[2]
        if name in state["stacks"]:
            fail(f"error: stack '{name}' already exists")
        state["stacks"].append(name)
        save_state(state)
    elif args[:2] == ["stack", "ls"]:
        stacks = [{"name": s, "current": False, "updateInProgress": False} for s in state["stacks"]]
        sys.stdout.write(json.dumps(stacks))
    elif args[:2] == ["stack", "export"]:
        if stack not in state["stacks"]:
            fail(f"error: no stack named '{stack}' found")
        deployment = {"resources": script.get("resources", [])}
        sys.stdout.write(json.dumps({"version": 3, "deployment": deployment}))
    elif args[:2] == ["stack", "rm"]:
        state["stacks"].remove(args[-1])
        save_state(state)
    elif args[:2] == ["stack", "output"]:
        outputs = {}
        for name, value in script.get("outputs", {}).items():
            is_secret = isinstance(value, dict) and set(value) == {"secret"}
            shown = "--show-secrets" in args
            outputs[name] = (value["secret"] if shown else "[secret]") if is_secret else value
        sys.stdout.write(json.dumps(outputs))
    elif args[:2] == ["stack", "history"]:
        entry = {
            "kind": "update",
            "startTime": "2026-11-22T10:00:00.000Z",
            "endTime": "2026-11-22T10:00:05.000Z",
            "message": "",
            "environment": {},
            "config": {},
            "result": "succeeded",
            "version": 1,
            "resourceChanges": {},
        }
        sys.stdout.write(json.dumps([entry]))
    elif args[:1] == ["cancel"]:
        pass
    elif args[:1] in (["preview"], ["up"], ["destroy"], ["refresh"]):
        if stack not in state["stacks"]:
            fail(f"error: no stack named '{stack}' found")
        key = "refresh-preview" if args[0] == "refresh" and "--preview-only" in args else args[0]
        respond(key, args, script, state)
    else:
        fail(f"fake pulumi: no scripted answer for {args!r}", 2)


if __name__ == "__main__":
    main(sys.argv[1:])
