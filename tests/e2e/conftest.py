"""The real engine tier: the Pulumi CLI, language host and providers that `make engine` builds
into .engine/bin (docs/ENGINE.md), driven through stackflow.

Every test here is marked ``engine`` and runs with `make test-engine`. Where the engine is
absent they skip, saying why -- except where the engine is expected
(``STACKFLOW_REQUIRE_ENGINE=1``, which `.ci/run` sets, or ``CI=true``): there an absent
engine is a failure, because CI builds it first and a skip would hide a broken build.

Each test gets its own repository in a temporary folder: a Python program on the Kubernetes
provider rendering YAML to a folder (no cluster), a file backend, passphrase secrets, the
repository's policy pack, and a git history for `deploy`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE_BIN = Path(os.environ.get("STACKFLOW_ENGINE_BIN") or ROOT / ".engine" / "bin")
REQUIRE_ENGINE = (
    os.environ.get("STACKFLOW_REQUIRE_ENGINE") == "1" or os.environ.get("CI", "").lower() == "true"
)
REQUIRED = ("pulumi", "pulumi-language-python", "pulumi-resource-kubernetes")
PASSPHRASE = "e2e-passphrase-not-a-secret"  # encrypts a throwaway test state
STACKFLOW = str(Path(sys.executable).with_name("stackflow"))

PROGRAM = '''
"""A small platform on the Kubernetes provider, rendered to YAML (no cluster)."""
import pulumi
import pulumi_kubernetes as k8s

config = pulumi.Config()
provider = k8s.Provider("render", render_yaml_to_directory=config.require("renderDir"))
opts = pulumi.ResourceOptions(provider=provider)
app = config.get("app") or "web"
namespace = config.get("namespace") or "team"
image = config.get("image") or "ghcr.io/example/web:1.4.2"

ns = k8s.core.v1.Namespace("ns", metadata={"name": namespace}, opts=opts)
data = {"LOG_LEVEL": config.get("logLevel") or "info"}
ref_stack = config.get("refStack")
if ref_stack:
    data["UPSTREAM"] = pulumi.StackReference(ref_stack).get_output("namespace")
settings = k8s.core.v1.ConfigMap(
    "settings",
    metadata={"name": f"{app}-settings", "namespace": namespace},
    data=data,
    opts=opts,
)
password = config.get_secret("dbPassword")
if password is not None:
    k8s.core.v1.Secret(
        "db",
        metadata={"name": f"{app}-db", "namespace": namespace},
        string_data={"password": password},
        opts=opts,
    )
container = {
    "name": app,
    "image": image,
    "resources": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    },
    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
    "securityContext": {"privileged": config.get_bool("privileged") or False},
}
k8s.apps.v1.Deployment(
    "app",
    metadata={"name": app, "namespace": namespace, "labels": {"app": app}},
    spec={
        "replicas": config.get_int("replicas") or 1,
        "selector": {"matchLabels": {"app": app}},
        "template": {
            "metadata": {"labels": {"app": app}},
            "spec": {"securityContext": {"runAsNonRoot": True}, "containers": [container]},
        },
    },
    opts=opts,
)
pulumi.export("namespace", ns.metadata["name"])
pulumi.export("settings", settings.metadata["name"])
if password is not None:
    pulumi.export("password", password)
'''


def engine_missing() -> str | None:
    """Why the engine cannot run here, or None."""
    missing = [name for name in REQUIRED if shutil.which(name) is None]
    if missing:
        return (
            f"{', '.join(missing)} not on PATH; build them with `make engine` and run "
            "`make test-engine` (which puts .engine/bin on PATH)"
        )
    return None


@pytest.fixture(autouse=True)
def _engine_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{ENGINE_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    why = engine_missing()
    if why is None:
        return
    if REQUIRE_ENGINE:
        pytest.fail(f"the engine must run here (STACKFLOW_REQUIRE_ENGINE=1 or CI=true): {why}")
    pytest.skip(why)


@dataclass
class Repo:
    """A throwaway repository with one project, run through the `stackflow` CLI."""

    root: Path
    state: Path
    render: Path
    env: dict[str, str] = field(default_factory=dict)

    def stack_file(self, stack: str, **config: Any) -> Path:
        lines = [
            "config:",
            "  stackflow:environment: dev",
            f"  e2e:renderDir: {self.render / stack}",
        ]
        for key, value in config.items():
            if isinstance(value, dict) and "secure" in value:
                lines += [f"  e2e:{key}:", f"    secure: {value['secure']}"]
            else:
                lines.append(f"  e2e:{key}: {json.dumps(value)}")
        path = self.root / f"Pulumi.{stack}.yaml"
        existing = path.read_text("utf-8") if path.exists() else ""
        secrets = [ln for ln in existing.splitlines() if ln.startswith("encryptionsalt:")]
        path.write_text("\n".join(secrets + lines) + "\n", "utf-8")
        return path

    def run(
        self, *args: str, check: bool = True, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [STACKFLOW, *args],
            cwd=self.root,
            env={**os.environ, **self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"stackflow {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def plan_json(self, *args: str, check: bool = True) -> dict[str, Any]:
        result = self.run(*args, "--json", "-", check=check)
        return dict(json.loads(result.stdout))

    def pulumi(self, *args: str, stack: str = "dev") -> subprocess.CompletedProcess[str]:
        """The CLI itself, on the backend stackflow.yaml names (stackflow passes it to the
        CLI as PULUMI_BACKEND_URL; without it the CLI wants a Pulumi Cloud login)."""
        self.state.mkdir(parents=True, exist_ok=True)  # the file backend's folder must exist
        return subprocess.run(
            ["pulumi", *args, "--stack", stack, "--non-interactive"],
            cwd=self.root,
            env={**os.environ, **self.env, "PULUMI_BACKEND_URL": f"file://{self.state}"},
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=self.root,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "Pulumi.yaml").write_text(
        f"name: e2e\nruntime:\n  name: python\n  options:\n    virtualenv: {sys.prefix}\n",
        "utf-8",
    )
    (root / "__main__.py").write_text(PROGRAM, "utf-8")
    shutil.copytree(
        ROOT / "policies", root / "policies", ignore=shutil.ignore_patterns("__pycache__")
    )
    state = tmp_path / "state"
    (root / "stackflow.yaml").write_text(
        f"backend: file://{state}\npolicy_pack: policies\npromotion: [dev, staging, prod]\n"
        "protected_stacks: [dev, staging, prod]\n",
        "utf-8",
    )
    (root / ".gitignore").write_text("__pycache__/\n", "utf-8")
    env = {
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "GIT_AUTHOR_NAME": "e2e",
        "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
        "GIT_COMMITTER_NAME": "e2e",
        "GIT_COMMITTER_EMAIL": "e2e@example.invalid",
    }
    made = Repo(root=root, state=state, render=tmp_path / "rendered", env=env)
    made.git("init", "-q", "-b", "main")
    return made
