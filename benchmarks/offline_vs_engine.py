"""Offline plan against the real engine's preview, resource by resource.

    make engine && PATH=$PWD/.engine/bin:$PATH .venv/bin/python benchmarks/offline_vs_engine.py

A corpus of small changes to two programs: one on the Kubernetes provider (rendering YAML
to a folder: the provider that builds here, see docs/ENGINE.md) and one with no provider
at all (component resources and stack outputs, which the engine handles itself). For each
change, in a throwaway git repository: the base program is deployed for real (`stackflow
up`), then the changed program is planned both ways -- offline (`stackflow plan --base
<base commit>`, no engine) and by the engine (`stackflow preview`). Per resource (type and
name) and per stack output it compares the operation (absent from a plan is "same") and,
where both report an update or a replacement, the changed property paths.

Prints one row per resource or output that either side reports, then the totals:
operation agreement, path agreement, and how often the offline plan says "same" where the
engine reports a change (the rule: never). ``--json PATH`` writes every row.
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

# The provider-less program's knobs.
BARE: dict[str, Any] = {
    "teams": ["web", "api"],
    "renamed": None,  # (old, new): the component "old" is now "new", with an alias
    "parented": False,  # "api" moves under "web", with an alias to its old URN
    "greeting": "hello",
    "secret": "first-secret",
    "protect": False,
    "extra_output": False,
}

CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    # (name, program, base overrides, head overrides)
    ("create", "kubernetes", {}, {"extra": True}),
    ("update", "kubernetes", {}, {"level": "debug"}),
    ("update nested", "kubernetes", {}, {"image": "ghcr.io/example/web:1.5.0"}),
    ("update number", "kubernetes", {}, {"replicas": 3}),
    ("replace (create-only name)", "kubernetes", {}, {"cm_name": "web-config"}),
    ("delete", "kubernetes", {"extra": True}, {"extra": False}),
    ("alias rename", "kubernetes", {}, {"cm_logical": "config", "alias_from": "settings"}),
    ("protect", "kubernetes", {}, {"protect": True}),
    ("unprotect", "kubernetes", {"protect": True}, {"protect": False}),
    ("dependent cascade", "kubernetes", {}, {"namespace": "platform"}),
    ("secret", "kubernetes", {}, {"secret": "second-secret"}),
    ("component create", "bare", {}, {"teams": ["web", "api", "data"]}),
    ("component delete", "bare", {}, {"teams": ["web"]}),
    ("component alias rename", "bare", {}, {"renamed": ("api", "backend")}),
    ("component reparent", "bare", {}, {"parented": True}),
    ("component protect", "bare", {}, {"protect": True}),
    ("output update", "bare", {}, {"greeting": "hi"}),
    ("output add", "bare", {}, {"extra_output": True}),
    ("output remove", "bare", {"extra_output": True}, {"extra_output": False}),
    ("secret output", "bare", {}, {"secret": "second-secret"}),
]


def bare_program(opts: dict[str, Any]) -> str:
    """Components and outputs only: no provider plugin is involved."""
    renamed = opts["renamed"]
    lines = [
        "import pulumi",
        "",
        "",
        "class Team(pulumi.ComponentResource):",
        "    def __init__(self, name, opts=None):",
        '        super().__init__("bench:index:Team", name, None, opts)',
        "        self.register_outputs({})",
        "",
        "",
        "made = {}",
    ]
    for team in opts["teams"]:
        name, aliases, parent = team, "None", "None"
        if renamed and team == renamed[0]:
            name, aliases = renamed[1], f"[pulumi.Alias(name={team!r})]"
        if opts["parented"] and team == "api":
            parent, aliases = 'made["web"]', "[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]"
        lines.append(
            f"made[{team!r}] = Team({name!r}, pulumi.ResourceOptions(parent={parent}, "
            f"aliases={aliases}, protect={opts['protect']!r}))"
        )
    lines.append(f"pulumi.export('greeting', {opts['greeting']!r})")
    lines.append(f"pulumi.export('password', pulumi.Output.secret({opts['secret']!r}))")
    if opts["extra_output"]:
        lines.append("pulumi.export('extra', {'a': [1, 2]})")
    return "\n".join(lines) + "\n"


def program(kind: str, opts: dict[str, Any]) -> str:
    if kind == "bare":
        return bare_program({**BARE, **opts})
    opts = {**BASE, **opts}
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
    """Changes by (type, name), and stack outputs as ("(output)", name)."""
    out = {}
    for stack in plan["stacks"]:
        for c in stack["changes"]:
            out[(c["type"], c["name"])] = (c["op"], sorted(d["path"] for d in c["diffs"]))
        for o in stack["outputs"]:
            out[("(output)", o["name"])] = (o["op"], [])
    return out


def one_case(
    name: str, kind: str, base: dict[str, Any], head: dict[str, Any], work: Path
) -> tuple[list[Row], int]:
    """The rows of one case, and how many resources the engine's preview counted."""
    root = work / name.replace(" ", "-").replace("(", "").replace(")", "")
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
        f"backend: file://{root / 'state'}\n",
        "utf-8",  # no policy pack: plans only
    )
    (root / ".gitignore").write_text("rendered/\nstate/\n.stackflow/\n__pycache__/\n", "utf-8")
    (root / "__main__.py").write_text(program(kind, base), "utf-8")
    run(root, env, "git", "init", "-q", "-b", "main")
    run(root, env, "git", "add", "-A")
    run(root, env, "git", "commit", "-q", "-m", "base")
    base_sha = run(root, env, "git", "rev-parse", "HEAD").strip()
    run(root, env, STACKFLOW, "up", "--stack", "dev")
    (root / "__main__.py").write_text(program(kind, {**base, **head}), "utf-8")
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
    seen = sum(sum(st["counts"].values()) for st in engine["stacks"])
    rows = []
    for key in sorted(set(off) | set(eng)):
        o_op, o_paths = off.get(key, ("same", []))
        e_op, e_paths = eng.get(key, ("same", []))
        rows.append(Row(name, key[0], key[1], o_op, e_op, o_paths, e_paths))
    return rows, seen


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
    resources = cases = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="offline-vs-engine-") as tmp:
        for name, kind, base, head in CASES:
            if args.case and name not in args.case:
                continue
            case_rows, seen = one_case(name, kind, base, head, Path(tmp))
            resources += seen
            cases += 1
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
        f"\nrows (resources or outputs either side changes): {len(rows)} in {cases} cases, "
        f"of {resources} resources the engine previewed ({time.monotonic() - started:.0f} s)\n"
        f"operation agreement: {ops_agree}/{len(rows)} = {ops_agree / max(len(rows), 1):.1%}\n"
        f"changed-path agreement (both update or both replace): {paths_agree}/{len(compared)}\n"
        f"offline 'same' where the engine changes: {len(optimistic)}"
    )
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
