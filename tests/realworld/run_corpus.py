"""The real-world tier: plan every Python Pulumi project under a folder, offline.

    python tests/realworld/run_corpus.py DIR [--commit SHA] [--out docs/REALWORLD.md]

(``make realworld DIR=...`` runs it in ``.venv-realworld``, which holds the provider SDKs
the corpus imports.) DIR is copied to a scratch folder, never written to. Each project
gets a ``Pulumi.dev.yaml`` as a user who follows its README would have: the defaults of
its ``template.config`` (what ``pulumi new`` writes; a secret without one gets a
``secure:`` placeholder) overlaid with the README's ``pulumi config set`` values from
``tests/realworld/corpus-config.yaml``. No offline answers are given. Each stack is then
synthesized, diffed against nothing and rendered as a PR comment, as
``stackflow plan --no-base`` does.
Each result is classified:

* planned -- a plan and a comment were made;
* needs config / needs an answer / needs a dependency -- the program stopped on something
  the user must supply; the one-line message says what to add where;
* program error -- the program itself raised (its own code, or a local file it reads);
* tool error -- an exception from inside a Pulumi SDK or stackflow: always a bug here.

The figures and every result go to ``--out`` with the corpus's commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from stackflow.errors import StackflowError
from stackflow.plan import Plan
from stackflow.plan.diff import diff_manifests
from stackflow.plan.synth import MissingAnswersError, SynthError, synth
from stackflow.project import NotPythonProjectError, find_projects, load_project
from stackflow.render.markdown import render_comment

HERE = Path(__file__).resolve().parent
CONFIG_FILE = HERE / "corpus-config.yaml"
STACK = "dev"
KEY = b"stackflow-realworld"
TIMEOUT_S = 300
FOCUS_IMPORTS = ("pulumi_aws", "pulumi_awsx", "pulumi_eks", "pulumi_kubernetes")
"""A project importing one of these is in the AWS-and-Kubernetes group the target is for."""

CLASSES = (
    "planned",
    "needs config",
    "needs an answer",
    "needs a dependency",
    "program error",
    "tool error",
)


@dataclass(frozen=True)
class Result:
    project: str
    kind: str
    message: str
    resources: int
    seconds: float
    focus: bool


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _focus(project_dir: Path) -> bool:
    for path in project_dir.rglob("*.py"):
        if any(part in ("node_modules", "venv", ".venv") for part in path.parts):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(f"import {m}" in text or f"from {m}" in text for m in FOCUS_IMPORTS):
            return True
    return False


def _classify(err: BaseException) -> tuple[str, str]:
    if isinstance(err, MissingAnswersError):
        return "needs an answer", err.message
    if isinstance(err, SynthError):
        if err.origin in ("sdk", "stackflow", "internal"):
            return "tool error", f"[{err.origin}] {err.message} {err.traceback}"
        if "ModuleNotFoundError" in err.message:
            return "needs a dependency", err.message
        return "program error", err.message
    if isinstance(err, StackflowError):
        if "required config" in err.message:
            return "needs config", err.message
        if "no offline answer" in err.message:
            return "needs an answer", err.message
        return "program error", err.message
    return "tool error", f"{type(err).__name__}: {err}"


def template_defaults(project_dir: Path) -> dict[str, object]:
    """What ``pulumi new`` writes from the project's ``template.config``."""
    raw = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    template = raw.get("template") or {}
    config: dict[str, object] = {}
    for key, spec in (template.get("config") or {}).items():
        if not isinstance(spec, dict):
            continue
        if "default" in spec:
            value = spec["default"]
            config[key] = {"secure": f"v1:template-{key}"} if spec.get("secret") else value
        elif spec.get("secret"):
            config[key] = {"secure": f"v1:template-{key}"}
    return config


def write_stack_file(project_dir: Path, readme: dict[str, object]) -> None:
    path = project_dir / f"Pulumi.{STACK}.yaml"
    if path.exists():
        return
    config = {**template_defaults(project_dir), **readme}
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=True), encoding="utf-8")


