"""Fixtures of the engine area: a scripted `pulumi` (a test double of the engine) and a
small project with a policy pack, so the Automation API wiring can be checked end to end
without the real CLI."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from stackflow.repoconfig import RepoConfig

FIXTURES = Path(__file__).parent / "fixtures"
FAKE_ROOT = Path(__file__).parent / "fake_pulumi"


@dataclass
class FakePulumi:
    """Controls and inspects the scripted `pulumi` (tests/engine/fake_pulumi)."""

    home: Path
    root: Path = FAKE_ROOT

    def script(self, **script: Any) -> None:
        (self.home / "script.json").write_text(json.dumps(script), encoding="utf-8")

    def stacks(self, *names: str) -> None:
        (self.home / "state.json").write_text(json.dumps({"stacks": list(names)}), "utf-8")

    def existing_stacks(self) -> list[str]:
        path = self.home / "state.json"
        return list(json.loads(path.read_text("utf-8"))["stacks"]) if path.exists() else []

    def calls(self) -> list[dict[str, Any]]:
        path = self.home / "calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text("utf-8").splitlines()]

    def argvs(self) -> list[list[str]]:
        return [c["argv"] for c in self.calls()]

    def call(self, verb: str) -> list[str]:
        """The argv of the (only) invocation whose first word is ``verb``."""
        found = [a for a in self.argvs() if a[:1] == [verb]]
        assert len(found) == 1, found
        return found[0]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PULUMI_BACKEND_URL",
        "PULUMI_CONFIG_PASSPHRASE",
        "PULUMI_CONFIG_PASSPHRASE_FILE",
        "PULUMI_ACCESS_TOKEN",
        "GITHUB_ACTOR",
        "GITHUB_TOKEN",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    home = tmp_path / "fake-pulumi-home"
    home.mkdir()
    monkeypatch.setenv("FAKE_PULUMI_DIR", str(home))
    monkeypatch.setenv("FAKE_PULUMI_FIXTURES", str(FIXTURES))
    monkeypatch.setenv("FAKE_PULUMI_PYTHON", sys.executable)
    return FakePulumi(home)


@pytest.fixture
def fake_on_path(fake_pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    """The scripted `pulumi` first on PATH (as the CLI commands find it)."""
    monkeypatch.setenv("PATH", f"{fake_pulumi.root / 'bin'}:/usr/bin:/bin")
    return fake_pulumi


@pytest.fixture
def no_pulumi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A PATH with no `pulumi` on it."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", f"{empty}:/usr/bin:/bin")


@pytest.fixture
def repo(tmp_path: Path) -> RepoConfig:
    """A repository with one project (stack files in stacks/) and a policy pack with a
    per-environment config."""
    root = tmp_path / "repo"
    (root / "stacks").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text(
        "name: demo\nruntime: python\nmain: stacks/\nstackConfigDir: stacks\n", "utf-8"
    )
    for stack, kind in (("dev", "dev"), ("staging", "staging"), ("prod", "prod")):
        (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(
            f"config:\n  stackflow:environment: {kind}\n  aws:region: eu-west-1\n", "utf-8"
        )
    pack = root / "policies"
    (pack / "config").mkdir(parents=True)
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\n", "utf-8")
    for kind in ("dev", "prod"):
        (pack / "config" / f"{kind}.json").write_text('{"all": "mandatory"}', "utf-8")
    (root / "stackflow.yaml").write_text(
        "promotion: [dev, staging, prod]\nbackend: file://.pulumi-state\n", "utf-8"
    )
    return RepoConfig.load(root)


@pytest.fixture
def github_api() -> Iterator[str]:
    """A loopback stand-in for the GitHub API's repository endpoint (a fake of an outside
    system at its boundary): answers /repos/acme/infra for the bearer token ghs_test."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.headers.get("Authorization") == "Bearer ghs_test"
            if not ok or self.path != "/repos/acme/infra":
                self.send_response(401 if not ok else 404)
                self.end_headers()
                return
            body = json.dumps(
                {"full_name": "acme/infra", "permissions": {"push": True, "pull": True}}
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
