"""stackflow over the real Pulumi engine (see conftest.py): the CLI built by `make engine`,
the Kubernetes provider rendering YAML to a folder, a file backend, passphrase secrets."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import STACKFLOW, Repo

pytestmark = [pytest.mark.engine]

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
NAMESPACE = "kubernetes:core/v1:Namespace"
PROVIDER = "pulumi:providers:kubernetes"


def changes(plan: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The plan's resource changes by (type, name)."""
    found = {}
    for stack in plan["stacks"]:
        for change in stack["changes"]:
            found[(change["type"], change["name"])] = change
    return found


def paths(change: dict[str, Any]) -> set[str]:
    return {d["path"] for d in change["diffs"]}


def ops(plan: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {key: change["op"] for key, change in changes(plan).items()}


def rendered(repo: Repo, stack: str = "dev") -> dict[str, dict[str, Any]]:
    """The YAML files the provider rendered, by ``kind/name``."""
    out = {}
    for path in sorted((repo.render / stack).rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text("utf-8")):
            if doc:
                out[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return out


def test_preview_up_update_refresh_destroy(repo: Repo) -> None:
    repo.stack_file("dev")
    first = repo.plan_json("preview", "--stack", "dev")
    # The program's explicit provider is a resource the engine creates (a default provider
    # is plumbing neither plan shows); the offline plan lists the same creates.
    assert ops(first) == {
        (PROVIDER, "render"): "create",
        (NAMESPACE, "ns"): "create",
        (CONFIG_MAP, "settings"): "create",
        (DEPLOYMENT, "app"): "create",
    }
    assert ops(repo.plan_json("plan", "--stack", "dev", "--no-base")) == ops(first)

    up = repo.run("up", "--stack", "dev")
    assert 'namespace: "team"' in up.stdout
    files = rendered(repo)
    assert set(files) == {"Namespace/team", "ConfigMap/web-settings", "Deployment/web"}
    assert files["ConfigMap/web-settings"]["data"] == {"LOG_LEVEL": "info"}

    again = repo.plan_json("preview", "--stack", "dev")
    assert ops(again) == {}
    assert again["stacks"][0]["counts"]["same"] >= 3

    repo.stack_file("dev", logLevel="debug", replicas=2)
    update = repo.plan_json("preview", "--stack", "dev")
    # A ConfigMap's data is create-only to the Kubernetes provider (unless the provider sets
    # enableConfigMapMutable): the engine replaces it, as the offline plan's table says.
    assert ops(update) == {(CONFIG_MAP, "settings"): "replace", (DEPLOYMENT, "app"): "update"}
    assert "data.LOG_LEVEL" in paths(changes(update)[(CONFIG_MAP, "settings")])
    assert "spec.replicas" in paths(changes(update)[(DEPLOYMENT, "app")])
    repo.run("up", "--stack", "dev")
    assert rendered(repo)["ConfigMap/web-settings"]["data"] == {"LOG_LEVEL": "debug"}
    assert rendered(repo)["Deployment/web"]["spec"]["replicas"] == 2

    # A name is create-only for Kubernetes objects: changing it replaces the object.
    repo.stack_file("dev", logLevel="debug", replicas=2, app="api")
    replace = ops(repo.plan_json("preview", "--stack", "dev"))
    assert replace[(CONFIG_MAP, "settings")] == "replace"
    assert replace[(DEPLOYMENT, "app")] == "replace"

    # In render mode the provider reads no cluster: the engine cannot check these
    # resources for drift, and stackflow says so instead of "no drift" (or the engine's
    # "unreachable cluster" failure).
    refresh = repo.run("refresh", "--stack", "dev", "--json", "-", check=False)
    assert refresh.returncode == 1, refresh.stderr
    assert "Traceback" not in refresh.stderr
    assert "some of its resources cannot be checked" in refresh.stderr
    unchecked = json.loads(refresh.stdout)["stacks"][0]
    assert unchecked["labels"] == ["drift-unchecked"]
    assert "drift not checked for 3 resource(s) (app, ns, settings)" in str(
        unchecked["diagnostics"]
    )

    gone = repo.plan_json("destroy", "--stack", "dev", "--yes")
    assert set(ops(gone).values()) == {"delete"}
    assert set(ops(gone)) == set(ops(first)), "the three objects and their provider"
    assert rendered(repo) == {}


def test_render_mode_drift_is_unchecked_but_a_stack_reference_drifts(repo: Repo) -> None:
    """Drift means the world differs from the state. In render-to-directory mode the
    Kubernetes provider has no cluster to read: its Read fails ("unreachable cluster",
    pkg/provider/provider.go) and would never look at the files anyway, so editing a
    rendered file behind the engine's back cannot be seen. stackflow leaves those resources
    out of the refresh and says they were not checked (never "no drift"). The engine's own
    StackReference resource does read the world: its refresh re-reads the other stack's
    outputs, so that drift is found for real."""
    repo.stack_file("shared", namespace="shared-a")
    repo.run("up", "--stack", "shared")
    repo.stack_file("dev", refStack="organization/e2e/shared")
    repo.run("up", "--stack", "dev")

    config_map = next((repo.render / "dev").rglob("*configmap*web-settings*.yaml"))
    config_map.write_text(config_map.read_text("utf-8").replace("info", "edited"), "utf-8")
    edited = repo.run("refresh", "--stack", "dev", check=False)
    assert edited.returncode == 1, "an unreadable change is not reported as no drift"
    assert "some of its resources cannot be checked" in edited.stderr
    assert "drift not checked for 3 resource(s)" in edited.stdout

    repo.stack_file("shared", namespace="shared-b")
    repo.run("up", "--stack", "shared")
    drift = repo.run("refresh", "--stack", "dev", "--json", "-", check=False)
    assert drift.returncode == 3, drift.stderr
    found = ops(json.loads(drift.stdout))
    assert found == {("pulumi:pulumi:StackReference", "organization/e2e/shared"): "update"}
    assert json.loads(drift.stdout)["stacks"][0]["labels"] == ["drift-unchecked"]

    # `stackflow drift` (the nightly check of protected stacks) sees the same: exit 3.
    report = repo.run("drift", "--stack", "dev", check=False)
    assert report.returncode == 3, report.stdout + report.stderr
    assert "DRIFT: e2e/dev" in report.stdout


def test_two_ups_at_once_one_waits_for_the_lock(repo: Repo) -> None:
    repo.stack_file("dev")
    repo.run("preview", "--stack", "dev")  # creates the stack, so both ups only select it
    env = {**os.environ, **repo.env}
    procs = [
        subprocess.Popen(
            [STACKFLOW, "up", "--stack", "dev"],
            cwd=repo.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    # stackflow's own stack lock (in the records store) makes the second wait for the first,
    # naming the holder; the engine's lock is never reached.
    stderr = "".join(err for _, err in results)
    assert (
        "waiting for `stackflow up` of (not a git repository) to finish deploying e2e/dev" in stderr
    )
    assert stderr.count("+ create kubernetes:apps/v1:Deployment app") == 1, "one creates"
    assert ops(repo.plan_json("preview", "--stack", "dev")) == {}


def _findings(plan: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (f["policy"], f["level"], (f["urn"] or "").rsplit("::", 1)[-1])
        for s in plan["stacks"]
        for f in s["policy"]
    }


@pytest.mark.parametrize(
    ("stack", "pinned"),
    [("dev", "advisory"), ("staging", "mandatory")],
    ids=["dev-config", "staging-config"],
)
def test_policy_pack_under_the_cli_finds_what_the_in_process_runner_finds(
    repo: Repo, stack: str, pinned: str
) -> None:
    """The environment kind's policy config (policies/config/<kind>.json) reaches both
    paths: dev leaves `k8s-pinned-image-tags` at the pack's advisory, staging makes it
    mandatory (docs/POLICIES.md's table)."""
    repo.stack_file(stack, privileged=True, image="nginx:latest")
    text = (repo.root / f"Pulumi.{stack}.yaml").read_text("utf-8")
    kind = text.replace("stackflow:environment: dev", f"stackflow:environment: {stack}")
    (repo.root / f"Pulumi.{stack}.yaml").write_text(kind, "utf-8")
    repo.commit("a privileged container on a floating tag")

    engine = repo.plan_json("preview", "--stack", stack, check=False)
    offline = repo.plan_json("plan", "--stack", stack, "--no-base", check=False)

    by_engine, by_runner = _findings(engine), _findings(offline)
    assert ("k8s-no-privileged-containers", "mandatory", "app") in by_engine
    assert ("k8s-pinned-image-tags", pinned, "app") in by_engine
    assert by_engine == by_runner
    status = repo.run("preview", "--stack", stack, check=False).returncode
    assert status == 2, "a mandatory violation fails the preview"


def test_secrets_through_the_engine_never_reach_output(repo: Repo) -> None:
    secret = f's3cr3t-{secrets.token_hex(8)}-"quoted"-\\back-é'
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    repo.stack_file("dev")
    repo.pulumi("stack", "init", "--secrets-provider", "passphrase")
    repo.pulumi("config", "set", "--secret", "e2e:dbPassword", secret)
    assert secret not in (repo.root / "Pulumi.dev.yaml").read_text("utf-8")

    outputs = [
        repo.run("preview", "--stack", "dev"),
        repo.run("preview", "--stack", "dev", "--json", "-"),
        repo.run("up", "--stack", "dev"),
        # Render mode: nothing here can be read back, so this refresh says "not checked"
        # (exit 1, see test_render_mode_...) -- its output must not leak either.
        repo.run("refresh", "--stack", "dev", "--json", "-", check=False),
        repo.run("history", "--json"),
        repo.run("destroy", "--stack", "dev", "--yes", "--json", "-"),
    ]
    up = outputs[2].stdout
    assert "password" in up
    assert "[secret]" in up
    text = "".join(o.stdout + o.stderr for o in outputs)
    state = "".join(p.read_text("utf-8") for p in repo.state.rglob("*.json"))
    for form in forms:
        assert form not in text
        assert form not in state


def _ephemeral(repo: Repo, *args: str) -> dict[str, Any]:
    return dict(json.loads(repo.run("ephemeral", *args, "--json").stdout))


def test_ephemeral_up_down_and_reap(repo: Repo) -> None:
    (repo.root / "stackflow.yaml").write_text(
        (repo.root / "stackflow.yaml").read_text("utf-8")
        + "ephemeral:\n  project: .\n  ttl_hours: 0.0005\n",
        "utf-8",
    )
    (repo.root / "ephemeral.yaml").write_text(
        "config:\n  stackflow:environment: ephemeral\n"
        f"  e2e:renderDir: '{repo.render}/${{stack}}'\n  e2e:namespace: '${{stack}}'\n",
        "utf-8",
    )
    repo.commit("ephemeral template")
    first = _ephemeral(repo, "up", "--branch", "feature/a", "--pr", "7")
    stack = first["environment"]["stack"]
    assert first["created"] is True
    assert first["environment"]["branch"] == "feature/a"
    assert ops({"stacks": [first["plan"]]})[(DEPLOYMENT, "app")] == "create"
    assert set(rendered(repo, stack)) == {
        f"Namespace/{stack}",
        "ConfigMap/web-settings",
        "Deployment/web",
    }, "the branch stack was deployed, its namespace from the template's ${stack}"
    listed = _ephemeral(repo, "list")
    assert [(e["stack"], e["pr"]) for e in listed["environments"]] == [(stack, 7)]

    down = _ephemeral(repo, "down", "--branch", "feature/a", "--pr", "7")
    assert [(o["stack"], o["status"]) for o in down["outcomes"]] == [(stack, "destroyed")]
    assert rendered(repo, stack) == {}

    second = _ephemeral(repo, "up", "--branch", "feature/b", "--pr", "8")["environment"]["stack"]
    time.sleep(2.5)  # the TTL (1.8 s) runs out
    reaped = _ephemeral(repo, "reap")
    assert [(i["stack"], i["action"], i["outcome"]) for i in reaped["items"]] == [
        (second, "destroy", "destroyed")
    ]
    assert rendered(repo, second) == {}
    assert _ephemeral(repo, "list")["environments"] == []


def test_deploy_runs_the_affected_stacks_in_promotion_order(repo: Repo) -> None:
    for stack in ("prod", "dev", "staging"):
        repo.stack_file(stack)
    base = repo.commit("three stacks")
    program = repo.root / "__main__.py"
    program.write_text(program.read_text("utf-8").replace('or "info"', 'or "warn"'), "utf-8")
    head = repo.commit("log less")
    result = repo.run("deploy", "--base", base, "--head", head, "--json", "-")
    deployed = json.loads(result.stdout)
    assert deployed["ok"] is True
    assert deployed["commit"] == head
    assert [(o["stack"], o["status"]) for o in deployed["stacks"]] == [
        ("dev", "succeeded"),
        ("staging", "succeeded"),
        ("prod", "succeeded"),
    ]
    for stack in ("dev", "staging", "prod"):
        assert rendered(repo, stack)["ConfigMap/web-settings"]["data"] == {"LOG_LEVEL": "warn"}
    history = [json.loads(line) for line in repo.run("history", "--json").stdout.splitlines()]
    assert [r["stack"] for r in history] == ["dev", "staging", "prod"]
    assert {r["commit"] for r in history} == {head}

    # The next merge breaks staging: dev deploys, staging fails, prod is never touched.
    program.write_text(program.read_text("utf-8").replace('or "warn"', 'or "error"'), "utf-8")
    repo.stack_file("staging", replicas="many")
    broken = repo.commit("log errors only; staging misconfigured")
    failed = repo.run("deploy", "--head", broken, "--json", "-", check=False)
    assert failed.returncode == 1, failed.stderr
    outcome = json.loads(failed.stdout)
    assert outcome["ok"] is False
    assert [(o["stack"], o["status"]) for o in outcome["stacks"]] == [
        ("dev", "succeeded"),
        ("staging", "failed"),
        ("prod", "skipped"),
    ]
    assert rendered(repo, "dev")["ConfigMap/web-settings"]["data"] == {"LOG_LEVEL": "error"}
    assert rendered(repo, "prod")["ConfigMap/web-settings"]["data"] == {"LOG_LEVEL": "warn"}


def test_program_error_is_one_line_not_a_traceback(repo: Repo) -> None:
    repo.stack_file("dev", replicas="many")
    result = repo.run("up", "--stack", "dev", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr.split("stackflow: error:")[-1]
    assert "stackflow: error: running pulumi up for stack dev" in result.stderr
