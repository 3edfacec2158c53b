"""Offline plan against the real engine's preview, resource by resource.

    make engine && PATH=$PWD/.engine/bin:$PATH .venv/bin/python benchmarks/offline_vs_engine.py

A corpus of small changes to one program on the Kubernetes provider (rendering YAML to a
folder: the provider that builds here, see docs/ENGINE.md). For each change, in a throwaway
git repository: the base program is deployed for real (`stackflow up`), then the changed
program is planned both ways -- offline (`stackflow plan --base <base commit>`, no engine)
and by the engine (`stackflow preview`). Per resource (type and name) it compares the
operation (a resource absent from a plan is "same") and, where both report an update or a
replacement, the changed property paths.

Prints one row per resource that either side reports, then the totals: operation agreement,
path agreement, and how often the offline plan says "same" where the engine reports a
change (the rule: never). ``--json PATH`` writes every row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STACKFLOW = str(Path(sys.executable).with_name("stackflow"))
PASSPHRASE = "bench-passphrase"  # noqa: S105 -- encrypts a throwaway state

BASE: dict[str, Any] = {
    "namespace": "team",
    "cm_logical": "settings",
    "cm_name": "web-settings",
    "alias_from": None,
    "protect": False,
    "level": "info",
    "secret": "first-secret",
    "replicas": 1,
    "image": "ghcr.io/example/web:1.4.2",
    "extra": False,
}

CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    # (name, base overrides, head overrides)
    ("create", {}, {"extra": True}),
    ("update", {}, {"level": "debug"}),
    ("update nested", {}, {"image": "ghcr.io/example/web:1.5.0"}),
    ("update number", {}, {"replicas": 3}),
    ("replace (create-only name)", {}, {"cm_name": "web-config"}),
    ("delete", {"extra": True}, {"extra": False}),
    ("alias rename", {}, {"cm_logical": "config", "alias_from": "settings"}),
    ("protect", {}, {"protect": True}),
    ("dependent cascade", {}, {"namespace": "platform"}),
    ("secret", {}, {"secret": "second-secret"}),
]


def program(opts: dict[str, Any]) -> str:
    alias = f"[pulumi.Alias(name={opts['alias_from']!r})]" if opts["alias_from"] else "None"
    extra = (
        'k8s.core.v1.ConfigMap("extra", metadata={"name": "extra", "namespace": ns_name}, '
        'data={"a": "b"}, opts=opts())\n'
        if opts["extra"]
        else ""
    )
    return f"""import pulumi
import pulumi_kubernetes as k8s

provider = k8s.Provider("render", render_yaml_to_directory=pulumi.Config().require("renderDir"))


def opts(**kw):
    return pulumi.ResourceOptions(provider=provider, **kw)