def plan_project(root: Path, project_dir: Path) -> Result:
    rel = project_dir.relative_to(root).as_posix()
    focus = _focus(project_dir)
    started = time.perf_counter()
    resources = 0
    try:
        project = load_project(project_dir)
        manifest = synth(project, STACK, repo_root=root, digest_key=KEY, timeout=TIMEOUT_S)
        resources = len(manifest.resources)
        stack_plan = diff_manifests(None, manifest)
        render_comment(Plan(stacks=(stack_plan,)))
        kind, message = "planned", ""
        notes = [d.message for d in stack_plan.diagnostics]
        if notes:
            message = f"{len(notes)} note(s): " + " | ".join(notes)
    except Exception as err:  # every failure is a result to classify, never a crash
        kind, message = _classify(err)
    return Result(rel, kind, _one_line(message), resources, time.perf_counter() - started, focus)


def _commit(root: Path, given: str | None) -> str:
    if given:
        return given
    try:
        return subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (pass --commit)"


def _table(results: list[Result]) -> str:
    counts = Counter(r.kind for r in results)
    return " | ".join(f"{k}: {counts[k]}" for k in CLASSES if counts[k])


def write_report(results: list[Result], *, out: Path, commit: str, corpus: str) -> None:
    focus = [r for r in results if r.focus]
    planned = sum(r.kind == "planned" for r in focus)
    lines = [
        "# The real-world tier",
        "",
        "`make realworld DIR=<checkout>` plans every Python Pulumi project under a folder",
        "offline, each with the config a user following its README has (its `template.config`",
        "defaults, as `pulumi new` writes them, and the README's `pulumi config set` values in",
        "`tests/realworld/corpus-config.yaml`) and no offline answers, and classifies each result",
        "(`tests/realworld/run_corpus.py`). Not part of `make test`: the corpus is not ours and",
        "is not committed here.",
        "",
        f"- Corpus: {corpus} at commit `{commit}`",
        f"- Run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}",
        f"- All Python projects ({len(results)}): {_table(results)}",
        f"- AWS and Kubernetes projects ({len(focus)}): **{planned} of {len(focus)} plan**; "
        f"{_table(focus)}",
        f"- Tool errors (an exception from inside a Pulumi SDK or stackflow): "
        f"{sum(r.kind == 'tool error' for r in results)}",
        "",
        "| project | group | result | resources | s | what to add where / notes |",
        "|---|---|---|---:|---:|---|",
    ]
    for r in results:
        message = r.message.replace("|", "\\|")
        lines.append(
            f"| {r.project} | {'aws/k8s' if r.focus else 'other'} | {r.kind} | {r.resources} "
            f"| {r.seconds:.1f} | {message} |"
        )
    notes = ""
    if out.is_file():  # a hand-written "## Notes" section survives a new run
        previous = out.read_text(encoding="utf-8")
        if "\n## Notes" in previous:
            notes = "\n" + previous[previous.index("\n## Notes") + 1 :]
    out.write_text("\n".join(lines) + "\n" + notes, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="folder holding the Pulumi projects")
    parser.add_argument("--commit", help="the corpus's commit (default: git rev-parse in DIR)")
    parser.add_argument("--corpus", default="github.com/pulumi/examples")
    parser.add_argument("--out", type=Path, help="write the report here (docs/REALWORLD.md)")
    parser.add_argument("--only", nargs="*", default=(), help="project paths to plan")
    args = parser.parse_args(argv)
    source = args.dir.resolve()
    configs = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))["projects"]
    results = []
    with tempfile.TemporaryDirectory(prefix="stackflow-realworld-") as tmp:
        root = Path(tmp) / "corpus"
        shutil.copytree(
            source, root, symlinks=True, ignore=shutil.ignore_patterns(".git", "node_modules")
        )
        skipped: list[NotPythonProjectError] = []
        projects = find_projects(root, skipped=skipped)
        for project in projects:
            write_stack_file(
                project.dir, configs.get(project.dir.relative_to(root).as_posix()) or {}
            )
        for project in projects:
            rel = project.dir.relative_to(root).as_posix()
            if args.only and rel not in args.only:
                continue
            result = plan_project(root, project.dir)
            results.append(result)
            print(f"{result.kind:18} {result.seconds:5.1f}s {rel}: {result.message[:200]}")  # noqa: T201
            sys.stdout.flush()
    print(_table(results))  # noqa: T201
    if args.out:
        commit = _commit(source, args.commit)
        write_report(results, out=args.out, commit=commit, corpus=args.corpus)
    return 1 if any(r.kind == "tool error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