ns = k8s.core.v1.Namespace("ns", metadata={{"name": {opts["namespace"]!r}}}, opts=opts())
ns_name = ns.metadata["name"]
settings = k8s.core.v1.ConfigMap(
    {opts["cm_logical"]!r},
    metadata={{"name": {opts["cm_name"]!r}, "namespace": ns_name}},
    data={{"LOG_LEVEL": {opts["level"]!r}}},
    opts=opts(protect={opts["protect"]!r}, aliases={alias}),
)
k8s.core.v1.Secret(
    "db",
    metadata={{"name": "db", "namespace": ns_name}},
    string_data={{"password": pulumi.Output.secret({opts["secret"]!r})}},
    opts=opts(),
)
k8s.apps.v1.Deployment(
    "app",
    metadata={{"name": "web", "namespace": ns_name}},
    spec={{
        "replicas": {opts["replicas"]!r},
        "selector": {{"matchLabels": {{"app": "web"}}}},
        "template": {{
            "metadata": {{"labels": {{"app": "web"}}}},
            "spec": {{
                "containers": [
                    {{
                        "name": "web",
                        "image": {opts["image"]!r},
                        "envFrom": [{{"configMapRef": {{"name": settings.metadata["name"]}}}}],
                    }}
                ]
            }},
        }},
    }},
    opts=opts(),
)
{extra}"""


@dataclass
class Row:
    case: str
    type: str
    name: str
    offline: str
    engine: str
    offline_paths: list[str]
    engine_paths: list[str]

    @property
    def op_agrees(self) -> bool:
        return self.offline == self.engine

    @property
    def compares_paths(self) -> bool:
        return self.offline == self.engine and self.engine in ("update", "replace")

    @property
    def paths_agree(self) -> bool:
        return set(self.offline_paths) == set(self.engine_paths)

    @property
    def optimistic(self) -> bool:
        return self.offline == "same" and self.engine != "same"


def run(root: Path, env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    result = subprocess.run(
        args, cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode not in ok:
        raise SystemExit(
            f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def by_resource(plan: dict[str, Any]) -> dict[tuple[str, str], tuple[str, list[str]]]:
    out = {}
    for stack in plan["stacks"]:
        for c in stack["changes"]:
            out[(c["type"], c["name"])] = (c["op"], sorted(d["path"] for d in c["diffs"]))
    return out


def one_case(name: str, base: dict[str, Any], head: dict[str, Any], work: Path) -> list[Row]:
    root = work / name.split()[0]
    root.mkdir(parents=True)
    env = {
        **os.environ,
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_HOME": str(work / "pulumi-home"),
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }
    (root / "Pulumi.yaml").write_text(
        f"name: bench\nruntime:\n  name: python\n  options:\n    virtualenv: {sys.prefix}\n",
        "utf-8",
    )
    (root / "Pulumi.dev.yaml").write_text(
        f"config:\n  bench:renderDir: {root / 'rendered'}\n", "utf-8"
    )
    (root / "stackflow.yaml").write_text(
        f"backend: file://{root / 'state'}\npolicy_pack: no-policies\n", "utf-8"
    )
    (root / ".gitignore").write_text("rendered/\nstate/\n.stackflow/\n__pycache__/\n", "utf-8")
    (root / "__main__.py").write_text(program({**BASE, **base}), "utf-8")
    run(root, env, "git", "init", "-q", "-b", "main")
    run(root, env, "git", "add", "-A")
    run(root, env, "git", "commit", "-q", "-m", "base")
    base_sha = run(root, env, "git", "rev-parse", "HEAD").strip()
    run(root, env, STACKFLOW, "up", "--stack", "dev")
    (root / "__main__.py").write_text(program({**BASE, **base, **head}), "utf-8")
    run(root, env, "git", "commit", "-q", "-am", name)
    offline = json.loads(
        run(
            root,
            env,
            STACKFLOW,
            "plan",
            "--stack",
            "dev",
            "--base",
            base_sha,
            "--json",
            "-",
            ok=(0, 2),
        )
    )
    engine = json.loads(run(root, env, STACKFLOW, "preview", "--stack", "dev", "--json", "-"))
    off, eng = by_resource(offline), by_resource(engine)
    rows = []
    for key in sorted(set(off) | set(eng)):
        o_op, o_paths = off.get(key, ("same", []))
        e_op, e_paths = eng.get(key, ("same", []))
        rows.append(Row(name, key[0], key[1], o_op, e_op, o_paths, e_paths))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="Write every row as JSON here.")
    parser.add_argument("--case", action="append", help="Only these cases (by name).")
    args = parser.parse_args()
    for tool in ("pulumi", "pulumi-language-python", "pulumi-resource-kubernetes"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not on PATH: run `make engine` and put .engine/bin first")
    version = run(ROOT, dict(os.environ), "pulumi", "version").strip()
    commit = run(ROOT, dict(os.environ), "git", "rev-parse", "--short", "HEAD").strip()
    print(f"# offline vs engine: pulumi {version}, stackflow {commit}, {platform.node()}")
    rows: list[Row] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="offline-vs-engine-") as tmp:
        for name, base, head in CASES:
            if args.case and name not in args.case:
                continue
            case_rows = one_case(name, base, head, Path(tmp))
            rows += case_rows
            for r in case_rows:
                mark = "" if r.op_agrees else "  <-- op differs"
                if r.compares_paths and not r.paths_agree:
                    mark = "  <-- paths differ"
                print(
                    f"{name:28} {r.type.split(':')[-1]:12} {r.name:10} offline={r.offline:8}"
                    f" engine={r.engine:8} {r.offline_paths} / {r.engine_paths}{mark}",
                    flush=True,
                )
    ops_agree = sum(r.op_agrees for r in rows)
    compared = [r for r in rows if r.compares_paths]
    paths_agree = sum(r.paths_agree for r in compared)
    optimistic = [r for r in rows if r.optimistic]
    print(
        f"\nresources compared: {len(rows)} in {len(CASES)} cases "
        f"({time.monotonic() - started:.0f} s)\n"
        f"operation agreement: {ops_agree}/{len(rows)} = {ops_agree / max(len(rows), 1):.1%}\n"
        f"changed-path agreement (both update or both replace): {paths_agree}/{len(compared)}\n"
        f"offline 'same' where the engine changes: {len(optimistic)}"
    )
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
